"""What policy documents claim about a region: the quote, its verdict, the closest real figure (once the
warehouse records it) and the reconciliation's decision sentence."""

from __future__ import annotations

import math
from dataclasses import dataclass

from regiostat.report import labels
from regiostat.report.context import SiteContext

# columns reconcile.verdicts may grow that the page shows as "the closest real figure"
CLOSEST_PREFIXES = ("closest", "difference")


@dataclass(frozen=True)
class Claim:
    claim_id: str
    indicator: str
    period: str
    stated: str
    verdict: str
    quote: str
    document: str
    location: str
    sentence: str | None
    decision: str | None
    closest: tuple[tuple[str, str], ...]


def closest_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if c.startswith(CLOSEST_PREFIXES)]


def _shown(value: object) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, float):
        return labels.format_plain(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or None
    return str(value)


def _stated(value: float | None, unit: str | None) -> str:
    shown = _shown(value) or "—"
    return f"{shown}%" if unit == "%" and value is not None else shown


def region_claims(ctx: SiteContext, code: str) -> list[Claim]:
    verdicts = ctx.verdicts.get(code)
    if verdicts is None:
        return []
    extra = closest_columns(verdicts.columns)
    claims = []
    for row in verdicts.iter_rows(named=True):
        closest = tuple((c, shown) for c in extra if (shown := _shown(row[c])) is not None)
        unit = ctx.units.get(row["indicator"].split(":")[-1])  # a change has its quantity's unit
        claims.append(Claim(
            claim_id=row["claim_id"], indicator=row["indicator"], period=row["period"],
            stated=_stated(row["stated"], unit), verdict=row["verdict"], quote=row["quote"] or "",
            document=row["document"] or "", location=row["location"] or "", sentence=row["sentence"],
            decision=ctx.decision(row["indicator"], code, row["period"]), closest=closest))
    return claims
