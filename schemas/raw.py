"""Raw layer: rows as landed. Checks that the source format held its promises."""

import pandera.polars as pa
import polars as pl

from regiostat.codes import VALUE_ATTRIBUTES
from schemas.rules_sql import SPACE
from schemas.validation import cross_row

# A published value: a number, StatLine's "." for missing, or empty (right-aligned, so padded).
VALUE_TEXT = rf"^{SPACE}*(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\.)?{SPACE}*$"
# A source's table id: a CBS table (83582NED), LISA, a municipality list (GEBIEDEN2024)
TABLE_ID = r"^[0-9A-Z][0-9A-Z_]{2,19}$"


class RawObservations(pa.DataFrameModel):
    table_id: str = pa.Field(str_matches=TABLE_ID)
    fetch_id: str = pa.Field(nullable=False)
    source_path: str = pa.Field(nullable=False)
    source_row: int = pa.Field(nullable=True)
    measure_code: str = pa.Field(str_length={"min_value": 1})
    region_raw: str = pa.Field(str_matches=rf"^{SPACE}*[A-Z]{{2}}[0-9A-Z]{{2,8}}{SPACE}*$")
    period_raw: str = pa.Field(str_matches=rf"^{SPACE}*[0-9]{{4}}[A-Z0-9]{{2}}[0-9]{{2}}{SPACE}*$")
    other_dims_raw: str = pa.Field(nullable=False)
    value_raw: str = pa.Field(nullable=True, str_matches=VALUE_TEXT)
    value_attribute_raw: str = pa.Field(nullable=True, isin=list(VALUE_ATTRIBUTES))
    reference_date: pl.Date = pa.Field(nullable=True)
    attribution: str = pa.Field(nullable=True)

    class Config:
        name = "raw.observations"
        strict = True
        coerce = False


class RawMeasures(pa.DataFrameModel):
    table_id: str
    fetch_id: str
    measure_code: str = pa.Field(unique=False)
    measure_id: str
    title: str = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)
    decimals: int = pa.Field(nullable=True, ge=0, le=10)
    description: str = pa.Field(nullable=True)
    metadata_origin: str = pa.Field(isin=["cbs", "declared"])

    class Config:
        name = "raw.measures"


class RawDimensionCodes(pa.DataFrameModel):
    table_id: str
    fetch_id: str
    dimension: str
    dimension_kind: str = pa.Field(nullable=True)
    code_raw: str = pa.Field(str_length={"min_value": 1})
    title: str = pa.Field(nullable=True)
    description: str = pa.Field(nullable=True)
    group_id: str = pa.Field(nullable=True)
    status_raw: str = pa.Field(nullable=True)

    class Config:
        name = "raw.dimension_codes"


class RawFetches(pa.DataFrameModel):
    """One row per complete fetch of every feed, with the source it came from and its place in the
    landing order."""

    table_id: str = pa.Field(str_matches=TABLE_ID)
    fetch_id: str
    source_format: str
    source_kind: str = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    landed_seq: int = pa.Field(ge=1)
    as_of: pl.Datetime = pa.Field(nullable=False)

    class Config:
        name = "raw.fetches"
        unique = ["table_id", "fetch_id"]


class RegionMemberships(pa.DataFrameModel):
    """Snapshots of which region contains which: one parent per level per member and snapshot year, even
    when two sources (or two downloads of one table) state the same snapshot."""

    table_id: str
    member_code: str = pa.Field(str_matches=r"^(GM[0-9]{4}|CR[0-9]{2}|PV[0-9]{2}|LD[0-9]{2})$")
    parent_code: str = pa.Field(str_matches=r"^(AM|CR|PV|LD)[0-9]{2}$")
    snapshot_year: int = pa.Field(ge=1800, le=2100)

    class Config:
        name = "raw.region_memberships"

    @pa.dataframe_check(error="a member has one parent per level in a snapshot")
    @cross_row("SELECT member_code, snapshot_year, left(parent_code, 2) AS parent_level, "
               "count(DISTINCT parent_code) AS parents FROM {table} GROUP BY ALL HAVING parents > 1")
    def one_parent_per_level(cls, data) -> pl.LazyFrame:
        key = ["member_code", "snapshot_year", pl.col("parent_code").str.slice(0, 2)]
        return data.lazyframe.select((pl.col("parent_code").n_unique().over(key) == 1).alias("ok"))
