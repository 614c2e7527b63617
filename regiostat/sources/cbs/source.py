"""CBS as a source: one feed per table in config/tables.toml, landed from the shipped copies or fetched
live, read by the format readers of :mod:`regiostat.sources.cbs.readers`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import Capture
from regiostat.paths import ProjectPaths
from regiostat.sources.cbs import claims, freshness
from regiostat.sources.cbs.catalog import TableSpec, load_catalog
from regiostat.sources.cbs.promised import promised_rows
from regiostat.sources.cbs.readers import stream_capture
from regiostat.sources.fetch_checks import FetchError, check_rows_promised
from regiostat.sources.protocol import ClaimBasis, Feed, LandingContext, LandingReport, copy_bundled

LICENCE = "CC BY 4.0 (Bron: CBS)"
ATTRIBUTION = "Bron: CBS"


class CbsSource:
    name = "cbs"
    title = "CBS StatLine tables"
    claim_kind = "cbs_table"
    claim_kind_nl = "CBS-tabel"
    authority = 3  # CBS over LISA over derived figures over documents
    watches_inbox = False
    partitioned = True  # each table is a partition of landing/cbs and raw/cbs

    def feeds(self, paths: ProjectPaths) -> list[Feed]:
        return [Feed(name=f"cbs_{spec.asset_suffix}", table_ids=(spec.id,), title=spec.title, licence=LICENCE,
                     file_kinds=("json",), details={"cbs_table": spec.id, "api": spec.api}, config=spec)
                for spec in load_catalog(paths.tables_toml) if spec.enabled]

    def land(self, feed: Feed, ctx: LandingContext) -> LandingReport:
        """Bundled: copy the shipped fetches not landed yet. Live: ask CBS whether the table changed since its last
        complete fetch (one request) and fetch it only if it did."""
        spec: TableSpec = feed.config
        zone = ctx.zone
        if ctx.mode == "live" and spec.bundled_only:
            ctx.log(f"{spec.id}: not fetched live, the shipped capture is landed instead: {spec.bundled_only}")
        if ctx.mode == "bundled" or spec.bundled_only:
            if not LandingZone(ctx.paths.bundled_landing_dir).complete_fetches(spec.id):
                ctx.log(f"{spec.id}: no bundled capture; this table is filled in live mode only "
                        "(REGIOSTAT_MODE=live)")
            landed = copy_bundled(zone, LandingZone(ctx.paths.bundled_landing_dir), (spec.id,))
            last = freshness.last_complete(zone, spec.id)
            state = {"cbs_modified": last.table_modified if last else None,
                     "cbs_version": last.table_version if last else None, "changed": landed > 0,
                     "last_complete_fetch": last.fetch_id if last else None}
        else:
            landed, state = _fetch_live(spec, ctx)
        complete = zone.complete_fetches(spec.id)
        return {"mode": ctx.mode, "files_or_pages_landed_now": landed, "complete_fetches": len(complete),
                "landing_dir": str(zone.root), "latest_fetch": complete[-1] if complete else "", "state": state}

    def catalog_states(self, feeds: list[Feed], ctx: LandingContext) -> dict[str, dict[str, object]]:
        """Per table (partition key): what CBS's catalog says now against the newest complete fetch (for the catalog
        sensor: a hint which tables to refresh; the landing step decides)."""
        specs = [f.config for f in feeds]
        listed = freshness.catalog_modified(_client(ctx), {s.api for s in specs})
        landed = freshness.latest_completes(ctx.zone)
        return {s.id: freshness.catalog_state(s, listed, landed) for s in specs}

    def read(self, zone: LandingZone, feed: Feed, fetches: list[LandingEntry]) -> list[Capture]:
        """Each fetch's metadata now, its data pages one batch at a time when they are written. A fetch that breaks
        its format, or holds no rows where its metadata promises some, raises FetchError naming it (the raw step
        sets it aside and goes on with the table's previous good fetch)."""
        spec: TableSpec = feed.config
        out = []
        for done in fetches:
            files = zone.pages_of(done.fetch_id)
            check_rows_promised(spec.id, done.fetch_id, done.rows, promised_rows(zone, files))
            try:
                capture = stream_capture(zone, files, spec)
            except ValueError as exc:
                raise FetchError(spec.id, done.fetch_id, str(exc)) from exc
            capture.observations = _attributed(capture.observation_batches(), spec.id, done.fetch_id)
            out.append(capture)
        return out

    def claim_basis(self, staged: pl.DataFrame) -> Callable[[dict], ClaimBasis]:
        return claims.claim_basis(staged)

    def claim_columns(self, staged: pl.DataFrame) -> dict[str, pl.Expr]:
        return claims.claim_columns(staged)

    claim_evidence = claims.EVIDENCE_SQL  # the rows four_digit_fetches reads

    def inbox_files(self, ctx: LandingContext) -> list[Path]:
        return []


def _attributed(batches: Iterator[pl.DataFrame], table_id: str, fetch_id: str) -> Iterator[pl.DataFrame]:
    """The batches with CBS's attribution line on every row; a bad page is an error of its fetch."""
    try:
        for batch in batches:
            yield batch.with_columns(pl.lit(ATTRIBUTION).alias("attribution"))
    except ValueError as exc:
        raise FetchError(table_id, fetch_id, str(exc)) from exc


def _client(ctx: LandingContext):
    """A client bounded as the settings say (a total deadline, body, rows and pages: HttpLimits)."""
    from regiostat.sources.cbs.client import CbsClient, CbsEndpoints, HttpLimits

    http = ctx.http
    urls = http.endpoints
    catalogs = {k: urls[f"cbs_{k}"] for k in ("v4_catalog", "v3_catalog") if f"cbs_{k}" in urls}
    endpoints = CbsEndpoints(v4=urls["cbs_v4"], v3_api=urls["cbs_v3_api"], v3_feed=urls["cbs_v3_feed"], **catalogs)
    limits = HttpLimits(deadline_seconds=http.deadline_seconds, max_body_bytes=http.max_body_bytes,
                        max_rows_per_page=http.max_rows_per_page, max_pages=http.max_pages)
    return CbsClient(endpoints, timeout=(10.0, http.timeout_seconds), max_retries=http.max_retries, limits=limits)


def _fetch_live(spec: TableSpec, ctx: LandingContext) -> tuple[int, dict[str, object]]:
    """(pages requested, the table's state): nothing but one small request when CBS says it did not change."""
    from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table

    client = _client(ctx)
    say = ctx.progress or (lambda message: None)
    state = freshness.table_state(client, ctx.zone, spec)
    if state.unchanged:
        say(f"{spec.id}: unchanged at CBS since fetch {state.landed.fetch_id}, nothing fetched")
        return 0, state.report()
    fetch = fetch_v4_table if spec.api == "v4" else fetch_v3_table
    result = fetch(client, ctx.zone, spec.id, filter=spec.live_filter,
                   on_page=lambda page, rows: say(f"{spec.id}: data page {page} landed ({rows:,} rows so far)"))
    say(f"{spec.id}: fetched, {result.pages} data page(s), {result.rows:,} rows")
    return result.requested_pages, {**state.report(), "changed": True, "fetch_id": result.fetch_id}
