"""What a failed build says last (issue 13 part 5): the root cause, never a secondary error.

Disk full mid-build printed "cannot rollback - no transaction is active": DuckDB's failed write ended
the transaction, the ROLLBACK in the error handler then failed too, and the summary showed that second
error. The disk is filled here with a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored), so every write
past it fails with the OS's own error (EFBIG, "File too large") the way a full disk fails with ENOSPC,
and the error handling around it runs for real. A data error's last line names file and row
(tests/faults/test_landing_integrity.py checks one that names file and line).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
from pathlib import Path

from pipelines import cli
from regiostat.landing.zone import LandingZone
from tests.faults.helpers import fact_rows_lost, files_lost, landing_snapshot, published_state, verify_landing


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Writes past ``limit`` bytes in any file fail with EFBIG (the soft limit only: it is raised again after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_the_last_line_of_a_build_that_runs_out_of_disk_names_the_os_error_and_the_file(
        baseline_home: Path, capsys, fault_ledger):
    home = baseline_home
    before, landed_before = published_state(home), landing_snapshot(home)
    build_db = home / "build" / "regional_build.duckdb"
    for leftover in build_db.parent.glob("regional_build.duckdb*"):
        leftover.unlink()  # a fresh build database: it has to grow, and growing is what fails

    with file_size_limit(2**20):
        code = cli.main(["--home", str(home), "build"])

    stderr = capsys.readouterr().err.strip().splitlines()
    last = stderr[-1]
    assert code == 1
    assert last.startswith("run failed after") and "Root cause:" in last, last
    assert os.strerror(errno.EFBIG) in last and str(build_db) in last, last  # the errno text and the path
    assert "cannot rollback" not in last and "no transaction is active" not in last, last
    assert published_state(home) == before
    lost = files_lost(home, landed_before)
    assert lost == []
    verify_landing(home)
    fault_ledger.record(fault="disk full mid-build (file-size limit: EFBIG on the build database)",
                        outcome="failed cleanly", rows_lost=fact_rows_lost(before, home), files_lost=len(lost),
                        detail="last line: the OS error and the file, not the failed ROLLBACK")
    assert LandingZone(home / "landing").entries()  # the landing zone still reads
