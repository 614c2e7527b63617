"""Writing one published version: the build database, rewritten in a storage format DuckDB 1.x reads.

The build database is written by DuckDB 2.x in its newest storage format, which DuckDB 1.x clients
(the Node and WASM clients, Evidence's DuckDB source, MotherDuck) refuse ("version number ...").
A byte copy would hand that format to readers, so a version is written with ``ATTACH ...
(STORAGE_VERSION ...)`` and ``COPY FROM DATABASE``, and then compared with the build table by
table (catalog, row count and a hash of every row): changing the format must
not change a figure.

Why ``v1.1.0`` (found by writing the bundled warehouse in every format DuckDB 2.0 offers and opening
each file with DuckDB 1.0.0, 1.1.3 and 1.4.5):

* DuckDB 1.0 and 1.1 read only storage number 64 (the formats ``v0.9.0`` to ``v1.1.0``); ``v1.2.0``
  writes 65, ``v1.3.0`` 66, ``v1.4.0`` 67, ``v1.5.0`` 68, and DuckDB 1.1 refuses each of them.
* DuckDB 1.0.0 cannot read a table with a PRIMARY KEY written by DuckDB 2.0 in ANY format ("Failed
  to deserialize: expected end of object, but found field id: 103", the key's index); the core
  dimensions and the fact table have primary keys, so DuckDB 1.1 is the oldest reader there can be.
* ``v1.1.0`` is the format DuckDB 1.1 writes itself. DuckDB 1.1.3 and 1.4.5 read every table, the
  view and the table macro of the bundled warehouse with the same rows and types as DuckDB 2.0.
  The price: about 12% more bytes than DuckDB 2.0's own format (no newer string compression).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
from pathlib import Path

import duckdb

from regiostat.warehouse import quote_ident

STORAGE_VERSION = "v1.1.0"
STORAGE_NUMBER = 64  # what the header of a file in STORAGE_VERSION says; DuckDB 1.0 and 1.1 read only 64
OLDEST_READER = "DuckDB 1.1"
_FICLONE = 0x40049409  # ioctl: share the source's blocks copy-on-write (btrfs, XFS with reflink, ...)
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}


class CopyMismatch(RuntimeError):
    """The rewritten version does not hold exactly what the build database holds."""


def write_version(build_path: Path, target: Path, *, storage_version: str = STORAGE_VERSION,
                  config: dict[str, object] | None = None) -> None:
    """Write ``build_path``'s schemas, tables, views and macros into a new file ``target`` in
    ``storage_version``, then compare the two; raises CopyMismatch naming what differs. ``config``: DuckDB
    settings of the copying connection (the build's memory_limit and threads: DuckDB's default memory limit is
    80% of RAM, and the copy of a national table took 400 MB of it)."""
    if target.exists():
        raise FileExistsError(f"{target} exists; a version is written once")
    if in_published_format(build_path, storage_version):
        _copy_as_is(build_path, target)
        return
    # spilling under that limit goes beside the build (the default for an in-memory database is ./.tmp)
    con = duckdb.connect(config={"temp_directory": f"{build_path}.tmp", **(config or {})})
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(build_path)])
        con.execute(f"ATTACH ? AS candidate (STORAGE_VERSION '{storage_version}')", [str(target)])
        con.execute("COPY FROM DATABASE build TO candidate")
        con.execute("DETACH candidate")  # checkpoints: every row is in the file, no .wal left beside it
        con.execute("ATTACH ? AS candidate (READ_ONLY)", [str(target)])
        problems = differences(con, "build", "candidate")
    finally:
        con.close()
    if problems:
        raise CopyMismatch(f"{target} differs from {build_path}: " + "; ".join(problems[:10]))


def in_published_format(build_path: Path, storage_version: str = STORAGE_VERSION) -> bool:
    """Whether the build file is already written in ``storage_version`` with every row in it (checkpointed, no
    .wal): the build database is created in it (pipelines.resources), so publishing copies its bytes instead of
    rewriting every table (20 of the 1.87M-row benchmark's 100 s). A build file made by an older regiostat, in
    DuckDB 2.0's own format, is rewritten as before."""
    return (storage_version == STORAGE_VERSION and storage_number(build_path) == STORAGE_NUMBER
            and not Path(f"{build_path}.wal").exists())


def _copy_as_is(build_path: Path, target: Path) -> None:
    """A byte copy of the build, checked byte for byte (the same bytes hold the same rows)."""
    clone_file(build_path, target)
    if sha256_file(target) != sha256_file(build_path):
        raise CopyMismatch(f"{target} differs from {build_path} byte for byte (was the build written meanwhile?)")


_CATALOG = {
    "columns": "SELECT schema_name, table_name, column_index, column_name, data_type, comment, is_nullable, "
               "column_default FROM duckdb_columns() WHERE database_name = ?",
    "tables": "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = ?",
    "views": "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE database_name = ? AND NOT internal",
    "macros": "SELECT schema_name, function_name, function_type, parameters FROM duckdb_functions() "
              "WHERE database_name = ? AND NOT internal",
    "constraints": "SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints() "
                   "WHERE database_name = ?",
}


def differences(con: duckdb.DuckDBPyConnection, a: str, b: str) -> list[str]:
    """What differs between the attached databases ``a`` and ``b``: catalog entries (names, types,
    comments, keys) and, per table and view, its rows (count and the sum of a hash of every row: the
    same multiset of rows; row order is not a figure and is not compared). Empty when equal.

    (A view's SQL text is not compared: older formats store it re-rendered with other parentheses.)
    """
    problems = []
    for what, sql in _CATALOG.items():
        left, right = ({repr(row) for row in con.execute(sql, [db]).fetchall()} for db in (a, b))
        if left != right:
            problems.append(f"{what}: only in {a}: {sorted(left - right)[:3]}, only in {b}: {sorted(right - left)[:3]}")
    for schema, name in _relations(con, a):
        query = f"SELECT count(*), sum(hash(t)) FROM {{db}}.{quote_ident(schema)}.{quote_ident(name)} AS t"
        left, right = (con.execute(query.format(db=quote_ident(db))).fetchone() for db in (a, b))
        if left != right:
            problems.append(f"{schema}.{name}: {left[0]} rows in {a}, {right[0]} in {b}"
                            + (" (same count, different content)" if left[0] == right[0] else ""))
    return problems


def _relations(con: duckdb.DuckDBPyConnection, db: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                       "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
                       "WHERE database_name = ? AND NOT internal ORDER BY ALL", [db, db]).fetchall()


def attach_read_only(path: Path | str, alias: str = "published") -> duckdb.DuckDBPyConnection:
    """A new connection with the file attached read-only as ``alias`` and made the default database.

    Unlike ``duckdb.connect(path)``, this never reuses a database instance this process already has
    open for the same path (DuckDB caches one per path), so it reads what is at the path NOW."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH ? AS {quote_ident(alias)} (READ_ONLY)", [str(path)])
        con.execute(f"USE {quote_ident(alias)}")
    except BaseException:
        con.close()
        raise
    return con


def storage_number(path: Path | str) -> int | None:
    """The storage number in a DuckDB file's header (64 for the formats v0.9.0 to v1.1.0, 65 for v1.2.0,
    ..., 999 while DuckDB 2.0's own format is unnumbered); None for a file that is not a DuckDB database.
    Read from the bytes, so it answers for files a given DuckDB cannot open."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    if len(head) < 20 or head[8:12] != b"DUCK":
        return None
    return int.from_bytes(head[12:20], "little")


def clone_file(source: Path, target: Path) -> str:
    """An independent copy of ``source`` at ``target``: a reflink where the filesystem shares blocks
    copy-on-write, else a byte copy; never a hard link (a writer on one name would change both).
    Returns ``"reflink"`` or ``"copy"``."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            os.fsync(dst.fileno())
            return "reflink"
        except OSError as exc:
            if exc.errno not in _NO_REFLINK:
                raise
    shutil.copyfile(source, target)
    fsync_file(target)
    return "copy"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
