"""The whole Definitions object loads, and is shaped the way operators expect."""

import dagster as dg

from pipelines.definitions import FULL_REFRESH, defs, make_definitions
from tests.definitions_snapshot import SNAPSHOT, snapshot_text


def test_definitions_load_with_every_layer():
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"landing", "raw", "staging", "core", "marts", "reconcile", "publish", "report"}
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/cbs", "staging/observations", "core/fact_observation",
            "marts/jobs_by_sector_region_year", "published/regional_warehouse"} <= keys


def test_every_asset_has_a_description_and_kinds():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.kinds, key


def test_every_non_landing_asset_has_a_blocking_check():
    graph = defs.resolve_asset_graph()
    checked = {c.asset_key for c in graph.asset_check_keys}
    for key in graph.get_all_asset_keys():
        if key.path[0] in {"raw", "staging", "marts"} or key.to_user_string() in {
                "core/fact_observation", "core/dim_region", "core/dim_period"}:
            assert key in checked, key


def test_publish_depends_on_every_mart_and_core_table():
    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey(["published", "regional_warehouse"])).parent_keys
    assert {k for k in graph.get_all_asset_keys() if k.path[0] in {"core", "marts"}} <= upstream


def test_job_runs_in_process_and_schedule_is_off_by_default(tmp_path):
    local = make_definitions(tmp_path)
    job = local.resolve_job_def(FULL_REFRESH)
    assert job.executor_def.name == "in_process"
    schedule = local.resolve_schedule_def("monthly_full_refresh")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_definitions_match_the_committed_snapshot():
    """Every asset key, check, job, schedule and sensor is listed in tests/snapshots/definitions.txt, so a
    rename shows in review. After an intended change: uv run python -m tests.definitions_snapshot"""
    assert snapshot_text(defs) == SNAPSHOT.read_text()


def test_every_registered_source_has_its_steps_and_only_sources_fed_by_hand_have_a_sensor():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"landing/lisa_exports", "raw/lisa_exports", "landing/region_crosswalks", "raw/region_crosswalks",
            "landing/cbs", "raw/cbs"} <= keys
    assert sorted(s.name for s in defs.sensors) == ["cbs_catalog", "lisa_inbox"]  # the inbox of LISA, CBS's catalog
    assert defs.resolve_sensor_def("cbs_catalog").default_status == dg.DefaultSensorStatus.STOPPED  # reaches CBS
    lisa_job = {k.to_user_string() for k in defs.resolve_job_def("lisa_refresh").asset_layer.executable_asset_keys}
    assert {"landing/lisa_exports", "raw/lisa_exports", "staging/observations", "marts/regional_profile",
            "published/regional_warehouse"} <= lisa_job
    assert not any(k.startswith(("landing/cbs", "raw/cbs")) for k in lisa_job)


def test_cbs_tables_are_partitions_of_two_assets_and_a_job_refreshes_one_or_all():
    graph = defs.resolve_asset_graph()
    landing, raw = graph.get(dg.AssetKey(["landing", "cbs"])), graph.get(dg.AssetKey(["raw", "cbs"]))
    tables = landing.partitions_def.get_partition_keys()
    assert {"83582NED", "03759NED", "70072NED"} <= set(tables) and raw.partitions_def == landing.partitions_def
    assert not any(k.path[-1].startswith("cbs_") for k in graph.get_all_asset_keys())  # no asset per table
    pools = {k: defs.resolve_assets_def(dg.AssetKey([k, "cbs"])).node_def.pool for k in ("landing", "raw")}
    assert pools == {"landing": "cbs_requests", "raw": "duckdb_writer"}
    refresh = defs.resolve_job_def("cbs_refresh")
    assert refresh.partitions_def.get_partition_keys() == tables
    assert dg.AssetKey(["published", "regional_warehouse"]) in refresh.asset_layer.executable_asset_keys
