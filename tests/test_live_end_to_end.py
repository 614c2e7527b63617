"""A live-mode build against the local CBS server, with the shipped config's own tables and filters.

The server holds real API recordings for four of the six shipped tables: 83582NED (v3, filter
``substringof('CR', RegioS)``), 83583NED (v3), 03759NED (v4, the long startswith/eq/ge filter) and
84799NED (v3, ``substringof`` on WijkenEnBuurten). 70072NED and 81578NED exist only as StatLine
downloads and a third party's processed panel, never as API answers, so they are left out of the
config here rather than served as something CBS never sent. Each kept [[table]] block is the
shipped one, verbatim (benchmarks/project.py copies the shipped folders; nothing shipped is edited).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.project import make_project, shipped_tables
from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from tests.cbs_http_server import V3_API, V3_FEED, V4, CbsTestServer
from tests.conftest import run_full_refresh

TABLES = ("83582NED", "83583NED", "03759NED", "84799NED")


@pytest.fixture(scope="module")
def live_build(tmp_path_factory, cbs_data_dir):
    """One live full_refresh (in-process) into a fresh home; the server and the run result."""
    tmp = tmp_path_factory.mktemp("live")
    project = make_project(tmp / "project", shipped_tables(set(TABLES)))
    with CbsTestServer(cbs_data_dir) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("REGIOSTAT_MODE", "live")
        env.setenv("REGIOSTAT_PROJECT_DIR", str(project.root))
        for name, path in (("V4_BASE", V4), ("V3_API_BASE", V3_API), ("V3_FEED_BASE", V3_FEED)):
            env.setenv(f"REGIOSTAT_CBS_{name}", f"{server.base_url}{path}")
        result = run_full_refresh(tmp / "home")
        assert not server.errors, server.errors
        yield server, result, tmp / "home"


def _failures(result) -> dict[str, str]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            out[event.step_key] = error.message.strip()
    return out


def test_every_configured_table_lands_through_its_shipped_filter(live_build):
    server, result, home = live_build
    succeeded = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "landing__cbs" in succeeded, _failures(result)
    zone = LandingZone(home / "landing")
    assert set(TABLES) <= {e.table_id for e in zone.entries() if e.entity == COMPLETE_ENTITY}
    filters = {r.query.get("$filter") for r in server.requests_to(f"{V3_FEED}/83582NED/TypedDataSet")
               + server.requests_to(f"{V3_API}/83582NED/TypedDataSet")}
    assert filters == {"substringof('CR', RegioS)"}
    (fetch,) = zone.complete_fetches("83582NED")
    rows = [r for e in zone.pages_of(fetch) if e.entity == "TypedDataSet"
            for r in json.loads(zone.read_bytes(e))["value"]]
    assert len(rows) == 1680 and {r["RegioS"] for r in rows} == {"CR07  ", "CR08  ", "CR09  ", "CR10  "}
    kwb = [e for e in zone.entries() if e.table_id == "84799NED" and e.entity == "TypedDataSet"]
    assert sum(e.rows for e in kwb) == 356


def test_live_build_succeeds_end_to_end(live_build):
    _, result, home = live_build
    assert result.success, _failures(result)
    assert Path(home / "warehouse" / "regional.duckdb").exists()


def test_a_mart_whose_inputs_are_not_configured_says_so_and_passes(live_build):
    _, result, _ = live_build
    checks = {e.event_specific_data.check_name: e.event_specific_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    establishments = checks["establishments_by_region_year_schema"]  # 81578NED, 70072NED: not in this config
    assert establishments.passed and "no input configured" in establishments.description
    population = checks["population_by_region_year_schema"]  # 03759NED is: the mart has rows and is checked
    assert population.passed and population.metadata["rows_checked"].value > 0
