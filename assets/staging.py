"""Staging asset: one typed long observation table across every source, every vintage kept."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from regiostat import warehouse
from regiostat.model import staging
from schemas.staging import LisaObservations, StagedObservations

STAGED = dg.AssetKey(["staging", "observations"])


def staging_assets(raw_keys: list[dg.AssetKey]):
    @dg.asset(key=STAGED, deps=raw_keys, group_name="staging", kinds={"duckdb", "polars"},
              description="Typed long observations of every source: one row per table, measure, region, period "
                          "and other dimension codes and vintage, with its source_kind; v3 padding trimmed, values "
                          "multiplied out, status, reference date and attribution attached.")
    def observations(duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            staged = staging.stage_observations(
                warehouse.read_table(con, "raw.observations"), warehouse.read_table(con, "raw.measures"),
                warehouse.read_table(con, "raw.dimension_codes"), warehouse.read_table(con, "raw.fetches"))
            rows = warehouse.replace_rows(con, "staging.observations", staged)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": rows,
            "latest_rows": int(staged["is_latest"].sum()),
            "tables": staged["table_id"].n_unique(),
            "preview": preview(staged.filter(staged["is_latest"])),
        })

    @dg.asset_check(asset=STAGED, name="staged_observations_schema", blocking=True,
                    description="pandera: codes trimmed and valid, value present exactly when ValueAttribute is "
                                "None, values multiplied out correctly, one latest row per key.")
    def staged_check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return pandera_check(StagedObservations, warehouse.read_table(con, "staging.observations"))

    @dg.asset_check(asset=STAGED, name="lisa_observations_schema", blocking=True,
                    description="pandera on the view staging.lisa_observations: municipality codes resolved, "
                                "counts non-negative, one row per municipality, year, measure and sector, "
                                "1 April, attribution.")
    def lisa_check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return pandera_check(LisaObservations, warehouse.read_table(con, "staging.lisa_observations"))

    return [observations, staged_check, lisa_check]
