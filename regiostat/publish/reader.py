"""Opening the published warehouse safely: ``regiostat.connect()``.

DuckDB opens a database path more than once per connect. When a publish renames a new file over
``warehouse/regional.duckdb`` between those opens, the reader gets half of each file and fails
("No more data remaining in MetadataReader", "Failed to load metadata pointer"; about 1 open in 600
to 900 under repeated swaps). ``connect`` reads the pointer ``regional.current.json`` once and opens
the version file it names, which no publish ever replaces, so a connect sees one whole version.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from regiostat.publish.versions import current_file
from regiostat.warehouse import quote_ident

DEFAULT_PUBLISH_PATH = Path("warehouse") / "regional.duckdb"  # as RegiostatSettings, relative to the cwd
_ATTEMPTS = 3


def published_path(path: Path | str | None = None) -> Path:
    """``path``, else $REGIOSTAT_PUBLISH_PATH, else ./warehouse/regional.duckdb."""
    return Path(path or os.environ.get("REGIOSTAT_PUBLISH_PATH") or DEFAULT_PUBLISH_PATH)


def current_version(path: Path | str | None = None) -> Path:
    """The file a reader should open now: the version the pointer names, or the plain published file
    for a warehouse published before pointers. Raises FileNotFoundError when nothing is published."""
    publish = published_path(path)
    target = current_file(publish) or publish
    if not target.is_file():
        raise FileNotFoundError(f"no published warehouse at {publish}"
                                + (f" (the pointer names {target}, which is missing)" if target != publish else ""))
    return target


def connect(path: Path | str | None = None, *, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published version, attached under the published file's
    stem (``regional``) as the default database, so ``SELECT * FROM marts.regional_profile`` works.

    ``path`` is the published path (default: $REGIOSTAT_PUBLISH_PATH or ./warehouse/regional.duckdb).
    The pointer is read once per connect; a connection keeps reading the version it opened for as
    long as it is open, and each new connect (in this process too) gets the version current then.
    If the version named was pruned between reading the pointer and opening it (only after several
    publishes in that instant), the pointer is read again.
    """
    alias = published_path(path).stem
    for attempt in range(1, _ATTEMPTS + 1):
        target = current_version(path)
        con = duckdb.connect(config=config or {})
        try:
            con.execute(f"ATTACH ? AS {quote_ident(alias)} (READ_ONLY)", [str(target)])
            con.execute(f"USE {quote_ident(alias)}")
            return con
        except duckdb.Error:
            con.close()
            if attempt == _ATTEMPTS or (target.is_file() and current_version(path) == target):
                raise
    raise AssertionError("unreachable")
