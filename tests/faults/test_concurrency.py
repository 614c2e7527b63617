"""Readers and runs at the same time: an open reader keeps its snapshot; two runs serialize.

One scenario (a full run costs ~5 s, so the suite does not pay for it twice): a reader in another
process holds a read-only connection to the published warehouse while two full runs, started at
the same instant in two more processes, land, build and publish into the same folder.
"""

from __future__ import annotations

import re

from regiostat.publish.health import check_warehouse
from regiostat.publish.release import list_versions
from tests.conftest import MARTS
from tests.faults.helpers import (
    PUBLISHED,
    LineReader,
    fact_rows_lost,
    finish,
    kill9,
    lock_is_free,
    published_state,
    start_child,
)

SNAPSHOT = ("build_id", "fact_rows", "cr08_2020_jobs")


def test_reader_keeps_its_snapshot_while_two_simultaneous_runs_serialize_and_publish(baseline_home, tmp_path,
                                                                                      warm_pool, fault_ledger):
    home = baseline_home
    before = published_state(home)
    (old_version,) = before.versions
    reader = start_child("reader", "--path", str(home / PUBLISHED), log_dir=tmp_path / "logs", pipes=True)
    children = []
    try:
        lines = LineReader(reader)
        opened = lines.read()
        assert (opened["event"], opened["build_id"], opened["fact_rows"]) == ("opened", before.build_id,
                                                                              before.fact_rows)
        assert opened["cr08_2020_jobs"] == 62200.0

        # two runs, both past their imports, started together; the reader's connection stays open throughout
        ready = [warm_pool.take(), warm_pool.take()]
        children = [child.start("build", "--home", str(home), "--force") for child in ready]  # both rebuild
        results = [finish(child, timeout=120) for child in children]

        for code, out, err in results:
            assert code == 0, f"--- stdout\n{out}\n--- stderr\n{err[-5000:]}"
            assert "built and published" in out

        # -- serialized: exactly one waited, and said for whom ---------------------------------------
        waited = [i for i, (_, _, err) in enumerate(results) if "waiting for the build lock" in err]
        assert len(waited) == 1, [r[2][-2000:] for r in results]
        second, first = waited[0], 1 - waited[0]
        message = next(line for line in results[second][2].splitlines() if "waiting for the build lock" in line)
        versions = list_versions(home / PUBLISHED)
        assert [v.name for v in versions][0] == old_version and len(versions) == 3  # one new version per run
        first_build, second_build = (check_warehouse(v, expected_marts=MARTS).build_id for v in versions[1:])
        match = re.search(r"held by run (\S+) \(pid (\d+), since ", message)  # "... held by run <id> (pid <pid>, ..."
        assert match, message
        assert match.group(1) == first_build and int(match.group(2)) == children[first].pid
        assert f"run {second_build} " in results[second][1]  # the run that waited names itself where it starts

        # -- the published file is the second run's, valid, and the lock is free -----------------------
        report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)  # a NEW connection, from this process
        assert report.ok, report.text()
        assert report.build_id == second_build and report.versions_kept == 3
        assert lock_is_free(home)

        # -- the reader's open connection still answers, from the snapshot it opened -----------------
        same = lines.send("same")
        assert {k: same[k] for k in SNAPSHOT} == {k: opened[k] for k in SNAPSHOT}, same
        # DuckDB caches one database instance per path and process: while the old connection is open,
        # another connect() in the SAME process still gets the old snapshot (worth a line in the README).
        assert lines.send("new-while-open")["build_id"] == before.build_id
        reopened = lines.send("reopen")  # closes its connection and connects again: the new build
        assert (reopened["build_id"], reopened["fact_rows"]) == (second_build, report.row_counts[
            "core.fact_observation"])
        reader.stdin.write(b"quit\n")
        reader.stdin.flush()
        code, _, err = finish(reader, timeout=30)
        assert code == 0, err
    finally:
        for proc in (reader, *children):
            if proc.poll() is None:
                kill9(proc)
    fault_ledger.record(fault="reader holds a read-only connection while 2 runs publish", outcome="survived",
                        rows_lost=fact_rows_lost(before, home), detail="open connection kept its snapshot")
    fault_ledger.record(fault="two full runs started at once on one build folder", outcome="survived",
                        detail="serialized by the run lock; the second named the first; both published")
