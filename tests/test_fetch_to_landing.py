"""fetch_v4_table / fetch_v3_table: real responses landed page by page, faults, resume."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from regiostat.landing.zone import COMPLETE_ENTITY, LandingZone
from regiostat.sources.cbs.client import CbsFetchError
from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table
from tests.cbs_http_server import V3_API, V3_FEED, V4, Fault

OBS = f"{V4}/03759ned/Observations"
V4_DIR = "api-samples/v4_datasets.cbs.nl/03759ned"


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    return LandingZone(tmp_path / "landing")


def _fetch_files(landing: LandingZone, fetch_id: str, entity: str):
    return sorted((e for e in landing.pages_of(fetch_id) if e.entity == entity), key=lambda e: e.page)


def _landed_rows(landing: LandingZone, entries) -> list[dict]:
    return [row for e in entries for row in json.loads(landing.read_bytes(e))["value"]]


def _completes(landing: LandingZone, fetch_id: str):
    return [e for e in landing.entries() if e.fetch_id == fetch_id and e.entity == COMPLETE_ENTITY]


def test_v4_fetch_lands_every_response_as_received(cbs_server_factory, make_client, landing, cbs_data_dir):
    server = cbs_server_factory(v4_pages=3)
    result = fetch_v4_table(make_client(server), landing, "03759ned")

    assert (result.table_id, result.pages, result.rows, result.resumed) == ("03759NED", 3, 13_568, False)
    files = landing.latest_complete_fetch("03759NED")
    assert {e.entity for e in files} == {"Properties", "Dimensions", "MeasureCodes", "BurgerlijkeStaatCodes",
                                         "GeslachtCodes", "LeeftijdCodes", "RegioSCodes", "PeriodenCodes",
                                         "Observations"}
    props = json.loads((cbs_data_dir / V4_DIR / "properties.json").read_bytes())
    assert {(e.source, e.table_version, e.table_modified, e.media_type) for e in files} == {
        ("cbs_v4", props["Version"], props["Modified"], "application/json")}
    regio = next(e for e in files if e.entity == "RegioSCodes")
    assert landing.read_bytes(regio) == (cbs_data_dir / V4_DIR / "codes-RegioS.json").read_bytes()
    assert regio.rows == 892 and regio.origin.endswith("/03759ned/RegioSCodes")
    obs = _fetch_files(landing, result.fetch_id, "Observations")
    assert [e.page for e in obs] == [1, 2, 3] and sum(e.rows for e in obs) == 13_568
    rows = _landed_rows(landing, obs)
    assert next(r["Value"] for r in rows if (r["RegioS"], r["Perioden"], r["Measure"])
                == ("NL01", "2019JJ00", "M000352")) == 17282163
    (done,) = _completes(landing, result.fetch_id)
    assert done.rows == 13_568 and done.origin == f"{server.base_url}{OBS}"


def test_v4_resume_after_page_3_of_3_failed_requests_only_the_missing_page(
        cbs_server_factory, make_client, landing, cbs_data_dir):
    server = cbs_server_factory(v4_pages=3)
    client = make_client(server)
    server.always(OBS, Fault.http(500), page=3)
    with pytest.raises(CbsFetchError, match=r"03759ned: gave up after 4 attempts: HTTP 500"):
        fetch_v4_table(client, landing, "03759ned")
    (fetch_id,) = {e.fetch_id for e in landing.entries()}
    assert [e.page for e in _fetch_files(landing, fetch_id, "Observations")] == [1, 2]
    assert _completes(landing, fetch_id) == [] and landing.latest_complete_fetch("03759NED") == []

    server.clear_faults()
    seen = len(server.log)
    result = fetch_v4_table(client, landing, "03759ned")

    second_call = server.log[seen:]
    assert [(r.path, r.page) for r in second_call] == [(f"{V4}/03759ned/Properties", 1), (OBS, 3)]
    assert (result.fetch_id, result.resumed, result.requested_pages, result.pages, result.rows) == (
        fetch_id, True, 1, 3, 13_568)
    obs = _fetch_files(landing, fetch_id, "Observations")
    assert [e.page for e in obs] == [1, 2, 3]
    assert len(_completes(landing, fetch_id)) == 1
    for entry in landing.pages_of(fetch_id):  # read_bytes re-checks each file against its sha256
        assert hashlib.sha256(landing.read_bytes(entry)).hexdigest() == entry.sha256
    recorded = json.loads(gzip.decompress((cbs_data_dir / V4_DIR / "observations-page-1.json.gz").read_bytes()))["value"]
    assert _landed_rows(landing, obs) == recorded
    assert landing.latest_complete_fetch("03759NED") == landing.pages_of(fetch_id)


def test_resume_after_a_metadata_failure_reads_landed_metadata_back(cbs_client, cbs_server, landing):
    codes = f"{V4}/03759ned/RegioSCodes"
    cbs_server.always(codes, Fault.http(500))
    with pytest.raises(CbsFetchError, match="RegioSCodes"):
        fetch_v4_table(cbs_client, landing, "03759ned")
    landed_before = {e.entity for e in landing.entries()}
    assert {"Properties", "Dimensions", "MeasureCodes"} <= landed_before and "RegioSCodes" not in landed_before
    cbs_server.clear_faults()
    seen = len(cbs_server.log)

    result = fetch_v4_table(cbs_client, landing, "03759ned")

    requested = [r.path.rsplit("/", 1)[1] for r in cbs_server.log[seen:]]
    assert requested == ["Properties", "RegioSCodes", "PeriodenCodes", "Observations"]
    assert result.resumed and result.rows == 13_568


def test_a_failed_fetch_loses_nothing_landed_before(cbs_server_factory, make_client, landing):
    server = cbs_server_factory(v4_pages=3)
    client = make_client(server)
    first = fetch_v4_table(client, landing, "03759ned")
    first_files = landing.latest_complete_fetch("03759NED")

    server.always(OBS, Fault.reset(), page=2)
    with pytest.raises(CbsFetchError, match="ConnectionError"):
        fetch_v4_table(client, landing, "03759ned")

    assert landing.complete_fetches("03759NED") == [first.fetch_id]
    assert landing.latest_complete_fetch("03759NED") == first_files
    assert sum(len(json.loads(landing.read_bytes(e)).get("value", [])) for e in first_files
               if e.entity == "Observations") == 13_568
    (failed_id,) = {e.fetch_id for e in landing.entries()} - {first.fetch_id}
    (page1,) = _fetch_files(landing, failed_id, "Observations")
    assert landing.read_bytes(page1)  # the page that arrived before the failure is kept, intact


def test_resume_only_continues_the_same_query(cbs_server_factory, make_client, landing):
    server = cbs_server_factory(v4_pages=3)
    client = make_client(server)
    server.always(OBS, Fault.http(503), page=2)
    with pytest.raises(CbsFetchError):
        fetch_v4_table(client, landing, "03759ned")
    server.clear_faults()
    result = fetch_v4_table(client, landing, "03759ned", filter="startswith(RegioS,'GM')")
    assert not result.resumed and result.requested_pages == 3
    assert len(landing.complete_fetches("03759NED")) == 1


def test_resume_is_refused_when_the_table_version_changed(cbs_server_factory, make_client, landing, cbs_data_dir):
    server = cbs_server_factory(v4_pages=3)
    client = make_client(server)
    server.always(OBS, Fault.http(500), page=3)
    with pytest.raises(CbsFetchError):
        fetch_v4_table(client, landing, "03759ned")
    server.clear_faults()
    props = json.loads((cbs_data_dir / V4_DIR / "properties.json").read_bytes())
    server.override(f"{V4}/03759ned/Properties", json.dumps({**props, "Version": "202607010000"}).encode())

    result = fetch_v4_table(client, landing, "03759ned")

    assert not result.resumed and result.requested_pages == 3
    assert {e.table_version for e in landing.pages_of(result.fetch_id)} == {"202607010000"}


def test_v3_too_many_records_switches_to_the_feed_and_keeps_padded_keys(cbs_server_factory, make_client, landing):
    server = cbs_server_factory(feed_page_size=500)
    server.script(f"{V3_API}/83582NED/TypedDataSet", Fault.too_many_records())
    result = fetch_v3_table(make_client(server), landing, "83582NED")

    assert (result.source, result.pages, result.rows) == ("cbs_v3_feed", 4, 1_680)
    assert len(server.requests_to(f"{V3_API}/83582NED/TypedDataSet")) == 1  # not retried
    data = _fetch_files(landing, result.fetch_id, "TypedDataSet")
    assert [(e.page, e.source, e.rows) for e in data] == [(1, "cbs_v3_feed", 500), (2, "cbs_v3_feed", 500),
                                                           (3, "cbs_v3_feed", 500), (4, "cbs_v3_feed", 180)]
    assert data[0].origin.startswith(f"{server.base_url}{V3_FEED}/83582NED/TypedDataSet?$format=json")
    rows = _landed_rows(landing, data)
    assert {r["RegioS"] for r in rows} == {"CR07  ", "CR08  ", "CR09  ", "CR10  "}
    assert b'"RegioS": "CR08  "' in b"".join(landing.read_bytes(e) for e in data)  # bytes as received
    (done,) = _completes(landing, result.fetch_id)
    assert (done.source, done.rows) == ("cbs_v3_feed", 1_680)


def test_v3_small_table_comes_from_the_api_with_all_its_metadata(cbs_client, landing):
    result = fetch_v3_table(cbs_client, landing, "83583NED")

    assert (result.source, result.pages, result.rows) == ("cbs_v3_api", 1, 7_440)
    files = landing.latest_complete_fetch("83583NED")
    assert {e.entity for e in files} == {"ServiceDocument", "TableInfos", "DataProperties", "CategoryGroups",
                                         "BedrijfstakkenBranchesSBI2008", "Bedrijfsgrootte", "Perioden",
                                         "TypedDataSet"}
    assert {e.table_modified for e in files} == {"2020-11-19T02:00:00"}
    assert all("$format=json" in e.origin for e in files)


def test_v3_feed_resumes_after_a_premature_eof(cbs_server_factory, make_client, landing):
    server = cbs_server_factory(feed_page_size=500, api_cell_limit=1_000)  # 1,680 cells: the API refuses
    client = make_client(server)
    feed = f"{V3_FEED}/83582NED/TypedDataSet"
    server.always(feed, Fault.premature_eof(), page=3)
    with pytest.raises(CbsFetchError, match="ChunkedEncodingError"):
        fetch_v3_table(client, landing, "83582NED")
    server.clear_faults()
    seen = len(server.log)

    result = fetch_v3_table(client, landing, "83582NED")

    assert result.resumed and (result.requested_pages, result.pages, result.rows) == (2, 4, 1_680)
    assert [(r.path, r.page) for r in server.log[seen:] if "TypedDataSet" in r.path] == [(feed, 3), (feed, 4)]
    ids = [r["ID"] for r in _landed_rows(landing, _fetch_files(landing, result.fetch_id, "TypedDataSet"))]
    assert len(ids) == len(set(ids)) == 1_680
