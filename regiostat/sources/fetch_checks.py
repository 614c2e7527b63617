"""Checks a complete fetch must pass before its rows are used, and what happens when one fails.

A fetch that fails (its format, no rows where its metadata promises some, a key given twice across its
pages, rows its raw checks refuse) raises :class:`FetchError` naming the fetch. :func:`with_fallback`
turns that into a state in the landing zone (``failed``: kept for inspection, never read) and runs the
raw step again without it, so the table's earlier good fetch stays in use and no later run is poisoned.
A table whose fetches holding rows have all failed fails the step (:func:`check_fetch_left`): building
without it would drop what the warehouse published of it. A good fetch landing, or the operator retiring
the failed one (`regiostat retire-fetch`: then the table is built as one not fetched yet), ends that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import duckdb

from regiostat.landing.fetches import FetchState, holds_rows, mark_failed
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
    again without it. A table with no other complete fetch holding rows has nothing to fall back on: then
    the error is raised (the fetch stays failed, so the next good fetch is used as soon as it lands)."""
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
            others = [c.fetch_id for c in completes if c.table_id == exc.table_id and holds_rows(c)]
            if not others:
                raise FetchError(exc.table_id, exc.fetch_id, f"{exc.reason} (marked failed; no other complete fetch "
                                 f"of {exc.table_id} to use instead: {_WAYS_OUT.format(table=exc.table_id)})") \
                    from None  # this message is the root cause a failed build names: it says what to do
            log(f"warning: {exc} -- marked failed (kept in the landing zone for inspection; `regiostat retire-fetch "
                f"{exc.fetch_id}` retires it); {exc.table_id} goes on with fetch {others[-1]}")


_WAYS_OUT = ("land a good fetch (a live build fetches the table anew) or retire the failed one to build without "
             "{table} (`regiostat retire-fetch FETCH`)")


def check_fetch_left(failed: dict[str, list[FetchState]], table_ids: tuple[str, ...],
                     completes: list[LandingEntry]) -> None:
    """A table whose fetches holding rows have all failed has no good fetch to use: building without it would drop
    from the warehouse whatever it published of that table. SourceError naming the failed fetch and the ways out
    (a good fetch, or retiring the failed one: then the table is built as one not fetched yet). ``failed``: the
    zone's failed fetches by table (regiostat.landing.fetches.failed_by_table)."""
    usable = {c.table_id for c in completes if holds_rows(c)}
    for table_id in (t.upper() for t in table_ids):
        if table_id not in usable and failed.get(table_id):
            newest = failed[table_id][-1]
            raise SourceError(f"{table_id}: no good fetch to use: fetch {newest.fetch_id} failed its raw checks "
                              f"({newest.reason}); {_WAYS_OUT.format(table=table_id)}")


def check_rows_promised(table_id: str, fetch_id: str, rows: int | None, promised: int | None) -> None:
    """A fetch with no rows while its table's metadata says the table has rows is an error of the fetch (an
    empty answer, a filter that selects nothing), never a complete empty table."""
    if rows == 0 and promised:
        raise FetchError(table_id, fetch_id, f"its data pages hold no rows, while the table's metadata says it has "
                         f"{promised:,}")


def check_unique_keys(con: duckdb.DuckDBPyConnection, table_ids: tuple[str, ...] | list[str],
                      table: str = "raw.observations") -> None:
    """One value per measure, region, period and other dimensions in each fetch of these tables, across all its
    pages: a key given twice (a page served twice, a paging loop) names the key and both files. ``table`` is
    where the rows are (the raw step checks its scratch table before the rows replace the feed's)."""
    if not table_ids:
        return
    marks = ", ".join("?" for _ in table_ids)
    keys = ", ".join(KEY_COLUMNS)
    # Grouping by one hash of the key is ~50x cheaper than by its text with min/max of the paths (7.2 s -> 0.13 s
    # at 1.87M rows); only rows whose hash repeats are grouped again by the key itself, so a collision is harmless.
    hashed = f"hash(table_id, fetch_id, {keys})"
    found = con.execute(
        f"WITH repeated AS (SELECT {hashed} AS h FROM {table} WHERE table_id IN ({marks}) GROUP BY h "
        "HAVING count(*) > 1) "
        f"SELECT table_id, fetch_id, {keys}, min(source_path), max(source_path), min(source_row), max(source_row), "
        f"count(*) FROM {table} WHERE table_id IN ({marks}) AND {hashed} IN (SELECT h FROM repeated) "
        f"GROUP BY table_id, fetch_id, {keys} "
        "HAVING count(*) > 1 ORDER BY table_id, fetch_id, min(source_path), min(source_row) LIMIT 1",
        list(table_ids) * 2).fetchone()
    if found is None:
        return
    table_id, fetch_id, measure, region, period, other, first, last, row_a, row_b, times = found
    where = f"{first} row {row_a} and {last} row {row_b}" if first != last else f"{first} rows {row_a} and {row_b}"
    raise FetchError(table_id, fetch_id, f"key (measure {measure}, region {region!r}, period {period!r}"
                     f"{f', {other}' if other else ''}) is given {times} times: {where}")


def check_failure_cases(zone: LandingZone, completes: list[LandingEntry], cases: list[dict],
                        describe: Callable[[list[dict]], str]) -> None:
    """Failure cases of the raw checks that name one of these fetches (its ``fetch_id``, or a landed file of it as
    ``source_path``) are that fetch's failure: FetchError for the first such fetch, its cases described by
    ``describe``. Cases that name none of these fetches are left to the check to report (and block)."""
    in_use = {c.fetch_id: c for c in completes}
    by_fetch: dict[str, list[dict]] = {}
    for case in cases:
        fetch_id = case.get("fetch_id")
        if fetch_id not in in_use and isinstance(case.get("source_path"), str):
            entry = zone.find(path=case["source_path"])
            fetch_id = entry.fetch_id if entry is not None else None
        if fetch_id in in_use:
            by_fetch.setdefault(fetch_id, []).append(case)
    if by_fetch:
        fetch_id, mine = next(iter(by_fetch.items()))
        raise FetchError(in_use[fetch_id].table_id, fetch_id, f"its rows fail the raw checks: {describe(mine)}")
