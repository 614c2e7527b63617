"""Additive municipal indicators on the municipal map of each boundary year (marts.municipal_series_harmonised
and the contributions behind every converted value)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.indicators.values import indicator_values
from regiostat.regions.custom import RegionConfig
from regiostat.regions.harmonisation import harmonise_indicators

TOTAL_TOLERANCE = 0.5  # a national total may differ by rounding only


@dataclass(frozen=True)
class Harmonised:
    series: pl.DataFrame  # one row per indicator, boundary year, municipality and year, beside the published value
    contributions: pl.DataFrame  # what each old municipality contributed to a converted value
    not_harmonised: dict[str, str]  # "<indicator> on <year> boundaries" -> why not


def municipal_series(indicators: dict[str, Indicator], config: RegionConfig, facts: pl.DataFrame,
                     changes: pl.DataFrame) -> Harmonised:
    """Every additive indicator on the map of each ``[harmonisation] boundary_years`` year; converted values
    are flagged with method and weight, and sit beside the value the source published (if any)."""
    additive = [c for c, i in indicators.items() if i.aggregation == "sum"]
    published = indicator_values(indicators, facts)
    series, parts, skipped = harmonise_indicators(published, changes, additive=additive,
                                                  boundary_years=config.boundary_years, weight=config.weight)
    observed = published.select("indicator", "region_code", "year", pl.col("value").alias("published_value"),
                                pl.col("source_table"))
    return Harmonised(series.join(observed, on=["indicator", "region_code", "year"], how="left"), parts, skipped)


def totals_not_preserved(series: pl.DataFrame, contributions: pl.DataFrame) -> pl.DataFrame:
    """Per indicator, boundary year and year, national totals of the harmonised series that differ from the
    total contributed by the old municipalities: conversion created or lost something."""
    key = ["indicator", "boundary_year", "year"]
    harmonised = series.group_by(key).agg(pl.col("value").sum().alias("harmonised_total"))
    contributed = contributions.group_by(key).agg(pl.col("contributed_value").sum().alias("contributed_total"))
    return harmonised.join(contributed, on=key).filter(
        (pl.col("harmonised_total") - pl.col("contributed_total")).abs() > TOTAL_TOLERANCE).sort(key)
