"""The benchmark's step programs, each run in its own process by benchmarks/scale.py.

    python -m benchmarks.steps network --url URL --out DIR   GET every data page in turn, save each
    python -m benchmarks.steps duckdb --pages DIR --db FILE  DuckDB read_json_auto of those pages -> table
    python -m benchmarks.steps rebuild --home DIR            full_refresh minus every landing asset

Each prints one JSON line at the end (rows and counts) for the parent to read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def network_floor(url: str, out: Path) -> dict:
    """Sequential GETs of the data pages, following next links; each body saved as received (a client's least work)."""
    import requests

    out.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    pages = rows = size = 0
    while url:
        response = session.get(url, timeout=(10, 300), headers={"Accept": "application/json"})
        response.raise_for_status()
        pages += 1
        size += len(response.content)
        (out / f"page-{pages:05d}.json").write_bytes(response.content)
        doc = json.loads(response.content)
        rows += len(doc["value"])
        url = doc.get("@odata.nextLink") or doc.get("odata.nextLink")
    return {"rows": rows, "pages": pages, "bytes": size}


def duckdb_floor(pages: Path, db: Path) -> dict:
    """DuckDB's own load of the saved pages: read_json_auto, one row per element of each page's value list."""
    import duckdb

    largest = max(p.stat().st_size for p in pages.glob("*.json"))
    con = duckdb.connect(str(db))
    try:
        con.execute(f"""CREATE OR REPLACE TABLE observations AS
                        SELECT unnest(value, recursive := true)
                        FROM read_json_auto('{pages.as_posix()}/*.json', maximum_object_size={2 * largest + 2**20})""")
        rows = con.execute("SELECT count(*) FROM observations").fetchone()[0]
    finally:
        con.close()
    return {"rows": rows}


def rebuild_from_landing(home: Path) -> dict:
    """The full_refresh job without its landing assets: everything recomputed from the files already landed.

    Run by the benchmark with the CBS server stopped and the build database deleted, so no byte can
    come from the network and nothing is reused from the previous build.
    """
    import dagster as dg

    from pipelines.definitions import FULL_REFRESH, make_definitions

    defs = make_definitions(home)
    keys = [k for k in defs.resolve_all_asset_keys() if k.path[0] != "landing"]
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = defs.resolve_job_def(FULL_REFRESH).execute_in_process(
        run_config=quiet, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=keys)
    failed_steps = {e.step_key: _innermost(e.event_specific_data.error) for e in result.all_events
                    if e.event_type_value == "STEP_FAILURE"}
    failed_checks = [f"{e.event_specific_data.asset_key.to_user_string()} / {e.event_specific_data.check_name}"
                     for e in result.all_events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
                     and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR]
    for name in failed_checks:
        print(f"check failed (blocks publishing): {name}", file=sys.stderr)
    for step, message in failed_steps.items():
        print(f"step failed: {step}: {message}", file=sys.stderr)
    return {"success": result.success, "assets": len(keys), "failed_steps": sorted(failed_steps),
            "failed_checks": failed_checks}


def _innermost(error) -> str:
    """Dagster wraps the real error; the innermost one names table, file or rule (as `regiostat build` prints)."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0] if error.message.strip() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.steps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    net = sub.add_parser("network")
    net.add_argument("--url", required=True)
    net.add_argument("--out", type=Path, required=True)
    duck = sub.add_parser("duckdb")
    duck.add_argument("--pages", type=Path, required=True)
    duck.add_argument("--db", type=Path, required=True)
    rebuild = sub.add_parser("rebuild")
    rebuild.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.step == "network":
        report = network_floor(args.url, args.out)
    elif args.step == "duckdb":
        report = duckdb_floor(args.pages, args.db)
    else:
        report = rebuild_from_landing(args.home)
    print(json.dumps({**report, "inner_s": round(time.perf_counter() - started, 3)}))
    return 0 if report.get("success", True) else 1


if __name__ == "__main__":
    sys.exit(main())
