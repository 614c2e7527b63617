"""Readers opening the published warehouse while it is published over and over: how many opens fail?

    uv run python scripts/reader_stress.py --seconds 60 --readers 2
    uv run python scripts/reader_stress.py --seconds 60 --readers 2 --swap-only

A publisher process publishes two small builds in turn for ``--seconds``; each reader process opens
the warehouse in a loop, alternately through ``regiostat.connect()`` (the pointer, read once, then the
immutable version it names) and through the plain path ``regional.duckdb`` as a third-party reader
would (``duckdb.connect(path, read_only=True)``), runs one query and closes. Every failed open is
counted with its message; a read that mixes two builds (fact rows not matching the build id) counts
as a failure too.

``--swap-only`` leaves out everything in a publish but the swaps (a fresh copy renamed over the plain
path, the pointer moved to the matching version), as fast as they go: the worst case for a reader,
the pattern under which plain-path opens failed about 1 in 600 to 900 (issue 13).

Prints one summary; the suite runs a bounded version of this (tests/faults/test_publish_safety.py).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb

from regiostat import connect
from regiostat.publish.release import publish
from regiostat.publish.storage import clone_file
from regiostat.publish.versions import list_versions, read_catalog, write_catalog


def small_build(path: Path, build_id: str, rows: int) -> Path:
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
                    "random() AS value FROM range(?)", [rows + (0 if build_id == "build-a" else 2)])
    finally:
        con.close()
    return path


def copied_build(source: Path, path: Path, build_id: str) -> Path:
    """A copy of a real build database with its own build id (build-b one fact row short)."""
    shutil.copyfile(source, path)
    con = duckdb.connect(str(path))
    try:
        con.execute("UPDATE meta.build_info SET build_id = ?", [build_id])
        if build_id == "build-b":
            con.execute("DELETE FROM core.fact_observation "
                        "WHERE rowid = (SELECT min(rowid) FROM core.fact_observation)")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def fact_rows(build: Path) -> tuple[str, int]:
    con = duckdb.connect(str(build), read_only=True)
    try:
        return con.execute("SELECT (SELECT build_id FROM meta.build_info), "
                           "(SELECT count(*) FROM core.fact_observation)").fetchone()
    finally:
        con.close()


def publisher(builds: list[Path], published: Path, seconds: float, swap_only: bool, done: mp.Value) -> None:
    deadline, i = time.monotonic() + seconds, 0
    if swap_only:  # two real publishes, then only the swaps of a publish, back to back
        for build in builds:
            publish(build, published, keep=3)
        versions, catalog = list_versions(published)[-2:], read_catalog(published)
    while time.monotonic() < deadline:
        if swap_only:
            version = versions[i % 2]
            candidate = published.with_name(f".{published.name}.swap.tmp")
            clone_file(version, candidate)
            write_catalog(published, catalog.with_current(catalog.record(version.name)), temp_name=".pointer.tmp")
            os.replace(candidate, published)
        else:
            publish(builds[i % 2], published, keep=3)
        i += 1
    done.value = i


def _read(open_connection, expected: dict[str, int]) -> None:
    con = open_connection()
    try:
        build_id, found = con.execute("SELECT (SELECT build_id FROM meta.build_info), "
                                      "(SELECT count(*) FROM core.fact_observation)").fetchone()
    finally:
        con.close()
    if found != expected[build_id]:
        raise RuntimeError(f"mixed read: {build_id} with {found} fact rows")


def reader(published: Path, expected: dict[str, int], stop: mp.Event, results: mp.Queue) -> None:
    opens: Counter = Counter()
    failures: Counter = Counter()
    ways = {"connect": lambda: connect(published),
            "plain": lambda: duckdb.connect(str(published), read_only=True)}
    while not stop.is_set():
        for way, open_connection in ways.items():
            opens[way] += 1
            try:
                _read(open_connection, expected)
            except (duckdb.Error, RuntimeError) as exc:
                failures[(way, str(exc).splitlines()[0][:110])] += 1
    results.put((opens, failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--swap-only", action="store_true", help="only the renames of a publish, back to back")
    parser.add_argument("--rows", type=int, default=3, help="fact rows per small build (2000000: ~20 MB files)")
    parser.add_argument("--build-db", type=Path, help="publish copies of this build database instead of small "
                        "ones, e.g. var/build/regional_build.duckdb after `regiostat build`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="regiostat-stress-") as folder:
        root = Path(folder)
        builds = [copied_build(args.build_db, root / f"{b}.duckdb", b) if args.build_db else
                  small_build(root / f"{b}.duckdb", b, args.rows) for b in ("build-a", "build-b")]
        expected = dict(fact_rows(b) for b in builds)
        published = root / "warehouse" / "regional.duckdb"
        publish(builds[0], published, keep=3)
        ctx = mp.get_context("spawn")  # fresh reader processes, nothing of this one's DuckDB inherited
        stop, results, done = ctx.Event(), ctx.Queue(), ctx.Value("i", 0)
        readers = [ctx.Process(target=reader, args=(published, expected, stop, results)) for _ in range(args.readers)]
        for proc in readers:
            proc.start()
        started = time.monotonic()
        publisher(builds, published, args.seconds, args.swap_only, done)
        stop.set()
        opens, failures = Counter(), Counter()
        for _ in readers:
            o, f = results.get()
            opens.update(o)
            failures.update(f)
        for proc in readers:
            proc.join()
    kind = "swaps" if args.swap_only else "publishes"
    print(f"{done.value} {kind} in {time.monotonic() - started:.1f} s, {args.readers} reader process(es)")
    for way in ("connect", "plain"):
        failed = sum(n for (w, _), n in failures.items() if w == way)
        label = "regiostat.connect()" if way == "connect" else "plain path        "
        print(f"  {label}: {opens[way]:>7,} opens, {failed:>5} failed")
    for (way, message), n in failures.most_common():
        print(f"    {way}: {n} x {message}")


if __name__ == "__main__":
    main()
