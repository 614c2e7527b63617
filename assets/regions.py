"""Region assets: the hierarchy (parent per year), custom regions and the indicator catalogue."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import preview
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.indicators.catalogue import catalogue_frame, load_indicators
from regiostat.regions import hierarchy
from regiostat.regions.custom import RegionConfigError, load_region_config

REGION_PARENT = dg.AssetKey(["core", "region_parent"])
CUSTOM_REGION = dg.AssetKey(["core", "custom_region"])
DIM_INDICATOR = dg.AssetKey(["core", "dim_indicator"])


@dg.asset(key=REGION_PARENT, deps=[dg.AssetKey(["staging", "observations"])], group_name="core",
          kinds={"duckdb", "polars"},
          description="The parent of each region per level (COROP, provincie, landsdeel, arbeidsmarktregio) with the "
                      "years it holds: snapshots from 70072NED (2015), the 2024 municipality-COROP list and v4 "
                      "RegioS DimensionGroupIds. valid_from_year null = also the years before the first snapshot.")
def region_parent(duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        memberships = pl.concat([
            warehouse.read_table(con, "raw.region_memberships").drop("table_id"),
            hierarchy.memberships_from_code_groups(warehouse.read_table(con, "raw.dimension_codes"),
                                                   warehouse.read_table(con, "raw.fetches")),
        ], how="diagonal_relaxed")
        intervals = hierarchy.parent_intervals(memberships)
        rows = warehouse.replace_rows(con, "core.region_parent", intervals)
    conflicts = intervals.group_by("region_code", "parent_level").len().filter(pl.col("len") > 1).height
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "regions_whose_parent_changed": conflicts,
                                          "preview": preview(intervals)})


@dg.asset_check(asset=REGION_PARENT, name="region_parent_one_per_year", blocking=True,
                description="For every region, level and year at most one parent.")
def region_parent_one_per_year(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        overlaps = con.sql("""
            SELECT a.region_code, a.parent_level, a.parent_code, b.parent_code AS other_parent
            FROM core.region_parent a JOIN core.region_parent b
              ON a.region_code = b.region_code AND a.parent_level = b.parent_level AND a.parent_code < b.parent_code
             AND coalesce(a.valid_from_year, -9999) <= coalesce(b.valid_to_year, 9999)
             AND coalesce(b.valid_from_year, -9999) <= coalesce(a.valid_to_year, 9999)""").pl()
    return dg.AssetCheckResult(passed=overlaps.height == 0, metadata={
        "overlaps": overlaps.height, "failure_cases": dg.MetadataValue.json(overlaps.head(50).to_dicts())})


@dg.asset(key=CUSTOM_REGION, deps=[dg.AssetKey(["core", "dim_region"])], group_name="core", kinds={"duckdb"},
          description="Custom regions from config/regions.toml (e.g. Dutch TechZone, Oost-Nederland), every member "
                      "checked against the CBS region code list.")
def custom_region(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        known = {r for (r,) in con.execute("SELECT region_code FROM core.dim_region").fetchall()}
        try:
            config = load_region_config(settings.paths.regions_toml, known_codes=known)
        except RegionConfigError as exc:
            raise dg.Failure(str(exc)) from exc
        frame = pl.DataFrame([dict(region_id=r.id, name=r.name, member_code=m, description=r.description)
                              for r in config.regions for m in r.members],
                             schema={"region_id": pl.String, "name": pl.String, "member_code": pl.String,
                                     "description": pl.String})
        rows = warehouse.replace_rows(con, "core.custom_region", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "regions": len(config.regions)})


@dg.asset(key=DIM_INDICATOR, group_name="core", kinds={"duckdb"},
          description="The indicator catalogue (config/indicators.toml): code, Dutch and English name, unit, "
                      "definition, aggregation rule and sources.")
def dim_indicator(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    frame = catalogue_frame(load_indicators(settings.paths.indicators_toml))
    with duckdb.get_connection() as con:
        warehouse.ensure_schema(con, settings.paths.schema_sql)
        rows = warehouse.replace_rows(con, "core.dim_indicator", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": preview(frame)})


def region_assets() -> list:
    return [region_parent, region_parent_one_per_year, custom_region, dim_indicator]
