"""Staging: one typed long observation table across every source, every vintage kept, and the views over it."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import WRITER_POOL, preview, split_checks, table_checks
from assets.sources import raw_keys
from pipelines.resources import RegiostatSettings, rebuild_all
from regiostat import warehouse
from regiostat.model import staging, state
from regiostat.model.layout import declared_tables
from regiostat.paths import ProjectPaths
from regiostat.publish.versions import PointerError, read_catalog

STAGED = dg.AssetKey(["staging", "observations"])


def _published(con, settings: RegiostatSettings) -> bool:
    """Whether the published warehouse is this build database, built from the inputs it has now: then nothing after
    staging needs to run. Any doubt (no record, another build published since, a build that never got published,
    changed configuration) means no."""
    record = state.read_published(settings.published_inputs_path)
    if record is None or record.get("inputs") != state.build_inputs(con, settings.config_fingerprint()):
        return False
    built = con.execute("SELECT build_id FROM meta.build_info").fetchall()
    try:
        catalog = read_catalog(settings.publish_path)
    except PointerError:
        return False
    current = catalog.record(catalog.current) if catalog is not None and catalog.current else None
    return (built == [(record.get("build_id"),)] and current is not None and current.build_id == record["build_id"]
            and Path(settings.publish_path).exists())


def definitions(paths: ProjectPaths) -> dg.Definitions:
    @dg.asset(key=STAGED, deps=raw_keys(paths), group_name="staging", kinds={"duckdb", "sql"}, pool=WRITER_POOL,
              output_required=False,
              description="Typed long observations of every source: one row per table, measure, region, period "
                          "and other dimension codes and vintage, with its source_kind; v3 padding trimmed, values "
                          "multiplied out, status, reference date and attribution attached. The staging views "
                          "of schema.sql (staging.lisa_observations) read it. Only tables whose raw rows changed "
                          "are staged again; when nothing changed since the last publish (data and configuration), "
                          "it materializes nothing and every later step is skipped.")
    def observations(context: dg.AssetExecutionContext, settings: RegiostatSettings, duckdb: DuckDBResource):
        with duckdb.get_connection() as con:
            warehouse.ensure_schema(con, settings.paths.schema_sql)
            done = staging.refresh(con, force=rebuild_all(context))
            if not done.changed and _published(con, settings):
                context.log.info("nothing changed since the last publish (no table's raw rows, no configuration): "
                                 "the later steps are skipped")
                return
            summary = staging.summary(con)
            rows = warehouse.row_count(con, "staging.observations")
            head = con.sql("SELECT * FROM staging.observations WHERE is_latest LIMIT 10").pl()
        yield dg.MaterializeResult(metadata={
            "dagster/row_count": rows, **summary, "restaged_tables": ", ".join(done.restaged)[:500],
            "removed_tables": ", ".join(done.removed), "preview": preview(head)})

    return split_checks([observations, table_checks(STAGED, declared_tables(paths.schema_sql, "staging"))])
