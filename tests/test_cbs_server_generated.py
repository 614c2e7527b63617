"""The local CBS server's generated national-scale table (benchmarks/synthetic.py), and paging and
filtering on the recorded tables. A small slice of the table (NL, LD, PV and CR: 57 regions x 28 SBI
codes x 2 years = 3,192 rows) keeps these fast; the full shape is checked on the generator."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest
import requests

from benchmarks import synthetic
from regiostat.landing.zone import LandingZone
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.client import CbsFetchError, TooManyRecordsError
from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table
from tests.cbs_http_server import V3_CATALOG, V3_FEED, V4
from tests.conftest import PATHS

TABLE = synthetic.TABLE_ID
ROWS = 57 * 28 * 2
FEED = f"{V3_FEED}/{TABLE}/TypedDataSet"
OBS = f"{V4}/{TABLE}/Observations"


@pytest.fixture(scope="module")
def table() -> synthetic.NationalTable:
    return synthetic.generate(periods=2, region_prefixes=("NL", "LD", "PV", "CR"))


@pytest.fixture
def server(cbs_server_factory, table):
    # the small slice would fit under CBS's 10,000-cell limit; a lower limit keeps the national-scale behaviour
    return cbs_server_factory(synthetic=table, feed_page_size=1000, v4_page_size=1500, api_cell_limit=2000)


def _rows(pages):
    return [row for page in pages for row in page.value]


def test_generator_has_the_national_shape_and_is_seeded():
    full = synthetic.generate(periods=75)
    assert [len(d) for d in full.dimensions] == [28, 892, 75]
    assert full.row_count == 1_873_200
    assert synthetic.generate(periods=15).row_count == 374_640
    sbi, regions, periods = full.dimensions
    assert sbi.v3_keys[:2] == ("T001081", "301000 ") and regions.v3_keys[:2] == ("NL01  ", "LD01  ")
    assert (periods.codes[0], periods.codes[-1], periods.statuses[-1]) == ("1990JJ00", "2064JJ00", "Voorlopig")
    assert synthetic.generate(periods=15).dimensions[2].codes[::14] == ("2010JJ00", "2024JJ00")
    again = synthetic.generate(periods=75)
    assert again.tenths.equals(full.tenths)
    assert not synthetic.generate(periods=75, seed=1).tenths.equals(full.tenths)
    assert "SYNTHETIC" in full.title and "not CBS data" in full.title


def test_generated_values_obey_the_sums_cbs_data_obeys(table):
    frame = table.frame(pl.int_range(0, table.row_count, eager=True), "v4")  # every row
    value = {(r["BedrijfstakkenBranchesSBI2008"], r["RegioS"], r["Perioden"]): r["Value"]
             for r in frame.iter_rows(named=True)}
    regions = table.dimensions[1].codes
    for region in regions:
        for period in ("2023JJ00", "2024JJ00"):
            def v(code, region=region, period=period):
                return value[(code, region, period)]
            assert v("T001081") == pytest.approx(v("301000") + v("300003") + v("300007") + v("300013"), abs=1e-6)
            assert v("300003") == pytest.approx(v("300002") + v("350000"), abs=1e-6)
            assert v("307500") <= v("300003")
    for code in ("T001081", "307500"):
        lands = sum(value[(code, ld, "2024JJ00")] for ld in regions if ld.startswith("LD"))
        assert lands == pytest.approx(value[(code, "NL01", "2024JJ00")], abs=1e-6)
        coroppen = sum(value[(code, cr, "2024JJ00")] for cr in regions if cr.startswith("CR"))
        assert coroppen == pytest.approx(value[(code, "NL01", "2024JJ00")], abs=1e-6)


# -- v3 ---------------------------------------------------------------------------------------------


def test_v3_metadata_of_the_generated_table(server, make_client):
    client = make_client(server)
    names = [s["name"] for s in client.v3.service_document(TABLE).value]
    assert names == ["TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties",
                     "BedrijfstakkenBranchesSBI2008", "RegioS", "Perioden"]
    (info,) = client.v3.table_infos(TABLE).value
    assert "SYNTHETIC" in info["Title"] and info["Modified"] == synthetic.MODIFIED_V3 and info["RecordCount"] == ROWS
    props = {p["Key"]: p for p in client.v3.data_properties(TABLE).value}
    assert [props[k]["Type"] for k in ("BedrijfstakkenBranchesSBI2008", "RegioS", "Perioden")] == [
        "Dimension", "GeoDimension", "TimeDimension"]
    assert (props[synthetic.TOPIC]["Unit"], props[synthetic.TOPIC]["Decimals"]) == ("x 1 000", 1)
    periods = client.v3.dimension(TABLE, "Perioden").value
    assert [(p["Key"], p["Status"]) for p in periods] == [("2023JJ00", "NaderVoorlopig"), ("2024JJ00", "Voorlopig")]
    regions = client.v3.dimension(TABLE, "RegioS").value
    assert len(regions) == 57 and regions[0]["Key"] == "NL01  "
    catalog = _rows(client.v3.catalog(filter=f"Identifier eq '{TABLE}'"))
    assert [(t["Identifier"], t["Modified"]) for t in catalog] == [(TABLE, synthetic.MODIFIED_V3)]


def test_v3_api_refuses_the_whole_table_and_the_feed_pages_it_with_padded_keys(server, make_client):
    client = make_client(server)
    with pytest.raises(TooManyRecordsError):
        client.v3.typed_dataset(TABLE)
    pages = list(client.v3.feed_typed_dataset(TABLE))
    assert [p.row_count for p in pages] == [1000, 1000, 1000, 192]
    assert "odata.nextLink" in pages[0].data and "@odata.nextLink" not in pages[0].data
    rows = _rows(pages)
    assert [r["ID"] for r in rows] == list(range(ROWS))
    assert list(rows[0]) == ["ID", "BedrijfstakkenBranchesSBI2008", "RegioS", "Perioden", synthetic.TOPIC]
    assert {r["RegioS"] for r in rows} >= {"CR08  ", "NL01  "} and {"301000 ", "T001081"} <= {
        r["BedrijfstakkenBranchesSBI2008"] for r in rows}
    assert [r.page for r in server.requests_to(FEED)] == [1, 2, 3, 4]


def test_v3_filters_of_the_shipped_config_and_of_regiostat_are_evaluated(server, make_client):
    client = make_client(server)
    corop = _rows(client.v3.feed_typed_dataset(TABLE, filter="substringof('CR', RegioS)"))
    assert len(corop) == 40 * 28 * 2 and all(r["RegioS"].startswith("CR") for r in corop)
    one = client.v3.typed_dataset(TABLE, filter="RegioS eq 'CR08  ' and Perioden ge '2024JJ00'")
    assert one.row_count == 28 and {r["Perioden"] for r in one.value} == {"2024JJ00"}
    with pytest.raises(CbsFetchError) as err:
        client.v3.typed_dataset(TABLE, filter="indexof(RegioS,'CR') eq 0")
    assert err.value.status == 400


def test_top_and_skip_window_the_feed_and_next_links_carry_the_rest(server):
    url = f"{server.base_url}{FEED}?$format=json&$skip=10&$top=1500"
    first = requests.get(url, timeout=10).json()
    assert [r["ID"] for r in first["value"]][:2] == [10, 11] and len(first["value"]) == 1000
    assert "$top=500" in first["odata.nextLink"] and "$skip=1010" in first["odata.nextLink"]
    second = requests.get(first["odata.nextLink"], timeout=10).json()
    assert len(second["value"]) == 500 and "odata.nextLink" not in second


def test_untyped_dataset_and_select(server):
    base = f"{server.base_url}{V3_FEED}/{TABLE}"
    untyped = requests.get(f"{base}/UntypedDataSet?$format=json&$top=2", timeout=10).json()["value"]
    assert isinstance(untyped[0][synthetic.TOPIC], str) and untyped[0][synthetic.TOPIC].startswith(" ")
    picked = requests.get(f"{base}/TypedDataSet?$format=json&$top=1&$select=RegioS,{synthetic.TOPIC}",
                          timeout=10).json()["value"]
    assert list(picked[0]) == ["RegioS", synthetic.TOPIC]
    assert requests.get(f"{base}/TypedDataSet?$format=json&$select=Nope", timeout=10).status_code == 400


def test_fetch_v3_lands_the_generated_table_through_the_feed(server, make_client, tmp_path):
    zone = LandingZone(tmp_path / "landing")
    result = fetch_v3_table(make_client(server), zone, TABLE)
    assert (result.source, result.pages, result.rows) == ("cbs_v3_feed", 4, ROWS)
    entities = {e.entity for e in zone.pages_of(result.fetch_id)}
    assert {"TableInfos", "DataProperties", "RegioS", "Perioden", "BedrijfstakkenBranchesSBI2008"} <= entities
    assert "UntypedDataSet" not in entities


# -- v4 ---------------------------------------------------------------------------------------------


def test_v4_metadata_of_the_generated_table(server, make_client):
    client = make_client(server)
    props = client.v4.properties(TABLE).data
    assert "SYNTHETIC" in props["Title"] and props["ObservationCount"] == ROWS
    assert (props["Version"], props["ObservationsModified"]) == (synthetic.VERSION_V4, synthetic.MODIFIED_V4)
    dims = {d["Identifier"]: d["Kind"] for d in client.v4.dimensions(TABLE).value}
    assert dims == {"BedrijfstakkenBranchesSBI2008": "Dimension", "RegioS": "GeoDimension",
                    "Perioden": "TimeDimension"}
    assert [m["Identifier"] for m in client.v4.measure_codes(TABLE).value] == [synthetic.TOPIC]
    regions = client.v4.codes(TABLE, "RegioS").value
    assert len(regions) == 57 and regions[0]["Identifier"] == "NL01"
    assert client.v4.codes(TABLE, "Perioden").value[-1]["Status"] == "Voorlopig"
    catalog = _rows(client.v4.catalog())
    assert [d["Modified"] for d in catalog if d["Identifier"] == TABLE] == [synthetic.MODIFIED_V4]


def test_v4_observations_page_with_at_next_link_and_unpadded_codes(server, make_client):
    pages = list(make_client(server).v4.observations(TABLE))
    assert [p.row_count for p in pages] == [1500, 1500, 192]
    assert "@odata.nextLink" in pages[0].data
    rows = _rows(pages)
    assert [r["Id"] for r in rows] == list(range(ROWS))
    assert list(rows[0]) == ["Id", "Measure", "ValueAttribute", "Value", "StringValue",
                             "BedrijfstakkenBranchesSBI2008", "RegioS", "Perioden"]
    assert {r["RegioS"] for r in rows} >= {"CR08", "NL01"} and "301000" in {
        r["BedrijfstakkenBranchesSBI2008"] for r in rows}


def test_v4_filter_and_count(server, make_client):
    client = make_client(server)
    pv = _rows(client.v4.observations(TABLE, filter="startswith(RegioS,'PV') and Perioden eq '2024JJ00'"))
    assert len(pv) == 12 * 28 and {r["Perioden"] for r in pv} == {"2024JJ00"}
    counted = requests.get(f"{server.base_url}{OBS}?$count=true&$top=0", timeout=10).json()
    assert counted["@odata.count"] == ROWS and counted["value"] == []


def test_fetch_v4_lands_the_generated_table(server, make_client, tmp_path):
    zone = LandingZone(tmp_path / "landing")
    result = fetch_v4_table(make_client(server), zone, TABLE)
    assert (result.source, result.pages, result.rows) == ("cbs_v4", 3, ROWS)
    entities = {e.entity for e in zone.pages_of(result.fetch_id)}
    assert {"Properties", "Dimensions", "MeasureCodes", "RegioSCodes", "PeriodenCodes"} <= entities


# -- the recorded tables ----------------------------------------------------------------------------


def test_recorded_v4_observations_with_the_shipped_filter_stay_byte_for_byte(cbs_server, make_client, cbs_data_dir):
    shipped = next(s.live_filter for s in load_catalog(PATHS.tables_toml) if s.id == "03759NED")
    (page,) = make_client(cbs_server).v4.observations("03759ned", filter=shipped)
    recorded = cbs_data_dir / "api-samples/v4_datasets.cbs.nl/03759ned/observations-page-1.json.gz"
    assert page.body == gzip.decompress(recorded.read_bytes())  # every recorded row matches the shipped filter
    gm = _rows(make_client(cbs_server).v4.observations("03759ned", filter="startswith(RegioS,'GM')"))
    assert gm and all(r["RegioS"].startswith("GM") for r in gm) and len(gm) < 13_568
    counted = requests.get(f"{cbs_server.base_url}{V4}/03759ned/Observations?$count=true&$top=0", timeout=10).json()
    assert counted["@odata.count"] == 13_568 and counted["value"] == []


def test_recorded_v3_tables_answer_substringof(cbs_server, make_client):
    client = make_client(cbs_server)
    assert client.v3.typed_dataset("83582NED", filter="substringof('CR', RegioS)").row_count == 1680
    assert client.v3.typed_dataset("83582NED", filter="substringof('CR08', RegioS)").row_count == 420
    kwb = _rows(client.v3.feed_typed_dataset(
        "84799NED", filter="substringof('GM', WijkenEnBuurten) or substringof('NL', WijkenEnBuurten)"))
    assert len(kwb) == 356 and isinstance(kwb[1]["Gemeentenaam_1"], str) and isinstance(kwb[1]["AantalInwoners_5"], int)
    catalog = requests.get(f"{cbs_server.base_url}{V3_CATALOG}?$format=json&$filter=substringof('835', Identifier)",
                           timeout=10)
    assert [t["Identifier"] for t in json.loads(catalog.content)["value"]] == ["83583NED"]
