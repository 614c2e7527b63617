"""A checked LISA export stored unchanged in the landing zone, once, under a name that cannot escape it."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import unicodedata
from pathlib import Path

import polars as pl

from regiostat.landing.zone import FINISHED_ENTITIES, LandingEntry, LandingError, LandingZone, safe_part
from regiostat.sources.lisa.decode import MAX_BYTES
from regiostat.sources.lisa.errors import LisaFileError
from regiostat.sources.lisa.reader import read_lisa_export

TABLE_ID = "LISA"  # the landing zone's table id of every LISA export
LANDING_SOURCE = "lisa_export"  # the manifest's source of a landed export


def safe_landing_name(filename: str) -> str:
    """A basename that cannot leave the landing folder; names that try are refused, not repaired."""
    parts = filename.split("/")
    if (not filename or "\x00" in filename or "\\" in filename or filename.startswith("/")
            or re.match(r"^[A-Za-z]:", filename) or any(ord(c) < 32 for c in filename)
            or any(p.startswith(".") for p in parts) or not parts[-1]):
        raise LisaFileError(filename, "unsafe_name", "file names may not contain '..', '\\', NUL, control "
                            "characters, an absolute path or a hidden (dot) part")
    plain = "".join(c for c in unicodedata.normalize("NFKD", parts[-1]) if not unicodedata.combining(c))
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", plain)
    try:
        return safe_part(name, "file name")
    except LandingError as exc:
        raise LisaFileError(filename, "unsafe_name", str(exc)) from None


def read_regular_file(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; a symbolic link is not followed
    and a FIFO or device is not read (opened non-blocking, refused by what fstat says)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LisaFileError(path.name, "not_a_regular_file", "a symbolic link; links in the inbox are not "
                                "followed (one can point anywhere): put the file itself in the inbox") from None
        raise LisaFileError(path.name, "unreadable", f"cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fh.fileno())
        if not stat.S_ISREG(mode.st_mode):
            raise LisaFileError(path.name, "not_a_regular_file", f"not a regular file (a {_kind(mode.st_mode)}); "
                                "only plain files are read from the inbox")
        if mode.st_size > max_bytes:
            raise LisaFileError(path.name, "too_large", f"{mode.st_size:,} bytes (limit {max_bytes:,})")
        content = fh.read(max_bytes + 1)
    if len(content) > max_bytes:  # it grew while we read it
        raise LisaFileError(path.name, "too_large", f"more than {max_bytes:,} bytes (limit {max_bytes:,})")
    return content


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


def land_lisa_file(landing: LandingZone, path: Path, *, municipalities: pl.DataFrame,
                   max_bytes: int = MAX_BYTES) -> LandingEntry:
    """Check a LISA export file (a regular file, not a link), then store it unchanged as one complete fetch."""
    path = Path(path)
    safe_landing_name(path.name)
    content = read_regular_file(path, max_bytes)
    return land_lisa_content(landing, path.name, content, municipalities=municipalities, max_bytes=max_bytes)


def land_lisa_content(landing: LandingZone, filename: str, content: bytes, *, municipalities: pl.DataFrame,
                      max_bytes: int = MAX_BYTES) -> LandingEntry:
    """Check a LISA export's bytes, then store them unchanged as one complete fetch.

    The fetch id is derived from the content hash, so landing the same bytes again (under
    any name) returns the existing entry instead of adding a second fetch.
    """
    name = safe_landing_name(filename)
    export = read_lisa_export(content, filename, municipalities=municipalities, max_bytes=max_bytes)
    fetch_id = f"lisa-{hashlib.sha256(content).hexdigest()[:20]}"
    landed = landing.pages_of(fetch_id)
    if landed and any(e.entity in FINISHED_ENTITIES for e in landing.rows_of_fetch(fetch_id)):
        return landed[0]  # landed before (in use, or failed / retired: then it stays so)
    common = dict(source=LANDING_SOURCE, vintage=str(export.years[-1]), note=export.attribution)
    entry = landed[0] if landed else landing.write(  # landed but not completed: a crash in between
        content, table_id=TABLE_ID, entity=export.shape, origin=filename, fetch_id=fetch_id,
        media_type=export.media_type, filename=name, rows=export.observations.height, **common)
    landing.mark_complete(TABLE_ID, fetch_id, origin=filename, rows=export.observations.height, **common)
    return entry
