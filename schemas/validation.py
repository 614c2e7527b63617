"""Run a pandera schema and turn its failures into rows a person can read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

# Columns that identify a row for a human: where it came from, and which figure it is.
CONTEXT_COLUMNS = ("ID", "Id", "table_id", "source_path", "source_row", "measure_id", "measure_code", "region_code",
                   "period_code", "region_raw", "period_raw")


@dataclass
class ValidationResult:
    schema: str
    rows: int
    failure_cases: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failure_cases

    def summary(self, limit: int = 5) -> str:
        if self.passed:
            return f"{self.schema}: {self.rows} rows passed"
        lines = [f"{self.schema}: {len(self.failure_cases)} failure(s) in {self.rows} rows"]
        for case in self.failure_cases[:limit]:
            where = ", ".join(f"{k}={case[k]}" for k in CONTEXT_COLUMNS if case.get(k) is not None)
            lines.append(f"  row {case['row']}: column {case['column']!r} value {case['value']!r} "
                         f"fails {case['check']}" + (f" ({where})" if where else ""))
        return "\n".join(lines)


def validate(schema: type[pa.DataFrameModel] | pa.DataFrameSchema, frame: pl.DataFrame,
             *, max_cases: int = 200) -> ValidationResult:
    """Validate a collected frame (pandera checks values only on DataFrames, not LazyFrames)."""
    name = getattr(schema, "__name__", None) or getattr(schema, "name", None) or "schema"
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        return ValidationResult(name, frame.height, _cases(exc.failure_cases, frame, max_cases))
    except SchemaError as exc:  # raised without lazy collection for some schema-level errors
        return ValidationResult(name, frame.height, [dict(row=None, column=str(exc.column_name or ""),
                                                          check=str(exc.check), value=str(exc.failure_cases))])
    return ValidationResult(name, frame.height)


def _cases(failures: pl.DataFrame, frame: pl.DataFrame, max_cases: int) -> list[dict]:
    cases = []
    context = [c for c in CONTEXT_COLUMNS if c in frame.columns]
    for f in failures.head(max_cases).iter_rows(named=True):
        row = f.get("index")
        case = dict(row=row, column=f.get("column"), check=str(f.get("check")), value=f.get("failure_case"))
        if row is not None and 0 <= row < frame.height:
            case.update({c: frame[row, c] for c in context})
        cases.append(case)
    return cases
