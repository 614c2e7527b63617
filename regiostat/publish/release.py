"""Publish the build database as the read-only warehouse readers open.

Write-audit-publish: the pipeline writes only its private build file; after every
blocking check has passed, a copy is verified and atomically renamed over the published
file. A reader that already has the old file open keeps its snapshot (the old inode);
new connections see the new version. The last ``keep`` versions stay in ``versions/``
for rollback.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regiostat.warehouse import present_tables, row_count

REQUIRED_TABLES = ("core.fact_observation", "core.dim_region", "core.dim_period", "meta.build_info")


class PublishError(RuntimeError):
    """The candidate warehouse failed verification; the published file was left untouched."""


@dataclass(frozen=True)
class Published:
    path: Path
    version_path: Path
    fact_rows: int


def publish(build_path: Path, publish_path: Path, *, keep: int = 5) -> Published:
    build_path, publish_path = Path(build_path), Path(publish_path)
    publish_path.parent.mkdir(parents=True, exist_ok=True)
    versions = versions_dir(publish_path)
    versions.mkdir(exist_ok=True)
    remove_stale_candidates(publish_path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    candidate = publish_path.parent / f".{publish_path.name}.{stamp}.tmp"
    try:
        shutil.copyfile(build_path, candidate)
        _fsync(candidate)
        fact_rows = verify(candidate)
        os.replace(candidate, publish_path)
        _fsync_dir(publish_path.parent)
        # Only a file that was published is listed as a version (a kill before this line lists nothing).
        version_path = versions / f"{publish_path.stem}-{stamp}{publish_path.suffix}"
        os.link(publish_path, version_path)
    finally:
        candidate.unlink(missing_ok=True)
    prune_versions(versions, publish_path, keep=keep)
    return Published(publish_path, version_path, fact_rows)


def stale_candidates(publish_path: Path) -> list[Path]:
    """The ``.tmp`` copies next to the published file that a publish or rollback killed mid-way left behind."""
    return sorted(Path(publish_path).parent.glob(f".{Path(publish_path).name}.*.tmp"))


def remove_stale_candidates(publish_path: Path) -> None:
    """Delete the stale candidates; callers hold the run lock, so none is in use."""
    for path in stale_candidates(publish_path):
        path.unlink(missing_ok=True)


def verify(path: Path) -> int:
    """Open read-only and check the tables readers rely on; returns the fact row count."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise PublishError(f"{path}: not a readable DuckDB file: {exc}") from exc
    try:
        present = present_tables(con)
        missing = [t for t in REQUIRED_TABLES if t not in present]
        if missing:
            raise PublishError(f"{path}: missing table(s) {missing}")
        rows = row_count(con, "core.fact_observation")
        if rows == 0:
            raise PublishError(f"{path}: core.fact_observation is empty")
        return rows
    finally:
        con.close()


def versions_dir(publish_path: Path) -> Path:
    """Where the published versions kept for rollback live."""
    return Path(publish_path).parent / "versions"


def list_versions(publish_path: Path) -> list[Path]:
    return sorted(versions_dir(publish_path).glob(f"{Path(publish_path).stem}-*{Path(publish_path).suffix}"))


def prune_versions(versions: Path, publish_path: Path, *, keep: int) -> None:
    for old in list_versions(publish_path)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)


def rollback(publish_path: Path, version: Path | None = None) -> Path:
    """Put an earlier version back (default: the newest kept version that is not the one published now)
    by the same verified, atomic rename."""
    publish_path = Path(publish_path)
    if version is None:
        earlier = [v for v in list_versions(publish_path)
                   if not (publish_path.exists() and os.path.samefile(v, publish_path))]
        if not earlier:
            raise PublishError("no earlier published version to roll back to")
        version = earlier[-1]
    verify(version)
    candidate = publish_path.parent / f".{publish_path.name}.rollback.tmp"
    shutil.copyfile(version, candidate)
    _fsync(candidate)
    os.replace(candidate, publish_path)
    _fsync_dir(publish_path.parent)
    return version


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
