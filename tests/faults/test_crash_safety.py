"""kill -9 at the worst moments: mid-fetch, mid-write of a landing file, mid-transaction, mid-publish.

After every kill: the published warehouse opens and passes check_warehouse at the previous build;
every manifest entry reads back with its sha256; an interrupted fetch has no ``_complete``; stray
``.tmp`` files are ignored; the run lock is free; and the next normal run succeeds with no cleanup.
Each child writes a marker file at the hook point and the test kills only after seeing it, so the
kill always lands where the test says it does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from regiostat import connect
from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from regiostat.publish.health import check_warehouse
from regiostat.publish.release import list_versions
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.fetch import fetch_v4_table
from tests.cbs_http_server import V3_API, V3_FEED, V4, Fault
from tests.conftest import MARTS, PATHS, run_full_refresh
from tests.faults.helpers import (
    PUBLISHED,
    child_env,
    fact_rows_lost,
    files_lost,
    kill_when,
    landing_snapshot,
    lock_is_free,
    published_state,
    start_child,
    verify_landing,
)

TABLE = "03759NED"
OBS = f"{V4}/{TABLE}/Observations"


def live_env(server) -> dict[str, str]:
    """Live mode against the local CBS test server (settings_from_env reads these names)."""
    return child_env(REGIOSTAT_MODE="live", REGIOSTAT_CBS_V4_BASE=f"{server.base_url}{V4}",
                     REGIOSTAT_CBS_V3_API_BASE=f"{server.base_url}{V3_API}",
                     REGIOSTAT_CBS_V3_FEED_BASE=f"{server.base_url}{V3_FEED}")


def assert_survived_kill(home: Path, before, landed_before: dict[str, bytes]) -> tuple[int, int]:
    """The checks every kill must pass; returns (rows lost, files lost) for the ledger."""
    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)
    assert report.ok, report.text()
    after = published_state(home)
    assert (after.inode, after.build_id, after.fact_rows) == (before.inode, before.build_id, before.fact_rows)
    con = connect(home / PUBLISHED)  # readers through the pointer see the same build
    try:
        assert con.execute("SELECT build_id FROM meta.build_info").fetchone()[0] == before.build_id
    finally:
        con.close()
    lost = files_lost(home, landed_before)
    assert lost == [], f"landed files changed or gone: {lost}"
    verify_landing(home)
    assert lock_is_free(home), "the killed run's lock is still held"
    return fact_rows_lost(before, home), len(lost)


def _fetch_entries(home: Path, fetch_id: str):
    return [e for e in LandingZone(home / "landing").entries() if e.fetch_id == fetch_id]


def _count(db: Path, table: str) -> int:
    con = duckdb.connect(str(db))  # read-write on purpose: opening replays/discards what the killed writer left
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    finally:
        con.close()


def _stamp_build(build_db: Path, build_id: str) -> None:
    con = duckdb.connect(str(build_db))
    try:
        con.execute("UPDATE meta.build_info SET build_id = ?", [build_id])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _publish_child(home: Path, tmp_path: Path, hook: str) -> None:
    """publish() in a child holding the run lock, killed at ``hook`` (cheap: no Dagster import needed)."""
    marker = tmp_path / f"{hook}.marker"
    child = start_child("publish", "--build", str(home / "build" / "regional_build.duckdb"),
                        "--publish", str(home / PUBLISHED), "--lock", str(home / "build" / "run.lock"),
                        "--hang-at", hook, "--marker", str(marker), log_dir=tmp_path / "logs")
    kill_when(child, marker.exists, what=hook, timeout=30)


def _killed_build(warm_pool, home: Path, tmp_path: Path, hook: str | None = None, *,
                  env: dict[str, str] | None = None, until=None, what: str = "", force: bool = False) -> None:
    """A full ``regiostat build`` in a child, SIGKILLed once ``until()`` holds, or once it reached ``hook``
    (``force``: every layer rebuilt even where nothing changed)."""
    args = ["build", "--home", str(home), *(["--force"] if force else [])]
    if hook:
        marker = tmp_path / f"{hook.replace(':', '_')}.marker"
        args += ["--hang-at", hook, "--marker", str(marker)]
        until, what = marker.exists, what or hook
    kill_when(warm_pool.take().start(*args, env=env), until, what=what)


def test_kill9_at_every_stage_leaves_readers_and_landing_intact_and_the_next_run_recovers(
        baseline_home, tmp_path, cbs_server_factory, make_client, warm_pool, fault_ledger):
    """Five kills in a row on one home (each checked on its own), then one normal run, then a resume.

    (One home for all five keeps the suite fast, and makes the last run recover from all debris at once:
    a half-written landing file, an interrupted fetch, a killed transaction, two stray publish candidates.)
    """
    home = baseline_home
    server = cbs_server_factory(v4_pages=3)
    before, landed_before = published_state(home), landing_snapshot(home)
    zone = LandingZone(home / "landing")
    bundled_fetches = set(zone.complete_fetches(TABLE))

    # 1. live run killed while page 2 of 03759NED's observations is on the wire (the server stalls it)
    server.always(OBS, Fault.slow(60), page=2)
    _killed_build(warm_pool, home, tmp_path, env=live_env(server), what="the request for page 2",
                  until=lambda: any(r.page == 2 for r in server.requests_to(OBS)))
    rows_lost, n_lost = assert_survived_kill(home, before, landed_before)
    (partial,) = {e.fetch_id for e in zone.entries() if e.table_id == TABLE} - bundled_fetches
    entries = _fetch_entries(home, partial)
    assert [e.page for e in entries if e.entity == "Observations"] == [1]  # page 1 landed before the kill
    assert not any(e.entity == COMPLETE_ENTITY for e in entries)
    assert set(zone.complete_fetches(TABLE)) == bundled_fetches  # downstream still reads the old capture
    fault_ledger.record(fault="kill -9 during live fetch (page 2 of 3 on the wire)", outcome="failed cleanly",
                        rows_lost=rows_lost, files_lost=n_lost, detail="page 1 kept; fetch stays incomplete")
    server.clear_faults()

    # 2. the next live run resumes at page 2 and is killed half-way through writing it into the landing zone
    seen = len(server.log)
    _killed_build(warm_pool, home, tmp_path, "landing-write:Observations-p00002.json", env=live_env(server))
    rows_lost, n_lost = assert_survived_kill(home, before, landed_before)
    assert [r.page for r in server.log[seen:] if r.path == OBS] == [2]  # resumed: page 1 not asked again
    entries = _fetch_entries(home, partial)
    assert [e.page for e in entries if e.entity == "Observations"] == [1]
    assert not any(e.entity == COMPLETE_ENTITY for e in entries)
    (half,) = (home / "landing").rglob(".Observations-p00002.json.*.tmp")
    assert half.stat().st_size > 0 and half.parent.name == partial
    # there, and listed nowhere; tables land two at a time, so the other table's file in flight may be a stray too
    assert verify_landing(home)["stray_files"] in (1, 2)
    fault_ledger.record(fault="kill -9 half-way through writing a landing file", outcome="failed cleanly",
                        rows_lost=rows_lost, files_lost=n_lost, detail="half file left as .tmp, never listed")

    # 3. a (bundled) run that rebuilds every layer, killed inside the transaction that stages every table again
    build_db = home / "build" / "regional_build.duckdb"
    staged_before = _count(build_db, "staging.observations")
    _killed_build(warm_pool, home, tmp_path, "stage-rows:staging.observations", force=True)
    rows_lost, n_lost = assert_survived_kill(home, before, landed_before)
    assert _count(build_db, "staging.observations") == staged_before  # the file opens; the DELETE is gone
    fault_ledger.record(fault="kill -9 inside the staging.observations transaction", outcome="failed cleanly",
                        rows_lost=rows_lost, files_lost=n_lost, detail="uncommitted DELETE+INSERT rolled back")

    # 4. publish killed while the plain path's copy of the verified version is half written
    _stamp_build(home / "build" / "regional_build.duckdb", "candidate-never-published")
    strays = lambda: sorted((home / "warehouse").glob(".regional.duckdb.*.tmp"))  # noqa: E731
    _publish_child(home, tmp_path, "publish-copy")
    rows_lost, n_lost = assert_survived_kill(home, before, landed_before)
    assert published_state(home).versions == before.versions
    half, version_candidate = strays()  # the half copy (.<stamp>.plain.tmp) and the version it copies (.<stamp>.tmp)
    assert half.name.endswith(".plain.tmp") and half.stat().st_size < version_candidate.stat().st_size
    fault_ledger.record(fault="kill -9 during publish: candidate half copied", outcome="failed cleanly",
                        rows_lost=rows_lost, files_lost=n_lost, detail="stray .tmp ignored by readers and health")

    # 5. publish killed after the candidate was verified, before the renames; it first removed the strays of 4
    _publish_child(home, tmp_path, "publish-rename")
    rows_lost, n_lost = assert_survived_kill(home, before, landed_before)
    assert len(strays()) == 2 and half not in strays() and version_candidate not in strays()
    fault_ledger.record(fault="kill -9 during publish: between verify and rename", outcome="failed cleanly",
                        rows_lost=rows_lost, files_lost=n_lost, detail="published file, pointer and versions/ "
                        "untouched; the previous stray copies were removed by this publish")

    # 6. the next normal run succeeds with no cleanup, among all that debris, and publishes
    result = run_full_refresh(home)
    assert result.success
    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)
    assert report.ok and report.build_id == result.run_id, report.text()
    assert fact_rows_lost(before, home) == 0
    assert files_lost(home, landed_before) == [] and lock_is_free(home)

    # 7. the fetch interrupted in 1 and 2 completes later from page 2, keeping page 1 as landed
    spec = next(s for s in load_catalog(PATHS.tables_toml) if s.id == TABLE)
    seen = len(server.log)
    fetched = fetch_v4_table(make_client(server), zone, TABLE, filter=spec.live_filter)
    assert (fetched.fetch_id, fetched.resumed, fetched.requested_pages, fetched.pages, fetched.rows) == (
        partial, True, 2, 3, 13_568)
    assert [r.page for r in server.log[seen:] if r.path == OBS] == [2, 3]
    verify_landing(home)


def test_a_killed_publish_leaves_no_version_that_was_never_published(baseline_home, tmp_path, fault_ledger):
    home = baseline_home
    before = published_state(home)
    _stamp_build(home / "build" / "regional_build.duckdb", "candidate-never-published")
    _publish_child(home, tmp_path, "publish-rename")
    listed = [p.name for p in list_versions(home / PUBLISHED)]
    orphans = [name for name in listed if name not in before.versions]
    fault_ledger.record(fault="kill -9 between verify and rename: what versions/ lists",
                        outcome="NOT HANDLED" if orphans else "failed cleanly",
                        detail=f"{len(orphans)} never-published version(s) listed for rollback" if orphans else "")
    assert orphans == []
