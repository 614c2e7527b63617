"""A large table's row rules run as SQL (schemas/rules_sql.py); they must judge every row as pandera does.

The rows are the bundled build's own, sampled per table and then spoiled at random (seeded: nulls, NaN, foreign
strings with Unicode digits and non-breaking spaces, scaled and negated numbers, flipped flags, empty lists, near
values of another column), and every rule must meet rows that break it (but the few listed in UNREACHED).
"""

import random

import duckdb
import polars as pl
import pytest

from schemas import table_schemas
from schemas.rules_sql import NoSqlForRule, row_rules
from schemas.validation import _cross_row_sql, _row_schema, validate, validate_table

SAMPLE_ROWS = 600
STRANGE_TEXT = ["", " ", "Emmen", "GM0114 ", "%", "None", "voorlopig", "x=y;z", "83582NED", "CR08", "proxy",
                "GM\u0661\u0662\u0663\u0664", "2019JJ00\u00a0", "a\u00a0b", " 12\u00a0"]  # Unicode digits, NBSP
STRANGE_FACTORS = [-1.0, 0.0, 0.5, 1000.0, 1e12]
# whole numbers stay within the years polars can make a date of (pandera's own date check raises beyond them)
STRANGE_WHOLE = [lambda v: -v, lambda v: 0, lambda v: 3 * v, lambda v: 100_000]


# rules the spoiling does not break on the bundled rows (listed, so a new rule the test does not reach is noticed):
# custom regions' years are null in every bundled row; the same SQL is reached on core.region_parent
UNREACHED = {("core.custom_region", "valid_from_year <= valid_to_year")}


def _skip_cross_row(model):
    return lambda name: _cross_row_sql(model, name) is not None


@pytest.mark.parametrize("table", sorted(table_schemas()))
def test_every_shipped_model_has_all_its_row_rules_as_sql(table):
    """No rule of a shipped model lacks its SQL (NoSqlForRule would stop a large table's check), none is dropped."""
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
    """Each cell replaced, with probability 1/8, by something a rule may refuse: null, a strange value of its type,
    an empty list, or (near) the value of another column of the same type in that row (rules that compare columns)."""
    rows = frame.rows(named=True)
    for row in rows:
        for name, dtype in frame.schema.items():
            if rng.random() < 1 / 8:
                twins = [c for c, t in frame.schema.items() if t == dtype and c != name]
                row[name] = _near(row[rng.choice(twins)], rng) if twins and rng.random() < 0.25 \
                    else _strange(row[name], dtype, rng)
    return pl.DataFrame(rows, schema=frame.schema)


def _near(value, rng: random.Random):
    """Another column's value, a number one below, the same or one above it (rules that order two columns)."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return value + rng.choice([-1, 0, 1]) if numeric else value


def _strange(value, dtype: pl.DataType, rng: random.Random):
    if rng.random() < 0.3:
        return None
    if dtype == pl.String:
        return rng.choice(STRANGE_TEXT)
    if dtype.is_float():
        return float("nan") if rng.random() < 0.2 else (value or 1.0) * rng.choice(STRANGE_FACTORS)
    if dtype.is_integer():
        return rng.choice(STRANGE_WHOLE)(value or 1)
    if dtype == pl.Boolean:
        return not value
    return [] if isinstance(dtype, pl.List) else value


def _row_cases(cases: list[dict]) -> set[tuple]:
    return {(c["row"], c["column"], c["check"]) for c in cases if c["row"] is not None}


def test_sql_rules_and_pandera_fail_the_same_rows(built_home):
    """For every published table: the same spoiled rows, judged whole by pandera and set-based by SQL."""
    rng = random.Random(20261130)
    source = duckdb.connect(str(built_home / "build" / "regional_build.duckdb"), read_only=True)
    rules, broken = set(), set()
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
            frame = _spoiled(pl.concat([rows] * -(-SAMPLE_ROWS // rows.height)), rng)  # small tables repeated
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
            rules |= {(table, r.check) for r in row_rules(model, skip=_skip_cross_row(model))}
            broken |= {(table, check) for _, _, check in by_pandera}
    finally:
        source.close()
    assert len(rules) > 150 and rules - broken <= UNREACHED, sorted(rules - broken - UNREACHED)
