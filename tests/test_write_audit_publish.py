"""Publishing and rolling back: a rollback restores the previous version, and runs and rollbacks take one lock.
(A landed fetch that breaks its format or fails the raw check no longer fails the build: it is set aside and
the table's previous good fetch used, with a warning: tests/faults/test_fetch_states.py.)"""

from pathlib import Path

from tests.conftest import published_state


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
