"""The landing zone: every fetched response or imported file, kept exactly as received.

Everything after fetching reads only from here, so any run can be replayed offline.
Rules that make that safe:

* a file is written to a temporary name, fsynced and renamed into place; it is never
  overwritten (same name + same bytes is a no-op, same name + other bytes is an error);
* a file only *counts* once its manifest row exists; the row is appended after the rename,
  so a crash leaves at most an orphan file that nothing reads;
* pages of one fetch share a ``fetch_id``; a fetch is complete only when its
  ``_complete`` row is written, so readers never see half a table and a re-run can
  resume from the last page that was landed.

The manifest is read once and then only its new tail (it is append-only), so landing page n of a
fetch costs the same as page 1, and other processes' rows are seen on the next question.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gzip
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

MANIFEST_NAME = "manifest.jsonl"
COMPLETE_ENTITY = "_complete"
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class LandingError(Exception):
    """A landing-zone rule was broken; the message names the file."""


@dataclass(frozen=True)
class LandingEntry:
    """One manifest row: a file in the landing zone and where it came from."""

    source: str  # cbs_v4 | cbs_v3_api | cbs_v3_feed | cbs_v3_catalog | statline_csv | derived_csv
    table_id: str  # canonical upper case, e.g. 83582NED
    entity: str  # Observations, Properties, TypedDataSet, DataProperties, RegioSCodes, ...
    page: int  # 1-based page number within the fetch; 1 for single files
    origin: str  # the URL requested or the original file name
    fetched_at: str  # ISO 8601 UTC: when the bytes entered the landing zone
    sha256: str  # of the uncompressed bytes
    path: str  # relative to the landing root, POSIX separators
    media_type: str  # application/json | text/csv | text/tab-separated-values
    fetch_id: str  # groups the files of one fetch of one table
    rows: int | None = None
    table_modified: str | None = None  # Modified / ObservationsModified as CBS states it
    table_version: str | None = None  # v4 Version, or None when the source has none
    vintage: str | None = None  # when the *source* produced the content, if known
    compression: str | None = None  # None | gzip
    note: str | None = None  # provenance remark, e.g. "processed by a third party"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> LandingEntry:
        data = json.loads(line)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_fetch_id(table_id: str, when: datetime | None = None) -> str:
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{safe_part(table_id.upper(), 'table id')}"


def safe_part(value: str, what: str) -> str:
    """A single path component that cannot climb out of its folder."""
    if not _SAFE_PART.match(value) or value in {".", ".."} or ".." in value:
        raise LandingError(f"unsafe {what} for a landing path: {value!r}")
    return value


class LandingZone:
    """A folder of immutable files plus an append-only JSON-lines manifest."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._lock = threading.RLock()  # fetch threads of one process share the index
        self._read = _ManifestIndex()

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    # -- writing -------------------------------------------------------------------------

    def write(
        self,
        content: bytes,
        *,
        source: str,
        table_id: str,
        entity: str,
        origin: str,
        fetch_id: str,
        media_type: str,
        page: int = 1,
        filename: str | None = None,
        compress: bool = False,
        **extra: object,
    ) -> LandingEntry:
        """Store ``content`` under the fetch's folder and record it in the manifest."""
        table_id = table_id.upper()
        ext = {"application/json": "json", "text/csv": "csv"}.get(media_type, "txt")
        name = filename or f"{entity}-p{page:05d}.{ext}"
        name = safe_part(name, "file name") + (".gz" if compress else "")
        rel = PurePosixPath("files", safe_part(table_id, "table id"), safe_part(fetch_id, "fetch id"), name)
        digest = hashlib.sha256(content).hexdigest()
        existing = self.find(path=str(rel))
        if existing is not None:
            if existing.sha256 != digest:
                raise LandingError(f"{rel}: already landed with other content; landing files are never overwritten")
            return existing
        target = self.path_of(str(rel))
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = gzip.compress(content, mtime=0) if compress else content
        if target.exists() and _sha256_of(target, compressed=compress) != digest:
            raise LandingError(f"{rel}: an unrecorded file with other content is in the way")
        _atomic_write(target, payload)
        entry = LandingEntry(
            source=source,
            table_id=table_id,
            entity=entity,
            page=page,
            origin=origin,
            fetched_at=str(extra.pop("fetched_at", None) or utc_now_iso()),
            sha256=digest,
            path=str(rel),
            media_type=media_type,
            fetch_id=fetch_id,
            compression="gzip" if compress else None,
            **extra,  # type: ignore[arg-type]
        )
        self._append(entry)
        return entry

    def mark_complete(self, table_id: str, fetch_id: str, *, source: str, origin: str, rows: int | None,
                      **extra: object) -> LandingEntry:
        """Declare a fetch whole: only complete fetches are read downstream."""
        entry = LandingEntry(
            source=source,
            table_id=table_id.upper(),
            entity=COMPLETE_ENTITY,
            page=0,
            origin=origin,
            fetched_at=str(extra.pop("fetched_at", None) or utc_now_iso()),
            sha256="",
            path="",
            media_type="",
            fetch_id=fetch_id,
            rows=rows,
            **extra,  # type: ignore[arg-type]
        )
        self._append(entry)
        return entry

    def path_of(self, rel: str) -> Path:
        """The file a manifest path names, refusing any path that would leave the landing root."""
        parts = PurePosixPath(rel).parts
        if (not rel or "\\" in rel or PurePosixPath(rel).is_absolute()
                or any(p in ("", ".", "..") for p in parts)):
            raise LandingError(f"manifest path {rel!r} leaves the landing zone {self.root}")
        return self.root.joinpath(*parts)

    def import_fetch(self, other: LandingZone, fetch_id: str) -> int:
        """Copy one complete fetch from another zone (e.g. the bundled one), file and manifest row alike.

        Idempotent: files already here (same path, same sha256) are skipped. Returns files copied.
        """
        mine = {e.path: e for e in self.entries() if e.fetch_id == fetch_id}
        if any(e.entity == COMPLETE_ENTITY for e in mine.values()) or fetch_id in self.complete_fetches():
            return 0
        rows = [e for e in other.entries() if e.fetch_id == fetch_id]
        if not any(e.entity == COMPLETE_ENTITY for e in rows):
            raise LandingError(f"fetch {fetch_id} is not complete in {other.root}; only complete fetches are imported")
        copied = 0
        for entry in rows:
            if entry.entity == COMPLETE_ENTITY:
                continue
            if entry.path in mine:
                if mine[entry.path].sha256 != entry.sha256:
                    raise LandingError(f"{entry.path}: already landed here with other content")
                continue
            stored, _ = other._read_verified(entry)  # the source copy (and its path) checked before we trust it
            target = self.path_of(entry.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, stored)
            self._append(entry)
            copied += 1
        self._append(next(e for e in rows if e.entity == COMPLETE_ENTITY))
        return copied

    def _append(self, entry: LandingEntry) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.manifest_path, "a+b") as fh, _locked(fh):
            fh.write((b"\n" if _ends_torn(fh) else b"") + entry.to_json().encode("utf-8") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -- reading -------------------------------------------------------------------------

    def entries(self) -> list[LandingEntry]:
        """All manifest rows; a torn last line (crash mid-append) is ignored."""
        with self._lock:
            return list(self._read.refresh(self.manifest_path).rows)

    def find(self, *, path: str) -> LandingEntry | None:
        with self._lock:
            return self._read.refresh(self.manifest_path).by_path.get(path)

    def complete_fetches(self, table_id: str | None = None) -> list[str]:
        """Fetch ids that finished, oldest first."""
        return [
            e.fetch_id
            for e in self.entries()
            if e.entity == COMPLETE_ENTITY and (table_id is None or e.table_id == table_id.upper())
        ]

    def latest_complete_fetch(self, table_id: str) -> list[LandingEntry]:
        """The files of the newest complete fetch of a table (what staging reads)."""
        fetches = self.complete_fetches(table_id)
        if not fetches:
            return []
        latest = fetches[-1]
        return [e for e in self.entries() if e.fetch_id == latest and e.entity != COMPLETE_ENTITY]

    def pages_of(self, fetch_id: str) -> list[LandingEntry]:
        return [e for e in self.entries() if e.fetch_id == fetch_id and e.entity != COMPLETE_ENTITY]

    def verified_path(self, entry: LandingEntry) -> Path:
        """The file of ``entry``, checked against the manifest's sha256 without holding it in memory: for
        readers that open landed files themselves (DuckDB's read_json over a fetch's pages)."""
        path = self.path_of(entry.path)
        digest = hashlib.sha256()
        with open(path, "rb") as raw, (gzip.open(raw) if entry.compression == "gzip" else contextlib.nullcontext(raw)) \
                as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != entry.sha256:
            raise LandingError(f"{entry.path}: sha256 does not match the manifest (file changed or corrupt)")
        return path

    def read_bytes(self, entry: LandingEntry) -> bytes:
        """The file's bytes, checked against the manifest's sha256."""
        return self._read_verified(entry)[1]

    def _read_verified(self, entry: LandingEntry) -> tuple[bytes, bytes]:
        """(bytes as stored, possibly gzip; uncompressed content), read once and checked against the manifest."""
        stored = self.path_of(entry.path).read_bytes()
        content = gzip.decompress(stored) if entry.compression == "gzip" else stored
        if hashlib.sha256(content).hexdigest() != entry.sha256:
            raise LandingError(f"{entry.path}: sha256 does not match the manifest (file changed or corrupt)")
        return stored, content

    def iter_table_ids(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for e in self.entries():
            seen.setdefault(e.table_id, None)
        yield from seen


class _ManifestIndex:
    """The manifest's rows read so far, and where reading stopped: only whole lines are consumed."""

    def __init__(self):
        self.rows: list[LandingEntry] = []
        self.by_path: dict[str, LandingEntry] = {}
        self.offset = 0
        self.identity: tuple[int, int] | None = None

    def refresh(self, manifest: Path) -> _ManifestIndex:
        try:
            stat = manifest.stat()
        except FileNotFoundError:
            self.__init__()
            return self
        if (stat.st_dev, stat.st_ino) != self.identity or stat.st_size < self.offset:  # replaced: read it anew
            self.__init__()
            self.identity = (stat.st_dev, stat.st_ino)
        if stat.st_size > self.offset:
            with open(manifest, "rb") as fh:
                fh.seek(self.offset)
                tail = fh.read()
            end = tail.rfind(b"\n") + 1  # a torn last line waits until it is whole (or is skipped when ended)
            for line in tail[:end].splitlines():
                self._add(line)
            self.offset += end
        return self

    def _add(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            entry = LandingEntry.from_json(line.decode("utf-8"))
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
            return
        self.rows.append(entry)
        if entry.path:
            self.by_path.setdefault(entry.path, entry)


def _ends_torn(fh) -> bool:
    """Whether the manifest ends in half a line (a crash mid-append): the next row must start on a line of its own."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return False
    fh.seek(size - 1)
    last = fh.read(1)
    fh.seek(0, os.SEEK_END)
    return last != b"\n"


def _atomic_write(target: Path, payload: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _sha256_of(path: Path, *, compressed: bool) -> str:
    raw = path.read_bytes()
    return hashlib.sha256(gzip.decompress(raw) if compressed else raw).hexdigest()


@contextlib.contextmanager
def _locked(fh):
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
