"""Staging: one typed long observation table across every source, every vintage kept, and the views over it."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import preview, split_checks, table_checks
from assets.sources import raw_keys
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.model import staging
from regiostat.model.layout import declared_tables
from regiostat.paths import ProjectPaths

STAGED = dg.AssetKey(["staging", "observations"])


def definitions(paths: ProjectPaths) -> dg.Definitions:
    @dg.asset(key=STAGED, deps=raw_keys(paths), group_name="staging", kinds={"duckdb", "polars"},
              description="Typed long observations of every source: one row per table, measure, region, period "
                          "and other dimension codes and vintage, with its source_kind; v3 padding trimmed, values "
                          "multiplied out, status, reference date and attribution attached. The staging views "
                          "of schema.sql (staging.lisa_observations) read it.")
    def observations(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            warehouse.ensure_schema(con, settings.paths.schema_sql)
            rows = staging.stage_tables(con)
            summary = staging.summary(con)
            head = con.sql("SELECT * FROM staging.observations WHERE is_latest LIMIT 10").pl()
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, **summary, "preview": preview(head)})

    return split_checks([observations, table_checks(STAGED, declared_tables(paths.schema_sql, "staging"))])
