"""The scale benchmark's pieces at a tiny size, so the instrument cannot rot. No timing assertions:
figures are checked for being there and consistent, never for being fast."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from benchmarks.measure import Measurement, child_env, run_child
from benchmarks.scale import STEPS, TARGETS, failures, format_report, parse_sizes, ratios
from tests.conftest import REPO

# NL, landsdelen, provinces, COROP regions and the four municipalities of the shipped custom region:
# 61 regions x 28 SBI codes x 1 year = 1,708 rows
TINY_REGIONS = "NL,LD,PV,CR,GM0114,GM0109,GM0118,GM0160"
TINY_ROWS = 61 * 28


def test_the_benchmark_runs_every_step_at_a_tiny_size(tmp_path):
    out = tmp_path / "scale.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--periods", "1", "--regions", TINY_REGIONS, "--json", str(out),
         "--work", str(tmp_path / "work"), "--peer-env", str(tmp_path / "peer-env"), "--offline", "--timeout", "300"],
        cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for label in [*STEPS.values(), *(label for label, _ in TARGETS.values())]:
        assert label in done.stdout, label
    assert "SYNTHETIC" in done.stdout

    report = json.loads(out.read_text())
    assert report["synthetic"] is True and "not CBS data" in report["title"]
    (size,) = report["sizes"]
    assert (size["periods"], size["rows"]) == (1, TINY_ROWS)
    assert set(size["steps"]) == set(STEPS)
    for name, step in size["steps"].items():
        assert set(step) >= {"status", "wall_s", "peak_rss_mb", "rows", "detail"}, name
    steps = size["steps"]
    for name in ("network", "duckdb"):
        assert steps[name]["status"] == "ok" and steps[name]["rows"] == TINY_ROWS, steps[name]
    # the peer needs cbsodata from uv's cache (offline); without it the row says why
    assert steps["cbsodata"]["status"] in ("ok", "unavailable"), steps["cbsodata"]
    if steps["cbsodata"]["status"] == "ok":
        assert steps["cbsodata"]["rows"] == TINY_ROWS
    for name in ("full", "noop", "rebuild"):
        assert steps[name]["status"] == "ok" and steps[name]["rows"] == TINY_ROWS, steps[name]
        assert steps[name]["wall_s"] > 0 and steps[name]["peak_rss_mb"] > 0
    assert steps["full"]["detail"].startswith("1 data pages fetched")
    assert steps["noop"]["detail"].startswith("0 data pages fetched")  # an unchanged table is not downloaded again
    assert "no server" in steps["rebuild"]["detail"]
    per_size = report["ratios"]["per_size"][str(TINY_ROWS)]
    assert set(per_size) == set(TARGETS) - {"rss_growth"}
    assert per_size["noop_vs_full"]["value"] > 0
    assert report["ratios"]["rss_growth"]["qualifier"] == "one size only"


def _step(status: str, wall: float | None, rss: float | None, rows: int | None = 10) -> dict:
    return Measurement(status, wall, rss, rows).to_json()


def test_report_shows_ratios_bounds_and_failures_across_two_sizes():
    sizes = [
        {"periods": 15, "rows": 374_640, "steps": {
            "network": _step("ok", 2.0, 40), "duckdb": _step("ok", 1.0, 100), "cbsodata": _step("ok", 4.0, 600),
            "full": _step("ok", 8.0, 200), "noop": _step("ok", 0.4, 150), "rebuild": _step("failed", 2.5, 180)}},
        {"periods": 75, "rows": 1_873_200, "steps": {
            "network": _step("ok", 6.0, 40), "duckdb": _step("ok", 3.0, 130), "cbsodata": _step("ok", 16.0, 1200),
            "full": _step("timeout", 32.0, 300, None), "noop": _step("unavailable", None, None, None),
            "rebuild": _step("ok", 6.0, 250)}},
    ]
    result = ratios(sizes)
    small, large = result["per_size"]["374640"], result["per_size"]["1873200"]
    assert small["full_vs_cbsodata"] == {"value": 2.0, "qualifier": None}
    assert small["noop_vs_full"]["value"] == 0.05
    assert small["rebuild_vs_duckdb"] == {"value": 2.5, "qualifier": "a step did not succeed"}
    assert large["full_vs_cbsodata"] == {"value": 2.0, "qualifier": "lower bound: timed out"}
    assert large["noop_vs_full"] == {"value": None, "qualifier": "not measured"}
    assert result["rss_growth"] == {"value": 1.5, "qualifier": "lower bound: timed out"}
    text = format_report({"table": "83582NED", "title": "SYNTHETIC", "api": "v3", "sizes": sizes, "ratios": result,
                          "notes": ["a note"], "machine": {"cores": 2, "ram_gb": 24, "load_start": 1, "load_end": 1}})
    lines = text.splitlines()
    full = next(line for line in lines if line.startswith(STEPS["full"]))
    assert "timeout" in full and "8.0" in full and "32.0" in full
    growth = next(line for line in lines if line.startswith(TARGETS["rss_growth"][0]))
    assert ">1.5" in growth and "<= 1.3" in growth
    assert "2.5*" in next(line for line in lines if line.startswith(TARGETS["rebuild_vs_duckdb"][0]))
    assert "n/a" in next(line for line in lines if line.startswith(TARGETS["noop_vs_full"][0]))


def test_sizes_are_rows_rounded_to_whole_years_or_years():
    per_year = 892 * 28
    assert parse_sizes("0.37M,1.87M", per_year) == [15, 75]
    assert parse_sizes("374640, 1873200", per_year) == [15, 75]
    assert parse_sizes("15p,75p", per_year) == [15, 75]
    assert parse_sizes("2k", per_year) == [1]
    with pytest.raises(ValueError):
        parse_sizes("many", per_year)


def test_build_failures_are_read_from_the_build_output():
    stderr = ("noise\ncheck failed (blocks publishing): marts/population_by_region_year / population_by_region_year_valid\n"
              "step failed: marts__population_by_region_year_population_by_region_year_valid: dagster._core.errors."
              "DagsterAssetCheckFailedError: 1 blocking asset check failed with ERROR severity:\n"
              "step failed: core__custom_region: regiostat.regions.custom.RegionConfigError: unknown region code\n")
    assert failures(stderr) == ["check population_by_region_year_valid", "step core__custom_region (RegionConfigError)"]


def test_child_measurement_reads_peak_memory_and_kills_at_the_timeout(tmp_path):
    grow = "import time; block = bytearray(200 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(0.3)"
    run = run_child([sys.executable, "-c", grow], env=child_env(), cwd=tmp_path, timeout=60, log_dir=tmp_path,
                    name="grow")
    assert run.returncode == 0 and run.peak_rss_mb >= 200
    small = run_child([sys.executable, "-c", "print('{\"rows\": 3}')"], env=child_env(), cwd=tmp_path, timeout=60,
                      log_dir=tmp_path, name="small")
    assert small.last_json() == {"rows": 3} and small.peak_rss_mb < 200  # not the parent's image copied at fork
    started = time.monotonic()
    stuck = run_child([sys.executable, "-c", "import time; time.sleep(600)"], env=child_env(), cwd=tmp_path,
                      timeout=0.5, log_dir=tmp_path, name="stuck")
    assert stuck.timed_out and stuck.returncode is None
    assert time.monotonic() - started < 300  # a sanity bound against hanging, not a speed target
