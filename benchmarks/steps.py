"""The benchmark's step programs, each run in its own process by benchmarks/scale.py.

    python -m benchmarks.steps network --url URL --out DIR   GET every data page in turn, save each
    python -m benchmarks.steps duckdb --pages DIR --db FILE  DuckDB read_json_auto of those pages -> table
    python -m benchmarks.steps rebuild --home DIR            full_refresh minus every landing asset
    python -m benchmarks.steps definitions --work DIR --tables N   Definitions load and a catalog sensor tick
    python -m benchmarks.steps landing --work DIR --tables N       the raw step's landing-zone questions, N tables

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

    from pipelines.definitions import FULL_REFRESH, every_partition_tags, make_definitions

    defs = make_definitions(home)
    keys = [k for k in defs.resolve_all_asset_keys() if k.path[0] != "landing"]
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = defs.resolve_job_def(FULL_REFRESH).execute_in_process(
        run_config=quiet, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=keys,
        tags=every_partition_tags(defs))
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


def definitions_and_tick(work: Path, tables: int, others: int) -> dict:
    """Import, load the Definitions of an N-table configuration, and run one tick of the CBS catalog sensor against
    SYNTHETIC catalogs served on 127.0.0.1 (benchmarks/catalog.py), each timed."""
    import os

    from benchmarks import catalog

    started = time.perf_counter()
    import dagster as dg

    from pipelines.definitions import make_definitions
    from tests.cbs_http_server import V3_API, V3_FEED, V4, CbsTestServer

    imported = time.perf_counter()
    project, home = catalog.make(work, tables)
    made = time.perf_counter()
    recordings = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "cbs_recordings"
    with CbsTestServer(recordings, max_requests=None) as server:
        for path, body in catalog.catalogs(tables, others).items():
            server.override(path, body)
        os.environ["REGIOSTAT_PROJECT_DIR"] = str(project)
        for name, path in (("V4_BASE", V4), ("V3_API_BASE", V3_API), ("V3_FEED_BASE", V3_FEED)):
            os.environ[f"REGIOSTAT_CBS_{name}"] = f"{server.base_url}{path}"
        loading = time.perf_counter()
        defs = make_definitions(home)
        graph = defs.resolve_asset_graph()
        defs.resolve_job_def("full_refresh")
        loaded = time.perf_counter()
        sensor = defs.resolve_sensor_def("cbs_catalog")
        context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), definitions=defs,
                                          resources={"settings": defs.resources["settings"]})
        ticking = time.perf_counter()
        tick = sensor.evaluate_tick(context)
        ticked = time.perf_counter()
    partitions = graph.get(dg.AssetKey(["landing", "cbs"])).partitions_def.get_partition_keys()
    return {"tables": tables, "catalog_entries": tables + others, "assets": len(graph.get_all_asset_keys()),
            "partitions": len(partitions), "import_s": round(imported - started, 3),
            "definitions_s": round(loaded - loading, 3), "sensor_tick_s": round(ticked - ticking, 3),
            "run_requests": len(tick.run_requests or []), "observations": len(tick.asset_events or []),
            "setup_s": round(made - imported, 3)}


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
    defs = sub.add_parser("definitions")
    defs.add_argument("--work", type=Path, required=True)
    defs.add_argument("--tables", type=int, default=1000)
    defs.add_argument("--others", type=int, default=4000)
    landing = sub.add_parser("landing")
    landing.add_argument("--work", type=Path, required=True)
    landing.add_argument("--tables", type=int, default=1000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.step == "network":
        report = network_floor(args.url, args.out)
    elif args.step == "duckdb":
        report = duckdb_floor(args.pages, args.db)
    elif args.step == "definitions":
        report = definitions_and_tick(args.work, args.tables, args.others)
    elif args.step == "landing":
        from benchmarks import catalog

        report = catalog.landing_questions(args.work, args.tables)
    else:
        report = rebuild_from_landing(args.home)
    print(json.dumps({**report, "inner_s": round(time.perf_counter() - started, 3)}))
    return 0 if report.get("success", True) else 1


if __name__ == "__main__":
    sys.exit(main())
