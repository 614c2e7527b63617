"""Raw per source format: what each kind of landed file must look like before it is unpivoted.

These catch schema drift (a renamed, missing or retyped column) at the door, with the file named,
instead of letting a shifted column turn into wrong figures downstream. Each rule is a polars
expression judged over a whole page at once (a national table is read page by page), so checking
costs what reading costs; a failure names the file, the row (its ID where the format has one), the
column, the value and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.codes import VALUE_ATTRIBUTES
from schemas.raw import VALUE_TEXT

CODE = r"^\s*\S+\s*$"
NUMBER = "number"  # a rule that needs no pattern: the text parses as a number


@dataclass(frozen=True)
class ColumnRule:
    """One column's promise: present, non-null unless ``nullable``, and the values pass ``check``."""

    column: str
    check: str  # a pattern (str_matches), NUMBER, or "" for no value rule
    nullable: bool = False
    allowed: tuple[str, ...] = ()  # isin: only these values

    @property
    def name(self) -> str:
        if self.allowed:
            return f"isin({list(self.allowed)})"
        return "number" if self.check == NUMBER else f"str_matches('{self.check}')" if self.check else "present"

    def ok(self) -> pl.Expr:
        col = pl.col(self.column)
        if self.allowed:
            value_ok = col.is_in(list(self.allowed))
        elif self.check == NUMBER:
            value_ok = col.cast(pl.Float64, strict=False).is_not_null()
        elif self.check:
            value_ok = col.str.contains(self.check)
        else:
            value_ok = pl.lit(True)
        return pl.when(col.is_null()).then(pl.lit(self.nullable)).otherwise(value_ok.fill_null(False))


@dataclass(frozen=True)
class SourceFormat:
    """A landed file's columns and rules; ``key`` names a row for people and must be unique in the file."""

    name: str
    rules: tuple[ColumnRule, ...]
    key: str | None = None

    def problems(self, df: pl.DataFrame, path: str, limit: int = 5) -> str | None:
        """None when the file keeps its promises, else what is wrong, naming file, row, column, value and rule."""
        missing = [r.column for r in self.rules if r.column not in df.columns]
        if missing:
            return f"{path}: {self.name}: column(s) {', '.join(repr(c) for c in missing)} not in the file " \
                   f"(it has {', '.join(df.columns)})"
        row = pl.col(self.key) if self.key else pl.int_range(1, pl.len() + 1)
        checked = df.select(row.cast(pl.String).alias("_row"),
                            *[r.ok().alias(f"_ok{i}") for i, r in enumerate(self.rules)])
        unique = self.key is None or df[self.key].n_unique() == df.height
        if unique and checked.select(pl.all_horizontal(pl.exclude("_row")).all()).item() is not False:
            return None
        lines = []
        for i, rule in enumerate(self.rules):
            bad = checked.with_columns(df[rule.column].cast(pl.String).alias("_value")).filter(~pl.col(f"_ok{i}"))
            lines += [f"  row {self.key or 'line'}={r['_row']}: column {rule.column!r} value {r['_value']!r} "
                      f"fails {rule.name}" for r in bad.head(limit).iter_rows(named=True)]
        if not unique:
            dupes = df[self.key].filter(df[self.key].is_duplicated()).unique().head(limit).to_list()
            lines.append(f"  column {self.key!r} values {dupes} fail unique")
        if not lines:
            return None
        return f"{path}: {self.name}: {len(lines)} failure(s) in {df.height} rows\n" + "\n".join(lines[:limit])


def _codes(dimensions: list[str]) -> tuple[ColumnRule, ...]:
    return tuple(ColumnRule(d, CODE) for d in dimensions)


def v4_observations(dimensions: list[str]) -> SourceFormat:
    """datasets.cbs.nl Observations rows: Id, Measure, ValueAttribute, Value, one column per dimension."""
    return SourceFormat("v4 Observations", (
        ColumnRule("Id", r"^\d+$"),
        ColumnRule("Measure", CODE),
        ColumnRule("ValueAttribute", "", allowed=VALUE_ATTRIBUTES),
        ColumnRule("Value", NUMBER, nullable=True),
        *_codes(dimensions),
    ), key="Id")


def _keyed_dataset(name: str, id_pattern: str, dimensions: list[str], topics: list[str]) -> SourceFormat:
    """A dataset as landed, all text: a unique row ID, one code column per dimension, one value column per topic."""
    return SourceFormat(name, (ColumnRule("ID", id_pattern), *_codes(dimensions),
                               *(ColumnRule(t, VALUE_TEXT, nullable=True) for t in topics)), key="ID")


def v3_typed_dataset(dimensions: list[str], topics: list[str]) -> SourceFormat:
    """v3 TypedDataSet (JSON or CSV as landed, all text here): ID, padded dimension keys, topic values."""
    return _keyed_dataset("v3 TypedDataSet", r"^\d+$", dimensions, topics)


def statline_untyped(dimensions: list[str], topics: list[str]) -> SourceFormat:
    """StatLine UntypedDataSet download: every value right-aligned text, `.` for missing."""
    return _keyed_dataset("StatLine UntypedDataSet", r"^\s*\d+\s*$", dimensions, topics)


def derived_panel(region: str, year: str, value: str) -> SourceFormat:
    """A third party's processed panel: region code, 4-digit year, a number."""
    return SourceFormat("derived panel", (
        ColumnRule(region, r"^[A-Z]{2}\d{2,8}$"),
        ColumnRule(year, r"^\d{4}$"),
        ColumnRule(value, VALUE_TEXT, nullable=True),
    ))
