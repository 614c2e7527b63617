"""Run one benchmark step as a child process: wall time, peak RSS of its whole process tree, a timeout.

Every step runs in a fresh process so its memory is its own. Peak RSS is read from the kernel's
own high-water mark of each process (``VmHWM`` in /proc/<pid>/status, polled every 50 ms while
the step runs; the mark only rises, so the last poll holds the peak up to that moment) and summed
over the step's process tree: exact for a single process, an upper bound for a tree. Not
``getrusage``/``wait4``'s ``ru_maxrss``: on Linux that includes the parent's image copied at fork,
before exec, so every child would look as big as this benchmark process with its server and table.
Wall time includes interpreter start and imports: it is what a user waits for. A step that
outlives its timeout is killed with its process group and reported as a timeout, never waited on
forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.05
STATUSES = ("ok", "failed", "timeout", "unavailable", "skipped")


@dataclass
class Measurement:
    status: str  # one of STATUSES
    wall_s: float | None = None
    peak_rss_mb: float | None = None
    rows: int | None = None
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ChildRun:
    returncode: int | None  # None: killed at the timeout
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def last_json(self) -> dict:
        """The last line of stdout that is a JSON object (how step programs report rows and counts)."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        return {}


def run_child(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float, log_dir: Path,
              name: str) -> ChildRun:
    """Run ``argv`` to its end (or the timeout); output goes to files in ``log_dir`` so no pipe can block it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)  # its own process group: a timeout kills all of it
        returncode, peaks = _wait(proc, started + timeout)
        wall = time.perf_counter() - started
    proc.returncode = returncode if returncode is not None else -signal.SIGKILL  # reaped by us, not by Popen
    return ChildRun(returncode, wall, sum(peaks.values()) / 2**20, out_path.read_text(errors="replace"),
                    err_path.read_text(errors="replace"))


def _wait(proc: subprocess.Popen, deadline: float) -> tuple[int | None, dict[int, int]]:
    """(exit code, or None when killed at the deadline; peak resident bytes per process of the tree)."""
    peaks: dict[int, int] = {}
    while True:
        peaks_now = tree_peaks(proc.pid)  # before the exit check: the last poll is as late as it can be
        for pid, peak in peaks_now.items():
            peaks[pid] = max(peaks.get(pid, 0), peak)
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status), peaks
        if time.perf_counter() > deadline:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this child leads: only what we started
            except ProcessLookupError:
                pass
            os.wait4(proc.pid, 0)
            return None, peaks
        time.sleep(SAMPLE_SECONDS)


def tree_peaks(pid: int) -> dict[int, int]:
    """The kernel's peak resident bytes (VmHWM) of ``pid`` and each live descendant; empty if it is gone."""
    peaks, stack = {}, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as fh:
                hwm = next((line for line in fh if line.startswith("VmHWM:")), None)
            if hwm is not None:  # a zombie has no memory lines
                peaks[current] = int(hwm.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return peaks


def child_env(**overrides: str) -> dict[str, str]:
    """This environment minus anything that could point a child at a real warehouse, instance or CBS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIOSTAT_") and k != "DAGSTER_HOME"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env
