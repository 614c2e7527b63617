"""The published file against careless writers, dead writers' sidecars, killed publishes and readers
connecting in the middle of a publish (issue 13 part 4).

Each fault is injected for real: a process opens the published file in WRITE mode (in this process, or
a child that is then killed with kill -9 so its ``.wal`` stays behind), a publish is killed between its
renames, a kept version is edited, and a publisher publishes over and over while this process connects.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from regiostat import connect
from regiostat.publish import release
from regiostat.publish.health import check_warehouse
from regiostat.publish.release import PublishError, publish, rollback
from regiostat.publish.storage import sha256_file
from regiostat.publish.versions import list_versions, read_catalog, versions_dir
from tests.conftest import MARTS
from tests.faults.helpers import (
    PUBLISHED,
    fact_rows_lost,
    finish,
    kill9,
    kill_when,
    published_state,
    start_child,
    wait_for,
)

CR08 = "SELECT region_name FROM core.dim_region WHERE region_code = 'CR08'"
HACK = "UPDATE core.dim_region SET region_name = 'HACKED' WHERE region_code = 'CR08'"


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def _plain(path: Path, sql: str):
    """What a third-party reader of the plain path sees (a new process would see the same)."""
    return _one(duckdb.connect(str(path), read_only=True), sql)


def _via_pointer(path: Path, sql: str):
    return _one(connect(path), sql)


def _restamp(build_db: Path, build_id: str) -> None:
    con = duckdb.connect(str(build_db))
    try:
        con.execute("UPDATE meta.build_info SET build_id = ?", [build_id])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _publish_again(home: Path, build_id: str) -> release.Published:
    build_db = home / "build" / "regional_build.duckdb"
    _restamp(build_db, build_id)
    return publish(build_db, home / PUBLISHED)


def _failures(report) -> dict[str, str]:
    return {f.check: f.detail for f in report.findings if not f.ok}


def _versions_match_their_records(published: Path) -> bool:
    catalog = read_catalog(published)
    return all(sha256_file(versions_dir(published) / v.file) == v.sha256 for v in catalog.versions)


def test_a_writer_on_the_published_file_changes_no_kept_version_and_rollback_restores_the_original(
        baseline_home, fault_ledger):
    home = baseline_home
    published = home / PUBLISHED
    first = published_state(home)
    _publish_again(home, "second-build")
    second = published_state(home)
    name_before = _plain(published, CR08)

    con = duckdb.connect(str(published))  # write mode, as a careless tool opens it
    con.execute(HACK)
    con.execute("CHECKPOINT")
    con.close()

    # the kept versions are separate files: byte for byte what was published
    assert _versions_match_their_records(published)
    assert _plain(published, CR08) == "HACKED"  # the plain copy holds the edit ...
    assert _via_pointer(published, CR08) == name_before  # ... readers through the pointer never see it
    report = check_warehouse(published, expected_marts=MARTS)
    assert "plain file is the current version" in _failures(report), report.text()

    # rollback restores the original of the earlier build, and the original of the current one on request
    rollback(published)
    assert (_plain(published, "SELECT build_id FROM meta.build_info"), _plain(published, CR08)) == (
        first.build_id, name_before)
    current = read_catalog(published).record(read_catalog(published).current)
    rollback(published, list_versions(published)[-1])
    assert _plain(published, "SELECT build_id FROM meta.build_info") == second.build_id
    assert _plain(published, CR08) == name_before and current.build_id == first.build_id
    assert check_warehouse(published, expected_marts=MARTS).ok
    fault_ledger.record(fault="a process writes to the published file (write mode, CHECKPOINT)", outcome="survived",
                        rows_lost=fact_rows_lost(second, home),
                        detail="kept versions unchanged; health names the edit; rollback restores the original")


def test_a_live_writer_stops_the_publish_and_its_wal_is_quarantined_once_it_is_dead(baseline_home, tmp_path,
                                                                                   fault_ledger):
    home = baseline_home
    published = home / PUBLISHED
    before, pointer_before = published_state(home), read_catalog(published)
    name_before = _plain(published, CR08)
    marker = tmp_path / "writer.marker"
    writer = start_child("writer", "--path", str(published), "--sql", HACK, "--marker", str(marker),
                         log_dir=tmp_path / "logs")
    try:
        wait_for(marker.exists, what="the writer's change", timeout=60, proc=writer)
        wal = published.with_name(published.name + ".wal")
        assert wal.is_file()
        failed = _failures(check_warehouse(published, expected_marts=MARTS))
        assert str(writer.pid) in failed["no writer"] and "regional.duckdb.wal" in failed["no sidecar files"]

        with pytest.raises(PublishError, match=rf"open for writing by process {writer.pid}.*Nothing was changed"):
            _publish_again(home, "refused-build")
        # (the writer's lock keeps plain-path readers out entirely; readers through the pointer are unaffected)
        assert _via_pointer(published, "SELECT build_id FROM meta.build_info") == before.build_id
        assert (published.stat().st_ino, read_catalog(published)) == (before.inode, pointer_before)
        assert tuple(p.name for p in versions_dir(published).iterdir()) == before.versions
    finally:
        kill9(writer)
    fault_ledger.record(fault="publish while a process holds the published file open for writing",
                        outcome="refused", rows_lost=fact_rows_lost(before, home),
                        detail="names the pid; file, pointer and versions unchanged")

    wal_bytes = wal.read_bytes()  # what the dead writer left: its change, replayed by whoever opens the path next
    result = _publish_again(home, "after-the-writer")
    (said,) = result.repaired
    (kept,) = (published.parent / "quarantine").iterdir()
    assert "regional.duckdb.wal" in said and str(kept) in said and kept.read_bytes() == wal_bytes
    assert not wal.exists()
    assert _plain(published, "SELECT build_id FROM meta.build_info") == "after-the-writer"
    assert _plain(published, CR08) == _via_pointer(published, CR08) == name_before  # the edit is replayed nowhere
    assert check_warehouse(published, expected_marts=MARTS).ok
    fault_ledger.record(fault="kill -9 of a process writing to the published file (.wal left beside it)",
                        outcome="survived", rows_lost=fact_rows_lost(before, home),
                        files_lost=0 if kept.read_bytes() == wal_bytes else 1,
                        detail="the next publish moved the .wal to warehouse/quarantine/ and said so")


def test_a_publish_killed_between_the_pointer_and_the_plain_path(baseline_home, tmp_path, fault_ledger):
    home = baseline_home
    published = home / PUBLISHED
    before = published_state(home)
    _restamp(home / "build" / "regional_build.duckdb", "pointer-only")
    marker = tmp_path / "plain.marker"
    child = start_child("publish", "--build", str(home / "build" / "regional_build.duckdb"),
                        "--publish", str(published), "--lock", str(home / "build" / "run.lock"),
                        "--hang-at", "publish-plain", "--marker", str(marker), log_dir=tmp_path / "logs")
    kill_when(child, marker.exists, what="the rename of the plain path", timeout=60)

    # both kinds of reader get a whole, valid build: the pointer's readers the new one, the plain path the old
    assert _via_pointer(published, "SELECT build_id FROM meta.build_info") == "pointer-only"
    assert published_state(home).build_id == before.build_id
    report = check_warehouse(published, expected_marts=MARTS)
    assert set(_failures(report)) == {"plain file is the current version"}, report.text()

    result = _publish_again(home, "next-build")  # the next publish puts both in step
    assert published_state(home).build_id == "next-build" == result.build_id
    assert check_warehouse(published, expected_marts=MARTS).ok
    fault_ledger.record(fault="kill -9 during publish: pointer renamed, plain path not yet", outcome="failed cleanly",
                        rows_lost=fact_rows_lost(before, home),
                        detail="each reader saw a whole build; health named the gap; next publish closed it")


def test_an_edited_version_is_never_rolled_back_to(baseline_home, fault_ledger):
    home = baseline_home
    published = home / PUBLISHED
    _publish_again(home, "second-build")
    state, pointer = published_state(home), read_catalog(published)
    older = list_versions(published)[0]
    older.chmod(0o644)  # root ignores the 0444 anyway; a writer who means it gets through
    con = duckdb.connect(str(older))
    con.execute(HACK)
    con.execute("CHECKPOINT")
    con.close()

    with pytest.raises(PublishError, match="changed after it was published"):
        rollback(published)
    assert (published_state(home), read_catalog(published)) == (state, pointer)
    fault_ledger.record(fault="a process writes to a kept version in warehouse/versions/", outcome="refused",
                        rows_lost=fact_rows_lost(state, home), detail="rollback checks the sha256 the pointer recorded")


# -- readers connecting while the warehouse is published over and over -------------------------------

FACTS = {"build-a": 3, "build-b": 5}  # a build's fact rows: a reader that mixed two files would not match


def _tiny_build(path: Path, build_id: str) -> Path:
    """A warehouse with just the tables publish() requires (a publish of it takes ~0.2 s, not ~1.5 s)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA core; CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.build_info (build_id VARCHAR, built_at TIMESTAMP, schema_version INTEGER)")
        con.execute("INSERT INTO meta.build_info VALUES (?, TIMESTAMP '2026-01-01', 3)", [build_id])
        con.execute("CREATE TABLE core.dim_region (region_code VARCHAR PRIMARY KEY, region_name VARCHAR)")
        con.execute("INSERT INTO core.dim_region VALUES ('NL01', 'Nederland')")
        con.execute("CREATE TABLE core.dim_period (period_code VARCHAR PRIMARY KEY)")
        con.execute("INSERT INTO core.dim_period VALUES ('2020JJ00')")
        con.execute("CREATE TABLE core.fact_observation AS SELECT 'NL01' AS region_code, '2020JJ00' AS period_code, "
                    "range::DOUBLE AS value FROM range(?)", [FACTS[build_id]])
    finally:
        con.close()
    return path


def _read_once(open_connection) -> str:
    con = open_connection()
    try:
        build_id, facts = con.execute("SELECT (SELECT build_id FROM meta.build_info), "
                                      "(SELECT count(*) FROM core.fact_observation)").fetchone()
    finally:
        con.close()
    assert facts == FACTS[build_id], f"{build_id} with {facts} fact rows: two builds mixed"
    return build_id


def test_readers_through_connect_never_fail_across_repeated_publishes(tmp_path, fault_ledger):
    """A publisher publishes two builds in turn, PUBLISHES times, as fast as it can; this process connects
    through regiostat.connect() (and, for the record only, through the plain path) until it is done."""
    builds = [_tiny_build(tmp_path / f"{b}.duckdb", b) for b in FACTS]
    published = tmp_path / "warehouse" / "regional.duckdb"
    publish(builds[0], published, keep=3)
    progress = tmp_path / "progress"
    publishes = 12
    child = start_child("publish-loop", "--builds", *map(str, builds), "--publish", str(published),
                        "--lock", str(tmp_path / "run.lock"), "--count", str(publishes), "--keep", "3",
                        "--progress", str(progress), log_dir=tmp_path / "logs")
    seen: dict[str, int] = {}
    failed: list[str] = []
    plain = {"opens": 0, "failed": 0}
    try:
        while child.poll() is None:
            try:
                build = _read_once(lambda: connect(published))
                seen[build] = seen.get(build, 0) + 1
            except duckdb.Error as exc:
                failed.append(f"{type(exc).__name__}: {exc}")
            try:
                plain["opens"] += 1
                _read_once(lambda: duckdb.connect(str(published), read_only=True))
            except duckdb.Error:
                plain["failed"] += 1
        code, _, err = finish(child)
    finally:
        if child.poll() is None:
            kill9(child)
    assert code == 0, err[-3000:]
    assert progress.read_text() == str(publishes)
    connects = sum(seen.values()) + len(failed)
    assert failed == [], f"{len(failed)} of {connects} connects failed: {failed[:3]}"
    assert set(seen) == set(FACTS), seen  # the reads overlapped the publishes: both builds were current in turn
    assert len(list_versions(published)) == 3
    fault_ledger.record(fault=f"reader connects during {publishes} back-to-back publishes", outcome="survived",
                        detail=f"regiostat.connect(): {connects} connects, 0 failed; plain path: "
                               f"{plain['failed']} of {plain['opens']} opens failed")
