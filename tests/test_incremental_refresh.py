"""Incremental refresh (issue 12 part 3): a table CBS did not change is not downloaded again and makes no new
vintage, and nothing after it is rebuilt; a changed table is fetched, recorded as a new vintage, and only it is
staged again. Live builds run against the local CBS server with two shipped tables (03759NED over v4, 83583NED
over v3 with TableInfos), each [[table]] block verbatim from config/tables.toml."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from benchmarks.project import make_project, shipped_tables
from regiostat.landing.zone import LandingZone
from tests.cbs_http_server import V3_API, V3_FEED, V4, CbsTestServer
from tests.conftest import published_state, run_full_refresh

V4_DIR = "api-samples/v4_datasets.cbs.nl/03759ned"
DATA_PATHS = (f"{V4}/03759NED/Observations", f"{V3_API}/83583NED/TypedDataSet", f"{V3_FEED}/83583NED/TypedDataSet")


def _data_requests(server: CbsTestServer) -> int:
    return sum(len(server.requests_to(p)) for p in DATA_PATHS)


def _steps(result, kind: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == kind}


@pytest.fixture(scope="module")
def live(tmp_path_factory, cbs_data_dir):
    """A server, the env pointing at it, and a home with one complete live build."""
    tmp = tmp_path_factory.mktemp("incremental")
    project = make_project(tmp / "project", shipped_tables({"03759NED", "83583NED"}))
    with CbsTestServer(cbs_data_dir) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("REGIOSTAT_MODE", "live")
        env.setenv("REGIOSTAT_PROJECT_DIR", str(project.root))
        for name, path in (("V4_BASE", V4), ("V3_API_BASE", V3_API), ("V3_FEED_BASE", V3_FEED)):
            env.setenv(f"REGIOSTAT_CBS_{name}", f"{server.base_url}{path}")
        first = run_full_refresh(tmp / "home")
        assert first.success
        yield server, tmp / "home", first


def test_nothing_changed_upstream_means_one_request_per_table_and_no_rebuild(live):
    server, home, first = live
    zone = LandingZone(home / "landing")
    fetches, data_requests, published = zone.complete_fetches(), _data_requests(server), published_state(home)
    before = len(server.log)

    again = run_full_refresh(home)

    assert again.success
    asked = sorted(r.path for r in server.log[before:])
    assert asked == [f"{V3_API}/83583NED/TableInfos", f"{V4}/03759NED/Properties"]  # one small request each
    assert _data_requests(server) == data_requests and zone.complete_fetches() == fetches  # no new vintage
    assert {"landing__cbs", "raw__cbs", "staging__observations"} <= _steps(again, "STEP_SUCCESS")
    rebuilt = {e.asset_key.to_user_string() for e in again.all_events if e.event_type_value == "ASSET_MATERIALIZATION"
               and e.asset_key.path[0] in {"staging", "core", "marts", "reconcile", "published"}}
    assert rebuilt <= {"core/dim_indicator"}  # the catalogue of config/indicators.toml: read, no data
    assert {"core__fact_observation", "reconcile__reconciliation", "published__regional_warehouse"} <= _steps(
        again, "STEP_SKIPPED")
    assert published_state(home) == published


def test_the_ui_sees_each_table_s_state_as_an_observation_of_its_partition(live):
    _, _, first = live
    observed = {e.partition: e.event_specific_data.asset_observation.metadata for e in first.all_events
                if e.event_type_value == "ASSET_OBSERVATION"}
    assert set(observed) == {"03759NED", "83583NED"}
    assert observed["03759NED"]["cbs_version"].value == "202606230000"
    assert observed["03759NED"]["cbs_modified"].value.startswith("2026-06-23")
    assert observed["83583NED"]["changed"].value == "True"


def test_a_changed_table_is_fetched_as_a_new_vintage_and_only_it_is_staged_again(live, cbs_data_dir):
    server, home, _ = live
    zone = LandingZone(home / "landing")
    props = json.loads((cbs_data_dir / V4_DIR / "properties.json").read_bytes())
    server.override(f"{V4}/03759ned/Properties", json.dumps({**props, "Version": "202612010000"}).encode())
    data_requests, published = _data_requests(server), published_state(home)

    changed = run_full_refresh(home)

    assert changed.success
    assert len(zone.complete_fetches("03759NED")) == 2 and len(zone.complete_fetches("83583NED")) == 1
    assert _data_requests(server) > data_requests
    staged = [e.event_specific_data.materialization.metadata for e in changed.all_events
              if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == dg.AssetKey(["staging", "observations"])]
    assert staged[0]["restaged_tables"].value == "03759NED"
    assert "published__regional_warehouse" in _steps(changed, "STEP_SUCCESS")
    assert published_state(home).build_id != published.build_id


def _tick(home, cursor=None):
    from pipelines.definitions import make_definitions

    defs = make_definitions(home)
    sensor = defs.resolve_sensor_def("cbs_catalog")
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, definitions=defs,
                                      resources={"settings": defs.resources["settings"]})
    return sensor.evaluate_tick(context)


def test_the_catalog_sensor_reads_the_catalog_once_and_asks_runs_only_for_changed_tables(live):
    server, home, _ = live
    before = len(server.log)
    tick = _tick(home)
    assert sorted(r.path for r in server.log[before:]) == ["/ODataCatalog/Tables", f"{V4}/Datasets"]
    assert tick.run_requests == []  # both tables' catalog dates are their newest fetch's dates
    observed = {e.partition: e.metadata for e in tick.asset_events}
    assert set(observed) == {"03759NED", "83583NED"}
    assert observed["83583NED"]["cbs_modified"].value == "2020-11-19T02:00:00"
    assert _tick(home, cursor=tick.cursor).asset_events == []  # nothing new to show

    catalog = json.loads(server._route(f"{V4}/Datasets", {})[1])
    moved = [{**e, "Modified": "2027-01-01T00:00:00+01:00"} if e["Identifier"] == "03759ned" else e
             for e in catalog["value"]]
    server.override(f"{V4}/Datasets", json.dumps({**catalog, "value": moved}).encode())
    try:
        again = _tick(home, cursor=tick.cursor)
    finally:
        server._overrides.pop(f"{V4}/Datasets".lower())
    assert [(r.partition_key, r.run_key) for r in again.run_requests] == [
        ("03759NED", "03759NED:2027-01-01T00:00:00+01:00")]
    assert [e.partition for e in again.asset_events] == ["03759NED"]
