"""StatLine CSV downloads: the data file (UntypedDataSet) and its metadata file.

StatLine writes `;`-separated, double-quoted UTF-8 (with BOM) where every value is a
right-aligned string and `.` marks a missing value. The metadata download is several
CSV tables in one file, each introduced by a line holding only its name.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone, new_fetch_id

# 70072ned_UntypedDataSet_29122019_191739.csv  /  03759ned_metadata.csv
_DOWNLOAD_NAME = re.compile(
    r"^(?P<table>[0-9A-Za-z]{5,10})_(?P<kind>UntypedDataSet|TypedDataSet|metadata)"
    r"(?:_(?P<d>\d{2})(?P<m>\d{2})(?P<y>\d{4})_(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2}))?(?:_[^.]*)?\.csv$"
)


class StatlineCsvError(ValueError):
    """A StatLine download could not be read; the message names the file and line."""


@dataclass(frozen=True)
class DownloadName:
    table_id: str
    kind: str  # UntypedDataSet | TypedDataSet | metadata
    downloaded_at: str | None  # ISO timestamp StatLine put in the file name


def parse_download_name(name: str) -> DownloadName:
    m = _DOWNLOAD_NAME.match(name)
    if not m:
        raise StatlineCsvError(f"{name}: not a StatLine download name like 70072ned_UntypedDataSet_29122019_191739.csv")
    stamp = None
    if m.group("y"):
        stamp = f"{m['y']}-{m['m']}-{m['d']}T{m['H']}:{m['M']}:{m['S']}"
    return DownloadName(table_id=m["table"].upper(), kind=m["kind"], downloaded_at=stamp)


def decode(content: bytes, origin: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise StatlineCsvError(f"{origin}: line {line}: not UTF-8 (byte {exc.object[exc.start]:#x}); "
                               "StatLine downloads are UTF-8") from exc


def read_untyped(content: bytes, origin: str) -> pl.DataFrame:
    """All columns as strings, exactly as written (padding kept)."""
    text = decode(content, origin)
    if not text.strip():
        raise StatlineCsvError(f"{origin}: empty file")
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=";"))
    if len(header) < 3 or header[0] != "ID":
        raise StatlineCsvError(f"{origin}: line 1: expected a ';'-separated header starting with \"ID\", "
                               f"got {header[:3]}")
    try:
        return pl.read_csv(io.StringIO(text), separator=";", quote_char='"', infer_schema=False)
    except pl.exceptions.ComputeError as exc:
        raise StatlineCsvError(f"{origin}: {exc}") from exc


def read_metadata(content: bytes, origin: str) -> dict[str, pl.DataFrame]:
    """The sections of a metadata download (TableInfos, DataProperties, one per dimension)."""
    rows = list(csv.reader(io.StringIO(decode(content, origin)), delimiter=";"))
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for row in rows:
        if len(row) == 1 and row[0].strip() and row[0].isidentifier():
            current = sections.setdefault(row[0], [])
        elif current is not None and row:
            current.append(row)
    if "DataProperties" not in sections:
        raise StatlineCsvError(f"{origin}: no DataProperties section; is this a StatLine metadata download?")
    frames = {}
    for name, body in sections.items():
        header, *data = body
        width = len(header)
        frames[name] = pl.DataFrame([dict(zip(header, r + [""] * (width - len(r)), strict=False)) for r in data],
                                    schema={h: pl.String for h in header})
    return frames


def import_download(landing: LandingZone, path: Path, *, fetched_at: str | None = None,
                    metadata: Path | None = None) -> list[LandingEntry]:
    """Land a StatLine download (and optionally its metadata file) as one complete fetch."""
    name = parse_download_name(path.name)
    content = path.read_bytes()
    rows = read_untyped(content, str(path)).height if name.kind != "metadata" else None
    fetch_id = new_fetch_id(name.table_id)
    common = dict(source="statline_csv", table_id=name.table_id, fetch_id=fetch_id, media_type="text/csv",
                  vintage=name.downloaded_at, fetched_at=fetched_at)
    entries = [landing.write(content, entity=name.kind, origin=path.name, rows=rows, compress=True, **common)]
    if metadata is not None:
        read_metadata(metadata.read_bytes(), str(metadata))
        entries.append(landing.write(metadata.read_bytes(), entity="metadata", origin=metadata.name,
                                     compress=True, **common))
    landing.mark_complete(name.table_id, fetch_id, source="statline_csv", origin=path.name, rows=rows,
                          fetched_at=fetched_at, vintage=name.downloaded_at)
    return entries
