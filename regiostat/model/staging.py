"""Raw captures -> one long, typed observation model (the staging layer), for every source alike.

One row per table, measure, region, period and other dimension codes, and vintage. Values are kept
twice: as published (62.2 with unit "x 1 000") and multiplied out (62200), so nobody has to
remember which tables are in thousands. ``is_latest`` marks the vintage the marts use: the fetch
whose source date is newest, and of fetches with the same date the one landed last.

The transform is one SQL statement DuckDB runs over raw.* where it lies (a national table never passes
through Python), per source table, so a table whose raw rows did not change is not staged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from regiostat.codes import PERIOD_STATUSES, normalise_status, parse_unit, scaled_decimals
from regiostat.model import state
from regiostat.warehouse import registered

OBSERVATION_KEY = ["table_id", "measure_id", "region_code", "period_code", "dimension_key"]
_NUMBER = r"-?\d+(\.\d+)?([eE][-+]?\d+)?"
_SECTOR = r"BedrijfstakkenBranchesSBI2008=([^;]*)"
_WHITESPACE = "' ' || chr(9) || chr(10) || chr(13)"
COLUMNS = ("table_id", "measure_id", "measure_code", "region_code", "period_code", "sector_code", "dimension_key",
           "value", "value_published", "unit", "scale_factor", "decimals", "value_attribute", "period_status",
           "source_format", "origin", "fetch_id", "source_path", "source_row", "fetched_at", "vintage",
           "table_version", "table_modified", "as_of", "is_latest", "source_kind", "reference_date", "attribution")

# raw.observations of the tables in _stage_tables -> staging rows. _units and _status are the small per-measure
# and per-period tables made in Python (parse_unit, normalise_status). Values are multiplied out and rounded
# half to even to the decimals that stay meaningful (62.2 x 1000 -> 62200, not 62200.000000000007); the latest
# vintage of a key is the fetch whose source date is newest, then the one landed last, then the first row by
# file, row and measure code.
#
# The latest row of each key is the arg_min of one integer per row (``latest``), not a window over whole rows: a
# window sorts every column of a national table and spills it to disk, and arg_min over a tuple compares row by
# row (each 3-4x the CPU of the rest of the transform at 1.87M rows). The integer keeps the order exactly: the
# fetch's rank, the file's rank and the measure code's rank within the table (dense ranks of a few distinct
# values, so string order is DuckDB's own) and the row number, packed into 127 bits; a table with more fetches,
# files or measure codes than its bits hold stops the run instead of ordering wrongly.
_KEYED = f"""
    SELECT o.rowid AS _rid, o.table_id, o.fetch_id, o.source_path, o.source_row, o.measure_code,
           trim(o.region_raw, {_WHITESPACE}) AS region_code, trim(o.period_raw, {_WHITESPACE}) AS period_code,
           regexp_replace(o.other_dims_raw, '\\s+(;|$)', '\\1', 'g') AS dimension_key
    FROM raw.observations o SEMI JOIN _stage_tables t USING (table_id)"""
_BITS = {"fetch": 14, "file": 32, "measure": 16}  # + 65 for the row number and whether it is null: 127


def _rank(column: str, source: str, order: str, bits: int) -> str:
    return (f"SELECT table_id, {column}, CASE WHEN r < {2 ** bits - 1} THEN r ELSE error('staging: more than "
            f"{2 ** bits - 2} distinct {column} in one table') END AS r FROM (SELECT table_id, {column}, "
            f"dense_rank() OVER (PARTITION BY table_id ORDER BY {order}) - 1 AS r FROM {source})")


_STAGE_SQL = f"""
WITH fetch_order AS (
    {_rank("fetch_id", "raw.fetches SEMI JOIN _stage_tables USING (table_id)",
           "as_of DESC NULLS LAST, landed_seq DESC NULLS LAST", _BITS["fetch"])}
), file_order AS (
    {_rank("source_path", "(SELECT DISTINCT table_id, source_path FROM raw.observations "
                          "SEMI JOIN _stage_tables USING (table_id))", "source_path", _BITS["file"])}
), measure_order AS (
    {_rank("measure_code", "(SELECT DISTINCT table_id, measure_code FROM raw.observations "
                           "SEMI JOIN _stage_tables USING (table_id))", "measure_code", _BITS["measure"])}
), latest AS (
    SELECT arg_min(k._rid, (coalesce(fo.r, {2 ** _BITS["fetch"] - 1})::HUGEINT << 113)
                           + (so.r::HUGEINT << 81)
                           + (CASE WHEN k.source_row IS NULL THEN 1 ELSE 0 END::HUGEINT << 80)
                           + ((coalesce(k.source_row, 0)::HUGEINT + 9223372036854775808) << 16)
                           + mo.r) AS _rid
    FROM ({_KEYED}) k
    LEFT JOIN _units u USING (table_id, fetch_id, measure_code)
    LEFT JOIN fetch_order fo USING (table_id, fetch_id)
    JOIN file_order so USING (table_id, source_path)
    JOIN measure_order mo USING (table_id, measure_code)
    GROUP BY k.table_id, u.measure_id, k.region_code, k.period_code, k.dimension_key
), typed AS (
    SELECT o.table_id, o.fetch_id, o.source_path, o.source_row, o.measure_code, o.reference_date, o.attribution,
           o.value_attribute_raw, o.rowid IN (SELECT _rid FROM latest) AS is_latest,
           trim(o.region_raw, {_WHITESPACE}) AS region_code, trim(o.period_raw, {_WHITESPACE}) AS period_code,
           regexp_replace(o.other_dims_raw, '\\s+(;|$)', '\\1', 'g') AS dimension_key,
           trim(o.value_raw, {_WHITESPACE}) AS value_text
    FROM raw.observations o SEMI JOIN _stage_tables t USING (table_id)
), valued AS (
    SELECT *, CASE WHEN regexp_full_match(value_text, '{_NUMBER}') THEN TRY_CAST(value_text AS DOUBLE) END
                  AS value_published
    FROM typed
), joined AS (
    SELECT v.*, u.measure_id, u.unit, u.decimals, u.scale_factor, u.decimals_value,
           v.value_published * u.scale_factor AS product,
           f.source_kind, f.source_format, f.origin, f.fetched_at, f.vintage, f.table_version, f.table_modified,
           f.as_of, coalesce(st.period_status, 'onbekend') AS period_status
    FROM valued v
    LEFT JOIN _units u USING (table_id, fetch_id, measure_code)
    LEFT JOIN raw.fetches f USING (table_id, fetch_id)
    LEFT JOIN _status st USING (table_id, period_code)
)
SELECT table_id, measure_id, measure_code, region_code, period_code,
       CASE WHEN regexp_matches(dimension_key, '{_SECTOR}') THEN regexp_extract(dimension_key, '{_SECTOR}', 1) END
           AS sector_code,
       dimension_key,
       CASE decimals_value {" ".join(f"WHEN {d} THEN round_even(product, {d})" for d in range(6))}
            ELSE round_even(product, 6) END AS value,
       value_published, unit, scale_factor, decimals,
       CASE WHEN value_attribute_raw IS NOT NULL THEN value_attribute_raw
            WHEN value_published IS NOT NULL THEN 'None' ELSE 'NotAvailable' END AS value_attribute,
       period_status, source_format, origin, fetch_id, source_path, source_row, fetched_at, vintage, table_version,
       table_modified, as_of, is_latest, source_kind, reference_date, attribution
FROM joined
"""


SQL_FINGERPRINT = hashlib.sha256(_STAGE_SQL.encode()).hexdigest()[:16]  # a changed transform restages every table
PART_ROWS = 500_000  # raw rows per INSERT of one transaction: DuckDB's memory for keys and joins stays bounded
_IN_SCOPE = "FROM raw.observations o SEMI JOIN _stage_tables t USING (table_id)"


def _stage_sql(parts: int, part: int) -> str:
    """_STAGE_SQL for the raw rows whose region falls in ``part`` of ``parts`` (by a hash of the trimmed region code,
    which is part of the key: a key's rows are always in the same part, so each part finds its latest rows alone)."""
    if parts == 1:
        return _STAGE_SQL
    where = f"{_IN_SCOPE} WHERE hash(trim(o.region_raw, {_WHITESPACE})) % {parts} = {part}"
    return _STAGE_SQL.replace(_IN_SCOPE, where)


@dataclass(frozen=True)
class Refresh:
    """What a staging refresh did: the tables staged again and the tables whose rows were removed."""

    restaged: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.restaged or self.removed)


def refresh(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> Refresh:
    """Stage again exactly the tables whose raw rows changed since they were staged (all with ``force``), and
    drop the staged rows of tables raw no longer has."""
    current = {t: state.fingerprint(fp, SQL_FINGERPRINT) for t, fp in state.recorded(con, state.RAW).items()}
    before = {} if force else state.recorded(con, state.STAGING)
    todo, gone = state.changed(current, before)
    if todo or gone:
        stage_tables(con, todo, remove=gone, fingerprints={t: current[t] for t in todo})
    return Refresh(tuple(todo), tuple(gone))


def stage_tables(con: duckdb.DuckDBPyConnection, table_ids: Sequence[str] | None = None, *,
                 remove: Sequence[str] = (), fingerprints: dict[str, str] | None = None) -> int:
    """Rebuild staging.observations for ``table_ids`` (None: every table in raw) from raw.*, and delete the rows of
    ``remove``, in one transaction, set-based in DuckDB: no table is held in Python. Rows written."""
    if table_ids is None:
        table_ids = [r[0] for r in con.execute("SELECT DISTINCT table_id FROM raw.fetches").fetchall()]
    scope = pl.DataFrame({"table_id": list(table_ids)}, schema={"table_id": pl.String})
    dropped = pl.DataFrame({"table_id": [*table_ids, *remove]}, schema={"table_id": pl.String})
    small = _small_inputs(con, scope)
    con.execute("BEGIN TRANSACTION")
    try:
        with registered(con, _stage_tables=scope, _dropped=dropped, **small):
            con.execute("DELETE FROM staging.observations WHERE table_id IN (SELECT table_id FROM _dropped)")
            rows = con.execute(f"SELECT count(*) {_IN_SCOPE}").fetchall()[0][0]
            parts = max(1, -(-rows // PART_ROWS))
            for part in range(parts):
                con.execute(f"INSERT INTO staging.observations BY NAME {_stage_sql(parts, part)}")
        state.forget(con, state.STAGING, remove)
        state.record(con, state.STAGING, fingerprints or {})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    marks = ", ".join("?" for _ in table_ids) or "NULL"
    return con.execute(f"SELECT count(*) FROM staging.observations WHERE table_id IN ({marks})",
                       list(table_ids)).fetchall()[0][0]


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """What staging holds: latest rows, tables and sources (for the run's metadata)."""
    latest, tables, sources = con.execute(
        "SELECT count(*) FILTER (WHERE is_latest), count(DISTINCT table_id), "
        "string_agg(DISTINCT source_kind, ', ' ORDER BY source_kind) FROM staging.observations").fetchall()[0]
    return {"latest_rows": latest, "tables": tables, "sources": sources or ""}


def _small_inputs(con: duckdb.DuckDBPyConnection, scope: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The per-measure units and per-period statuses of the tables in scope (a few rows per table)."""
    with registered(con, _scope=scope):
        measures = con.sql("SELECT * FROM raw.measures SEMI JOIN _scope USING (table_id)").pl()
        codes = con.sql("SELECT * FROM raw.dimension_codes SEMI JOIN _scope USING (table_id) "
                        "WHERE dimension_kind = 'TimeDimension'").pl()
        fetches = con.sql("SELECT * FROM raw.fetches SEMI JOIN _scope USING (table_id)").pl()
    return {"_units": _measure_units(measures), "_status": period_status(codes, fetches)}


def stage_observations(observations: pl.DataFrame, measures: pl.DataFrame, codes: pl.DataFrame,
                       fetches: pl.DataFrame) -> pl.DataFrame:
    """The same transform over frames (small captures and tests): run by DuckDB in memory, sorted by key."""
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA raw")
        for name, frame in (("observations", observations), ("measures", measures), ("dimension_codes", codes),
                            ("fetches", fetches)):
            with registered(con, _frame=frame):
                con.execute(f"CREATE TABLE raw.{name} AS SELECT * FROM _frame")
        scope = fetches.select("table_id").unique()
        with registered(con, _stage_tables=scope, **_small_inputs(con, scope)):
            staged = con.sql(f"SELECT {', '.join(COLUMNS)} FROM ({_STAGE_SQL}) "
                             "ORDER BY table_id, measure_id, region_code, period_code, dimension_key, as_of").pl()
    finally:
        con.close()
    return staged.cast({"scale_factor": pl.Int64, "decimals": pl.Int64})


def _measure_units(measures: pl.DataFrame) -> pl.DataFrame:
    rows = []
    columns = ("table_id", "fetch_id", "measure_code", "measure_id", "unit", "decimals")
    for m in measures.select(columns).iter_rows(named=True):
        unit = parse_unit(m["unit"])
        rows.append({**m, "unit": unit.published, "scale_factor": unit.scale,
                     "decimals_value": scaled_decimals(m["decimals"], unit.scale)})
    return pl.DataFrame(rows, schema={"table_id": pl.String, "fetch_id": pl.String, "measure_code": pl.String,
                                      "measure_id": pl.String, "unit": pl.String, "decimals": pl.Int64,
                                      "scale_factor": pl.Int64, "decimals_value": pl.Int64})


def period_status(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """Per table and period, the status from the newest code list that states one."""
    periods = (
        codes.filter(pl.col("dimension_kind") == "TimeDimension", pl.col("status_raw").is_not_null())
        .join(fetches.select("table_id", "fetch_id", "as_of"), on=["table_id", "fetch_id"], how="left")
        .with_columns(pl.col("code_raw").str.strip_chars().alias("period_code"))
        .sort("as_of", descending=True, nulls_last=True)
        .unique(["table_id", "period_code"], keep="first", maintain_order=True)
    )
    return pl.DataFrame(
        {"table_id": periods["table_id"], "period_code": periods["period_code"],
         "period_status": [normalise_status(s) for s in periods["status_raw"]]},
        schema={"table_id": pl.String, "period_code": pl.String, "period_status": pl.Enum(PERIOD_STATUSES)},
    ).with_columns(pl.col("period_status").cast(pl.String))


def fetch_table(entries: list, *, source_kind: str) -> pl.DataFrame:
    """One row per complete fetch (``entries`` in landing order), with the date that orders vintages
    (source date, else fetch date) and its place in the landing order (which breaks ties in that date)."""
    rows = [
        dict(table_id=e.table_id, fetch_id=e.fetch_id, source_format=e.source, origin=e.origin,
             fetched_at=e.fetched_at, vintage=e.vintage, table_version=e.table_version,
             table_modified=e.table_modified, rows=e.rows, source_kind=source_kind, landed_seq=seq)
        for seq, e in enumerate(entries, start=1)
    ]
    return with_as_of(pl.DataFrame(rows, schema={
        "table_id": pl.String, "fetch_id": pl.String, "source_format": pl.String, "origin": pl.String,
        "fetched_at": pl.String, "vintage": pl.String, "table_version": pl.String, "table_modified": pl.String,
        "rows": pl.Int64, "source_kind": pl.String, "landed_seq": pl.Int64}))


def with_as_of(fetches: pl.DataFrame) -> pl.DataFrame:
    """The date that orders vintages: when the source produced it, else when it was modified or fetched."""
    return fetches.with_columns(
        pl.coalesce(_parse_ts(pl.col("vintage")), _parse_ts(pl.col("table_modified")),
                    _parse_ts(pl.col("fetched_at"))).alias("as_of")
    )


def _parse_ts(expr: pl.Expr) -> pl.Expr:
    """ISO strings with or without zone / fraction -> naive UTC-less timestamp (ordering only)."""
    return expr.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False)
