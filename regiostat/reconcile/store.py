"""The claims of one reconciliation, kept in DuckDB where they are made, not in Python memory.

At national scale the warehouse's figures are hundreds of thousands of claims, and the rules and sum checks
set-based over them as many rows again; held as polars frames they took more than a gigabyte at 1.87M
staged rows. Here they go batch by batch into reconcile.candidates, and the columns the run reads again into a
TEMP table of the run's connection (DuckDB spills it to its temp directory under its memory limit; it vanishes
with the connection and is never published); each step asks for the few rows it needs: one group of periods
for the screen, the claims of the quantities the engine must see, the latest figures the closest-figure
search can read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import polars as pl

from regiostat.reconcile.warehouse_claims import CLAIM_COLUMNS, CLAIM_SCHEMA
from regiostat.warehouse import TEMP_PREFIX, create_like, groups_of, insert, registered

QKEY = ("indicator", "region", "period")
ORDER = "_seq"  # the order the claims were made in: reconcile.candidates keeps it
# what the run asks of every claim, kept beside reconcile.candidates (whose row ids are the order): the screen's and
# sum checks' columns, and which claims are the latest vintage
NARROW = ("claim_id", *QKEY, "value", "low", "high", "source_kind", "source")
STORE_SCHEMA = {c: CLAIM_SCHEMA[c] for c in NARROW} | {"is_latest": pl.Boolean, ORDER: pl.Int64}
_TEMP = TEMP_PREFIX + "reconcile_{}"  # the TEMP tables of one run: claims, and rows written away as they are made


class ClaimStore:
    """Every claim of a run in the order appended: whole (CLAIM_COLUMNS) in ``candidates`` (reconcile.candidates,
    made anew), and the columns the run reads again with ``is_latest`` in a TEMP table of ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, candidates: str) -> None:
        self.con, self.candidates = con, candidates
        self.table = _TEMP.format("claims")
        self.rows = 0
        create_like(con, candidates, CLAIM_SCHEMA)
        create_like(con, self.table, STORE_SCHEMA, temp=True)

    def append(self, frame: pl.DataFrame) -> None:
        """Claims (CLAIM_COLUMNS and is_latest) after those already here."""
        if frame.is_empty():
            return
        insert(self.con, self.candidates, frame.select(CLAIM_COLUMNS))
        numbered = frame.select(*NARROW, "is_latest").with_columns(
            pl.int_range(self.rows, self.rows + frame.height, dtype=pl.Int64).alias(ORDER))
        insert(self.con, self.table, numbered)
        self.rows += frame.height

    def period_groups(self, max_rows: int) -> list[list[str]]:
        """The periods claimed, sorted, in groups of at most ``max_rows`` claims (one period may hold more)."""
        return groups_of(self.con.execute(f"SELECT period, count(*) FROM {self.table} GROUP BY period "
                                          "ORDER BY period").fetchall(), max_rows)

    def of_periods(self, periods: Sequence[str], columns: Sequence[str]) -> pl.DataFrame:
        """``columns`` of the claims about these periods, in the order they were made."""
        with registered(self.con, _periods=pl.DataFrame({"period": list(periods)}, schema={"period": pl.String})):
            return self._frame(f"SELECT {', '.join(columns)} FROM {self.table} SEMI JOIN _periods USING (period) "
                               f"ORDER BY {ORDER}", columns)

    def of_quantities(self, quantities: pl.DataFrame) -> pl.DataFrame:
        """Every claim (CLAIM_COLUMNS) about these (indicator, region, period), in the order they were made."""
        with registered(self.con, _quantities=quantities.select(QKEY)):
            found = self.con.sql(f"SELECT c.*, s.claim_id AS _id FROM {self.candidates} c JOIN (SELECT {ORDER}, "
                                 f"claim_id FROM {self.table} SEMI JOIN _quantities USING ({', '.join(QKEY)})) s "
                                 f"ON c.rowid = s.{ORDER} ORDER BY s.{ORDER}").pl()
        if not found["claim_id"].equals(found["_id"]):
            raise RuntimeError(f"{self.candidates} is not in the order its claims were made")
        return found.select(CLAIM_COLUMNS).cast(CLAIM_SCHEMA)

    def quantities_at(self, places: pl.DataFrame) -> pl.DataFrame:
        """The (indicator, region, period) claimed at these (region, period)."""
        with registered(self.con, _places=places.select("region", "period")):
            return self._frame(f"SELECT DISTINCT {', '.join(QKEY)} FROM {self.table} "
                               "SEMI JOIN _places USING (region, period)", QKEY)

    def latest_ids(self, claim_ids: Iterable[str]) -> set[str]:
        """Which of ``claim_ids`` are the latest vintage of their figure."""
        ids = pl.DataFrame({"claim_id": sorted(set(claim_ids))}, schema={"claim_id": pl.String})
        with registered(self.con, _ids=ids):
            found = self.con.execute(f"SELECT claim_id FROM {self.table} SEMI JOIN _ids USING (claim_id) "
                                     "WHERE is_latest").fetchall()
        return {r[0] for r in found}

    def latest_of(self, indicators: Iterable[str], regions: Iterable[str]) -> pl.DataFrame:
        """The latest figures (claim id, QKEY, value, low, high, source kind and source) of these indicators in
        these regions, in the order they were made."""
        wanted = {"_indicators": pl.DataFrame({"indicator": sorted(set(indicators))}, schema={"indicator": pl.String}),
                  "_regions": pl.DataFrame({"region": sorted(set(regions))}, schema={"region": pl.String})}
        with registered(self.con, **wanted):
            return self._frame(f"SELECT {', '.join(NARROW)} FROM {self.table} SEMI JOIN _indicators "
                               f"USING (indicator) SEMI JOIN _regions USING (region) WHERE is_latest ORDER BY {ORDER}",
                               NARROW)

    def signed_indicators(self) -> set[str]:
        """Indicators a source publishes negative somewhere (regiostat.reconcile.screen.signed_indicators)."""
        found = self.con.execute(f"SELECT DISTINCT indicator FROM {self.table} "
                                 "WHERE low < 0 AND source_kind <> 'document'").fetchall()
        return {r[0] for r in found}

    def close(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.table}")

    def _frame(self, sql: str, columns: Sequence[str]) -> pl.DataFrame:
        return self.con.sql(sql).pl().select(columns).cast({c: STORE_SCHEMA[c] for c in columns})
