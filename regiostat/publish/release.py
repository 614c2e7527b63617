"""Publish the build database as the read-only warehouse readers open; roll back to a kept version.

Write-audit-publish: the pipeline writes only its private build file; after every blocking check has
passed, ``publish`` writes an immutable version (``versions/regional-<stamp>.duckdb``, in a storage
format DuckDB 1.x reads, compared with the build row by row), then commits in two atomic renames:

1. the pointer ``regional.current.json`` names the new version: ``regiostat.connect()`` and
   ``regiostat query`` resolve it once and open that file, so they never see half of a swap;
2. an independent copy (a reflink where the filesystem can, never a hard link) replaces
   ``regional.duckdb`` for readers that open the plain path.

Before that it moves stale sidecars (a dead writer's ``.wal``) out of the way, or refuses while a
writer holds the published file; after it, the published PATH is opened read-only and checked. A
reader that already has a file open keeps its snapshot (the old inode). The last ``keep`` versions
stay for rollback, which moves the pointer back and copies that version to the plain path again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regiostat.publish import sidecars, storage
from regiostat.publish.versions import (
    Catalog,
    PointerError,
    Version,
    current_file,
    list_versions,
    pointer_path,
    read_catalog,
    version_name,
    versions_dir,
    write_catalog,
)
from regiostat.warehouse import present_tables, row_count

__all__ = ["REQUIRED_TABLES", "PublishError", "Published", "list_versions", "publish", "rollback", "verify",
           "versions_dir", "stale_candidates", "remove_stale_candidates", "quarantine_dir"]

REQUIRED_TABLES = ("core.fact_observation", "core.dim_region", "core.dim_period", "meta.build_info")


class PublishError(RuntimeError):
    """Publishing or rolling back was refused or failed; the message says what was left as it was."""


@dataclass(frozen=True)
class Published:
    path: Path
    version_path: Path
    fact_rows: int
    build_id: str = ""
    storage_version: str = storage.STORAGE_VERSION
    repaired: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Staged:
    """A verified version and its plain-path copy, both still under temporary names."""

    version: Path
    plain: Path
    record: Version
    fact_rows: int


def publish(build_path: Path, publish_path: Path, *, keep: int = 5,
            duckdb_config: dict[str, object] | None = None) -> Published:
    """Write, check and swap in a new version of ``build_path`` (module docstring); ``duckdb_config``: settings of
    the connection that writes it (memory_limit, threads)."""
    build_path, publish_path = Path(build_path), Path(publish_path)
    versions_dir(publish_path).mkdir(parents=True, exist_ok=True)
    remove_stale_candidates(publish_path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version_tmp, plain_tmp = _candidate(publish_path, stamp), _candidate(publish_path, f"{stamp}.plain")
    try:
        try:
            storage.write_version(build_path, version_tmp, config=duckdb_config)
        except (storage.CopyMismatch, duckdb.Error) as exc:
            raise PublishError(f"the build could not be written as a version: {exc}") from exc
        name = version_name(publish_path, stamp)
        staged = _stage(version_tmp, plain_tmp, name)
        repaired = _clear_path(publish_path, stamp)
        _commit(publish_path, staged, versions_dir(publish_path) / name)
    finally:
        version_tmp.unlink(missing_ok=True)
        plain_tmp.unlink(missing_ok=True)
    check_published(publish_path, staged.record)
    prune_versions(publish_path, keep=keep)
    return Published(publish_path, versions_dir(publish_path) / name, staged.fact_rows, staged.record.build_id,
                     staged.record.storage_version, tuple(repaired))


def rollback(publish_path: Path, version: Path | str | None = None) -> Path:
    """Make an earlier kept version current again (default: the one published before the current one):
    the pointer moves back and the plain path gets a fresh copy of it, by the same checked renames."""
    publish_path = Path(publish_path)
    catalog = _catalog(publish_path)
    target = _rollback_target(publish_path, catalog, version)
    record = catalog.record(target.name)
    if record is not None and storage.sha256_file(target) != record.sha256:
        raise PublishError(f"{target} changed after it was published (its sha256 is not the one recorded in "
                           f"{_pointer_name(publish_path)}); refusing to roll back to it, nothing was changed")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    plain_tmp = _candidate(publish_path, f"{stamp}.rollback")
    try:
        staged = _stage(target, plain_tmp, target.name, record=record)
        _clear_path(publish_path, stamp)
        _commit(publish_path, staged, target)
    finally:
        plain_tmp.unlink(missing_ok=True)
    check_published(publish_path, staged.record)
    return target


def _stage(version_file: Path, plain_tmp: Path, name: str, *, record: Version | None = None) -> _Staged:
    """Check a version file and make the plain path's copy of it (still under temporary names)."""
    fact_rows, build_id = verify(version_file)
    if record is None:
        record = Version(file=name, build_id=build_id, sha256=storage.sha256_file(version_file),
                         bytes=version_file.stat().st_size,
                         published_at=datetime.now(UTC).isoformat(timespec="seconds"),
                         storage_version=storage.STORAGE_VERSION)
    storage.clone_file(version_file, plain_tmp)
    if storage.sha256_file(plain_tmp) != record.sha256:
        raise PublishError(f"the copy {plain_tmp.name} does not match {version_file.name} byte for byte; "
                           "nothing was changed")
    return _Staged(version_file, plain_tmp, record, fact_rows)


def _clear_path(publish_path: Path, stamp: str) -> list[str]:
    try:
        return sidecars.clear_beside(publish_path, quarantine_dir(publish_path), stamp)
    except sidecars.WriterActive as exc:
        raise PublishError(str(exc)) from exc


def _commit(publish_path: Path, staged: _Staged, version_path: Path) -> None:
    """The renames that publish: the version into versions/ (if new), the pointer, then the plain path."""
    if staged.version != version_path:
        os.chmod(staged.version, 0o444)  # a version is never written again
        os.replace(staged.version, version_path)
        storage.fsync_dir(version_path.parent)
    catalog = _catalog(publish_path).with_current(staged.record)
    write_catalog(publish_path, catalog, temp_name=_candidate(publish_path, "pointer").name)
    os.replace(staged.plain, publish_path)
    storage.fsync_dir(publish_path.parent)


def check_published(publish_path: Path, record: Version) -> None:
    """Open the published PATH read-only, as a reader would, and check it holds ``record``'s build with no
    sidecar beside it; and that the pointer names ``record``."""
    problems = [f"{sidecars.describe(p)} appeared beside it" for p in sidecars.sidecars(publish_path)]
    try:
        _, build_id = verify(publish_path)
        if build_id != record.build_id:
            problems.append(f"it reads as build {build_id}")
    except PublishError as exc:
        problems.append(str(exc))
    if current_file(publish_path) != versions_dir(publish_path) / record.file:
        problems.append(f"{_pointer_name(publish_path)} does not name {record.file}")
    if problems:
        raise PublishError(f"after publishing build {record.build_id}, {publish_path} failed its read-back: "
                           + "; ".join(problems) + " (`regiostat health` shows the state; publishing again "
                           "repairs it)")


def verify(path: Path) -> tuple[int, str]:
    """Open read-only and check the tables readers rely on; returns (fact rows, build id)."""
    try:
        con = storage.attach_read_only(path)
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
        build = con.execute("SELECT build_id FROM meta.build_info").fetchall()
        if len(build) != 1:
            raise PublishError(f"{path}: meta.build_info has {len(build)} rows, expected 1")
        return rows, str(build[0][0])
    finally:
        con.close()


def quarantine_dir(publish_path: Path | str) -> Path:
    """Where stale sidecars of the published file are moved (kept for inspection, never deleted)."""
    return Path(publish_path).parent / "quarantine"


def stale_candidates(publish_path: Path) -> list[Path]:
    """The temporary files next to the published file that a killed publish or rollback left behind."""
    return sorted(Path(publish_path).parent.glob(f".{Path(publish_path).name}.*"))


def remove_stale_candidates(publish_path: Path) -> None:
    """Delete the stale candidates; callers hold the run lock, so none is in use."""
    for path in stale_candidates(publish_path):
        path.unlink(missing_ok=True)


def prune_versions(publish_path: Path, *, keep: int) -> None:
    """Delete the oldest versions beyond ``keep`` (0: keep all), never the current one, and drop them from
    the pointer."""
    publish_path = Path(publish_path)
    catalog = _catalog(publish_path)
    files = list_versions(publish_path)
    old = [f for f in files if f.name != catalog.current][: max(len(files) - keep, 0)] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    if old:
        kept = {f.name for f in files} - {f.name for f in old}
        write_catalog(publish_path, catalog.keeping(kept), temp_name=_candidate(publish_path, "pointer").name)


def _catalog(publish_path: Path) -> Catalog:
    """The pointer's catalog; for a warehouse published before pointers, the version files with the one
    the plain path is a hard link of as current (their hashes unknown)."""
    try:
        catalog = read_catalog(publish_path)
    except PointerError as exc:
        raise PublishError(str(exc)) from exc
    if catalog is not None:
        return catalog
    files = list_versions(publish_path)
    current = next((f.name for f in files if publish_path.exists() and os.path.samefile(f, publish_path)), None)
    return Catalog(current, ())


def _rollback_target(publish_path: Path, catalog: Catalog, version: Path | str | None) -> Path:
    files = list_versions(publish_path)
    if version is not None:
        name = Path(version).name
        if name not in {f.name for f in files}:
            raise PublishError(f"{name} is not a kept version in {versions_dir(publish_path)} "
                               "(`regiostat rollback --list` shows them)")
        return versions_dir(publish_path) / name
    earlier = [f for f in files if catalog.current is None or f.name < catalog.current]
    if not earlier:
        where = f"{catalog.current} is the oldest of the {len(files)} kept" if files else "no version is kept"
        raise PublishError(f"no earlier published version to roll back to: {where}")
    return earlier[-1]


def _candidate(publish_path: Path, tag: str) -> Path:
    return publish_path.parent / f".{publish_path.name}.{tag}.tmp"


def _pointer_name(publish_path: Path) -> str:
    return pointer_path(publish_path).name
