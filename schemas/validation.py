"""Run a pandera schema and turn its failures into rows a person can read.

A warehouse table is validated where it lies (:func:`validate_table`): small tables whole by pandera, large
ones set-based in DuckDB, so a national table never sits in Python memory and every row is judged in one
scan: pandera checks the table's columns and dtypes, and every row rule runs as SQL
(:mod:`schemas.rules_sql`, the first failures with their rowid, file and row). Rules that compare rows with
each other run as SQL too: ``Config.unique`` and ``Field(unique=True)`` as a GROUP BY, and a
``@pa.dataframe_check`` marked with :func:`cross_row` as the SQL it carries.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from schemas.rules_sql import RowRule, float_columns, row_rules

WHOLE_ROWS = 50_000  # a table up to this size is checked whole by pandera; a larger one set-based in DuckDB
# Columns that identify a row for a human: where it came from (the raw step sets aside the fetch a failure
# names), and which figure it is.
CONTEXT_COLUMNS = ("ID", "Id", "table_id", "fetch_id", "source_path", "source_row", "measure_id", "measure_code",
                   "region_code", "period_code", "region_raw", "period_raw")


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


def cross_row(sql: str) -> Callable:
    """Mark a ``@pa.dataframe_check`` that compares rows with each other (e.g. one latest row per key).

    ``sql`` gives the same rule over a whole table: a query over ``{table}`` that returns one row per
    violation (the key columns, and whatever shows why). A large table, judged set-based, uses it instead of
    the check; small tables run the check itself. Put it under ``@pa.dataframe_check``.
    """
    def mark(fn: Callable) -> Callable:
        fn.__cross_row_sql__ = sql
        return fn
    return mark


def validate_table(con, model: type[pa.DataFrameModel], table: str, *, where: dict[str, str] | None = None,
                   whole_rows: int = WHOLE_ROWS, max_cases: int = 200) -> ValidationResult:
    """``model`` over every row of ``table`` (``schema.name``, optionally only rows matching ``where``) in the
    DuckDB connection ``con``: pandera over the whole frame when it has at most ``whole_rows`` rows, else
    set-based (columns and dtypes by pandera, row rules and rules across rows as SQL). A failure's ``row`` is
    the table's rowid when it was checked set-based."""
    source = _Source(con, table, where or {})
    try:
        if source.rows <= whole_rows:
            return validate(model, source.frame(), max_cases=max_cases)
        empty = source.frame(limit=0)
        shape = validate(_row_schema(model), empty, max_cases=max_cases)  # columns and dtypes
        if not shape.passed:
            return ValidationResult(model.__name__, source.rows, shape.failure_cases)
        rules = row_rules(model, skip=lambda name: _cross_row_sql(model, name) is not None,
                          float_columns=float_columns(empty.schema))
        cases = source.breaking(rules, max_cases)
        cases += source.across_rows(model, max(0, max_cases - len(cases)))
        return ValidationResult(model.__name__, source.rows, cases[:max_cases])
    finally:
        source.close()


def _row_schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model without its rules across rows: what pandera judges of one frame (a large table's empty frame)."""
    schema = copy.deepcopy(model.to_schema())
    schema.unique = None
    schema.checks = [c for c in schema.checks if _cross_row_sql(model, c.name) is None]
    return schema.update_columns({name: {"unique": False} for name, col in schema.columns.items() if col.unique})


def _cross_row_sql(model: type[pa.DataFrameModel], check_name: str | None) -> str | None:
    fn = getattr(model, check_name or "", None)
    return getattr(fn, "__cross_row_sql__", None)


def _unique_keys(model: type[pa.DataFrameModel]) -> list[list[str]]:
    schema = model.to_schema()
    keys = [[name] for name, col in schema.columns.items() if col.unique]
    unique = schema.unique
    if unique:
        keys.append([unique] if isinstance(unique, str) else list(unique))
    return keys


class _Source:
    """The rows of one table (a view is copied into a temporary table first, for its rowids)."""

    def __init__(self, con, table: str, where: dict[str, str]):
        self.con, self.where = con, where
        schema, _, name = table.partition(".")
        self.relation = f'"{schema}"."{name}"'
        self.temp = None
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = ? "
                           "AND table_name = ?", [schema, name]).fetchall()
        if kind and kind[0][0] == "VIEW":
            self.temp = f'"_regiostat_check_{schema}_{name}"'
            con.execute(f"CREATE OR REPLACE TEMP TABLE {self.temp} AS SELECT * FROM {self.relation}")
            self.relation = self.temp
        self.condition = " AND ".join(f'"{c}" = ?' for c in where) or "TRUE"
        self.params = list(where.values())
        self.rows = con.execute(f"SELECT count(*) FROM {self.relation} WHERE {self.condition}",
                                self.params).fetchall()[0][0]

    def frame(self, limit: int | None = None) -> pl.DataFrame:
        rows = "" if limit is None else f" LIMIT {limit}"
        return self.con.sql(f"SELECT * FROM {self.relation} WHERE {self.condition}{rows}", params=self.params).pl()

    def breaking(self, rules: list[RowRule], max_cases: int) -> list[dict]:
        """The first ``max_cases`` rows (by rowid) that break any rule, one case per rule a row breaks, grouped by rule
        as pandera groups them (a capped result keeps the earliest rows, whichever rules they break); one scan."""
        if not rules or max_cases <= 0:
            return []
        flags = ", ".join(f"{r.fails} AS _breaks_{i}" for i, r in enumerate(rules))
        found = self.con.sql(f"SELECT rowid AS _rowid, *, {flags} FROM {self.relation} WHERE {self.condition} "
                             f"AND ({' OR '.join(r.fails for r in rules)}) ORDER BY rowid LIMIT {max_cases}",
                             params=self.params).pl()
        columns = [c for c in found.columns if c != "_rowid" and not c.startswith("_breaks_")]
        context = [c for c in CONTEXT_COLUMNS if c in columns]
        cases = []
        for i, rule in enumerate(rules):
            for row in found.filter(pl.col(f"_breaks_{i}")).iter_rows(named=True):
                value = json.dumps({c: row[c] for c in columns}, default=str) if rule.whole_row else row[rule.column]
                cases.append(dict(row=row["_rowid"], column=rule.column, check=rule.check, value=value,
                                  **{c: row[c] for c in context}))
        return cases[:max_cases]

    def across_rows(self, model: type[pa.DataFrameModel], limit: int) -> list[dict]:
        cases: list[dict] = []
        for key in _unique_keys(model):
            cols = ", ".join(f'"{c}"' for c in key)
            dupes = self.con.sql(f"SELECT {cols}, count(*) AS n FROM {self.relation} WHERE {self.condition} "
                                 f"GROUP BY ALL HAVING n > 1 LIMIT {limit}", params=self.params).pl()
            check = "field_uniqueness" if len(key) == 1 else "multiple_fields_uniqueness"
            cases += [dict(row=None, column=", ".join(key), check=check, value=f"{r['n']} rows with "
                           + ", ".join(f"{c}={r[c]}" for c in key), **{c: r[c] for c in key if c in CONTEXT_COLUMNS})
                      for r in dupes.iter_rows(named=True)]
        for check in model.to_schema().checks:
            sql = _cross_row_sql(model, check.name)
            if sql is None:
                continue
            found = self.con.sql(f"SELECT * FROM ({sql.format(table=self.relation)}) LIMIT {limit}").pl() \
                if not self.where else self._filtered(sql, limit)
            cases += [dict(row=None, column=model.__name__, check=check.error or check.name,
                           value=", ".join(f"{k}={v}" for k, v in r.items()),
                           **{c: r[c] for c in r if c in CONTEXT_COLUMNS}) for r in found.iter_rows(named=True)]
        return cases[:limit] if limit else []

    def _filtered(self, sql: str, limit: int) -> pl.DataFrame:
        view = '"_regiostat_check_rows"'
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT * FROM {self.relation} "
                         f"WHERE {self.condition}", self.params)
        try:
            return self.con.sql(f"SELECT * FROM ({sql.format(table=view)}) LIMIT {limit}").pl()
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {view}")

    def close(self) -> None:
        if self.temp is not None:
            self.con.execute(f"DROP TABLE IF EXISTS {self.temp}")
