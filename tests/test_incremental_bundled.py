"""Incremental refresh on the bundled data: building again with nothing changed publishes nothing; a build that
stopped before its publish, or any doubt about what is published, rebuilds; --force and --from-landing rebuild."""

from __future__ import annotations

import dagster as dg
import duckdb

from regiostat.model import state
from tests.conftest import REPO, published_state, run_full_refresh


def _steps(result, kind: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == kind}


def test_a_build_that_was_not_published_is_not_forgotten(published_home):
    """Only a publish records what was published: when the build database holds another build than the published
    one (a run stopped between its build and its publish), the next run rebuilds and publishes."""
    home = published_home
    con = duckdb.connect(str(home / "build" / "regional_build.duckdb"))
    try:
        con.execute("UPDATE meta.build_info SET build_id = 'built-but-never-published'")
    finally:
        con.close()
    result = run_full_refresh(home)
    assert result.success and "published__regional_warehouse" in _steps(result, "STEP_SUCCESS")
    assert published_state(home).build_id == result.run_id


def test_a_missing_record_of_the_publish_rebuilds(published_home):
    (published_home / "build" / "published_inputs.json").unlink()
    result = run_full_refresh(published_home)
    assert result.success and "published__regional_warehouse" in _steps(result, "STEP_SUCCESS")


def test_bundled_build_again_is_a_no_op_and_from_landing_rebuilds(published_home, capsys):
    from pipelines.cli import main

    home = published_home
    before = published_state(home)
    assert main(["--home", str(home), "build"]) == 0
    assert "nothing changed since the last publish" in capsys.readouterr().out
    assert published_state(home) == before
    assert main(["--home", str(home), "build", "--from-landing"]) == 0
    assert "built and published" in capsys.readouterr().out
    after = published_state(home)
    assert after.build_id != before.build_id and after.fact_rows == before.fact_rows
    assert main(["--home", str(home), "build", "--force"]) == 0
    out = capsys.readouterr().out
    assert "built and published" in out
    assert published_state(home).build_id != after.build_id
    # a whole bundled build's summary is the one the README shows and explains, line for line
    summary = out[out.index("summary:\n"):out.index("built and published")]
    assert summary.count("\n") == 4 and summary in (REPO / "README.md").read_text(encoding="utf-8")
    # each of the three builds is recorded in the persistent instance under the home
    with dg.DagsterInstance.local_temp(str(home / "dagster")) as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS] * 3


def test_config_files_are_part_of_what_a_publish_is_made_of(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "indicators.toml").write_text("a = 1\n")
    first = state.files_fingerprint([tmp_path / "config"])
    assert state.files_fingerprint([tmp_path / "config"]) == first
    (tmp_path / "config" / "indicators.toml").write_text("a = 2\n")
    assert state.files_fingerprint([tmp_path / "config"]) != first
