"""Staging: typed long observations, every vintage kept."""

import pandera.polars as pa
import polars as pl

from regiostat.codes import PERIOD_STATUSES, VALUE_ATTRIBUTES
from schemas.raw import TABLE_ID
from schemas.rules_sql import NON_SPACE, NON_SPACE_TEXT, SPACE_CHARS, row_sql
from schemas.validation import cross_row

REGION_CODE = r"^(NL|LD|PV|CR|GM|AM|WK|BU)[0-9]{2,8}$"
PERIOD_CODE = r"^[0-9]{4}(JJ|KW|MM|HJ|X0|W1)[0-9]{2}$"
_DIMENSION = f"[^=;{SPACE_CHARS}]+={NON_SPACE}*"
DIMENSION_KEY = f"^({_DIMENSION}(;{_DIMENSION})*)?$"  # Dimension=code;Other=code, no spaces


class StagedObservations(pa.DataFrameModel):
    table_id: str = pa.Field(str_matches=TABLE_ID)
    measure_id: str = pa.Field(str_length={"min_value": 1})
    measure_code: str
    region_code: str = pa.Field(str_matches=REGION_CODE)
    period_code: str = pa.Field(str_matches=PERIOD_CODE)
    sector_code: str = pa.Field(nullable=True, str_matches=NON_SPACE_TEXT)
    dimension_key: str = pa.Field(str_matches=DIMENSION_KEY)
    value: float = pa.Field(nullable=True)
    value_published: float = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=False)
    scale_factor: int = pa.Field(ge=1)
    value_attribute: str = pa.Field(isin=list(VALUE_ATTRIBUTES))
    period_status: str = pa.Field(isin=list(PERIOD_STATUSES))
    is_latest: bool
    source_kind: str = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    reference_date: pl.Date = pa.Field(nullable=True)
    attribution: str = pa.Field(nullable=True)

    @pa.dataframe_check(error="value is present exactly when value_attribute is 'None'")
    @row_sql("(value IS NOT NULL) = (value_attribute = 'None')")
    def value_matches_attribute(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("value").is_not_null() == (pl.col("value_attribute") == "None")).alias("ok"))

    @pa.dataframe_check(error="multiplied-out value = published value x scale factor")
    @row_sql("value IS NULL OR abs(value - value_published * scale_factor) <= 0.5 * scale_factor")
    def value_is_scaled(cls, data) -> pl.LazyFrame:
        diff = (pl.col("value") - pl.col("value_published") * pl.col("scale_factor")).abs()
        return data.lazyframe.select((pl.col("value").is_null() | (diff <= 0.5 * pl.col("scale_factor"))).alias("ok"))

    @pa.dataframe_check(error="one latest row per (table, measure, region, period, dimensions)")
    @cross_row("SELECT table_id, measure_id, region_code, period_code, dimension_key, "
               "count(*) FILTER (WHERE is_latest) AS latest_rows FROM {table} GROUP BY ALL HAVING latest_rows <> 1")
    def one_latest_per_key(cls, data) -> pl.LazyFrame:
        key = ["table_id", "measure_id", "region_code", "period_code", "dimension_key"]
        latest = pl.col("is_latest").cast(pl.Int32).sum().over(key)
        return data.lazyframe.select((latest == 1).alias("ok"))

    class Config:
        name = "staging.observations"
        coerce = False


class LisaObservations(pa.DataFrameModel):
    """The LISA rows (the view staging.lisa_observations): municipality codes resolved, counts whole and
    non-negative, counted on 1 April, attributed to LISA."""

    region_code: str = pa.Field(str_matches=r"^GM[0-9]{4}$")
    year: int = pa.Field(ge=1990, le=2100)
    measure: str = pa.Field(isin=["jobs_total", "jobs_fulltime", "jobs_parttime", "establishments_total",
                                  "jobs_sector"])
    sector: str = pa.Field(nullable=True)
    value: float = pa.Field(ge=0, le=2_000_000)
    source_file: str
    attribution: str = pa.Field(str_startswith="Bron: LISA")

    class Config:
        name = "staging.lisa_observations"
        unique = ["region_code", "year", "measure", "sector"]

    @pa.dataframe_check(error="reference_date is 1 April of the year")
    @row_sql("reference_date = make_date(year, 4, 1)")
    def counted_on_1_april(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("reference_date") == pl.date(pl.col("year"), 4, 1)).alias("ok"))
