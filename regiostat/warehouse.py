"""Writing the DuckDB build database: schema, idempotent replaces, marts.

All SQL here uses parameters for values and ``quote_ident`` for names, never string
formatting of data. Frames go in through Arrow (``con.register``), never row by row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb
import polars as pl

# The layout readers see. Bump it when that layout changes beyond schema.sql (tables and columns that
# assets create): the version is part of the fingerprint, so older build databases are rebuilt, and
# health reports a published file of another version. 3: marts.region_names and schema_info.schema_version gone.
# 4: LISA rows in staging.observations / core.fact_observation (source_kind, reference_date, attribution);
# staging.lisa_observations a view.
SCHEMA_VERSION = 4
_CREATE_SCHEMA = re.compile(r"^\s*CREATE\s+SCHEMA\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*;", re.IGNORECASE | re.MULTILINE)


def layers(ddl: str) -> list[str]:
    """The schemas (raw, staging, core, ...) that the DDL creates, in its order."""
    return _CREATE_SCHEMA.findall(ddl)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    schema, _, name = table.partition(".")
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def ensure_schema(con: duckdb.DuckDBPyConnection, schema_sql: Path) -> None:
    """Create the layers; if schema.sql or SCHEMA_VERSION changed since this build database was made, rebuild it.

    The build database holds only derived data (the landing zone is the source of truth), so a
    changed schema is met by dropping the layers rather than by migrations; the run that follows
    rebuilds them. The published warehouse is untouched until that run passes its checks.
    """
    ddl = schema_sql.read_text()
    fingerprint = hashlib.sha256(f"schema_version {SCHEMA_VERSION}\n{ddl}".encode()).hexdigest()
    has_meta = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' "
                           "AND table_name = 'schema_info'").fetchall()[0][0]
    current = con.execute("SELECT fingerprint FROM meta.schema_info").fetchall() if has_meta else []
    if current and current[0][0] == fingerprint:
        return
    for layer in layers(ddl):
        con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(layer)} CASCADE")
    con.execute(ddl)
    con.execute("CREATE TABLE meta.schema_info (fingerprint VARCHAR)")
    con.execute("INSERT INTO meta.schema_info VALUES (?)", [fingerprint])


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                 *, where: dict[str, str] | None = None) -> int:
    """Delete the rows matching ``where`` (all rows if None) and insert ``frame`` in one transaction.

    Re-running with the same input gives the same table: never duplicates, never a half-replaced table.
    """
    condition = " AND ".join(f"{quote_ident(col)} = ?" for col in (where or {})) or "TRUE"
    view = "_regiostat_incoming"
    con.register(view, frame.to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {qualified(table)} WHERE {condition}", list((where or {}).values()))
            con.execute(f"INSERT INTO {qualified(table)} BY NAME SELECT * FROM {quote_ident(view)}")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(view)
    return frame.height


def append_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Insert ``frame`` into ``table`` by column name (the caller holds the transaction)."""
    if frame.height == 0:
        return 0
    view = "_regiostat_append"
    con.register(view, frame.to_arrow(compat_level=pl.CompatLevel.newest()))  # string views: no copy of the text
    try:
        con.execute(f"INSERT INTO {qualified(table)} BY NAME SELECT * FROM {quote_ident(view)}")
    finally:
        con.unregister(view)
    return frame.height


def create_table_from(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """CREATE OR REPLACE a table with the frame's columns (for tables whose shape the frame defines)."""
    view = "_regiostat_new_table"
    con.register(view, frame.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TABLE {qualified(table)} AS SELECT * FROM {quote_ident(view)}")
    finally:
        con.unregister(view)
    return frame.height


def facts_with_year(con: duckdb.DuckDBPyConnection, table: str = "core.fact_observation", *, where: str = "TRUE",
                    params: list | None = None) -> pl.DataFrame:
    """core.fact_observation (or another table of observations, e.g. staging.observations) with each
    period's year and type, as the indicator readers need it; ``where`` (a condition on the table's columns,
    values as ``?`` parameters) reads only the rows a step needs."""
    return con.sql(f"SELECT f.*, p.year, p.period_type FROM {qualified(table)} f "
                   f"JOIN core.dim_period p USING (period_code) WHERE {where}", params=params or []).pl()


_PLAIN = re.compile(r"[A-Za-z0-9_]+")


# What indicator_values and flow_rows read of a fact (regiostat.indicators.values): a national table's other
# columns (provenance, units, fetch) never enter memory for the profile or the harmonised series.
INDICATOR_FACT_COLUMNS = ("table_id", "measure_id", "region_code", "period_code", "dimension_key", "value",
                          "period_status", "vintage", "origin")


def facts_for_sources(con: duckdb.DuckDBPyConnection,
                      sources: Iterable[tuple[str, str, Mapping[str, str]]], *,
                      columns: Sequence[str] | None = None, regions_like: str | None = None,
                      years: Sequence[int] | None = None, table: str = "core.fact_observation") -> pl.DataFrame:
    """The yearly rows of core.fact_observation (with year and period type) that can feed the given
    (table, measure, fixed dimension codes): what the profile and harmonised series read, so a national table's
    other sectors never enter memory. A superset of what each source keeps; sorted by key. ``columns``: only these
    fact columns (default all); ``regions_like``: only region codes LIKE this (e.g. 'GM%'); ``years``: only
    these years; ``table``: read from a copy of some facts instead (copy_facts)."""
    where, params = _sources_condition(sources)
    if regions_like is not None:
        where = f"({where}) AND f.region_code LIKE ?"
        params.append(regions_like)
    if years is not None:
        where = f"({where}) AND p.year IN ({', '.join('?' for _ in years) or 'NULL'})"
        params += list(years)
    selected = ", ".join(f"f.{quote_ident(c)}" for c in columns) if columns is not None else "f.*"
    return con.sql(f"SELECT {selected}, p.year, p.period_type FROM {table} f "
                   f"JOIN core.dim_period p USING (period_code) WHERE p.period_type = 'jaar' AND ({where}) "
                   "ORDER BY f.table_id, f.measure_id, f.region_code, f.period_code, f.dimension_key",
                   params=params).pl()


def copy_facts(con: duckdb.DuckDBPyConnection, sources: Iterable[tuple[str, str, Mapping[str, str]]],
               columns: Sequence[str], into: str) -> None:
    """A TEMP table ``into`` with ``columns`` (period_code among them) of the yearly facts facts_for_sources reads for
    ``sources``: found in one scan of the fact table, then read a few years at a time from the copy."""
    where, params = _sources_condition(sources)
    selected = ", ".join(f"f.{quote_ident(c)}" for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT {selected} FROM core.fact_observation f "
                f"JOIN core.dim_period p USING (period_code) WHERE p.period_type = 'jaar' AND ({where})", params)


def fact_rows_by_year(con: duckdb.DuckDBPyConnection, sources: Iterable[tuple[str, str, Mapping[str, str]]], *,
                      table: str = "core.fact_observation") -> list[tuple[int, int]]:
    """(year, rows) of the facts facts_for_sources would read, by year: to read them a few years at a time."""
    where, params = _sources_condition(sources)
    return con.execute(f"SELECT p.year, count(*) FROM {table} f JOIN core.dim_period p "
                       f"USING (period_code) WHERE p.period_type = 'jaar' AND ({where}) GROUP BY p.year "
                       "ORDER BY p.year", params).fetchall()


def _sources_condition(sources: Iterable[tuple[str, str, Mapping[str, str]]]) -> tuple[str, list]:
    conditions, params = [], []
    for table, measure, dimensions in sources:
        plain = {d: c for d, c in dimensions.items() if _PLAIN.fullmatch(f"{d}{c}")}  # others: not narrowed here
        # the literal test first: the pattern runs only on keys that hold the code (a national table's other rows
        # are skipped by a substring search, not a regular expression each)
        dims = "".join(" AND contains(f.dimension_key, ?) AND regexp_matches(f.dimension_key, ?)" for _ in plain)
        conditions.append(f"(f.table_id = ? AND f.measure_id = ?{dims})")
        params += [table, measure, *(p for d, c in plain.items() for p in (f"{d}={c}", f"(^|;){d}={c}(;|$)"))]
    return " OR ".join(conditions) or "FALSE", params


def groups_of(counts: Iterable[tuple[object, int]], size: int) -> list[list]:
    """Keys with their row counts, in order, in consecutive groups of at most ``size`` rows (a key may hold more)."""
    groups: list[list] = []
    rows = 0
    for key, n in counts:
        if not groups or rows + n > size:
            groups.append([])
            rows = 0
        groups[-1].append(key)
        rows += n
    return groups


def read_table(con: duckdb.DuckDBPyConnection, table: str, *, where: dict[str, str] | None = None) -> pl.DataFrame:
    condition = " AND ".join(f"{quote_ident(col)} = ?" for col in (where or {})) or "TRUE"
    return con.sql(f"SELECT * FROM {qualified(table)} WHERE {condition}", params=list((where or {}).values())).pl()


def mart_names(marts_dir: Path) -> list[str]:
    return sorted(p.stem for p in marts_dir.glob("*.sql"))


_INPUTS_LINE = re.compile(r"^--\s*inputs:\s*(.+)$", re.MULTILINE)


def mart_inputs(folder: Path, name: str) -> tuple[str, ...] | None:
    """The source tables a mart reads, from its ``-- inputs: 03759NED, 70072NED`` line (None: not stated)."""
    found = _INPUTS_LINE.search((folder / f"{name}.sql").read_text())
    return tuple(t.strip().upper() for t in found.group(1).split(",") if t.strip()) if found else None


def source_tables_present(con: duckdb.DuckDBPyConnection, table_ids: Sequence[str]) -> set[str]:
    """Which of ``table_ids`` have rows in core.fact_observation."""
    marks = ", ".join("?" for _ in table_ids)
    found = con.execute(f"SELECT DISTINCT table_id FROM core.fact_observation WHERE table_id IN ({marks})",
                        list(table_ids)).fetchall()
    return {r[0] for r in found}


def build_mart(con: duckdb.DuckDBPyConnection, name: str, folder: Path) -> int:
    """Run <folder>/<name>.sql (CREATE OR REPLACE, so re-runs are idempotent)."""
    con.execute((folder / f"{name}.sql").read_text())
    return row_count(con, f"marts.{name}")


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {qualified(table)}").fetchall()[0][0]


# -- questions about an existing database (build file or published warehouse) ----------------------

def present_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every table and view in the database, as ``schema.name``."""
    return {f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}


def orphan_codes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Region and period codes on core.fact_observation that their dimension lacks: one row per
    (dimension, code) with its number of fact rows; empty when every code is in its dimension."""
    return con.sql("""
        SELECT 'region' AS dimension, f.region_code AS code, count(*) AS fact_rows
        FROM core.fact_observation f LEFT JOIN core.dim_region r USING (region_code)
        WHERE r.region_code IS NULL GROUP BY ALL
        UNION ALL
        SELECT 'period', f.period_code, count(*)
        FROM core.fact_observation f LEFT JOIN core.dim_period p USING (period_code)
        WHERE p.period_code IS NULL GROUP BY ALL
    """).pl()


# -- rows written away as they are made --------------------------------------------------------------------------
# A step that makes a national table's worth of rows in pieces (the reconciliation, the profile) puts them in a
# TEMP table of its connection: DuckDB spills it to its temp directory under its memory limit, it vanishes with the
# connection, and a file copy of the database (publishing) never sees it.
TEMP_PREFIX = "_spool_"


class Spool:
    """Rows of one output table written away batch by batch (a TEMP table), typed by ``schema`` (None: by the first
    frame appended, which makes the table even when it is empty)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str,
                 schema: Mapping[str, pl.DataType] | None = None) -> None:
        self.con, self.table, self.schema = con, TEMP_PREFIX + name, dict(schema) if schema is not None else None
        self.rows = 0
        if self.schema is not None:
            create_like(con, self.table, self.schema, temp=True)

    def append(self, frame: pl.DataFrame) -> None:
        if self.schema is None:
            self.schema = dict(frame.schema)
            create_like(self.con, self.table, self.schema, temp=True)
        if not frame.is_empty():
            insert(self.con, self.table, frame.select(list(self.schema)).cast(self.schema))
            self.rows += frame.height


def create_like(con: duckdb.DuckDBPyConnection, table: str, schema: Mapping[str, pl.DataType],
                *, temp: bool = False) -> None:
    """An empty table with the column types the frame's own would get (as warehouse.create_table_from)."""
    with registered(con, _empty=pl.DataFrame(schema=schema)):
        con.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {table} AS SELECT * FROM _empty")


def insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    with registered(con, _rows=frame):
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")


class registered:  # noqa: N801 - a context manager, used like a function
    """Frames visible to ``con`` by name for the duration of a with block."""

    def __init__(self, con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame) -> None:
        self.con, self.frames = con, frames

    def __enter__(self) -> None:
        for name, frame in self.frames.items():
            self.con.register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))

    def __exit__(self, *exc: object) -> None:
        for name in self.frames:
            self.con.unregister(name)


def write_sorted(con: duckdb.DuckDBPyConnection, source: str, target: str, order_by: str, *,
                 batch_rows: int = 50_000) -> int:
    """CREATE OR REPLACE ``target`` with the rows of ``source`` ORDER BY ``order_by``, sorting only the key and row
    ids and copying the rows in batches of that order: DuckDB's sort of whole rows (long texts, lists) ran out of a
    small memory limit. ``order_by`` must order every row (a unique key). Rows written."""
    order = f"{TEMP_PREFIX}order"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {order} AS SELECT rowid AS _rid, "
                f"row_number() OVER (ORDER BY {order_by}) AS _pos FROM {source}")
    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source} LIMIT 0")
    rows = con.execute(f"SELECT count(*) FROM {order}").fetchall()[0][0]
    for start in range(1, rows + 1, batch_rows):
        con.execute(f"INSERT INTO {target} SELECT s.* FROM {order} o JOIN {source} s ON s.rowid = o._rid "
                    f"WHERE o._pos >= {start} AND o._pos < {start + batch_rows} ORDER BY o._pos")
    con.execute(f"DROP TABLE {order}")
    return rows


def drop_spools(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the connection's TEMP tables made here (they would go with the connection anyway)."""
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
                               [TEMP_PREFIX]).fetchall():
        con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(name)}")
