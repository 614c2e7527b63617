"""A page's map: the region's municipalities shaded by one indicator in one year.

A municipality's page shows its COROP region's municipalities with itself outlined, so it has a
neighbourhood to compare with. The indicator is the first of MAP_INDICATORS any shown municipality
has. For each year the boundary file is the one holding most municipalities with data; the year
shown is the latest whose data covers the largest share of the region's municipalities in that file
(a region's old municipalities in 2015 do not outweigh its merged ones today).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.report import charts, labels
from regiostat.report.context import SiteContext
from regiostat.report.figures import split_tables
from regiostat.report.geo import ATTRIBUTION, BoundaryFile, best_boundaries

MAP_INDICATORS = ("population", "cbs_establishments", "lisa_jobs", "cbs_jobs_kerncijfers")


@dataclass(frozen=True)
class MapView:
    geo: BoundaryFile
    spec: dict
    caption: str
    indicator: str
    year: int
    shown: tuple[str, ...]
    used: frozenset[tuple[str, int]]


def map_region(ctx: SiteContext, code: str) -> tuple[frozenset[str], str | None]:
    """The municipalities to draw, and the one to outline (a municipality's own page)."""
    if ctx.hierarchy.level(code) == "gemeente":
        corop = ctx.hierarchy.parent(code, "corop")
        around = ctx.hierarchy.municipalities(corop) if corop else frozenset()
        return around | {code}, code
    return ctx.hierarchy.municipalities(code), None


def region_map(ctx: SiteContext, code: str) -> MapView | None:
    members, highlight = map_region(ctx, code)
    if not members or not ctx.boundaries:
        return None
    for indicator in MAP_INDICATORS:
        values = ctx.municipal_values.get(indicator)
        if values is None:
            continue
        values = values.filter(pl.col("region_code").is_in(list(members)) & pl.col("value").is_not_null())
        if highlight is not None:  # only years in which the page's own municipality has a value
            own_years = values.filter(pl.col("region_code") == highlight)["year"]
            values = values.filter(pl.col("year").is_in(own_years.to_list()))
        if values.height:
            view = _view(ctx, indicator, values, members, highlight)
            if view is not None:
                return view
    return None


def _best_year(ctx: SiteContext, values: pl.DataFrame, members: frozenset[str]) -> tuple[int, BoundaryFile] | None:
    """The latest year whose data covers the largest share of the municipalities its boundary file holds."""
    best: tuple[float, int, BoundaryFile] | None = None
    for (year,), part in values.partition_by("year", as_dict=True).items():
        codes = set(part["region_code"].to_list())
        geo = best_boundaries(ctx.boundaries, codes)
        if geo is None:
            continue
        drawn = members & geo.codes
        score = (len(codes & drawn) / len(drawn), int(year), geo)
        if best is None or score[:2] > best[:2]:
            best = score
    return None if best is None else (best[1], best[2])


def _view(ctx: SiteContext, indicator: str, values: pl.DataFrame, members: frozenset[str],
          highlight: str | None) -> MapView | None:
    chosen = _best_year(ctx, values, members)
    if chosen is None or (highlight is not None and highlight not in chosen[1].codes):
        return None
    year, geo = chosen
    in_year = values.filter(pl.col("year") == year)
    shown = sorted(members & geo.codes)
    unit = in_year["unit"][0] or ""
    by_code = dict(in_year.select("region_code", "value").iter_rows())
    rows = [{"code": c, "name": ctx.name(c), "value": by_code.get(c),
             "shown": labels.format_value(by_code.get(c), unit)} for c in shown]
    name = in_year["indicator_name"][0]
    title = f"{name} {year}"
    spec = charts.map_spec(geo.name, shown, rows, value_title=title,
                           value_format=".1f" if unit == "%" else ",.0f", highlight=highlight)
    with_data = sum(1 for r in rows if r["value"] is not None)
    caption = (f"{name}, {year}, per gemeente ({with_data} van {len(shown)} met gegevens; grijs: geen gegevens), "
               f"op de gemeentegrenzen van {geo.year}. / By municipality ({with_data} of {len(shown)} with data; "
               f"grey: no data), on the {geo.year} municipal boundaries. {ATTRIBUTION}.")
    used = frozenset((t, year) for tables in in_year["source_tables"].to_list() for t in split_tables(tables))
    return MapView(geo=geo, spec=spec, caption=caption, indicator=indicator, year=year, shown=tuple(shown),
                   used=used)
