"""Shared fixtures. The full pipeline runs once per session into a temporary folder."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.paths import ProjectPaths
from regiostat.warehouse import mart_names

pytest_plugins = ["tests.conftest_http"]

PATHS = ProjectPaths.default()
MARTS = tuple(mart_names(PATHS.marts_dir))
REPO = PATHS.root
BUNDLED = PATHS.bundled_landing_dir
BUNDLED_LISA = PATHS.bundled_lisa_dir
PUBLISHED = Path("warehouse") / "regional.duckdb"


@pytest.fixture(scope="session", autouse=True)
def _no_outside_settings():
    """Every run builds into its test folder, whatever the developer's shell exports: session-wide, so the
    session build cannot publish into a real warehouse through REGIOSTAT_PUBLISH_PATH either."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if (name.startswith("REGIOSTAT_") and name != "REGIOSTAT_RECORDINGS") or name == "DAGSTER_HOME":
                patch.delenv(name)
        yield


def run_full_refresh(home: Path, *, rebuild: bool = False) -> dg.ExecuteInProcessResult:
    """full_refresh over every table, in-process; ``rebuild`` rebuilds every layer even where nothing changed."""
    from pipelines.definitions import FULL_REFRESH, every_partition_tags, make_definitions
    from pipelines.resources import REBUILD_TAG

    defs = make_definitions(home)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    tags = {**every_partition_tags(defs), **({REBUILD_TAG: "all"} if rebuild else {})}
    return defs.resolve_job_def(FULL_REFRESH).execute_in_process(
        run_config=quiet, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, tags=tags)


@pytest.fixture(scope="session")
def built_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("regiostat_home")
    result = run_full_refresh(home)
    assert result.success, "full_refresh failed on the bundled data"
    return home


@pytest.fixture
def published_home(built_home: Path, tmp_path: Path) -> Path:
    """A private copy of the session's built home (landing zone, build db, published warehouse, 1 version)."""
    return shutil.copytree(built_home, tmp_path / "home", symlinks=True)


@dataclass(frozen=True)
class PublishedState:
    inode: int
    build_id: str
    fact_rows: int
    versions: tuple[str, ...]


def published_state(home: Path) -> PublishedState:
    path = home / PUBLISHED
    con = duckdb.connect(str(path), read_only=True)
    try:
        build_id = con.execute("SELECT build_id FROM meta.build_info").fetchall()[0][0]
        rows = con.execute("SELECT count(*) FROM core.fact_observation").fetchall()[0][0]
    finally:
        con.close()
    versions = tuple(sorted(p.name for p in (path.parent / "versions").iterdir()))
    return PublishedState(path.stat().st_ino, build_id, rows, versions)


@pytest.fixture(scope="session")
def bundled_zone() -> LandingZone:
    return LandingZone(BUNDLED)


def bundled_entry(zone: LandingZone, table_id: str, entity: str, fetch_id: str | None = None) -> LandingEntry:
    """The first landed ``entity`` of ``table_id`` (of ``fetch_id`` when a table has several fetches)."""
    return next(e for e in zone.entries() if e.table_id == table_id and e.entity == entity
                and fetch_id in (None, e.fetch_id))


def bundled_file(zone: LandingZone, table_id: str, entity: str, fetch_id: str | None = None) -> bytes:
    return zone.read_bytes(bundled_entry(zone, table_id, entity, fetch_id))
