"""The Dagster instance `regiostat build` records its runs in: persistent, under the working folder, so the UI shows
their history.

DAGSTER_HOME wins when it is set, with its own dagster.yaml as it is. Otherwise the instance lives in
``<home>/dagster`` (``./var/dagster`` by default: the folder the checkout's own dagster.yaml points `dagster dev`
at), and a dagster.yaml is written there when missing.

Dagster's SQLite storage commits and closes a connection for each of a build's ~330 events, and each waits for the
disk (fsync): ~15 s on a slow disk, as long as the build itself. So in its own instance a build's SQLite
connections do not wait (``PRAGMA synchronous=OFF``: a crash of regiostat loses nothing; a power cut in the middle
of a build could damage the run history, never the warehouse), and the instance's files are synced once when the
build ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from pipelines.resources import home_dir
from regiostat.publish.storage import fsync_dir

INSTANCE_YAML = """\
# The Dagster instance `regiostat build` records its runs in (written by regiostat when missing; edit freely).
# `dagster dev` started in the checkout shows the same history: the checkout's dagster.yaml points it here.
telemetry:
  enabled: false
"""


def instance_dir(home: Path | str | None = None) -> Path:
    """Where the CLI's runs are recorded: DAGSTER_HOME, else ``<home>/dagster``."""
    return Path(os.environ["DAGSTER_HOME"]) if os.environ.get("DAGSTER_HOME") else home_dir(home) / "dagster"


@contextlib.contextmanager
def cli_instance(home: Path | str | None = None) -> Iterator[dg.DagsterInstance]:
    """The persistent instance of a CLI run, closed (and, when it is ours, synced to disk) at the end."""
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance
        return
    folder = instance_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    started = time.time()
    try:
        with _sqlite_without_fsync(folder), _created(folder) as instance:
            yield instance
    finally:
        _sync(folder, since=started)


@contextlib.contextmanager
def _created(folder: Path) -> Iterator[dg.DagsterInstance]:
    """The instance in ``folder``: local_temp(folder) is "a regular, fully persistent instance" there, configured by
    its dagster.yaml. Opening one creates its SQLite databases when missing; two builds started at once would both
    create them (and one fail: "table ... already exists"), so one opens it at a time."""
    with open(folder / ".open.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            instance = dg.DagsterInstance.local_temp(str(folder))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    with instance:
        yield instance


@contextlib.contextmanager
def _sqlite_without_fsync(folder: Path) -> Iterator[None]:
    """SQLite connections to files under ``folder`` opened meanwhile skip fsync on commit and close."""
    root = str(folder.resolve())

    def no_fsync(dbapi_connection, _record) -> None:
        if type(dbapi_connection).__module__.split(".")[0] != "sqlite3":
            return
        cursor = dbapi_connection.cursor()
        try:
            files = [row[2] or "" for row in cursor.execute("PRAGMA database_list")]
            if any(f.startswith(root) for f in files):
                cursor.execute("PRAGMA synchronous=OFF")
        finally:
            cursor.close()

    event.listen(Engine, "connect", no_fsync)
    try:
        yield
    finally:
        event.remove(Engine, "connect", no_fsync)


def _sync(folder: Path, *, since: float) -> None:
    """fsync the files written under ``folder`` since ``since``, and their folders (new files' names)."""
    touched = {folder}
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_mtime >= since - 1:
            touched |= {path, path.parent}
    for path in sorted(touched, key=lambda p: (p.is_dir(), str(p))):
        with contextlib.suppress(OSError):  # a file gone since, or a filesystem that cannot fsync it
            fsync_dir(path)  # opens read-only and fsyncs: a file as well as a folder
