"""Checks as Dagster sees them: one blocking pandera check per table a step writes, with the model
schemas.schema_for finds by the table's name, and results a person can read."""

from collections.abc import Sequence

import dagster as dg
import pandera.polars as pa
import polars as pl
from dagster_duckdb import DuckDBResource

from regiostat import warehouse
from schemas import schema_for
from schemas.validation import ValidationResult, validate_table

WRITER_POOL = "duckdb_writer"  # every step that opens the build database: one at a time where pools are limited


def check_result(result: ValidationResult, **metadata: object) -> dg.AssetCheckResult:
    meta: dict[str, object] = {"rows_checked": result.rows, "failures": len(result.failure_cases), **metadata}
    if not result.passed:
        meta["failure_cases"] = dg.MetadataValue.json(result.failure_cases[:50])
        meta["summary"] = dg.MetadataValue.md("```\n" + result.summary(limit=10) + "\n```")
    return dg.AssetCheckResult(passed=result.passed, metadata=meta,
                               description=None if result.passed else result.summary(limit=3))


def failures_check(failures: pl.DataFrame, **metadata: object) -> dg.AssetCheckResult:
    """Passed when a check's query found nothing; what it found is listed."""
    return dg.AssetCheckResult(passed=failures.is_empty(), metadata={
        "failures": failures.height, **metadata,
        "failure_cases": dg.MetadataValue.json(failures.head(50).to_dicts())})


def table_checks(asset: dg.AssetKey, tables: Sequence[str], *, non_empty: bool = False,
                 inputs: Sequence[str] | None = None) -> dg.AssetChecksDefinition:
    """One blocking check per table ``asset`` writes (named ``<table>_schema``, run together in one step): its
    pandera model, found by table name, holds over every row (schemas.validation.validate_table), and, with
    ``non_empty``, it has rows, unless none of its ``inputs`` (source table ids) is in the build: then it says
    "no input configured" and passes. A table without a model fails here, when the definitions load."""
    models = {table: schema_for(table) for table in tables}
    specs = [dg.AssetCheckSpec(_check_name(t), asset=asset, blocking=True, description=_describe(t, m, non_empty))
             for t, m in models.items()]

    @dg.multi_asset_check(specs=specs, name=f"{'__'.join(asset.path)}__table_schemas", pool=WRITER_POOL)
    def _checks(duckdb: DuckDBResource):
        with duckdb.get_connection() as con:
            for table, model in models.items():
                yield _table_check(con, asset, table, model, non_empty=non_empty, inputs=inputs)

    return _checks


def _table_check(con, asset: dg.AssetKey, table: str, model: type[pa.DataFrameModel], *, non_empty: bool,
                 inputs: Sequence[str] | None) -> dg.AssetCheckResult:
    name = _check_name(table)
    if non_empty and warehouse.row_count(con, table) == 0:
        present = warehouse.source_tables_present(con, inputs) if inputs else None
        if present == set():
            return dg.AssetCheckResult(asset_key=asset, check_name=name, passed=True,
                                       metadata={"rows_checked": 0, "no_input_configured": ", ".join(inputs)},
                                       description=f"no input configured: {table} reads {', '.join(inputs)}, "
                                                   "and none of them is in this build")
        return dg.AssetCheckResult(asset_key=asset, check_name=name, passed=False, description=f"{table} is empty")
    result = check_result(validate_table(con, model, table), schema=model.__name__)
    return dg.AssetCheckResult(asset_key=asset, check_name=name, passed=result.passed,
                               metadata=result.metadata, description=result.description)


def _check_name(table: str) -> str:
    return f"{table.split('.')[1]}_schema"


def _describe(table: str, model: type[pa.DataFrameModel], non_empty: bool) -> str:
    purpose = (model.__doc__ or "").strip().split("\n")[0]
    return (f"pandera {model.__name__} on {table}" + (f": {purpose}" if purpose else "")
            + ("; and it is not empty" if non_empty else ""))


def preview(frame: pl.DataFrame, rows: int = 10) -> dg.MetadataValue:
    head = frame.head(rows)
    header = "| " + " | ".join(head.columns) + " |\n|" + "---|" * len(head.columns) + "\n"
    body = "".join("| " + " | ".join("" if v is None else str(v) for v in r) + " |\n" for r in head.iter_rows())
    return dg.MetadataValue.md(header + body)


def json_metadata(report: dict[str, object]) -> dict[str, object]:
    """A library's plain report as run metadata: lists and dicts shown as JSON."""
    return {k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v for k, v in report.items()}


def split_checks(definitions: list) -> dg.Definitions:
    """Definitions from a list of assets and checks."""
    checks = [d for d in definitions if isinstance(d, dg.AssetChecksDefinition)]
    return dg.Definitions(assets=[d for d in definitions if d not in checks], asset_checks=checks)
