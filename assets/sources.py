"""Every registered source's steps, and for sources fed by hand a sensor on their inbox with the job it starts.
Nothing here names a source: it all follows from regiostat.sources.registry.

A partitioned source (CBS: ``partitioned = True``) gets one landing and one raw asset whose static partitions
are its feeds, keyed by table id (from config/tables.toml, so no instance is needed to know them): 1,000
configured tables are two assets, not 2,000. A run covers one table (``partition_key``) or a range of them
in one step (single-run backfill policy; ``regiostat build`` runs them all): landing fetches at most
``fetch_concurrency`` tables at once and sits in the ``<source>_requests`` pool; every step that writes the
build database sits in the ``duckdb_writer`` pool, so a deployment with pool limits keeps one writer.
Other sources get one landing and one raw asset per feed, as before.
"""

import dataclasses
import hashlib
import json
import queue
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import WRITER_POOL, check_result, json_metadata, preview
from assets.publish import PUBLISHED
from pipelines.resources import RegiostatSettings, rebuild_all
from regiostat import warehouse
from regiostat.landing import fetches as fetch_states
from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model import state
from regiostat.model.layout import declared_tables
from regiostat.paths import ProjectPaths
from regiostat.sources import raw, registry
from regiostat.sources.concurrent import LandingOutcome, land_feeds
from regiostat.sources.fetch_checks import (
    FetchError,
    check_failure_cases,
    check_fetch_left,
    check_unique_keys,
    with_fallback,
)
from regiostat.sources.protocol import Feed, Source, SourceError, complete_fetches
from schemas import schema_for
from schemas.validation import ValidationResult, validate_table

RAW_CHECK = "raw_rows_match_source_format"
FETCHES_CHECK = "no_failed_fetches"  # non-blocking: a failed fetch is set aside, its table's previous one used
_SINGLE_RUN = dg.BackfillPolicy.single_run()


@dataclass(frozen=True)
class FeedGroup:
    """The feeds one landing step and one raw step handle: all feeds of a partitioned source, else one feed."""

    source: Source
    feeds: tuple[Feed, ...]
    name: str  # the steps are landing/<name> and raw/<name>
    partitions: dg.StaticPartitionsDefinition | None = None

    @property
    def landing_key(self) -> dg.AssetKey:
        return dg.AssetKey(["landing", self.name])

    @property
    def raw_key(self) -> dg.AssetKey:
        return dg.AssetKey(["raw", self.name])

    @property
    def details(self) -> dict[str, str]:
        if self.partitions is None:
            return dict(self.feeds[0].details)
        return {"partitions": f"{len(self.feeds)} feeds of {self.source.title}, one per partition key"}

    def chosen(self, context: dg.AssetExecutionContext) -> list[Feed]:
        """The feeds this run covers: the run's partitions (one, a range, or all), or the group's one feed."""
        if self.partitions is None:
            return list(self.feeds)
        by_key = {f.partition_key: f for f in self.feeds}
        return [by_key[k] for k in context.partition_keys]

    def partition_range_tags(self) -> dict[str, str]:
        """Run tags that cover every partition in one run (empty when the group is not partitioned)."""
        if self.partitions is None:
            return {}
        keys = self.partitions.get_partition_keys()
        return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def feed_groups(paths: ProjectPaths) -> list[FeedGroup]:
    groups = []
    for source in registry.sources():
        feeds = source.feeds(paths)
        if getattr(source, "partitioned", False):
            if feeds:
                parts = dg.StaticPartitionsDefinition([f.partition_key for f in feeds])
                groups.append(FeedGroup(source, tuple(feeds), source.name, parts))
        else:
            groups += [FeedGroup(source, (feed,), feed.name) for feed in feeds]
    return groups


def _landing_asset(group: FeedGroup, needs: list[dg.AssetKey]) -> dg.AssetsDefinition:
    source = group.source
    kinds = {"python", *(k for f in group.feeds for k in f.file_kinds)}

    @dg.asset(key=group.landing_key, group_name="landing", kinds=kinds, deps=needs,
              partitions_def=group.partitions, backfill_policy=_SINGLE_RUN if group.partitions else None,
              pool=f"{source.name}_requests" if group.partitions else None,
              description=f"{_title(group)} ({source.title}): files in the landing zone, as received.",
              metadata=group.details)
    def _landing(context: dg.AssetExecutionContext, settings: RegiostatSettings) -> dg.MaterializeResult:
        feeds = group.chosen(context)
        outcome = _land_watched(context, source, feeds, settings)
        for warning in outcome.warnings:
            context.log.warning(warning)
        for feed in feeds:  # what the source says about each feed now: the UI shows when each table last changed
            report = outcome.reports.get(feed.name, {})
            if group.partitions is not None and isinstance(report.get("state"), dict):
                context.log_event(dg.AssetObservation(asset_key=group.landing_key, partition=feed.partition_key,
                                                      metadata=_observed(report["state"])))
        if outcome.errors:
            raise dg.Failure(description="; ".join(_error_text(e) for e in outcome.errors.values()),
                             metadata={"failed": sorted(outcome.errors), "landed": sorted(outcome.reports)})
        if group.partitions is None:
            return dg.MaterializeResult(metadata=json_metadata(outcome.reports[feeds[0].name]))
        return dg.MaterializeResult(metadata=json_metadata(_landing_summary(outcome.reports)))

    return _landing


def _land_watched(context: dg.AssetExecutionContext, source: Source, feeds: list[Feed],
                  settings: RegiostatSettings) -> LandingOutcome:
    """land_feeds in a helper thread, while this step's own thread logs the progress the fetch threads report (a
    page landed, a table fetched): the run shows it as it happens, and Dagster's log is only written from here."""
    messages: queue.SimpleQueue[str] = queue.SimpleQueue()
    ctx = dataclasses.replace(settings.landing_context(), progress=messages.put)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="landing") as runner:
        landing = runner.submit(land_feeds, source, feeds, ctx, concurrency=settings.fetch_concurrency)
        while not (landing.done() and messages.empty()):
            try:
                context.log.info(messages.get(timeout=0.2))
            except queue.Empty:
                pass
        return landing.result()


def _observed(table_state: dict[str, object]) -> dict[str, object]:
    return {k: dg.MetadataValue.text(str(v)) if v is not None else dg.MetadataValue.text("") for k, v in
            table_state.items()}


def _landing_summary(reports: dict[str, dict]) -> dict[str, object]:
    landed = {name: r.get("files_or_pages_landed_now", 0) for name, r in reports.items()}
    changed = [n for n, r in reports.items() if (r.get("state") or {}).get("changed")]
    return {"feeds": len(reports), "files_or_pages_landed_now": sum(landed.values()),
            "feeds_changed": len(changed), "changed": sorted(changed)[:100],
            "feeds_with_new_files": sorted(n for n, k in landed.items() if k)[:100]}


def _error_text(error: Exception) -> str:
    """The error and the errors it wraps (a CBS failure names table and URL in the innermost)."""
    parts = [str(error)]
    while error.__cause__ is not None:
        error = error.__cause__
        parts.append(str(error))
    return ": ".join(dict.fromkeys(parts))


def _raw_asset(group: FeedGroup, raw_tables: list[str]) -> dg.AssetsDefinition:
    source = group.source
    check = dg.AssetCheckSpec(RAW_CHECK, asset=group.raw_key, blocking=True,
                              description="pandera, per raw table: codes, periods, value text and measure metadata "
                                          "as the source format promises, over every row; failure cases name the "
                                          "landed file and row. Rows of a fetch that fail it set that fetch aside "
                                          f"(see {FETCHES_CHECK}); what no fetch can answer for fails here.")
    fetches = dg.AssetCheckSpec(FETCHES_CHECK, asset=group.raw_key, blocking=False,
                                description="Warns (never blocks) while a fetch of these tables that failed its raw "
                                            "checks (its format, no rows where its metadata promises some, a key "
                                            "given twice, rows the raw check refuses) is kept in the landing zone: "
                                            "it is never read, the table's previous good fetch is used instead. "
                                            "Passes once none is left (`regiostat retire-fetch`).")

    @dg.asset(key=group.raw_key, deps=[group.landing_key], group_name="raw", kinds={"duckdb", "polars"},
              partitions_def=group.partitions, backfill_policy=_SINGLE_RUN if group.partitions else None,
              pool=WRITER_POOL, check_specs=[check, fetches], metadata=group.details,
              description=f"{_title(group)}: rows as landed, from every complete fetch in use (raw.observations "
                          "and friends).")
    def _raw(context: dg.AssetExecutionContext, settings: RegiostatSettings,
             duckdb: DuckDBResource) -> dg.MaterializeResult:
        feeds = group.chosen(context)
        zone = LandingZone(settings.landing_dir)
        with duckdb.get_connection() as con:
            warehouse.ensure_schema(con, settings.paths.schema_sql)
            load = _load_raw(con, source, feeds, zone, raw_tables, force=rebuild_all(context),
                             warn=context.log.warning)
            head = raw.preview(con, sorted(load.written))
        rows = ", ".join(f"{n:,} {table.split('.')[1]}" for table, n in load.counts.items() if n) or "no rows"
        context.log.info(f"{group.name}: {rows} read; {len(load.unchanged)} feed(s) unchanged")
        return dg.MaterializeResult(
            metadata={**{f"rows_{t.split('.')[1]}": n for t, n in load.counts.items()}, "fetches": load.fetches,
                      "feeds_read": len(load.written), "feeds_unchanged": len(load.unchanged),
                      "columns_not_loaded": len(load.skipped), "fetches_set_aside_now": len(load.set_aside_now),
                      "preview": preview(head)},
            check_results=[_raw_check_result(load.validation, load),
                           _fetches_check_result(fetch_states.set_aside(zone, _table_ids(feeds)))])

    return _raw


@dataclass
class _RawLoad:
    """What one raw step did: feeds read again and feeds unchanged, rows written, tables checked, fetches set aside."""

    fingerprints: dict[str, str] = field(default_factory=dict)  # table id -> what its rows are read from now
    written: set[str] = field(default_factory=set)  # table ids whose rows were written now
    unchanged: list[str] = field(default_factory=list)  # feeds not read again
    to_check: list[str] = field(default_factory=list)  # table ids whose rows had not passed their check yet
    counts: dict[str, int] = field(default_factory=dict)
    fetches: int = 0
    skipped: set[str] = field(default_factory=set)
    cases: list[dict] = field(default_factory=list)  # raw check failures no fetch answers for
    rows_checked: int = 0
    set_aside_now: list[FetchError] = field(default_factory=list)  # fetches this step marked failed

    @property
    def validation(self) -> ValidationResult:
        return ValidationResult("raw", self.rows_checked, self.cases)


@dataclass
class _FeedLoad:
    """One feed's raw rows as one attempt left them (see _load_feed)."""

    fingerprint: str
    written: dict[str, int] | None = None  # rows per raw table, None when the feed was unchanged
    fetches: int = 0
    skipped: tuple[str, ...] = ()
    to_check: list[str] = field(default_factory=list)
    validation: ValidationResult | None = None


def _load_raw(con, source: Source, feeds: list[Feed], zone: LandingZone, raw_tables: list[str], *, force: bool,
              warn) -> _RawLoad:
    """Each feed read again where its complete fetches in use or its configuration changed (every feed with
    ``force``), and its rows checked. A fetch that fails (reading it, its keys, its rows' raw check) is marked
    failed and the feed is loaded again without it (regiostat.sources.fetch_checks.with_fallback)."""
    load = _RawLoad()
    failed_before = fetch_states.failed_by_table(zone)
    for feed in feeds:
        completes = complete_fetches(zone, feed)
        try:
            check_fetch_left(failed_before, feed.table_ids, completes)  # never built without a table it left empty
            done, failed = with_fallback(
                zone, completes,
                lambda completes, feed=feed: _load_feed(con, source, feed, zone, raw_tables, completes, force=force),
                warn)
        except SourceError as exc:
            raise dg.Failure(str(exc)) from exc
        load.set_aside_now += failed
        load.fingerprints.update(dict.fromkeys(feed.table_ids, done.fingerprint))
        if done.written is None:
            load.unchanged.append(feed.name)
        else:
            load.counts = {t: load.counts.get(t, 0) + n for t, n in done.written.items()}
            load.fetches += done.fetches
            load.skipped |= set(done.skipped)
            load.written |= set(feed.table_ids)
        load.to_check += done.to_check
        load.rows_checked += done.validation.rows
        load.cases += done.validation.failure_cases
    return load


def _load_feed(con, source: Source, feed: Feed, zone: LandingZone, raw_tables: list[str],
               completes: list[LandingEntry], *, force: bool) -> _FeedLoad:
    """One attempt: read the feed again unless its rows were read from exactly these fetches (``force``: always),
    checking each fetch's keys before its rows replace the feed's; then run the raw check over the tables whose
    rows have not passed it. Rows that fail it name their fetch: FetchError, so the fetch is set aside."""
    out = _FeedLoad(raw.feed_fingerprint(feed, completes))
    if force or not raw.unchanged(con, feed, out.fingerprint):
        rows = raw.read_feed(source, feed, zone, completes)
        out.written = raw.write_feed(con, rows, out.fingerprint,
                                     check=lambda c, table: check_unique_keys(c, rows.table_ids, table))
        out.fetches, out.skipped = rows.fetches, rows.skipped_columns
    checked = state.recorded(con, state.RAW_CHECKED)
    out.to_check = [t for t in feed.table_ids if checked.get(t) != out.fingerprint]
    out.validation = _validate_raw(con, raw_tables, out.to_check)
    check_failure_cases(zone, completes, out.validation.failure_cases,
                        lambda cases: ValidationResult("raw", out.validation.rows, cases).summary(limit=3))
    if out.validation.passed:  # rows unchanged since they passed are not checked again
        state.record(con, state.RAW_CHECKED, dict.fromkeys(out.to_check, out.fingerprint))
    return out


def _table_ids(feeds: list[Feed]) -> tuple[str, ...]:
    return tuple(t for f in feeds for t in f.table_ids)


def _validate_raw(con, raw_tables: list[str], table_ids: list[str]) -> ValidationResult:
    results = [validate_table(con, schema_for(table), table, where={"table_id": t})
               for table in raw_tables for t in table_ids]
    return ValidationResult("raw", sum(r.rows for r in results),
                            [dict(c, schema=r.schema) for r in results for c in r.failure_cases])


def _raw_check_result(validation: ValidationResult, load: _RawLoad) -> dg.AssetCheckResult:
    result = check_result(validation, tables_checked=len(load.to_check),
                          tables_unchanged_since_passed=len(set(load.fingerprints) - set(load.to_check)))
    return dg.AssetCheckResult(check_name=RAW_CHECK, passed=result.passed, metadata=result.metadata,
                               description=result.description)


def _fetches_check_result(rows: list[dict[str, str | None]]) -> dg.AssetCheckResult:
    """Non-blocking: warns while a failed fetch is kept (the build goes on with the previous good fetch)."""
    meta: dict[str, object] = {"failed_fetches": len(rows)}
    if rows:  # `regiostat build` prints its summary line from these rows
        meta["set_aside"] = dg.MetadataValue.json(rows[:100])
    return dg.AssetCheckResult(check_name=FETCHES_CHECK, passed=not rows, severity=dg.AssetCheckSeverity.WARN,
                               metadata=meta, description=fetch_states.set_aside_line(rows) if rows else None)


def _title(group: FeedGroup) -> str:
    return group.source.title if group.partitions is not None else group.feeds[0].title


def _inbox_state(source: Source, settings: RegiostatSettings) -> dict[str, list[int]]:
    files = source.inbox_files(settings.landing_context())
    return {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in files}


def first_build_missing(settings: RegiostatSettings) -> str | None:
    """What a one-source refresh waits for: it rebuilds staging and every later layer from the raw rows of every
    source, so the other sources' raw rows (and the CBS RegioS list a LISA file is read with) must have been
    built once. Only a publish records a complete build; None once there was one."""
    if settings.published_inputs_path.exists() and Path(settings.build_db).exists():
        return None
    return (f"the first full build: no publish is recorded in {settings.published_inputs_path}. Run the job "
            f"full_refresh (or `uv run regiostat build`); the files waiting in the inbox land then")


def inbox_sensor(source: Source, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{source.name}_inbox", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Starts {job.name} when a file appears in, or changes in, the {source.title} inbox, "
                           "once a first full build has been published (before that the run would fail).")
    def _sensor(context: dg.SensorEvaluationContext, settings: RegiostatSettings):
        seen = json.loads(context.cursor) if context.cursor else {}
        now = _inbox_state(source, settings)
        changed = sorted(p for p, state in now.items() if seen.get(p) != state)
        if not changed:
            context.update_cursor(json.dumps(now))
            return dg.SkipReason(f"no new or changed files in {settings.landing_context().inbox(source.name)}")
        waiting = first_build_missing(settings)
        if waiting:  # the cursor stays: the files are asked for once the build is there
            return dg.SkipReason(f"{len(changed)} new or changed file(s) wait for {waiting}")
        context.update_cursor(json.dumps(now))
        key = hashlib.sha256(json.dumps({p: now[p] for p in changed}).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=key, tags={f"regiostat/{source.name}_files":
                                                ", ".join(Path(p).name for p in changed)[:200]})

    return _sensor


def catalog_sensor(group: FeedGroup, job) -> dg.SensorDefinition:
    """For a partitioned source with a catalog: each tick reads the catalog once, shows every changed table's state
    as an observation of its partition, and asks a run of ``job`` for each table whose catalog date differs from
    its newest complete fetch. Off until turned on: it reaches the source over the network."""
    source = group.source

    @dg.sensor(name=f"{source.name}_catalog", job=job, minimum_interval_seconds=3600,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Reads the {source.title} catalog, records when each configured table last changed, "
                           f"and starts {job.name} for the tables changed since their last complete fetch.")
    def _sensor(context: dg.SensorEvaluationContext, settings: RegiostatSettings):
        states = source.catalog_states(list(group.feeds), settings.landing_context())
        seen = json.loads(context.cursor) if context.cursor else {}
        now = {key: str(s.get("cbs_modified")) for key, s in states.items()}
        context.update_cursor(json.dumps(now))
        events = [dg.AssetObservation(asset_key=group.landing_key, partition=key, metadata=_observed(s))
                  for key, s in states.items() if seen.get(key) != now[key]]
        runs = [dg.RunRequest(partition_key=key, run_key=f"{key}:{now[key]}")
                for key, s in sorted(states.items()) if s.get("changed")]
        return dg.SensorResult(run_requests=runs, asset_events=events)

    return _sensor


def _needs(group: FeedGroup, groups: list[FeedGroup]) -> list[dg.AssetKey]:
    """The landing steps whose feeds this group's feeds need first (where they exist in this config)."""
    owner = {f.name: g.landing_key for g in groups for f in g.feeds}
    return sorted({owner[n] for f in group.feeds for n in f.needs if n in owner and owner[n] != group.landing_key},
                  key=lambda k: k.to_user_string())


def definitions(paths: ProjectPaths) -> dg.Definitions:
    """Landing and raw steps of every feed group; a refresh job per partitioned source (one table or all); an
    inbox sensor and its refresh job per source fed by hand."""
    groups = feed_groups(paths)
    raw_tables = declared_tables(paths.schema_sql, "raw")
    with warnings.catch_warnings():  # backfill_policy is "beta" in dagster 1.13; single-run ranges are what we use
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = [a for g in groups for a in (_landing_asset(g, _needs(g, groups)), _raw_asset(g, raw_tables))]
    jobs, sensors = [], []
    for group in groups:
        if group.partitions is not None:
            job = dg.define_asset_job(
                f"{group.source.name}_refresh", selection=_through_publish(group.landing_key),
                partitions_def=group.partitions,
                description=f"Refresh one {group.source.title} table (a partition) or all of them (a range), rebuild "
                            "what depends on them, check, then publish.")
            jobs.append(job)
            if hasattr(group.source, "catalog_states"):
                sensors.append(catalog_sensor(group, job))
    for source in registry.sources():
        if not source.watches_inbox:
            continue
        keys = [g.landing_key for g in groups if g.source is source]
        job = dg.define_asset_job(
            f"{source.name}_refresh", selection=_through_publish(*keys),
            description=f"Land new or changed {source.title}, rebuild what depends on them, check, then publish.")
        jobs.append(job)
        sensors.append(inbox_sensor(source, job))
    return dg.Definitions(assets=assets, jobs=jobs, sensors=sensors)


def _through_publish(*keys: dg.AssetKey) -> dg.AssetSelection:
    """``keys`` and what depends on them, the publish included, but not what reads the published file."""
    return dg.AssetSelection.assets(*keys).downstream() - after_publish()


def after_publish() -> dg.AssetSelection:
    """What reads the published file (the profile site): not part of a refresh."""
    return dg.AssetSelection.assets(PUBLISHED).downstream(include_self=False)


def raw_keys(paths: ProjectPaths) -> list[dg.AssetKey]:
    return [g.raw_key for g in feed_groups(paths)]


def partition_range_tags(paths: ProjectPaths) -> dict[str, str]:
    """Run tags that make one run cover every partition of every partitioned source (what `regiostat build` runs)."""
    tags: dict[str, str] = {}
    for group in feed_groups(paths):
        tags.update(group.partition_range_tags())
    return tags
