"""StatLine CSV downloads: the real exports, and the ways a download goes wrong."""

import pytest

from regiostat.landing.zone import LandingZone
from regiostat.sources.cbs.statline_csv import (
    StatlineCsvError,
    import_download,
    parse_download_name,
    read_metadata,
    read_untyped,
)
from tests.conftest import bundled_entry, bundled_file

DOWNLOAD_2019 = "bundle-70072NED-2019-12-29"


def test_real_untyped_download_keeps_values_as_written(bundled_zone):
    entry = bundled_entry(bundled_zone, "70072NED", "UntypedDataSet", DOWNLOAD_2019)
    df = read_untyped(bundled_zone.read_bytes(entry), entry.path)
    assert df.shape == (300, 309)
    pv22_2016 = df.filter(df["RegioS"].str.strip_chars() == "PV22", df["Perioden"] == "2016JJ00")
    assert pv22_2016["TotaalAantalBanen_112"].item() == "   190.7"  # right-aligned, as StatLine writes it
    assert pv22_2016["BedrijfsvestigingenTotaal_164"].item().strip() == "37555"
    assert (df["BronInkomenAlsZelfstandige_128"].str.strip_chars() == ".").any()  # StatLine's missing mark


def test_real_metadata_download_has_sections_codes_and_statuses(bundled_zone):
    sections = read_metadata(bundled_file(bundled_zone, "03759NED", "metadata"), "03759ned_metadata.csv")
    assert {"TableInfos", "DataProperties", "Geslacht", "Leeftijd", "BurgerlijkeStaat", "RegioS",
            "Perioden"} <= sections.keys()
    props = sections["DataProperties"]
    topic = props.filter(props["Key"] == "BevolkingOp1Januari_1")
    assert (topic["Unit"].item(), topic["Decimals"].item()) == ("aantal", "0")
    regions = sections["RegioS"]
    assert regions.height == 887 and "CR08  " in regions["Key"].to_list()
    assert set(sections["Perioden"]["Status"]) == {"Definitief"}


def test_download_name_gives_table_and_time():
    name = parse_download_name("70072ned_UntypedDataSet_29122019_191739.csv")
    assert (name.table_id, name.kind, name.downloaded_at) == ("70072NED", "UntypedDataSet", "2019-12-29T19:17:39")
    with pytest.raises(StatlineCsvError, match="not a StatLine download name"):
        parse_download_name("export.csv")


def test_import_lands_a_complete_fetch(tmp_path, bundled_zone):
    src = tmp_path / "70072ned_UntypedDataSet_29122019_191739.csv"
    src.write_bytes(bundled_file(bundled_zone, "70072NED", "UntypedDataSet", DOWNLOAD_2019))
    zone = LandingZone(tmp_path / "landing")
    entries = import_download(zone, src)
    assert entries[0].vintage == "2019-12-29T19:17:39" and entries[0].rows == 300
    assert zone.complete_fetches("70072NED") == [entries[0].fetch_id]
    assert zone.read_bytes(entries[0]) == src.read_bytes()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b'"ID","RegioS","Perioden"\n"1","PV22  ","2016JJ00"\n', "';'-separated header"),
    ('"ID";"RegioS";"Perioden";"Naam_1"\n"1";"GM0363";"2016JJ00";"Sch\xf6nberg"\n'.encode("latin-1"),
     "line 2: not UTF-8"),
])
def test_broken_downloads_get_a_clear_error_naming_the_file(content, message):
    with pytest.raises(StatlineCsvError, match=message) as err:
        read_untyped(content, "bad_download.csv")
    assert "bad_download.csv" in str(err.value)


def test_metadata_without_dataproperties_is_refused():
    with pytest.raises(StatlineCsvError, match="no DataProperties"):
        read_metadata(b'"TableInfos"\n"ID";"Title"\n"0";"x"\n', "meta.csv")
