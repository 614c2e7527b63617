"""Every registered source's steps: one landing and one raw asset per feed, and for sources fed by hand a
sensor on their inbox with the job it starts. Nothing here names a source: it all follows from
regiostat.sources.registry."""


import hashlib
import json
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import check_result, json_metadata, preview, split_checks
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.landing.zone import LandingZone
from regiostat.model.layout import declared_tables
from regiostat.paths import ProjectPaths
from regiostat.sources import raw, registry
from regiostat.sources.protocol import Feed, Source, SourceError
from schemas import schema_for
from schemas.validation import ValidationResult, validate_table

RAW_TABLES = ("raw.observations", "raw.measures", "raw.dimension_codes", "raw.region_memberships", "raw.fetches")


def landing_key(feed: Feed) -> dg.AssetKey:
    return dg.AssetKey(["landing", feed.name])


def raw_key(feed: Feed) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed.name])


def _landing_asset(source: Source, feed: Feed, known: set[str]) -> dg.AssetsDefinition:
    @dg.asset(key=landing_key(feed), group_name="landing", kinds={"python", *feed.file_kinds},
              deps=[dg.AssetKey(["landing", n]) for n in feed.needs if n in known],
              description=f"{feed.title} ({source.title}): files in the landing zone, as received.",
              metadata=dict(feed.details))
    def _landing(context: dg.AssetExecutionContext, settings: RegiostatSettings) -> dg.MaterializeResult:
        try:
            report = source.land(feed, settings.landing_context(log=context.log.warning))
        except SourceError as exc:
            raise dg.Failure(str(exc)) from exc
        return dg.MaterializeResult(metadata=json_metadata(report))

    return _landing


def _raw_asset(source: Source, feed: Feed, raw_tables: list[str]) -> list:
    @dg.asset(key=raw_key(feed), deps=[landing_key(feed)], group_name="raw", kinds={"duckdb", "polars"},
              description=f"{feed.title}: rows as landed, from every complete fetch (raw.observations and friends).",
              metadata=dict(feed.details))
    def _raw(context: dg.AssetExecutionContext, settings: RegiostatSettings,
             duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            warehouse.ensure_schema(con, settings.paths.schema_sql)
            try:
                rows = raw.read_feed(source, feed, LandingZone(settings.landing_dir))
                counts = raw.write_feed(con, rows)
            except SourceError as exc:
                raise dg.Failure(str(exc)) from exc
            head = raw.preview(con, rows)
        context.log.info(f"{feed.name}: {counts}")
        return dg.MaterializeResult(metadata={
            **{f"rows_{t.split('.')[1]}": n for t, n in counts.items()}, "fetches": rows.fetches,
            "columns_not_loaded": len(rows.skipped_columns), "preview": preview(head)})

    @dg.asset_check(asset=raw_key(feed), name="raw_rows_match_source_format", blocking=True,
                    description="pandera, per raw table: codes, periods, value text and measure metadata as the "
                                "source format promises; failure cases name the landed file and row.")
    def _raw_check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            results = [validate_table(con, schema_for(table), table, where={"table_id": t})
                       for table in raw_tables for t in feed.table_ids]
        merged = ValidationResult("raw", sum(r.rows for r in results),
                                  [dict(c, schema=r.schema) for r in results for c in r.failure_cases])
        return check_result(merged)

    return [_raw, _raw_check]


def _inbox_state(source: Source, settings: RegiostatSettings) -> dict[str, list[int]]:
    files = source.inbox_files(settings.landing_context())
    return {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in files}


def inbox_sensor(source: Source, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{source.name}_inbox", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Starts {job.name} when a file appears in, or changes in, the {source.title} inbox.")
    def _sensor(context: dg.SensorEvaluationContext, settings: RegiostatSettings):
        seen = json.loads(context.cursor) if context.cursor else {}
        now = _inbox_state(source, settings)
        changed = sorted(p for p, state in now.items() if seen.get(p) != state)
        context.update_cursor(json.dumps(now))
        if not changed:
            return dg.SkipReason(f"no new or changed files in {settings.landing_context().inbox(source.name)}")
        key = hashlib.sha256(json.dumps({p: now[p] for p in changed}).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=key, tags={f"regiostat/{source.name}_files":
                                                ", ".join(Path(p).name for p in changed)[:200]})

    return _sensor


def source_feeds(paths: ProjectPaths) -> list[tuple[Source, Feed]]:
    return [(s, f) for s in registry.sources() for f in s.feeds(paths)]


def definitions(paths: ProjectPaths) -> dg.Definitions:
    """Landing and raw steps of every feed; an inbox sensor and its refresh job per source fed by hand."""
    feeds = source_feeds(paths)
    known = {f.name for _, f in feeds}
    raw_tables = declared_tables(paths.schema_sql, "raw")
    assets = [d for s, f in feeds for d in (_landing_asset(s, f, known), *_raw_asset(s, f, raw_tables))]
    jobs, sensors = [], []
    for source in registry.sources():
        if not source.watches_inbox:
            continue
        job = dg.define_asset_job(
            f"{source.name}_refresh",
            selection=dg.AssetSelection.assets(*[landing_key(f) for s, f in feeds if s is source]).downstream(),
            description=f"Land new or changed {source.title}, rebuild what depends on them, check, then publish.")
        jobs.append(job)
        sensors.append(inbox_sensor(source, job))
    return dg.Definitions.merge(split_checks(assets), dg.Definitions(jobs=jobs, sensors=sensors))


def raw_keys(paths: ProjectPaths) -> list[dg.AssetKey]:
    return [raw_key(f) for _, f in source_feeds(paths)]
