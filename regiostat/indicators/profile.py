"""The regional profile: every indicator for every region level and custom region, named, with its rule
and how complete it is (marts.regional_profile)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.indicators.values import flow_rows, indicator_values
from regiostat.regions import flows
from regiostat.regions.aggregate import (
    COUNTRY,
    EXTRA_REGIO,
    PROFILE_SCHEMA,
    build_profile,
    corop_members,
    custom_members,
    extra_regio_indicators,
    hierarchy_members,
)
from regiostat.regions.custom import CustomRegion

PROFILE_COLUMNS = ("region_code", "region_name", "region_level", "year", "indicator", "indicator_name", "value",
                   "unit", "method", "rule", "members_with_data", "members_expected", "is_complete",
                   "missing_members", "source_tables")


def municipalities_by_year(dim_region: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """(municipality, year) pairs that existed on 1 January of the year, by CBS's begin and abolition dates."""
    municipalities = dim_region.filter(pl.col("region_level") == "gemeente",
                                       pl.col("group_id").ne_missing("OVERIG"))
    frames = [municipalities.filter(
        pl.col("begin_date").is_null() | (pl.col("begin_date") <= date(year, 1, 1)),
        pl.col("abolished_date").is_null() | (pl.col("abolished_date") > date(year, 1, 1)),
    ).select("region_code", pl.lit(year, pl.Int64).alias("year")) for year in years]
    return pl.concat(frames) if frames else pl.DataFrame(schema={"region_code": pl.String, "year": pl.Int64})


@dataclass(frozen=True)
class AcrossYears:
    """What one year's profile rows need to know of every year (profile_by_years): the indicators with a
    CR99 figure in some year, and the border flows (computed from the first source that has flows in any year)."""

    extra_regio: set[str]
    flows: pl.DataFrame

    @classmethod
    def of(cls, indicators: dict[str, Indicator], regions: tuple[CustomRegion, ...], cr99_facts: pl.DataFrame,
           flow_facts: pl.DataFrame, region_parent: pl.DataFrame, dim_region: pl.DataFrame) -> AcrossYears:
        """From every year's CR99 facts and every year's facts of the flow indicators' sources."""
        return cls(extra_regio_indicators(indicator_values(indicators, cr99_facts)),
                   _border_flows(indicators, regions, flow_facts, region_parent, dim_region))


def regional_profile(indicators: dict[str, Indicator], regions: tuple[CustomRegion, ...], facts: pl.DataFrame,
                     region_parent: pl.DataFrame, dim_region: pl.DataFrame, custom_region: pl.DataFrame,
                     dim_indicator: pl.DataFrame, across: AcrossYears | None = None) -> pl.DataFrame:
    """Published values, sums over the region hierarchy (from municipalities, and from COROP regions for
    COROP-only tables), the custom regions, border flows and ratios of sums; each row named, with its
    indicator's unit and rule, and ``is_complete`` when every member had data. CR99 (Extra-Regio) counts in
    the country's sums but is no region of its own. ``across``: given when ``facts`` hold some years only."""
    published = indicator_values(indicators, facts)
    years = published["year"].unique().sort().to_list()
    by_year = municipalities_by_year(dim_region, years)
    hierarchy = hierarchy_members(region_parent, by_year)
    if across is None:
        flow_values, extra_regio = _border_flows(indicators, regions, facts, region_parent, dim_region), None
    else:
        flow_values = across.flows.filter(pl.col("year").is_in(years))
        extra_regio = across.extra_regio
    profile = build_profile(indicators, published, hierarchy, regions, corop_members(region_parent, years),
                            flow_values, extra_regio).filter(pl.col("region_code") != EXTRA_REGIO)
    names = pl.concat([dim_region.select("region_code", "region_name", "region_level"),
                       custom_region.select(pl.col("region_id").alias("region_code"), pl.col("name").alias(
                           "region_name"), pl.lit("custom").alias("region_level")).unique()])
    meta = dim_indicator.select(pl.col("code").alias("indicator"), pl.col("name_nl").alias("indicator_name"),
                                "unit", "rule")
    return (profile.join(names, on="region_code", how="left").join(meta, on="indicator", how="left")
            .with_columns(pl.when(pl.col("members_expected").is_null()).then(True)
                          .otherwise(pl.col("members_with_data") == pl.col("members_expected"))
                          .alias("is_complete"))
            .select(PROFILE_COLUMNS))


def profile_by_years(indicators: dict[str, Indicator], regions: tuple[CustomRegion, ...],
                     facts_of: Callable[[Sequence[int]], pl.DataFrame], year_groups: Sequence[Sequence[int]],
                     tables: Sequence[pl.DataFrame], across: AcrossYears) -> Iterator[pl.DataFrame]:
    """regional_profile a group of years at a time (``facts_of(years)``: the facts of those years), so a national
    table's profile is never held whole; the rows of all groups are regional_profile's over every year, up to
    their order (by indicator, region, year). ``tables``: region_parent, dim_region, custom_region, dim_indicator."""
    for years in year_groups:
        yield regional_profile(indicators, regions, facts_of(years), *tables, across=across)


def _border_flows(indicators: dict[str, Indicator], regions: tuple[CustomRegion, ...], facts: pl.DataFrame,
                  region_parent: pl.DataFrame, dim_region: pl.DataFrame) -> pl.DataFrame:
    """Every border_flow indicator for municipalities, their COROP region, province, landsdeel and custom
    regions, from the first source that has flows."""
    frames = []
    for ind in (i for i in indicators.values() if i.aggregation == "border_flow"):
        for source in ind.sources:
            rows = flow_rows(source, facts)
            if rows.is_empty():
                continue
            years = rows["year"].unique().sort().to_list()
            municipalities = municipalities_by_year(dim_region, years)
            members = flows.municipality_members(hierarchy_members(region_parent, municipalities),
                                                 custom_members(regions, years), municipalities, COUNTRY)
            frames.append(flows.border_flows(ind.code, source.flow, rows, members))
            break
    return pl.concat(frames) if frames else pl.DataFrame(schema=PROFILE_SCHEMA)
