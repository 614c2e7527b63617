"""The regional profile: every indicator for every region level and custom region, with rule and coverage."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from assets.core import FACT
from assets.regions import CUSTOM_REGION, DIM_INDICATOR, REGION_PARENT
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.values import indicator_values
from regiostat.regions.aggregate import build_profile, hierarchy_members
from regiostat.regions.custom import load_region_config
from schemas.core import RegionalProfile

PROFILE = dg.AssetKey(["marts", "regional_profile"])


def municipalities_by_year(con, years: list[int]) -> pl.DataFrame:
    """(municipality, year) pairs that existed on 1 January of the year, by CBS's begin and abolition dates."""
    con.register("_years", pl.DataFrame({"year": years}, schema={"year": pl.Int64}).to_arrow())
    try:
        return con.sql("""
            SELECT r.region_code, y.year
            FROM core.dim_region r CROSS JOIN _years y
            WHERE r.region_level = 'gemeente' AND r.group_id IS DISTINCT FROM 'OVERIG'
              AND (r.begin_date IS NULL OR r.begin_date <= make_date(y.year::INT, 1, 1))
              AND (r.abolished_date IS NULL OR r.abolished_date > make_date(y.year::INT, 1, 1))
        """).pl()
    finally:
        con.unregister("_years")


@dg.asset(key=PROFILE, deps=[FACT, REGION_PARENT, CUSTOM_REGION, DIM_INDICATOR,
                             dg.AssetKey(["core", "dim_period"]), dg.AssetKey(["core", "dim_region"])],
          group_name="marts", kinds={"duckdb", "polars"},
          description="Long profile: region x year x indicator, for municipalities, COROP regions, provinces, "
                      "landsdelen, the country and custom regions. method says whether the value is published, "
                      "a sum of members or a ratio of sums; coverage says how many members had data. Also builds "
                      "the view marts.regional_profile_wide.")
def regional_profile(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    indicators = load_indicators(settings.paths.indicators_toml)
    with duckdb.get_connection() as con:
        published = indicator_values(indicators, warehouse.facts_with_year(con))
        years = published["year"].unique().sort().to_list()
        hierarchy = hierarchy_members(warehouse.read_table(con, "core.region_parent"),
                                      municipalities_by_year(con, years))
        regions = load_region_config(settings.paths.regions_toml).regions
        profile = build_profile(indicators, published, hierarchy, regions)
        names = con.sql("""
            SELECT region_code, region_name, region_level FROM core.dim_region
            UNION ALL SELECT DISTINCT region_id, name, 'custom' FROM core.custom_region""").pl()
        meta = warehouse.read_table(con, "core.dim_indicator").select(
            pl.col("code").alias("indicator"), pl.col("name_nl").alias("indicator_name"), "unit", "rule")
        frame = (profile.join(names, on="region_code", how="left").join(meta, on="indicator", how="left")
                 .with_columns(pl.when(pl.col("members_expected").is_null()).then(True)
                               .otherwise(pl.col("members_with_data") == pl.col("members_expected"))
                               .alias("is_complete"))
                 .select("region_code", "region_name", "region_level", "year", "indicator", "indicator_name",
                         "value", "unit", "method", "rule", "members_with_data", "members_expected", "is_complete",
                         "missing_members", "source_tables"))
        warehouse.create_table_from(con, "marts.regional_profile", frame)
        wide_rows = warehouse.build_mart(con, "regional_profile_wide", settings.paths.views_dir)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": frame.height, "wide_rows": wide_rows, "indicators": frame["indicator"].n_unique(),
        "preview": preview(frame.filter(pl.col("region_level") == "custom")),
    })


@dg.asset_check(asset=PROFILE, name="regional_profile_valid", blocking=True,
                description="pandera: one row per region, year and indicator; coverage never above 100%; every "
                            "region named; shares within 0-100.")
def regional_profile_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return pandera_check(RegionalProfile, warehouse.read_table(con, "marts.regional_profile"))


def profile_assets() -> list:
    return [regional_profile, regional_profile_valid]
