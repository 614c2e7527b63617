"""The published warehouse: the build database, copied and atomically swapped in after every check passed."""

import uuid
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import WRITER_POOL
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.model import state
from regiostat.publish import docs
from regiostat.publish import release as publish

PUBLISHED = dg.AssetKey(["published", "regional_warehouse"])
READER_LAYERS = ("core", "marts", "reconcile")  # the layers whose every step publishing waits for


def definitions(upstream: list[dg.AssetKey]) -> dg.Definitions:
    """The publish step, downstream of ``upstream``: every step of the layers readers see."""

    @dg.asset(key=PUBLISHED, deps=[k for k in upstream if k.path[0] in READER_LAYERS],
              group_name="publish", kinds={"duckdb"}, pool=WRITER_POOL,
              description="warehouse/regional.duckdb: the read-only copy analysts and dashboards open. Runs only "
                          "after every upstream blocking check passed; replaced atomically, old versions kept.")
    def regional_warehouse(context: dg.AssetExecutionContext, settings: RegiostatSettings,
                           duckdb: DuckDBResource) -> dg.MaterializeResult:
        return _publish(context, settings, duckdb)

    return dg.Definitions(assets=[regional_warehouse])


def _publish(context: dg.AssetExecutionContext, settings: RegiostatSettings,
             duckdb: DuckDBResource) -> dg.MaterializeResult:
    build_id = context.run_id or uuid.uuid4().hex
    with duckdb.get_connection() as con:
        applied = docs.apply_comments(con, docs.load_docs(settings.paths))  # after the last CREATE OR REPLACE
        con.execute("DELETE FROM meta.build_info")
        con.execute("INSERT INTO meta.build_info VALUES (?, ?, ?, ?, ?)",
                    [build_id, datetime.now(UTC).replace(tzinfo=None),
                     warehouse.SCHEMA_VERSION, settings.mode, settings.landing_dir])
        con.execute("CHECKPOINT")
    # the build as the writers' resource names it (a file today; any catalog DuckDB attaches, e.g. a DuckLake,
    # without a change here: docs/scaling.md), not a second copy of its location
    result = publish.publish(duckdb.database, settings.publish_path, keep=settings.keep_versions,
                             duckdb_config=settings.duckdb_config)
    with duckdb.get_connection() as con:  # only now: a refresh skips work only once its inputs were published
        inputs = state.build_inputs(con, settings.config_fingerprint())
    state.write_published(settings.published_inputs_path, inputs=inputs, build_id=build_id)
    if applied.undocumented or applied.unknown:  # tests/test_contract.py fails on these; a run only says so
        context.log.warning(f"published without docs: {', '.join(applied.undocumented)[:500]}; docs naming no "
                            f"column: {', '.join(applied.unknown)[:500]} (warehouse/<layer>.toml, "
                            "warehouse/marts/<name>.toml)")
    for repair in result.repaired:  # a dead writer's .wal moved aside: said loudly, it means someone wrote to it
        context.log.warning(repair)
    context.log.info(f"published {result.path} ({result.fact_rows} fact rows, version {result.version_path.name}, "
                     f"storage {result.storage_version})")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.path)),
        "version": dg.MetadataValue.path(str(result.version_path)),
        "fact_rows": result.fact_rows,
        "versions_kept": len(publish.list_versions(result.path)),
        "storage_version": result.storage_version,
        "repaired": dg.MetadataValue.json(list(result.repaired)),
        "comments": applied.comments,
        "undocumented": dg.MetadataValue.json(list(applied.undocumented)),
    })
