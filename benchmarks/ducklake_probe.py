"""What the published warehouse does as a DuckLake (docs/scaling.md, issue 12 part 6). Run by benchmarks/ducklake.py
inside an isolated environment with DuckDB 1.5.5 and the ducklake / postgres_scanner extension wheels from PyPI:
no extension for DuckDB 2.0 installs here (INSTALL downloads it and there is no network but the package
registries), so this stands on DuckDB 1.5.5, which reads the published file (storage v1.1.0) as it is.

Standalone on purpose (no regiostat import): the environment holds duckdb and the extensions only. Prints one
JSON line.

    python benchmarks/ducklake_probe.py --warehouse W.duckdb --work DIR [--postgres "host=127.0.0.1 port=5432 ..."]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import time
from pathlib import Path

import duckdb

WRITERS = 2
ROWS_PER_WRITER = 50_000


def extension_path(package: str, name: str) -> str:
    folder = Path(importlib.util.find_spec(package).origin).parent
    return str(next(folder.rglob(f"{name}.duckdb_extension")))


def connect(extensions: dict[str, str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for path in extensions.values():
        con.execute(f"LOAD '{path}'")
    return con


def lake_attach(catalog: str, data: Path, alias: str = "lake", *, read_only: bool = False) -> str:
    options = [f"DATA_PATH '{data}/'"] + (["READ_ONLY"] if read_only else [])
    return f"ATTACH 'ducklake:{catalog}' AS {alias} ({', '.join(options)})"


def base_tables(con, db: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                       "ORDER BY 1, 2", [db]).fetchall()


def fingerprint(con, db: str, schema: str, table: str) -> tuple[int, int]:
    return con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{db}"."{schema}"."{table}" t').fetchone()


def copy_in(con, source: str, target: str) -> dict:
    """Every base table of ``source`` into ``target`` (CREATE TABLE AS: no constraints), compared row by row."""
    started = time.perf_counter()
    tables = base_tables(con, source)
    for schema, table in tables:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS {target}."{schema}"')
        con.execute(f'CREATE TABLE {target}."{schema}"."{table}" AS SELECT * FROM {source}."{schema}"."{table}"')
    seconds = time.perf_counter() - started
    differ = [f"{s}.{t}" for s, t in tables if fingerprint(con, source, s, t) != fingerprint(con, target, s, t)]
    rows = sum(fingerprint(con, source, s, t)[0] for s, t in tables)
    return {"tables": len(tables), "rows": rows, "seconds": round(seconds, 2), "tables_differing": differ}


def attempt(con, sql: str) -> str:
    try:
        con.execute(sql)
        return "ok"
    except duckdb.Error as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:240]}"


def _writer(args: tuple) -> dict:
    """One process writing ROWS_PER_WRITER rows of its own to the shared lake table in one transaction: appended,
    or (``replace``) as regiostat.warehouse.replace_rows does, deleting its earlier rows first."""
    extensions, catalog, data, writer, barrier_at, replace = args
    con = connect(extensions)
    while time.time() < barrier_at:
        time.sleep(0.005)
    started = time.perf_counter()
    try:
        con.execute(lake_attach(catalog, data))
        con.execute("BEGIN")
        if replace:
            con.execute("DELETE FROM lake.probe.appends WHERE writer = ?", [writer])
        con.execute("INSERT INTO lake.probe.appends SELECT ?, range FROM range(?)", [writer, ROWS_PER_WRITER])
        time.sleep(0.5)  # hold the transaction open so the two overlap
        con.execute("COMMIT")
        outcome = "committed"
    except duckdb.Error as exc:
        outcome = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    return {"writer": writer, "outcome": outcome, "seconds": round(time.perf_counter() - started, 2)}


def concurrent_writers(extensions: dict[str, str], catalog: str, data: Path) -> dict:
    con = connect(extensions)
    con.execute(lake_attach(catalog, data))
    con.execute("CREATE SCHEMA IF NOT EXISTS lake.probe")
    con.execute("CREATE OR REPLACE TABLE lake.probe.appends (writer INTEGER, n BIGINT)")
    con.close()
    report = {}
    for phase, replace in (("append", False), ("replace", True)):
        barrier_at = time.time() + 3.0
        with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
            results = pool.map(_writer, [(extensions, catalog, data, w, barrier_at, replace) for w in range(WRITERS)])
        con = connect(extensions)
        con.execute(lake_attach(catalog, data, read_only=True))
        rows = con.execute("SELECT writer, count(*) FROM lake.probe.appends GROUP BY 1 ORDER BY 1").fetchall()
        snapshots = con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
        con.close()
        report[phase] = {"writers": results, "rows_per_writer": dict(rows), "snapshots": snapshots}
    return report


def by_database_string(extensions: dict[str, str], catalog: str, work: Path) -> str:
    config = {"extension_directory": str(work / "extensions")}
    installer = duckdb.connect(config=config)
    for path in extensions.values():
        installer.execute(f"INSTALL '{path}'")
    installer.close()
    try:
        con = duckdb.connect(f"ducklake:{catalog}", config=config)
        tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'core'").fetchone()[0]
        con.close()
        return f"ok: duckdb.connect('ducklake:...') has {tables} core tables as its default catalog"
    except duckdb.Error as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:240]}"


def probe(warehouse: Path, work: Path, postgres: str | None) -> dict:
    extensions = {"ducklake": extension_path("duckdb_extension_ducklake", "ducklake")}
    if postgres:
        extensions["postgres_scanner"] = extension_path("duckdb_extension_postgres_scanner", "postgres_scanner")
    report: dict = {"duckdb": duckdb.__version__, "extensions": sorted(extensions)}
    con = connect(extensions)
    report["install_ducklake_from_network"] = attempt(duckdb.connect(), "INSTALL ducklake")
    con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")

    # 1. the published warehouse into a DuckLake whose catalog is a DuckDB file, data as Parquet files
    data = work / "data"
    con.execute(lake_attach(str(work / "catalog.ducklake"), data))
    report["copy_into_lake"] = copy_in(con, "wh", "lake")
    files = list(data.rglob("*.parquet"))
    report["lake_files"] = {"parquet_files": len(files), "bytes": sum(f.stat().st_size for f in files),
                            "published_file_bytes": warehouse.stat().st_size}
    # 2. what schema.sql and the marts need that a DuckLake may not have
    report["ddl"] = {
        "primary_key": attempt(con, "CREATE TABLE lake.main.pk_probe (code VARCHAR PRIMARY KEY)"),
        "not_null": attempt(con, "CREATE TABLE lake.main.nn_probe (code VARCHAR NOT NULL)"),
        "view": attempt(con, "CREATE VIEW lake.main.view_probe AS SELECT 1 AS one"),
        "macro": attempt(con, "CREATE MACRO lake.main.macro_probe(x) AS x + 1"),
        "delete_where": attempt(con, "DELETE FROM lake.core.fact_observation WHERE table_id = 'none'"),
        "insert_by_name": attempt(con, "INSERT INTO lake.main.nn_probe BY NAME SELECT 'x' AS code"),
        # regiostat.model.state.record upserts meta.layer_state this way, relying on its primary key
        "insert_or_replace": attempt(con, "INSERT OR REPLACE INTO lake.main.nn_probe (code) VALUES ('x')"),
    }
    # 3. publishing from the lake: the same COPY FROM DATABASE regiostat.publish.storage.write_version runs
    target = work / "published_from_lake.duckdb"
    started = time.perf_counter()
    con.execute(f"ATTACH '{target}' AS candidate (STORAGE_VERSION 'v1.1.0')")
    report["publish_from_lake"] = {"copy_from_database": attempt(con, "COPY FROM DATABASE lake TO candidate")}
    con.execute("DETACH candidate")
    report["publish_from_lake"]["seconds"] = round(time.perf_counter() - started, 2)
    con.execute(f"ATTACH '{target}' AS candidate (READ_ONLY)")
    differ = [f"{s}.{t}" for s, t in base_tables(con, "wh")
              if fingerprint(con, "wh", s, t) != fingerprint(con, "candidate", s, t)]
    report["publish_from_lake"]["tables_differing_from_published"] = differ
    con.close()
    # 4. a lake as a database string, as DuckDBResource(database=...) would open it: the extensions installed
    # (from the wheels) into an extension directory, then autoloaded by the ``ducklake:`` prefix
    report["connect_by_database_string"] = by_database_string(extensions, str(work / "catalog.ducklake"), work)
    # 5. two writer processes at once: DuckDB-file catalog, then (if given) a Postgres catalog
    report["writers_duckdb_catalog"] = concurrent_writers(extensions, str(work / "writers.ducklake"),
                                                          work / "writers_data")
    if postgres:
        report["writers_postgres_catalog"] = concurrent_writers(extensions, f"postgres:{postgres}",
                                                                work / "pg_data")
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--postgres", help="libpq connection string of an empty database for the DuckLake catalog")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(json.dumps(probe(args.warehouse.resolve(), args.work.resolve(), args.postgres)))


if __name__ == "__main__":
    main()
