"""Indicator values for every region level and custom region, with the catalogue's rule and coverage.

A published figure always wins for the region it is published for; aggregation fills the
levels a source does not publish (LISA municipalities -> COROP, province, country; any
member list -> a custom region). Ratios are recomputed from summed numerators and
denominators, never averaged. Coverage says how many members had data; a missing member is
named, never silently treated as zero.
"""

from __future__ import annotations

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.regions.custom import CustomRegion
from regiostat.regions.hierarchy import parents_in_year

PROFILE_SCHEMA = {
    "indicator": pl.String, "region_code": pl.String, "year": pl.Int64, "value": pl.Float64, "method": pl.String,
    "members_with_data": pl.Int64, "members_expected": pl.Int64, "missing_members": pl.String,
    "source_tables": pl.String,
}
AGGREGATE_LEVELS = ("corop", "provincie", "landsdeel", "land")


def _sum_members(values: pl.DataFrame, members: pl.DataFrame, method: str) -> pl.DataFrame:
    """values (indicator, region_code, year, value, source_table) x members (region_code, year, target) -> sums."""
    expected = members.group_by("target", "year").agg(pl.len().alias("members_expected"),
                                                      pl.col("region_code").sort().alias("_all"))
    joined = members.join(values, on=["region_code", "year"], how="inner")
    sums = joined.group_by("indicator", "target", "year").agg(
        pl.col("value").sum(), pl.len().alias("members_with_data"),
        pl.col("region_code").sort().alias("_have"), pl.col("source_table").unique().sort().str.join(", ")
        .alias("source_tables"))
    out = sums.join(expected, on=["target", "year"], how="left").with_columns(
        pl.col("_all").list.set_difference("_have").list.sort().list.join(", ").alias("missing_members"),
        pl.lit(method).alias("method"))
    return out.select(pl.col("indicator"), pl.col("target").alias("region_code"), "year", "value", "method",
                      pl.col("members_with_data").cast(pl.Int64), pl.col("members_expected").cast(pl.Int64),
                      pl.when(pl.col("missing_members") == "").then(None).otherwise(pl.col("missing_members"))
                      .alias("missing_members"), "source_tables")


def hierarchy_members(intervals: pl.DataFrame, municipalities_by_year: pl.DataFrame) -> pl.DataFrame:
    """(municipality, year) that existed -> its parent at every aggregate level, as (region_code, year, target)."""
    frames = []
    for year in municipalities_by_year["year"].unique().sort():
        existing = municipalities_by_year.filter(pl.col("year") == year).select("region_code")
        parents = parents_in_year(intervals, year).filter(pl.col("parent_level").is_in(AGGREGATE_LEVELS[:-1]))
        frames.append(existing.join(parents, on="region_code").select(
            "region_code", pl.lit(year, pl.Int64).alias("year"), pl.col("parent_code").alias("target")))
        frames.append(existing.select("region_code", pl.lit(year, pl.Int64).alias("year"),
                                      pl.lit("NL01").alias("target")))
    schema = {"region_code": pl.String, "year": pl.Int64, "target": pl.String}
    return pl.concat(frames).unique() if frames else pl.DataFrame(schema=schema)


def custom_members(regions: tuple[CustomRegion, ...], years: list[int]) -> pl.DataFrame:
    rows = [dict(region_code=m, year=y, target=r.id) for r in regions for m in r.members for y in years]
    return pl.DataFrame(rows, schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})


def build_profile(indicators: dict[str, Indicator], published: pl.DataFrame, hierarchy: pl.DataFrame,
                  regions: tuple[CustomRegion, ...]) -> pl.DataFrame:
    """Published values + sums over the hierarchy + custom regions + ratios of sums, one row per
    (indicator, region, year)."""
    sum_codes = [c for c, i in indicators.items() if i.aggregation == "sum"]
    base = published.select(
        "indicator", "region_code", "year", "value", pl.lit("published").alias("method"),
        pl.lit(None, pl.Int64).alias("members_with_data"), pl.lit(None, pl.Int64).alias("members_expected"),
        pl.lit(None, pl.String).alias("missing_members"), pl.col("source_table").alias("source_tables"))
    summable = published.filter(pl.col("indicator").is_in(sum_codes))
    from_hierarchy = _sum_members(summable.filter(pl.col("region_code").str.starts_with("GM")), hierarchy,
                                  "sum of municipalities")
    # published wins where it exists; aggregation fills the rest
    levels = pl.concat([base, from_hierarchy.join(base, on=["indicator", "region_code", "year"], how="anti")])
    years = levels["year"].unique().sort().to_list()
    custom = _sum_members(levels.filter(pl.col("indicator").is_in(sum_codes))
                          .select("indicator", "region_code", "year", "value",
                                  pl.col("source_tables").alias("source_table")),
                          custom_members(regions, years), "sum of members")
    profile = pl.concat([levels, custom]).cast(PROFILE_SCHEMA)
    return pl.concat([profile, ratios(indicators, profile)]).sort("indicator", "region_code", "year")


def ratios(indicators: dict[str, Indicator], profile: pl.DataFrame) -> pl.DataFrame:
    """Ratio-of-sums indicators at every region where numerator and all denominator parts exist."""
    frames = []
    for ind in indicators.values():
        if ind.aggregation != "ratio_of_sums":
            continue
        num = profile.filter(pl.col("indicator") == ind.numerator).select(
            "region_code", "year", pl.col("value").alias("num"), pl.col("members_with_data").alias("n_num"),
            pl.col("members_expected"), pl.col("missing_members"), pl.col("source_tables"))
        den = (profile.filter(pl.col("indicator").is_in(ind.denominator))
               .group_by("region_code", "year")
               .agg(pl.col("value").sum().alias("den"), pl.len().alias("parts"),
                    pl.col("members_with_data").min().alias("n_den")))
        joined = num.join(den.filter(pl.col("parts") == len(ind.denominator)), on=["region_code", "year"])
        frames.append(joined.filter(pl.col("den") > 0).select(
            pl.lit(ind.code).alias("indicator"), "region_code", "year",
            (pl.col("num") / pl.col("den") * ind.scale).alias("value"), pl.lit("ratio of sums").alias("method"),
            pl.min_horizontal("n_num", "n_den").alias("members_with_data"), "members_expected", "missing_members",
            "source_tables"))
    return pl.concat(frames).cast(PROFILE_SCHEMA) if frames else pl.DataFrame(schema=PROFILE_SCHEMA)
