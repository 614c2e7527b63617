"""CbsClient against the local server replaying real CBS responses, with scripted faults."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from regiostat.sources.cbs.client import CbsFetchError, TooManyRecordsError, odata_literal, region_period_filter
from tests.cbs_http_server import V3_API, V3_CATALOG, V3_FEED, V4, Fault

OBS = f"{V4}/03759ned/Observations"
PROPS = f"{V4}/03759ned/Properties"


def _rows(pages):
    return [row for page in pages for row in page.value]


# -- v4 ------------------------------------------------------------------------------------


def test_v4_observations_follow_next_links_over_three_pages(cbs_server_factory, make_client, cbs_data_dir):
    server = cbs_server_factory(v4_pages=3)
    pages = list(make_client(server).v4.observations("03759ned"))

    assert len(pages) == 3
    assert [p.next_link is not None for p in pages] == [True, True, False]
    rows = _rows(pages)
    recorded = json.loads(gzip.decompress((cbs_data_dir / "api-samples/v4_datasets.cbs.nl/03759ned/observations-page-1.json.gz").read_bytes()))
    assert len(rows) == 13_568
    assert rows == recorded["value"]  # every real row, verbatim and in order
    nl_2019 = [r for r in rows if (r["RegioS"], r["Perioden"], r["Measure"]) == ("NL01", "2019JJ00", "M000352")]
    assert [r["Value"] for r in nl_2019] == [17282163]
    assert [r.query.get("$skip") for r in server.requests_to(OBS)] == [None, "4523", "9046"]
    assert pages[1].url == pages[0].next_link


def test_v4_metadata_is_returned_byte_for_byte(cbs_client, cbs_data_dir):
    folder = cbs_data_dir / "api-samples/v4_datasets.cbs.nl/03759ned"
    props = cbs_client.v4.properties("03759ned")
    assert props.body == (folder / "properties.json").read_bytes()
    assert props.data["Version"] == "202606230000" and props.row_count is None
    regions = cbs_client.v4.codes("03759ned", "RegioS")
    assert regions.url.endswith("/03759ned/RegioSCodes")
    assert regions.row_count == 892
    assert [m["Identifier"] for m in cbs_client.v4.measure_codes("03759ned").value] == ["M000352", "M000365"]
    assert len(list(cbs_client.v4.catalog())[0].value) == 83


def test_v4_filter_is_sent_percent_encoded_with_quotes_kept(cbs_client, cbs_server):
    list(cbs_client.v4.observations("03759ned", filter="startswith(RegioS,'GM') and Perioden eq '2019JJ00'"))
    (request,) = cbs_server.requests_to(OBS)
    assert request.query["$filter"] == "startswith(RegioS,'GM') and Perioden eq '2019JJ00'"


# -- retries -------------------------------------------------------------------------------


def test_recovers_from_500_with_exponential_backoff(cbs_client, cbs_server, sleeps):
    cbs_server.script(PROPS, Fault.http(500), Fault.http(503))
    assert cbs_client.v4.properties("03759ned").data["Identifier"] == "03759ned"
    assert sleeps == [0.5, 1.0]
    assert [r.fault for r in cbs_server.requests_to(PROPS)] == ["http", "http", None]


def test_429_waits_exactly_as_long_as_retry_after_says(cbs_client, cbs_server, sleeps):
    cbs_server.script(PROPS, Fault.http(429, retry_after="7"))
    cbs_client.v4.properties("03759ned")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_capped_by_backoff_max(cbs_client, cbs_server, sleeps):
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    cbs_server.script(PROPS, Fault.http(503, retry_after=later))
    cbs_client.v4.properties("03759ned")
    assert sleeps == [30.0]


def test_read_timeout_then_success(cbs_server, make_client, sleeps):
    client = make_client(cbs_server, timeout=(1.0, 0.2))
    cbs_server.script(PROPS, Fault.slow(1.5))
    assert client.v4.properties("03759ned").data["Version"] == "202606230000"
    assert sleeps == [0.5]
    assert len(cbs_server.requests_to(PROPS)) == 2


@pytest.mark.parametrize("fault", [Fault.reset(), Fault.premature_eof(), Fault.truncated(), Fault.invalid_json(),
                                   Fault.html_200(), Fault.http(502)], ids=lambda f: f.kind)
def test_each_transient_fault_is_retried_once_then_the_real_body_is_returned(cbs_client, cbs_server, sleeps,
                                                                             cbs_data_dir, fault):
    cbs_server.script(PROPS, fault)
    page = cbs_client.v4.properties("03759ned")
    assert page.body == (cbs_data_dir / "api-samples/v4_datasets.cbs.nl/03759ned/properties.json").read_bytes()
    assert sleeps == [0.5]


def test_truncated_body_that_persists_raises_naming_table_and_url(cbs_client, cbs_server, sleeps):
    cbs_server.always(PROPS, Fault.truncated())
    with pytest.raises(CbsFetchError) as err:
        cbs_client.v4.properties("03759ned")
    message = str(err.value)
    assert "03759ned" in message and f"{cbs_server.base_url}{PROPS}" in message
    assert "invalid or truncated JSON" in message and "4 attempts" in message
    assert len(cbs_server.requests_to(PROPS)) == 4 and sleeps == [0.5, 1.0, 2.0]
    assert not isinstance(err.value, TooManyRecordsError)


def test_html_page_with_status_200_that_persists_raises(cbs_client, cbs_server):
    cbs_server.always(PROPS, Fault.html_200())
    with pytest.raises(CbsFetchError, match=r"HTTP 200 with an HTML page instead of JSON") as err:
        cbs_client.v4.properties("03759ned")
    assert err.value.url.endswith(PROPS) and err.value.table_id == "03759ned"


def test_4xx_is_not_retried(cbs_client, cbs_server, sleeps):
    with pytest.raises(CbsFetchError, match="HTTP 404") as err:
        cbs_client.v4.properties("99999NED")
    assert err.value.status == 404
    assert len(cbs_server.log) == 1 and sleeps == []


def test_too_many_records_is_raised_at_once_not_retried(cbs_client, cbs_server, sleeps):
    cbs_server.script(f"{V3_API}/83582NED/TypedDataSet", Fault.too_many_records())
    with pytest.raises(TooManyRecordsError, match="83582NED"):
        cbs_client.v3.typed_dataset("83582NED")
    assert len(cbs_server.log) == 1 and sleeps == []


def test_plain_500_is_not_mistaken_for_too_many_records(cbs_client, cbs_server):
    cbs_server.always(f"{V3_API}/83582NED/TypedDataSet", Fault.http(500))
    with pytest.raises(CbsFetchError) as err:
        cbs_client.v3.typed_dataset("83582NED")
    assert not isinstance(err.value, TooManyRecordsError) and err.value.status == 500


# -- v3 ------------------------------------------------------------------------------------


def test_v3_filter_needs_padded_keys_like_cbs(cbs_client, cbs_server):
    padded = cbs_client.v3.typed_dataset("83582NED", filter=region_period_filter(["CR08"], ["2019JJ00"], padded_width=6))
    assert padded.row_count == 28
    assert {r["RegioS"] for r in padded.value} == {"CR08  "}  # kept as received
    total = [r for r in padded.value if r["BedrijfstakkenBranchesSBI2008"] == "T001081"]
    assert [r["BanenVanWerknemersInDecember_1"] for r in total] == [63.7]
    unpadded = cbs_client.v3.typed_dataset("83582NED", filter=region_period_filter(["CR08"], ["2019JJ00"]))
    assert unpadded.row_count == 0
    assert all(r.query["$format"] == "json" for r in cbs_server.log)


def test_v3_feed_follows_odata_next_link_without_at(cbs_server_factory, make_client, cbs_data_dir):
    server = cbs_server_factory(feed_page_size=500)
    pages = list(make_client(server).v3.feed_typed_dataset("83582NED"))
    assert [p.row_count for p in pages] == [500, 500, 500, 180]
    assert "odata.nextLink" in pages[0].data and "@odata.nextLink" not in pages[0].data
    with open(cbs_data_dir / "cbs/83582NED_TypedDataSet_CR07-CR10_2010-2024_extract.csv", newline="") as fh:
        expected_ids = [int(r["ID"]) for r in csv.DictReader(fh)]
    assert [r["ID"] for r in _rows(pages)] == expected_ids
    assert all(r.query["$format"] == "json" for r in server.requests_to(f"{V3_FEED}/83582NED/TypedDataSet"))


def test_v3_feed_resumes_from_a_stored_next_link(cbs_server_factory, make_client):
    server = cbs_server_factory(feed_page_size=500)
    client = make_client(server)
    first_two = list(client.v3.feed_typed_dataset("83582NED"))[:2]
    before = len(server.log)
    rest = list(client.v3.feed_typed_dataset("83582NED", resume_from=first_two[1].next_link))
    assert [p.row_count for p in rest] == [500, 180]
    assert [r.page for r in server.log[before:]] == [3, 4]


def test_v3_metadata_and_catalog(cbs_client, cbs_server):
    props = cbs_client.v3.data_properties("83583NED").value
    topic = next(p for p in props if p["Type"] == "Topic")
    assert (topic["Key"], topic["Unit"], topic["Decimals"]) == ("BanenVanWerknemersInDecember_1", "x 1 000", 1)
    periods = cbs_client.v3.dimension("83583NED", "Perioden").value
    assert [p["Key"] for p in periods][:2] == ["2010JJ00", "2011JJ00"] and len(periods) == 10
    names = [s["name"] for s in cbs_client.v3.service_document("83583NED").value]
    assert {"TableInfos", "DataProperties", "Perioden", "TypedDataSet"} <= set(names)
    (page,) = cbs_client.v3.catalog(filter=f"Identifier eq {odata_literal('83583NED')}")
    assert [(t["Identifier"], t["Modified"]) for t in page.value] == [("83583NED", "2020-11-19T02:00:00")]
    (request,) = cbs_server.requests_to(V3_CATALOG)
    assert request.query["$format"] == "json" and "Modified" in request.query["$select"].split(",")


# -- filter helpers and the server itself -------------------------------------------------


def test_filter_helpers_pad_and_quote():
    assert region_period_filter(["CR08", "GM0114"], ["2019JJ00"], padded_width=6) == (
        "(RegioS eq 'CR08  ' or RegioS eq 'GM0114') and (Perioden eq '2019JJ00')")
    assert region_period_filter(["NL01"]) == "(RegioS eq 'NL01')"
    assert region_period_filter() is None
    assert odata_literal("'s-Hertogenbosch") == "'''s-Hertogenbosch'"
    with pytest.raises(ValueError, match="longer than the padded width"):
        region_period_filter(["GM0114"], padded_width=4)
    with pytest.raises(ValueError):
        region_period_filter(["NL01"], region_field="RegioS) or (1")


def test_server_is_loopback_only_and_gone_after_stop(cbs_server_factory):
    server = cbs_server_factory()
    url = f"{server.base_url}{PROPS}"
    assert url.startswith("http://127.0.0.1:")
    assert requests.get(url, timeout=2).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
