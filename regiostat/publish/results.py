"""A query result as a file or stream: CSV, JSON or Parquet, written by DuckDB itself.

DuckDB writes the formats (types, quoting, nested values) rather than Python, so a CSV or Parquet
file from ``regiostat query`` reads back as the same columns. The result is taken through Arrow into
a temporary view, because a read-only connection cannot create anything else.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import duckdb

FORMATS = ("table", "csv", "json", "parquet")
_COPY_OPTIONS = {"csv": "FORMAT csv, HEADER true", "json": "FORMAT json, ARRAY true", "parquet": "FORMAT parquet"}
_VIEW = "_regiostat_result"


def write_result(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation, fmt: str,
                 out: Path | None = None, stream: TextIO | None = None) -> int:
    """Write ``relation`` as ``fmt`` (csv, json: an array of objects, parquet) to ``out``, or for csv and
    json to ``stream`` (default stdout) when ``out`` is None. Returns the number of rows."""
    if fmt not in _COPY_OPTIONS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(_COPY_OPTIONS)}")
    if fmt == "parquet" and out is None:
        raise ValueError("--format parquet writes a file: give --out FILE")
    con.register(_VIEW, relation.to_arrow_table())
    try:
        if out is not None:
            return _copy(con, fmt, Path(out))
        with tempfile.TemporaryDirectory(prefix="regiostat-query-") as folder:
            target = Path(folder) / f"result.{fmt}"
            rows = _copy(con, fmt, target)
            with open(target, encoding="utf-8") as fh:
                shutil.copyfileobj(fh, stream or sys.stdout)
            return rows
    finally:
        con.unregister(_VIEW)


def _copy(con: duckdb.DuckDBPyConnection, fmt: str, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    return con.execute(f"COPY (FROM {_VIEW}) TO {_literal(target)} ({_COPY_OPTIONS[fmt]})").fetchone()[0]


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
