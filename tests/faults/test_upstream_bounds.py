"""Hostile and broken upstreams (issue 13 part 3): next links that are dropped, leave the origin or never end,
bodies that drip or explode, pages too large, answers shorter than announced or empty.

Each test reproduces a fault that landed a short or unbounded fetch as complete, hung a fetch, or sent
credentials to another host, against the local CBS server (tests/cbs_http_server.py). Every bound is
tested with small settings, so a test takes a second or two; none asserts a duration.
"""

from __future__ import annotations

import json

import pytest

from pipelines.resources import settings_from_env
from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from regiostat.sources.cbs.client import CbsClient, CbsEndpoints, CbsFetchError, HttpLimits, UpstreamLimitError
from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table
from regiostat.sources.cbs.source import CbsSource
from tests.cbs_http_server import V3_API, V3_FEED, V4, Fault
from tests.conftest import PATHS

OBS = f"{V4}/03759NED/Observations"
PROPS = f"{V4}/03759NED/Properties"
API_83582 = f"{V3_API}/83582NED/TypedDataSet"
API_83583 = f"{V3_API}/83583NED/TypedDataSet"


@pytest.fixture
def zone(tmp_path) -> LandingZone:
    return LandingZone(tmp_path / "landing")


def _envelope(body: bytes, **changes: object) -> bytes:
    doc = json.loads(body)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


def _completed(zone: LandingZone, table_id: str) -> list[str]:
    return zone.complete_fetches(table_id)


def _landed_rows(zone: LandingZone, fetch_id: str, entity: str) -> int:
    return sum(len(json.loads(zone.read_bytes(e))["value"]) for e in zone.pages_of(fetch_id) if e.entity == entity)


# -- next links ------------------------------------------------------------------------------------


def test_an_odata_api_answer_with_a_next_link_is_followed_not_landed_as_complete(cbs_server_factory, make_client,
                                                                               zone, fault_ledger):
    """The ODataApi answers the first 500 of 1,680 rows plus an odata.nextLink (into the feed's paging)."""
    server = cbs_server_factory(feed_page_size=500)
    feed_link = f"{server.base_url}{V3_FEED}/83582NED/TypedDataSet?$format=json&$skip=500"
    server.script(API_83582, Fault.rewrite(lambda body, q: _envelope(
        body, value=json.loads(body)["value"][:500], **{"odata.nextLink": feed_link})))

    result = fetch_v3_table(make_client(server), zone, "83582NED")

    assert (result.rows, result.pages) == (1_680, 4)
    assert _landed_rows(zone, result.fetch_id, "TypedDataSet") == 1_680
    assert [r.query.get("$skip") for r in server.requests_to(f"{V3_FEED}/83582NED/TypedDataSet")] == ["500", "1000",
                                                                                                      "1500"]
    fault_ledger.record(fault="v3 ODataApi answer carrying odata.nextLink (first 500 of 1,680 rows)",
                        outcome="survived", detail="next link followed: 1,680 rows over 4 pages")


def test_an_answer_shorter_than_the_table_announces_never_completes(cbs_server_factory, make_client, zone,
                                                                    fault_ledger):
    """83583NED's TableInfos says RecordCount 7440; the ODataApi answers 1,000 rows and no next link."""
    server = cbs_server_factory()
    server.always(API_83583, Fault.rewrite(lambda body, q: _envelope(body, value=json.loads(body)["value"][:1000])))

    with pytest.raises(CbsFetchError, match=r"ends after 1,000 rows, but the source announced 7,440") as err:
        fetch_v3_table(make_client(server), zone, "83583NED")

    assert err.value.url.startswith(f"{server.base_url}{API_83583}")
    assert _completed(zone, "83583NED") == []
    (fetch_id,) = {e.fetch_id for e in zone.entries()}
    assert _landed_rows(zone, fetch_id, "TypedDataSet") == 1_000  # kept for inspection, never read downstream
    fault_ledger.record(fault="answer with fewer rows than the table's RecordCount", outcome="failed cleanly")


def test_a_v4_answer_short_of_its_own_odata_count_never_completes(cbs_server_factory, make_client, zone,
                                                                  fault_ledger):
    server = cbs_server_factory(v4_pages=3)
    server.always(OBS, Fault.rewrite(lambda body, q: _envelope(body, **{"@odata.count": 20_000})), page=1)

    with pytest.raises(CbsFetchError, match=r"ends after 13,568 rows, but the source announced 20,000"):
        fetch_v4_table(make_client(server), zone, "03759NED")

    assert _completed(zone, "03759NED") == []
    fault_ledger.record(fault="v4 pages short of the @odata.count they announce", outcome="failed cleanly")


@pytest.mark.parametrize("where", ["other-port", "https", "localhost"])
def test_a_next_link_off_the_configured_origin_is_not_followed_and_gets_no_credentials(
        cbs_server_factory, sleeps, zone, fault_ledger, where):
    secret = "s3cret-token-4f9a"
    server, other = cbs_server_factory(v4_pages=3), cbs_server_factory(v4_pages=3)
    host, port = server.base_url.removeprefix("http://").split(":")
    target = {"other-port": other.base_url, "https": f"https://{host}:{port}",
              "localhost": f"http://localhost:{port}"}[where]
    link = f"{target}{OBS}?$skip=4523"
    server.always(OBS, Fault.rewrite(lambda body, q: _envelope(body, **{"@odata.nextLink": link})), page=1)
    client = CbsClient(CbsEndpoints.under(f"http://regiostat:{secret}@{host}:{port}"), timeout=(2.0, 5.0),
                       max_retries=1, jitter=0.0, sleep=sleeps.append)

    with pytest.raises(UpstreamLimitError) as err:
        fetch_v4_table(client, zone, "03759NED")

    message = str(err.value)
    first = next(r for r in server.requests_to(OBS))
    assert link in message and f"{server.base_url}{OBS}" in message  # both URLs named
    assert "leaves the origin" in message
    assert first.authorization and first.authorization.startswith("Basic ")  # credentials went where configured
    assert other.log == [] and [r.page for r in server.requests_to(OBS)] == [1]  # nothing else was asked
    assert _completed(zone, "03759NED") == []
    fault_ledger.record(fault=f"next link to another origin ({where}), credentials configured",
                        outcome="refused", detail="not followed; no request, no credentials sent off-origin")


def test_a_stored_next_link_off_origin_is_refused_and_a_redirect_is_not_followed(cbs_server_factory, make_client,
                                                                               sleeps, fault_ledger):
    server, other = cbs_server_factory(), cbs_server_factory()
    client = make_client(server)
    with pytest.raises(UpstreamLimitError, match="not on a configured origin") as err:
        client.get(f"{other.base_url}{PROPS}", table_id="03759NED")  # e.g. a resume link an earlier run stored
    assert err.value.url == f"{other.base_url}{PROPS}"

    host = server.base_url.removeprefix("http://")
    creds = CbsClient(CbsEndpoints.under(f"http://u:secret@{host}"), timeout=(2.0, 5.0), max_retries=1,
                      jitter=0.0, sleep=sleeps.append)
    server.always(PROPS, Fault.redirect(f"{other.base_url}{PROPS}"))
    with pytest.raises(UpstreamLimitError, match="redirect") as err:
        creds.v4.properties("03759NED")
    assert f"{other.base_url}{PROPS}" in str(err.value) and f"{server.base_url}{PROPS}" in str(err.value)
    assert other.log == [] and len(server.requests_to(PROPS)) == 1  # not retried either
    fault_ledger.record(fault="stored next link off-origin; HTTP 302 to another host", outcome="refused")


# -- bounded responses -------------------------------------------------------------------------------


def test_a_server_dripping_one_byte_at_a_time_is_cut_off_by_the_deadline(cbs_server_factory, make_client,
                                                                         fault_ledger):
    """Each byte comes well within the read timeout (5 s), so only a deadline on the whole request ends it."""
    server = cbs_server_factory()
    small = json.dumps({"Identifier": "03759ned", "Version": "202606230000", "pad": "x" * 40}).encode()
    server.override(PROPS, small)
    server.always(PROPS, Fault.drip(0.1))  # the whole answer would take ~9 s
    client = make_client(server, max_retries=1, limits=HttpLimits(deadline_seconds=1.0))

    with pytest.raises(CbsFetchError, match=r"within the 1 s deadline per request \(REGIOSTAT_HTTP_DEADLINE_SECONDS\)"):
        client.v4.properties("03759NED")

    assert len(server.requests_to(PROPS)) == 2  # retried once, like any timeout, then given up
    fault_ledger.record(fault="server drips one byte every 0.1 s (deadline 1 s)", outcome="failed cleanly")


def test_a_gzip_body_that_expands_past_the_cap_is_refused_while_reading(cbs_server_factory, make_client,
                                                                        fault_ledger):
    server = cbs_server_factory()
    server.always(PROPS, Fault.gzip_bomb(32 * 2**20))  # ~32 KB on the wire, 32 MiB decoded
    client = make_client(server, limits=HttpLimits(max_body_bytes=2**20))

    with pytest.raises(UpstreamLimitError, match=r"larger than 1,048,576 bytes after decoding "
                                                 r"\(REGIOSTAT_HTTP_MAX_BODY_BYTES\)"):
        client.v4.properties("03759NED")

    assert len(server.requests_to(PROPS)) == 1  # not retried: the same request gets the same answer
    fault_ledger.record(fault="gzip body expanding to 32 MiB (cap 1 MiB)", outcome="refused")


def test_a_page_with_more_rows_than_allowed_is_refused(cbs_server_factory, make_client, zone, fault_ledger):
    server = cbs_server_factory(v4_pages=3)  # 4,523 rows a page
    client = make_client(server, limits=HttpLimits(max_rows_per_page=1_000))

    with pytest.raises(UpstreamLimitError, match=r"4,523 rows, more than 1,000 \(REGIOSTAT_HTTP_MAX_ROWS_PER_PAGE\)"):
        fetch_v4_table(client, zone, "03759NED")

    assert _completed(zone, "03759NED") == []
    fault_ledger.record(fault="page of 4,523 rows (cap 1,000)", outcome="refused")


def _endless(server, rows: int) -> Fault:
    """Every page links to one more, under a new URL each time."""
    def body(normal: bytes, query: dict[str, str]) -> bytes:
        skip = int(query.get("$skip", "0")) + 1
        return json.dumps({"value": json.loads(normal)["value"][:rows],
                           "@odata.nextLink": f"{server.base_url}{OBS}?$skip={skip}"}).encode()
    return Fault.rewrite(body)


def test_a_paging_loop_whose_url_changes_each_time_stops_at_the_page_cap(cbs_server_factory, make_client, zone,
                                                                          fault_ledger):
    server = cbs_server_factory(max_requests=200)
    server.always(OBS, _endless(server, rows=2))
    client = make_client(server, limits=HttpLimits(max_pages=5))

    with pytest.raises(UpstreamLimitError, match=r"past 5 pages \(REGIOSTAT_HTTP_MAX_PAGES\)"):
        fetch_v4_table(client, zone, "03759NED")

    assert len(server.requests_to(OBS)) == 5 and _completed(zone, "03759NED") == []
    fault_ledger.record(fault="paging loop, a new next link on every page (cap 5 pages)", outcome="refused")


def test_an_empty_page_that_links_on_is_a_loop_not_a_page(cbs_server_factory, make_client, zone, fault_ledger):
    server = cbs_server_factory(max_requests=200)
    server.always(OBS, _endless(server, rows=0))

    with pytest.raises(CbsFetchError, match="an empty page links to a next page"):
        fetch_v4_table(make_client(server), zone, "03759NED")

    assert len(server.requests_to(OBS)) == 1 and _completed(zone, "03759NED") == []
    fault_ledger.record(fault="empty pages, each linking to another", outcome="refused")


@pytest.mark.parametrize("api", ["v4", "v3"])
def test_an_empty_answer_where_the_metadata_promises_rows_never_completes_and_is_fetched_anew(
        cbs_server_factory, make_client, zone, fault_ledger, api):
    """``value: []`` and no next link: before, a complete 0-row fetch that failed every later build."""
    server = cbs_server_factory()
    path, table, fetch = (OBS, "03759NED", fetch_v4_table) if api == "v4" else (API_83583, "83583NED",
                                                                                fetch_v3_table)
    server.script(path, Fault.rewrite(lambda body, q: _envelope(body, value=[], **{"@odata.nextLink": None})))
    client = make_client(server)

    with pytest.raises(CbsFetchError, match=r"no rows|ends after 0 rows"):
        fetch(client, zone, table)
    assert _completed(zone, table) == []

    result = fetch(client, zone, table)  # the server answers properly again: a new fetch, not a resume of the empty one
    assert not result.resumed and result.rows > 0 and _completed(zone, table) == [result.fetch_id]
    fault_ledger.record(fault=f"empty answer where the metadata promises rows ({api})", outcome="failed cleanly",
                        detail="never complete; the next run fetches anew")


# -- the bounds come from the settings ------------------------------------------------------------------


def test_the_bounds_are_settings_with_clear_errors(cbs_server_factory, monkeypatch, tmp_path, fault_ledger):
    server = cbs_server_factory(v4_pages=3)
    for name, path in (("V4_BASE", V4), ("V3_API_BASE", V3_API), ("V3_FEED_BASE", V3_FEED)):
        monkeypatch.setenv(f"REGIOSTAT_CBS_{name}", f"{server.base_url}{path}")
    monkeypatch.setenv("REGIOSTAT_MODE", "live")
    monkeypatch.setenv("REGIOSTAT_HTTP_MAX_ROWS_PER_PAGE", "1000")
    monkeypatch.setenv("REGIOSTAT_HTTP_MAX_RETRIES", "0")
    settings = settings_from_env(tmp_path)
    assert (settings.http_max_rows_per_page, settings.http_max_retries) == (1000, 0)
    assert (settings.http_deadline_seconds, settings.http_max_body_bytes, settings.http_max_pages) == (
        300.0, 128 * 2**20, 10_000)  # the safe defaults
    feed = next(f for f in CbsSource().feeds(PATHS) if f.table_ids == ("03759NED",))
    with pytest.raises(UpstreamLimitError, match="REGIOSTAT_HTTP_MAX_ROWS_PER_PAGE"):
        CbsSource().land(feed, settings.landing_context(log=lambda _: None))

    for variable, value in (("REGIOSTAT_HTTP_MAX_PAGES", "many"), ("REGIOSTAT_HTTP_DEADLINE_SECONDS", "0"),
                            ("REGIOSTAT_HTTP_MAX_BODY_BYTES", "-1"), ("REGIOSTAT_HTTP_MAX_RETRIES", "1.5")):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValueError, match=f"{variable} must be .*got '{value}'"):
            settings_from_env(tmp_path)
        monkeypatch.delenv(variable)
    with pytest.raises(ValueError, match="REGIOSTAT_HTTP_MAX_PAGES must be a number above 0"):
        HttpLimits(max_pages=0)
    fault_ledger.record(fault="bad REGIOSTAT_HTTP_* values; a bound reached in a live landing step",
                        outcome="refused", detail="ValueError naming the variable; the step's error names it too")


def test_a_complete_fetch_records_what_it_holds(cbs_server_factory, make_client, zone):
    """The _complete row pins files, data pages and rows (what landing verifies before anything reads)."""
    result = fetch_v4_table(make_client(cbs_server_factory(v4_pages=3)), zone, "03759NED")
    (done,) = [e for e in zone.entries() if e.entity == COMPLETE_ENTITY]
    assert (done.files, done.data_entity, done.pages, done.rows) == (11, "Observations", 3, 13_568)
    assert len(done.sha256) == 64 and result.pages == 3
