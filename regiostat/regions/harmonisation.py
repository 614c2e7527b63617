"""Municipal series on one year's boundaries, for every additive indicator that can be converted.

Population is converted with itself as the weight (exact: the stated inhabitants move). Other
counts need the giver's population in the year before a partial transfer; where that is not
in the warehouse the indicator is skipped with the reason, never converted on a guess.
"""

from __future__ import annotations

import polars as pl

from regiostat.regions import boundaries

SERIES_SCHEMA = {
    "indicator": pl.String, "boundary_year": pl.Int64, "region_code": pl.String, "year": pl.Int64,
    "value": pl.Float64, "converted": pl.Boolean, "method": pl.String, "weight": pl.Float64,
    "contributors": pl.String,
}
CONTRIBUTION_SCHEMA = {
    "indicator": pl.String, "boundary_year": pl.Int64, "region_code": pl.String, "year": pl.Int64,
    "contributor_code": pl.String, "contributor_weight": pl.Float64, "contributed_value": pl.Float64,
}


def harmonise_indicators(published: pl.DataFrame, changes: pl.DataFrame, *, additive: list[str],
                         boundary_years: tuple[int, ...], weight: str = "inhabitants",
                         weight_indicator: str = "population") -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """published: (indicator, region_code, year, value). Returns series, contributions and skipped reasons."""
    municipal = published.filter(pl.col("region_code").str.starts_with("GM"), pl.col("indicator").is_in(additive))
    totals = (municipal.filter(pl.col("indicator") == weight_indicator)
              .select("region_code", "year", pl.col("value").alias("total")))
    series, parts, skipped = [], [], {}
    for target in boundary_years:
        for code in additive:
            frame = municipal.filter(pl.col("indicator") == code, pl.col("year") <= target).select(
                "region_code", "year", "value")
            if frame.is_empty():
                continue
            try:
                out = boundaries.harmonise(frame, changes, target_year=target, weight=weight,
                                           giver_totals=None if code == weight_indicator else totals)
            except ValueError as exc:
                skipped[f"{code} on {target} boundaries"] = str(exc)
                continue
            series.append(out.select(
                pl.lit(code).alias("indicator"), pl.lit(target, pl.Int64).alias("boundary_year"), "region_code",
                pl.col("year").cast(pl.Int64), "value", "converted", "method", "weight",
                pl.col("contributors").list.join(", ").alias("contributors")))
            sources = frame.select(pl.col("region_code").alias("contributor_code"), pl.col("year").cast(pl.Int64),
                                   pl.col("value").alias("source_value"))
            parts.append(
                out.select("region_code", pl.col("year").cast(pl.Int64), "contributors", "contributor_weights")
                .explode("contributors", "contributor_weights")
                .rename({"contributors": "contributor_code", "contributor_weights": "contributor_weight"})
                .join(sources, on=["contributor_code", "year"], how="left")
                .select(pl.lit(code).alias("indicator"), pl.lit(target, pl.Int64).alias("boundary_year"),
                        "region_code", "year", "contributor_code", "contributor_weight",
                        (pl.col("source_value").fill_null(0.0) * pl.col("contributor_weight"))
                        .alias("contributed_value")))
    return (pl.concat(series).cast(SERIES_SCHEMA) if series else pl.DataFrame(schema=SERIES_SCHEMA),
            pl.concat(parts).cast(CONTRIBUTION_SCHEMA) if parts else pl.DataFrame(schema=CONTRIBUTION_SCHEMA),
            skipped)
