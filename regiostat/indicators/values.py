"""Reading indicator values from the facts: which rows each source reads and how they are combined.

Every source's observations are in one table, so an indicator source is the same kind of thing
whatever the source: a table, a measure and fixed dimension codes (config/indicators.toml).
"""

from __future__ import annotations

import polars as pl

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


def source_rows(source: Source, facts: pl.DataFrame) -> pl.DataFrame:
    """The rows one source reads, not aggregated: the yearly observations of its table, measure and
    dimensions (and sum_over codes). Null values stay. ``facts`` carry each period's year and type."""
    rows = facts.filter(pl.col("table_id") == source.table, pl.col("measure_id") == source.measure,
                        dimension_filter(source), pl.col("period_type") == "jaar")
    for dim, codes in source.sum_over.items():
        pattern = f"(^|;){dim}=({'|'.join(codes)})(;|$)"
        rows = rows.filter(pl.col("dimension_key").str.contains(pattern))
    return rows


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
        for rank, source in enumerate(ind.sources):
            frames.append(source_values(ind, source, facts).with_columns(pl.lit(rank).alias("_rank")))
    if not frames:
        return pl.DataFrame(schema=INDICATOR_VALUE_SCHEMA)
    return (pl.concat([f.cast(INDICATOR_VALUE_SCHEMA | {"_rank": pl.Int32}) for f in frames])
            .sort("_rank").unique(["indicator", "region_code", "year"], keep="first", maintain_order=True)
            .drop("_rank").sort(["indicator", "region_code", "year"]))
