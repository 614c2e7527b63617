"""Where a build's time and memory go: per step, its wall time and the process's resident memory while it ran.

``regiostat build --timings FILE`` samples the process's resident set (VmRSS) every 50 ms while the run
executes, then lays the samples over each step's start and end in the run's event log. Memory is the
whole process (one step's allocations are not separable from the others'), so a step's peak says how
big the process was while that step ran; the step where it jumps is the one to look at.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

SAMPLE_SECONDS = 0.05
_ENDS = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}


def resident_mb() -> float:
    """This process's resident set now (VmRSS), in MB; 0 where /proc is not there."""
    try:
        with open("/proc/self/status") as fh:
            line = next((x for x in fh if x.startswith("VmRSS:")), None)
    except OSError:
        return 0.0
    return int(line.split()[1]) / 1024 if line else 0.0


class _Sampler:
    def __init__(self):
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), resident_mb()))
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def sampled() -> Iterator[_Sampler]:
    """Sample the process's resident memory while the block runs."""
    with _Sampler() as sampler:
        yield sampler


def step_timings(instance: dg.DagsterInstance, run_id: str, samples: list[tuple[float, float]]) -> list[dict]:
    """One row per step that ran: wall seconds, the process's peak resident MB while it ran, its outcome."""
    started: dict[str, float] = {}
    rows = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in _ENDS and event.step_key in started:
            begin, end = started.pop(event.step_key), entry.timestamp
            during = [mb for t, mb in samples if begin <= t <= end] or [0.0]
            rows.append({"step": event.step_key, "wall_s": round(end - begin, 3), "peak_rss_mb": round(max(during), 1),
                         "outcome": event.event_type_value.removeprefix("STEP_").lower()})
    return sorted(rows, key=lambda r: -r["wall_s"])


def write(path: Path, rows: list[dict], *, total_s: float, peak_rss_mb: float) -> None:
    path.write_text(json.dumps({"total_s": round(total_s, 3), "peak_rss_mb": round(peak_rss_mb, 1), "steps": rows},
                               indent=1) + "\n", encoding="utf-8")
