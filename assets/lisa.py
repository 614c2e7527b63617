"""LISA-style employment-register exports: land, quarantine the broken ones, stage the rest.

Files arrive by hand (CSV, TSV, XLSX) in an inbox folder. Each is checked on its own: a broken
file is moved aside to the quarantine folder with a note naming the file, row and rule, and the
others still load. A sensor watches the inbox and starts a run when a file appears or changes.
"""

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from pipelines.resources import BuildLock, RegiostatSettings
from regiostat import warehouse
from regiostat.indicators.values import LISA_SCHEMA
from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from regiostat.sources.lisa.errors import LisaFileError
from regiostat.sources.lisa.landing import land_lisa_file
from regiostat.sources.lisa.names import municipality_lookup_from_codes
from regiostat.sources.lisa.reader import read_lisa_export
from schemas.staging import LisaObservations

LISA_LANDING = dg.AssetKey(["landing", "lisa_exports"])
LISA_STAGED = dg.AssetKey(["staging", "lisa_observations"])
LISA_FILE_TYPES = {".csv", ".tsv", ".txt", ".xlsx"}
# indicators.LISA_SCHEMA plus the reference date (1 April), in the column order of staging.lisa_observations
STAGED_SCHEMA = {**{c: t for c, t in LISA_SCHEMA.items() if c != "attribution"}, "reference_date": pl.Date,
                 "attribution": LISA_SCHEMA["attribution"]}


def lisa_frame(con) -> pl.DataFrame:
    """staging.lisa_observations in the shape the indicator readers take."""
    return warehouse.read_table(con, "staging.lisa_observations").select(list(LISA_SCHEMA))


def municipality_lookup(zone: LandingZone) -> pl.DataFrame:
    """Names -> GM codes from the newest CBS v4 RegioS code list in the landing zone."""
    lists = [e for e in zone.entries() if e.source == "cbs_v4" and e.entity == "RegioSCodes"]
    if not lists:
        raise dg.Failure("LISA files name municipalities, and no CBS RegioS code list is in the landing zone to "
                         "look them up: materialize landing/cbs_03759ned first")
    return municipality_lookup_from_codes(zone.read_bytes(lists[-1]))


def inbox_files(settings: RegiostatSettings) -> list[Path]:
    folders = [Path(settings.lisa_inbox_dir)] + ([Path(settings.bundled_lisa_dir)] if settings.mode == "bundled"
                                                 else [])
    return sorted(p for folder in folders if folder.is_dir() for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in LISA_FILE_TYPES)


def quarantine(path: Path, error: LisaFileError, quarantine_dir: Path) -> Path:
    """Copy a refused file aside with the reason; the inbox copy stays for the user to fix."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    target = quarantine_dir / f"{digest}-{path.name if not path.name.startswith('.') else 'file'}"
    shutil.copyfile(path, target)
    target.with_name(target.name + ".error.json").write_text(json.dumps(
        {"file": str(path), "rule": error.rule, "row": error.row, "column": error.column, "message": str(error)},
        indent=1))
    return target


@dg.asset(key=LISA_LANDING, deps=[dg.AssetKey(["landing", "cbs_03759ned"])], group_name="landing",
          kinds={"python", "csv"},
          description="LISA-style exports from the inbox (and, in bundled mode, the real LISA files shipped in "
                      "data/bundled/lisa) checked and landed as received; broken files quarantined with a reason.")
def lisa_exports(context: dg.AssetExecutionContext, settings: RegiostatSettings,
                 build_lock: BuildLock) -> dg.MaterializeResult:
    zone = LandingZone(settings.landing_dir)
    lookup = municipality_lookup(zone)
    landed, refused = [], []
    for path in inbox_files(settings):
        try:
            entry = land_lisa_file(zone, path, municipalities=lookup)
            landed.append({"file": path.name, "fetch_id": entry.fetch_id, "rows": entry.rows})
        except LisaFileError as exc:
            target = quarantine(path, exc, Path(settings.quarantine_dir))
            context.log.warning(f"quarantined {path.name}: {exc}")
            refused.append({"file": path.name, "rule": exc.rule, "row": exc.row, "column": exc.column,
                            "message": str(exc), "quarantined_as": str(target)})
    return dg.MaterializeResult(metadata={
        "files_landed": len(landed), "files_quarantined": len(refused),
        "landed": dg.MetadataValue.json(landed), "quarantined": dg.MetadataValue.json(refused),
    })


@dg.asset(key=LISA_STAGED, deps=[LISA_LANDING], group_name="staging", kinds={"duckdb", "polars"},
          description="Every landed LISA export as tidy rows (municipality code, year, measure, sector, value), "
                      "with its reference date (1 April) and attribution 'Bron: LISA <year>'. Where two files give "
                      "the same figure, the file landed last wins.")
def lisa_observations(settings: RegiostatSettings, duckdb: DuckDBResource,
                      build_lock: BuildLock) -> dg.MaterializeResult:
    zone = LandingZone(settings.landing_dir)
    lookup = municipality_lookup(zone)
    frames = []
    for done in [e for e in zone.entries() if e.table_id == "LISA" and e.entity == COMPLETE_ENTITY]:
        for entry in zone.pages_of(done.fetch_id):
            export = read_lisa_export(zone.read_bytes(entry), entry.origin, municipalities=lookup)
            frames.append(export.observations.with_columns(
                pl.lit(entry.origin).alias("source_file"), pl.lit(entry.fetch_id).alias("fetch_id"),
                pl.date(pl.col("year"), 4, 1).alias("reference_date"),  # LISA counts on 1 April
                pl.format("Bron: LISA {}", pl.col("year")).alias("attribution"),
                pl.lit(len(frames)).alias("_order")))
    key = ["region_code", "year", "measure", "sector"]
    staged = (pl.concat(frames, how="diagonal_relaxed").sort("_order", descending=True)
              .unique(key, keep="first", maintain_order=True).drop("_order")
              .select([pl.col(c).cast(t) for c, t in STAGED_SCHEMA.items()])
              if frames else pl.DataFrame(schema=STAGED_SCHEMA))
    with duckdb.get_connection() as con:
        warehouse.ensure_schema(con, settings.paths.schema_sql)
        rows = warehouse.replace_rows(con, "staging.lisa_observations", staged)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "files": len(frames),
                                          "preview": preview(staged)})


@dg.asset_check(asset=LISA_STAGED, name="lisa_observations_valid", blocking=True,
                description="pandera: municipality codes resolved, years plausible, counts non-negative, one row "
                            "per municipality, year, measure and sector, attribution kept.")
def lisa_observations_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return pandera_check(LisaObservations, warehouse.read_table(con, "staging.lisa_observations"))


def _inbox_state(settings: RegiostatSettings) -> dict[str, list[int]]:
    return {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in inbox_files(settings)}


def lisa_inbox_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts the LISA job when a file appears in, or changes in, the LISA inbox folder.")
    def lisa_inbox(context: dg.SensorEvaluationContext, settings: RegiostatSettings):
        seen = json.loads(context.cursor) if context.cursor else {}
        now = _inbox_state(settings)
        changed = sorted(p for p, state in now.items() if seen.get(p) != state)
        context.update_cursor(json.dumps(now))
        if not changed:
            return dg.SkipReason(f"no new or changed files in {settings.lisa_inbox_dir}")
        key = hashlib.sha256(json.dumps({p: now[p] for p in changed}).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=key, tags={"regiostat/lisa_files": ", ".join(Path(p).name for p in changed)[:200]})

    return lisa_inbox


def lisa_assets() -> list:
    return [lisa_exports, lisa_observations, lisa_observations_valid]
