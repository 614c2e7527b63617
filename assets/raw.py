"""Raw assets: every complete fetch of a table, parsed but untouched (codes padded, values as text)."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import check_result, preview
from pipelines.resources import BuildLock, RegiostatSettings
from regiostat import warehouse
from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from regiostat.model import staging
from regiostat.sources.cbs.catalog import TableSpec
from regiostat.sources.cbs.readers import (
    CODE_COLUMNS,
    MEASURE_COLUMNS,
    MEMBERSHIP_COLUMNS,
    OBSERVATION_COLUMNS,
    CaptureError,
    concat_or_empty,
    read_capture,
)
from schemas.raw import RawDimensionCodes, RawMeasures, RawObservations
from schemas.validation import ValidationResult, validate


def raw_key(spec: TableSpec) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"cbs_{spec.asset_suffix}"])


def raw_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(spec),
        deps=[dg.AssetKey(["landing", f"cbs_{spec.asset_suffix}"])],
        group_name="raw",
        kinds={"duckdb", "polars"},
        description=f"CBS {spec.id} rows as landed, from every complete fetch (raw.observations and friends).",
        metadata={"cbs_table": spec.id},
    )
    def _raw(context: dg.AssetExecutionContext, settings: RegiostatSettings, duckdb: DuckDBResource,
             build_lock: BuildLock) -> dg.MaterializeResult:
        zone = LandingZone(settings.landing_dir)
        completes = [e for e in zone.entries() if e.table_id == spec.id and e.entity == COMPLETE_ENTITY]
        captures = []
        for done in completes:
            try:
                captures.append(read_capture(zone, zone.pages_of(done.fetch_id), spec))
            except (CaptureError, ValueError) as exc:
                raise dg.Failure(f"{spec.id} fetch {done.fetch_id}: {exc}",
                                 metadata={"fetch_id": done.fetch_id}) from exc
        # concat_or_empty: a table with no fetch yet (live-only tables) still gets frames of the right shape
        frames = {
            "raw.observations": concat_or_empty([c.observations for c in captures], OBSERVATION_COLUMNS),
            "raw.measures": concat_or_empty([c.measures for c in captures], MEASURE_COLUMNS),
            "raw.dimension_codes": concat_or_empty([c.codes for c in captures], CODE_COLUMNS),
            "raw.fetches": staging.fetch_table(completes),
            "raw.region_memberships": concat_or_empty([c.memberships for c in captures],
                                                      MEMBERSHIP_COLUMNS).with_columns(pl.lit(spec.id).alias("table_id")),
        }
        with duckdb.get_connection() as con:
            warehouse.ensure_schema(con, settings.paths.schema_sql)
            counts = {t: warehouse.replace_rows(con, t, f, where={"table_id": spec.id}) for t, f in frames.items()}
        skipped = sorted({c for cap in captures for c in cap.skipped_columns})
        context.log.info(f"{spec.id}: {counts}")
        return dg.MaterializeResult(metadata={
            **{f"rows_{t.split('.')[1]}": n for t, n in counts.items()},
            "fetches": len(captures),
            "columns_not_loaded": len(skipped),
            "preview": preview(frames["raw.observations"]),
        })

    @dg.asset_check(asset=raw_key(spec), name="raw_rows_match_source_format", blocking=True,
                    description="pandera: codes, periods, value text and measure metadata as the source format "
                                "promises; failure cases name the landed file and row.")
    def _raw_check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            results = [validate(schema, warehouse.read_table(con, table, where={"table_id": spec.id}))
                       for schema, table in [(RawObservations, "raw.observations"), (RawMeasures, "raw.measures"),
                                             (RawDimensionCodes, "raw.dimension_codes")]]
        merged = ValidationResult("raw", sum(r.rows for r in results),
                                  [dict(c, schema=r.schema) for r in results for c in r.failure_cases])
        return check_result(merged)

    return _raw, _raw_check
