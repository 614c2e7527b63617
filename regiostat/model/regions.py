"""Core tables about regions that combine several inputs: the parent of each region per year, and the
custom regions of config/regions.toml as rows."""

from __future__ import annotations

import polars as pl

from regiostat.regions import hierarchy
from regiostat.regions.custom import RegionConfig

CUSTOM_REGION_SCHEMA = {"region_id": pl.String, "name": pl.String, "member_code": pl.String,
                        "description": pl.String, "member_set": pl.String, "valid_from_year": pl.Int64,
                        "valid_to_year": pl.Int64}


def region_parent(memberships: pl.DataFrame, codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """Parent intervals from every snapshot: the memberships sources state (raw.region_memberships:
    municipality lists, 70072NED's classification columns) and the CBS code lists' DimensionGroupIds."""
    snapshots = pl.concat([memberships.drop("table_id"), hierarchy.memberships_from_code_groups(codes, fetches)],
                          how="diagonal_relaxed")
    return hierarchy.parent_intervals(snapshots)


def parent_overlaps(region_parent: pl.DataFrame) -> pl.DataFrame:
    """Pairs of parents a region has at one level in the same year (null years are open-ended): none is right."""
    a = region_parent.select("region_code", "parent_level", "parent_code", "valid_from_year", "valid_to_year")
    pairs = a.join(a, on=["region_code", "parent_level"], suffix="_other").filter(
        pl.col("parent_code") < pl.col("parent_code_other"),
        pl.col("valid_from_year").fill_null(-9999) <= pl.col("valid_to_year_other").fill_null(9999),
        pl.col("valid_from_year_other").fill_null(-9999) <= pl.col("valid_to_year").fill_null(9999))
    return pairs.select("region_code", "parent_level", "parent_code", pl.col("parent_code_other").alias("other_parent"))


def custom_region_table(config: RegionConfig) -> pl.DataFrame:
    """One row per custom region, member list and member, with the years the member belongs to it."""
    return pl.DataFrame([dict(region_id=r.id, name=r.name, member_code=m.code, description=r.description,
                              member_set=member_set, valid_from_year=m.valid_from, valid_to_year=m.valid_to)
                         for r in config.regions for member_set, members in r.member_sets().items()
                         for m in members], schema=CUSTOM_REGION_SCHEMA)
