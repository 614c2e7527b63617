"""The published warehouse: the build database, copied and atomically swapped in after every check passed."""

import uuid
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.core import CORE_KEYS
from assets.harmonised import HARMONISED
from assets.profile import PROFILE
from assets.reconcile import RECONCILIATION
from assets.regions import CUSTOM_REGION, DIM_INDICATOR, REGION_PARENT
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.publish import release as publish

PUBLISHED = dg.AssetKey(["published", "regional_warehouse"])


def published_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publish step, downstream of every table readers see."""

    @dg.asset(key=PUBLISHED, deps=[*CORE_KEYS, REGION_PARENT, CUSTOM_REGION, DIM_INDICATOR, *mart_keys, PROFILE,
                                   HARMONISED, RECONCILIATION],
              group_name="publish", kinds={"duckdb"},
              description="warehouse/regional.duckdb: the read-only copy analysts and dashboards open. Runs only "
                          "after every upstream blocking check passed; replaced atomically, old versions kept.")
    def regional_warehouse(context: dg.AssetExecutionContext, settings: RegiostatSettings,
                           duckdb: DuckDBResource) -> dg.MaterializeResult:
        return _publish(context, settings, duckdb)

    return regional_warehouse


def _publish(context: dg.AssetExecutionContext, settings: RegiostatSettings,
             duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        con.execute("DELETE FROM meta.build_info")
        con.execute("INSERT INTO meta.build_info VALUES (?, ?, ?, ?, ?)",
                    [context.run_id or uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None),
                     warehouse.SCHEMA_VERSION, settings.mode, settings.landing_dir])
        con.execute("CHECKPOINT")
    result = publish.publish(settings.build_db, settings.publish_path, keep=settings.keep_versions)
    context.log.info(f"published {result.path} ({result.fact_rows} fact rows)")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.path)),
        "version": dg.MetadataValue.path(str(result.version_path)),
        "fact_rows": result.fact_rows,
        "versions_kept": len(publish.list_versions(result.path)),
    })
