"""The claim model shared by the claims file, warehouse observations and the engine.

A claim says: this quantity (indicator, region, period) has this value, known to this
precision (an interval), according to this source. Disagreeing claims are normal; the
engine decides which hold and why.

Changes are quantities of their own: indicator "change:<indicator>", period "<t0>/<t>" (e.g.
"2016/2020"), so changes over different spans never collide; a "difference" rule relates one to
the two levels. change_quantity builds one, parse_change reads one back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# Claims that no registered source gives: figures computed from others, and statements in documents.
FIXED_AUTHORITY = {"derived": 1, "document": 0}
FIXED_KIND_NL = {"derived": "afgeleid cijfer", "document": "document"}


class _PerSourceKind(Mapping[str, object]):
    """A property of every claim kind: each registered source states its own (regiostat.sources.registry),
    derived figures and documents have fixed ones. Read from the registry on every lookup, so a source
    added to it counts at once."""

    def __init__(self, attribute: str, fixed: Mapping[str, object]):
        self.attribute, self.fixed = attribute, fixed

    def _table(self) -> dict[str, object]:
        from regiostat.sources import registry  # the sources import the model; read them when asked

        return {**{s.claim_kind: getattr(s, self.attribute) for s in registry.sources()}, **self.fixed}

    def __getitem__(self, kind: str) -> object:
        return self._table()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


# Who is believed when claims cannot all be true, higher first (documented in README).
SOURCE_AUTHORITY: Mapping[str, int] = _PerSourceKind("authority", FIXED_AUTHORITY)  # type: ignore[assignment]
# How the Dutch decision sentences name each kind of claim.
SOURCE_KIND_NL: Mapping[str, str] = _PerSourceKind("claim_kind_nl", FIXED_KIND_NL)  # type: ignore[assignment]
STATUS_RANK = {"definitief": 3, "nader voorlopig": 2, "voorlopig": 1, "onbekend": 0, None: 0}
CHANGE_PREFIX = "change:"
UNMAPPED_PREFIX = "unmapped:"  # a claims file's indicator when no catalogue indicator fits
_YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True, order=True)
class Quantity:
    """What a claim is about. `indicator` is a code from config/indicators.toml (it fixes the definition),
    `region` a CBS region code or a custom region id (config/regions.toml), `period` a year as text ("2020")."""

    indicator: str
    region: str
    period: str

    def __str__(self) -> str:
        return f"{self.indicator}[{self.region}, {self.period}]"


def is_year(period: str) -> bool:
    """A period that is one year as text ("2020")."""
    return _YEAR.fullmatch(period) is not None


def change_quantity(indicator: str, region: str, base: str, period: str) -> Quantity:
    """The quantity "value(period) - value(base)" of `indicator`, e.g. +3.500 jobs 2016 -> 2020."""
    return Quantity(f"{CHANGE_PREFIX}{indicator}", region, f"{base}/{period}")


def parse_change(q: Quantity) -> tuple[str, str, str] | None:
    """(indicator, base year, end year) for a change quantity with two known years, else None."""
    if not q.indicator.startswith(CHANGE_PREFIX):
        return None
    base, _, end = q.period.partition("/")
    if not (is_year(base) and is_year(end)):
        return None
    return q.indicator.removeprefix(CHANGE_PREFIX), base, end


@dataclass(frozen=True)
class Claim:
    claim_id: str
    quantity: Quantity
    value: float  # the figure as stated, in the indicator's unit (multiplied out: 18100, 15.6 for %)
    low: float  # the interval the statement allows given its precision; low <= value <= high
    high: float
    precision: str  # how the interval was derived, e.g. "rounded to 100", "x 1 000, 1 decimal", "ruim"
    source_kind: str  # a registered source's claim kind, "derived" or "document" (the keys of SOURCE_AUTHORITY)
    source: str  # e.g. a CBS table id, an export's file name, or a document path
    location: str | None = None  # document section / paragraph / line
    quote: str | None = None  # the exact words, for documents
    vintage: str | None = None  # when published or fetched (ISO date)
    status: str | None = None  # definitief / voorlopig / nader voorlopig for CBS figures
    notes: str | None = None
    assumed_period: str | None = None  # for a claim without a year: the year it most likely means, used only to
    # look up the closest real figure, never to check the claim
    def __post_init__(self) -> None:
        if self.source_kind not in SOURCE_AUTHORITY:
            raise ValueError(f"claim {self.claim_id}: source_kind must be one of {tuple(SOURCE_AUTHORITY)}")
        if not (self.low <= self.value <= self.high):
            raise ValueError(f"claim {self.claim_id}: value {self.value} "
                             f"outside its interval [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Rule:
    """A relation that must hold between quantities, from config/rules.toml.

    kind: "sum" (total = sum of parts), "ratio" (ratio = numerator / denominator x scale),
    "difference" (change = value(t) - value(t0)), "band" (diagnostic: lower <= a / b <= upper; reported,
    never used to decide a value).
    """

    rule_id: str
    kind: str
    description: str
    target: Quantity
    inputs: tuple[Quantity, ...]
    scale: float = 1.0
    band: tuple[float, float] | None = None
    params: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def find_root(parent: dict[Quantity, Quantity], q: Quantity) -> Quantity:
    """Union-find root of ``q`` in ``parent`` (a new quantity becomes its own root), halving the path on
    the way: union the sets of a and b with ``parent[find_root(parent, a)] = find_root(parent, b)``."""
    parent.setdefault(q, q)
    while parent[q] != q:
        parent[q] = parent[parent[q]]
        q = parent[q]
    return q
