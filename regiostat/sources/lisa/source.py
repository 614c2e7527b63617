"""LISA as a source: exports dropped in the inbox (and, in bundled mode, the real files shipped with
regiostat) are checked and landed; a broken file is quarantined while the others land.

How LISA figures are claimed: LISA publishes counts rounded to tens (all of the bundled 2017 file
ends in 0), so a count that ends in 0 claims +-5 and any other is exact. LISA is believed after
CBS and before documents.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import Capture
from regiostat.paths import ProjectPaths
from regiostat.sources.lisa import capture, inbox
from regiostat.sources.lisa.landing import TABLE_ID
from regiostat.sources.protocol import ClaimBasis, Feed, LandingContext, LandingReport

LICENCE = "Bron: LISA <jaar> (publication names LISA and the year; see data/bundled/PROVENANCE.md)"


class LisaSource:
    name = "lisa"
    title = "LISA exports"
    claim_kind = "lisa_file"
    claim_kind_nl = "LISA-bestand"
    authority = 2  # CBS over LISA over derived figures over documents
    watches_inbox = True

    def feeds(self, paths: ProjectPaths) -> list[Feed]:
        # LISA files name municipalities: the CBS table whose RegioS code list resolves them lands first
        return [Feed(name="lisa_exports", table_ids=(TABLE_ID,), title="LISA employment-register exports",
                     licence=LICENCE, needs=("cbs_03759ned",), file_kinds=("csv",))]

    def land(self, feed: Feed, ctx: LandingContext) -> LandingReport:
        return inbox.land_inbox(self.inbox_files(ctx), ctx.zone, ctx.quarantine_dir, ctx.log)

    def read(self, zone: LandingZone, feed: Feed, fetches: list[LandingEntry]) -> list[Capture]:
        return capture.read_fetches(zone, fetches)

    def claim_basis(self, staged: pl.DataFrame) -> Callable[[dict], ClaimBasis]:
        return _claim_basis

    def claim_columns(self, staged: pl.DataFrame) -> dict[str, pl.Expr]:
        """_claim_basis as polars expressions, for the reconciliation of many rows at once."""
        rounded = pl.col("value") % 10 == 0
        return {"half_width": pl.when(rounded).then(5.0).otherwise(0.0),
                "precision": pl.when(rounded).then(pl.lit("rounded to 10")).otherwise(pl.lit("exact count")),
                "source": "LISA " + pl.col("origin").cast(pl.String).fill_null("None"),
                "location": "row " + pl.col("source_row").cast(pl.String).fill_null("None"),
                "vintage": pl.col("year").cast(pl.String), "status": pl.lit(None, pl.String),
                "notes": pl.col("attribution")}

    def inbox_files(self, ctx: LandingContext) -> list[Path]:
        folders = [ctx.inbox(self.name)] + ([ctx.paths.bundled_lisa_dir] if ctx.mode == "bundled" else [])
        return inbox.inbox_files([f for f in folders if f is not None])


def _claim_basis(r: dict) -> ClaimBasis:
    rounded = r["value"] % 10 == 0
    return ClaimBasis(half_width=5.0 if rounded else 0.0, precision="rounded to 10" if rounded else "exact count",
                      source=f"LISA {r['origin']}", location=f"row {r['source_row']}", vintage=str(r["year"]),
                      notes=r["attribution"])
