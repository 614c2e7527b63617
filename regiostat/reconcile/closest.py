"""The closest real figure to each published claim: what the warehouse holds nearest to it, even when its
definition, area or year differs, with the difference in words.

A policy officer reading "14% of employment in Oost-Nederland" wants to see the figures that exist
beside it (the SBI C, B-E and B-F shares of CBS employee jobs for COROP CR10-CR16), not only "cannot be
checked". The search is data-driven (config/proxies.toml, see regiostat.reconcile.proxies): for a
claim on (indicator, region, year) every candidate (proxy indicator, region set, year) is tried on the
latest figures of the warehouse; a sum needs a figure for every member of the set and a ratio every
member's numerator and denominator (never a partial sum); candidates are ranked by their distance
(definition + region + years) and the nearest few are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from regiostat.codes import REGION_LEVELS
from regiostat.indicators.catalogue import Indicator
from regiostat.reconcile import sentences
from regiostat.reconcile.model import Claim, is_year, parse_change
from regiostat.reconcile.proxies import ProxyTable
from regiostat.reconcile.results import Verdict
from regiostat.reconcile.sentences import DutchText
from regiostat.regions.custom import CustomRegion
from regiostat.regions.hierarchy import parents_in_year

KEEP = 6  # candidates kept per claim (the best per indicator and region set)
LATEST = 9999  # the year whose region hierarchy a claim without a year is looked up in: today's
LEVEL_ORDER = ("gemeente", "corop", "provincie", "landsdeel", "land")
LEVEL_WORDS = {"gemeente": "municipalities", "corop": "COROP", "provincie": "provinces", "landsdeel": "landsdelen",
               "land": "country"}


@dataclass(frozen=True)
class Figure:
    value: float
    low: float
    high: float
    sources: frozenset[str]


class FigureTable:
    """The latest figure of every (indicator, region, year) the data hold (documents excluded)."""

    def __init__(self, figures: Mapping[tuple[str, str, int], Figure]) -> None:
        self.figures = dict(figures)
        years: dict[str, set[int]] = {}
        for ind, _, year in self.figures:
            years.setdefault(ind, set()).add(year)
        self.years = {k: sorted(v) for k, v in years.items()}

    @classmethod
    def of_frame(cls, frame: pl.DataFrame) -> FigureTable:
        """From rows (indicator, region, year, value, low, high, source): the latest figures only."""
        out: dict[tuple[str, str, int], Figure] = {}
        for ind, region, year, value, low, high, source in frame.select(
                "indicator", "region", "year", "value", "low", "high", "source").iter_rows():
            key = (ind, region, int(year))
            if key not in out:  # the first source of an indicator wins, as in the marts
                out[key] = Figure(value, low, high, frozenset([source]))
        return cls(out)


def _sum(figures: Sequence[Figure | None]) -> Figure | None:
    if not figures or any(f is None for f in figures):
        return None  # never a partial sum
    return Figure(sum(f.value for f in figures), sum(f.low for f in figures), sum(f.high for f in figures),
                  frozenset().union(*(f.sources for f in figures)))


def _ratio(num: Figure | None, den: Figure | None, scale: float) -> Figure | None:
    if num is None or den is None or den.value <= 0:
        return None
    high = num.high / den.low * scale if den.low > 0 else float("inf")
    return Figure(num.value / den.value * scale, num.low / den.high * scale, high, num.sources | den.sources)


class Values:
    """An indicator's value over a set of regions in one year, as the catalogue aggregates it."""

    def __init__(self, table: FigureTable, indicators: Mapping[str, Indicator]) -> None:
        self.table, self.indicators = table, indicators

    def of(self, indicator: str, regions: tuple[str, ...], year: int) -> Figure | None:
        ind = self.indicators.get(indicator)
        if ind is None:
            return None
        if ind.aggregation == "ratio_of_sums" and ind.numerator:
            den = _sum([self.of(d, regions, year) for d in ind.denominator])
            return _ratio(self.of(ind.numerator, regions, year), den, ind.scale)
        if len(regions) == 1:
            return self.table.figures.get((indicator, regions[0], year))
        if ind.aggregation != "sum":
            return None
        return _sum([self.table.figures.get((indicator, r, year)) for r in regions])

    def years(self, indicator: str) -> list[int]:
        ind = self.indicators.get(indicator)
        if ind is not None and ind.aggregation == "ratio_of_sums" and ind.numerator:
            return self.years(ind.numerator)
        return self.table.years.get(indicator, [])


# ---------------------------------------------------------------- region sets

@dataclass(frozen=True)
class RegionSet:
    regions: tuple[str, ...]
    exact: bool
    words: str  # how the set relates to the claim's region, in words


def _level(code: str) -> str | None:
    return REGION_LEVELS.get(code[:2])


class Regions:
    """Custom regions' members (by period, and the same territory listed at other levels) and the CBS
    hierarchy per year (core.region_parent), to find the sets of regions that stand in for a claim's region."""

    def __init__(self, custom: Sequence[CustomRegion], parents: pl.DataFrame, cover_levels: Sequence[str]) -> None:
        self.custom = {r.id: r for r in custom}
        self.parents, self.cover_levels = parents, tuple(cover_levels)
        self._years: dict[int, tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[str]]]] = {}

    def _hierarchy(self, year: int) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[str]]]:
        """(region, level) -> parent, and (parent, child level) -> children, as they stood in `year`."""
        if year not in self._years:
            up: dict[tuple[str, str], str] = {}
            down: dict[tuple[str, str], list[str]] = {}
            for region, level, parent in parents_in_year(self.parents, year).iter_rows():
                up[(region, level)] = parent
                if (child := _level(region)) is not None:
                    down.setdefault((parent, child), []).append(region)
            self._years[year] = (up, {k: sorted(v) for k, v in down.items()})
        return self._years[year]

    def municipalities(self, regions: Iterable[str], year: int) -> set[str]:
        up, down = self._hierarchy(year)
        out: set[str] = set()
        for r in regions:
            out |= {r} if _level(r) == "gemeente" else set(down.get((r, "gemeente"), []))
        return out

    def cover(self, members: Sequence[str], level: str, year: int) -> tuple[tuple[str, ...], bool] | None:
        """The regions of `level` that cover `members` (their parents, or their children), and whether they
        are exactly the same area; None when the hierarchy does not say. Children of a coarser region are
        exactly it (COROP regions nest in provinces); parents are exact when all their municipalities are
        members."""
        up, down = self._hierarchy(year)
        out: set[str] = set()
        upward: set[str] = set()
        for m in members:
            own = _level(m)
            if own not in LEVEL_ORDER or level not in LEVEL_ORDER:
                return None
            if own == level:
                out.add(m)
            elif LEVEL_ORDER.index(own) < LEVEL_ORDER.index(level):
                if (m, level) not in up:
                    return None
                upward.add(up[(m, level)])
            elif down.get((m, level)):
                out |= set(down[(m, level)])
            else:
                return None
        own_area = self.municipalities(members, year)
        exact = not upward or (bool(own_area) and self.municipalities(upward, year) <= own_area)
        return tuple(sorted(out | upward)), exact

    def _described(self, region: str, year: int) -> str:
        r = self.custom.get(region)
        if r is None:
            return region
        members = r.members_in(year)
        levels = {_level(m) for m in members}
        kind = LEVEL_WORDS.get(levels.pop(), "regions") if len(levels) == 1 else "regions"
        return f"the {len(members)} {kind} of {r.name}"

    def _own_sets(self, region: str, year: int) -> list[RegionSet]:
        """The claim's region itself, or a custom region's members that year and its lists at other levels
        (the same territory, config/regions.toml members_by_level)."""
        r = self.custom.get(region)
        if r is None:
            return [RegionSet((region,), True, "same region")]
        out = []
        for name in r.member_sets():
            members = tuple(sorted(r.members_in(year, name)))
            if members and all(members != s.regions for s in out):
                out.append(RegionSet(members, True, f"{'+'.join(members)} = {self._described(region, year)}"))
        return out

    def sets(self, region: str, year: int) -> list[RegionSet]:
        """The claim's own region sets, then covers at each cover level (exact when the same area)."""
        out = self._own_sets(region, year)
        r = self.custom.get(region)
        members = r.members_in(year) if r is not None else (region,)
        for level in self.cover_levels:
            found = self.cover(members, level, year) if members else None
            if found is None or any(found[0] == s.regions for s in out):
                continue
            cover, exact = found
            joined = "+".join(cover)
            words = (f"{LEVEL_WORDS[level]} {joined} = {self._described(region, year)}" if exact
                     else f"{LEVEL_WORDS[level]} {joined} vs {self._described(region, year)}")
            out.append(RegionSet(cover, exact, words))
        return out


# ---------------------------------------------------------------- candidates

@dataclass(frozen=True)
class Closest:
    """A real figure beside a claim. `distance` is definition + region + years (config/proxies.toml)."""

    claim_id: str
    rank: int
    indicator: str
    regions: tuple[str, ...]
    period: str
    value: float
    low: float
    high: float
    sources: tuple[str, ...]
    distance: float
    same_definition: bool
    exact_region: bool
    same_year: bool
    consistent: bool  # the figure's interval meets the claim's
    difference: str  # in words: definition; regions; year


@dataclass(frozen=True)
class _Target:
    """The years a claim is about: one year, or a change's base and end; `assumed` when the claim gave none."""

    years: tuple[int, ...] | None
    assumed: bool = False


def _target(c: Claim) -> _Target:
    if (change := parse_change(c.quantity)) is not None:
        return _Target((int(change[1]), int(change[2])))
    if is_year(c.quantity.period):
        return _Target((int(c.quantity.period),))
    if c.assumed_period is not None and is_year(c.assumed_period):
        return _Target((int(c.assumed_period),), assumed=True)
    return _Target(None)


class ClosestSearch:
    """The search itself (see the module docstring)."""

    def __init__(self, values: Values, regions: Regions, proxies: ProxyTable) -> None:
        self.values, self.regions, self.proxies = values, regions, proxies

    def definitions(self, indicator: str) -> list[tuple[str, float, str]]:
        return [(indicator, 0.0, "same definition")] + [(p.proxy, p.distance, p.difference)
                                                        for p in self.proxies.of(indicator)]

    def _year_options(self, indicator: str, target: int | None) -> list[int]:
        years = self.values.years(indicator)
        if target is None:
            return sorted(years, reverse=True)
        near = [y for y in years if abs(y - target) <= self.proxies.max_years]
        return sorted(near, key=lambda y: (abs(y - target), -y))

    def _level_figure(self, indicator: str, rs: RegionSet, target: int | None) -> tuple[int, Figure] | None:
        for year in self._year_options(indicator, target):
            if (fig := self.values.of(indicator, rs.regions, year)) is not None:
                return year, fig
        return None

    def _change_figure(self, indicator: str, rs: RegionSet, base: int, end: int) -> tuple[str, int, Figure] | None:
        first = self._level_figure(indicator, rs, base)
        last = self._level_figure(indicator, rs, end)
        if first is None or last is None or first[0] >= last[0]:
            return None
        (y0, a), (y1, b) = first, last
        fig = Figure(b.value - a.value, b.low - a.high, b.high - a.low, a.sources | b.sources)
        return f"{y0}/{y1}", abs(y0 - base) + abs(y1 - end), fig

    def candidates(self, c: Claim) -> list[Closest]:
        """The nearest figures to `c`, best first: one per (indicator, region set), its best year."""
        target = _target(c)
        change = parse_change(c.quantity)
        base_indicator = change[0] if change else c.quantity.indicator
        anchor = target.years[-1] if target.years else LATEST
        found: list[Closest] = []
        for indicator, def_distance, def_words in self.definitions(base_indicator):
            for rs in self.regions.sets(c.quantity.region, anchor):
                hit = self._find(indicator, rs, target, change is not None)
                if hit is not None:
                    found.append(self._closest(c, target, indicator == base_indicator, indicator, def_distance,
                                               def_words, rs, hit))
        found.sort(key=lambda x: (x.distance, not x.same_definition, not x.exact_region, x.indicator, x.regions))
        ranked = [x for i, x in enumerate(found) if not any(
            (y.indicator, y.regions) == (x.indicator, x.regions) for y in found[:i])][:KEEP]
        return [replace(x, rank=k) for k, x in enumerate(ranked, start=1)]

    def _closest(self, c: Claim, target: _Target, same: bool, indicator: str, def_distance: float, def_words: str,
                 rs: RegionSet, hit: tuple[str, int, Figure]) -> Closest:
        period, offset, fig = hit
        region_distance = 0.0 if rs.exact else self.proxies.approximate_region
        distance = def_distance + region_distance + offset * self.proxies.per_year
        return Closest(c.claim_id, 0, indicator, rs.regions, period, fig.value, fig.low, fig.high,
                       tuple(sorted(fig.sources)), distance, same, rs.exact,
                       offset == 0 and target.years is not None and not target.assumed, _meets(fig, c),
                       "; ".join([def_words, rs.words, _year_words(period, c, target, offset)]))

    def _find(self, indicator: str, rs: RegionSet, target: _Target, is_change: bool) -> tuple[str, int, Figure] | None:
        if is_change:
            if target.years is None or len(target.years) != 2:
                return None
            return self._change_figure(indicator, rs, *target.years)
        year_target = target.years[0] if target.years else None
        hit = self._level_figure(indicator, rs, year_target)
        if hit is None:
            return None
        year, fig = hit
        return str(year), abs(year - year_target) if year_target is not None else 0, fig


def _meets(fig: Figure, c: Claim) -> bool:
    """The figure's interval and the claim's meet (within the engine's tolerance)."""
    slack = 1e-9 * max(1.0, abs(c.value), abs(fig.value))
    return fig.low <= c.high + slack and c.low <= fig.high + slack


def _year_words(period: str, c: Claim, target: _Target, offset: int) -> str:
    if target.years is None:
        return f"{period}, the latest year with data (the claim gives no year)"
    if target.assumed:
        return f"{period} (the claim gives no year; assumed {c.assumed_period})"
    return "same year" if offset == 0 else f"{period} vs {c.quantity.period}"


def relevant(documents: Sequence[Claim], regions: Regions, proxies: ProxyTable,
             catalogue: Mapping[str, Indicator]) -> tuple[set[str], set[str]]:
    """(indicators, regions) the search can read for these claims: the claims' indicators, their proxies and the
    numerators and denominators of both; every region of every region set that stands in for a claim's region.
    The warehouse's figures are cut to these before the search, so a national table costs a lookup, not a copy."""
    indicators: set[str] = set()
    codes: set[str] = set()
    for c in documents:
        change = parse_change(c.quantity)
        base = change[0] if change else c.quantity.indicator
        for ind in [base, *(p.proxy for p in proxies.of(base))]:
            spec = catalogue.get(ind)
            indicators |= {ind, *((spec.numerator,) if spec and spec.numerator else ()),
                           *(spec.denominator if spec else ())}
        for year in _target(c).years or (LATEST,):
            codes |= {r for rs in regions.sets(c.quantity.region, year) for r in rs.regions}
    return indicators, codes


def closest_figures(documents: Sequence[Claim], search: ClosestSearch) -> dict[str, tuple[Closest, ...]]:
    """The ranked closest real figures of every document claim (by claim id)."""
    return {c.claim_id: tuple(search.candidates(c)) for c in documents}


def with_closest(v: Verdict, closest: Sequence[Closest], text: DutchText) -> Verdict:
    """The verdict once the closest real figures are known. Supported and contradicted stay as they are. A
    claim the data of its own definition, area and year could not check becomes:
      proxy       when the closest figure, or a figure for its own area and year (any year, for a claim
                  without one), is consistent with it -- that figure is named first;
      definition  else, when figures for its own area and year include another definition (none fits);
      unverifiable otherwise, with the closest figure beside it."""
    if not closest or v.verdict != "unverifiable":
        return replace(v, closest=tuple(closest))
    no_year = not is_year(v.claim.quantity.period) and parse_change(v.claim.quantity) is None
    own_area = [x for x in closest if x.exact_region and (x.same_year or no_year)]
    fits = next((x for x in [closest[0], *own_area] if x.consistent), None)
    if fits is not None:
        ordered = (fits, *(x for x in closest if x is not fits))
        return replace(v, verdict="proxy", closest=ordered,
                       sentence=sentences.consistent_with_proxy(v.claim, ordered, text))
    if any(not x.same_definition for x in own_area):
        ordered = (own_area[0], *(x for x in closest if x is not own_area[0]))
        return replace(v, verdict="definition", closest=ordered,
                       sentence=sentences.differs_by_definition(v.claim, ordered, text))
    return replace(v, closest=tuple(closest), sentence=sentences.closest_beside(v.sentence, closest, text))
