"""The raw layer of one feed: its complete fetches, read by their source, as the raw.* tables' rows.

Every source writes the same five tables; a feed's rows carry its table ids, so a feed is replaced
as a whole (re-running gives the same rows, never duplicates) without touching any other feed's.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from regiostat import warehouse
from regiostat.landing.zone import LandingZone
from regiostat.model.observations import (
    CODE_COLUMNS,
    MEASURE_COLUMNS,
    MEMBERSHIP_COLUMNS,
    OBSERVATION_COLUMNS,
    concat_or_empty,
    conform,
)
from regiostat.model.staging import fetch_table
from regiostat.sources.protocol import Feed, Source, complete_fetches


@dataclass(frozen=True)
class RawFeed:
    """What one feed puts in raw.*: rows per table, and the table ids whose rows it replaces."""

    tables: dict[str, pl.DataFrame]
    table_ids: tuple[str, ...]
    fetches: int
    skipped_columns: tuple[str, ...]


def read_feed(source: Source, feed: Feed, zone: LandingZone) -> RawFeed:
    """Every complete fetch of the feed, read by its source; a feed with no fetch yet gets empty tables."""
    completes = complete_fetches(zone, feed)
    captures = source.read(zone, feed, completes)
    memberships = [conform(c.memberships, MEMBERSHIP_COLUMNS).with_columns(pl.lit(c.table_id).alias("table_id"))
                   for c in captures]
    tables = {
        "raw.observations": concat_or_empty([conform(c.observations, OBSERVATION_COLUMNS) for c in captures],
                                            OBSERVATION_COLUMNS),
        "raw.measures": concat_or_empty([conform(c.measures, MEASURE_COLUMNS) for c in captures], MEASURE_COLUMNS),
        "raw.dimension_codes": concat_or_empty([conform(c.codes, CODE_COLUMNS) for c in captures], CODE_COLUMNS),
        "raw.fetches": fetch_table(completes, source_kind=source.name),
        "raw.region_memberships": concat_or_empty(memberships, {**MEMBERSHIP_COLUMNS, "table_id": pl.String}),
    }
    table_ids = tuple(sorted({*feed.table_ids, *(c.table_id for c in captures)}))
    skipped = tuple(sorted({col for c in captures for col in c.skipped_columns}))
    return RawFeed(tables, table_ids, len(captures), skipped)


def write_feed(con: duckdb.DuckDBPyConnection, raw: RawFeed) -> dict[str, int]:
    """Replace the feed's rows in every raw table; rows written per table."""
    counts = {}
    for table, frame in raw.tables.items():
        counts[table] = sum(warehouse.replace_rows(con, table, frame.filter(pl.col("table_id") == t),
                                                   where={"table_id": t}) for t in raw.table_ids)
    return counts
