"""Each source format is read into the same raw shape; a file that drifts from its format is refused by name."""

import json

import pytest

from regiostat.landing.zone import LandingZone
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.readers import CaptureError, read_capture
from regiostat.sources.protocol import SourceError
from tests.conftest import PATHS

SPECS = {s.id: s for s in load_catalog(PATHS.tables_toml)}


def _capture(zone, fetch_id):
    return read_capture(zone, zone.pages_of(fetch_id), SPECS[zone.pages_of(fetch_id)[0].table_id])


def test_every_bundled_fetch_reads_into_the_raw_shape(bundled_zone):
    shapes = {}
    for table in SPECS:
        for fetch in bundled_zone.complete_fetches(table):
            cap = _capture(bundled_zone, fetch)
            shapes[fetch] = (cap.source_format, cap.observations.height)
    assert shapes == {
        "20260702T121102Z-03759NED": ("cbs_v4", 13568),
        "bundle-03759NED-statline-metadata": ("statline_csv", 0),
        "bundle-83582NED-corop": ("cbs_v3_feed", 17220),
        "bundle-83583NED-statline-bq": ("cbs_v3_api", 7440),
        "bundle-70072NED-2018-06-06": ("statline_csv", 770 * 7),
        "bundle-70072NED-2019-12-29": ("statline_csv", 300 * 7),
        "bundle-81578NED-stock-panel": ("derived_csv", 110),
        "bundle-84799NED-statline-bq": ("cbs_v3_api", 356 * 111),  # 111 numeric topics of 118 columns
        "bundle-81575NED-per-gemeente": ("derived_json", 342),
    }


def test_70072ned_versions_map_to_one_measure_id(bundled_zone):
    ids = {}
    for fetch in bundled_zone.complete_fetches("70072NED"):
        m = _capture(bundled_zone, fetch).measures
        ids[fetch] = dict(zip(m["measure_code"], m["measure_id"], strict=True))
    assert ids["bundle-70072NED-2018-06-06"]["BedrijfsvestigingenTotaal_168"] == "BedrijfsvestigingenTotaal"
    assert ids["bundle-70072NED-2019-12-29"]["BedrijfsvestigingenTotaal_164"] == "BedrijfsvestigingenTotaal"
    assert "ALandbouwBosbouwEnVisserij_117" not in ids["bundle-70072NED-2019-12-29"]  # the % column


def _land_v4_page(tmp_path, rows):
    zone = LandingZone(tmp_path)
    dims = {"value": [{"Identifier": "RegioS", "Kind": "GeoDimension"},
                      {"Identifier": "Perioden", "Kind": "TimeDimension"}]}
    common = dict(source="cbs_v4", table_id="03759NED", fetch_id="f", media_type="application/json", origin="u")
    zone.write(json.dumps(dims).encode(), entity="Dimensions", **common)
    page = zone.write(json.dumps({"value": rows}).encode(), entity="Observations", **common)
    zone.mark_complete("03759NED", "f", source="cbs_v4", origin="u", rows=len(rows))
    return zone, page


ROW = {"Id": 1, "Measure": "M000352", "ValueAttribute": "None", "Value": 5.0, "StringValue": None,
       "RegioS": "NL01", "Perioden": "2019JJ00"}


def test_v4_page_read(tmp_path):
    zone, _ = _land_v4_page(tmp_path, [ROW])
    assert _capture(zone, "f").observations["value_raw"].to_list() == ["5.0"]


@pytest.mark.parametrize(("row", "rule"), [
    ({k: v for k, v in ROW.items() if k != "Measure"}, "Measure"),           # column dropped
    ({**{k: v for k, v in ROW.items() if k != "RegioS"}, "Regio": "NL01"}, "RegioS"),  # column renamed
    ({**ROW, "ValueAttribute": "Secret"}, "isin"),                           # unknown attribute
    ({**ROW, "Value": "vijf"}, "Value"),                                     # changed type
])
def test_v4_schema_drift_is_refused_naming_the_file(tmp_path, row, rule):
    zone, page = _land_v4_page(tmp_path, [row])
    with pytest.raises(CaptureError) as err:
        _capture(zone, "f")
    assert page.path in str(err.value) and rule in str(err.value)


def _land_derived_json(tmp_path, doc):
    zone = LandingZone(tmp_path)
    page = zone.write(json.dumps(doc).encode(), source="derived_json", table_id="81575NED", fetch_id="j",
                      entity="per_gemeente", media_type="application/json", origin="u")
    zone.mark_complete("81575NED", "j", source="derived_json", origin="u", rows=len(doc.get("per_gemeente", {})))
    return zone, page


def test_a_processed_json_reads_with_its_prefix_period_and_declared_measure(tmp_path):
    """Synthetic two-municipality document in the shape of the bundled 81575NED file (not real figures)."""
    zone, _ = _land_derived_json(tmp_path, {"periode": "2026JJ00", "per_gemeente": {"0114": 10, "0109": 20}})
    cap = _capture(zone, "j")
    assert cap.observations.select("region_raw", "period_raw", "value_raw", "other_dims_raw").rows() == [
        ("GM0114", "2026JJ00", "10", "BedrijfstakkenBranchesSBI2008=T001081"),
        ("GM0109", "2026JJ00", "20", "BedrijfstakkenBranchesSBI2008=T001081")]
    assert cap.measures.select("measure_id", "unit", "metadata_origin").rows() == [("Vestigingen", "aantal", "declared")]


@pytest.mark.parametrize(("doc", "rule"), [
    ({"periode": "2026JJ00", "per_gemeente": {"GM0114": 10}}, "region_key"),    # prefix not stripped
    ({"periode": "2026", "per_gemeente": {"0114": 10}}, "period_raw"),          # not a CBS period code
    ({"periode": "2026JJ00", "per_gemeente": {"0114": "tien"}}, "value_raw"),   # not a number
    ({"periode": "2026JJ00", "gemeenten": {"0114": 10}}, "per_gemeente"),      # values under another key
])
def test_a_processed_json_that_drifts_is_refused_naming_file_and_rule(tmp_path, doc, rule):
    zone, page = _land_derived_json(tmp_path, doc)
    with pytest.raises(SourceError) as err:
        _capture(zone, "j")
    assert page.path in str(err.value) and rule in str(err.value)


def test_a_live_v3_answer_of_a_table_bundled_as_csv_gets_the_declared_measure_ids(tmp_path):
    """70072NED is bundled as StatLine CSV exports but fetched live from the v3 API, whose keys carry another
    _<n> suffix; both must give the ids config/indicators.toml names. (Response shape generated here, synthetic.)"""
    zone = LandingZone(tmp_path)
    common = dict(source="cbs_v3_api", table_id="70072NED", fetch_id="live", media_type="application/json",
                  origin="u")
    props = [{"Key": "RegioS", "Type": "GeoDimension"}, {"Key": "Perioden", "Type": "TimeDimension"},
             {"Key": "TotaleBevolking_1", "Type": "Topic", "Datatype": "Long", "Unit": "aantal"},
             {"Key": "ALandbouwBosbouwEnVisserij_112", "Type": "Topic", "Datatype": "Long", "Unit": "x 1 000"},
             {"Key": "ALandbouwBosbouwEnVisserij_117", "Type": "Topic", "Datatype": "Double", "Unit": "%"}]
    zone.write(json.dumps({"value": props}).encode(), entity="DataProperties", **common)
    row = {"ID": 0, "RegioS": "GM0114  ", "Perioden": "2019JJ00", "TotaleBevolking_1": 1,
           "ALandbouwBosbouwEnVisserij_112": 2, "ALandbouwBosbouwEnVisserij_117": 3.0}
    zone.write(json.dumps({"value": [row]}).encode(), entity="TypedDataSet", **common)
    zone.mark_complete("70072NED", "live", source="cbs_v3_api", origin="u", rows=1)
    m = _capture(zone, "live").measures
    assert dict(zip(m["measure_code"], m["measure_id"], strict=True)) == {
        "TotaleBevolking_1": "TotaleBevolking",
        "ALandbouwBosbouwEnVisserij_112": "ALandbouwBosbouwEnVisserij",
        "ALandbouwBosbouwEnVisserij_117": "ALandbouwBosbouwEnVisserij_117",  # the % column keeps its own key
    }
