"""What one DuckDB file allows (docs/scaling.md): while one process holds the build database open read-write, a
second writer and even a read-only process are refused; many read-only processes share a published file.

    uv run python -m benchmarks.single_file --build var/build/regional_build.duckdb \
        --published "warehouse/versions/$(jq -r .current.file warehouse/regional.current.json)"

Opens copies of both files in a temporary folder (never the originals: a writer here would hold their lock).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

READERS = 16


def open_as(args: tuple[str, bool]) -> str:
    path, read_only = args
    try:
        con = duckdb.connect(path, read_only=read_only)
        rows = con.execute("SELECT count(*) FROM core.fact_observation").fetchone()[0]
        time.sleep(1.0)  # held open, as a reader or a step would
        con.close()
        return f"ok ({rows:,} fact rows)"
    except duckdb.Error as exc:
        return " ".join(str(exc).split())[:170]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.single_file", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, required=True)
    parser.add_argument("--published", type=Path, required=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="regiostat-single-file-") as folder:
        build, published = Path(folder) / "build.duckdb", Path(folder) / "published.duckdb"
        shutil.copy(args.build, build)
        shutil.copy(args.published, published)
        ctx = mp.get_context("spawn")
        writer = duckdb.connect(str(build))  # a step holding the build database open read-write
        try:
            with ctx.Pool(2) as pool:
                print("second writer process:", pool.apply(open_as, [(str(build), False)]))
                print("read-only process    :", pool.apply(open_as, [(str(build), True)]))
        finally:
            writer.close()
        started = time.perf_counter()
        with ctx.Pool(READERS) as pool:
            results = pool.map(open_as, [(str(published), True)] * READERS)
        ok = sum(r.startswith("ok") for r in results)
        print(f"{READERS} read-only processes on the published file at once: {ok} ok, "
              f"{time.perf_counter() - started:.1f} s (each held open 1 s); e.g. {results[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
