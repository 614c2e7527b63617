"""Warehouse observations become claims automatically: every vintage, with the precision it was published at.

Every source-backed indicator value in staging (all vintages) is a claim. How precisely a figure is
claimed, and under which label, is its source's to say (:meth:`regiostat.sources.protocol.Source.claim_basis`):
e.g. half a unit of the last published digit, multiplied out. Every vintage becomes its own claim,
so the engine sees revisions and decides for the latest definitief figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.indicators.values import source_rows
from regiostat.reconcile.model import Claim, Quantity
from regiostat.sources import registry
from regiostat.sources.protocol import ClaimBasis

CLAIM_COLUMNS = ("claim_id", "indicator", "region", "period", "value", "low", "high", "precision", "source_kind",
                 "source", "location", "quote", "vintage", "status", "notes")


def observation_claims(indicators: dict[str, Indicator], staged: pl.DataFrame) -> tuple[list[Claim], set[str]]:
    """Claims for every source-backed indicator value (all vintages), and the ids of the claims that
    are the latest vintage of their figure (what the marts show).

    staged: staging.observations joined with dim_period (year, period_type), rows of every source. A source
    that sums matching rows (``sum_matching``) claims the sum per fetch, its interval the sum of theirs.
    """
    kinds = set(staged["source_kind"].unique())
    sources = {s.name: s for s in registry.sources() if s.name in kinds}
    bases = {name: s.claim_basis(staged.filter(pl.col("source_kind") == name)) for name, s in sources.items()}
    claims: list[Claim] = []
    latest: set[str] = set()
    for ind in indicators.values():
        for source in ind.sources:
            if source.sum_over:  # a sum over many codes: claimed through its parts, not as one figure
                continue
            rows = source_rows(source, staged).filter(pl.col("value").is_not_null())
            for figure in _figures(rows, summed=source.sum_matching):
                plugin = sources[figure[0]["source_kind"]]
                claim = _claim(ind.code, figure, plugin.name, plugin.claim_kind, bases[plugin.name])
                if all(r["is_latest"] for r in figure):
                    latest.add(claim.claim_id)
                claims.append(claim)
    return claims, latest


def _figures(rows: pl.DataFrame, *, summed: bool) -> list[list[dict]]:
    """The rows that make one claimed figure each: every row, or the rows one fetch gives for a region-year."""
    if not summed:
        return [[r] for r in rows.iter_rows(named=True)]
    figures: dict[tuple, list[dict]] = {}
    for r in rows.iter_rows(named=True):
        figures.setdefault((r["region_code"], r["year"], r["fetch_id"]), []).append(r)
    return list(figures.values())


def _claim(indicator: str, rows: list[dict], prefix: str, kind: str,
           basis_of: Callable[[dict], ClaimBasis]) -> Claim:
    bases = [basis_of(r) for r in rows]
    first, basis = rows[0], bases[0]
    value, half = sum(r["value"] for r in rows), sum(b.half_width for b in bases)
    if len(rows) > 1:
        precisions = "; ".join(sorted({b.precision for b in bases}))
        basis = replace(basis, precision=f"sum of {len(rows)} figures: {precisions}",
                        location=", ".join(b.location for b in bases if b.location) or None)
    return Claim(
        claim_id=f"{prefix}:{indicator}:{first['region_code']}:{first['year']}:{first['fetch_id']}",
        quantity=Quantity(indicator, first["region_code"], str(first["year"])),
        value=value, low=value - half, high=value + half, precision=basis.precision, source_kind=kind,
        source=basis.source, location=basis.location, vintage=basis.vintage, status=basis.status, notes=basis.notes)


def claims_frame(claims: list[Claim]) -> pl.DataFrame:
    return pl.DataFrame([dict(claim_id=c.claim_id, indicator=c.quantity.indicator, region=c.quantity.region,
                              period=c.quantity.period, value=c.value, low=c.low, high=c.high, precision=c.precision,
                              source_kind=c.source_kind, source=c.source, location=c.location, quote=c.quote,
                              vintage=c.vintage, status=c.status, notes=c.notes) for c in claims],
                        schema={k: (pl.Float64 if k in {"value", "low", "high"} else pl.String) for k in CLAIM_COLUMNS})
