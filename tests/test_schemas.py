"""Schemas reject bad frames, and say which row, column and rule."""

import polars as pl

from regiostat.model import staging
from regiostat.model.observations import CODE_COLUMNS, MEASURE_COLUMNS, OBSERVATION_COLUMNS
from schemas.core import FactObservation
from schemas.marts import JobsMart
from schemas.raw import RawObservations
from schemas.staging import StagedObservations
from schemas.validation import validate


def _raw(**overrides):
    row = dict(table_id="83582NED", fetch_id="f", source_path="files/x.csv", source_row=7,
               measure_code="BanenVanWerknemersInDecember_1", region_raw="CR08  ", period_raw="2020JJ00",
               other_dims_raw="BedrijfstakkenBranchesSBI2008=T001081", value_raw="62.2", value_attribute_raw=None)
    return {**row, **overrides}


def test_raw_rows_pass_and_bad_values_are_named_with_file_and_row():
    good = pl.DataFrame([_raw(), _raw(value_raw="       ."), _raw(value_raw="")], schema=OBSERVATION_COLUMNS)
    assert validate(RawObservations, good).passed
    bad = pl.DataFrame([_raw(), _raw(value_raw="62,2", source_row=8), _raw(region_raw="Emmen", source_row=9)],
                       schema=OBSERVATION_COLUMNS)
    result = validate(RawObservations, bad)
    cases = {(c["column"], c["value"], c["source_row"]) for c in result.failure_cases}
    assert cases == {("value_raw", "62,2", 8), ("region_raw", "Emmen", 9)}
    assert all(c["source_path"] == "files/x.csv" and "str_matches" in c["check"] for c in result.failure_cases)
    assert "row 1: column 'value_raw' value '62,2'" in result.summary()


def test_schema_drift_a_missing_column_fails():
    result = validate(RawObservations, pl.DataFrame([_raw()], schema=OBSERVATION_COLUMNS).drop("period_raw"))
    assert not result.passed and any("period_raw" in str(c["value"]) or c["column"] == "period_raw"
                                      for c in result.failure_cases)


def _staged(rows):
    obs = pl.DataFrame([_raw(**r) for r in rows], schema=OBSERVATION_COLUMNS)
    measures = pl.DataFrame([dict(table_id="83582NED", fetch_id="f", measure_code="BanenVanWerknemersInDecember_1",
                                  measure_id="BanenVanWerknemersInDecember_1", title="Banen", unit="x 1 000",
                                  decimals=1, description=None, metadata_origin="declared")], schema=MEASURE_COLUMNS)
    codes = pl.DataFrame(schema=CODE_COLUMNS)
    fetches = pl.DataFrame([dict(table_id="83582NED", fetch_id="f", source_format="cbs_v3_feed", origin="x",
                                 fetched_at="2026-11-23T00:00:00Z", vintage=None, table_version=None,
                                 table_modified=None, rows=1, source_kind="cbs", landed_seq=1)], schema_overrides={
                                     "vintage": pl.String, "table_version": pl.String, "table_modified": pl.String})
    return staging.stage_observations(obs, measures, codes, staging.with_as_of(fetches))


def test_staging_trims_scales_and_marks_missing():
    staged = _staged([{}, {"value_raw": "   .", "period_raw": "2021JJ00"}])
    assert staged["region_code"].to_list() == ["CR08", "CR08"]
    assert staged["value"].to_list() == [62200.0, None]  # not 62200.000000000007
    assert staged["value_attribute"].to_list() == ["None", "NotAvailable"]
    assert staged["period_status"].to_list() == ["onbekend", "onbekend"]
    assert validate(StagedObservations, staged).passed


def test_staged_value_without_attribute_none_is_rejected():
    staged = _staged([{}]).with_columns(pl.lit("Confidential").alias("value_attribute"))
    result = validate(StagedObservations, staged)
    assert [c["check"] for c in result.failure_cases] == ["value is present exactly when value_attribute is 'None'"]


def test_duplicate_fact_keys_are_rejected():
    fact = _staged([{}]).select(FactObservation.to_schema().columns.keys())
    result = validate(FactObservation, pl.concat([fact, fact]))
    assert not result.passed
    assert {c["check"] for c in result.failure_cases} == {"multiple_fields_uniqueness"}
    assert {(c["row"], c["region_code"], c["period_code"]) for c in result.failure_cases} == {
        (0, "CR08", "2020JJ00"), (1, "CR08", "2020JJ00")}


def test_jobs_mart_rejects_negative_jobs_and_unscaled_values():
    mart = pl.DataFrame([dict(region_code="CR08", year=2020, sector_code="T001081", employee_jobs=-62.2,
                              employee_jobs_published=62.2, source_table="83582NED")])
    checks = {c["check"] for c in validate(JobsMart, mart).failure_cases}
    assert checks == {"greater_than_or_equal_to(0)", "employee_jobs = published figure x 1 000"}
