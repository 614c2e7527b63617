"""Marts: the analyst tables (warehouse/marts/*.sql), the regional profile and the municipal series on fixed
boundaries. A new mart's model goes here, named by its table (Config.name = "marts.<name>")."""

import pandera.polars as pa
import polars as pl

from schemas.rules_sql import row_sql
from schemas.staging import REGION_CODE

YEAR = {"ge": 1800, "le": 2100}


class JobsMart(pa.DataFrameModel):
    """Employee jobs by sector, region and year: multiplied out from the published thousands."""

    region_code: str = pa.Field(str_matches=REGION_CODE)
    year: int = pa.Field(ge=1990, le=2100)
    sector_code: str
    employee_jobs: float = pa.Field(nullable=True, ge=0)
    source_table: str = pa.Field(isin=["83582NED", "83583NED"])

    class Config:
        name = "marts.jobs_by_sector_region_year"
        unique = ["region_code", "year", "sector_code"]

    @pa.dataframe_check(error="employee_jobs = published figure x 1 000")
    @row_sql("employee_jobs IS NULL OR abs(employee_jobs - employee_jobs_published * 1000) < 0.5")
    def jobs_scaled(cls, data) -> pl.LazyFrame:
        diff = (pl.col("employee_jobs") - pl.col("employee_jobs_published") * 1000).abs()
        return data.lazyframe.select((pl.col("employee_jobs").is_null() | (diff < 0.5)).alias("ok"))


class _OneFigurePerRegionYear(pa.DataFrameModel):
    """A mart that gives one figure per region and year, from the table that wins (not a table of its own)."""

    region_code: str = pa.Field(str_matches=REGION_CODE)
    year: int = pa.Field(**YEAR)

    class Config:
        unique = ["region_code", "year"]


class PopulationMart(_OneFigurePerRegionYear):
    """Population on 1 January: one figure per region and year, 03759NED where it has the year."""

    population: float = pa.Field(ge=0)
    source_table: str = pa.Field(isin=["03759NED", "70072NED"])

    class Config:
        name = "marts.population_by_region_year"


class EstablishmentsMart(_OneFigurePerRegionYear):
    """Business establishments: one figure per region and year, 81578NED where it has the region."""

    establishments: float = pa.Field(ge=0)
    source_table: str = pa.Field(isin=["81578NED", "81575NED", "70072NED"])

    class Config:
        name = "marts.establishments_by_region_year"


class RegionalProfile(pa.DataFrameModel):
    """One row per region, year and indicator; coverage never above 100%; every region named."""

    region_code: str
    region_name: str = pa.Field(nullable=True)
    region_level: str = pa.Field(nullable=True)
    year: int = pa.Field(ge=1900, le=2100)
    indicator: str
    value: float
    unit: str
    method: str = pa.Field(str_matches=r"^(published|sum of municipalities|sum of COROP regions|sum of members"
                                       r"( \([a-z]+\))?|ratio of sums|flows across the border)$")
    members_with_data: int = pa.Field(nullable=True, ge=0)
    members_expected: int = pa.Field(nullable=True, ge=1)

    class Config:
        name = "marts.regional_profile"
        unique = ["region_code", "year", "indicator"]

    @pa.dataframe_check(error="members_with_data <= members_expected")
    @row_sql("coalesce(members_with_data, 0) <= coalesce(members_expected, 1000000000)")
    def coverage_at_most_full(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("members_with_data").fill_null(0)
                                      <= pl.col("members_expected").fill_null(10**9)).alias("ok"))

    @pa.dataframe_check(error="percentages lie within 0-100")
    @row_sql("NOT (unit = '%') OR value BETWEEN 0 AND 100")
    def shares_in_range(cls, data) -> pl.LazyFrame:
        pct = pl.col("unit") == "%"
        return data.lazyframe.select((~pct | pl.col("value").is_between(0, 100)).alias("ok"))

    @pa.dataframe_check(error="every region has a name")
    @row_sql("region_name IS NOT NULL")
    def region_named(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("region_name").is_not_null().alias("ok"))


class RegionalProfileWide(pa.DataFrameModel):
    """One row per region and year; shares within 0-100, counts never negative."""

    region_code: str
    region_level: str = pa.Field(isin=["land", "landsdeel", "provincie", "corop", "gemeente", "arbeidsmarktregio",
                                       "custom"], nullable=True)
    year: int = pa.Field(**YEAR)
    cbs_employee_jobs: float = pa.Field(nullable=True, ge=0)
    cbs_industry_share_bf_pct: float = pa.Field(nullable=True, ge=0, le=100)
    cbs_manufacturing_share_c_pct: float = pa.Field(nullable=True, ge=0, le=100)
    cbs_kerncijfers_industry_share_bf_pct: float = pa.Field(nullable=True, ge=0, le=100)
    lisa_jobs: float = pa.Field(nullable=True, ge=0)
    lisa_establishments: float = pa.Field(nullable=True, ge=0)
    population: float = pa.Field(nullable=True, ge=0)

    class Config:
        name = "marts.regional_profile_wide"
        unique = ["region_code", "year"]


class MunicipalSeriesHarmonised(pa.DataFrameModel):
    """One value per indicator, boundary year, municipality and year, never after the boundary year; a
    converted value says how."""

    indicator: str
    boundary_year: int = pa.Field(**YEAR)
    region_code: str = pa.Field(str_matches=r"^GM[0-9]{4}$")
    year: int = pa.Field(**YEAR)
    value: float
    converted: bool
    method: str = pa.Field(str_matches=r"^(unchanged|(merger_sum|split_weighted|transfer_weighted|renamed)"
                                       r"(\+(merger_sum|split_weighted|transfer_weighted|renamed))*)$")

    class Config:
        name = "marts.municipal_series_harmonised"
        unique = ["indicator", "boundary_year", "region_code", "year"]

    @pa.dataframe_check(error="year <= boundary_year; converted exactly when the method is not 'unchanged'")
    @row_sql("year <= boundary_year AND converted = (method <> 'unchanged')")
    def consistent(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(((pl.col("year") <= pl.col("boundary_year"))
                                      & (pl.col("converted") == (pl.col("method") != "unchanged"))).alias("ok"))


class MunicipalSeriesContributions(pa.DataFrameModel):
    """What each old municipality contributed to a value on fixed boundaries: a weight between 0 and 1."""

    indicator: str
    boundary_year: int = pa.Field(**YEAR)
    region_code: str = pa.Field(str_matches=r"^GM[0-9]{4}$")
    year: int = pa.Field(**YEAR)
    contributor_code: str = pa.Field(str_matches=r"^GM[0-9]{4}$")
    contributor_weight: float = pa.Field(gt=0, le=1)
    contributed_value: float

    class Config:
        name = "marts.municipal_series_contributions"
        unique = ["indicator", "boundary_year", "region_code", "year", "contributor_code"]
