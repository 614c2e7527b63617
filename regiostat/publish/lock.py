"""One pipeline run at a time per build folder.

DuckDB allows one writer per file, and two runs landing and publishing at once would
interleave their versions. A run takes an exclusive lock file before it touches the
build database and releases it when it ends (the OS drops it if the process dies, so a
killed run never leaves a stale lock). A second run waits, and says for whom.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_TIMEOUT_SECONDS = 3600.0  # how long a run waits for another one before giving up


class RunLockTimeout(TimeoutError):
    """Another run held the lock for longer than we were willing to wait."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        return "another run"
    return f"run {info.get('run_id', '?')} (pid {info.get('pid', '?')}, since {info.get('since', '?')})"


@contextlib.contextmanager
def run_lock(lock_path: Path | str, *, run_id: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, poll: float = 0.5,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    path = Path(lock_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait(f"waiting for the build lock {path}: held by {_holder(path)}")
                    told = True
                if time.monotonic() >= deadline:
                    raise RunLockTimeout(
                        f"gave up after {timeout:.0f} s: {path} is held by {_holder(path)}") from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"run_id": run_id, "pid": os.getpid(),
                                  "since": datetime.now(UTC).isoformat(timespec="seconds")}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
