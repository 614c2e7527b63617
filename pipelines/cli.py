"""`regiostat` command line: build the warehouse, import StatLine downloads, query, export, roll back a publish."""

import argparse
import functools
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg


def _build(args: argparse.Namespace) -> int:
    if args.live:
        os.environ["REGIOSTAT_MODE"] = "live"
    from pipelines import timings
    from pipelines.instance import cli_instance
    from pipelines.summary import summary_lines
    from regiostat.configkeys import ConfigError

    started = time.perf_counter()
    try:  # importing the definitions module builds its default definitions, which read the config too
        from pipelines.definitions import make_definitions

        defs = make_definitions(args.home)
    except ConfigError as exc:  # names file, entry and key: a traceback would hide it
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    settings = defs.resources["settings"]
    print(f"building {settings.publish_path} from {settings.mode} data; runs are recorded in "
          f"{_instance_text(args.home)}", flush=True)
    with cli_instance(args.home) as instance, timings.sampled() as memory:
        result = _run_build(args, defs, instance)
        summary = summary_lines(instance, result.run_id, settings)
        if args.timings:
            step_timings = timings.step_timings(instance, result.run_id, memory.samples)
    elapsed = time.perf_counter() - started
    if args.timings:
        timings.write(Path(args.timings), step_timings, total_s=elapsed,
                      peak_rss_mb=max((mb for _, mb in memory.samples), default=0.0))
    causes = _print_failures(result)
    _print_line(_fetches_set_aside(result))
    print("\n".join(["summary:", *(f"  {line}" for line in summary)]))
    if not result.success:
        print(f"run failed after {elapsed:.1f} s; the published warehouse was not changed. "
              f"{_summary_of(causes)}", file=sys.stderr)
        return 1
    published = any(e.event_type_value == "STEP_SUCCESS" and e.step_key == "published__regional_warehouse"
                    for e in result.all_events)
    if not published:
        print(f"nothing changed since the last publish ({settings.mode} data): {settings.publish_path} is current "
              f"({elapsed:.1f} s); `regiostat build --force` rebuilds it anyway")
        return 0
    print(f"built and published {settings.publish_path} in {elapsed:.1f} s ({settings.mode} data)")
    print('query it read-only: uv run regiostat query "SELECT * FROM marts.jobs_by_sector_region_year LIMIT 5"')
    return 0


def _instance_text(home: str | None) -> str:
    from pipelines.instance import instance_dir

    folder = instance_dir(home)
    if not os.environ.get("DAGSTER_HOME") and folder == Path("var", "dagster").absolute():
        return f"{folder} (`uv run dagster dev` here shows them)"  # the checkout's dagster.yaml points there
    return f"{folder} (`DAGSTER_HOME={folder} uv run dagster dev` shows them)"


def _run_build(args: argparse.Namespace, defs: dg.Definitions,
               instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """One in-process run: every source (default), one CBS table (``--table``), or everything after landing rebuilt
    from the landing zone without any fetch (``--from-landing``). Progress is printed from the run's events; Dagster's
    own console log shows only errors (all of it with ``--debug``)."""
    from pipelines.definitions import FULL_REFRESH, every_partition_tags
    from pipelines.progress import Progress
    from pipelines.resources import REBUILD_TAG

    run_id = str(uuid.uuid4())
    instance.add_event_listener(run_id, Progress(instance, run_id))
    console = {"loggers": {"console": {"config": {"log_level": "WARNING" if args.debug else "CRITICAL"}}}}
    common = {"run_config": console, "instance": instance, "raise_on_error": False, "run_id": run_id}
    if args.table:
        job = defs.resolve_job_def("cbs_refresh")
        return job.execute_in_process(partition_key=args.table.upper(),
                                      tags={REBUILD_TAG: "all"} if args.force else None, **common)
    job = defs.resolve_job_def(FULL_REFRESH)
    tags, selection = every_partition_tags(defs), None
    if args.force or args.from_landing:
        tags[REBUILD_TAG] = "all"
    if args.from_landing:
        selection = [k for k in job.asset_layer.executable_asset_keys if k.path[0] != "landing"]
    return job.execute_in_process(tags=tags, asset_selection=selection, **common)


def _print_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """Print every failed check and step; return the root causes, the first one first: failed steps (in the
    order they failed), then failed blocking checks (a step that only reports a failed check is not a cause)."""
    steps, checks = [], []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            check = event.event_specific_data
            blocking = check.severity != dg.AssetCheckSeverity.WARN
            print(f"{'check failed (blocks publishing)' if blocking else 'warning'}: "
                  f"{check.asset_key.to_user_string()} / {check.check_name}", file=sys.stderr)
            summary = check.metadata.get("summary")
            if summary is not None:
                print(summary.value, file=sys.stderr)
            if blocking:
                first = str(summary.value).strip().splitlines()[0] if summary is not None else "failed"
                checks.append(f"check {check.asset_key.to_user_string()} / {check.check_name}: {first}")
        elif event.event_type_value == "STEP_FAILURE":
            error = root_error(event.event_specific_data.error)
            message = " ".join(error.message.split())
            print(f"step failed: {event.step_key}: {message}", file=sys.stderr)
            if error.cls_name != "DagsterAssetCheckFailedError":
                steps.append(f"{event.step_key}: {message}")
        elif event.event_type_value == "RUN_FAILURE" and event.event_specific_data.error is not None:
            steps.append(f"run: {' '.join(root_error(event.event_specific_data.error).message.split())}")
    return steps + checks


def _fetches_set_aside(result: dg.ExecuteInProcessResult) -> str | None:
    """The summary's line on failed fetches kept in the landing zone and never read (the raw steps' non-blocking
    check lists them), or None when there are none."""
    from assets.sources import FETCHES_CHECK
    from regiostat.landing.fetches import set_aside_line

    rows = [row for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.event_specific_data.check_name == FETCHES_CHECK and not e.event_specific_data.passed
            for row in e.event_specific_data.metadata["set_aside"].value]
    return f"warning: {set_aside_line(rows)}" if rows else None


def _print_line(line: str | None) -> None:
    if line:
        print(line, file=sys.stderr)


def root_error(error):
    """The error that started it: Dagster wraps the real error (its ``cause``), and an error raised while
    handling another (a ROLLBACK failing after a disk-full write: "cannot rollback - no transaction is
    active") carries the first as its ``context``. Follow both to the end; the last one is the root."""
    while True:
        deeper = error.cause or error.context
        if deeper is None:
            return error
        error = deeper


def _summary_of(causes: list[str]) -> str:
    if not causes:
        return "Root cause: not reported by any step (see the messages above)."
    more = f" ({len(causes) - 1} more failure(s) above)" if len(causes) > 1 else ""
    return f"Root cause: {causes[0]}{more}"


def _one_line_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """An operator command's expected failures (no warehouse, nothing to roll back to, a bad setting, a lock
    held too long) print one line and exit 2; ``--debug`` shows the traceback instead."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from regiostat.landing.zone import LandingError
        from regiostat.publish.lock import RunLockTimeout
        from regiostat.publish.release import PublishError
        from regiostat.publish.versions import PointerError

        try:
            return func(args)
        except (PublishError, PointerError, RunLockTimeout, LandingError, ValueError, OSError) as exc:
            if getattr(args, "debug", False):
                raise
            print(f"{args.command}: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2

    return run


@_one_line_errors
def _query(args: argparse.Namespace) -> int:
    import duckdb

    import regiostat
    from pipelines.resources import settings_from_env
    from regiostat.publish.results import write_result

    if (args.sql is None) == (args.file is None):
        raise ValueError("give the SQL as an argument or with --file q.sql (one of the two)")
    sql = Path(args.file).read_text(encoding="utf-8") if args.file else args.sql
    path = settings_from_env(args.home).publish_path
    try:
        con = regiostat.connect(path)  # the version the pointer names now: never half of a publish
    except FileNotFoundError as exc:
        print(f"{exc}: run `uv run regiostat build` first", file=sys.stderr)
        return 2
    try:
        relation = con.sql(sql)
        if relation is None:  # a statement without a result (SET, PRAGMA ...)
            return 0
        if args.format == "table":
            relation.show(max_rows=args.max_rows, max_width=10**6 if args.all_columns else 200)
        else:
            rows = write_result(con, relation, args.format, Path(args.out) if args.out else None)
            if args.out:
                print(f"wrote {rows} row(s) to {args.out}", file=sys.stderr)
    except duckdb.Error as exc:  # an analyst's typo deserves DuckDB's message, not a traceback
        print(f"query failed: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


@_one_line_errors
def _fetches(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.landing.fetches import describe, fetch_states
    from regiostat.landing.zone import LandingZone

    zone = LandingZone(settings_from_env(args.home).landing_dir)
    print(describe(fetch_states(zone, args.table)))
    return 0


@_one_line_errors
def _retire_fetch(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.landing.fetches import retire
    from regiostat.landing.zone import LandingZone
    from regiostat.publish.lock import run_lock

    settings = settings_from_env(args.home)
    with run_lock(settings.lock_path, run_id="retire-fetch", timeout=settings.lock_timeout_seconds,
                  on_wait=lambda msg: print(msg, file=sys.stderr)):  # never while a run reads the landing zone
        row = retire(LandingZone(settings.landing_dir), args.fetch_id, args.reason)
    print(f"retired fetch {row.fetch_id} ({row.table_id}): kept in the landing zone, never read, no longer reported")
    return 0


def _import_statline(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.landing.zone import LandingZone
    from regiostat.sources.cbs.statline_csv import import_download

    zone = LandingZone(settings_from_env(args.home).landing_dir)
    entries = import_download(zone, Path(args.file), metadata=Path(args.metadata) if args.metadata else None)
    print(f"landed {len(entries)} file(s) for {entries[0].table_id} as fetch {entries[0].fetch_id}")
    return 0


@_one_line_errors
def _rollback(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.publish.lock import run_lock
    from regiostat.publish.release import rollback

    settings = settings_from_env(args.home)
    publish_path = Path(settings.publish_path)
    if args.list:
        print(_versions_text(publish_path))
        return 0
    # the same lock as a run: a rollback never interleaves with a publish
    with run_lock(settings.lock_path, run_id="rollback", timeout=settings.lock_timeout_seconds,
                  on_wait=lambda msg: print(msg, file=sys.stderr)):
        restored = rollback(publish_path, Path(args.version) if args.version else None)
    print(f"{publish_path} now holds {restored.name}")
    return 0


def _versions_text(publish_path: Path) -> str:
    """One line per kept version, oldest first; the current one marked with * and (current)."""
    from regiostat.publish.versions import list_versions, read_catalog

    catalog = read_catalog(publish_path)
    files = list_versions(publish_path)
    if not files:
        return f"no versions kept in {publish_path.parent / 'versions'}"
    lines = []
    for path in files:
        record = catalog.record(path.name) if catalog else None
        current = catalog is not None and catalog.current == path.name
        about = f"  build {record.build_id}  published {record.published_at}" if record else ""
        lines.append(f"{'*' if current else ' '} {path}{about}{'  (current)' if current else ''}")
    return "\n".join(lines)


@_one_line_errors
def _health(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.publish.health import check_warehouse
    from regiostat.warehouse import mart_names

    settings = settings_from_env(args.home)
    report = check_warehouse(settings.publish_path, expected_marts=mart_names(settings.paths.marts_dir),
                             max_age_hours=args.max_age_hours)
    if not report.exists:
        print(report.text(), file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


@_one_line_errors
def _export(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.publish.export import export_warehouse

    settings = settings_from_env(args.home)
    summary = export_warehouse(settings.publish_path, Path(args.out), fmt=args.format, schemas=args.schema)
    print(summary.text())
    return 0


def _report(args: argparse.Namespace) -> int:
    from pipelines.resources import settings_from_env
    from regiostat.report import write_site

    settings = settings_from_env(args.home)
    out = Path(args.out or settings.site_dir)  # the same folder as the report/profile_site asset by default
    try:
        summary = write_site(settings.publish_path, out, regions=args.region, paths=settings.paths)
    except (FileNotFoundError, ValueError) as exc:  # no warehouse, an unknown region, a folder that is not a site
        print(f"report: {exc}", file=sys.stderr)
        return 2
    print(summary.text())
    print(f"open {out / 'index.html'} in a browser, or serve the folder: python -m http.server -d {out}")
    return 0


@_one_line_errors
def _contract(args: argparse.Namespace) -> int:
    """Write warehouse/CONTRACT.md from the published warehouse, or (--check) say how it differs."""
    from pipelines.resources import settings_from_env
    from regiostat.publish import contract
    from regiostat.warehouse import SCHEMA_VERSION

    settings = settings_from_env(args.home)
    out = Path(args.out) if args.out else settings.paths.contract_md
    current, problems = contract.of_published(settings.publish_path, settings.paths)
    if args.check:
        committed = out.read_text(encoding="utf-8") if out.is_file() else None
        found = contract.check(current, problems, committed, SCHEMA_VERSION)
        print("\n".join(found) if found else f"{out} is current (schema version {current.schema_version})",
              file=sys.stderr if found else sys.stdout)
        return 1 if found else 0
    if problems:  # a contract with holes is none: the docs come first
        print("\n".join(problems), file=sys.stderr)
        print(f"{out} not written: {len(problems)} problem(s) above", file=sys.stderr)
        return 1
    out.write_text(contract.render(current), encoding="utf-8")
    stable = sum(t.stable for t in current.tables)
    print(f"wrote {out}: {len(current.tables)} tables ({stable} stable), schema version {current.schema_version}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="regiostat", description=__doc__)
    parser.add_argument("--home", help="working folder for landing zone and build db (default: ./var)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="run the full_refresh job in-process and publish the warehouse")
    build.add_argument("--live", action="store_true", help="fetch from CBS instead of the bundled real data")
    scope = build.add_mutually_exclusive_group()
    scope.add_argument("--from-landing", action="store_true",
                       help="no fetch: rebuild every layer from the files already in the landing zone")
    scope.add_argument("--table", metavar="ID", help="refresh only this CBS table (a partition) and what depends on it")
    build.add_argument("--timings", metavar="FILE",
                       help="write each step's wall time and the process's peak memory while it ran (JSON)")
    build.add_argument("--force", action="store_true",
                       help="rebuild every layer even where nothing changed (after a code change; landing as usual)")
    build.set_defaults(func=_build)
    fetches = sub.add_parser("fetches", help="list the landed fetches and their state (landing, complete, failed, "
                             "retired)")
    fetches.add_argument("--table", help="only this table id (e.g. 03759NED)")
    fetches.set_defaults(func=_fetches)
    retire = sub.add_parser("retire-fetch", help="retire a failed fetch (or one that never completed): kept on disk, "
                            "never read, no longer reported")
    retire.add_argument("fetch_id")
    retire.add_argument("--reason", default="retired by an operator", help="why, kept with the fetch")
    retire.set_defaults(func=_retire_fetch)
    imp = sub.add_parser("import-statline", help="land a StatLine CSV download (and its metadata file)")
    imp.add_argument("file")
    imp.add_argument("--metadata")
    imp.set_defaults(func=_import_statline)
    query = sub.add_parser("query", help="run SQL against the published warehouse, read-only")
    query.add_argument("sql", nargs="?", help="the SQL (or --file)")
    query.add_argument("--file", metavar="Q.SQL", help="read the SQL from this file")
    query.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table",
                       help="table (default, for reading), csv, json (an array of objects) or parquet (needs --out)")
    query.add_argument("--out", metavar="FILE", help="write the result to FILE instead of stdout")
    query.add_argument("--all-columns", action="store_true", help="table format: show every column, however wide")
    query.add_argument("--max-rows", type=int, default=40, help="table format: rows shown (default 40)")
    query.set_defaults(func=_query)
    rb = sub.add_parser("rollback", help="put the previous published version back")
    rb.add_argument("--version", help="a file from warehouse/versions/ (default: the one before the newest)")
    rb.add_argument("--list", action="store_true", help="list the kept versions, the current one marked *")
    rb.set_defaults(func=_rollback)
    export = sub.add_parser("export", help="write every published table as Parquet or CSV, with a manifest")
    export.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    export.add_argument("--out", default="export", help="folder to write to (default: ./export)")
    export.add_argument("--schema", action="append", help="only this schema (repeatable; default: all)")
    export.set_defaults(func=_export)
    health = sub.add_parser("health", help="check the published warehouse (exit 1 unhealthy, 2 missing)")
    health.add_argument("--max-age-hours", type=float, help="unhealthy if the build is older than this")
    health.set_defaults(func=_health)
    report = sub.add_parser("report", help="write the static regional profile site from the published warehouse")
    report.add_argument("--region", action="append", metavar="CODE",
                        help="only this region (repeatable; default: every region in marts.regional_profile)")
    report.add_argument("--out", help="folder to write the site to (default: REGIOSTAT_SITE_DIR, else site/ beside "
                                      "the published file's warehouse/ folder: ./site)")
    report.set_defaults(func=_report)
    contract = sub.add_parser("contract", help="write warehouse/CONTRACT.md (stable tables and columns, types, "
                              "units, meaning) from the published warehouse")
    contract.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 naming what differs (missing comments, drift, a stale file)")
    contract.add_argument("--out", metavar="FILE", help="the contract file (default: warehouse/CONTRACT.md)")
    contract.set_defaults(func=_contract)
    args = parser.parse_args(argv)
    logging.getLogger("dagster").setLevel(logging.WARNING)
    # when nothing changed, staging materializes nothing and every later step (checks included) is skipped; Dagster
    # then warns for each skipped blocking check that the publish "will proceed without gating", while the publish
    # is skipped too
    logging.getLogger("dagster._core.execution.plan.active").addFilter(
        lambda record: "will proceed without gating" not in record.getMessage())
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
