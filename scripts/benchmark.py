"""Print wall time, peak memory and throughput of a full build on the bundled data.

Speed and memory targets live here, not in timed tests. Run: uv run python scripts/benchmark.py [--runs 3]
"""

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.definitions import FULL_REFRESH, make_definitions
from pipelines.resources import settings_from_env
from regiostat.warehouse import row_count


def one_build(home: Path) -> float:
    defs = make_definitions(home)
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    started = time.perf_counter()
    result = defs.resolve_job_def(FULL_REFRESH).execute_in_process(run_config=quiet,
                                                                   instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        times = [one_build(home) for _ in range(args.runs)]
        published = Path(settings_from_env(home).publish_path)
        con = duckdb.connect(str(published), read_only=True)
        staged = row_count(con, "staging.observations")
        facts = row_count(con, "core.fact_observation")
        con.close()
        size = published.stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"full_refresh in-process, {args.runs} run(s) on the bundled data (first run lands the files)")
    print(f"  wall time per run : {', '.join(f'{t:.2f}' for t in times)} s (median {statistics.median(times):.2f} s)")
    print(f"  staged rows       : {staged:,} ({staged / statistics.median(times):,.0f} rows/s end to end)")
    print(f"  fact rows         : {facts:,}")
    print(f"  published file    : {size / 1e6:.1f} MB")
    print(f"  peak RSS          : {peak_mb:.0f} MB (whole process, Dagster included)")


if __name__ == "__main__":
    main()
