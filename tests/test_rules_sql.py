"""A large table's row rules run as SQL (schemas/rules_sql.py); they must judge every row as pandera does.

The rows are the bundled build's own, sampled per table and then spoiled at random (seeded: nulls, NaN, foreign
strings, scaled and negated numbers, flipped flags), so every rule meets rows that break it.
"""

import random

import duckdb
import polars as pl
import pytest

from schemas import table_schemas
from schemas.rules_sql import NoSqlForRule, row_rules
from schemas.validation import _cross_row_sql, _row_schema, validate, validate_table

SAMPLE_ROWS = 300
STRANGE_TEXT = ["", " ", "Emmen", "GM0114 ", "%", "None", "voorlopig", "x=y;z", "83582NED", "CR08"]
STRANGE_FACTORS = [-1.0, 0.0, 0.5, 1000.0, 1e12]
# whole numbers stay within the years polars can make a date of (pandera's own date check raises beyond them)
STRANGE_MULTIPLIERS = [-1, 0, 3]


def _skip_cross_row(model):
    return lambda name: _cross_row_sql(model, name) is not None


@pytest.mark.parametrize("table", sorted(table_schemas()))
def test_every_shipped_model_has_all_its_row_rules_as_sql(table):
    model = table_schemas()[table]
    schema = model.to_schema()
    rules = row_rules(model, skip=_skip_cross_row(model))
    expected = (sum(not c.nullable for c in schema.columns.values()) + sum(len(c.checks) for c in schema.columns.values())
                + sum(_cross_row_sql(model, c.name) is None for c in schema.checks))
    assert len(rules) == expected


def test_a_dataframe_check_without_sql_is_refused_by_name():
    import pandera.polars as pa

    class Unmarked(pa.DataFrameModel):
        x: int

        @pa.dataframe_check(error="x is small")
        def small(cls, data) -> pl.LazyFrame:
            return data.lazyframe.select(pl.col("x") < 10)

    with pytest.raises(NoSqlForRule, match=r"Unmarked\.small"):
        row_rules(Unmarked)


def _spoiled(frame: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Each scalar cell replaced, with probability 1/8, by something a rule may refuse."""
    columns = {}
    for name, dtype in frame.schema.items():
        values = frame[name].to_list()
        for i, value in enumerate(values):
            if rng.random() >= 1 / 8:
                continue
            if rng.random() < 0.3:
                values[i] = None
            elif dtype == pl.String:
                values[i] = rng.choice(STRANGE_TEXT)
            elif dtype.is_float():
                values[i] = float("nan") if rng.random() < 0.2 else (value or 1.0) * rng.choice(STRANGE_FACTORS)
            elif dtype.is_integer():
                values[i] = int((value or 1) * rng.choice(STRANGE_MULTIPLIERS))
            elif dtype == pl.Boolean:
                values[i] = not value
        columns[name] = pl.Series(name, values, dtype=dtype)
    return pl.DataFrame(columns)


def _row_cases(cases: list[dict]) -> set[tuple]:
    return {(c["row"], c["column"], c["check"]) for c in cases if c["row"] is not None}


def test_sql_rules_and_pandera_fail_the_same_rows(built_home):
    """For every published table: the same spoiled rows, judged whole by pandera and set-based by SQL."""
    rng = random.Random(20261130)
    source = duckdb.connect(str(built_home / "build" / "regional_build.duckdb"), read_only=True)
    judged = failing = 0
    try:
        present = {f"{s}.{t}" for s, t in source.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                                          "UNION SELECT schema_name, view_name FROM duckdb_views()"
                                                          ).fetchall()}
        for table, model in sorted(table_schemas().items()):
            if table not in present:
                continue
            rows = source.sql(f"SELECT * FROM {table} USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)").pl()
            if rows.is_empty():
                continue
            frame = _spoiled(rows, rng)
            by_pandera = _row_cases(validate(_row_schema(model), frame, max_cases=10**6).failure_cases)
            con = duckdb.connect()
            try:
                schema_name, _, name = table.partition(".")
                con.execute(f"CREATE SCHEMA {schema_name}")
                con.register("_frame", frame.to_arrow())
                con.execute(f'CREATE TABLE {schema_name}."{name}" AS SELECT * FROM _frame')
                by_sql = _row_cases(validate_table(con, model, table, whole_rows=0, max_cases=10**6).failure_cases)
            finally:
                con.close()
            assert by_sql == by_pandera, table
            judged += 1
            failing += bool(by_pandera)
    finally:
        source.close()
    assert judged >= 15 and failing >= 12  # the spoiling reaches most tables' rules
