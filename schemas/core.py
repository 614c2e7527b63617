"""Core: dimensions and the fact table."""

import pandera.polars as pa
import polars as pl

from regiostat.codes import PERIOD_STATUSES, REGION_LEVELS, VALUE_ATTRIBUTES
from schemas.staging import PERIOD_CODE, REGION_CODE


class FactObservation(pa.DataFrameModel):
    table_id: str
    measure_id: str
    region_code: str = pa.Field(str_matches=REGION_CODE)
    period_code: str = pa.Field(str_matches=PERIOD_CODE)
    sector_code: str = pa.Field(nullable=True)
    dimension_key: str
    value: float = pa.Field(nullable=True)
    value_published: float = pa.Field(nullable=True)
    unit: str
    scale_factor: int = pa.Field(ge=1)
    value_attribute: str = pa.Field(isin=list(VALUE_ATTRIBUTES))
    period_status: str = pa.Field(isin=list(PERIOD_STATUSES))
    fetch_id: str

    class Config:
        unique = ["table_id", "measure_id", "region_code", "period_code", "dimension_key"]


class DimRegion(pa.DataFrameModel):
    region_code: str = pa.Field(unique=True, str_matches=REGION_CODE)
    region_name: str = pa.Field(nullable=True)
    region_level: str = pa.Field(isin=sorted(set(REGION_LEVELS.values())))


class DimPeriod(pa.DataFrameModel):
    period_code: str = pa.Field(unique=True, str_matches=PERIOD_CODE)
    year: int = pa.Field(ge=1800, le=2100)
    period_type: str


class DimMeasure(pa.DataFrameModel):
    table_id: str
    measure_id: str
    title: str = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)

    class Config:
        unique = ["table_id", "measure_id"]


class DimSector(pa.DataFrameModel):
    sector_code: str = pa.Field(unique=True)
    title: str = pa.Field(nullable=True)


class JobsMart(pa.DataFrameModel):
    region_code: str = pa.Field(str_matches=REGION_CODE)
    year: int = pa.Field(ge=1990, le=2100)
    sector_code: str
    employee_jobs: float = pa.Field(nullable=True, ge=0)
    source_table: str = pa.Field(isin=["83582NED", "83583NED"])

    class Config:
        unique = ["region_code", "year", "sector_code"]

    @pa.dataframe_check(error="employee_jobs = published figure x 1 000")
    def jobs_scaled(cls, data) -> pl.LazyFrame:
        diff = (pl.col("employee_jobs") - pl.col("employee_jobs_published") * 1000).abs()
        return data.lazyframe.select((pl.col("employee_jobs").is_null() | (diff < 0.5)).alias("ok"))


class RegionalProfile(pa.DataFrameModel):
    region_code: str
    region_name: str = pa.Field(nullable=True)
    region_level: str = pa.Field(nullable=True)
    year: int = pa.Field(ge=1900, le=2100)
    indicator: str
    value: float
    unit: str
    method: str = pa.Field(isin=["published", "sum of municipalities", "sum of members", "ratio of sums"])
    members_with_data: int = pa.Field(nullable=True, ge=0)
    members_expected: int = pa.Field(nullable=True, ge=1)

    class Config:
        unique = ["region_code", "year", "indicator"]

    @pa.dataframe_check(error="members_with_data <= members_expected")
    def coverage_at_most_full(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("members_with_data").fill_null(0)
                                      <= pl.col("members_expected").fill_null(10**9)).alias("ok"))

    @pa.dataframe_check(error="percentages lie within 0-100")
    def shares_in_range(cls, data) -> pl.LazyFrame:
        pct = pl.col("unit") == "%"
        return data.lazyframe.select((~pct | pl.col("value").is_between(0, 100)).alias("ok"))

    @pa.dataframe_check(error="every region has a name")
    def region_named(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("region_name").is_not_null().alias("ok"))
