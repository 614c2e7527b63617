"""A live build shows each table and data page as it lands (issue 11 part 5): from the fetch's page callback, through
the landing step's log, to the lines `regiostat build` prints."""

from __future__ import annotations

import io
import uuid

import dagster as dg
import pytest

from benchmarks.project import make_project, shipped_tables
from pipelines.definitions import make_definitions
from pipelines.progress import Progress
from regiostat.landing.zone import LandingZone
from regiostat.sources.cbs.fetch import fetch_v4_table
from tests.cbs_http_server import V3_API, V3_FEED, V4


def test_the_fetch_reports_every_data_page_it_lands(cbs_server_factory, make_client, tmp_path):
    pages = []
    result = fetch_v4_table(make_client(cbs_server_factory(v4_pages=3)), LandingZone(tmp_path / "landing"),
                            "03759ned", on_page=lambda page, rows: pages.append((page, rows)))
    assert [p for p, _ in pages] == [1, 2, 3] and pages[-1][1] == result.rows == 13_568
    assert pages[0][1] < pages[1][1] < pages[2][1]


def test_a_live_landing_prints_each_page_under_its_step(cbs_server_factory, tmp_path, monkeypatch):
    server = cbs_server_factory(v4_pages=3)
    project = make_project(tmp_path / "project", shipped_tables({"03759NED"}))
    monkeypatch.setenv("REGIOSTAT_MODE", "live")
    monkeypatch.setenv("REGIOSTAT_PROJECT_DIR", str(project.root))
    for name, path in (("V4_BASE", V4), ("V3_API_BASE", V3_API), ("V3_FEED_BASE", V3_FEED)):
        monkeypatch.setenv(f"REGIOSTAT_CBS_{name}", f"{server.base_url}{path}")
    defs = make_definitions(tmp_path / "home")
    instance, run_id, out = dg.DagsterInstance.ephemeral(), str(uuid.uuid4()), io.StringIO()
    instance.add_event_listener(run_id, Progress(instance, run_id, out=out))
    result = defs.resolve_job_def("cbs_refresh").execute_in_process(
        instance=instance, run_id=run_id, partition_key="03759NED", asset_selection=[dg.AssetKey(["landing", "cbs"])],
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    assert result.success
    lines = out.getvalue().splitlines()
    assert lines[0] == f"run {run_id} of cbs_refresh: 1 step(s) planned"
    assert lines[1].startswith("[ 1/1 ") and lines[1].endswith("] landing/cbs")
    assert [line.strip() for line in lines[2:]] == [
        "03759NED: data page 1 landed (4,523 rows so far)",
        "03759NED: data page 2 landed (9,046 rows so far)",
        "03759NED: data page 3 landed (13,568 rows so far)",
        "03759NED: fetched, 3 data page(s), 13,568 rows",
    ]


@pytest.mark.parametrize("key, label", [("marts__regional_profile__table_schemas",
                                         "marts/regional_profile/table_schemas"), ("landing__cbs", "landing/cbs")])
def test_step_labels_read_like_asset_keys(key, label):
    from pipelines.progress import step_label

    assert step_label(key) == label
