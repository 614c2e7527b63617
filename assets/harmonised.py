"""Municipal series on fixed boundaries: mergers summed, splits and transfers weighted, every value flagged."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import preview
from assets.core import FACT
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.values import indicator_values
from regiostat.regions.custom import load_region_config
from regiostat.regions.harmonisation import harmonise_indicators

HARMONISED = dg.AssetKey(["marts", "municipal_series_harmonised"])


@dg.asset(key=HARMONISED, deps=[FACT, dg.AssetKey(["core", "boundary_change"]),
                                dg.AssetKey(["core", "dim_period"])],
          group_name="marts", kinds={"duckdb", "polars"},
          description="Additive municipal indicators on the municipal map of each boundary year in "
                      "config/regions.toml: converted values are flagged with method (merger_sum, split_weighted, "
                      "transfer_weighted, renamed) and weight; marts.municipal_series_contributions lists what each "
                      "old municipality contributed.")
def municipal_series_harmonised(context: dg.AssetExecutionContext, settings: RegiostatSettings,
                                duckdb: DuckDBResource) -> dg.MaterializeResult:
    indicators = load_indicators(settings.paths.indicators_toml)
    config = load_region_config(settings.paths.regions_toml)
    additive = [c for c, i in indicators.items() if i.aggregation == "sum"]
    with duckdb.get_connection() as con:
        published = indicator_values(indicators, warehouse.facts_with_year(con))
        changes = warehouse.read_table(con, "core.boundary_change")
        series, parts, skipped = harmonise_indicators(published, changes, additive=additive,
                                                      boundary_years=config.boundary_years, weight=config.weight)
        observed = published.select("indicator", "region_code", "year", pl.col("value").alias("published_value"),
                                    pl.col("source_table"))
        series = series.join(observed, on=["indicator", "region_code", "year"], how="left")
        warehouse.create_table_from(con, "marts.municipal_series_harmonised", series)
        warehouse.create_table_from(con, "marts.municipal_series_contributions", parts)
    for what, why in skipped.items():
        context.log.warning(f"not harmonised: {what}: {why}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": series.height, "converted_rows": int(series["converted"].sum()),
        "boundary_years": ", ".join(map(str, config.boundary_years)),
        "not_harmonised": dg.MetadataValue.json(skipped),
        "preview": preview(series.filter(pl.col("converted"))),
    })


@dg.asset_check(asset=HARMONISED, name="harmonised_totals_preserved", blocking=True,
                description="Per indicator, year and boundary year, the national total of the harmonised series "
                            "equals the total of the series before conversion (nothing created or lost).")
def harmonised_totals_preserved(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        gaps = con.sql("""
            WITH h AS (SELECT indicator, boundary_year, year, sum(value) AS harmonised_total
                       FROM marts.municipal_series_harmonised GROUP BY ALL),
                 c AS (SELECT indicator, boundary_year, year, sum(contributed_value) AS contributed_total
                       FROM marts.municipal_series_contributions GROUP BY ALL)
            SELECT * FROM h JOIN c USING (indicator, boundary_year, year)
            WHERE abs(harmonised_total - contributed_total) > 0.5""").pl()
    return dg.AssetCheckResult(passed=gaps.is_empty(), metadata={
        "mismatches": gaps.height, "failure_cases": dg.MetadataValue.json(gaps.head(20).to_dicts())})


def harmonised_assets() -> list:
    return [municipal_series_harmonised, harmonised_totals_preserved]
