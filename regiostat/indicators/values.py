"""Reading indicator values from the facts: which rows each source reads and how they are combined.

Every source's observations are in one table, so an indicator source is the same kind of thing
whatever the source: a table, a measure and fixed dimension codes (config/indicators.toml).
"""

from __future__ import annotations

import polars as pl

from regiostat.codes import REGION_ALIASES
from regiostat.indicators.catalogue import Indicator, Source

INDICATOR_VALUE_SCHEMA = {
    "indicator": pl.String, "region_code": pl.String, "year": pl.Int64, "value": pl.Float64,
    "source_table": pl.String, "period_status": pl.String, "vintage": pl.String, "source_file": pl.String,
}


def dimension_filter(source: Source) -> pl.Expr:
    expr = pl.lit(True)
    for dim, code in source.dimensions.items():
        expr = expr & pl.col("dimension_key").str.contains(f"(^|;){dim}={code}(;|$)", literal=False)
    return expr


def period_filter(source: Source) -> pl.Expr:
    """The periods a source reads: yearly codes, or December of each year (``2022MM12``) for tables that
    describe the situation in December."""
    if source.period == "december":
        return pl.col("period_code").str.ends_with("MM12")
    return pl.col("period_type") == "jaar"


def source_rows(source: Source, facts: pl.DataFrame) -> pl.DataFrame:
    """The rows one source reads, not aggregated: the yearly observations of its table, measure and
    dimensions (and sum_over codes), region codes in their one spelling (NL00 -> NL01). Null values stay.
    ``facts`` carry each period's year and type. A flow source has no row per region (a region's flow is
    computed from several rows, :func:`flow_rows`), so it reads none here."""
    if source.flow is not None:
        return facts.clear()
    rows = facts.filter(pl.col("table_id") == source.table, pl.col("measure_id") == source.measure,
                        dimension_filter(source), period_filter(source))
    for dim, codes in source.sum_over.items():
        pattern = f"(^|;){dim}=({'|'.join(codes)})(;|$)"
        rows = rows.filter(pl.col("dimension_key").str.contains(pattern))
    return rows.with_columns(pl.col("region_code").replace(REGION_ALIASES))


def flow_rows(source: Source, facts: pl.DataFrame) -> pl.DataFrame:
    """The flows of a flow source as (origin, destination, year, value, source_table): the table's region
    dimension is one end of each flow and the other end is in the dimension key, whichever way round."""
    flow = source.flow
    rows = facts.filter(pl.col("table_id") == source.table, pl.col("measure_id") == source.measure,
                        dimension_filter(source), period_filter(source), pl.col("value").is_not_null())
    other = pl.col("dimension_key").str.extract(f"(^|;)({flow.origin}|{flow.destination})=([^;]*)", 3)
    other_is_destination = pl.col("dimension_key").str.contains(f"(^|;){flow.destination}=")
    return rows.select(
        pl.when(other_is_destination).then(pl.col("region_code")).otherwise(other).alias("origin"),
        pl.when(other_is_destination).then(other).otherwise(pl.col("region_code")).alias("destination"),
        "year", "value", pl.lit(source.table).alias("source_table"))


def source_values(indicator: Indicator, source: Source, facts: pl.DataFrame) -> pl.DataFrame:
    """One indicator's yearly values from one source."""
    rows = source_rows(source, facts)
    if source.sum_matching:
        rows = (rows.filter(pl.col("value").is_not_null()).group_by("region_code", "year")
                .agg(pl.col("value").sum(), pl.col("period_status").min(), pl.col("vintage").max(),
                     pl.col("origin").first()))
    elif source.sum_over:
        expected = len(next(iter(source.sum_over.values())))
        rows = (rows.group_by("region_code", "year")
                .agg(pl.col("value").sum(), pl.col("value").is_not_null().sum().alias("n"),
                     pl.col("period_status").min(), pl.col("vintage").max(), pl.col("origin").first())
                .filter(pl.col("n") == expected).drop("n"))  # never a partial sum
    return rows.filter(pl.col("value").is_not_null()).select(
        pl.lit(indicator.code).alias("indicator"), "region_code", "year", "value",
        pl.lit(source.table).alias("source_table"), "period_status", "vintage",
        pl.col("origin").alias("source_file"))


def indicator_values(indicators: dict[str, Indicator], facts: pl.DataFrame) -> pl.DataFrame:
    """Published values of every source-backed indicator; the first source with a value wins per region-year."""
    frames = []
    for ind in indicators.values():
        if ind.aggregation == "border_flow":  # computed per region from its flows (regiostat.regions.flows)
            continue
        for rank, source in enumerate(ind.sources):
            frames.append(source_values(ind, source, facts).with_columns(pl.lit(rank).alias("_rank")))
    if not frames:
        return pl.DataFrame(schema=INDICATOR_VALUE_SCHEMA)
    return (pl.concat([f.cast(INDICATOR_VALUE_SCHEMA | {"_rank": pl.Int32}) for f in frames])
            .sort("_rank").unique(["indicator", "region_code", "year"], keep="first", maintain_order=True)
            .drop("_rank").sort(["indicator", "region_code", "year"]))
