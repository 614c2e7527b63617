"""Everything the profile site shows, read once from the PUBLISHED warehouse over a read-only connection.

The site never opens the build database: it shows what readers see. Only `marts.regional_profile` is
required. Every other table is optional and checked for the columns the site uses, so the site keeps
building while the warehouse grows (or is reshaped) and shows a section as soon as its table exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from regiostat.publish.reader import current_version

PROFILE_COLUMNS = ("region_code", "region_name", "region_level", "year", "indicator", "indicator_name", "value",
                   "unit", "method", "members_with_data", "members_expected", "missing_members", "source_tables")

# table -> the columns the site reads from it; a table lacking one is treated as absent
OPTIONAL: dict[str, tuple[str, ...]] = {
    "core.dim_indicator": ("code", "name_nl", "name_en"),
    "core.dim_region": ("region_code", "region_name", "region_level"),
    "core.region_parent": ("region_code", "parent_level", "parent_code"),
    "core.custom_region": ("region_id", "member_code"),
    "core.dim_source_table": ("table_id", "title", "licence"),
    "marts.jobs_by_sector_region_year": ("region_code", "year", "sbi_section", "sector_title", "employee_jobs",
                                         "source_table"),
    "marts.municipal_series_harmonised": ("indicator", "boundary_year", "region_code", "year", "value", "converted",
                                          "method", "contributors", "published_value", "source_table"),
    "reconcile.verdicts": ("claim_id", "indicator", "region", "period", "stated", "verdict", "sentence", "document",
                           "location", "quote"),
    "reconcile.decisions": ("indicator", "region", "period", "sentence"),
    "meta.build_info": ("build_id", "built_at", "schema_version"),
}
NARROW: set[str] = set()  # tables read only for the listed columns (they grow with every fetch)
STATUS_TABLES = {"core.fact_observation": ("table_id", "period_code", "period_status", "attribution"),
                 "core.dim_period": ("period_code", "year")}


class NotAPublishedWarehouse(ValueError):
    """The file lacks marts.regional_profile (or its columns): nothing to build pages from."""


@dataclass(frozen=True)
class WarehouseData:
    """The published tables the site reads; a None table was absent (its section is left out)."""

    profile: pl.DataFrame
    tables: dict[str, pl.DataFrame | None] = field(default_factory=dict)
    statuses: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    attributions: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)  # the lines each source asks

    def table(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)


def read_warehouse(published_path: Path | str) -> WarehouseData:
    path = Path(published_path)
    try:
        version = current_version(path)  # the pointer, read once: a publish during the read cannot split it
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{exc}: run `regiostat build` first") from exc
    con = duckdb.connect(str(version), read_only=True)
    try:
        columns = _columns(con)
        if not set(PROFILE_COLUMNS) <= columns.get("marts.regional_profile", set()):
            raise NotAPublishedWarehouse(f"{path} has no marts.regional_profile with columns {PROFILE_COLUMNS}")
        profile = con.sql(f"SELECT {', '.join(PROFILE_COLUMNS)} FROM marts.regional_profile "
                          "ORDER BY region_code, indicator, year").pl()
        tables = {name: _read_optional(con, name, needed, columns) for name, needed in OPTIONAL.items()}
        statuses, attributions = _period_statuses(con, columns)
    finally:
        con.close()
    return WarehouseData(profile=profile, tables=tables, statuses=statuses, attributions=attributions)


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for schema, table, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns").fetchall():
        found.setdefault(f"{schema}.{table}", set()).add(column)
    return found


def _read_optional(con: duckdb.DuckDBPyConnection, name: str, needed: tuple[str, ...],
                   columns: dict[str, set[str]]) -> pl.DataFrame | None:
    if not set(needed) <= columns.get(name, set()):
        return None
    if name in NARROW:
        return con.sql(f"SELECT DISTINCT {', '.join(needed)} FROM {name}").pl()
    return con.sql(f"SELECT * FROM {name}").pl()


Lines = dict[tuple[str, int], tuple[str, ...]]


def _period_statuses(con: duckdb.DuckDBPyConnection, columns: dict[str, set[str]]) -> tuple[Lines, Lines]:
    """Per source table and year: its period statuses and its attribution lines. CBS gives a status per period
    of a table (definitief, voorlopig), the same for every region: so a figure's status, aggregated or not, is
    its source table's status for that year. The attribution is the line the source asks for ("Bron: CBS",
    "Bron: LISA 2017"), as the warehouse recorded it."""
    if any(not set(needed) <= columns.get(name, set()) for name, needed in STATUS_TABLES.items()):
        return {}, {}
    rows = con.execute("""
        SELECT f.table_id, p.year, list(DISTINCT f.period_status ORDER BY f.period_status),
               list(DISTINCT f.attribution ORDER BY f.attribution)
        FROM core.fact_observation f JOIN core.dim_period p USING (period_code)
        WHERE p.year IS NOT NULL GROUP BY ALL""").fetchall()
    statuses = {(table_id, int(year)): tuple(s for s in found if s) for table_id, year, found, _ in rows}
    attributions = {(table_id, int(year)): tuple(a for a in lines if a) for table_id, year, _, lines in rows}
    return statuses, attributions
