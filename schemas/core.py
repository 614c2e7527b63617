"""Core: dimensions, the fact table, the region hierarchy, custom regions and the indicator catalogue."""

import pandera.polars as pa
import polars as pl

from regiostat.codes import PERIOD_STATUSES, REGION_LEVELS, VALUE_ATTRIBUTES
from regiostat.indicators.catalogue import AGGREGATIONS, UNVERIFIED, VERIFIED
from schemas.raw import TABLE_ID
from schemas.rules_sql import NON_SPACE_TEXT, row_sql
from schemas.staging import PERIOD_CODE, REGION_CODE

CUSTOM_REGION_ID = r"^[a-z][a-z0-9_]{1,63}$"


class FactObservation(pa.DataFrameModel):
    """The latest vintage of every observation of every source: codes valid, one row per key."""

    table_id: str = pa.Field(str_matches=TABLE_ID)
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
    source_kind: str = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    reference_date: pl.Date = pa.Field(nullable=True)
    attribution: str = pa.Field(nullable=True)

    class Config:
        name = "core.fact_observation"
        unique = ["table_id", "measure_id", "region_code", "period_code", "dimension_key"]


class DimRegion(pa.DataFrameModel):
    """One row per region code, with its level."""

    region_code: str = pa.Field(unique=True, str_matches=REGION_CODE)
    region_name: str = pa.Field(nullable=True)
    region_level: str = pa.Field(isin=sorted(set(REGION_LEVELS.values())))
    begin_date: pl.Date = pa.Field(nullable=True)
    abolished_date: pl.Date = pa.Field(nullable=True)

    class Config:
        name = "core.dim_region"

    @pa.dataframe_check(error="a region begins before it is abolished")
    @row_sql("begin_date IS NULL OR abolished_date IS NULL OR begin_date < abolished_date")
    def begins_before_it_ends(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("begin_date").is_null() | pl.col("abolished_date").is_null()
                                      | (pl.col("begin_date") < pl.col("abolished_date"))).alias("ok"))


class DimPeriod(pa.DataFrameModel):
    """One row per period code, with its year and type."""

    period_code: str = pa.Field(unique=True, str_matches=PERIOD_CODE)
    year: int = pa.Field(ge=1800, le=2100)
    period_type: str

    class Config:
        name = "core.dim_period"


class DimMeasure(pa.DataFrameModel):
    """One row per table and measure: title, unit as published, scale factor."""

    table_id: str
    measure_id: str
    title: str = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)
    scale_factor: int = pa.Field(nullable=True, ge=1)
    metadata_origin: str = pa.Field(isin=["cbs", "declared"])

    class Config:
        name = "core.dim_measure"
        unique = ["table_id", "measure_id"]


class DimSector(pa.DataFrameModel):
    """SBI 2008 sector codes, one row each."""

    sector_code: str = pa.Field(unique=True)
    sbi_section: str = pa.Field(nullable=True, str_matches=r"^[A-U](-[A-U])?$")
    title: str = pa.Field(nullable=True)

    class Config:
        name = "core.dim_sector"


class DimDimensionCode(pa.DataFrameModel):
    """Titles of every other dimension's codes, one row per table, dimension and code."""

    table_id: str = pa.Field(str_matches=TABLE_ID)
    dimension: str = pa.Field(str_matches=NON_SPACE_TEXT)
    code: str = pa.Field(str_matches=NON_SPACE_TEXT)
    title: str = pa.Field(nullable=True)

    class Config:
        name = "core.dim_dimension_code"
        unique = ["table_id", "dimension", "code"]


class DimSourceTable(pa.DataFrameModel):
    """Every source table, titled and with the licence its figures are published under."""

    table_id: str = pa.Field(unique=True, str_matches=TABLE_ID)
    title: str = pa.Field(nullable=True)
    fetches: int = pa.Field(ge=1)
    licence: str = pa.Field(str_length={"min_value": 1})

    class Config:
        name = "core.dim_source_table"


class BoundaryChange(pa.DataFrameModel):
    """Municipal boundary changes CBS describes: from one code to another, of a known kind, with what moved."""

    date: pl.Date = pa.Field(nullable=False)
    from_code: str = pa.Field(str_matches=REGION_CODE)
    to_code: str = pa.Field(str_matches=REGION_CODE)
    kind: str = pa.Field(isin=["merger", "split", "transfer", "rename"])
    hectares: float = pa.Field(nullable=True, ge=0)
    dwellings: int = pa.Field(nullable=True, ge=0)
    inhabitants: int = pa.Field(nullable=True, ge=0)

    class Config:
        name = "core.boundary_change"

    @pa.dataframe_check(error="a change goes from one code to another")
    @row_sql("from_code <> to_code")
    def from_is_not_to(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("from_code") != pl.col("to_code")).alias("ok"))


class RegionParent(pa.DataFrameModel):
    """The parent of a region per level, with the years it holds (null = open-ended)."""

    region_code: str = pa.Field(str_matches=REGION_CODE)
    parent_level: str = pa.Field(isin=["corop", "provincie", "landsdeel", "arbeidsmarktregio"])
    parent_code: str = pa.Field(str_matches=REGION_CODE)
    valid_from_year: int = pa.Field(nullable=True, ge=1800, le=2100)
    valid_to_year: int = pa.Field(nullable=True, ge=1800, le=2100)

    class Config:
        name = "core.region_parent"

    @pa.dataframe_check(error="valid_from_year <= valid_to_year")
    @row_sql("valid_from_year IS NULL OR valid_to_year IS NULL OR valid_from_year <= valid_to_year")
    def interval_ordered(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("valid_from_year").is_null() | pl.col("valid_to_year").is_null()
                                      | (pl.col("valid_from_year") <= pl.col("valid_to_year"))).alias("ok"))


class DimIndicator(pa.DataFrameModel):
    """The indicator catalogue: one row per code, named in Dutch and English, with its aggregation."""

    code: str = pa.Field(unique=True, str_matches=r"^[a-z][a-z0-9_]*$")
    name_nl: str
    name_en: str
    unit: str
    aggregation: str = pa.Field(isin=list(AGGREGATIONS))
    rule: str
    live_wiring: str = pa.Field(isin=[UNVERIFIED, VERIFIED])

    class Config:
        name = "core.dim_indicator"


class CustomRegion(pa.DataFrameModel):
    """Custom regions, one row per member; every member a region code."""

    region_id: str = pa.Field(str_matches=CUSTOM_REGION_ID)
    name: str
    member_code: str = pa.Field(str_matches=REGION_CODE)
    member_set: str = pa.Field(isin=["members", "gemeente", "corop", "provincie", "landsdeel", "arbeidsmarktregio"])
    valid_from_year: int = pa.Field(nullable=True, ge=1800, le=2200)
    valid_to_year: int = pa.Field(nullable=True, ge=1800, le=2200)

    class Config:
        name = "core.custom_region"
        unique = ["region_id", "member_set", "member_code"]

    @pa.dataframe_check(error="valid_from_year <= valid_to_year")
    @row_sql("valid_from_year IS NULL OR valid_to_year IS NULL OR valid_from_year <= valid_to_year")
    def membership_ordered(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("valid_from_year").is_null() | pl.col("valid_to_year").is_null()
                                      | (pl.col("valid_from_year") <= pl.col("valid_to_year"))).alias("ok"))
