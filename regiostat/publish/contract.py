"""warehouse/CONTRACT.md: the published tables and columns readers may rely on, generated from a warehouse.

The contract is read from a built warehouse, not written by hand: names, kinds and types come from
DuckDB's catalogue (``duckdb_columns()``), meaning, unit and the stable marker from the docs TOMLs
(``regiostat.publish.docs``), whose text must also be the COMMENT the warehouse carries. It is
rendered deterministically (tables sorted, columns in table order, no timestamps), so the committed
file is current exactly when regenerating it changes nothing.

Stable means: the table keeps its name, and each stable column its name and type, until
``SCHEMA_VERSION`` changes. So ``check`` fails when a stable column is added, removed or retyped
(or a stable table appears or goes) while the committed contract names the same version: bump
``SCHEMA_VERSION`` (regiostat/warehouse.py) and regenerate. Internal tables and columns are listed
for reference and may change in any release (regenerate only).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from regiostat.paths import ProjectPaths
from regiostat.publish.docs import DOCUMENTED_LAYERS, TableDoc, columns_of, home_of, load_docs, relations
from regiostat.publish.reader import connect

REGENERATE = "uv run regiostat build && uv run regiostat contract"
_VERSION_LINE = re.compile(r"^Schema version: \*\*(\d+)\*\*", re.MULTILINE)
_TABLE_HEADING = re.compile(r"^### `([^`]+)` \((table|view)\)$")
_COLUMN_ROW = re.compile(r"^\| `([^`]+)`( \(internal\))? \| ([^|]+?) \|")
_STABLE, _INTERNAL = "## Stable tables", "## Internal tables"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    unit: str | None
    meaning: str
    stable: bool


@dataclass(frozen=True)
class Table:
    table: str
    kind: str  # table or view
    stable: bool
    comment: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Contract:
    schema_version: int
    tables: tuple[Table, ...]

    def stable_columns(self) -> dict[str, dict[str, str]]:
        """Stable table -> {stable column: type}: what a change of needs a new schema version."""
        return {t.table: {c.name: c.type for c in t.columns if c.stable} for t in self.tables if t.stable}


def of_published(publish_path: Path | str | None, paths: ProjectPaths) -> tuple[Contract, list[str]]:
    """``describe`` the current published version (read-only; FileNotFoundError when nothing is published)."""
    con = connect(publish_path)
    try:
        return describe(con, load_docs(paths), paths)
    finally:
        con.close()


def describe(con: duckdb.DuckDBPyConnection, docs: dict[str, TableDoc],
             paths: ProjectPaths) -> tuple[Contract, list[str]]:
    """The contract of the warehouse ``con`` is attached to, and what keeps it from being whole: a table or
    column without docs, docs naming what the warehouse lacks, a COMMENT that is not its docs' text."""
    problems: list[str] = []
    present = relations(con)
    tables = []
    for name, kind in sorted(present.items()):
        doc = docs.get(name)
        if doc is None:
            problems.append(f"{name}: no docs (add a [\"{name}\"] section to {_rel(home_of(name, paths), paths)})")
            continue
        problems += _comment_problems(con, name, kind, doc.comment)
        columns = []
        for column, dtype in columns_of(con, name):
            col = doc.columns.get(column)
            if col is None:
                problems.append(f"{name}.{column}: no docs (add it under [\"{name}\".columns] "
                                f"in {_rel(doc.file, paths)})")
                continue
            problems += _comment_problems(con, name, "column", col.text, column)
            columns.append(Column(column, dtype, col.unit, col.comment, col.stable))
        problems += [f"{name}.{c}: documented in {_rel(doc.file, paths)} but not in the warehouse (remove it there)"
                     for c in doc.columns if c not in {x.name for x in columns}]
        tables.append(Table(name, kind, doc.stable, doc.comment, tuple(columns)))
    problems += [f"{t}: documented in {_rel(d.file, paths)} but not in the warehouse" for t, d in sorted(docs.items())
                 if t not in present]
    return Contract(_schema_version(con), tuple(tables)), problems


_COMMENT_SQL = {
    "column": "SELECT comment FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? "
              "AND table_name = ? AND column_name = ?",
    "table": "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
             "AND table_name = ?",
    "view": "SELECT comment FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ? "
            "AND view_name = ?",
}


def _comment_problems(con: duckdb.DuckDBPyConnection, table: str, kind: str, expected: str,
                      column: str | None = None) -> list[str]:
    """The comment the warehouse carries for a table, view or column, against its docs' text."""
    schema, _, name = table.partition(".")
    found = con.execute(_COMMENT_SQL[kind], [schema, name, *([column] if column else [])]).fetchall()
    actual = found[0][0] if found else None
    where = f"{table}.{column}" if column else table
    if actual is None:
        return [f"{where}: missing comment in the warehouse (the publish step applies the docs: rebuild)"]
    if actual != expected:
        return [f"{where}: the warehouse's comment is not its docs' text (rebuild): {actual!r}"]
    return []


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("SELECT schema_version FROM meta.build_info").fetchall()
    if len(rows) != 1:
        raise ValueError(f"meta.build_info has {len(rows)} rows: not a published warehouse")
    return int(rows[0][0])


def _rel(path: Path, paths: ProjectPaths) -> str:
    try:
        return path.relative_to(paths.root).as_posix()
    except ValueError:
        return str(path)


# -- the markdown ------------------------------------------------------------------------------------------

_INTRO = f"""\
The tables and columns of the published warehouse (`warehouse/regional.duckdb`, schemas
{", ".join(f"`{s}`" for s in DOCUMENTED_LAYERS)}). **Stable** tables keep their names, and their stable
columns their names and types, until the schema version changes; a reader checks it in
`meta.build_info.schema_version`. Columns marked (internal) and the internal tables at the end may
change in any release. Every table and column carries its description as a DuckDB `COMMENT`
(`SELECT * FROM duckdb_columns()`); a unit is the `[unit: ...]` at its end. `raw`, `staging` and
`meta` hold lineage and are not part of the contract.

Generated from a built warehouse by `{REGENERATE}`. The descriptions live in
`warehouse/<layer>.toml` and beside each SQL file (`warehouse/marts/<name>.toml`). Do not edit this
file by hand: `tests/test_contract.py` fails when it is not what the bundled build gives, and when a
stable column is added, removed or retyped without a new `SCHEMA_VERSION` (regiostat/warehouse.py)."""


def render(contract: Contract) -> str:
    """CONTRACT.md's text: the same contract always gives the same bytes."""
    lines = ["# Warehouse contract", "", f"Schema version: **{contract.schema_version}**", "", _INTRO]
    for heading, stable in ((_STABLE, True), (_INTERNAL, False)):
        chosen = [t for t in contract.tables if t.stable == stable]
        lines += ["", heading]
        if not stable and chosen:
            lines += ["", "Working tables of the pipeline, listed for reference: they may change in any release."]
        for t in chosen:
            lines += ["", f"### `{t.table}` ({t.kind})", "", _cell(t.comment), "",
                      "| column | type | unit | meaning |", "| --- | --- | --- | --- |"]
            lines += [f"| `{c.name}`{'' if c.stable or not t.stable else ' (internal)'} | {c.type} | "
                      f"{_cell(c.unit or '')} | {_cell(c.meaning)} |" for c in t.columns]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """One line of markdown table cell: a '|' would end the cell, a '<t0>' would read as an HTML tag."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "\\<")


def parse(text: str) -> Contract:
    """The schema version and the stable columns (name and type) of a rendered CONTRACT.md: what drift is
    judged against. Meaning and unit are not read back; a changed text only needs regenerating."""
    version = _VERSION_LINE.search(text)
    if version is None:
        raise ValueError("not a contract: no 'Schema version: **N**' line")
    tables: list[Table] = []
    stable, current, columns = False, None, []

    def close() -> None:
        if current is not None:
            tables.append(Table(current[0], current[1], stable, "", tuple(columns)))

    for line in text.splitlines():
        if line in (_STABLE, _INTERNAL):
            close()
            stable, current, columns = line == _STABLE, None, []
        elif heading := _TABLE_HEADING.match(line):
            close()
            current, columns = (heading.group(1), heading.group(2)), []
        elif current is not None and (row := _COLUMN_ROW.match(line)):
            columns.append(Column(row.group(1), row.group(3).strip(), None, "", stable and not row.group(2)))
    close()
    return Contract(int(version.group(1)), tuple(tables))


def drift(committed: Contract, current: Contract) -> list[str]:
    """Changes to stable tables and columns between two contracts, one line each (empty: none)."""
    before, after = committed.stable_columns(), current.stable_columns()
    out = [f"{t}: stable table {'removed (or made internal)' if t in before else 'added'}"
           for t in sorted(set(before) ^ set(after))]
    for table in sorted(set(before) & set(after)):
        old, new = before[table], after[table]
        out += [f"{table}.{c}: stable column removed (or made internal)" for c in old if c not in new]
        out += [f"{table}.{c}: stable column added ({new[c]})" for c in new if c not in old]
        out += [f"{table}.{c}: type changed from {old[c]} to {new[c]}" for c in old if c in new and old[c] != new[c]]
    return out


def check(current: Contract, problems: list[str], committed_text: str | None, code_version: int) -> list[str]:
    """Everything that keeps the committed CONTRACT.md from being the contract of this warehouse and this
    code, each line saying what to do; empty when it is current."""
    out = list(problems)
    if current.schema_version != code_version:
        out.append(f"the warehouse has schema version {current.schema_version}, this code {code_version}: "
                   f"rebuild it first ({REGENERATE})")
    if committed_text is None:
        return out + [f"warehouse/CONTRACT.md is missing: generate it with `{REGENERATE}`"]
    committed = parse(committed_text)
    changes = drift(committed, current)
    if changes and committed.schema_version == current.schema_version:
        out += [f"{c}, without a SCHEMA_VERSION change (still {current.schema_version}): readers rely on stable "
                f"columns, so bump SCHEMA_VERSION in regiostat/warehouse.py, then regenerate with `{REGENERATE}`"
                for c in changes]
    text = render(current)
    if text != committed_text:
        diff = list(difflib.unified_diff(committed_text.splitlines(), text.splitlines(), "committed", "warehouse",
                                         n=0, lineterm=""))
        out.append(f"warehouse/CONTRACT.md is not current: regenerate it with `{REGENERATE}`; first differences:\n"
                   + "\n".join(diff[2:14]))
    return out
