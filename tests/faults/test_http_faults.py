"""HTTP faults at the landing-zone level: survived by retry, or a failure naming table and URL,
and never a loss of what was landed before.

The client-level behaviour of each fault (tests/test_cbs_client.py) and resume after a failed page
(tests/test_fetch_to_landing.py) are tested already; these tests add the landing-zone guarantee:
a table that was already landed (here: every bundled capture) stays byte-identical, the manifest
only grows, and downstream keeps reading the last complete fetch when a new fetch fails. The last
test drives the same through a live-mode Dagster run.
"""

from __future__ import annotations

import pytest

from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from regiostat.sources.cbs.client import CbsFetchError
from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table
from tests.cbs_http_server import V3_API, V3_FEED, V4, Fault
from tests.conftest import run_full_refresh
from tests.faults.helpers import fact_rows_lost, files_lost, landing_snapshot, published_state, verify_landing

OBS = f"{V4}/03759NED/Observations"
FAULTS = [  # (ledger name, test id, fault)
    ("HTTP 500", "http500", Fault.http(500)),
    ("HTTP 503 + Retry-After", "http503-retry-after", Fault.http(503, retry_after="3")),
    ("HTTP 429 + Retry-After", "http429-retry-after", Fault.http(429, retry_after="7")),
    ("connection reset", "reset", Fault.reset()),
    ("read timeout", "read-timeout", Fault.slow(1.0)),
    ("truncated JSON", "truncated", Fault.truncated()),
    ("premature EOF", "premature-eof", Fault.premature_eof()),
    ("invalid JSON", "invalid-json", Fault.invalid_json()),
    ("HTML with status 200", "html-200", Fault.html_200()),
]


@pytest.fixture
def landed(tmp_path, bundled_zone) -> LandingZone:
    """A landing zone that already holds every bundled capture, as a real one would after a first run."""
    zone = LandingZone(tmp_path / "landing")
    for fetch_id in bundled_zone.complete_fetches():
        zone.import_fetch(bundled_zone, fetch_id)
    return zone


def _state(zone: LandingZone) -> tuple[dict[str, bytes], bytes]:
    return landing_snapshot(zone.root.parent), zone.manifest_path.read_bytes()


def _assert_nothing_lost(zone: LandingZone, before: tuple[dict[str, bytes], bytes]) -> int:
    files, manifest = before
    lost = files_lost(zone.root.parent, files)
    assert lost == [], lost
    assert zone.manifest_path.read_bytes().startswith(manifest)  # append-only: no row rewritten or dropped
    verify_landing(zone.root.parent)
    return len(lost)


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
@pytest.mark.parametrize(("name", "fault"), [(n, f) for n, _, f in FAULTS], ids=[i for _, i, _ in FAULTS])
def test_fault_on_page_2_of_3_keeps_everything_landed_before(landed, cbs_server_factory, make_client,
                                                             fault_ledger, name, fault, persistent):
    server = cbs_server_factory(v4_pages=3)
    client = make_client(server, timeout=(2.0, 0.3))  # read timeout below the slow fault's 1 s
    before = _state(landed)
    old_latest = landed.latest_complete_fetch("03759NED")
    assert old_latest, "the bundled 03759NED capture should be landed"
    (server.always if persistent else server.script)(OBS, fault, page=2)

    if not persistent:
        result = fetch_v4_table(client, landed, "03759NED")
        assert (result.pages, result.rows) == (3, 13_568)
        assert landed.complete_fetches("03759NED")[-1] == result.fetch_id
        assert [r.fault for r in server.requests_to(OBS) if r.page == 2] == [fault.kind, None]
        outcome = "survived by retry"
    else:
        with pytest.raises(CbsFetchError) as err:
            fetch_v4_table(client, landed, "03759NED")
        message, url = str(err.value), err.value.url
        assert "03759NED" in message and url in message
        assert url.startswith(f"{server.base_url}{OBS}?") and "$skip=" in url  # the page that failed
        assert "gave up after 4 attempts" in message
        assert landed.latest_complete_fetch("03759NED") == old_latest  # readers still get the old capture
        partial = {e.fetch_id for e in landed.entries()} - {e.fetch_id for e in old_latest} - set(
            landed.complete_fetches())
        (fetch_id,) = partial
        assert [e.page for e in landed.pages_of(fetch_id) if e.entity == "Observations"] == [1]
        assert not any(e.entity == COMPLETE_ENTITY and e.fetch_id == fetch_id for e in landed.entries())
        outcome = "failed cleanly"
    n_lost = _assert_nothing_lost(landed, before)
    fault_ledger.record(fault=f"{name} on page 2 of 3 ({'persistent' if persistent else 'once'})", outcome=outcome,
                        files_lost=n_lost)


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "persistent"])
def test_too_many_records_then_a_failing_feed_page_keeps_the_landed_table(landed, cbs_server_factory, make_client,
                                                                          fault_ledger, persistent):
    server = cbs_server_factory(feed_page_size=500)
    client = make_client(server)
    feed = f"{V3_FEED}/83582NED/TypedDataSet"
    server.script(f"{V3_API}/83582NED/TypedDataSet", Fault.too_many_records())
    (server.always if persistent else server.script)(feed, Fault.http(502), page=3)
    before = _state(landed)
    old_latest = landed.latest_complete_fetch("83582NED")

    if not persistent:
        result = fetch_v3_table(client, landed, "83582NED")
        assert (result.source, result.pages, result.rows) == ("cbs_v3_feed", 4, 1_680)
        outcome = "survived by retry"
    else:
        with pytest.raises(CbsFetchError) as err:
            fetch_v3_table(client, landed, "83582NED")
        assert "83582NED" in str(err.value) and err.value.url in str(err.value)
        assert err.value.url.startswith(f"{server.base_url}{feed}?") and err.value.status == 502
        assert landed.latest_complete_fetch("83582NED") == old_latest
        outcome = "failed cleanly"
    n_lost = _assert_nothing_lost(landed, before)
    fault_ledger.record(fault=f">10000 records, then HTTP 502 on feed page 3 ({'persistent' if persistent else 'once'})",
                        outcome=outcome, files_lost=n_lost)


def test_live_run_survives_retryable_faults_and_fails_others_naming_table_and_url(
        baseline_home, cbs_server_factory, monkeypatch, fault_ledger):
    """A live-mode Dagster run against the local server; nothing landed or published before is touched.

    The server has no 70072NED or 81578NED (HTTP 404): the landing step fails, naming each of those tables and
    its URL, after landing the others: 03759NED gets a 503 and a 429 (Retry-After: 0) on page 2 and lands
    anyway; 83582NED (through its substringof filter), 83583NED and 84799NED land cleanly. Nothing is published.
    """
    home = baseline_home
    server = cbs_server_factory(v4_pages=3)
    server.script(OBS, Fault.http(503, retry_after="0"), Fault.http(429, retry_after="0"), page=2)
    for name, path in (("V4_BASE", V4), ("V3_API_BASE", V3_API), ("V3_FEED_BASE", V3_FEED)):
        monkeypatch.setenv(f"REGIOSTAT_CBS_{name}", f"{server.base_url}{path}")
    monkeypatch.setenv("REGIOSTAT_MODE", "live")
    before, landed_before = published_state(home), landing_snapshot(home)
    zone = LandingZone(home / "landing")
    old_complete = set(zone.complete_fetches())

    result = run_full_refresh(home)

    assert not result.success
    failures = {e.step_key: e.event_specific_data.error for e in result.all_events
                if e.event_type_value == "STEP_FAILURE"}
    assert "landing__cbs" in failures, sorted(failures)  # one step lands every table; it names each that failed
    chain, error = [], failures["landing__cbs"]
    while error is not None:
        chain.append(error.message)
        error = error.cause
    text = "\n".join(chain)
    for table in ("70072NED", "81578NED"):
        assert f"{table}: HTTP 4" in text and f"[{server.base_url}/" in text, text
    succeeded = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "published__regional_warehouse" not in succeeded
    assert [r.fault for r in server.requests_to(OBS) if r.page == 2] == ["http", "http", None]
    new_complete = {e.table_id for e in zone.entries()
                    if e.entity == COMPLETE_ENTITY and e.fetch_id not in old_complete}
    assert new_complete == {"03759NED", "83582NED", "83583NED", "84799NED"}

    assert published_state(home) == before
    lost = files_lost(home, landed_before)
    assert lost == []
    verify_landing(home)
    fault_ledger.record(fault="live run: HTTP 503 + 429 on 03759NED page 2", outcome="survived by retry")
    fault_ledger.record(fault="live run: HTTP 404 on 2 tables (steps fail naming table+URL)",
                        outcome="failed cleanly", rows_lost=fact_rows_lost(before, home),
                        files_lost=len(lost))
