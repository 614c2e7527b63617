"""Fixtures for the fault tests and the fault ledger printed at the end of the session.

Every fault test records what it injected and how it ended::

    fault_ledger.record(fault="kill -9 during publish", outcome="failed cleanly", rows_lost=0, files_lost=0)

outcome is one of OUTCOMES. ``rows_lost`` / ``files_lost`` are measured by the test (published fact
rows that readers had before and lost, landed files that vanished or changed), never assumed.

The existing client- and landing-level fault tests (tests/test_cbs_client.py, test_fetch_to_landing.py,
test_landing.py) are not edited: the summary counts them from their node ids and pass/fail status, in a
separate block, when they ran in the same session. (The two raw-step tests of test_write_audit_publish.py
moved to test_fetch_states.py when a bad fetch became one that is set aside: issue 13 part 2.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults import helpers
from tests.faults.helpers import WarmPool

OUTCOMES = ("survived by retry", "survived", "failed cleanly", "refused", "NOT HANDLED")


@dataclass(frozen=True)
class FaultRecord:
    test: str
    fault: str
    outcome: str
    rows_lost: int
    files_lost: int
    detail: str


_LEDGER = pytest.StashKey[list]()


class FaultLedger:
    def __init__(self, records: list[FaultRecord], test: str):
        self._records, self._test = records, test

    def record(self, *, fault: str, outcome: str, rows_lost: int = 0, files_lost: int = 0, detail: str = "") -> None:
        assert outcome in OUTCOMES, f"outcome must be one of {OUTCOMES}, got {outcome!r}"
        self._records.append(FaultRecord(self._test, fault, outcome, int(rows_lost), int(files_lost), detail))


@pytest.fixture
def fault_ledger(request) -> FaultLedger:
    records = request.config.stash.setdefault(_LEDGER, [])
    return FaultLedger(records, request.node.nodeid)


@pytest.fixture(scope="session", autouse=True)
def _child_bytecode_cache(request, tmp_path_factory):
    """Children share compiled bytecode (kept between sessions in .pytest_cache when it is enabled)."""
    cache = getattr(request.config, "cache", None)
    helpers.PYCACHE_DIR = (cache.mkdir("regiostat-child-pycache") if cache is not None
                           else tmp_path_factory.mktemp("pycache"))
    yield
    helpers.PYCACHE_DIR = None


@pytest.fixture(scope="session")
def warm_pool(_child_bytecode_cache, tmp_path_factory):
    """Build children with Dagster already imported (see WarmPool); every child is killed at the end."""
    pool = WarmPool(tmp_path_factory.mktemp("warm"))
    yield pool
    pool.close()


@pytest.fixture
def baseline_home(warm_pool, published_home: Path) -> Path:
    """A private copy of the session's built home: landing zone, build db, published warehouse, 1 version.

    (Asks for warm_pool first, so the spare children import while the session's first build runs.)
    """
    return published_home


# -- the existing fault tests, counted by node id ------------------------------------------------

_EXISTING: dict[tuple[str, str], tuple[str, str]] = {
    ("test_cbs_client.py", "test_recovers_from_500_with_exponential_backoff"): ("HTTP 500, 503", "survived by retry"),
    ("test_cbs_client.py", "test_429_waits_exactly_as_long_as_retry_after_says"): ("HTTP 429 + Retry-After",
                                                                                  "survived by retry"),
    ("test_cbs_client.py", "test_retry_after_http_date_is_capped_by_backoff_max"): ("HTTP 503 + Retry-After date",
                                                                                   "survived by retry"),
    ("test_cbs_client.py", "test_read_timeout_then_success"): ("read timeout", "survived by retry"),
    ("test_cbs_client.py", "test_each_transient_fault_is_retried_once_then_the_real_body_is_returned"): (
        "{param} once", "survived by retry"),
    ("test_cbs_client.py", "test_truncated_body_that_persists_raises_naming_table_and_url"): (
        "truncated JSON, persistent", "failed cleanly"),
    ("test_cbs_client.py", "test_html_page_with_status_200_that_persists_raises"): ("HTML with status 200, persistent",
                                                                                   "failed cleanly"),
    ("test_cbs_client.py", "test_4xx_is_not_retried"): ("HTTP 404", "failed cleanly"),
    ("test_cbs_client.py", "test_too_many_records_is_raised_at_once_not_retried"): (">10000 records on the API",
                                                                                   "failed cleanly"),
    ("test_cbs_client.py", "test_plain_500_is_not_mistaken_for_too_many_records"): ("HTTP 500, persistent",
                                                                                   "failed cleanly"),
    ("test_fetch_to_landing.py", "test_v4_resume_after_page_3_of_3_failed_requests_only_the_missing_page"): (
        "page 3 of 3 fails (HTTP 500), then resume", "failed cleanly"),
    ("test_fetch_to_landing.py", "test_resume_after_a_metadata_failure_reads_landed_metadata_back"): (
        "metadata request fails (HTTP 500), then resume", "failed cleanly"),
    ("test_fetch_to_landing.py", "test_a_failed_fetch_loses_nothing_landed_before"): (
        "connection reset on page 2", "failed cleanly"),
    ("test_fetch_to_landing.py", "test_resume_only_continues_the_same_query"): ("HTTP 503 on page 2, query changed",
                                                                               "failed cleanly"),
    ("test_fetch_to_landing.py", "test_resume_is_refused_when_the_table_version_changed"): (
        "HTTP 500 on page 3, table version changed", "failed cleanly"),
    ("test_fetch_to_landing.py", "test_v3_too_many_records_switches_to_the_feed_and_keeps_padded_keys"): (
        ">10000 records -> ODataFeed", "survived by retry"),
    ("test_fetch_to_landing.py", "test_v3_feed_resumes_after_a_premature_eof"): ("premature EOF on feed page 3",
                                                                                "failed cleanly"),
    ("test_landing.py", "test_torn_manifest_line_is_ignored"): ("torn manifest line (crash mid-append)", "survived"),
    ("test_landing.py", "test_corrupted_file_is_detected"): ("landing file changed on disk", "failed cleanly"),
}


def _existing_results(terminalreporter) -> list[tuple[str, str, str, str]]:
    """(node id, fault, outcome, pytest status) for the existing fault tests that ran this session."""
    status_of: dict[str, str] = {}
    for status in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(status, []):
            nodeid = getattr(report, "nodeid", "")
            if status_of.get(nodeid, "passed") == "passed":  # any phase that did not pass wins
                status_of[nodeid] = status
    found = []
    for nodeid, status in status_of.items():
        file, _, rest = nodeid.partition("::")
        name, _, param = rest.partition("[")
        known = _EXISTING.get((Path(file).name, name))
        if known:
            fault, outcome = known
            found.append((nodeid, fault.replace("{param}", param.rstrip("]")), outcome, status))
    return sorted(found)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    records: list[FaultRecord] = config.stash.get(_LEDGER, [])
    existing = _existing_results(terminalreporter)
    if not records and not existing:
        return
    tr = terminalreporter
    tr.section("fault ledger")
    if records:
        width = min(max(len(r.fault) for r in records), 70)
        tr.write_line(f"{'fault injected':<{width}}  {'outcome':<17}  rows lost  files lost")
        for r in records:
            tr.write_line(f"{r.fault[:width]:<{width}}  {r.outcome:<17}  {r.rows_lost:>9}  {r.files_lost:>10}"
                          + (f"  ({r.detail})" if r.detail else ""))
        counts = {o: sum(r.outcome == o for r in records) for o in OUTCOMES}
        tr.write_line("")
        tr.write_line(f"tests/faults: faults injected {len(records)}; survived by retry {counts['survived by retry']}; "
                      f"survived (no retry needed) {counts['survived']}; failed cleanly {counts['failed cleanly']}; "
                      f"hostile input refused {counts['refused']}; NOT handled {counts['NOT HANDLED']}; "
                      f"rows lost {sum(r.rows_lost for r in records)}; files lost {sum(r.files_lost for r in records)}")
    if existing:
        ok = [e for e in existing if e[3] == "passed"]
        by = {o: sum(e[2] == o for e in ok) for o in OUTCOMES}
        tr.write_line(f"existing client/landing fault tests (counted separately, by node id; files not edited): "
                      f"{len(existing)} ran, {len(ok)} passed: survived by retry {by['survived by retry']}, "
                      f"survived {by['survived']}, failed cleanly {by['failed cleanly']}"
                      + ("" if len(ok) == len(existing) else
                         f"; NOT passing: {', '.join(e[0] for e in existing if e[3] != 'passed')}"))
