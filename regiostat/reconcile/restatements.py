"""Restatements: one figure written down more than once, handled as one figure.

A document that repeats "18.400 arbeidsplaatsen" in a later paragraph states one figure, not two. If
every repeat were its own claim, each combination of repeats would be another minimal conflict (the
Dutch TechZone plan's 5 distinct conflicts became 23) and a decision would list the same figure twice.
So claims on one quantity from one source, same version, same value and same interval are grouped: the
search sees the first of them (by claim id) and every answer about it holds for all of them; the
conflicts name every claim of the group, so each place the figure is written is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from regiostat.reconcile.model import Claim


def _key(c: Claim) -> tuple:
    return (c.quantity, c.source_kind, c.source, c.vintage, c.status, c.value, c.low, c.high)


@dataclass(frozen=True)
class Restatements:
    """The claims grouped by figure: `first[claim_id]` is the claim the search sees for it, `group[id of a
    first claim]` every claim of that figure, in claim-id order."""

    first: Mapping[str, str]
    group: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, claims: Sequence[Claim]) -> Restatements:
        by_key: dict[tuple, list[str]] = {}
        for c in sorted(claims, key=lambda c: c.claim_id):
            by_key.setdefault(_key(c), []).append(c.claim_id)
        group = {ids[0]: tuple(ids) for ids in by_key.values()}
        first = {cid: ids[0] for ids in by_key.values() for cid in ids}
        return cls(first, group)

    def representatives(self, claims: Sequence[Claim]) -> list[Claim]:
        """One claim per figure (the claims the search needs to see)."""
        return [c for c in claims if self.first[c.claim_id] == c.claim_id]

    def expand(self, ids: Sequence[str]) -> tuple[str, ...]:
        """Every claim of the figures `ids` name (ids of first claims), sorted."""
        return tuple(sorted(x for i in ids for x in self.group.get(i, (i,))))
