"""Indicator values for every region level and custom region, with the catalogue's rule and coverage.

A published figure always wins for the region it is published for; aggregation fills the
levels a source does not publish: municipalities -> COROP, province, landsdeel, country (LISA);
COROP regions -> province, landsdeel, country for tables that publish COROP regions only (83582NED,
81578NED), where the country also holds CR99 "Extra-Regio" (jobs CBS places in no COROP region);
any member list -> a custom region. Ratios are recomputed from summed numerators and denominators,
never averaged. Coverage says how many members had data; a missing member is named, never
silently treated as zero, and a member that is itself an incomplete sum counts as missing.
"""

from __future__ import annotations

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.regions.custom import PRIMARY, CustomRegion
from regiostat.regions.hierarchy import parents_in_year

PROFILE_SCHEMA = {
    "indicator": pl.String, "region_code": pl.String, "year": pl.Int64, "value": pl.Float64, "method": pl.String,
    "members_with_data": pl.Int64, "members_expected": pl.Int64, "missing_members": pl.String,
    "source_tables": pl.String,
}
MEMBER_SCHEMA = {"region_code": pl.String, "year": pl.Int64, "target": pl.String}
AGGREGATE_LEVELS = ("corop", "provincie", "landsdeel", "land")
COUNTRY = "NL01"
EXTRA_REGIO = "CR99"  # 83582NED: jobs in no COROP region; in the country's total, in no province
SUM_OF_COROP = "sum of COROP regions"


def _sum_members(values: pl.DataFrame, members: pl.DataFrame, method: str) -> pl.DataFrame:
    """values (indicator, region_code, year, value, source_table[, is_complete]) x members (region_code, year,
    target) -> sums. A member whose own value is an incomplete sum counts as missing."""
    if "is_complete" not in values.columns:
        values = values.with_columns(pl.lit(True).alias("is_complete"))
    expected = members.group_by("target", "year").agg(pl.len().alias("members_expected"),
                                                      pl.col("region_code").sort().alias("_all"))
    joined = members.join(values, on=["region_code", "year"], how="inner")
    sums = joined.group_by("indicator", "target", "year").agg(
        pl.col("value").sum(), pl.col("is_complete").sum().alias("members_with_data"),
        pl.col("region_code").filter(pl.col("is_complete")).sort().alias("_have"),
        pl.col("region_code").filter(~pl.col("is_complete")).sort().alias("_partial"),
        pl.col("source_table").unique().sort().str.join(", ").alias("source_tables"))
    out = sums.join(expected, on=["target", "year"], how="left").with_columns(
        pl.concat_list(pl.col("_all").list.set_difference(pl.concat_list("_have", "_partial")),
                       pl.col("_partial").list.eval(pl.element() + " (incomplete)"))
        .list.sort().list.join(", ").alias("missing_members"),
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
                                      pl.lit(COUNTRY).alias("target")))
    return pl.concat(frames).unique() if frames else pl.DataFrame(schema=MEMBER_SCHEMA)


def corop_members(intervals: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """COROP region -> its province and landsdeel per year, and every COROP region plus CR99 -> the country."""
    frames = []
    for year in years:
        parents = parents_in_year(intervals, year).filter(pl.col("region_code").str.starts_with("CR"),
                                                          pl.col("parent_level").is_in(["provincie", "landsdeel"]))
        corops = parents.filter(pl.col("parent_level") == "provincie").select("region_code")
        frames += [parents.select("region_code", pl.lit(year, pl.Int64).alias("year"),
                                  pl.col("parent_code").alias("target")),
                   pl.concat([corops, pl.DataFrame({"region_code": [EXTRA_REGIO]})]).select(
                       "region_code", pl.lit(year, pl.Int64).alias("year"), pl.lit(COUNTRY).alias("target"))]
    return pl.concat(frames).unique() if frames else pl.DataFrame(schema=MEMBER_SCHEMA)


def extra_regio_indicators(published: pl.DataFrame) -> set[str]:
    """Indicators with a published CR99 figure in some year: the country's sum of COROP regions expects CR99."""
    return set(published.filter(pl.col("region_code") == EXTRA_REGIO)["indicator"].unique())


def _sum_corop(summable: pl.DataFrame, corops: pl.DataFrame, extra_regio: set[str] | None = None) -> pl.DataFrame:
    """Sums of published COROP values; CR99 is expected in the country only for indicators that publish it
    (``extra_regio``: those indicators, over every year, when ``summable`` holds some years only)."""
    published = summable.filter(pl.col("region_code").str.starts_with("CR"))
    with_cr99 = extra_regio_indicators(published) if extra_regio is None else extra_regio
    frames = []
    for (indicator,), values in published.group_by(["indicator"]):
        members = corops if indicator in with_cr99 else corops.filter(pl.col("region_code") != EXTRA_REGIO)
        frames.append(_sum_members(values, members, SUM_OF_COROP))
    return pl.concat(frames) if frames else pl.DataFrame(schema=PROFILE_SCHEMA)


def custom_members(regions: tuple[CustomRegion, ...], years: list[int], member_set: str = PRIMARY) -> pl.DataFrame:
    """(member, year, custom region) for one of the regions' member lists, by the years each member holds."""
    rows = [dict(region_code=m, year=y, target=r.id) for r in regions if member_set in r.member_sets()
            for y in years for m in r.members_in(y, member_set)]
    return pl.DataFrame(rows, schema=MEMBER_SCHEMA)


def _sum_custom(levels: pl.DataFrame, regions: tuple[CustomRegion, ...], sum_codes: list[str]) -> pl.DataFrame:
    """Sums over each custom region's own member list, or over the same territory at another level where the
    own list is incomplete and that one is more complete (e.g. COROP regions for a COROP-only table)."""
    values = levels.filter(pl.col("indicator").is_in(sum_codes)).select(
        "indicator", "region_code", "year", "value", pl.col("source_tables").alias("source_table"),
        pl.when(pl.col("members_expected").is_null()).then(True)
        .otherwise(pl.col("members_with_data") == pl.col("members_expected")).alias("is_complete"))
    years = levels["year"].unique().sort().to_list()
    sets = list(dict.fromkeys(name for r in regions for name in r.member_sets()))
    candidates = []
    for rank, name in enumerate(sets):
        method = "sum of members" if name == PRIMARY else f"sum of members ({name})"
        sums = _sum_members(values, custom_members(regions, years, name), method)
        candidates.append(sums.with_columns(pl.lit(rank).alias("_rank")))
    if not candidates:
        return pl.DataFrame(schema=PROFILE_SCHEMA)
    coverage = pl.col("members_with_data") / pl.col("members_expected")
    return (pl.concat(candidates).sort(["indicator", "region_code", "year", coverage.ge(1), coverage, "_rank"],
                                       descending=[False, False, False, True, True, False])
            .unique(["indicator", "region_code", "year"], keep="first", maintain_order=True).drop("_rank"))


def build_profile(indicators: dict[str, Indicator], published: pl.DataFrame, hierarchy: pl.DataFrame,
                  regions: tuple[CustomRegion, ...], corops: pl.DataFrame | None = None,
                  flows: pl.DataFrame | None = None, extra_regio: set[str] | None = None) -> pl.DataFrame:
    """Published values + sums over the hierarchy (municipalities, then COROP regions) + custom regions +
    border flows (computed per region, regiostat.regions.flows) + ratios of sums, one row per (indicator,
    region, year). Every row depends on its own year only, but for ``extra_regio`` (extra_regio_indicators of
    every year: given when ``published`` holds some years only)."""
    sum_codes = [c for c, i in indicators.items() if i.aggregation == "sum"]
    base = published.select(
        "indicator", "region_code", "year", "value", pl.lit("published").alias("method"),
        pl.lit(None, pl.Int64).alias("members_with_data"), pl.lit(None, pl.Int64).alias("members_expected"),
        pl.lit(None, pl.String).alias("missing_members"), pl.col("source_table").alias("source_tables"))
    summable = published.filter(pl.col("indicator").is_in(sum_codes))
    from_hierarchy = _sum_members(summable.filter(pl.col("region_code").str.starts_with("GM")), hierarchy,
                                  "sum of municipalities")
    # published wins where it exists; aggregation fills the rest: municipalities first, then COROP regions
    levels = pl.concat([base, from_hierarchy.join(base, on=["indicator", "region_code", "year"], how="anti")])
    if corops is not None:
        from_corop = _sum_corop(summable, corops, extra_regio)
        levels = pl.concat([levels, from_corop.join(levels, on=["indicator", "region_code", "year"], how="anti")])
    custom = _sum_custom(levels, regions, sum_codes)
    profile = pl.concat([levels, custom, *([flows] if flows is not None else [])]).cast(PROFILE_SCHEMA)
    return pl.concat([profile, ratios(indicators, profile)]).sort("indicator", "region_code", "year")


def ratios(indicators: dict[str, Indicator], profile: pl.DataFrame) -> pl.DataFrame:
    """Ratio-of-sums indicators at every region where numerator and all denominator parts exist. Coverage is
    that of the less complete side (the numerator's on a tie)."""
    frames = []
    for ind in indicators.values():
        if ind.aggregation != "ratio_of_sums":
            continue
        num = profile.filter(pl.col("indicator") == ind.numerator).select(
            "region_code", "year", pl.col("value").alias("num"), "members_with_data", "members_expected",
            "missing_members", pl.col("source_tables"))
        den = (profile.filter(pl.col("indicator").is_in(ind.denominator))
               .with_columns(_coverage().alias("_coverage"))
               .sort("_coverage", nulls_last=True)
               .group_by("region_code", "year", maintain_order=True)
               .agg(pl.col("value").sum().alias("den"), pl.len().alias("parts"),
                    pl.col("members_with_data").first().alias("den_with"),
                    pl.col("members_expected").first().alias("den_expected"),
                    pl.col("missing_members").first().alias("den_missing"), pl.col("_coverage").first()))
        joined = num.join(den.filter(pl.col("parts") == len(ind.denominator)), on=["region_code", "year"])
        worse = pl.col("_coverage") < _coverage()
        frames.append(joined.filter(pl.col("den") > 0).select(
            pl.lit(ind.code).alias("indicator"), "region_code", "year",
            (pl.col("num") / pl.col("den") * ind.scale).alias("value"), pl.lit("ratio of sums").alias("method"),
            pl.when(worse).then("den_with").otherwise("members_with_data").alias("members_with_data"),
            pl.when(worse).then("den_expected").otherwise("members_expected").alias("members_expected"),
            pl.when(worse).then("den_missing").otherwise("missing_members").alias("missing_members"),
            "source_tables"))
    return pl.concat(frames).cast(PROFILE_SCHEMA) if frames else pl.DataFrame(schema=PROFILE_SCHEMA)


def _coverage() -> pl.Expr:
    """Share of members with data; 1 for a published figure."""
    return pl.when(pl.col("members_expected").is_null()).then(1.0).otherwise(
        pl.col("members_with_data") / pl.col("members_expected"))
