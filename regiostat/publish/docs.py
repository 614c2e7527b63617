"""What each published table and column means: the docs TOMLs, and applying them as COMMENTs.

Why a TOML beside what it describes, and not COMMENT ON lines in the SQL or pandera descriptions: a
third of the published tables are made by Python (the profile, the harmonised series, reconcile.*)
and are replaced whole on every build, which drops any comment; the pandera models name only the
columns they check. So every description has ONE home that every kind of table can use:

* ``warehouse/<layer>.toml`` for the tables of that layer that ``schema.sql`` or Python code make
  (``core.toml``, ``marts.toml``, ``reconcile.toml``);
* ``warehouse/marts/<name>.toml`` beside ``<name>.sql`` and ``warehouse/views/<name>.toml`` beside
  ``<name>.sql`` for a table or view that a SQL file makes.

The publish step applies them to the build database just before it is copied (``apply_comments``),
after the last ``CREATE OR REPLACE``, so the published file carries them (storage v1.1.0 keeps
comments; ``storage.differences`` compares them). A comment written anywhere else is replaced: the
docs are the one home. A section reads::

    ["marts.population_by_region_year"]
    stable = true                       # readers may rely on it (warehouse/CONTRACT.md); false: internal
    comment = "Population on 1 January per region and year"

    ["marts.population_by_region_year".columns]
    region_code = "CBS region code"                                   # meaning only (a code, a text)
    population = { comment = "Inhabitants on 1 January", unit = "persons" }
    vintage = { comment = "...", stable = false }                     # internal column of a stable table
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from regiostat.configkeys import check_keys
from regiostat.paths import ProjectPaths
from regiostat.warehouse import qualified, quote_ident

# The schemas readers see and the contract covers; raw, staging and meta are lineage, not contract.
DOCUMENTED_LAYERS = ("core", "marts", "reconcile")
_TABLE_KEYS = ("stable", "comment", "columns")
_COLUMN_KEYS = ("comment", "unit", "stable")


class DocsError(ValueError):
    """A docs TOML is malformed, documents a table twice, or documents it away from its home."""


@dataclass(frozen=True)
class ColumnDoc:
    comment: str
    unit: str | None
    stable: bool

    @property
    def text(self) -> str:
        """The COMMENT the column gets: its meaning, then its unit in brackets (``[unit: persons]``)."""
        return f"{self.comment} [unit: {self.unit}]" if self.unit else self.comment


@dataclass(frozen=True)
class TableDoc:
    table: str  # schema.name
    stable: bool
    comment: str
    columns: dict[str, ColumnDoc]  # in the file's order
    file: Path


def docs_files(paths: ProjectPaths) -> list[Path]:
    """Every docs TOML: the layer files, then those beside SQL files."""
    return [*sorted(paths.sql_dir.glob("*.toml")), *sorted(paths.marts_dir.glob("*.toml")),
            *sorted(paths.views_dir.glob("*.toml"))]


def load_docs(paths: ProjectPaths) -> dict[str, TableDoc]:
    """schema.name -> its docs, over every docs TOML; raises DocsError naming file, table and key."""
    docs: dict[str, TableDoc] = {}
    for file in docs_files(paths):
        for doc in _read_file(file, paths):
            if doc.table in docs:
                raise DocsError(f"{file}: {doc.table} is documented in {docs[doc.table].file} too; keep one home")
            docs[doc.table] = doc
    return docs


def home_of(table: str, paths: ProjectPaths) -> Path:
    """The docs TOML where ``table`` belongs (whether or not it is documented yet)."""
    schema, _, name = table.partition(".")
    for folder in (paths.marts_dir, paths.views_dir):  # the SQL files there make marts.<file name>
        if schema == "marts" and (folder / f"{name}.sql").is_file():
            return folder / f"{name}.toml"
    return paths.sql_dir / f"{schema}.toml"


def _read_file(file: Path, paths: ProjectPaths) -> list[TableDoc]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DocsError(f"{file}: {exc}") from exc
    beside_sql = file.parent != paths.sql_dir
    out = []
    for table, raw in data.items():
        _check_home(file, table, beside_sql, paths)
        check_keys(file, table, raw, _TABLE_KEYS, DocsError)
        if not isinstance(raw.get("comment"), str) or not raw["comment"].strip():
            raise DocsError(f"{file}: {table}: 'comment' (what the table holds) is required")
        stable = raw.get("stable", False)
        if not isinstance(stable, bool):
            raise DocsError(f"{file}: {table}: 'stable' must be true or false, got {stable!r}")
        columns = raw.get("columns", {})
        if not isinstance(columns, dict):
            raise DocsError(f"{file}: {table}: 'columns' must be a table of column = description")
        out.append(TableDoc(table, stable, raw["comment"].strip(),
                            {name: _column(file, f"{table}.{name}", spec, stable) for name, spec in columns.items()},
                            file))
    return out


def _check_home(file: Path, table: str, beside_sql: bool, paths: ProjectPaths) -> None:
    """One home per table: beside its SQL file when it has one, else in its layer's file."""
    schema, dot, name = table.partition(".")
    if not dot or schema not in DOCUMENTED_LAYERS:
        raise DocsError(f"{file}: {table!r}: name a table as schema.name in {', '.join(DOCUMENTED_LAYERS)}")
    if beside_sql:
        if table != f"marts.{file.stem}" or not file.with_suffix(".sql").is_file():
            raise DocsError(f"{file}: documents only marts.{file.stem}, which {file.stem}.sql makes, not {table}")
    elif schema != file.stem:
        raise DocsError(f"{file}: documents the {file.stem} layer only, not {table}")
    elif home_of(table, paths) != file:
        raise DocsError(f"{file}: {table} is made by a SQL file: document it in {home_of(table, paths)} beside it")


def _column(file: Path, where: str, spec: object, table_stable: bool) -> ColumnDoc:
    if isinstance(spec, str):
        spec = {"comment": spec}
    check_keys(file, where, spec, _COLUMN_KEYS, DocsError)
    comment, unit, stable = spec.get("comment"), spec.get("unit"), spec.get("stable", table_stable)
    if not isinstance(comment, str) or not comment.strip():
        raise DocsError(f"{file}: {where}: 'comment' (what the column means) is required")
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        raise DocsError(f"{file}: {where}: 'unit' must be a non-empty text when given")
    if not isinstance(stable, bool) or (stable and not table_stable):
        raise DocsError(f"{file}: {where}: 'stable' is true or false, and a column of an internal table is internal")
    return ColumnDoc(comment.strip(), unit.strip() if unit else None, stable)


# -- applying them -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Applied:
    """What ``apply_comments`` did: comments written, and what the docs lack or name in vain."""

    comments: int
    undocumented: tuple[str, ...]  # schema.table or schema.table.column in the database without docs
    unknown: tuple[str, ...]  # documented columns of present tables that the database lacks


def relations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """schema.name -> 'table' or 'view', for the documented layers of the current database."""
    layers = ", ".join("?" for _ in DOCUMENTED_LAYERS)
    rows = con.execute(
        f"SELECT schema_name, table_name, 'table' FROM duckdb_tables() WHERE database_name = current_database() "
        f"AND schema_name IN ({layers}) UNION ALL SELECT schema_name, view_name, 'view' FROM duckdb_views() "
        f"WHERE database_name = current_database() AND NOT internal AND schema_name IN ({layers})",
        [*DOCUMENTED_LAYERS, *DOCUMENTED_LAYERS]).fetchall()
    return {f"{s}.{n}": kind for s, n, kind in rows}


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, type) of ``table`` in the table's own order."""
    schema, _, name = table.partition(".")
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                       "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()


def apply_comments(con: duckdb.DuckDBPyConnection, docs: dict[str, TableDoc]) -> Applied:
    """COMMENT every table, view and column of the documented layers from ``docs``; a table or column
    without docs gets none (NULL), so what a reader sees is what the docs say. Docs of absent tables
    are skipped (a mode that does not build them)."""
    written, undocumented, unknown = 0, [], []
    for table, kind in sorted(relations(con).items()):
        doc = docs.get(table)
        if doc is None:
            undocumented.append(table)
        _comment(con, f"COMMENT ON {kind.upper()} {qualified(table)}", doc.comment if doc else None)
        present = [c for c, _ in columns_of(con, table)]
        for column in present:
            col = doc.columns.get(column) if doc else None
            if col is None:
                undocumented.append(f"{table}.{column}")
            _comment(con, f"COMMENT ON COLUMN {qualified(table)}.{quote_ident(column)}", col.text if col else None)
            written += col is not None
        written += doc is not None
        unknown += [f"{table}.{c}" for c in (doc.columns if doc else {}) if c not in present]
    return Applied(written, tuple(undocumented), tuple(unknown))


def _comment(con: duckdb.DuckDBPyConnection, target: str, text: str | None) -> None:
    """COMMENT ON takes no parameters: the text goes in as a quoted literal."""
    literal = "NULL" if text is None else "'" + text.replace("'", "''") + "'"
    con.execute(f"{target} IS {literal}")
