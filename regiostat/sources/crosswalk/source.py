"""Municipality-COROP lists as a source: region memberships, no figures.

CBS's "Gebieden in Nederland" lists are not served by the OData APIs, so both modes land the copies
shipped with regiostat (a processed copy of the 2024 list; provenance in data/bundled/PROVENANCE.md).
A list is read into raw.region_memberships with its year as the snapshot year.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import CODE_COLUMNS, MEASURE_COLUMNS, OBSERVATION_COLUMNS, Capture
from regiostat.paths import ProjectPaths
from regiostat.regions.hierarchy import memberships_from_gemeente_corop
from regiostat.sources.protocol import ClaimBasis, Feed, LandingContext, LandingReport, SourceError, copy_bundled

LANDING_SOURCE = "region_crosswalk"  # the manifest's source of a landed list
LICENCE = "CC BY 4.0 (Bron: CBS), processed copy under MIT"


class CrosswalkSource:
    name = "region_crosswalk"
    title = "Municipality-COROP lists"
    claim_kind = "crosswalk_list"  # gives no figures, so it is never claimed
    claim_kind_nl = "gebiedsindeling"
    authority = 0
    watches_inbox = False

    def feeds(self, paths: ProjectPaths) -> list[Feed]:
        shipped = LandingZone(paths.bundled_landing_dir).entries()
        table_ids = tuple(sorted({e.table_id for e in shipped if e.source == LANDING_SOURCE}))
        return [Feed(name="region_crosswalks", table_ids=table_ids, licence=LICENCE,
                     title="Municipality-COROP lists (CBS Gebieden in Nederland, processed copy)")]

    def land(self, feed: Feed, ctx: LandingContext) -> LandingReport:
        bundled = LandingZone(ctx.paths.bundled_landing_dir)
        fetches = [f for t in feed.table_ids for f in bundled.complete_fetches(t)]
        return {"fetches": len(fetches), "files_landed_now": copy_bundled(ctx.zone, bundled, feed.table_ids)}

    def read(self, zone: LandingZone, feed: Feed, fetches: list[LandingEntry]) -> list[Capture]:
        return [_capture(zone, entry) for done in fetches for entry in zone.pages_of(done.fetch_id)]

    def claim_basis(self, staged: pl.DataFrame) -> Callable[[dict], ClaimBasis]:
        def basis(r: dict) -> ClaimBasis:
            raise SourceError(f"{self.title} give no figures to claim")
        return basis

    def inbox_files(self, ctx: LandingContext) -> list[Path]:
        return []


def _capture(zone: LandingZone, entry: LandingEntry) -> Capture:
    year = int((entry.vintage or entry.fetched_at)[:4])
    memberships = memberships_from_gemeente_corop(zone.read_bytes(entry), snapshot_year=year, source=entry.path)
    return Capture(entry.table_id, entry.fetch_id, entry.source, pl.DataFrame(schema=OBSERVATION_COLUMNS),
                   pl.DataFrame(schema=MEASURE_COLUMNS), pl.DataFrame(schema=CODE_COLUMNS), [], memberships)
