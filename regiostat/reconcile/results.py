"""What a reconciliation returns: conflicts, rejections, decisions, verdicts (plain frozen records)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from regiostat.reconcile.intervals import Interval
from regiostat.reconcile.model import Claim, Quantity


@dataclass(frozen=True)
class Conflict:
    """A minimal set of claims that cannot all be true. `implied[c]` is the interval the other claims
    of the set allow for c's quantity, `gaps[c]` how far c's own interval lies from it (in the unit
    of c's indicator); `quantity`/`gap` is the headline: where most claims meet, else the claim dropped."""

    claim_ids: tuple[str, ...]
    rule_ids: tuple[str, ...]
    quantity: Quantity
    gap: float
    causes: tuple[str, ...]
    implied: Mapping[str, Interval] = field(default_factory=dict, compare=False)
    gaps: Mapping[str, float] = field(default_factory=dict, compare=False)
    figures: int = 0  # distinct figures in the set (restatements of one figure count once); 0 = len(claim_ids)


@dataclass(frozen=True)
class Rejection:
    claim: Claim
    reason: str  # Dutch, names the figures that exclude the claim
    conflicts: tuple[Conflict, ...]  # the conflicts that force the rejection (their other claims are kept)


@dataclass(frozen=True)
class Decision:
    """The figure held for one quantity. `value` is the chosen claim's own stated figure, never a value
    computed from the interval: its own interval (the chosen claim's low/high) meets `interval`, what
    all kept claims together allow. `edge_only`: they meet only at the edge of the figure's rounding (the
    overlap is narrower than half the figure's interval, or misses the stated figure itself)."""

    quantity: Quantity
    value: float | None  # the stated figure of `chosen`; None when every claim on the quantity was rejected
    interval: Interval  # what all kept claims together allow
    chosen: Claim | None
    kept: tuple[Claim, ...]
    rejected: tuple[Rejection, ...]
    causes: tuple[str, ...]
    sentence: str
    warnings: tuple[str, ...] = ()
    edge_only: bool = False


VERDICTS = ("supported", "contradicted", "proxy", "definition", "unverifiable")


@dataclass(frozen=True)
class Verdict:
    """supported / contradicted: data of the claim's own definition, region and year bound it (or the
    engine rejected it); proxy: only a nearby figure (another definition, area or year) is consistent
    with it; definition: the nearest figure, for the same area and year, differs by definition;
    unverifiable: nothing to check it against (`missing`), the closest figure beside it if any."""

    claim: Claim
    verdict: str  # one of VERDICTS
    interval: Interval  # what the evidence allows for the claim's quantity
    by_claims: tuple[str, ...] = ()  # supporting data, or the claims that contradict it
    by_rules: tuple[str, ...] = ()
    gap: float = 0.0
    missing: tuple[Quantity, ...] = ()
    warnings: tuple[str, ...] = ()
    sentence: str = ""
    closest: tuple[Any, ...] = ()  # regiostat.reconcile.closest.Closest, best first


@dataclass(frozen=True)
class Reconciliation:
    intervals: dict[Quantity, Interval]
    conflicts: list[Conflict]
    decisions: list[Decision]
    complete: bool  # every minimal conflict was listed (False after the mixed-integer program or a greedy fallback)
    optimal: bool = True  # the claims dropped are a best correction everywhere (False only after a greedy fallback)
