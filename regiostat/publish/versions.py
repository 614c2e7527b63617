"""The kept versions and the pointer that names the current one.

Every publish writes an immutable file ``warehouse/versions/regional-<stamp>.duckdb`` (never renamed
over, never written again) and then atomically replaces one small JSON file beside the published
path, ``warehouse/regional.current.json``, naming it. A reader that reads the pointer once and then
opens the version it names cannot see half of a swap: DuckDB opens a path more than once per connect,
and a file that is never replaced reads the same every time (``regiostat.connect()`` does this).

The pointer also records each kept version's build id and sha256, so a version that was changed
after publishing is recognised (rollback refuses it; health reports it).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from regiostat.publish import storage

POINTER_SUFFIX = ".current.json"
_FORMAT = 1


class PointerError(RuntimeError):
    """The pointer file exists but cannot be read as one."""


@dataclass(frozen=True)
class Version:
    """One published version: its file in versions/ and what was published in it."""

    file: str
    build_id: str
    sha256: str
    bytes: int
    published_at: str
    storage_version: str


@dataclass(frozen=True)
class Catalog:
    """What the pointer says: the current version's file name and every kept version (oldest first)."""

    current: str | None = None
    versions: tuple[Version, ...] = field(default_factory=tuple)

    def record(self, name: str) -> Version | None:
        return next((v for v in self.versions if v.file == name), None)

    def with_current(self, version: Version) -> Catalog:
        kept = tuple(v for v in self.versions if v.file != version.file) + (version,)
        return Catalog(version.file, tuple(sorted(kept, key=lambda v: v.file)))

    def keeping(self, names: set[str]) -> Catalog:
        return replace(self, versions=tuple(v for v in self.versions if v.file in names))


def versions_dir(publish_path: Path | str) -> Path:
    """Where the published versions kept for rollback live."""
    return Path(publish_path).parent / "versions"


def pointer_path(publish_path: Path | str) -> Path:
    """``warehouse/regional.current.json`` for ``warehouse/regional.duckdb``."""
    path = Path(publish_path)
    return path.parent / f"{path.stem}{POINTER_SUFFIX}"


def version_name(publish_path: Path | str, stamp: str) -> str:
    path = Path(publish_path)
    return f"{path.stem}-{stamp}{path.suffix}"


def list_versions(publish_path: Path | str) -> list[Path]:
    """The version files in versions/, oldest first (their names sort by publish time)."""
    path = Path(publish_path)
    return sorted(versions_dir(path).glob(f"{path.stem}-*{path.suffix}"))


def read_catalog(publish_path: Path | str) -> Catalog | None:
    """The pointer's catalog; None when there is no pointer (nothing published yet, or a warehouse
    published by a regiostat from before pointers)."""
    pointer = pointer_path(publish_path)
    try:
        data = json.loads(pointer.read_text())
        versions = tuple(Version(**v) for v in data["versions"])
        current = data["current"]["file"] if data.get("current") else None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PointerError(f"{pointer}: not a version pointer ({type(exc).__name__}: {exc})") from exc
    return Catalog(current, versions)


def write_catalog(publish_path: Path | str, catalog: Catalog, *, temp_name: str) -> None:
    """Replace the pointer atomically (a reader reads the old one or the new one, never a mix)."""
    pointer = pointer_path(publish_path)
    current = catalog.record(catalog.current) if catalog.current else None
    body = {"format": _FORMAT, "current": asdict(current) if current else None,
            "versions": [asdict(v) for v in catalog.versions]}
    temp = pointer.parent / temp_name
    temp.write_text(json.dumps(body, indent=1) + "\n")
    storage.fsync_file(temp)
    os.replace(temp, pointer)
    storage.fsync_dir(pointer.parent)


def current_file(publish_path: Path | str) -> Path | None:
    """The version file the pointer names now (read once), or None without a pointer."""
    catalog = read_catalog(publish_path)
    if catalog is None or catalog.current is None:
        return None
    return versions_dir(publish_path) / catalog.current
