"""Why claims disagree: a cause code for two claims on one quantity, and for a conflict as a whole.

For two claims on one quantity whose values differ (checked in this order):
  boundary        both name a region boundary / indeling (notes "Boundary: ...") and they differ
  reference_date  both name a reference date (notes "Reference date: ...", as claims files write it)
                  and the dates differ
  revision        same source, different vintage or status (CBS revised a provisional figure)
  rounding        the intervals overlap: only rounding separates the stated values
  transcription   same source and version, no overlap: the source states two values for one quantity
  definition      different sources, no overlap and nothing above explains it: taken as a definition
                  difference (e.g. a document quoting a figure with another definition)
A conflict (minimal infeasible set) gets the causes of its non-overlapping same-quantity pairs; a
conflict that only runs through rules (one claim per quantity) gets boundary / reference_date if those
differ, else arithmetic when all its claims come from one source and version (the source's own
figures do not add up: its shares, totals and changes cannot all be right), revision when one source
in several versions, else definition. Transcription is kept for one quantity stated twice.
A conflict of one claim alone (a negative figure where the quantity cannot be negative, e.g. a
share) is a definition difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from regiostat.reconcile.intervals import tol
from regiostat.reconcile.model import Claim

CAUSES = ("rounding", "definition", "reference_date", "revision", "boundary", "transcription", "arithmetic")
_REFDATE = re.compile(r"(?:reference[ _]date|peildatum)\s*[:=]\s*([^.;]+(?:\.\d[^.;]*)?)", re.I)
_BOUNDARY = re.compile(r"(?:boundary|gebiedsindeling)\s*[:=]\s*([^.;]+)", re.I)


def ordered(causes: Iterable[str]) -> tuple[str, ...]:
    """The causes in the fixed order of CAUSES (how they are stored and shown)."""
    found = set(causes)
    return tuple(c for c in CAUSES if c in found)


def _tag(c: Claim, pattern: re.Pattern[str]) -> str | None:
    m = pattern.search(c.notes or "")
    return m.group(1).strip().lower() if m else None


def _differ(claims: Iterable[Claim], pattern: re.Pattern[str]) -> bool:
    return len({t for c in claims if (t := _tag(c, pattern))}) > 1


def overlap(a: Claim, b: Claim) -> bool:
    """The two claims' intervals meet (within the tolerance)."""
    return a.low <= b.high + tol(a.low, b.high) and b.low <= a.high + tol(b.low, a.high)


def pair_cause(a: Claim, b: Claim) -> str:
    """Why two claims on the same quantity state different values (see the module docstring)."""
    if _differ((a, b), _BOUNDARY):
        return "boundary"
    if _differ((a, b), _REFDATE):
        return "reference_date"
    if a.source == b.source and (a.vintage, a.status) != (b.vintage, b.status):
        return "revision"
    if overlap(a, b):
        return "rounding"
    return "transcription" if a.source == b.source else "definition"


def conflict_causes(claims: Sequence[Claim]) -> tuple[str, ...]:
    """The causes of one conflict (see the module docstring)."""
    causes = {pair_cause(a, b) for i, a in enumerate(claims) for b in claims[i + 1:]
              if a.quantity == b.quantity and not overlap(a, b)}
    if not causes:
        if _differ(claims, _BOUNDARY):
            causes.add("boundary")
        elif _differ(claims, _REFDATE):
            causes.add("reference_date")
        elif len(claims) > 1 and len({c.source for c in claims}) == 1:
            causes.add("revision" if len({(c.vintage, c.status) for c in claims}) > 1 else "arithmetic")
        else:
            causes.add("definition")
    return ordered(causes)
