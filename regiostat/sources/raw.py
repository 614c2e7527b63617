"""The raw layer of one feed: its complete fetches, read by their source, written into the raw.* tables.

Every source writes the same five tables; a feed's rows carry its table ids, so a feed is replaced
as a whole (re-running gives the same rows, never duplicates) without touching any other feed's.
Observations go in batch by batch as the source reads them (the pages of a national table), first into
a TEMP scratch table outside any transaction (DuckDB keeps a transaction's own appends in memory: +30 MB
per 100,000 rows; a TEMP table spills to DuckDB's temp directory under its memory limit, is written
uncompressed and without a log, and vanishes with the connection), then into raw.* by one INSERT in one
transaction with the feed's other rows: a page that breaks its format, or a crash, leaves raw.* as it
was; nothing half-written is ever read.
A feed whose complete fetches and configuration are what its rows were read from last time (its
fingerprint, in meta.layer_state) is not read again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import polars as pl

from regiostat import warehouse
from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model import state
from regiostat.model.observations import (
    CODE_COLUMNS,
    MEASURE_COLUMNS,
    MEMBERSHIP_COLUMNS,
    Capture,
    concat_or_empty,
    conform,
)
from regiostat.model.staging import fetch_table
from regiostat.sources.protocol import Feed, Source, complete_fetches

RAW_TABLES = ("raw.observations", "raw.measures", "raw.dimension_codes", "raw.fetches", "raw.region_memberships")
_SCRATCH = "temp._incoming_raw_observations"  # a feed's observations while they are read; never read by anything else
READER_VERSION = 2  # bump when reading landed files changes what lands in raw.* (every feed is read again)


@dataclass(frozen=True)
class RawFeed:
    """What one feed puts in raw.*: its captures (observations still to be read, batch by batch), the complete
    fetches they come from, and the table ids whose rows it replaces."""

    captures: list[Capture]
    completes: list[LandingEntry]
    table_ids: tuple[str, ...]
    source_kind: str

    @property
    def fetches(self) -> int:
        return len(self.captures)

    @property
    def skipped_columns(self) -> tuple[str, ...]:
        return tuple(sorted({col for c in self.captures for col in c.skipped_columns}))


def feed_fingerprint(feed: Feed, completes: list[LandingEntry]) -> str:
    """What a feed's raw rows are read from: its complete fetches (in landing order), its configuration and the
    readers' version."""
    return state.fingerprint(READER_VERSION, feed.name, feed.table_ids, repr(feed.config),
                             [(e.fetch_id, e.table_modified, e.table_version, e.rows) for e in completes])


def unchanged(con: duckdb.DuckDBPyConnection, feed: Feed, fingerprint: str, layer: str = state.RAW) -> bool:
    """Whether every table of the feed was last written (or checked) from exactly this fingerprint."""
    before = state.recorded(con, layer)
    return all(before.get(t) == fingerprint for t in feed.table_ids)


def read_feed(source: Source, feed: Feed, zone: LandingZone, completes: list[LandingEntry] | None = None) -> RawFeed:
    """Every complete fetch of the feed, opened by its source; a feed with no fetch yet gives no rows."""
    completes = complete_fetches(zone, feed) if completes is None else completes
    captures = source.read(zone, feed, completes)
    table_ids = tuple(sorted({*feed.table_ids, *(c.table_id for c in captures)}))
    return RawFeed(captures, completes, table_ids, source.name)


def write_feed(con: duckdb.DuckDBPyConnection, raw: RawFeed, fingerprint: str | None = None,
               check: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None) -> dict[str, int]:
    """Replace the feed's rows in every raw table, in one transaction, and record what they were read from (so
    their format check runs again); rows written per table. ``check(con, table)`` sees the feed's new
    observations (in ``table``) before they replace anything: if it raises, raw.* stays as it was."""
    counts = dict.fromkeys(RAW_TABLES, 0)
    marks = ", ".join("?" for _ in raw.table_ids)
    small: list[tuple[str, pl.DataFrame]] = []
    scratch = _SCRATCH.removeprefix("temp.")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {scratch} AS SELECT * FROM raw.observations LIMIT 0")
    try:
        for table, frame in _frames(raw):
            if table == "raw.observations":
                counts[table] += warehouse.append_rows(con, _SCRATCH, frame)
            else:
                small.append((table, frame))
        if check is not None:
            check(con, _SCRATCH)
        _replace(con, raw, small, counts, marks, fingerprint)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_SCRATCH}")
    return counts


def _replace(con: duckdb.DuckDBPyConnection, raw: RawFeed, small: list[tuple[str, pl.DataFrame]],
             counts: dict[str, int], marks: str, fingerprint: str | None) -> None:
    """The feed's rows in raw.* swapped for the new ones, and the fingerprint recorded, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in RAW_TABLES:
            con.execute(f"DELETE FROM {warehouse.qualified(table)} WHERE table_id IN ({marks})", list(raw.table_ids))
        con.execute(f"INSERT INTO raw.observations SELECT * FROM {_SCRATCH}")
        for table, frame in small:
            counts[table] += warehouse.append_rows(con, table, frame)
        state.forget(con, state.RAW_CHECKED, raw.table_ids)
        if fingerprint is not None:
            state.record(con, state.RAW, dict.fromkeys(raw.table_ids, fingerprint))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _frames(raw: RawFeed) -> Iterator[tuple[str, pl.DataFrame]]:
    """(raw table, rows) in the order they are read: each capture's small frames, then its observations batch by
    batch; last the fetches."""
    for c in raw.captures:
        yield "raw.measures", conform(c.measures, MEASURE_COLUMNS)
        yield "raw.dimension_codes", conform(c.codes, CODE_COLUMNS)
        memberships = conform(concat_or_empty([c.memberships], MEMBERSHIP_COLUMNS), MEMBERSHIP_COLUMNS)
        yield "raw.region_memberships", memberships.with_columns(pl.lit(c.table_id).alias("table_id"))
        for batch in c.observation_batches():
            yield "raw.observations", batch
    yield "raw.fetches", fetch_table(raw.completes, source_kind=raw.source_kind)


def preview(con: duckdb.DuckDBPyConnection, table_ids: list[str], rows: int = 10) -> pl.DataFrame:
    """The first rows of these tables' observations as written (for the run's metadata)."""
    marks = ", ".join("?" for _ in table_ids) or "NULL"
    return con.sql(f"SELECT * FROM raw.observations WHERE table_id IN ({marks}) LIMIT {rows}",
                   params=list(table_ids)).pl()
