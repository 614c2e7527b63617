"""Checks a complete fetch must pass before its rows are used, and what happens when one fails.

A fetch that fails (its format, no rows where its metadata promises some, a key given twice across its
pages) raises :class:`FetchError` naming the fetch. :func:`with_fallback` turns that into a state in the
landing zone (``failed``: kept for inspection, never read) and runs the raw step again without it, so
the table's earlier good fetch stays in use and no later run is poisoned; only a table left with no
fetch at all fails the step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import duckdb

from regiostat.landing.fetches import mark_failed
from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.sources.protocol import SourceError

T = TypeVar("T")
KEY_COLUMNS = ("measure_code", "region_raw", "period_raw", "other_dims_raw")


class FetchError(SourceError):
    """One complete fetch cannot be used; the message names the table, the fetch and why."""

    def __init__(self, table_id: str, fetch_id: str, reason: str):
        self.table_id, self.fetch_id, self.reason = table_id, fetch_id, reason
        super().__init__(f"{table_id} fetch {fetch_id}: {reason}")


def with_fallback(zone: LandingZone, completes: list[LandingEntry], attempt: Callable[[list[LandingEntry]], T],
                  log: Callable[[str], None] = print) -> tuple[T, list[FetchError]]:
    """``attempt(completes)``; each FetchError of one of these fetches marks it failed and the attempt runs
    again without it. A table with no other complete fetch to use has nothing to fall back on: then the
    error is raised (the fetch stays failed, so the next good fetch is used as soon as it lands)."""
    failed: list[FetchError] = []
    while True:
        try:
            return attempt(completes), failed
        except FetchError as exc:
            if not any(c.fetch_id == exc.fetch_id for c in completes):
                raise  # not a fetch this attempt was given: nothing to fall back from
            mark_failed(zone, exc.fetch_id, exc.reason)
            failed.append(exc)
            completes = [c for c in completes if c.fetch_id != exc.fetch_id]
            others = [c.fetch_id for c in completes if c.table_id == exc.table_id]
            if not others:
                raise FetchError(exc.table_id, exc.fetch_id, f"{exc.reason} (marked failed; no other complete fetch "
                                 f"of {exc.table_id} to use instead)") from exc
            log(f"warning: {exc} -- marked failed (kept in the landing zone for inspection; `regiostat retire-fetch "
                f"{exc.fetch_id}` retires it); {exc.table_id} goes on with fetch {others[-1]}")


def check_rows_promised(table_id: str, fetch_id: str, rows: int | None, promised: int | None) -> None:
    """A fetch with no rows while its table's metadata says the table has rows is an error of the fetch (an
    empty answer, a filter that selects nothing), never a complete empty table."""
    if rows == 0 and promised:
        raise FetchError(table_id, fetch_id, f"its data pages hold no rows, while the table's metadata says it has "
                         f"{promised:,}")


def check_unique_keys(con: duckdb.DuckDBPyConnection, table_ids: tuple[str, ...] | list[str]) -> None:
    """One value per measure, region, period and other dimensions in each fetch of these tables, across all its
    pages: a key given twice (a page served twice, a paging loop) names the key and both files."""
    if not table_ids:
        return
    marks = ", ".join("?" for _ in table_ids)
    keys = ", ".join(KEY_COLUMNS)
    found = con.execute(
        f"SELECT table_id, fetch_id, {keys}, min(source_path), max(source_path), min(source_row), max(source_row), "
        f"count(*) FROM raw.observations WHERE table_id IN ({marks}) GROUP BY table_id, fetch_id, {keys} "
        "HAVING count(*) > 1 ORDER BY table_id, fetch_id, min(source_path), min(source_row) LIMIT 1",
        list(table_ids)).fetchone()
    if found is None:
        return
    table_id, fetch_id, measure, region, period, other, first, last, row_a, row_b, times = found
    where = f"{first} row {row_a} and {last} row {row_b}" if first != last else f"{first} rows {row_a} and {row_b}"
    raise FetchError(table_id, fetch_id, f"key (measure {measure}, region {region!r}, period {period!r}"
                     f"{f', {other}' if other else ''}) is given {times} times: {where}")
