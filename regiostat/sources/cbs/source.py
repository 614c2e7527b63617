"""CBS as a source: one feed per table in config/tables.toml, landed from the shipped copies or fetched
live, read by the format readers of :mod:`regiostat.sources.cbs.readers`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import Capture
from regiostat.paths import ProjectPaths
from regiostat.sources.cbs import claims
from regiostat.sources.cbs.catalog import TableSpec, load_catalog
from regiostat.sources.cbs.readers import CaptureError, read_capture
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

    def feeds(self, paths: ProjectPaths) -> list[Feed]:
        return [Feed(name=f"cbs_{spec.asset_suffix}", table_ids=(spec.id,), title=spec.title, licence=LICENCE,
                     file_kinds=("json",), details={"cbs_table": spec.id, "api": spec.api}, config=spec)
                for spec in load_catalog(paths.tables_toml) if spec.enabled]

    def land(self, feed: Feed, ctx: LandingContext) -> LandingReport:
        spec: TableSpec = feed.config
        zone = ctx.zone
        if ctx.mode == "live" and spec.bundled_only:
            ctx.log(f"{spec.id}: not fetched live, the shipped capture is landed instead: {spec.bundled_only}")
        if ctx.mode == "bundled" or spec.bundled_only:
            if not LandingZone(ctx.paths.bundled_landing_dir).complete_fetches(spec.id):
                ctx.log(f"{spec.id}: no bundled capture; this table is filled in live mode only "
                        "(REGIOSTAT_MODE=live)")
            landed = copy_bundled(zone, LandingZone(ctx.paths.bundled_landing_dir), (spec.id,))
        else:
            landed = _fetch_live(spec, ctx)
        complete = zone.complete_fetches(spec.id)
        files = [e for e in zone.entries() if e.table_id == spec.id and e.entity != "_complete"]
        return {"mode": ctx.mode, "files_or_pages_landed_now": landed, "complete_fetches": len(complete),
                "files": len(files), "landing_dir": str(zone.root), "latest_fetch": complete[-1] if complete else ""}

    def read(self, zone: LandingZone, feed: Feed, fetches: list[LandingEntry]) -> list[Capture]:
        spec: TableSpec = feed.config
        out = []
        for done in fetches:
            try:
                capture = read_capture(zone, zone.pages_of(done.fetch_id), spec)
            except ValueError as exc:
                raise CaptureError(f"{spec.id} fetch {done.fetch_id}: {exc}") from exc
            capture.observations = capture.observations.with_columns(pl.lit(ATTRIBUTION).alias("attribution"))
            out.append(capture)
        return out

    def claim_basis(self, staged: pl.DataFrame) -> Callable[[dict], ClaimBasis]:
        return claims.claim_basis(staged)

    def inbox_files(self, ctx: LandingContext) -> list[Path]:
        return []


def _fetch_live(spec: TableSpec, ctx: LandingContext) -> int:
    from regiostat.sources.cbs.client import CbsClient, CbsEndpoints, HttpLimits
    from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table

    http = ctx.http
    urls = http.endpoints
    limits = HttpLimits(deadline_seconds=http.deadline_seconds, max_body_bytes=http.max_body_bytes,
                        max_rows_per_page=http.max_rows_per_page, max_pages=http.max_pages)
    client = CbsClient(CbsEndpoints(v4=urls["cbs_v4"], v3_api=urls["cbs_v3_api"], v3_feed=urls["cbs_v3_feed"]),
                       timeout=(10.0, http.timeout_seconds), max_retries=http.max_retries, limits=limits)
    fetch = fetch_v4_table if spec.api == "v4" else fetch_v3_table
    result = fetch(client, ctx.zone, spec.id, filter=spec.live_filter)
    return result.requested_pages

