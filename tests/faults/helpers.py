"""Shared helpers for the fault tests: child processes, bounded waits, snapshots of what must not be lost."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from regiostat.landing.zone import FINISHED_ENTITIES, LandingError, LandingZone
from regiostat.publish.lock import RunLockTimeout, run_lock
from tests.conftest import PUBLISHED, REPO, PublishedState, published_state  # noqa: F401  (re-exported)

CHILD_TIMEOUT = 90.0  # no child may outlive this; a passing run needs a fraction of it
# Where children keep compiled bytecode (set by tests/faults/conftest.py). The venv holds no .pyc files
# and PYTHONDONTWRITEBYTECODE may be set, so without this every child recompiles Dagster (~1.5 s).
PYCACHE_DIR: Path | None = None


def child_env(**overrides: str) -> dict[str, str]:
    """The test's environment minus anything that could point a child at a real warehouse or instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIOSTAT_") and k != "DAGSTER_HOME"}
    env["PYTHONUNBUFFERED"] = "1"
    if PYCACHE_DIR is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_DIR)
    env.update(overrides)
    return env


def start_child(*args: str, env: dict[str, str] | None = None, log_dir: Path, pipes: bool = False) -> subprocess.Popen:
    """``python -m tests.faults.child <args>``. Output goes to files in log_dir, so no pipe can fill up and
    block the child; with ``pipes`` stdin/stdout are pipes for a command protocol (see LineReader)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    name = f"{args[0]}-{time.monotonic_ns()}"
    out = None if pipes else open(log_dir / f"{name}.out", "wb")  # noqa: SIM115 (closed in finish)
    err = open(log_dir / f"{name}.err", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "tests.faults.child", *args], cwd=REPO, env=env or child_env(),
                            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                            stdout=subprocess.PIPE if pipes else out, stderr=err)
    proc._fault_logs = (out, err)  # type: ignore[attr-defined]
    return proc


def read_output(proc: subprocess.Popen) -> tuple[str, str]:
    texts = []
    for fh in proc._fault_logs:  # type: ignore[attr-defined]
        if fh is None:
            texts.append("")
            continue
        if not fh.closed:
            fh.flush()
        texts.append(Path(fh.name).read_text(errors="replace"))
    return texts[0], texts[1]


def finish(proc: subprocess.Popen, timeout: float = CHILD_TIMEOUT) -> tuple[int, str, str]:
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise
    out, err = read_output(proc)
    _close_logs(proc)
    return code, out, err


def _close_logs(proc: subprocess.Popen) -> None:
    for fh in proc._fault_logs:  # type: ignore[attr-defined]
        if fh is not None and not fh.closed:
            fh.close()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None and not pipe.closed:
            pipe.close()


def kill9(proc: subprocess.Popen) -> int:
    """SIGKILL: no finally blocks, no atexit, no flush. Returns the exit status (-9)."""
    proc.kill()
    code = proc.wait(timeout=10)
    _close_logs(proc)
    return code


def wait_for(condition: Callable[[], object], *, what: str, timeout: float = 60.0,
             proc: subprocess.Popen | None = None) -> object:
    """Poll until ``condition()`` is truthy; fail fast (with the child's stderr) if the child died first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = read_output(proc)
            raise AssertionError(f"child exited with {proc.returncode} before {what}\n--- stdout\n{out[-3000:]}"
                                 f"\n--- stderr\n{err[-6000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def kill_when(child: subprocess.Popen, condition: Callable[[], object], *, what: str, timeout: float = 60.0) -> None:
    """SIGKILL ``child`` once ``condition()`` holds; it must still be running then (killed on any failure too)."""
    try:
        wait_for(condition, what=what, timeout=timeout, proc=child)
    except BaseException:
        kill9(child)
        raise
    assert kill9(child) == -9, "the child ended on its own before the kill"


@dataclass
class WarmChild:
    proc: subprocess.Popen
    folder: Path

    def start(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Run ``python -m tests.faults.child <argv>`` now; only REGIOSTAT_* variables of ``env`` are passed."""
        extra = {k: v for k, v in (env or {}).items() if k.startswith("REGIOSTAT_")}
        tmp = self.folder / "job.tmp"
        tmp.write_text(json.dumps({"argv": list(argv), "env": extra}))
        os.replace(tmp, self.folder / "job.json")
        return self.proc


class WarmPool:
    """Build children with their imports (~4 s of Dagster) already done, so tests wait only for the run.

    ``spares`` children are kept importing/idle in reserve; each ``take`` starts a replacement, so the
    next one imports on the second core while the current test works, until ``planned`` children have
    been started (the fault suite needs 5); after that, children are started only on demand.
    """

    def __init__(self, base: Path, *, spares: int = 2, planned: int = 5):
        self.base, self.planned, self.count = base, planned, 0
        self.spares: list[tuple[subprocess.Popen, Path]] = []
        self.started: list[subprocess.Popen] = []
        for _ in range(min(spares, planned)):
            self._spawn()

    def _spawn(self) -> None:
        self.count += 1
        folder = self.base / f"warm{self.count}"
        folder.mkdir(parents=True)
        proc = start_child("warm", "--ready", str(folder / "ready"), "--job", str(folder / "job.json"),
                           log_dir=folder)
        self.spares.append((proc, folder))
        self.started.append(proc)

    def take(self) -> WarmChild:
        """A child whose imports are done; nothing runs until ``WarmChild.start``."""
        if not self.spares:
            self._spawn()
        proc, folder = self.spares.pop(0)
        if self.count < self.planned:
            self._spawn()
        wait_for(lambda: (folder / "ready").exists(), what="a warm child's imports", timeout=90, proc=proc)
        return WarmChild(proc, folder)

    def close(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                kill9(proc)
            _close_logs(proc)


class LineReader:
    """JSON lines from a child's stdout pipe, each read with a timeout."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def send(self, command: str) -> dict:
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()
        return self.read()

    def read(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(timeout=left):
                raise AssertionError(f"no answer from the reader within {timeout:.0f} s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"reader exited ({self.proc.poll()}): {read_output(self.proc)[1][-3000:]}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


# -- state that must survive ------------------------------------------------------------------


def landing_snapshot(home: Path) -> dict[str, bytes]:
    """Every file the manifest lists, as bytes on disk (what a later fault must not change or remove)."""
    zone = LandingZone(home / "landing")
    return {e.path: (zone.root / e.path).read_bytes() for e in zone.entries() if e.entity not in FINISHED_ENTITIES}


def files_lost(home: Path, before: dict[str, bytes]) -> list[str]:
    """Files from ``before`` that are gone or changed."""
    root = home / "landing"
    return sorted(p for p, data in before.items() if not (root / p).is_file() or (root / p).read_bytes() != data)


def verify_landing(home: Path) -> dict[str, int]:
    """Every manifest entry reads back with its sha256; fetches without ``_complete`` are never read downstream."""
    zone = LandingZone(home / "landing")
    entries = zone.entries()
    bad = []
    for e in entries:
        if e.entity in FINISHED_ENTITIES:  # rows about a fetch (complete, failed, retired), not files
            continue
        try:
            zone.read_bytes(e)
        except (OSError, LandingError) as exc:
            bad.append(f"{e.path}: {exc}")
    assert not bad, "manifest entries that do not verify:\n" + "\n".join(bad)
    complete = set(zone.complete_fetches())
    listed = {e.path for e in entries}
    strays = [p for p in (zone.root / "files").rglob("*") if p.is_file() and p.relative_to(zone.root).as_posix()
              not in listed]
    return {"entries": len(entries), "complete_fetches": len(complete),
            "incomplete_fetches": len({e.fetch_id for e in entries} - complete), "stray_files": len(strays)}


def lock_is_free(home: Path) -> bool:
    try:
        with run_lock(home / "build" / "run.lock", run_id="probe", timeout=0):
            return True
    except RunLockTimeout:
        return False


def fact_rows_lost(before: PublishedState, home: Path) -> int:
    """Rows readers had before the fault and do not have now (0 when the same or a fuller build is published)."""
    return max(0, before.fact_rows - published_state(home).fact_rows)
