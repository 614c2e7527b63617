"""Files DuckDB keeps beside a database (``regional.duckdb.wal``, the ``regional.duckdb.tmp/`` spill
folder), and processes holding the published file open for writing.

DuckDB finds a database's write-ahead log by NAME: ``<path>.wal``. A process that opened the published
file in write mode and died leaves its WAL there, and the next reader of whatever file then sits at
the path replays it: seen here, a reader of a freshly published file showed the dead writer's
edits, and with other contents new readers fail to open. So a publish never puts a file beside a
sidecar: it moves stale ones to ``quarantine/`` (kept, never deleted) and says so, and it refuses,
changing nothing, while a live process holds the published file open for writing (that process would
write its WAL beside the new file).
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

_FLOCK = "hhqqi"  # struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid


class WriterActive(RuntimeError):
    """A live process holds the published file open for writing."""


def sidecars(db_path: Path | str) -> list[Path]:
    """Everything named ``<file>.<something>`` beside the database file (``.wal``, ``.tmp``, ...)."""
    path = Path(db_path)
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + "."))


def writer_pid(db_path: Path | str) -> int | None:
    """The pid of a process holding DuckDB's write lock on the file, or None.

    DuckDB takes an fcntl write lock on a database it opens for writing (readers take a read lock),
    so asking the kernel whether a read lock could be placed answers "is there a writer" without
    taking any lock (F_GETLK only asks)."""
    try:
        fd = os.open(db_path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        probe = struct.pack(_FLOCK, fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        lock_type, _, _, _, pid = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    finally:
        os.close(fd)
    return pid if lock_type != fcntl.F_UNLCK else None


def describe(path: Path) -> str:
    kind = "folder" if path.is_dir() else f"{path.stat().st_size:,} bytes"
    return f"{path.name} ({kind})"


def clear_beside(db_path: Path, quarantine_dir: Path, stamp: str) -> list[str]:
    """Make the published path safe to swap: refuse while a writer holds it; move stale sidecars into
    ``quarantine_dir`` (renamed with ``stamp``). Returns one sentence per file moved."""
    pid = writer_pid(db_path)
    if pid is not None:
        raise WriterActive(f"{db_path} is open for writing by process {pid}; publishing now would leave that "
                           "process's write-ahead log beside the new file, where every new reader replays it. "
                           "Nothing was changed: stop that process (readers open the file read-only) and publish "
                           "again")
    said = []
    for side in sidecars(db_path):
        quarantine_dir.mkdir(parents=True, exist_ok=True)
        target = quarantine_dir / f"{side.name}.{stamp}"
        what = describe(side)
        os.replace(side, target)
        said.append(f"moved the stale {what} beside {db_path.name} to {target}: a process opened the published "
                    "file for writing and ended without closing it; readers of the new file would have replayed "
                    "it (the kept versions are separate files and were not affected)")
    return said
