"""A pandera model's row rules as SQL, so a national table is judged by one DuckDB scan over every row.

Each column check and each ``@pa.dataframe_check`` becomes a predicate that is true where a row breaks the
rule, with pandera's own semantics: a check sees non-null values only (a null result passes, as with
pandera's ``ignore_na``), a non-nullable float column refuses NaN as well as null, and a failure is labelled as
pandera labels it (``not_nullable``, ``str_matches('^...$')``, the dataframe check's error text). Built-in
checks are translated here; a dataframe check gives its SQL with :func:`row_sql`. Dtypes, missing and extra
columns are not row rules: :func:`schemas.validation.validate_table` leaves them to pandera on the table's
columns (an empty frame of them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

# polars reads \d, \s, \S and \w as Unicode classes, DuckDB (RE2) as ASCII ones: a pattern spells its classes out
# with these, so both engines judge "GM\u0661\u0662\u0663\u0664" or a non-breaking space alike. The spaces are the
# ones staging trims (regiostat.model.staging: space, tab, line feed, carriage return).
SPACE_CHARS = r" \t\n\r"
SPACE = f"[{SPACE_CHARS}]"
NON_SPACE = f"[^{SPACE_CHARS}]"
NON_SPACE_TEXT = f"^{NON_SPACE}+$"
_ENGINE_DEPENDENT = re.compile(r"\\[dDsSwWbB]")


@dataclass(frozen=True)
class RowRule:
    column: str  # the column judged, or the model's name for a rule over the whole row
    check: str  # pandera's label for the rule
    fails: str  # SQL, true exactly where a row breaks the rule (never null)
    whole_row: bool = False


class NoSqlForRule(ValueError):
    """A rule a large table would need as SQL has none: mark its dataframe check with ``@row_sql``."""


def row_sql(sql: str) -> Callable:
    """Mark a ``@pa.dataframe_check`` with the same rule as an SQL expression over one row, true where the row
    passes (for example ``"(value IS NOT NULL) = (value_attribute = 'None')"``). Put it under
    ``@pa.dataframe_check``; the equivalence with the polars check is tested on the models' own rows."""
    def mark(fn: Callable) -> Callable:
        fn.__row_sql__ = sql
        return fn
    return mark


def row_rules(model: type[pa.DataFrameModel], *, skip: Callable[[str | None], bool] = lambda name: False,
              float_columns: frozenset[str] = frozenset()) -> list[RowRule]:
    """Every row rule of ``model`` as SQL, in pandera's order (columns, then dataframe checks). ``skip(name)``
    leaves out dataframe checks judged elsewhere (the rules across rows); ``float_columns`` are the columns
    where NaN counts as missing."""
    schema = model.to_schema()
    rules = []
    for name, column in schema.columns.items():
        col = _quoted(name)
        if not column.nullable:
            nan = f" OR isnan({col})" if name in float_columns else ""
            rules.append(RowRule(name, "not_nullable", f"({col} IS NULL{nan})"))
        rules += [RowRule(name, check.error or check.name, _fails(_builtin(check, col), check.ignore_na))
                  for check in column.checks]
    for check in schema.checks:
        if skip(check.name):
            continue
        sql = getattr(getattr(model, check.name or "", None), "__row_sql__", None)
        if sql is None:
            raise NoSqlForRule(f"{model.__name__}.{check.name}: a dataframe check with no SQL; mark it with "
                               "@row_sql(...) so a large table can be judged set-based")
        rules.append(RowRule(schema.name or model.__name__, check.error or check.name,
                             _fails(sql, check.ignore_na), whole_row=True))
    return rules


def _fails(passes: str, ignore_na: bool) -> str:
    return f"coalesce(NOT ({passes}), {'false' if ignore_na else 'true'})"


def _builtin(check: pa.Check, col: str) -> str:
    """A built-in check's predicate (true where a value passes) over the quoted column ``col``."""
    s = check.statistics
    if check.name == "str_matches":
        pattern = s["pattern"] if s["pattern"].startswith("^") else f"^{s['pattern']}"
        if _ENGINE_DEPENDENT.search(pattern):
            raise NoSqlForRule(f"pattern {pattern!r}: \\d, \\s, \\w and \\b match differently in polars and DuckDB; "
                               "spell the class out ([0-9], schemas.rules_sql.SPACE, ...)")
        return f"regexp_matches({col}, {_literal(pattern)})"
    if check.name == "str_length":
        if s.get("exact_value") is not None:
            return f"length({col}) = {int(s['exact_value'])}"
        bounds = [f"length({col}) {op} {int(s[key])}" for key, op in (("min_value", ">="), ("max_value", "<="))
                  if s.get(key) is not None]
        return " AND ".join(bounds) or "TRUE"
    if check.name in ("isin", "notin"):  # a null value is not judged (ignore_na), so a None in the list is moot
        listed = [_literal(v) for v in s["allowed_values" if check.name == "isin" else "forbidden_values"]
                  if v is not None]
        if not listed:
            return "FALSE" if check.name == "isin" else "TRUE"
        return f"{col} {'' if check.name == 'isin' else 'NOT '}IN ({', '.join(listed)})"
    if check.name == "str_startswith":
        return f"starts_with({col}, {_literal(s['string'])})"
    if check.name == "str_endswith":
        return f"ends_with({col}, {_literal(s['string'])})"
    if check.name in _COMPARISONS:
        (value,) = s.values()
        return f"{col} {_COMPARISONS[check.name]} {_literal(value)}"
    if check.name == "in_range":
        low = ">=" if s.get("include_min", True) else ">"
        high = "<=" if s.get("include_max", True) else "<"
        return f"{col} {low} {_literal(s['min_value'])} AND {col} {high} {_literal(s['max_value'])}"
    raise NoSqlForRule(f"check {check.name!r} has no SQL translation in schemas/rules_sql.py")


_COMPARISONS = {"greater_than_or_equal_to": ">=", "less_than_or_equal_to": "<=", "greater_than": ">",
                "less_than": "<", "equal_to": "=", "not_equal_to": "<>"}


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise NoSqlForRule(f"no SQL literal for {value!r} in a check")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def float_columns(schema: pl.Schema) -> frozenset[str]:
    """The columns of a table's polars schema where pandera counts NaN as missing."""
    return frozenset(name for name, dtype in schema.items() if dtype.is_float())
