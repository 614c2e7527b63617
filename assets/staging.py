"""Staging asset: one typed long observation table across all CBS tables, every vintage kept."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from pipelines.resources import BuildLock
from regiostat import warehouse
from regiostat.model import staging
from schemas.staging import StagedObservations

STAGED = dg.AssetKey(["staging", "observations"])


def staging_assets(raw_keys: list[dg.AssetKey]):
    @dg.asset(key=STAGED, deps=raw_keys, group_name="staging", kinds={"duckdb", "polars"},
              description="Typed long observations: one row per table, measure, region, period and other "
                          "dimension codes and vintage; v3 padding trimmed, values multiplied out, status attached.")
    def observations(duckdb: DuckDBResource, build_lock: BuildLock) -> dg.MaterializeResult:
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

    return [observations, staged_check]
