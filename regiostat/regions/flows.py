"""Flows across a region's border from a table of flows between municipalities (commuting).

A region's out-commuters are the jobs of its residents minus the jobs its residents hold inside
the region; its in-commuters are the jobs located in it minus those same internal flows. For a
group of municipalities the internal flows are every flow between two members (a member to
itself included), so a resident of Emmen working in Coevorden never counts as commuting out of
Dutch TechZone. Flows are not additive over members: summing each member's out-commuters would
count the flows between members. Each value uses two published totals per member and the
member-to-member flows, so the rounding of the many small flows to other municipalities stays out.
"""

from __future__ import annotations

import polars as pl

from regiostat.indicators.catalogue import Flow
from regiostat.regions.aggregate import PROFILE_SCHEMA

METHOD = "flows across the border"
FLOW_SCHEMA = {"origin": pl.String, "destination": pl.String, "year": pl.Int64, "value": pl.Float64,
               "source_table": pl.String}


def border_flows(indicator: str, flow: Flow, flows: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """One indicator's border flows for every target of ``members`` (municipality, year, target), with
    coverage: a member has data when its total and its flows to (or from) every other member are published."""
    inside, outside = ("origin", "destination") if flow.direction == "out" else ("destination", "origin")
    totals = flows.filter(pl.col(outside) == flow.total, pl.col(inside) != flow.total).select(
        pl.col(inside).alias("region_code"), "year", pl.col("value").alias("total"), "source_table")
    pairs = flows.filter(pl.col("origin") != flow.total, pl.col("destination") != flow.total)
    internal = (pairs.join(members.rename({"region_code": inside}), on=[inside, "year"])
                .join(members.rename({"region_code": outside}), on=[outside, "year", "target"])
                .group_by("target", "year", pl.col(inside).alias("region_code"))
                .agg(pl.col("value").sum().alias("internal"), pl.len().alias("pairs")))
    size = members.group_by("target", "year").agg(pl.len().alias("members_expected"),
                                                  pl.col("region_code").sort().alias("_all"))
    per_member = (members.join(totals, on=["region_code", "year"], how="left")
                  .join(internal, on=["target", "year", "region_code"], how="left")
                  .join(size, on=["target", "year"])
                  .with_columns((pl.col("total").is_not_null() & (pl.col("pairs") == pl.col("members_expected")))
                                .alias("has_data")))
    out = (per_member.group_by("target", "year")
           .agg((pl.col("total").sum() - pl.col("internal").sum()).alias("value"),
                pl.col("has_data").sum().alias("members_with_data"), pl.col("members_expected").first(),
                pl.col("region_code").filter(~pl.col("has_data")).sort().str.join(", ").alias("missing_members"),
                pl.col("source_table").drop_nulls().unique().sort().str.join(", ").alias("source_tables"),
                pl.col("total").is_not_null().any().alias("_any"))
           .filter("_any"))
    return out.select(
        pl.lit(indicator).alias("indicator"), pl.col("target").alias("region_code"), "year", "value",
        pl.lit(METHOD).alias("method"), pl.col("members_with_data").cast(pl.Int64),
        pl.col("members_expected").cast(pl.Int64),
        pl.when(pl.col("missing_members") == "").then(None).otherwise(pl.col("missing_members")).alias(
            "missing_members"), "source_tables").cast(PROFILE_SCHEMA)


def municipality_members(hierarchy: pl.DataFrame, custom: pl.DataFrame, municipalities: pl.DataFrame,
                         country: str) -> pl.DataFrame:
    """(municipality, year, target) for every region a flow can cross: each municipality itself, its COROP
    region, province and landsdeel (not the country: almost no flow leaves it), and the custom regions, whose
    members above municipality level are expanded to their municipalities of that year."""
    own = municipalities.select("region_code", "year", pl.col("region_code").alias("target"))
    levels = hierarchy.filter(pl.col("target") != country)
    expanded = pl.concat([
        custom.filter(pl.col("region_code").str.starts_with("GM")),
        custom.filter(~pl.col("region_code").str.starts_with("GM"))
        .join(levels.rename({"target": "parent", "region_code": "municipality"}),
              left_on=["region_code", "year"], right_on=["parent", "year"])
        .select(pl.col("municipality").alias("region_code"), "year", "target"),
    ])
    return pl.concat([own, levels, expanded]).unique()
