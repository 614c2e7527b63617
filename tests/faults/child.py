"""Child processes for the fault tests (run as ``python -m tests.faults.child ...``).

``build``    runs ``regiostat build`` in this process, optionally hanging at a hook point after
             writing a marker file, so the test can ``kill -9`` it at a known place;
``publish``  holds the run lock and calls ``regiostat.publish.release.publish`` with a hook point;
``reader``   holds a read-only DuckDB connection to the published warehouse and answers
             commands on stdin with one JSON line each;
``writer``   opens the published file in write mode, changes a row and hangs (killed by the test);
``publish-loop`` publishes build files in turn as fast as it can, counting in a progress file;
``warm``     does the slow imports (Dagster, the definitions), writes a ready file, then waits for a
             job file holding ``{"argv": [...], "env": {...}}`` and runs that command. The test
             session keeps two warm children in reserve, so a test that needs a build process does not
             wait ~4 s for imports (tests/faults/helpers.py: WarmPool).

Hooks write the marker atomically, then sleep; the test waits for the marker (never for a
fixed time), kills, and checks what is left. The sleep is only a backstop: the test kills us.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HANG_SECONDS = 120.0


def _signal_and_hang(marker: Path, where: str) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "at": where}))
    os.replace(tmp, marker)
    time.sleep(HANG_SECONDS)
    os._exit(3)  # only reached if the test forgot to kill us


def _write_half(path: Path, payload: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(payload[: len(payload) // 2])
        fh.flush()
        os.fsync(fh.fileno())


def install_hook(hang_at: str | None, marker: Path | None, publish_path: Path | None = None) -> None:
    """Patch one function so the process stops at a precise point (marker written first)."""
    if not hang_at:
        return
    assert marker is not None
    kind, _, arg = hang_at.partition(":")

    if kind == "landing-write":  # a landing file half written to its temporary name
        from regiostat.landing import zone as landing

        real_write = landing._atomic_write

        def _atomic_write(target: Path, payload: bytes) -> None:
            if target.name != arg:
                return real_write(target, payload)
            _write_half(target.with_name(f".{target.name}.{os.getpid()}.tmp"), payload)
            _signal_and_hang(marker, f"half of {target} written")

        landing._atomic_write = _atomic_write

    elif kind == "stage-rows":  # inside the transaction that stages every table again, after DELETE + INSERT
        from regiostat.model import staging

        def stage_tables(con, table_ids=None, *, remove=(), fingerprints=None):
            import polars as pl

            table_ids = [r[0] for r in con.execute("SELECT DISTINCT table_id FROM raw.fetches").fetchall()]
            scope = pl.DataFrame({"table_id": table_ids}, schema={"table_id": pl.String})
            con.execute("BEGIN TRANSACTION")
            with staging.registered(con, _stage_tables=scope, **staging._small_inputs(con, scope)):
                con.execute("DELETE FROM staging.observations")
                con.execute(f"INSERT INTO staging.observations BY NAME {staging._STAGE_SQL}")
            _signal_and_hang(marker, "staging.observations: deleted and re-inserted, not committed")

        staging.stage_tables = stage_tables

    elif kind == "publish-copy":  # the plain path's copy of the verified version is half written
        import shutil

        real_copy = shutil.copyfile

        def copyfile(src, dst, *args, **kwargs):
            dst = Path(dst)
            # the plain path's copy only: the version itself is a copy of the build too when the build is already in
            # the published format (regiostat.publish.storage.in_published_format)
            if not (dst.name.endswith(".plain.tmp") and publish_path is not None
                    and dst.parent == publish_path.parent):
                return real_copy(src, dst, *args, **kwargs)
            _write_half(dst, Path(src).read_bytes())
            _signal_and_hang(marker, f"half of the candidate {dst.name} copied")

        shutil.copyfile = copyfile

    elif kind in ("publish-rename", "publish-plain"):
        # publish-rename: everything verified, before the first rename that publishes (the version into
        # versions/, then the pointer, then the plain path); publish-plain: after the pointer, before the plain path
        real_replace_file = os.replace

        def replace(src, dst, *args, **kwargs):
            if publish_path is not None and _is_commit(Path(dst), publish_path, plain_only=kind == "publish-plain"):
                _signal_and_hang(marker, f"before renaming {Path(src).name} to {dst}")
            return real_replace_file(src, dst, *args, **kwargs)

        os.replace = replace
    else:
        raise SystemExit(f"unknown hook {hang_at!r}")


def _is_commit(dst: Path, publish_path: Path, *, plain_only: bool) -> bool:
    if plain_only:
        return dst == publish_path
    return dst == publish_path or dst.parent == publish_path.parent / "versions" or dst.name.endswith(".current.json")


def cmd_build(args: argparse.Namespace) -> int:
    import pipelines.definitions  # noqa: F401  (the slow imports happen before the start line)
    from pipelines import cli

    publish_path = Path(args.home) / "warehouse" / "regional.duckdb"
    install_hook(args.hang_at, Path(args.marker) if args.marker else None, publish_path)
    return cli.main(["--home", args.home, "build", *(["--force"] if args.force else [])])


def cmd_publish(args: argparse.Namespace) -> int:
    from regiostat.publish import release as publish
    from regiostat.publish.lock import run_lock

    install_hook(args.hang_at, Path(args.marker) if args.marker else None, Path(args.publish))
    with run_lock(args.lock, run_id=f"child-publish-{os.getpid()}", timeout=10):
        publish.publish(Path(args.build), Path(args.publish))
    return 0


def _snapshot(con) -> dict:
    build_id = con.execute("SELECT build_id FROM meta.build_info").fetchall()[0][0]
    facts = con.execute("SELECT count(*) FROM core.fact_observation").fetchall()[0][0]
    cr08 = con.execute("SELECT employee_jobs FROM marts.jobs_by_sector_region_year WHERE region_code = 'CR08' "
                       "AND year = 2020 AND sector_code = 'T001081'").fetchall()
    return {"build_id": build_id, "fact_rows": facts, "cr08_2020_jobs": cr08[0][0] if cr08 else None}


def cmd_reader(args: argparse.Namespace) -> int:
    import duckdb

    def emit(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    con = duckdb.connect(args.path, read_only=True)
    emit({"event": "opened", "pid": os.getpid(), **_snapshot(con)})
    for line in sys.stdin:
        command = line.strip()
        try:
            if command == "same":  # the connection opened at the start
                emit({"event": command, **_snapshot(con)})
            elif command == "new-while-open":  # another connection in this process, the first still open
                other = duckdb.connect(args.path, read_only=True)
                try:
                    emit({"event": command, **_snapshot(other)})
                finally:
                    other.close()
            elif command == "reopen":  # close everything, then connect again
                con.close()
                con = duckdb.connect(args.path, read_only=True)
                emit({"event": command, **_snapshot(con)})
            elif command == "quit":
                break
            else:
                emit({"event": "error", "error": f"unknown command {command!r}"})
        except Exception as exc:  # report, keep serving: the test decides
            emit({"event": "error", "error": f"{type(exc).__name__}: {exc}"})
    con.close()
    return 0


def cmd_writer(args: argparse.Namespace) -> int:
    """What a careless tool does: open the published file in WRITE mode and change a row, then hang
    holding it (the test kills us: the change stays in the file's .wal beside it)."""
    import duckdb

    con = duckdb.connect(args.path)
    con.execute("SET checkpoint_threshold = '1GB'")  # keep the change in the write-ahead log
    con.execute(args.sql)
    _signal_and_hang(Path(args.marker), f"wrote to {args.path}: {args.sql}")
    return 3


def cmd_publish_loop(args: argparse.Namespace) -> int:
    """Publish the given build files in turn, ``count`` times, as fast as publish() goes (holding the run
    lock); after each publish the number done is written to ``progress``."""
    from regiostat.publish import release as publish
    from regiostat.publish.lock import run_lock

    builds = [Path(b) for b in args.builds]
    progress = Path(args.progress)
    for i in range(args.count):
        with run_lock(args.lock, run_id=f"publish-loop-{os.getpid()}", timeout=10):
            publish.publish(builds[i % len(builds)], Path(args.publish), keep=args.keep)
        tmp = progress.with_name(progress.name + ".tmp")
        tmp.write_text(str(i + 1))
        os.replace(tmp, progress)
    return 0


def cmd_warm(args: argparse.Namespace) -> int:
    import pipelines.cli  # noqa: F401
    import pipelines.definitions  # noqa: F401
    import regiostat.publish.release  # noqa: F401

    Path(args.ready).write_text(str(os.getpid()))
    job_file = Path(args.job)
    deadline = time.monotonic() + args.idle_timeout
    while not job_file.exists():
        if time.monotonic() > deadline:
            return 0  # never used: the session ended without us
        time.sleep(0.01)
    job = json.loads(job_file.read_text())
    os.environ.update(job.get("env", {}))
    return main(job["argv"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.child")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build")
    build.add_argument("--home", required=True)
    build.add_argument("--hang-at")
    build.add_argument("--marker")
    build.add_argument("--force", action="store_true", help="rebuild every layer even where nothing changed")
    build.set_defaults(func=cmd_build)
    pub = sub.add_parser("publish")
    pub.add_argument("--build", required=True)
    pub.add_argument("--publish", required=True)
    pub.add_argument("--lock", required=True)
    pub.add_argument("--hang-at")
    pub.add_argument("--marker")
    pub.set_defaults(func=cmd_publish)
    reader = sub.add_parser("reader")
    reader.add_argument("--path", required=True)
    reader.set_defaults(func=cmd_reader)
    writer = sub.add_parser("writer")
    writer.add_argument("--path", required=True)
    writer.add_argument("--sql", required=True)
    writer.add_argument("--marker", required=True)
    writer.set_defaults(func=cmd_writer)
    loop = sub.add_parser("publish-loop")
    loop.add_argument("--builds", nargs="+", required=True)
    loop.add_argument("--publish", required=True)
    loop.add_argument("--lock", required=True)
    loop.add_argument("--count", type=int, required=True)
    loop.add_argument("--keep", type=int, default=3)
    loop.add_argument("--progress", required=True)
    loop.set_defaults(func=cmd_publish_loop)
    warm = sub.add_parser("warm")
    warm.add_argument("--ready", required=True)
    warm.add_argument("--job", required=True, help="written atomically by the test: argv and env to run")
    warm.add_argument("--idle-timeout", type=float, default=600.0)
    warm.set_defaults(func=cmd_warm)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
