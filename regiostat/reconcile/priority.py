"""Who is believed: the priority of a claim, and which set of claims to drop when they cannot all hold.

Each claim has a priority: (SOURCE_AUTHORITY, STATUS_RANK, vintage, precision), where precision =
- width / |value| (a narrower relative interval is more precise). The claims to drop are the minimal
correction set that is best by, in turn: (1) the tiers (authority, status, vintage) of the dropped
claims, sorted from high to low and compared lexicographically: never drop a claim of a higher tier
when dropping only lower-tier claims (however many) restores consistency; among equal tiers, fewer is
better; (2) the precisions of the dropped claims, most precise first, compared the same way: drop the
least precise figures; (3) claim ids, for a reproducible answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from regiostat.reconcile.model import SOURCE_AUTHORITY, STATUS_RANK, Claim

Tier = tuple[int, int, str]


def tier(c: Claim) -> Tier:
    """(source authority, status rank, vintage): what outranks what, before precision."""
    return SOURCE_AUTHORITY.get(c.source_kind, 0), STATUS_RANK.get(c.status, 0), c.vintage or ""


def relative_precision(c: Claim) -> float:
    """- width / |value| (- width for a zero value): higher is more precise."""
    width = c.high - c.low
    return -(width / abs(c.value)) if c.value else -width


def priority(c: Claim) -> tuple[int, int, str, float]:
    """Higher is more trusted: authority, then definitief over voorlopig, then latest vintage, then precision."""
    return (*tier(c), relative_precision(c))


def drop_key(claims: Iterable[Claim]) -> tuple:
    """Sort key of a candidate set of claims to drop: the smallest key is the set to drop."""
    cs = list(claims)
    return (sorted(map(tier, cs), reverse=True), sorted(map(relative_precision, cs), reverse=True),
            sorted(c.claim_id for c in cs))
