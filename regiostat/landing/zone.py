"""The landing zone: every fetched response or imported file, kept exactly as received.

Everything after fetching reads only from here, so any run can be replayed offline.
Rules that make that safe:

* a file is written to a temporary name, fsynced and renamed into place; it is never
  overwritten (same name + same bytes is a no-op, same name + other bytes is an error);
* a file only *counts* once its manifest row exists; the row is appended after the rename,
  so a crash leaves at most an orphan file that nothing reads;
* pages of one fetch share a ``fetch_id``; a fetch is complete only when its
  ``_complete`` row is written, so readers never see half a table and a re-run can
  resume from the last page that was landed;
* the manifest is read strictly: a row that does not parse as a manifest row stops every
  reader, naming the file and line (skipping it would silently drop a file or a fetch); only
  an unterminated last line, what a crash mid-append leaves, is ignored, and the next append
  sets it aside (``manifest.jsonl.torn``) before writing;
* the ``_complete`` row records the fetch as it was completed (files, data pages, rows, and a
  digest of every file's path, sha256 and rows); a complete fetch is checked against it before
  anything reads it, and each file against its sha256 when it is read.

The manifest is read once and then only its new tail (it is append-only), so landing page n of a
fetch costs the same as page 1, and other processes' rows are seen on the next question. The tail
is read as strictly as the whole file, and a manifest rewritten in place (not appended to) is read
anew.
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
import sys
import threading
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

MANIFEST_NAME = "manifest.jsonl"
TORN_SUFFIX = ".torn"  # unterminated manifest tails (crash mid-append) are set aside here, never dropped
COMPLETE_ENTITY = "_complete"
FAILED_ENTITY = "_failed"  # a complete fetch that failed its raw checks: kept for inspection, never read
RETIRED_ENTITY = "_retired"  # a fetch an operator retired: kept, never read, no longer reported
FINISHED_ENTITIES = (COMPLETE_ENTITY, FAILED_ENTITY, RETIRED_ENTITY)  # rows about a fetch, not files of it
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class LandingError(Exception):
    """A landing-zone rule was broken; the message names the file."""


@dataclass(frozen=True, slots=True)
class LandingEntry:
    """One manifest row: a file in the landing zone and where it came from (slots: a year of monthly fetches of 1,000
    tables is a quarter of a million rows held by every zone that reads the manifest)."""

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
    # on _complete rows only (sha256 then holds the digest of the fetch's files, see fetch_digest):
    files: int | None = None  # files of the fetch when it was completed
    data_entity: str | None = None  # the entity of its data pages (Observations, TypedDataSet...), if it has one
    pages: int | None = None  # data pages, numbered 1..pages

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        for name in _COMPLETE_ONLY:  # written where set, so file rows read as they always did
            if data[name] is None:
                del data[name]
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str, where: str = "manifest row") -> LandingEntry:
        """A manifest row, or LandingError naming ``where`` and what is wrong with it."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LandingError(f"{where}: not a JSON manifest row ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise LandingError(f"{where}: a JSON {type(data).__name__} where a manifest row (an object) belongs")
        problems = [f"{name} missing" for name in _REQUIRED if name not in data]
        problems += [f"{name} is {data[name]!r}, expected {_KIND_NAMES[kinds]}"
                     for name, kinds in _FIELD_KINDS.items()
                     if name in data and (not isinstance(data[name], kinds) or isinstance(data[name], bool))]
        if problems:
            raise LandingError(f"{where}: not a manifest row: {'; '.join(problems)}")
        return cls(**{k: sys.intern(v) if k in _REPEATED_TEXT and isinstance(v, str) else v
                      for k, v in data.items() if k in _FIELD_KINDS})


def _field_kinds() -> dict[str, tuple[type, ...]]:
    """The JSON types each manifest field may have, from the dataclass (``int | None`` -> (int, NoneType))."""
    kinds = {}
    for f in dataclasses.fields(LandingEntry):
        names = [part.strip() for part in str(f.type).split("|")]
        kinds[f.name] = tuple({"str": str, "int": int, "None": type(None)}[n] for n in names)
    return kinds


_FIELD_KINDS = _field_kinds()
# fields whose text repeats across rows (a fetch's pages share all but path, page, rows and sha256): held once each
_REPEATED_TEXT = frozenset(_FIELD_KINDS) - {"path", "sha256", "page", "rows"}
_COMPLETE_ONLY = ("files", "data_entity", "pages")
_REQUIRED = [f.name for f in dataclasses.fields(LandingEntry) if f.default is dataclasses.MISSING]
_KIND_NAMES = {kinds: " or ".join({str: "text", int: "a whole number", type(None): "null"}[k] for k in kinds)
               for kinds in set(_FIELD_KINDS.values())}


def fetch_digest(files: list[LandingEntry]) -> str:
    """What a ``_complete`` row pins: every file of the fetch by path, sha256 and rows, in path order."""
    lines = sorted(f"{e.path}\t{e.sha256}\t{e.rows}" for e in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


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
        # every zone of this folder in this process (each step makes its own) shares one index of the manifest,
        # read once and then only its new tail; fetch threads share it under the lock
        self._shared = _shared_manifest(self.manifest_path)
        self._lock, self._read = self._shared.lock, self._shared.index

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
                      data_entity: str | None = None, **extra: object) -> LandingEntry:
        """Declare a fetch whole: only complete fetches are read downstream.

        The row records what is complete (see :meth:`pages_of`). With ``data_entity`` the fetch must
        hold its data pages 1..n, and their rows must add up to ``rows``; else nothing is marked.
        """
        files = self._files(self.rows_of_fetch(fetch_id))
        where = f"fetch {fetch_id} ({table_id.upper()})"
        if not files:
            raise LandingError(f"{where}: no file landed; there is nothing to mark complete")
        pages = None
        if data_entity is not None:
            pages = len(_check_data_pages(files, data_entity, rows, where))
        entry = LandingEntry(
            source=source,
            table_id=table_id.upper(),
            entity=COMPLETE_ENTITY,
            page=0,
            origin=origin,
            fetched_at=str(extra.pop("fetched_at", None) or utc_now_iso()),
            sha256=fetch_digest(files),
            path="",
            media_type="",
            fetch_id=fetch_id,
            rows=rows,
            files=len(files),
            data_entity=data_entity,
            pages=pages,
            **extra,  # type: ignore[arg-type]
        )
        self._append(entry)
        return entry

    def mark_fetch(self, done: LandingEntry, entity: str, reason: str) -> LandingEntry:
        """Record what became of a fetch (``FAILED_ENTITY`` or ``RETIRED_ENTITY``) and why; its files stay."""
        if entity not in (FAILED_ENTITY, RETIRED_ENTITY):
            raise ValueError(f"not a fetch state row: {entity!r}")
        entry = LandingEntry(source=done.source, table_id=done.table_id, entity=entity, page=0, origin=done.origin,
                             fetched_at=utc_now_iso(), sha256="", path="", media_type="", fetch_id=done.fetch_id,
                             note=" ".join(reason.split())[:2000])
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
        mine = {e.path: e for e in self.rows_of_fetch(fetch_id)}
        if any(e.entity in FINISHED_ENTITIES for e in mine.values()):  # here already (in use, failed or retired)
            return 0
        rows = other.rows_of_fetch(fetch_id)
        if not any(e.entity == COMPLETE_ENTITY for e in rows) or any(e.entity in (FAILED_ENTITY, RETIRED_ENTITY)
                                                                     for e in rows):
            raise LandingError(f"fetch {fetch_id} is not complete and in use in {other.root}; only those are imported")
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
        done = next(e for e in rows if e.entity == COMPLETE_ENTITY)
        files = [e for e in rows if e.entity != COMPLETE_ENTITY]
        if not done.sha256:  # a fetch completed before _complete rows pinned their files: pin what was verified
            done = dataclasses.replace(done, sha256=fetch_digest(files), files=len(files))
        self._append(done)
        return copied

    def _append(self, entry: LandingEntry) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.manifest_path, "a+b") as fh, _locked(fh):
            self._end_torn_tail(fh)
            fh.write((entry.to_json() + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def _end_torn_tail(self, fh) -> None:
        """A crash mid-append leaves an unterminated last line; appending after it would glue the new row onto
        it and lose both. A tail that is a whole row gets its newline; any other is moved to ``.torn``."""
        end = fh.seek(0, os.SEEK_END)
        if end == 0:
            return
        fh.seek(end - 1)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        data = fh.read()
        start = data.rfind(b"\n") + 1
        tail = data[start:]
        try:
            LandingEntry.from_json(tail.decode("utf-8"))
        except (LandingError, UnicodeDecodeError):
            with open(self.manifest_path.with_name(MANIFEST_NAME + TORN_SUFFIX), "ab") as torn:
                torn.write(tail + b"\n")
                torn.flush()
                os.fsync(torn.fileno())
            fh.truncate(start)
            return
        fh.write(b"\n")

    # -- reading -------------------------------------------------------------------------

    def entries(self) -> list[LandingEntry]:
        """All manifest rows. A row that cannot be read stops the reader, naming file and line; only an
        unterminated last line (a crash mid-append: it never counted) is ignored."""
        with self._lock:
            return self._read.refresh(self.manifest_path).rows()

    def find(self, *, path: str) -> LandingEntry | None:
        with self._lock:
            return self._read.refresh(self.manifest_path).find(path)

    def rows_of_fetch(self, fetch_id: str) -> list[LandingEntry]:
        """The manifest rows of one fetch (its files and the rows about it), in landing order."""
        with self._lock:
            return self._read.refresh(self.manifest_path).of_fetch(fetch_id)

    def rows_of_tables(self, table_ids: Iterable[str]) -> list[LandingEntry]:
        """The manifest rows of these tables, in landing order."""
        with self._lock:
            return self._read.refresh(self.manifest_path).of_tables({t.upper() for t in table_ids})

    def complete_fetches(self, table_id: str | None = None) -> list[str]:
        """Fetch ids that finished and are in use, oldest first (a failed or retired fetch is not)."""
        return [e.fetch_id for e in self.usable_completes(None if table_id is None else (table_id,))]

    def usable_completes(self, table_ids: tuple[str, ...] | None = None) -> list[LandingEntry]:
        """The ``_complete`` rows of the fetches in use (of these tables), in landing order."""
        entries = self.entries() if table_ids is None else self.rows_of_tables(table_ids)
        unusable = {e.fetch_id for e in entries if e.entity in (FAILED_ENTITY, RETIRED_ENTITY)}
        return [e for e in entries if e.entity == COMPLETE_ENTITY and e.fetch_id not in unusable]

    def latest_complete_fetch(self, table_id: str) -> list[LandingEntry]:
        """The files of the newest complete fetch of a table (what staging reads), checked against its _complete row."""
        fetches = self.complete_fetches(table_id)
        return self.pages_of(fetches[-1]) if fetches else []

    def pages_of(self, fetch_id: str) -> list[LandingEntry]:
        """The files of a fetch; for a complete fetch, checked against its ``_complete`` row first."""
        rows = self.rows_of_fetch(fetch_id)
        files = self._files(rows)
        done = [e for e in rows if e.entity == COMPLETE_ENTITY]
        return self._verify(done[0], files) if done else files

    @staticmethod
    def _files(rows: list[LandingEntry]) -> list[LandingEntry]:
        """A fetch's files among its manifest rows (not the rows about the fetch)."""
        return [e for e in rows if e.entity not in FINISHED_ENTITIES]

    def _verify(self, done: LandingEntry, files: list[LandingEntry]) -> list[LandingEntry]:
        """Refuse a complete fetch whose manifest rows no longer match what its _complete row recorded: a lost or
        edited row would otherwise make a reader see part of a table as the whole. (Rows completed before
        _complete rows recorded their files are checked for what they state: files there, pages 1..n.)"""
        where = f"fetch {done.fetch_id} ({done.table_id}) in {self.manifest_path}"
        if not files:
            raise LandingError(f"{where}: marked complete, but the manifest lists none of its files")
        if done.files is not None and len(files) != done.files:
            raise LandingError(f"{where}: the manifest lists {len(files)} file(s), its _complete row recorded "
                               f"{done.files}; a manifest row was lost or added")
        if done.sha256 and fetch_digest(files) != done.sha256:
            raise LandingError(f"{where}: the manifest rows of its files (path, sha256, rows) differ from what its "
                               "_complete row recorded; a manifest row was edited")
        if done.data_entity is not None:
            _check_data_pages(files, done.data_entity, done.rows, where)
        for e in files:
            if not self.path_of(e.path).is_file():
                raise LandingError(f"{e.path}: listed for {where}, but the file is missing")
        return files

    def verified_path(self, entry: LandingEntry) -> Path:
        """The file of ``entry``, checked against the manifest's sha256 without holding it in memory: for
        readers that open landed files themselves (DuckDB's read_json over a fetch's pages)."""
        path = self.path_of(entry.path)
        digest = hashlib.sha256()
        with open(path, "rb") as raw, (gzip.open(raw) if entry.compression == "gzip" else contextlib.nullcontext(raw)) \
                as stream:
            try:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
            except (OSError, EOFError, zlib.error) as exc:  # only a gzip stream fails here: name the file
                raise _damaged(entry.path, exc) from None
        if digest.hexdigest() != entry.sha256:
            raise LandingError(f"{entry.path}: sha256 does not match the manifest (file changed or corrupt)")
        return path

    def read_bytes(self, entry: LandingEntry) -> bytes:
        """The file's bytes, checked against the manifest's sha256."""
        return self._read_verified(entry)[1]

    def _read_verified(self, entry: LandingEntry) -> tuple[bytes, bytes]:
        """(bytes as stored, possibly gzip; uncompressed content), read once and checked against the manifest."""
        stored = self.path_of(entry.path).read_bytes()
        content = _gunzip(stored, entry.path) if entry.compression == "gzip" else stored
        if hashlib.sha256(content).hexdigest() != entry.sha256:
            raise LandingError(f"{entry.path}: sha256 does not match the manifest (file changed or corrupt)")
        return stored, content

    def iter_table_ids(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for e in self.entries():
            seen.setdefault(e.table_id, None)
        yield from seen


class _SharedManifest:
    """One manifest's index and the lock that guards it, for all zones of its folder in a process (a manifest
    replaced, cut short or rewritten in place is noticed as one zone notices it: its file identity, its size and
    the last bytes read)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.index = _ManifestIndex()


_SHARED_MANIFESTS: weakref.WeakValueDictionary[str, _SharedManifest] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def _shared_manifest(manifest: Path) -> _SharedManifest:
    """The index of this manifest that zones alive in this process already hold, else a new one (a year of
    monthly fetches of 1,000 tables is 252,000 rows: 3.9 s to read, for each zone that read it anew)."""
    key = os.path.abspath(manifest)
    with _SHARED_LOCK:
        shared = _SHARED_MANIFESTS.get(key)
        if shared is None:
            shared = _SHARED_MANIFESTS[key] = _SharedManifest()
        return shared


class _ManifestIndex:
    """The manifest's rows read so far, and where reading stopped: only whole lines are consumed, each parsed as
    strictly as a full read parses it (a bad line raises every time it is read, naming file and line, and nothing
    after it is taken in). An unterminated last line counts only if it is a whole row (a crash between a row and
    its newline); the next append ends it or sets it aside."""

    _CHECKED_BYTES = 4096  # the bytes before ``offset`` compared on each refresh: a rewrite in place is noticed

    def __init__(self):
        self.whole: list[LandingEntry] = []
        self.by_path: dict[str, LandingEntry] = {}
        # positions in ``whole`` of each fetch's and each table's rows: a table's question costs its own rows, not
        # the manifest's (1,000 tables x a year of monthly fetches: 60 s of scans per build before)
        self.by_fetch: dict[str, list[int]] = {}
        self.by_table: dict[str, list[int]] = {}
        self.offset = 0
        self.lines = 0  # whole lines consumed, for line numbers in errors
        self.seen = b""  # the last bytes consumed (up to _CHECKED_BYTES), to notice a manifest rewritten in place
        self.identity: tuple[int, int] | None = None
        self.tail: LandingEntry | None = None

    def rows(self) -> list[LandingEntry]:
        return [*self.whole, self.tail] if self.tail is not None else list(self.whole)

    def of_fetch(self, fetch_id: str) -> list[LandingEntry]:
        return self._picked(self.by_fetch.get(fetch_id, []), lambda e: e.fetch_id == fetch_id)

    def of_tables(self, table_ids: set[str]) -> list[LandingEntry]:
        positions = sorted(i for t in table_ids for i in self.by_table.get(t, []))
        return self._picked(positions, lambda e: e.table_id in table_ids)

    def _picked(self, positions: list[int], matches: Callable[[LandingEntry], bool]) -> list[LandingEntry]:
        """The rows at these positions, in landing order, and the torn tail if it is one of them."""
        rows = [self.whole[i] for i in positions]
        return [*rows, self.tail] if self.tail is not None and matches(self.tail) else rows

    def find(self, path: str) -> LandingEntry | None:
        found = self.by_path.get(path)
        if found is None and self.tail is not None and self.tail.path == path:
            return self.tail
        return found

    def refresh(self, manifest: Path) -> _ManifestIndex:
        try:
            stat = manifest.stat()
        except FileNotFoundError:
            self.__init__()
            return self
        with open(manifest, "rb") as fh:
            if (stat.st_dev, stat.st_ino) != self.identity or not self._unchanged(fh, stat.st_size):
                self.__init__()  # replaced, cut short or rewritten: read it anew
                self.identity = (stat.st_dev, stat.st_ino)
            fh.seek(self.offset)
            data = fh.read() if stat.st_size > self.offset else b""
        end = data.rfind(b"\n") + 1  # a torn last line waits until it is whole
        self._take(manifest, data[:end])
        rest = data[end:]
        self.tail = None
        if rest.strip():
            with contextlib.suppress(LandingError):
                self.tail = _parse_line(rest, f"{manifest}, line {self.lines + 1}")
        return self

    def _unchanged(self, fh, size: int) -> bool:
        if size < self.offset:
            return False
        fh.seek(self.offset - len(self.seen))
        return fh.read(len(self.seen)) == self.seen

    def _take(self, manifest: Path, block: bytes) -> None:
        """Parse every line of ``block`` first, then take them in: a bad line leaves the index as it was."""
        lines = block.split(b"\n")[:-1]
        parsed = [_parse_line(line, f"{manifest}, line {n}")
                  for n, line in enumerate(lines, self.lines + 1) if line.strip()]
        for entry in parsed:
            self.by_fetch.setdefault(entry.fetch_id, []).append(len(self.whole))
            self.by_table.setdefault(entry.table_id, []).append(len(self.whole))
            self.whole.append(entry)
            if entry.path:
                self.by_path.setdefault(entry.path, entry)
        self.lines += len(lines)
        self.offset += len(block)
        self.seen = (self.seen + block)[-self._CHECKED_BYTES:]


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
    return hashlib.sha256(_gunzip(raw, str(path)) if compressed else raw).hexdigest()


def _gunzip(stored: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(stored)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile, a truncated stream, a bad checksum
        raise _damaged(name, exc) from None


def _damaged(name: str, exc: BaseException) -> LandingError:
    return LandingError(f"{name}: the gzip file is damaged and cannot be decompressed "
                        f"({type(exc).__name__}: {exc or 'ends early'})")


def _parse_line(line: bytes, where: str) -> LandingEntry:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LandingError(f"{where}: not UTF-8 (byte {line[exc.start]:#04x} at column {exc.start + 1})") from None
    return LandingEntry.from_json(text, where)


def _check_data_pages(files: list[LandingEntry], data_entity: str, rows: int | None, where: str) -> list[LandingEntry]:
    """The fetch's data pages are 1..n, once each, and their rows add up to ``rows`` (where both are known)."""
    pages = sorted((e for e in files if e.entity == data_entity), key=lambda e: e.page)
    numbers = [e.page for e in pages]
    if not pages:
        raise LandingError(f"{where}: no {data_entity} pages; a fetch without its data pages is not complete")
    if numbers != list(range(1, len(numbers) + 1)):
        raise LandingError(f"{where}: {data_entity} pages are {numbers}, not 1..{len(numbers)}")
    counted = [e.rows for e in pages]
    if rows is not None and None not in counted and sum(counted) != rows:
        raise LandingError(f"{where}: its {data_entity} pages hold {sum(counted):,} rows, its _complete row says "
                           f"{rows:,}")
    return pages


@contextlib.contextmanager
def _locked(fh):
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
