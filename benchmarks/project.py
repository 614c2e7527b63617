"""A throw-away project folder: the shipped config, SQL and data, with a chosen config/tables.toml.

Live builds against the local CBS server need a table list the server can answer (only the
synthetic table for the benchmark; the tables with real recordings for the end-to-end test). The
shipped folders are copied from ``ProjectPaths`` and pointed at with REGIOSTAT_PROJECT_DIR, so
nothing shipped is edited and regiostat finds everything the way it always does.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from regiostat.paths import ProjectPaths

_TABLE_START = re.compile(r"^\[\[table\]\]\s*$", re.MULTILINE)
_ID = re.compile(r'^id\s*=\s*"([^"]+)"', re.MULTILINE)


def make_project(target: Path, tables_toml: str, paths: ProjectPaths | None = None) -> ProjectPaths:
    """Copy config, warehouse SQL and data under ``target``; write ``tables_toml`` as config/tables.toml."""
    source = paths or ProjectPaths.default()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.config_dir, target / "config", dirs_exist_ok=True)
    shutil.copytree(source.sql_dir, target / "warehouse", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.duckdb", "*.wal", "versions", ".*.tmp"))
    for folder in (source.bundled_landing_dir.parent, source.documents_dir):
        shutil.copytree(folder, target / "data" / folder.name, dirs_exist_ok=True)
    project = ProjectPaths(target)
    project.tables_toml.write_text(tables_toml, encoding="utf-8")
    return project


def shipped_tables(ids: set[str], paths: ProjectPaths | None = None, *, leave_out: set[str] = frozenset()) -> str:
    """The shipped config/tables.toml with only the [[table]] blocks of ``ids`` enabled: the other blocks stay
    (indicators name their tables) with ``enabled = false`` after their id; blocks of ``leave_out`` are dropped."""
    text = (paths or ProjectPaths.default()).tables_toml.read_text(encoding="utf-8")
    starts = [m.start() for m in _TABLE_START.finditer(text)]
    header = text[: starts[0]] if starts else text
    blocks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    kept = [b for b in blocks if (m := _ID.search(b)) and m.group(1).upper() in {i.upper() for i in ids}]
    missing = {i.upper() for i in ids} - {_ID.search(b).group(1).upper() for b in kept}
    if missing:
        raise ValueError(f"not in the shipped config/tables.toml: {', '.join(sorted(missing))}")
    dropped = {i.upper() for i in leave_out}
    off = [_ID.sub(lambda m: f"{m.group(0)}\nenabled = false", b, count=1) for b in blocks
           if b not in kept and _ID.search(b).group(1).upper() not in dropped]
    return header + "".join(kept + off)
