"""Mart assets: one per SQL file in warehouse/marts/ (add a file, get an asset)."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from assets.core import CORE_KEYS
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.paths import ProjectPaths
from schemas.core import JobsMart

MART_SCHEMAS = {"jobs_by_sector_region_year": JobsMart}


def _first_comment(sql_file: Path) -> str:
    lines = sql_file.read_text().splitlines()
    return " ".join(line.removeprefix("--").strip() for line in lines if line.startswith("--")) or sql_file.stem


def _mart(name: str, marts_dir: Path) -> list:
    key = dg.AssetKey(["marts", name])

    @dg.asset(key=key, deps=CORE_KEYS, group_name="marts", kinds={"duckdb", "sql"},
              description=_first_comment(marts_dir / f"{name}.sql"),
              metadata={"sql_file": f"warehouse/marts/{name}.sql"})
    def _asset(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            rows = warehouse.build_mart(con, name, settings.paths.marts_dir)
            head = con.sql(f"SELECT * FROM marts.{warehouse.quote_ident(name)} LIMIT 10").pl()
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": preview(head)})

    @dg.asset_check(asset=key, name=f"{name}_valid", blocking=True,
                    description="The mart is not empty and, where a schema exists, passes it.")
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            frame = warehouse.read_table(con, f"marts.{name}")
        if frame.height == 0:
            return dg.AssetCheckResult(passed=False, description=f"marts.{name} is empty")
        schema = MART_SCHEMAS.get(name)
        if schema is None:
            return dg.AssetCheckResult(passed=True, metadata={"rows_checked": frame.height})
        return pandera_check(schema, frame)

    return [_asset, _check]


def mart_assets(paths: ProjectPaths) -> list:
    return [d for name in warehouse.mart_names(paths.marts_dir) for d in _mart(name, paths.marts_dir)]
