"""Bad data never reaches readers: a failed blocking check stops the run before publish."""

from pathlib import Path

from regiostat.landing.zone import LandingZone
from tests.conftest import published_state, run_full_refresh

HEADER = b"ID,BedrijfstakkenBranchesSBI2008,RegioS,Perioden,BanenVanWerknemersInDecember_1\n"


def _land_bad_fetch(home, body):
    zone = LandingZone(home / "landing")
    bad = zone.write(HEADER + body, source="cbs_v3_feed", table_id="83582NED", entity="TypedDataSet",
                     origin="hand-edited.csv", fetch_id="20990101T000000Z-83582NED", media_type="text/csv")
    zone.mark_complete("83582NED", bad.fetch_id, source="cbs_v3_feed", origin="hand-edited.csv", rows=2)
    return bad


def _succeeded_steps(result):
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}


def test_file_breaking_its_format_fails_the_raw_step_naming_file_and_row(published_home):
    home = published_home
    before = published_state(home)
    bad = _land_bad_fetch(home, b'1,T001081,CR08  ,2020JJ00,"62,2"\n')

    result = run_full_refresh(home)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["raw__cbs"]
    message = failures[0].event_specific_data.error.message
    assert bad.path in message and "'62,2'" in message and "ID=1" in message and "str_matches" in message
    assert "published__regional_warehouse" not in _succeeded_steps(result)
    assert published_state(home) == before


def test_failed_raw_check_blocks_publish_and_names_file_and_row(published_home):
    home = published_home
    before = published_state(home)
    bad = _land_bad_fetch(home, b"1,T001081,Emmen ,2020JJ00,44.2\n2,T001081,CR08  ,2020,1.0\n")

    result = run_full_refresh(home)
    assert not result.success
    failed = [e.event_specific_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed]
    assert [(c.asset_key.to_user_string(), c.check_name) for c in failed] == [
        ("raw/cbs", "raw_rows_match_source_format")]
    cases = failed[0].metadata["failure_cases"].value
    assert {(c["column"], c["value"], c["source_path"], c["source_row"]) for c in cases} == {
        ("region_raw", "Emmen ", bad.path, 1), ("period_raw", "2020", bad.path, 2)}
    executed = _succeeded_steps(result)
    assert "published__regional_warehouse" not in executed and "staging__observations" not in executed
    assert published_state(home) == before
    assert len(list((home / "warehouse" / "versions").iterdir())) == 1


def test_rollback_restores_the_previous_version_and_says_which(published_home, capsys):
    from pipelines.cli import main

    home = published_home
    first = published_state(home)
    assert main(["--home", str(home), "build", "--force"]) == 0  # the second build through the CLI (nothing changed)
    said = capsys.readouterr()
    assert "built and published" in said.out
    # a WARN check is reported as a warning with its summary, not as a failure that blocked anything
    assert "warning: reconcile/reconciliation / conflicts_between_figures" in said.err
    assert "sets of figures cannot all be true" in said.err and "blocks publishing" not in said.err
    second = published_state(home)
    assert second.build_id != first.build_id
    assert main(["--home", str(home), "rollback"]) == 0
    after = published_state(home)
    assert (after.build_id, after.fact_rows) == (first.build_id, first.fact_rows)
    assert "now holds regional-" in capsys.readouterr().out


def test_runs_and_rollback_take_one_lock_with_the_configured_timeout(tmp_path):
    from pipelines.resources import make_resources, settings_from_env

    settings = settings_from_env(tmp_path)
    database = make_resources(tmp_path)["duckdb"]  # the build database's resource takes the run lock
    assert settings.lock_path == tmp_path / "build" / "run.lock" == Path(database.lock_path)
    assert database.lock_timeout_seconds == settings.lock_timeout_seconds
