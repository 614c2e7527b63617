"""The LISA inbox: the sensor notices new and changed files; broken files are quarantined, good ones land."""

import json
import shutil

import dagster as dg
import pytest

from pipelines.definitions import make_definitions
from pipelines.resources import make_resources
from regiostat.landing.zone import LandingZone
from tests.conftest import BUNDLED_LISA

REAL_LISA = BUNDLED_LISA / "lisa_gemeente_2017_banen_vestigingen.tsv"
LISA_LANDING = dg.AssetKey(["landing", "lisa_exports"])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("REGIOSTAT_MODE", "live")  # only the inbox, not the bundled LISA files
    (tmp_path / "lisa_inbox").mkdir()
    return tmp_path


def _sensor_tick(home, cursor):
    defs = make_definitions(home)
    sensor = defs.resolve_sensor_def("lisa_inbox")
    context = dg.build_sensor_context(cursor=cursor, resources={"settings": defs.resources["settings"]})
    result = sensor.evaluate_tick(context)
    return result, result.cursor


def test_sensor_requests_a_run_when_a_file_appears_or_changes(home):
    # what a published first build leaves (before one the sensor waits: tests/test_first_impressions.py)
    (home / "build").mkdir()
    (home / "build" / "regional_build.duckdb").touch()
    (home / "build" / "published_inputs.json").write_text("{}")
    result, cursor = _sensor_tick(home, None)
    assert not result.run_requests and "no new or changed files" in result.skip_message
    inbox_file = home / "lisa_inbox" / "lisa_2017.tsv"
    shutil.copyfile(REAL_LISA, inbox_file)
    result, cursor = _sensor_tick(home, cursor)
    assert len(result.run_requests) == 1
    first_key = result.run_requests[0].run_key
    assert "lisa_2017.tsv" in result.run_requests[0].tags["regiostat/lisa_files"]
    result, cursor = _sensor_tick(home, cursor)
    assert not result.run_requests  # unchanged: nothing to do
    inbox_file.write_bytes(inbox_file.read_bytes().replace(b'"Emmen"\t"2017"\t"45390"', b'"Emmen"\t"2017"\t"45391"'))
    result, _ = _sensor_tick(home, cursor)
    assert len(result.run_requests) == 1 and result.run_requests[0].run_key != first_key


def test_broken_file_is_quarantined_and_the_good_one_still_lands(home):
    shutil.copyfile(REAL_LISA, home / "lisa_inbox" / "lisa_2017.tsv")
    (home / "lisa_inbox" / "hand_edited.csv").write_text(  # synthetic, deliberately broken
        "Gemeente,Jaar,Banen totaal,Vestigingen totaal\nEmmen,2017,-5,10\n")
    resources = make_resources(home)
    # the municipality lookup comes from the bundled CBS code list: land it as the bundled mode would
    bundled = LandingZone(resources["settings"].bundled_landing_dir)
    zone = LandingZone(resources["settings"].landing_dir)
    for fetch in bundled.complete_fetches("03759NED"):
        zone.import_fetch(bundled, fetch)
    lisa_exports = make_definitions(home).resolve_assets_def(LISA_LANDING)  # bound to the same resources
    result = dg.materialize([lisa_exports], selection=[lisa_exports.key])
    assert result.success
    meta = result.asset_materializations_for_node("landing__lisa_exports")[0].metadata
    assert meta["files_landed"].value == 1 and meta["files_quarantined"].value == 1
    refused = meta["quarantined"].value[0]
    assert (refused["file"], refused["rule"], refused["row"]) == ("hand_edited.csv", "negative_value", 2)
    notes = list((home / "quarantine").glob("*.error.json"))
    assert len(notes) == 1 and json.loads(notes[0].read_text())["column"] == "Banen totaal"
    assert [e.origin for e in zone.entries() if e.table_id == "LISA" and e.entity != "_complete"] == ["lisa_2017.tsv"]
