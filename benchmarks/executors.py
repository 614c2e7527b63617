"""full_refresh in one process vs a process per step, on an instance whose pools keep one writer (issue 12 part 6).

For each data set and executor, a fresh regiostat home and a fresh DAGSTER_HOME holding deploy/dagster.yaml
(pool limits set by deploy/pools.sh), then one run of full_refresh over every CBS table through
``dg.execute_job`` (out of process: ``execute_in_process`` cannot use the multiprocess executor), each run in
a child process of its own. Read back from the instance's event log:

  run wall        RUN_START -> RUN_SUCCESS/FAILURE; the child's whole wall (imports included) beside it
  writer overlap  every step in the duckdb_writer pool, from its first to its last event: any two overlapping?
  pool blocked    "Step blocked by limit for pool ..." engine events, per pool
  lock waits      "waiting for the build lock" warnings (the run lock, regiostat/publish/lock.py)

Data sets: ``bundled`` (the shipped real captures, no network) and ``live`` (a SYNTHETIC 83582NED-shaped
table, benchmarks/synthetic.py, plus the real API recordings of 83583NED, 03759NED and 84799NED, served by
tests/cbs_http_server.py on 127.0.0.1). ``--no-pools`` adds a multiprocess run on an instance without pool
limits, to show what holds the writers apart then.

    uv run python -m benchmarks.executors                      # both data sets, both executors
    uv run python -m benchmarks.executors --data bundled --executors multiprocess --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEPLOY_YAML = REPO / "deploy" / "dagster.yaml"
POOLS_SH = REPO / "deploy" / "pools.sh"
WRITER_POOL = "duckdb_writer"
RECORDED = ("83583NED", "03759NED", "84799NED")  # real API recordings the local server answers


# -- the child: one run ------------------------------------------------------------------------------------


def run_once() -> dict:
    """One full_refresh over every partition on $DAGSTER_HOME's instance, with $REGIOSTAT_EXECUTOR; its events read."""
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from pipelines.definitions import FULL_REFRESH, defs, every_partition_tags

    job = ReconstructableRepository.for_module("pipelines.definitions", "defs").get_reconstructable_job(FULL_REFRESH)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        with dg.execute_job(job, instance, run_config=quiet, tags=every_partition_tags(defs)) as result:
            run_id, success = result.run_id, result.success
        return {"run_id": run_id, "success": success,
                **analyse(instance, run_id, step_pools(defs.resolve_job_def(FULL_REFRESH)))}


def step_pools(job) -> dict[str, str | None]:
    """Step key -> pool, for every node of the job (assets, checks, multi-asset checks)."""
    return {node.name: node.definition.pool for node in job.graph.node_dict.values()}


def analyse(instance, run_id: str, pools: dict[str, str | None]) -> dict:
    """Wall, step spans, overlap of writer spans, pool-blocked events and run-lock waits, from the event log.

    A step's span runs from its worker starting (multiprocess: the process is spawned once its pool slot is
    claimed) or its STEP_START, to its last event (resource teardown, the run lock released, included)."""
    from dagster import DagsterEventType as E

    spans: dict[str, list[float]] = {}
    marks: dict[str, dict] = {}  # step -> event type -> first time
    blocked: dict[str, int] = {}
    lock_waits, started, ended, failed = 0, None, None, []
    opening = {E.STEP_WORKER_STARTING, E.STEP_START}
    for record in instance.all_logs(run_id):
        ts, event, step = record.timestamp, record.dagster_event, record.step_key
        message = record.user_message or ""
        if "waiting for the build lock" in message:
            lock_waits += 1
        if event is None:
            continue
        kind = event.event_type
        if step:
            marks.setdefault(step, {}).setdefault(kind, ts)
        if step and (step in spans or kind in opening):
            span = spans.setdefault(step, [ts, ts])
            span[1] = max(span[1], ts)
        if kind == E.RUN_START:
            started = ts
        elif kind in (E.RUN_SUCCESS, E.RUN_FAILURE):
            ended = ts
        elif kind == E.STEP_FAILURE:
            failed.append(step)
        elif kind == E.ENGINE_EVENT and message.startswith("Step blocked by limit for pool"):
            pool = message.rsplit(" ", 1)[-1]
            blocked[pool] = blocked.get(pool, 0) + 1
    writers = sorted((s, e, k) for k, (s, e) in spans.items() if pools.get(k) == WRITER_POOL)
    overlaps = _overlaps(writers)
    # while a step holds the build database: from its resources' start (BuildDatabase takes the run lock there;
    # a process per step has its own RESOURCE_INIT_SUCCESS, one process per run has one before the first step)
    holding = sorted((marks[k].get(E.RESOURCE_INIT_SUCCESS, marks[k].get(E.STEP_START, s)), e, k)
                     for s, e, k in writers)
    others = [k for k in spans if pools.get(k) != WRITER_POOL]
    # a process per step: spawned (STEP_WORKER_STARTING) -> imports, Definitions, resources -> STEP_START
    start_up = [m[E.STEP_START] - m[E.STEP_WORKER_STARTING] for m in marks.values()
                if E.STEP_WORKER_STARTING in m and E.STEP_START in m]
    ends = {k: max(v for e, v in m.items() if e in (E.STEP_SUCCESS, E.STEP_FAILURE)) for k, m in marks.items()
            if E.STEP_SUCCESS in m or E.STEP_FAILURE in m}
    bodies = [ends[k] - m[E.STEP_START] for k, m in marks.items() if k in ends and E.STEP_START in m]
    return {
        "process_start_up_s": {"median": round(statistics.median(start_up), 2), "total": round(sum(start_up), 1)}
        if start_up else None,
        "step_bodies_s": {"median": round(statistics.median(bodies), 2), "total": round(sum(bodies), 1)}
        if bodies else None,
        "run_wall_s": round(ended - started, 2) if started and ended else None,
        "steps": len(spans), "writer_steps": len(writers), "other_steps": sorted(others),
        "writer_busy_s": round(sum(e - s for s, e, _ in writers), 2),
        "writer_overlaps": overlaps, "database_overlaps": _overlaps(holding),
        "pool_blocked_events": blocked, "lock_waits": lock_waits,
        "failed_steps": failed, "max_parallel_steps": _max_parallel(list(spans.values())),
        "spans": {k: [round(s - (started or 0), 2), round(e - (started or 0), 2)] for k, (s, e) in
                  sorted(spans.items(), key=lambda kv: kv[1][0])},
    }


def _overlaps(spans: list[tuple[float, float, str]]) -> list[tuple[str, str]]:
    return [(a[2], b[2]) for i, a in enumerate(spans) for b in spans[i + 1:] if b[0] < a[1]]


def _max_parallel(spans: list[list[float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    now = peak = 0
    for _, delta in edges:
        now += delta
        peak = max(peak, now)
    return peak


# -- the parent: homes, instances, data sets --------------------------------------------------------------------


def make_instance(folder: Path, *, pools: bool) -> Path:
    """A DAGSTER_HOME with deploy/dagster.yaml; pool limits set by deploy/pools.sh (or, without ``pools``, a
    dagster.yaml with no concurrency section at all)."""
    folder.mkdir(parents=True)
    text = DEPLOY_YAML.read_text()
    if not pools:
        text = text.split("\nconcurrency:")[0] + "\ntelemetry:\n  enabled: false\n"
    (folder / "dagster.yaml").write_text(text)
    if pools:
        env = {**os.environ, "DAGSTER_HOME": str(folder), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        subprocess.run(["sh", str(POOLS_SH)], env=env, check=True, capture_output=True, cwd=folder)
    return folder


def pool_limits(dagster_home: Path) -> dict[str, int]:
    code = ("import dagster as dg, json; i = dg.DagsterInstance.get(); s = i.event_log_storage; "
            "print(json.dumps({k: s.get_concurrency_info(k).slot_count for k in sorted(s.get_concurrency_keys())}))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def live_project(work: Path, periods: int):
    """A project whose config holds the SYNTHETIC table and the recorded tables; the table served."""
    from benchmarks import synthetic
    from benchmarks.project import _TABLE_START, make_project, shipped_tables

    table = synthetic.generate(periods=periods)
    block = f'[[table]]\nid = "{table.table_id}"\ntitle = "{table.title}"\napi = "v3"\n\n'
    text = shipped_tables(set(RECORDED), leave_out={table.table_id})
    first = _TABLE_START.search(text).start()  # the first block, not the header's mention of one
    project = make_project(work / "project", text[:first] + block + text[first:])
    return project, table


def measure(data: str, executor: str, work: Path, *, pools: bool = True, periods: int = 2,
            timeout: float = 1800) -> dict:
    name = f"{data}-{executor}{'' if pools else '-nopools'}"
    folder = work / name
    dagster_home = make_instance(folder / "dagster_home", pools=pools)
    home = folder / "home"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "REGIOSTAT_HOME": str(home),
           "REGIOSTAT_PUBLISH_PATH": str(home / "warehouse" / "regional.duckdb"), "REGIOSTAT_EXECUTOR": executor,
           "PYTHONPATH": str(REPO)}
    server, note = None, "bundled real captures, no network"
    if data == "live":
        from benchmarks.scale import RECORDINGS
        from tests.cbs_http_server import V3_API, V3_FEED, V4, CbsTestServer

        project, table = live_project(folder, periods)
        server = CbsTestServer(RECORDINGS, synthetic=table, max_requests=None).start()
        env.update(REGIOSTAT_MODE="live", REGIOSTAT_PROJECT_DIR=str(project.root),
                   REGIOSTAT_CBS_V4_BASE=f"{server.base_url}{V4}",
                   REGIOSTAT_CBS_V3_API_BASE=f"{server.base_url}{V3_API}",
                   REGIOSTAT_CBS_V3_FEED_BASE=f"{server.base_url}{V3_FEED}")
        note = (f"live: SYNTHETIC {table.table_id} ({table.row_count:,} rows, {periods} years) + recorded "
                f"{', '.join(RECORDED)} from 127.0.0.1")
    limits = pool_limits(dagster_home) if pools else {}
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.executors", "--child"], env=env, cwd=folder,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        if server is not None:
            server.stop()
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)  # the run and every step process
    (folder / "child.stderr").write_text(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"success": False, "error": done.stderr.strip()[-400:]}
    return {"name": name, "data": data, "executor": executor, "pools": limits, "note": note,
            "process_wall_s": round(wall, 2), "cpu_s": round(cpu, 1), **result}


def format_rows(rows: list[dict]) -> str:
    head = (f"{'data':<8} {'executor':<13} {'pools':<34} {'ok':<3} {'run s':>7} {'proc s':>7} {'steps':>5} "
            f"{'par':>3} {'cpu s':>6} {'start-up s':>10} {'bodies s':>8} {'writer s':>8} {'overlap':>7} {'db ovl':>6} "
            f"{'blocked':<20} {'lock waits':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        pools = ", ".join(f"{k}={v}" for k, v in r.get("pools", {}).items()) or "none set"
        blocked = ", ".join(f"{k}:{v}" for k, v in sorted(r.get("pool_blocked_events", {}).items())) or "-"
        start_up = r.get("process_start_up_s") or {}
        start = f"{start_up['median']:.1f} med" if start_up else "-"
        bodies = (r.get("step_bodies_s") or {}).get("total", 0)
        lines.append(f"{r['data']:<8} {r['executor']:<13} {pools:<34} {'yes' if r.get('success') else 'NO':<3} "
                     f"{r.get('run_wall_s') or 0:>7.1f} {r['process_wall_s']:>7.1f} {r.get('steps', 0):>5} "
                     f"{r.get('max_parallel_steps', 0):>3} {r.get('cpu_s') or 0:>6.1f} {start:>10} {bodies:>8.1f} "
                     f"{r.get('writer_busy_s', 0):>8.1f} {len(r.get('writer_overlaps', [])):>7} "
                     f"{len(r.get('database_overlaps', [])):>6} {blocked:<20} "
                     f"{r.get('lock_waits', 0):>10}")
    return "\n".join(lines)


def same_figures(rows: list[dict], work: Path) -> dict[str, str]:
    """Each run's published fact table and marts against the first successful run of the same data set: rows
    only in one of them (fetch ids, fetch times and origins left out of the facts: every run fetches anew)."""
    import duckdb

    from regiostat.publish.reader import current_version

    out, first = {}, {}
    for row in rows:
        if not row.get("success"):
            continue
        path = current_version(work / row["name"] / "home" / "warehouse" / "regional.duckdb")
        if row["data"] not in first:
            first[row["data"]] = (row["name"], path)
            continue
        name, base = first[row["data"]]
        con = duckdb.connect()
        try:
            con.execute("ATTACH ? AS a (READ_ONLY)", [str(base)])
            con.execute("ATTACH ? AS b (READ_ONLY)", [str(path)])
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'a' AND table_schema = "
                "'core' AND table_name = 'fact_observation' ORDER BY ordinal_position").fetchall()
                if c not in {"fetch_id", "fetched_at", "origin"}]
            marts = [m for (m,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'a' "
                                               "AND schema_name = 'marts' ORDER BY 1").fetchall()]
            pairs = [("core.fact_observation", ", ".join(columns))] + [(f"marts.{m}", "*") for m in marts]
            differing = [table for table, cols in pairs if con.execute(
                f"SELECT count(*) FROM ((SELECT {cols} FROM a.{table} EXCEPT ALL SELECT {cols} FROM b.{table}) "
                f"UNION ALL (SELECT {cols} FROM b.{table} EXCEPT ALL SELECT {cols} FROM a.{table}))").fetchone()[0]]
        finally:
            con.close()
        out[row["name"]] = (f"differs from {name} in {', '.join(differing)}" if differing else
                            f"same facts and {len(marts)} marts as {name}")
    return out


def reanalyse(rows: list[dict], work: Path) -> list[dict]:
    """The figures again from the instances a run left in ``work`` (the analysis may have grown since)."""
    import dagster as dg

    from pipelines.definitions import FULL_REFRESH, defs

    pools = step_pools(defs.resolve_job_def(FULL_REFRESH))
    out = []
    for row in rows:
        if "run_id" not in row:  # the run never started: nothing to read
            out.append(row)
            continue
        with dg.DagsterInstance.from_config(str(work / row["name"] / "dagster_home")) as instance:
            out.append({**row, **analyse(instance, row["run_id"], pools)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.executors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default="bundled,live", help="bundled, live or both (comma-separated)")
    parser.add_argument("--executors", default="in_process,multiprocess")
    parser.add_argument("--no-pools", action="store_true", help="also a multiprocess run without pool limits")
    parser.add_argument("--periods", type=int, default=2, help="years of the SYNTHETIC live table (24,976 rows each)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed after)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reanalyse", type=Path, help="a --json file of an earlier run (with its --work)")
    args = parser.parse_args(argv)
    if args.reanalyse:
        rows = reanalyse(json.loads(args.reanalyse.read_text()), args.work)
        print(format_rows(rows))
        for name, verdict in same_figures(rows, args.work).items():
            print(f"  {name}: {verdict}")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1) + "\n")
        return 0
    if args.child:
        print(json.dumps(run_once()))
        return 0
    work = (args.work or Path(tempfile.mkdtemp(prefix="regiostat-executors-"))).absolute()
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for data in args.data.split(","):
            for executor in args.executors.split(","):
                rows.append(measure(data, executor, work, periods=args.periods))
                print(format_rows(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
            if args.no_pools:
                rows.append(measure(data, "multiprocess", work, pools=False, periods=args.periods))
        verdicts = same_figures(rows, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"full_refresh, one run over every CBS table; {os.cpu_count()} cores, load average {load:.2f} at the end")
    print(format_rows(rows))
    for name, verdict in verdicts.items():
        print(f"  {name}: {verdict}")
    for r in rows:
        print(f"  {r['name']}: {r['note']}; writer overlaps {r.get('writer_overlaps')}; non-writer steps "
              f"{r.get('other_steps')}; failed {r.get('failed_steps') or r.get('error') or '-'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
