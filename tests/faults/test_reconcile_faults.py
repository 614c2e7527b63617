"""Hostile figures in a claims file: negative levels and decreases, in sums and differences, reconciled
against the real bundled data of the session's build. The step must survive and say what it decided."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from regiostat import warehouse
from regiostat.paths import ProjectPaths
from regiostat.reconcile import run
from tests.conftest import PATHS

DOCUMENT = """Fictief plan (fout-injectie voor de tests van regiostat).
Emmen telde in 2017 -500 banen volgens dit plan.
Tussen 2017 en 2020 daalde het aantal banen in Emmen met 1.200.
Het aandeel van de industrie in de banen van Emmen was in 2017 -3%.
"""

CLAIMS = """
[document]
title = "Fictief plan met negatieve cijfers (fout-injectie)"
locale = "nl"

[[claim]]
id = "fault-negative-level"
document = "seeds/fault_negative.txt"
location = "line 2"
quote = "Emmen telde in 2017 -500 banen volgens dit plan."
written = "-500"
indicator = "lisa_jobs"
region = "GM0114"
period = "2017"

[[claim]]
id = "fault-negative-change"
document = "seeds/fault_negative.txt"
location = "line 3"
quote = "Tussen 2017 en 2020 daalde het aantal banen in Emmen met 1.200."
written = "1.200"
indicator = "change:lisa_jobs"
region = "GM0114"
period = "2020"
base_period = "2017"
direction = "decrease"

[[claim]]
id = "fault-negative-share"
document = "seeds/fault_negative.txt"
location = "line 4"
quote = "Het aandeel van de industrie in de banen van Emmen was in 2017 -3%."
written = "-3%"
indicator = "lisa_industry_share_c"
region = "GM0114"
period = "2017"
"""


@pytest.fixture
def hostile_project(tmp_path: Path) -> ProjectPaths:
    """The shipped config and documents, plus one claims file of negative figures and its document."""
    root = tmp_path / "project"
    shutil.copytree(PATHS.config_dir, root / "config")
    shutil.copytree(PATHS.documents_dir, root / "data" / "documents")
    (root / "data" / "documents" / "seeds" / "fault_negative.txt").write_text(DOCUMENT, encoding="utf-8")
    (root / "config" / "claims" / "fault_negative.toml").write_text(CLAIMS, encoding="utf-8")
    return ProjectPaths(root)


def test_negative_figures_in_a_claims_file_are_reconciled_not_crashed_on(built_home, hostile_project, fault_ledger):
    con = duckdb.connect(str(built_home / "build" / "regional_build.duckdb"), read_only=True)
    try:
        staged = warehouse.facts_with_year(con, "staging.observations")
        known = set(warehouse.read_table(con, "core.dim_region")["region_code"])
    finally:
        con.close()
    result = run.reconcile_warehouse(hostile_project, staged, known)
    verdicts = {r["claim_id"]: r for r in result.tables["verdicts"].to_dicts()}
    decisions = result.tables["decisions"]
    # -500 jobs and -3% cannot be: LISA's own 2017 count for Emmen, and the share's non-negative domain
    assert verdicts["fault-negative-level"]["verdict"] == "contradicted"
    assert verdicts["fault-negative-share"]["verdict"] == "contradicted"
    assert "valt af" in verdicts["fault-negative-share"]["sentence"]
    # a decrease is a negative change: a figure like any other (no 2020 LISA data to check it against)
    assert verdicts["fault-negative-change"]["stated"] == -1200
    assert verdicts["fault-negative-change"]["verdict"] != "contradicted"
    level = decisions.filter(indicator="lisa_jobs", region="GM0114", period="2017").to_dicts()[0]
    assert level["rejected_claims"] == ["fault-negative-level"] and level["value"] > 0
    fault_ledger.record(fault="negative levels, a decrease and a negative share in a claims file",
                        outcome="survived", detail="rejected with reasons; the decrease kept as a negative change")
