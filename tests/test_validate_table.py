"""A warehouse table is checked where it lies: whole by pandera when small, set-based in DuckDB when large (its row
rules as SQL over every row, the rules across rows (unique keys, one latest row per key) as SQL over the whole
table). Both ways must agree; tests/test_rules_sql.py compares them rule by rule."""

import duckdb
import polars as pl
import pytest

from regiostat.model.observations import OBSERVATION_COLUMNS
from schemas.core import FactObservation
from schemas.raw import RawObservations
from schemas.staging import StagedObservations
from schemas.validation import validate, validate_table
from tests.test_schemas import _raw, _staged


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA core; CREATE SCHEMA raw")
    yield con
    con.close()


def _store(con, table: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame")
    con.unregister("_frame")


def _staged_rows(n: int) -> pl.DataFrame:
    return _staged([{"period_raw": f"{1900 + i}JJ00", "source_row": i} for i in range(n)])


@pytest.mark.parametrize("whole_rows", [3, 1_000])  # set-based, and whole
def test_good_rows_pass_set_based_and_whole(con, whole_rows):
    _store(con, "staging.observations", _staged_rows(10))
    result = validate_table(con, StagedObservations, "staging.observations", whole_rows=whole_rows)
    assert result.passed and result.rows == 10


@pytest.mark.parametrize("whole_rows", [3, 1_000])
def test_a_bad_value_anywhere_is_found_with_its_file_and_row(con, whole_rows):
    bad = _staged_rows(10).with_columns(
        pl.when(pl.col("source_row") == 8).then(pl.lit("Emmen")).otherwise("region_code").alias("region_code"))
    _store(con, "staging.observations", bad)
    result = validate_table(con, StagedObservations, "staging.observations", whole_rows=whole_rows)
    assert [(c["column"], c["value"], c["source_row"], c["source_path"]) for c in result.failure_cases] == [
        ("region_code", "Emmen", 8, "files/x.csv")]
    assert result.failure_cases[0]["row"] == 8  # the table's rowid (inserted in order)


@pytest.mark.parametrize("whole_rows", [2, 1_000])
def test_two_latest_rows_of_one_key_are_found_set_based_and_whole(con, whole_rows):
    rows = _staged_rows(4)
    twin = rows.slice(0, 1).with_columns(pl.lit(99, pl.Int64).alias("source_row"))  # same key, also marked latest
    _store(con, "staging.observations", pl.concat([rows, twin]))
    result = validate_table(con, StagedObservations, "staging.observations", whole_rows=whole_rows)
    assert not result.passed
    assert {c["check"] for c in result.failure_cases} == {
        "one latest row per (table, measure, region, period, dimensions)"}
    assert {c["period_code"] for c in result.failure_cases} == {"1900JJ00"}


@pytest.mark.parametrize("whole_rows", [2, 1_000])
def test_duplicate_fact_keys_are_found_set_based_and_whole(con, whole_rows):
    fact = _staged_rows(3).select(FactObservation.to_schema().columns.keys())
    _store(con, "core.fact_observation", pl.concat([fact, fact.slice(2, 1)]))
    result = validate_table(con, FactObservation, "core.fact_observation", whole_rows=whole_rows)
    assert {c["check"] for c in result.failure_cases} == {"multiple_fields_uniqueness"}
    assert {c["period_code"] for c in result.failure_cases} == {"1902JJ00"}


def test_only_the_rows_asked_for_are_checked(con):
    frame = pl.DataFrame([_raw(source_row=i, table_id="83582NED" if i < 5 else "70072NED",
                               value_raw="62,2" if i >= 5 else "1") for i in range(10)], schema=OBSERVATION_COLUMNS)
    _store(con, "raw.observations", frame)
    for whole_rows in (2, 1_000):
        assert validate_table(con, RawObservations, "raw.observations", where={"table_id": "83582NED"},
                              whole_rows=whole_rows).passed
        bad = validate_table(con, RawObservations, "raw.observations", where={"table_id": "70072NED"},
                             whole_rows=whole_rows)
        assert bad.rows == 5 and {c["source_row"] for c in bad.failure_cases} == {5, 6, 7, 8, 9}


def test_set_based_cases_stop_at_the_limit_and_say_how_many_rows_there_were(con):
    bad = _staged_rows(50).with_columns(pl.lit("Emmen").alias("region_code"))
    _store(con, "staging.observations", bad)
    result = validate_table(con, StagedObservations, "staging.observations", whole_rows=7, max_cases=10)
    assert len(result.failure_cases) == 10 and result.rows == 50
    assert validate(StagedObservations, bad).failure_cases  # the whole-frame check agrees that it fails
