"""Resources: where things live and which source is read (bundled real data, or live CBS)."""

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from regiostat.landing.zone import LandingZone
from regiostat.model import state
from regiostat.paths import ProjectPaths
from regiostat.publish.lock import DEFAULT_TIMEOUT_SECONDS, run_lock
from regiostat.publish.storage import STORAGE_VERSION
from regiostat.sources.protocol import HttpSettings, LandingContext

REBUILD_TAG = "regiostat/rebuild"  # "all": every step rebuilds every table, whatever meta.layer_state says


def rebuild_all(context: dg.AssetExecutionContext) -> bool:
    """Whether this run was asked to rebuild everything (``regiostat build --from-landing``)."""
    return context.run.tags.get(REBUILD_TAG) == "all"


class RegiostatSettings(dg.ConfigurableResource):
    """Paths and the data mode. Defaults come from REGIOSTAT_* environment variables.

    mode "bundled" copies the real CBS captures shipped with regiostat (data/bundled/landing) into
    the landing zone (no network); mode "live" fetches from CBS's APIs. ``project_dir`` holds the
    shipped config, SQL and data (a checkout, or the installed package's copy); working folders
    default to ./var and ./warehouse under the current folder.
    """

    mode: str = "bundled"
    project_dir: str = str(ProjectPaths.default().root)
    landing_dir: str = str(Path("var") / "landing")
    lisa_inbox_dir: str = str(Path("var") / "lisa_inbox")
    quarantine_dir: str = str(Path("var") / "quarantine")
    build_db: str = str(Path("var") / "build" / "regional_build.duckdb")
    publish_path: str = str(Path("warehouse") / "regional.duckdb")
    site_dir: str = "site"  # the regional profile site (assets/report.py, `regiostat report`)
    keep_versions: int = 5
    cbs_v4_base: str = "https://datasets.cbs.nl/odata/v1/CBS"
    cbs_v3_api_base: str = "https://opendata.cbs.nl/ODataApi/odata"
    cbs_v3_feed_base: str = "https://opendata.cbs.nl/ODataFeed/odata"
    http_timeout_seconds: float = 60.0
    http_max_retries: int = 5
    # bounds on every upstream (REGIOSTAT_HTTP_*; regiostat.sources.cbs.client.HttpLimits says why each exists)
    http_deadline_seconds: float = 300.0
    http_max_body_bytes: int = 128 * 2**20
    http_max_rows_per_page: int = 200_000
    http_max_pages: int = 10_000
    lock_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    # DuckDB spills to disk beyond this, so a national table fits any machine; it is most of what a build step holds
    # (its buffer pool fills with the blocks it scans). 96 MB is the least the 1.87M-row benchmark builds with.
    duckdb_memory_limit: str = "96MB"
    duckdb_threads: int = 2
    fetch_concurrency: int = 2  # tables of one source fetched at once by one landing step (be polite to CBS)

    @property
    def duckdb_config(self) -> dict[str, object]:
        """Settings of every connection a build opens (the build database's, and publishing's). A new build database
        is written in the storage format the published warehouse has (DuckDB 1.1's, regiostat.publish.storage), so
        publishing copies it instead of rewriting every table."""
        return {"memory_limit": self.duckdb_memory_limit, "threads": self.duckdb_threads,
                "storage_compatibility_version": STORAGE_VERSION}

    @property
    def paths(self) -> ProjectPaths:
        """The shipped config, SQL and data folders every loader reads."""
        return ProjectPaths(Path(self.project_dir))

    @property
    def bundled_landing_dir(self) -> Path:
        return self.paths.bundled_landing_dir

    @property
    def published_inputs_path(self) -> Path:
        """Beside the build database: which build was published last and what it was made from."""
        return Path(self.build_db).with_name("published_inputs.json")

    @property
    def lock_path(self) -> Path:
        """The run lock next to the build database: one run or rollback at a time per build folder."""
        return Path(self.build_db).with_name("run.lock")

    def config_fingerprint(self) -> str:
        """Of the shipped configuration every build reads (config/, the SQL, the documents claims are checked in)."""
        paths = self.paths
        return state.files_fingerprint([paths.config_dir, paths.sql_dir, paths.documents_dir],
                                       exclude=[paths.contract_md])  # an output of `regiostat contract`

    def landing_context(self, log: Callable[[str], None] = print) -> LandingContext:
        """What a source's landing step is given (regiostat.sources.protocol)."""
        return LandingContext(
            zone=LandingZone(self.landing_dir), paths=self.paths, mode=self.mode,
            quarantine_dir=Path(self.quarantine_dir), inboxes={"lisa": Path(self.lisa_inbox_dir)},
            http=HttpSettings({"cbs_v4": self.cbs_v4_base, "cbs_v3_api": self.cbs_v3_api_base,
                               "cbs_v3_feed": self.cbs_v3_feed_base,
                               "cbs_v4_catalog": f"{self.cbs_v4_base.rstrip('/')}/Datasets",
                               "cbs_v3_catalog": _v3_catalog(self.cbs_v3_api_base)},
                              timeout_seconds=self.http_timeout_seconds, max_retries=self.http_max_retries,
                              deadline_seconds=self.http_deadline_seconds, max_body_bytes=self.http_max_body_bytes,
                              max_rows_per_page=self.http_max_rows_per_page, max_pages=self.http_max_pages),
            log=log)


def _v3_catalog(v3_api_base: str) -> str:
    """CBS's v3 table catalog sits beside the ODataApi on the same host (a mirror or test server keeps that)."""
    root, found, _ = v3_api_base.rstrip("/").rpartition("/ODataApi/odata")
    return f"{root}/ODataCatalog/Tables" if found else "https://opendata.cbs.nl/ODataCatalog/Tables"


class BuildDatabase(DuckDBResource):
    """The run's private build database. Whoever writes it holds its run lock, taken when a run starts
    and held to its end: runs against the same build folder are serialized, never interleaved."""

    lock_path: str
    lock_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["BuildDatabase"]:
        log = context.log.warning if context.log else print
        with run_lock(self.lock_path, run_id=context.run_id or "?", timeout=self.lock_timeout_seconds,
                      on_wait=log):
            yield self


def home_dir(home: Path | str | None = None) -> Path:
    """The working folder: ``home`` (tests pass a temp dir), else REGIOSTAT_HOME, else ./var."""
    return Path(home or os.environ.get("REGIOSTAT_HOME") or "var").absolute()


def settings_from_env(home: Path | str | None = None) -> RegiostatSettings:
    """Settings for a home folder (tests pass a temp dir); environment variables override."""
    env = os.environ
    base = home_dir(home)
    publish = env.get("REGIOSTAT_PUBLISH_PATH") or str((Path(home) if home else Path.cwd()) / "warehouse" /
                                                       "regional.duckdb")
    mode = env.get("REGIOSTAT_MODE", "bundled")
    if mode not in {"bundled", "live"}:
        raise ValueError(f"REGIOSTAT_MODE must be 'bundled' or 'live', got {mode!r}")
    return RegiostatSettings(
        mode=mode,
        project_dir=env.get("REGIOSTAT_PROJECT_DIR") or str(ProjectPaths.default().root),
        landing_dir=str(base / "landing"),
        lisa_inbox_dir=env.get("REGIOSTAT_LISA_INBOX") or str(base / "lisa_inbox"),
        quarantine_dir=str(base / "quarantine"),
        build_db=str(base / "build" / "regional_build.duckdb"),
        publish_path=publish,
        site_dir=env.get("REGIOSTAT_SITE_DIR") or str(Path(publish).parent.parent / "site"),  # beside warehouse/
        cbs_v4_base=env.get("REGIOSTAT_CBS_V4_BASE", RegiostatSettings.model_fields["cbs_v4_base"].default),
        cbs_v3_api_base=env.get("REGIOSTAT_CBS_V3_API_BASE",
                                RegiostatSettings.model_fields["cbs_v3_api_base"].default),
        cbs_v3_feed_base=env.get("REGIOSTAT_CBS_V3_FEED_BASE",
                                 RegiostatSettings.model_fields["cbs_v3_feed_base"].default),
        duckdb_memory_limit=env.get("REGIOSTAT_DUCKDB_MEMORY_LIMIT",
                                    RegiostatSettings.model_fields["duckdb_memory_limit"].default),
        duckdb_threads=int(env.get("REGIOSTAT_DUCKDB_THREADS",
                                   RegiostatSettings.model_fields["duckdb_threads"].default)),
        fetch_concurrency=int(env.get("REGIOSTAT_FETCH_CONCURRENCY",
                                      RegiostatSettings.model_fields["fetch_concurrency"].default)),
        **_http_settings(env),
    )


# RegiostatSettings field -> (environment variable, type): timeouts, retries and the bounds on every upstream
HTTP_VARIABLES = {"http_timeout_seconds": ("REGIOSTAT_HTTP_TIMEOUT_SECONDS", float),
                  "http_max_retries": ("REGIOSTAT_HTTP_MAX_RETRIES", int),
                  "http_deadline_seconds": ("REGIOSTAT_HTTP_DEADLINE_SECONDS", float),
                  "http_max_body_bytes": ("REGIOSTAT_HTTP_MAX_BODY_BYTES", int),
                  "http_max_rows_per_page": ("REGIOSTAT_HTTP_MAX_ROWS_PER_PAGE", int),
                  "http_max_pages": ("REGIOSTAT_HTTP_MAX_PAGES", int)}


def _http_settings(env: os._Environ | dict[str, str]) -> dict[str, float | int]:
    """The HTTP settings the environment sets; a value that is not a number above 0 (retries: 0 or more) is a
    ValueError naming the variable, never a silent default."""
    out: dict[str, float | int] = {}
    for field, (variable, kind) in HTTP_VARIABLES.items():
        text = env.get(variable)
        if text is None or not text.strip():
            continue
        try:
            value = kind(text.strip())
        except ValueError:
            value = None
        least = 0 if field == "http_max_retries" else 1e-9
        if value is None or not value >= least or value == float("inf"):  # NaN is not >= anything
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{variable} must be {what} {'of 0 or more' if least == 0 else 'above 0'}, got {text!r}")
        out[field] = value
    return out


def make_resources(home: Path | str | None = None) -> dict[str, object]:
    settings = settings_from_env(home)
    Path(settings.build_db).parent.mkdir(parents=True, exist_ok=True)
    database = BuildDatabase(database=settings.build_db, lock_path=str(settings.lock_path),
                             lock_timeout_seconds=settings.lock_timeout_seconds,
                             connection_config=settings.duckdb_config)
    return {"settings": settings, "duckdb": database}
