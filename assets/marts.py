"""Mart assets: one per SQL file in warehouse/marts/ (add a file, get an asset)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from assets.core import CORE_KEYS
from pipelines.resources import BuildLock
from regiostat import warehouse
from schemas.core import JobsMart

MART_SCHEMAS = {"jobs_by_sector_region_year": JobsMart}


def _first_comment(name: str) -> str:
    lines = (warehouse.MART_DIR / f"{name}.sql").read_text().splitlines()
    return " ".join(line.removeprefix("--").strip() for line in lines if line.startswith("--")) or name


def _mart(name: str) -> list:
    key = dg.AssetKey(["marts", name])

    @dg.asset(key=key, deps=CORE_KEYS, group_name="marts", kinds={"duckdb", "sql"}, description=_first_comment(name),
              metadata={"sql_file": f"warehouse/marts/{name}.sql"})
    def _asset(duckdb: DuckDBResource, build_lock: BuildLock) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            rows = warehouse.build_mart(con, name)
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


def mart_assets() -> list:
    return [d for name in warehouse.mart_names() for d in _mart(name)]


MART_KEYS = [dg.AssetKey(["marts", name]) for name in warehouse.mart_names()]
