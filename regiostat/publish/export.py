"""``regiostat export``: every published table and view as Parquet or CSV files, with a manifest.

For readers that do not speak DuckDB's file format at all (a spreadsheet, pandas without duckdb, a
data portal). Everything is read from ONE connection to the current published version, so the files
belong to one build. The folder is written beside its destination and swapped in whole; the manifest
lists per file the table, rows, schema version and sha256, so a consumer can check what it received.
A folder that is not an export this function wrote is never replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regiostat.publish import storage
from regiostat.publish.folders import swap_folder
from regiostat.publish.reader import connect
from regiostat.warehouse import quote_ident

FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"
WRITTEN_BY = "regiostat export"
_COPY = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true"}


@dataclass(frozen=True)
class ExportedTable:
    table: str
    kind: str
    file: str
    rows: int
    bytes: int
    sha256: str
    schema_version: int
    columns: list[dict[str, str]]


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    build_id: str
    schema_version: int
    tables: tuple[ExportedTable, ...]
    seconds: float

    def text(self) -> str:
        rows = sum(t.rows for t in self.tables)
        return (f"exported {len(self.tables)} tables ({rows:,} rows) of build {self.build_id} "
                f"(schema version {self.schema_version}) to {self.out_dir} in {self.seconds:.1f} s; "
                f"manifest: {self.out_dir / MANIFEST}")


def export_warehouse(publish_path: Path | str | None, out_dir: Path | str, *, fmt: str = "parquet",
                     schemas: list[str] | None = None) -> ExportSummary:
    """Write ``<out_dir>/<schema>/<table>.<fmt>`` for every table and view of the current published version
    (only ``schemas`` when given) and ``manifest.json``. Raises FileNotFoundError when nothing is published,
    ValueError for an unknown format or schema, or an out_dir that is not an earlier export."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose {' or '.join(FORMATS)}")
    started = time.perf_counter()
    out = Path(out_dir)
    _check_replaceable(out)
    con = connect(publish_path)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        source = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
        build_id, built_at, schema_version = con.execute(
            "SELECT build_id, built_at, schema_version FROM meta.build_info").fetchone()
        relations = _relations(con, schemas)
        tables = tuple(_export_one(con, staging, schema, name, kind, fmt, schema_version)
                       for schema, name, kind in relations)
        manifest = {"written_by": WRITTEN_BY, "format": fmt, "build_id": build_id, "built_at": str(built_at),
                    "schema_version": schema_version, "source": source[0],
                    "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "tables": [asdict(t) for t in tables]}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        swap_folder(staging, out)
    finally:
        con.close()
        shutil.rmtree(staging, ignore_errors=True)
    return ExportSummary(out, str(build_id), schema_version, tables, time.perf_counter() - started)


def _relations(con: duckdb.DuckDBPyConnection, schemas: list[str] | None) -> list[tuple[str, str, str]]:
    found = con.execute("SELECT schema_name, table_name, 'table' FROM duckdb_tables() "
                        "WHERE database_name = current_database() UNION ALL "
                        "SELECT schema_name, view_name, 'view' FROM duckdb_views() "
                        "WHERE database_name = current_database() AND NOT internal ORDER BY ALL").fetchall()
    if schemas:
        unknown = sorted(set(schemas) - {s for s, _, _ in found})
        if unknown:
            raise ValueError(f"no such schema in the published warehouse: {', '.join(unknown)} "
                             f"(it has {', '.join(sorted({s for s, _, _ in found}))})")
        found = [r for r in found if r[0] in schemas]
    return found


def _export_one(con: duckdb.DuckDBPyConnection, folder: Path, schema: str, name: str, kind: str, fmt: str,
                schema_version: int) -> ExportedTable:
    target = folder / schema / f"{name}.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    relation = f"{quote_ident(schema)}.{quote_ident(name)}"
    literal = "'" + str(target).replace("'", "''") + "'"
    rows = con.execute(f"COPY (FROM {relation}) TO {literal} ({_COPY[fmt]})").fetchone()[0]
    columns = [{"name": c, "type": t} for c, t in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()]
    return ExportedTable(f"{schema}.{name}", kind, target.relative_to(folder).as_posix(), int(rows),
                         target.stat().st_size, storage.sha256_file(target), int(schema_version), columns)


def _check_replaceable(out: Path) -> None:
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    try:
        ours = json.loads((out / MANIFEST).read_text()).get("written_by") == WRITTEN_BY
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise ValueError(f"{out} exists and is not an export regiostat wrote: choose an empty or new folder")
