"""Turning pandera results into Dagster asset check results a person can read."""

import dagster as dg
import pandera.polars as pa
import polars as pl

from schemas.validation import ValidationResult, validate


def check_result(result: ValidationResult, **metadata: object) -> dg.AssetCheckResult:
    meta: dict[str, object] = {"rows_checked": result.rows, "failures": len(result.failure_cases), **metadata}
    if not result.passed:
        meta["failure_cases"] = dg.MetadataValue.json(result.failure_cases[:50])
        meta["summary"] = dg.MetadataValue.md("```\n" + result.summary(limit=10) + "\n```")
    return dg.AssetCheckResult(passed=result.passed, metadata=meta,
                               description=None if result.passed else result.summary(limit=3))


def pandera_check(schema: type[pa.DataFrameModel], frame: pl.DataFrame, **metadata: object) -> dg.AssetCheckResult:
    return check_result(validate(schema, frame), schema=schema.__name__, **metadata)


def preview(frame: pl.DataFrame, rows: int = 10) -> dg.MetadataValue:
    head = frame.head(rows)
    header = "| " + " | ".join(head.columns) + " |\n|" + "---|" * len(head.columns) + "\n"
    body = "".join("| " + " | ".join("" if v is None else str(v) for v in r) + " |\n" for r in head.iter_rows())
    return dg.MetadataValue.md(header + body)


def json_metadata(report: dict[str, object]) -> dict[str, object]:
    """A library's plain report as run metadata: lists and dicts shown as JSON."""
    return {k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v for k, v in report.items()}
