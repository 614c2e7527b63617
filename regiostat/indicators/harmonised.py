"""Additive municipal indicators on the municipal map of each boundary year (marts.municipal_series_harmonised
and the contributions behind every converted value)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.indicators.values import indicator_values
from regiostat.regions.custom import RegionConfig
from regiostat.regions.harmonisation import SERIES_SCHEMA, harmonise_indicators

TOTAL_TOLERANCE = 0.5  # a national total may differ by rounding only
# marts.municipal_series_harmonised: the series beside the published value
SERIES_COLUMNS = SERIES_SCHEMA | {"published_value": pl.Float64, "source_table": pl.String}
WEIGHT_INDICATOR = "population"  # harmonise_indicators' weight for partial transfers of other indicators


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
    return Harmonised(_beside_published(series, published), parts, skipped)


def municipal_series_by_indicator(indicators: dict[str, Indicator], config: RegionConfig,
                                  facts_of: Callable[[Sequence[Indicator]], pl.DataFrame], changes: pl.DataFrame,
                                  skipped: dict[str, str]) -> Iterator[Harmonised]:
    """municipal_series a boundary year and an indicator at a time, in its order (``facts_of(indicators)``: the facts
    those indicators read; each indicator is harmonised with the population as its weight, so both are read), so a
    national table's series are never held whole. The reasons an indicator was not harmonised go into ``skipped``."""
    additive = [c for c, i in indicators.items() if i.aggregation == "sum"]
    weight = {WEIGHT_INDICATOR: indicators[WEIGHT_INDICATOR]} if WEIGHT_INDICATOR in additive else {}
    for target in config.boundary_years:
        for code in additive:
            chosen = {code: indicators[code], **weight}
            published = indicator_values(chosen, facts_of(list(chosen.values())))
            series, parts, why = harmonise_indicators(published, changes, additive=additive, codes=[code],
                                                      boundary_years=(target,), weight=config.weight,
                                                      weight_indicator=WEIGHT_INDICATOR)
            skipped.update(why)
            yield Harmonised(_beside_published(series, published), parts, why)


def _beside_published(series: pl.DataFrame, published: pl.DataFrame) -> pl.DataFrame:
    observed = published.select("indicator", "region_code", "year", pl.col("value").alias("published_value"),
                                pl.col("source_table"))
    return series.join(observed, on=["indicator", "region_code", "year"], how="left")


def totals_not_preserved(series: pl.DataFrame, contributions: pl.DataFrame) -> pl.DataFrame:
    """Per indicator, boundary year and year, national totals of the harmonised series that differ from the
    total contributed by the old municipalities: conversion created or lost something."""
    key = ["indicator", "boundary_year", "year"]
    harmonised = series.group_by(key).agg(pl.col("value").sum().alias("harmonised_total"))
    contributed = contributions.group_by(key).agg(pl.col("contributed_value").sum().alias("contributed_total"))
    return harmonised.join(contributed, on=key).filter(
        (pl.col("harmonised_total") - pl.col("contributed_total")).abs() > TOTAL_TOLERANCE).sort(key)
