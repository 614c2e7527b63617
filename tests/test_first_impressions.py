"""A fresh clone's `dagster dev` starts no run that fails, and `regiostat build` runs show in the instance the UI
reads (issue 11 part 5)."""

from __future__ import annotations

import shutil
import tempfile

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from pipelines.definitions import make_definitions
from pipelines.instance import instance_dir
from tests.conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # evaluate_automation_conditions' own
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _default_on(defs: dg.Definitions) -> tuple[list, list]:
    repo = defs.get_repository_def()  # the sensors Dagster adds itself (the automation sensor) included
    return ([s for s in repo.sensor_defs if s.default_status == dg.DefaultSensorStatus.RUNNING],
            [s for s in repo.schedule_defs if s.default_status == dg.DefaultScheduleStatus.RUNNING])


def _requests_and_runs(defs: dg.Definitions, instance: dg.DagsterInstance) -> tuple[dict, list]:
    """Evaluate every sensor and schedule that is on by default, as the daemon's first tick would, and run what
    they ask for in-process. (tick results by name, executed run results)"""
    sensors, schedules = _default_on(defs)
    ticks, runs = {}, []
    for sensor in sensors:
        context = dg.build_sensor_context(instance=instance, definitions=defs, sensor_name=sensor.name,
                                          resources={"settings": defs.resources["settings"]})
        ticks[sensor.name] = sensor.evaluate_tick(context)
    for schedule in schedules:
        with dg.build_schedule_context(instance=instance, definitions=defs) as context:
            ticks[schedule.name] = schedule.evaluate_tick(context)
    for name, tick in ticks.items():
        for request in tick.run_requests or []:
            job_name = request.job_name or defs.get_repository_def().get_sensor_def(name).job_name
            job = defs.resolve_job_def(job_name)
            runs.append(job.execute_in_process(instance=instance, run_config=request.run_config or QUIET,
                                               tags=request.tags, partition_key=request.partition_key,
                                               raise_on_error=False))
    return ticks, runs


def test_a_fresh_home_starts_no_run_and_the_inbox_sensor_says_what_it_waits_for(tmp_path):
    """Bundled mode: the shipped LISA files are in the inbox from the start. lisa_refresh rebuilds staging onwards
    from every source's raw rows, so before a first full build its run could only fail: the sensor waits."""
    defs = make_definitions(tmp_path / "home")
    sensors, _ = _default_on(defs)
    assert [s.name for s in sensors] == ["lisa_inbox"]  # the one thing that starts by itself
    instance = dg.DagsterInstance.ephemeral()
    ticks, runs = _requests_and_runs(defs, instance)
    assert runs == []
    lisa = ticks["lisa_inbox"]
    assert "2 new or changed file(s) wait for the first full build" in lisa.skip_message
    assert "regiostat build" in lisa.skip_message
    # were the automation sensor switched on, it would not start anything on a fresh instance either
    assert dg.evaluate_automation_conditions(defs=defs, instance=instance).total_requested == 0


def test_after_the_first_build_the_inbox_sensor_starts_a_run_that_succeeds(published_home):
    defs = make_definitions(published_home)
    instance = dg.DagsterInstance.ephemeral()
    ticks, runs = _requests_and_runs(defs, instance)
    assert len(ticks["lisa_inbox"].run_requests) == 1  # the shipped files, never seen by this sensor
    assert [r.success for r in runs] == [True]
    assert runs[0].dagster_run.job_name == "lisa_refresh"


def test_cli_builds_are_recorded_where_dagster_dev_in_the_checkout_looks(built_home, tmp_path, monkeypatch, capsys):
    """Two builds with the defaults (./var, ./warehouse) in a folder laid out like a checkout: both runs are in
    var/dagster, and an instance opened the way `dagster dev` opens one here (a temporary home configured by the
    checkout's dagster.yaml) lists them."""
    from pipelines.cli import main

    shutil.copytree(built_home, tmp_path / "var", symlinks=True)
    shutil.move(tmp_path / "var" / "warehouse", tmp_path / "warehouse")
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 0 and main(["build"]) == 0
    out = capsys.readouterr().out
    assert f"runs are recorded in {tmp_path / 'var' / 'dagster'} (`uv run dagster dev` here shows them)" in out
    assert "[ 1/" in out and "] landing/cbs" in out  # progress, step by step
    assert "summary:\n  warnings: 1 (1 from landing/cbs)\n  quarantined files: 0\n  contradicted claims: 2 of 26" in out
    assert (tmp_path / "var" / "dagster" / "dagster.yaml").exists()
    with tempfile.TemporaryDirectory(dir=tmp_path) as temporary_home:
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(temporary_home, config_dir=str(REPO))) as ui:
            runs = ui.get_runs()
            assert [(r.job_name, r.status) for r in runs] == [("full_refresh", dg.DagsterRunStatus.SUCCESS)] * 2
            assert ui.get_latest_materialization_event(dg.AssetKey(["landing", "cbs"])) is not None


def test_an_existing_dagster_home_is_respected(tmp_path, monkeypatch):
    assert instance_dir(tmp_path / "home") == tmp_path / "home" / "dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert instance_dir(tmp_path / "home") == tmp_path / "mine"


@pytest.mark.parametrize("broken", [False, True])
def test_the_publish_runs_by_itself_only_when_every_upstream_blocking_check_passed(tmp_path, broken):
    """The publish's automation condition: upstream layers rebuilt outside a refresh job (materialized here as
    runless events) and their blocking checks passed -> publish; one failed -> no publish."""
    defs = make_definitions(tmp_path / "home")
    graph = defs.resolve_asset_graph()
    published = dg.AssetKey(["published", "regional_warehouse"])
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    upstream = graph.get(published).parent_keys
    for key in sorted(upstream):
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    checks = sorted(k for k in graph.asset_check_keys if k.asset_key in upstream and graph.get_check_spec(k).blocking)
    assert checks
    for n, check in enumerate(checks):
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=check.asset_key, check_name=check.name, passed=not (broken and n == 0)))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.get_num_requested(published) == (0 if broken else 1)


def test_a_build_skips_fsync_only_on_its_own_instance_files_and_only_while_it_runs(tmp_path):
    """Dagster's SQLite storage waits for the disk on every event (pipelines/instance.py); a build's own instance
    does not, and nothing else opened meanwhile is touched."""
    from sqlalchemy import create_engine, text

    from pipelines.instance import cli_instance

    def synchronous(path) -> int:
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as con:
                return con.execute(text("PRAGMA synchronous")).scalar()
        finally:
            engine.dispose()

    home = tmp_path / "home"
    with cli_instance(home) as instance:
        assert instance.get_runs() == []
        assert synchronous(home / "dagster" / "probe.db") == 0  # OFF
        assert synchronous(tmp_path / "elsewhere.db") == 2  # FULL, SQLite's default
    assert synchronous(home / "dagster" / "probe.db") == 2
