"""National-scale benchmark (issue 12): regiostat's live build against its floors and a peer, at two sizes.

A table shaped like CBS 83582NED (892 real RegioS codes x 28 real SBI codes x N years; SYNTHETIC,
seeded values, see benchmarks/synthetic.py) is served by the local CBS server (tests/cbs_http_server.py)
on 127.0.0.1, as v3 ODataFeed pages of 10,000 rows and as v4 Observations pages of 100,000 rows.
For each size, each step runs as its own process and is timed, with the peak RSS of its process
tree:

  network   sequential GETs of the data pages (following next links), each saved: the network floor
  duckdb    DuckDB read_json_auto of those saved pages into a table: the load floor
  cbsodata  cbsodata 1.3.5 get_data + pandas -> DuckDB table, in its own uv-made environment (v3 only)
  full      `regiostat build --live` in a fresh home, config/tables.toml holding only the synthetic table
  noop      the same build again, nothing changed upstream
  rebuild   the server stopped and the build database deleted: full_refresh minus every landing
            asset, i.e. everything recomputed from the landing zone with no network

    uv run python -m benchmarks.scale                         # 0.37M and 1.87M rows, v3
    uv run python -m benchmarks.scale --quick                 # small sizes: a smoke test
    uv run python -m benchmarks.scale --sizes 15p,75p --api v4 --timeout 1800 --json scale.json

Sizes are rows (374640, 0.37M, 370k; rounded to whole years) or years ("15p"). Speed targets live
here and in issue 12's "Done when", never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import synthetic
from benchmarks.measure import ChildRun, Measurement, child_env, run_child
from benchmarks.project import make_project, shipped_tables

REPO = Path(__file__).resolve().parents[1]  # a script in the checkout, not library code
RECORDINGS = REPO / "tests" / "fixtures" / "cbs_recordings"
PEER_SCRIPT = Path(__file__).resolve().with_name("peer_cbsodata.py")
PEER_PACKAGES = ("cbsodata==1.3.5", "pandas", "duckdb")
DEFAULT_PEER_ENV = Path.home() / ".cache" / "regiostat-benchmarks" / "cbsodata-1.3.5"
STEPS = {
    "network": "network floor: sequential GETs of the pages",
    "duckdb": "DuckDB load floor: read_json_auto of the pages",
    "cbsodata": "cbsodata 1.3.5 get_data + pandas -> DuckDB",
    "full": "regiostat build --live",
    "noop": "no-op refresh: the same build again",
    "rebuild": "rebuild from landing, server stopped",
}
# issue 12 "Done when", judged at the largest size
TARGETS = {
    "full_vs_cbsodata": ("regiostat full / cbsodata (wall)", 1.0),
    "full_peak_rss_mb": ("regiostat full peak RSS (MB)", 300.0),
    "noop_vs_full": ("no-op refresh / full (wall)", 0.10),
    "rebuild_vs_duckdb": ("rebuild from landing / DuckDB load floor (wall)", 3.0),
    "rss_growth": ("RSS of full at largest / at smallest size", 1.3),
}


@dataclass(frozen=True)
class Options:
    periods: list[int]
    api: str
    seed: int
    timeout: float
    regions: tuple[str, ...] | None
    work: Path
    peer_env: Path
    offline: bool
    seed_region_list: bool


# -- one size ------------------------------------------------------------------------------------------


def run_size(periods: int, opts: Options, peer_python: Path | None, peer_problem: str) -> dict:
    """Every step at one size; the server runs for the steps that may use it and is stopped before the rebuild."""
    from tests.cbs_http_server import CbsTestServer

    table = synthetic.generate(periods=periods, seed=opts.seed, region_prefixes=opts.regions)
    work = opts.work / f"rows-{table.row_count}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    home = work / "home"
    steps: dict[str, Measurement] = {}
    with CbsTestServer(RECORDINGS, synthetic=table, max_requests=None) as server:
        steps["network"] = _network(server, table, opts, work)
        steps["duckdb"] = _duckdb(opts, work)
        steps["cbsodata"] = _peer(server, table, opts, work, peer_python, peer_problem)
        env = _build_env(server, make_project(work / "project", _tables_toml(table, opts.api)), home)
        if opts.seed_region_list:  # opt-in since issue 12 part 0: no LISA file needs no RegioS list
            _seed_region_list(home)
        steps["full"] = _build(env, home, opts, work, "full", server, table)
        steps["noop"] = _build(env, home, opts, work, "noop", server, table)
    steps["rebuild"] = _rebuild(env, home, opts, work, table)
    return {"periods": periods, "rows": table.row_count, "steps": {k: v.to_json() for k, v in steps.items()}}


def _definitions(opts: Options, tables: int = 1000, step: str = "definitions") -> dict:
    """Definitions load and one catalog sensor tick (``step`` "landing": the raw step's landing-zone questions) with a
    1,000-table SYNTHETIC configuration, in a child process."""
    work = opts.work / step
    shutil.rmtree(work, ignore_errors=True)
    run = _run_step(["-m", "benchmarks.steps", step, "--work", str(work), "--tables", str(tables)], opts,
                    opts.work, step)
    measured = _measured(run, rows=None).to_json()
    return {**measured, "report": run.last_json()}


def _network(server, table, opts: Options, work: Path) -> Measurement:
    url = (f"{server.base_url}/odata/v1/CBS/{table.table_id}/Observations" if opts.api == "v4" else
           f"{server.base_url}/ODataFeed/odata/{table.table_id}/TypedDataSet?$format=json")
    run = _run_step(["-m", "benchmarks.steps", "network", "--url", url, "--out", str(work / "pages")], opts, work,
                    "network")
    report = run.last_json()
    return _measured(run, rows=report.get("rows"),
                     detail=f"{report.get('pages', '?')} pages, {report.get('bytes', 0) / 1e6:.0f} MB ({opts.api})")


def _duckdb(opts: Options, work: Path) -> Measurement:
    if not any((work / "pages").glob("*.json")):
        return Measurement("skipped", detail="no pages: the network floor did not finish")
    run = _run_step(["-m", "benchmarks.steps", "duckdb", "--pages", str(work / "pages"), "--db",
                     str(work / "floor.duckdb")], opts, work, "duckdb")
    return _measured(run, rows=run.last_json().get("rows"))


def _peer(server, table, opts: Options, work: Path, python: Path | None, problem: str) -> Measurement:
    if python is None:
        return Measurement("unavailable", detail=problem)
    host = server.base_url.removeprefix("http://")
    run = run_child([str(python), str(PEER_SCRIPT), "--host", host, "--table", table.table_id, "--db",
                     str(work / "peer.duckdb")], env=child_env(), cwd=work, timeout=opts.timeout,
                    log_dir=work / "logs", name="cbsodata")
    return _measured(run, rows=run.last_json().get("rows"), detail="v3 ODataFeed (cbsodata has no v4)")


def _build(env: dict[str, str], home: Path, opts: Options, work: Path, name: str, server, table) -> Measurement:
    before = len(server.log)
    run = _run_step(["-m", "pipelines.cli", "--home", str(home), "build", "--live", "--timings",
                     str(work / f"{name}-timings.json")], opts, work, name, env=env)
    data_paths = {f"/odata/v1/CBS/{table.table_id}/Observations", f"/ODataFeed/odata/{table.table_id}/TypedDataSet",
                  f"/ODataApi/odata/{table.table_id}/TypedDataSet"}
    pages = sum(1 for r in server.log[before:] if r.path in data_paths and r.status == 200)
    return _build_result(run, home, table, f"{pages} data pages fetched, {len(server.log) - before} requests",
                         work / f"{name}-timings.json")


def _rebuild(env: dict[str, str], home: Path, opts: Options, work: Path, table) -> Measurement:
    for leftover in (home / "build").glob("regional_build.duckdb*"):
        leftover.unlink()  # a rebuild, not an update: nothing reused from the previous build
    run = _run_step(["-m", "pipelines.cli", "--home", str(home), "build", "--from-landing", "--timings",
                     str(work / "rebuild-timings.json")], opts, work, "rebuild", env=env)
    return _build_result(run, home, table, "regiostat build --from-landing: landing assets skipped, no server",
                         work / "rebuild-timings.json")


def _build_result(run: ChildRun, home: Path, table, note: str, timings: Path) -> Measurement:
    facts, staged = _warehouse_rows(home / "build" / "regional_build.duckdb", table.table_id)
    problems = failures(run.stderr)
    detail = note + (f"; failed: {', '.join(problems)}" if problems else "")
    steps = json.loads(timings.read_text())["steps"] if timings.exists() else []
    return _measured(run, rows=facts, detail=detail, extra={"staged_rows_all_vintages": staged, "failed": problems,
                                                              "step_timings": steps})


def failures(stderr: str) -> list[str]:
    """Blocking checks and steps a build reported as failed (`regiostat build` and benchmarks.steps print them)."""
    found = []
    for line in stderr.splitlines():
        if line.startswith("check failed (blocks publishing): "):
            found.append("check " + line.split(": ", 1)[1].split(" / ")[-1])
        elif line.startswith("step failed: ") and "blocking asset check failed" not in line:
            step, _, message = line.removeprefix("step failed: ").partition(": ")
            error = message.split(":")[0].rsplit(".", 1)[-1]
            found.append(f"step {step}" + (f" ({error})" if error else ""))
    return list(dict.fromkeys(found))


def _warehouse_rows(build_db: Path, table_id: str) -> tuple[int | None, int | None]:
    """(core.fact_observation rows, staging.observations rows) of the table in the build database, if there."""
    import duckdb

    if not build_db.exists():
        return None, None
    con = duckdb.connect(str(build_db), read_only=True)
    counts: list[int | None] = []
    try:
        for name in ("core.fact_observation", "staging.observations"):
            try:
                counts.append(con.execute(f"SELECT count(*) FROM {name} WHERE table_id = ?", [table_id]).fetchone()[0])
            except duckdb.Error:
                counts.append(None)
    finally:
        con.close()
    return counts[0], counts[1]


def _measured(run: ChildRun, *, rows: int | None, detail: str = "", extra: dict | None = None) -> Measurement:
    status = "timeout" if run.timed_out else "ok" if run.returncode == 0 else "failed"
    if status == "failed" and not detail.count("failed:"):
        tail = [line for line in run.stderr.strip().splitlines() if line.strip()][-1:] or [f"exit {run.returncode}"]
        detail = f"{detail}; {tail[0][:160]}" if detail else tail[0][:160]
    return Measurement(status, round(run.wall_s, 2), round(run.peak_rss_mb, 1), rows, detail, extra or {})


def _run_step(args: list[str], opts: Options, work: Path, name: str, env: dict[str, str] | None = None) -> ChildRun:
    return run_child([sys.executable, *args], env=env or child_env(PYTHONPATH=str(REPO)), cwd=work,
                     timeout=opts.timeout, log_dir=work / "logs", name=name)


def _build_env(server, project, home: Path) -> dict[str, str]:
    return child_env(PYTHONPATH=str(REPO), REGIOSTAT_HOME=str(home), REGIOSTAT_PROJECT_DIR=str(project.root),
                     REGIOSTAT_CBS_V4_BASE=f"{server.base_url}/odata/v1/CBS",
                     REGIOSTAT_CBS_V3_API_BASE=f"{server.base_url}/ODataApi/odata",
                     REGIOSTAT_CBS_V3_FEED_BASE=f"{server.base_url}/ODataFeed/odata")


def _tables_toml(table, api: str) -> str:
    """The SYNTHETIC table, and every other shipped table listed but switched off (indicators name them)."""
    others = shipped_tables(set(), leave_out={table.table_id})
    return (f"# Benchmark only (benchmarks/scale.py): the SYNTHETIC table served by the local CBS server.\n\n"
            f'[[table]]\nid = "{table.table_id}"\ntitle = "{table.title}"\napi = "{api}"\n\n' + others)


def _seed_region_list(home: Path) -> None:
    """Land the bundled 03759NED fetch, as bundled mode and a production landing zone would hold it (opt-in:
    since issue 12 part 0 a build without LISA files needs no RegioS list)."""
    from regiostat.landing.zone import LandingZone
    from regiostat.paths import ProjectPaths

    bundled, zone = LandingZone(ProjectPaths.default().bundled_landing_dir), LandingZone(home / "landing")
    for fetch in bundled.complete_fetches("03759NED"):
        zone.import_fetch(bundled, fetch)


# -- the peer's environment ------------------------------------------------------------------------------


def peer_environment(env_dir: Path, *, offline: bool) -> tuple[Path | None, str]:
    """(python of an isolated env with cbsodata 1.3.5, pandas and duckdb, or None; why not). Made with uv once."""
    python = env_dir / "bin" / "python"
    check = [str(python), "-c", "import cbsodata, pandas, duckdb"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, ""
    uv = shutil.which("uv")
    if uv is None:
        return None, "uv not found: cannot make the isolated cbsodata environment"
    steps = [[uv, "venv", "--quiet", "--python", sys.executable, str(env_dir)],
             [uv, "pip", "install", "--quiet", "--python", str(python), *(["--offline"] if offline else []),
              *PEER_PACKAGES]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=child_env())
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["?"])[-1][:160]
            return None, f"could not install {' '.join(PEER_PACKAGES)}{' offline' if offline else ''}: {reason}"
    return python, ""


# -- the report --------------------------------------------------------------------------------------------


def ratios(sizes: list[dict]) -> dict:
    """The issue's ratios per size, plus the RSS growth from the smallest to the largest size."""
    out: dict = {"per_size": {}}
    for size in sizes:
        s = size["steps"]
        out["per_size"][str(size["rows"])] = {
            "full_vs_cbsodata": _ratio(s["full"], s["cbsodata"]),
            "full_peak_rss_mb": _value(s["full"], "peak_rss_mb"),
            "noop_vs_full": _ratio(s["noop"], s["full"]),
            "rebuild_vs_duckdb": _ratio(s["rebuild"], s["duckdb"]),
        }
    small, large = sizes[0]["steps"]["full"], sizes[-1]["steps"]["full"]
    out["rss_growth"] = (_ratio(large, small, "peak_rss_mb") if len(sizes) > 1 else
                         {"value": None, "qualifier": "one size only"})
    return out


def _ratio(top: dict, bottom: dict, field: str = "wall_s") -> dict:
    a, b = top.get(field), bottom.get(field)
    if a is None or b is None or b == 0:
        return {"value": None, "qualifier": "not measured"}
    qualifier = ("lower bound: timed out" if top["status"] == "timeout" else
                 "upper bound: the divisor timed out" if bottom["status"] == "timeout" else
                 "a step did not succeed" if "failed" in (top["status"], bottom["status"]) else None)
    return {"value": round(a / b, 3), "qualifier": qualifier}


def _value(step: dict, field: str) -> dict:
    qualifier = None if step["status"] == "ok" else f"step {step['status']}"
    return {"value": step.get(field), "qualifier": qualifier if step.get(field) is not None else "not measured"}


def format_report(report: dict) -> str:
    sizes = report["sizes"]
    lines = [f"regiostat scale benchmark - {report['table']} {report['title']}",
             f"api {report['api']}; {report['machine']['cores']} cores, {report['machine']['ram_gb']} GB RAM; "
             f"load average {report['machine']['load_start']} at start, {report['machine']['load_end']} at end "
             "(other processes share the CPU); peak RSS = whole process tree", ""]
    cell = 40
    lines.append(f"{'step':<48}" + "".join(f"| {size['rows']:>12,} rows ({size['periods']} years)".ljust(cell + 2)
                                            for size in sizes))
    lines.append(f"{'':<48}" + "".join(f"| {'wall s':>8} {'peak MB':>8} {'rows':>11} {'status':<8}" for _ in sizes))
    for key, label in STEPS.items():
        row = f"{label:<48}"
        for size in sizes:
            m = size["steps"][key]
            wall = f"{m['wall_s']:.1f}" if m["wall_s"] is not None else "-"
            rss = f"{m['peak_rss_mb']:.0f}" if m["peak_rss_mb"] is not None else "-"
            rows = f"{m['rows']:,}" if m["rows"] is not None else "-"
            row += f"| {wall:>8} {rss:>8} {rows:>11} {m['status']:<8}"
        lines.append(row)
    lines += ["", f"{'ratio (issue 12 Done when)':<50}" + "".join(f"| {size['rows']:>12,} rows " for size in sizes)
              + "| target"]
    per_size = report["ratios"]["per_size"]
    for key, (label, target) in TARGETS.items():
        if key == "rss_growth":
            values = [""] * (len(sizes) - 1) + [_show(report["ratios"]["rss_growth"])]
        else:
            values = [_show(per_size[str(size["rows"])][key]) for size in sizes]
        lines.append(f"{label:<50}" + "".join(f"| {v:>17} " for v in values) + f"| <= {target:g}")
    lines += _where_time_goes(sizes) + _definitions_lines(report.get("definitions"), report.get("landing"))
    lines += ["", "notes:"] + [f"  {n}" for n in report["notes"]]
    for size in sizes:
        for key, m in size["steps"].items():
            if m["detail"]:
                lines.append(f"  {size['rows']:,} rows, {key}: {m['detail']}")
    return "\n".join(lines)


def _where_time_goes(sizes: list[dict], top: int = 8) -> list[str]:
    """The full build's slowest steps per size (regiostat build --timings): wall and the process's peak RSS then."""
    lines = []
    for size in sizes:
        full = size["steps"]["full"]
        steps = full.get("extra", {}).get("step_timings") or []
        if not steps:
            continue
        inside = sum(r["wall_s"] for r in steps)
        lines += ["", f"where the full build's time goes at {size['rows']:,} rows (steps: {inside:.1f} s of "
                      f"{full['wall_s']:.1f} s wall; the rest is start-up, imports and Dagster between steps)"]
        for r in steps[:top]:
            lines.append(f"  {r['step']:<48} {r['wall_s']:>7.1f} s {r['wall_s'] / full['wall_s']:>6.0%}   "
                         f"process peak while it ran {r['peak_rss_mb']:>6.0f} MB")
    return lines


def _definitions_lines(measured: dict | None, landing: dict | None = None) -> list[str]:
    if not measured:
        return []
    if measured.get("status") != "ok":
        return ["", f"Definitions / sensor tick: {measured.get('status')} ({measured.get('detail', '')})"]
    d = measured["report"]
    return ["", f"Definitions load and a catalog sensor tick with {d['tables']:,} configured tables (SYNTHETIC "
                f"catalogs of {d['catalog_entries']:,} entries, benchmarks/catalog.py), one process:",
            f"  import dagster + pipelines {d['import_s']:.2f} s; Definitions load {d['definitions_s']:.2f} s "
            f"({d['assets']} assets, {d['partitions']:,} partitions of landing/cbs); "
            f"sensor tick {d['sensor_tick_s']:.2f} s "
            f"({d['run_requests']} run requests, {d['observations']:,} observations); process wall "
            f"{measured['wall_s']:.1f} s, peak RSS {measured['peak_rss_mb']:.0f} MB  (target: Definitions < 10 s)",
            *_landing_lines(d["tables"], landing)]


def _landing_lines(tables: int, measured: dict | None) -> list[str]:
    if not measured or measured.get("status") != "ok":
        return [] if not measured else [f"  landing zone questions: {measured.get('status')}"]
    d = measured["report"]
    return [f"  the landing zone with a year of monthly fetches of each table ({d['manifest_rows']:,} SYNTHETIC "
            f"manifest rows), its own process: manifest read {d['manifest_read_s']:.2f} s, held in "
            f"{d.get('manifest_held_mb', 0):.0f} MB; each table's fetches "
            f"in use and its newest fetch's rows, all {tables:,} tables {d['questions_s']:.2f} s; another zone of "
            f"the folder (the next step) {d.get('another_zone_s', float('nan')):.2f} s; process peak RSS "
            f"{measured['peak_rss_mb']:.0f} MB"]


def _show(ratio: dict) -> str:
    if ratio["value"] is None:
        return "n/a"
    mark = {"lower bound: timed out": ">", "upper bound: the divisor timed out": "<"}.get(ratio["qualifier"] or "", "")
    star = "*" if ratio["qualifier"] and not mark else ""
    return f"{mark}{ratio['value']:g}{star}"


# -- command line ------------------------------------------------------------------------------------------


def parse_sizes(text: str, per_period: int) -> list[int]:
    """'0.37M,1.87M' / '374640' / '370k' (rows, rounded to whole years) or '15p' (years) -> years per size."""
    periods = []
    for item in (part.strip().lower() for part in text.split(",") if part.strip()):
        if item.endswith("p"):
            periods.append(int(item[:-1]))
            continue
        scale = {"k": 1e3, "m": 1e6}.get(item[-1], 1)
        rows = float(item[:-1] if scale != 1 else item) * scale
        periods.append(max(1, round(rows / per_period)))
    if not periods or min(periods) < 1:
        raise argparse.ArgumentTypeError(f"no usable sizes in {text!r}")
    return periods


def _options(argv: list[str] | None) -> tuple[Options, Path | None, bool]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.37M,1.87M", help="rows or years ('15p') per size, comma-separated")
    parser.add_argument("--rows", help="row counts per size (same as --sizes)")
    parser.add_argument("--periods", help="years per size, e.g. 15,75 (892 x 28 rows a year)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 1 and 2 years (~25k and ~50k rows)")
    parser.add_argument("--api", choices=("v3", "v4"), default="v3")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per step before it is killed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument("--regions", help="only regions with these code prefixes, e.g. NL,LD,PV,CR (tests)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed after)")
    parser.add_argument("--peer-env", type=Path, default=DEFAULT_PEER_ENV, help="the isolated cbsodata environment")
    parser.add_argument("--offline", action="store_true", help="install the peer from uv's cache only")
    parser.add_argument("--region-list", action="store_true",
                        help="pre-land the bundled 03759NED fetch first, as a production landing zone would hold it")
    args = parser.parse_args(argv)
    regions = tuple(p.strip().upper() for p in args.regions.split(",")) if args.regions else None
    per_period = synthetic.rows_per_period(region_prefixes=regions)
    text = "1p,2p" if args.quick else args.periods and ",".join(f"{p}p" for p in args.periods.split(",")) \
        or args.rows or args.sizes
    work = args.work or Path(tempfile.mkdtemp(prefix="regiostat-scale-"))
    opts = Options(parse_sizes(text, per_period), args.api, args.seed, args.timeout, regions, work.absolute(),
                   args.peer_env, args.offline, args.region_list)
    return opts, args.json, args.work is None


def _machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    return {"cores": os.cpu_count(), "ram_gb": round(kb / 2**20, 1), "platform": platform.platform(),
            "python": platform.python_version(), "load_start": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    opts, json_path, temporary = _options(argv)
    machine = _machine()
    peer_python, peer_problem = peer_environment(opts.peer_env, offline=opts.offline)
    started = time.perf_counter()
    try:
        sizes = [run_size(p, opts, peer_python, peer_problem) for p in opts.periods]
        definitions = _definitions(opts)
        landing = _definitions(opts, step="landing")
    finally:
        if temporary:
            shutil.rmtree(opts.work, ignore_errors=True)
    machine["load_end"] = round(os.getloadavg()[0], 2)
    report = {
        "benchmark": "regiostat national scale (issue 12)", "synthetic": True, "table": synthetic.TABLE_ID,
        "title": synthetic.synthetic_title(opts.seed), "api": opts.api, "seed": opts.seed, "machine": machine,
        "timeout_s": opts.timeout, "total_s": round(time.perf_counter() - started, 1), "sizes": sizes,
        "ratios": ratios(sizes), "definitions": definitions, "landing": landing, "notes": _notes(opts),
    }
    print(format_report(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nfigures written to {json_path}")
    return 0


def _notes(opts: Options) -> list[str]:
    notes = ["values are SYNTHETIC (seeded, generated); code lists are real (bundle); not CBS data",
             "wall = process start to exit, imports included; '*' = a step in the ratio did not succeed, "
             "'>' = lower bound (timed out)",
             "rows: regiostat steps count core.fact_observation rows of the table in the build database"]
    if opts.seed_region_list:
        notes.append("the bundled 03759NED fetch was pre-landed (--region-list)")
    return notes


if __name__ == "__main__":
    sys.exit(main())
