"""Shared fixtures. The full pipeline runs once per session into a temporary folder."""

from pathlib import Path

import dagster as dg
import pytest

from regiostat.landing import LandingZone

pytest_plugins = ["tests.conftest_http"]

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "data" / "bundled" / "landing"


def run_full_refresh(home: Path) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import FULL_REFRESH, make_definitions

    defs = make_definitions(home)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    return defs.resolve_job_def(FULL_REFRESH).execute_in_process(
        run_config=quiet, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


@pytest.fixture(scope="session")
def built_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("regiostat_home")
    result = run_full_refresh(home)
    assert result.success, "full_refresh failed on the bundled data"
    return home


@pytest.fixture(scope="session")
def bundled_zone() -> LandingZone:
    return LandingZone(BUNDLED)


def bundled_file(zone: LandingZone, table_id: str, entity: str) -> bytes:
    entry = next(e for e in zone.entries() if e.table_id == table_id and e.entity == entity)
    return zone.read_bytes(entry)
