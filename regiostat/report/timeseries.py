"""The time-series sections of a page: jobs by sector, industry share against the country,
establishments, population and the series harmonised to one year's municipal boundaries.

Each builder returns None when the warehouse has nothing for the region, so the page leaves the
section out instead of drawing an empty chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from regiostat.report import charts, labels
from regiostat.report.context import COUNTRY, SiteContext
from regiostat.report.figures import split_tables

# CBS's own titles of the four broad SBI sector groups (core.dim_sector)
BROAD_SECTORS = ("A Landbouw, bosbouw en visserij", "B-F Nijverheid en energie", "G-N Commerciële dienstverlening",
                 "O-U Niet-commerciële dienstverlening")
# broad sectors of the profile, for regions the SBI-section mart does not cover; the first group with data wins
SECTOR_GROUPS = (
    ("cbs_employee_jobs_agriculture_a", "cbs_employee_jobs_industry_bf", "cbs_employee_jobs_commercial_services_g_n",
     "cbs_employee_jobs_public_services_o_u"),
    ("cbs_jobs_kerncijfers_agriculture_a", "cbs_jobs_kerncijfers_industry_bf", "cbs_jobs_kerncijfers_commercial_g_n",
     "cbs_jobs_kerncijfers_public_o_u"),
)
CONVERTED = "omgerekend / converted"
UNCHANGED = "ongewijzigd / unchanged"
PUBLISHED_OLD = "gepubliceerd (oude grenzen) / published (old boundaries)"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    caption: str
    spec: dict[str, Any]
    used: frozenset[tuple[str, int]] = frozenset()
    table_header: tuple[str, ...] = ()
    table_rows: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


def _used(frame: pl.DataFrame, column: str = "source_tables") -> frozenset[tuple[str, int]]:
    return frozenset((t, int(y)) for tables, y in frame.select(column, "year").iter_rows()
                     for t in split_tables(tables))


def _series_rows(frame: pl.DataFrame, region: str | None = None) -> list[dict[str, Any]]:
    rows = frame.filter(pl.col("value").is_not_null()).sort("indicator", "year")
    return [{"year": y, "value": v, "series": n, **({"region": region} if region else {})}
            for y, v, n in rows.select("year", "value", "indicator_name").iter_rows()]


def sector_chart(ctx: SiteContext, code: str) -> Chart | None:
    jobs = ctx.jobs.get(code)
    if jobs is not None:
        jobs = jobs.filter(pl.col("employee_jobs").is_not_null())
    if jobs is not None and jobs.height:
        jobs = jobs.sort("sbi_section", "year")
        sectors = list(dict.fromkeys(jobs["sector_title"].to_list()))
        rows = [{"year": y, "sector": s, "jobs": v, "order": sectors.index(s)}
                for y, s, v in jobs.select("year", "sector_title", "employee_jobs").iter_rows()]
        tables = ", ".join(sorted(set(jobs["source_table"].to_list())))
        caption = (f"Banen van werknemers in december per SBI-sectie (CBS {tables}); een sectie zonder gepubliceerde "
                   "waarde ontbreekt in dat jaar. / Employee jobs in December by SBI section; a section without a "
                   "published value is missing in that year.")
        return Chart("jobs-by-sector", "Banen naar SBI-sectie / Jobs by SBI section", caption,
                     charts.stacked_sector_chart(rows, sectors), _used(jobs, "source_table"))
    return _broad_sector_chart(ctx, code)


def _broad_sector_chart(ctx: SiteContext, code: str) -> Chart | None:
    profile = ctx.region_rows(code).filter(pl.col("value").is_not_null())
    for group in SECTOR_GROUPS:
        part = profile.filter(pl.col("indicator").is_in(group))
        if part.height:
            order = {ind: i for i, ind in enumerate(group)}
            rows = [{"year": y, "sector": BROAD_SECTORS[order[i]], "jobs": v, "order": order[i]}
                    for y, i, v in part.sort("year").select("year", "indicator", "value").iter_rows()]
            sectors = [BROAD_SECTORS[i] for i in sorted({r["order"] for r in rows})]
            tables = ", ".join(sorted({t for t, _ in _used(part)}))
            caption = (f"Banen naar brede sector (SBI-secties samengevoegd; CBS {tables}), uit het regioprofiel. / "
                       "Jobs by broad sector (SBI sections grouped), from the regional profile.")
            return Chart("jobs-by-sector", "Banen naar sector / Jobs by sector", caption,
                         charts.stacked_sector_chart(rows, sectors), _used(part))
    return None


def share_chart(ctx: SiteContext, code: str) -> Chart | None:
    shares = ctx.region_rows(code).filter(pl.col("indicator").str.contains("industry_share"))
    if not shares.filter(pl.col("value").is_not_null()).height:
        return None
    name, country = ctx.name(code), ctx.name(COUNTRY)
    rows = _series_rows(shares, name)
    used = _used(shares)
    if code != COUNTRY:
        national = ctx.region_rows(COUNTRY).filter(pl.col("indicator").is_in(shares["indicator"].unique().to_list()))
        rows += _series_rows(national, country)
        used |= _used(national)
    caption = ("Aandeel van de industrie in de banen; doorgetrokken: deze regio, gestreept: Nederland. / Industry's "
               "share of jobs; solid: this region, dashed: the Netherlands.") if code != COUNTRY else (
               "Aandeel van de industrie in de banen van Nederland. / Industry's share of jobs in the Netherlands.")
    spec = charts.series_chart(rows, "Aandeel / Share (%)", value_format=".1f",
                               compare=(name, country) if code != COUNTRY else None)
    return Chart("industry-share", "Aandeel industrie tegen Nederland / Industry share against the country",
                 caption, spec, used)


def unit_chart(ctx: SiteContext, code: str, *, chart_id: str, title: str, y_title: str,
               where: pl.Expr, caption: str, legend: bool = True) -> Chart | None:
    part = ctx.region_rows(code).filter(where & pl.col("value").is_not_null())
    if not part.height:
        return None
    spec = charts.series_chart(_series_rows(part), y_title, legend=legend)
    return Chart(chart_id, title, caption, spec, _used(part))


def establishments_chart(ctx: SiteContext, code: str) -> Chart | None:
    return unit_chart(ctx, code, chart_id="establishments", title="Vestigingen / Establishments",
                      y_title="Vestigingen / Establishments", where=pl.col("unit") == "establishments",
                      caption="Bedrijfsvestigingen per bron (CBS en LISA tellen anders). / Business establishments "
                              "per source (CBS and LISA count differently).")


def population_chart(ctx: SiteContext, code: str) -> Chart | None:
    return unit_chart(ctx, code, chart_id="population", title="Bevolking / Population",
                      y_title="Inwoners / Inhabitants", where=pl.col("indicator") == "population",
                      caption="Bevolking op 1 januari. / Population on 1 January.", legend=False)


def harmonised_charts(ctx: SiteContext, code: str) -> list[Chart]:
    """For a municipality whose map changed: each converted series on its boundary year, the flag visible."""
    series = ctx.harmonised.get(code)
    if series is None:
        return []
    found = []
    for (indicator, boundary_year), part in sorted(series.partition_by(["indicator", "boundary_year"],
                                                                       as_dict=True).items()):
        if part["converted"].any():
            found.append(_harmonised_chart(ctx, code, indicator, int(boundary_year), part.sort("year")))
    return found


def _harmonised_chart(ctx: SiteContext, code: str, indicator: str, boundary_year: int,
                      part: pl.DataFrame) -> Chart:
    name = _indicator_name(ctx, indicator)
    rows, table = [], []
    for r in part.iter_rows(named=True):
        status = CONVERTED if r["converted"] else UNCHANGED
        rows.append({"year": r["year"], "value": r["value"], "status": status, "kind": "harmonised",
                     "method": r["method"]})
        if r["converted"] and r["published_value"] is not None:
            rows.append({"year": r["year"], "value": r["published_value"], "status": PUBLISHED_OLD,
                         "kind": "published", "method": "—"})
        table.append((str(r["year"]), labels.format_number(r["value"]), labels.format_number(r["published_value"]),
                      "ja / yes" if r["converted"] else "nee / no", r["method"] or "—", r["contributors"] or "—"))
    caption = (f"{name} van {ctx.name(code)} op de gemeentegrenzen van {boundary_year}: omgerekende jaren zijn "
               f"gemarkeerd, het gepubliceerde cijfer op de oude grenzen staat er open naast. / {name} on the "
               f"{boundary_year} municipal boundaries: converted years are marked, the figure published on the old "
               "boundaries is shown hollow beside them.")
    header = ("Jaar / Year", f"Op grenzen {boundary_year} / On {boundary_year} boundaries",
              "Gepubliceerd / Published", "Omgerekend / Converted", "Methode / Method", "Bijdragers / Contributors")
    return Chart(f"harmonised-{indicator}-{boundary_year}",
                 f"Reeks op de grenzen van {boundary_year}: {name} / Series on {boundary_year} boundaries", caption,
                 charts.harmonised_chart(rows, name), _used(part, "source_table"), header, tuple(table))


def _indicator_name(ctx: SiteContext, indicator: str) -> str:
    names = ctx.data.profile.filter(pl.col("indicator") == indicator)["indicator_name"]
    return names[0] if names.len() else indicator


def converted_members(ctx: SiteContext, code: str) -> list[str]:
    """An aggregate's municipalities with a converted series (their own pages show it)."""
    if ctx.hierarchy.level(code) == "gemeente":
        return []
    return sorted(m for m in ctx.hierarchy.municipalities(code)
                  if m in ctx.harmonised and ctx.harmonised[m]["converted"].any())
