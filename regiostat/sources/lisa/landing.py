"""A checked LISA export stored unchanged in the landing zone, once, under a name that cannot escape it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingError, LandingZone, safe_part
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


def land_lisa_file(landing: LandingZone, path: Path, *, municipalities: pl.DataFrame,
                   max_bytes: int = MAX_BYTES) -> LandingEntry:
    """Check a LISA export, then store it unchanged as one complete fetch.

    The fetch id is derived from the content hash, so landing the same bytes again (under
    any name) returns the existing entry instead of adding a second fetch.
    """
    path = Path(path)
    name = safe_landing_name(path.name)
    size = path.stat().st_size
    if size > max_bytes:
        raise LisaFileError(path.name, "too_large", f"{size:,} bytes (limit {max_bytes:,})")
    content = path.read_bytes()
    export = read_lisa_export(content, path.name, municipalities=municipalities, max_bytes=max_bytes)
    fetch_id = f"lisa-{hashlib.sha256(content).hexdigest()[:20]}"
    landed = landing.pages_of(fetch_id)
    if landed and fetch_id in landing.complete_fetches(TABLE_ID):
        return landed[0]
    common = dict(source=LANDING_SOURCE, vintage=str(export.years[-1]), note=export.attribution)
    entry = landed[0] if landed else landing.write(  # landed but not completed: a crash in between
        content, table_id=TABLE_ID, entity=export.shape, origin=path.name, fetch_id=fetch_id,
        media_type=export.media_type, filename=name, rows=export.observations.height, **common)
    landing.mark_complete(TABLE_ID, fetch_id, origin=path.name, rows=export.observations.height, **common)
    return entry
