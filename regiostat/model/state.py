"""What each layer of the build database was last built from: the fingerprints that let a refresh skip work.

Per layer and source table, ``meta.layer_state`` holds a fingerprint of the inputs the table's rows were
made from (raw: the complete fetches and how the source reads them; staging: raw's fingerprint and the
staging SQL; ...). A step compares the fingerprint its inputs have now with the one recorded and rebuilds
only the tables whose fingerprint changed. A fingerprint is recorded in the same transaction as the rows
it describes, so a crash never leaves a fingerprint claiming rows that are not there. Deleting the build
database forgets everything and the next run rebuilds it all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

TABLE = "meta.layer_state"
# the layers: raw rows written from, raw rows whose format check passed, staged, in the fact table
RAW, RAW_CHECKED, STAGING, FACT = "raw", "raw_checked", "staging", "fact"


def fingerprint(*parts: object) -> str:
    """A short, stable hash of JSON-able parts (sorted keys)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def recorded(con: duckdb.DuckDBPyConnection, layer: str) -> dict[str, str]:
    """table id -> fingerprint the layer was last built from."""
    rows = con.execute(f"SELECT table_id, fingerprint FROM {TABLE} WHERE layer = ?", [layer]).fetchall()
    return dict(rows)


def record(con: duckdb.DuckDBPyConnection, layer: str, fingerprints: Mapping[str, str]) -> None:
    """Set the fingerprints of these tables (the caller holds the transaction that wrote their rows)."""
    for table_id, value in fingerprints.items():
        con.execute(f"INSERT OR REPLACE INTO {TABLE} (layer, table_id, fingerprint) VALUES (?, ?, ?)",
                    [layer, table_id, value])


def forget(con: duckdb.DuckDBPyConnection, layer: str, table_ids: Iterable[str] | None = None) -> None:
    """Drop the fingerprints of these tables (all of the layer's when None): they are built again next time."""
    if table_ids is None:
        con.execute(f"DELETE FROM {TABLE} WHERE layer = ?", [layer])
        return
    for table_id in table_ids:
        con.execute(f"DELETE FROM {TABLE} WHERE layer = ? AND table_id = ?", [layer, table_id])


def changed(current: Mapping[str, str], before: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(tables whose fingerprint is new or different, tables that were recorded and are gone)."""
    return (sorted(t for t, f in current.items() if before.get(t) != f),
            sorted(t for t in before if t not in current))


def files_fingerprint(folders: Iterable[Path], patterns: Iterable[str] = ("*.toml", "*.sql", "*.txt", "*.md"),
                      exclude: Iterable[Path] = ()) -> str:
    """Of the shipped configuration a build reads (config, SQL, documents): a changed indicator, rule, mart or claim
    makes the next refresh rebuild what is downstream of staging, even when no data changed. ``exclude``: files
    there that a build writes or that describe its output (warehouse/CONTRACT.md), never inputs."""
    digest = hashlib.sha256()
    skip = {Path(p) for p in exclude}
    for folder in folders:
        files = sorted({p for pattern in patterns for p in Path(folder).rglob(pattern)
                        if p.is_file() and p not in skip})
        for path in files:
            digest.update(f"{path.relative_to(folder)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def build_inputs(con: duckdb.DuckDBPyConnection, config: str) -> str:
    """What a publish of this build database is made from: every staged table's fingerprint and the configuration."""
    return fingerprint(recorded(con, STAGING), config)


def write_published(path: Path, *, inputs: str, build_id: str) -> None:
    """After a publish succeeded: which build was published and what it was made from. A file beside the build
    database, not a row in it, so the published copy stays identical to the build it was verified against."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"inputs": inputs, "build_id": build_id}) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_published(path: Path) -> dict[str, str] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
