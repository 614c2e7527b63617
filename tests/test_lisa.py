"""LISA exports: the real 2017 overview and the Noordenveld sector table read correctly; every
broken input in the synthetic corpus (tests/fixtures/lisa/make_corpus.py) is refused with the
right rule, file, row and column."""

import io
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from regiostat.landing.zone import LandingZone
from regiostat.regions.boundaries import load_regios_codes, parse_descriptions
from regiostat.sources.lisa.errors import LisaFileError
from regiostat.sources.lisa.landing import land_lisa_file, safe_landing_name
from regiostat.sources.lisa.names import municipality_lookup_from_codes
from regiostat.sources.lisa.reader import read_lisa_export
from tests.conftest import BUNDLED_LISA
from tests.fixtures.lisa.make_corpus import SECTOR_HEADER, SECTOR_ROWS, UNSAFE_NAMES, cases, text

HERE = Path(__file__).parent
LISA_2017 = BUNDLED_LISA / "lisa_gemeente_2017_banen_vestigingen.tsv"
NOORDENVELD = BUNDLED_LISA / "noordenveld_GM1699_werkgelegenheid_sector_2011_2016.csv"
CODES = HERE / "fixtures" / "cbs_recordings" / "api-samples" / "v4_datasets.cbs.nl" / "03759ned" / "codes-RegioS.json"


@pytest.fixture(scope="module")
def lookup() -> pl.DataFrame:
    return municipality_lookup_from_codes(CODES.read_bytes())


def read(path_or_bytes, filename=None, *, lookup, **kwargs):
    content = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return read_lisa_export(content, filename or path_or_bytes.name, municipalities=lookup, **kwargs)


def values(export, measure) -> dict[str, float]:
    obs = export.observations.filter(pl.col("measure") == measure)
    return dict(zip(obs["region_code"], obs["value"], strict=True))


# -- the municipality lookup -------------------------------------------------------------------

def test_lookup_from_cbs_codes_keeps_abolished_municipalities_with_their_years(lookup):
    rows = {r["code"]: r for r in lookup.to_dicts()}
    assert all(code.startswith("GM") for code in rows) and "GM0997" not in rows  # CPR is no municipality
    assert (rows["GM0738"]["name"], rows["GM0738"]["valid_from"], rows["GM0738"]["valid_to"]) == ("Aalburg", 1973, 2018)
    assert rows["GM1699"]["valid_from"] == 1998 and rows["GM1699"]["valid_to"] is None
    assert rows["GM0014"]["name"] == "Groningen (gemeente)"


def test_lookup_years_agree_with_the_boundary_lifetimes(lookup):
    """valid_from/valid_to are boundaries' begin and abolition dates as years of existence on 1 April."""
    def first_year(d):  # begun on d: on the map of 1 April of d.year only if d is not after it
        return None if d is None else d.year + (d > date(d.year, 4, 1))

    def last_year(d):  # abolished on d: still there on 1 April of d.year only if d is after it
        return None if d is None else d.year - (d <= date(d.year, 4, 1))

    life = parse_descriptions(load_regios_codes(CODES)).lifetimes.filter(
        pl.col("code").str.starts_with("GM") & (pl.col("code") != "GM0997"))  # the CPR is no municipality
    expected = {r["code"]: (r["name"], first_year(r["begin_date"]), last_year(r["abolished_date"]))
                for r in life.iter_rows(named=True)}
    got = {r["code"]: (r["name"], r["valid_from"], r["valid_to"]) for r in lookup.iter_rows(named=True)}
    assert len(got) == lookup.height == len(expected) == 834
    assert got == expected
    assert got["GM1942"] == ("Gooise Meren", 2016, None)  # formed 01-01-2016, whatever "Begindatum 01-01-2015" says
    assert got["GM1724"][1] == 1999  # Bergeijk, "Begindatum 25-09-1998": not yet there on 1 April 1998
    with pytest.raises(LisaFileError, match="not in 2015"):
        read(text(rows=[["Gooise Meren", "2015", "1111", "11"]]).encode(), "gooise2015.csv", lookup=lookup)
    assert values(read(text(rows=[["Bussum", "2015", "1111", "11"]]).encode(), "bussum2015.csv", lookup=lookup),
                  "jobs_total") == {"GM0381": 1111}


# -- real files ----------------------------------------------------------------------------------

def test_real_lisa_2017_overview_maps_every_name(lookup):
    export = read(LISA_2017, lookup=lookup)
    assert (export.shape, export.file_format, export.encoding) == ("overview", "tsv", "utf-8")
    obs = export.observations
    assert obs.height == 2 * 388 and obs["region_code"].n_unique() == 388 and set(obs["year"]) == {2017}
    jobs, est = values(export, "jobs_total"), values(export, "establishments_total")
    assert (jobs["GM0114"], est["GM0114"]) == (45390, 7810)  # Emmen
    assert (jobs["GM0109"], est["GM0109"]) == (14010, 3040)  # Coevorden
    assert (jobs["GM0118"], est["GM0118"]) == (27900, 4090)  # Hoogeveen
    assert (jobs["GM0160"], est["GM0160"]) == (25090, 5060)  # Hardenberg
    assert jobs["GM0738"] == 4690  # Aalburg existed in 2017 (merged into Altena in 2019)
    names = dict(zip(obs["region_name_in_file"], obs["region_code"], strict=False))
    assert names["'s-Gravenhage"] == "GM0518" and names["Groningen"] == "GM0014" and names["Utrecht"] == "GM0344"
    assert (names["Bergen (NH.)"], names["Bergen (L.)"]) == ("GM0373", "GM0893")
    assert names["Hengelo"] == "GM0164"  # Hengelo (Gld.) was gone by 2017, so the name is unique
    assert names["Súdwest-Fryslân"] == "GM1900"
    row = obs.filter(pl.col("region_code") == "GM0114", pl.col("measure") == "jobs_total")
    emmen_line = LISA_2017.read_text(encoding="utf-8").splitlines().index('"Emmen"\t"2017"\t"45390"\t"7810"') + 1
    assert row["source_row"].item() == emmen_line
    assert export.reference_date == date(2017, 4, 1)
    assert export.attribution == "Bron: LISA 2017"
    assert export.jobs_definition == "fulltimers, parttimers en uitzendkrachten"
    assert export.notes.startswith("Het aantal banen heeft betrekking op het totaal\naantal fulltimers")
    assert "Bron: 'LISA'" in export.notes


def test_real_noordenveld_sectors_sum_to_the_published_totals(lookup):
    export = read(NOORDENVELD, lookup=lookup)
    assert export.shape == "sector_series" and export.years == tuple(range(2011, 2017))
    obs = export.observations
    assert set(obs["region_code"]) == {"GM1699"}
    totals = obs.filter(pl.col("measure") == "jobs_total").sort("year")
    assert totals["value"].to_list() == [11387, 11403, 11265, 10773, 10516, 10549]
    sums = obs.filter(pl.col("measure") == "jobs_sector").group_by("year").agg(pl.col("value").sum()).sort("year")
    assert sums["value"].to_list() == totals["value"].to_list()
    sectors = obs.filter(pl.col("measure") == "jobs_sector", pl.col("year") == 2016)
    assert sectors.height == 18 and sectors["sbi_section"].null_count() == 0
    sbi = dict(zip(sectors["sector"], sectors["sbi_section"], strict=True))
    assert (sbi["Industrie"], sbi["Bouwnijverheid"]) == ("C", "F")
    assert sbi["Groot- en detailhandel; reparatie van auto’s"] == "G"
    assert sorted(sbi.values()) == list("ACDEFGHIJKLMNOPQRS")  # each section once (no B: not in this table)
    assert export.attribution == "Bron: LISA 2011-2016" and export.reference_date == date(2016, 4, 1)


def test_xlsx_built_from_the_real_rows_reads_the_same(lookup):
    """The real TSV rows in a workbook with a title row and an extra sheet give the same observations."""
    lines = LISA_2017.read_text(encoding="utf-8").splitlines()
    table = [line.replace('"', "").split("\t") for line in lines if line.startswith('"')]
    footer = lines[len(table):]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["LISA werkgelegenheid per gemeente 2017"])
    ws.merge_cells("A1:D1")
    ws.append(table[0])
    for name, year, jobs, est in table[1:]:
        ws.append([name, int(year), int(jobs), int(est)])
    for line in footer:
        ws.append([line or None])
    wb.create_sheet("Toelichting").append(["Built in this test from the real LISA 2017 rows."])
    out = io.BytesIO()
    wb.save(out)

    from_tsv = read(LISA_2017, lookup=lookup)
    from_xlsx = read(out.getvalue(), "lisa_2017.xlsx", lookup=lookup)
    assert from_xlsx.file_format == "xlsx" and from_xlsx.media_type.endswith("spreadsheetml.sheet")
    assert from_xlsx.observations.drop("source_row").equals(from_tsv.observations.drop("source_row"))
    assert (from_xlsx.observations["source_row"] - from_tsv.observations["source_row"]).unique().to_list() == [1]
    assert (from_xlsx.attribution, from_xlsx.jobs_definition) == (from_tsv.attribution, from_tsv.jobs_definition)
    assert " ".join(from_xlsx.notes.split()) == " ".join(from_tsv.notes.split())


# -- the synthetic corpus ------------------------------------------------------------------------

CASES = cases()


@pytest.mark.parametrize("case", [c for c in CASES if c.rule], ids=lambda c: c.name)
def test_bad_input_is_refused_with_rule_file_and_row(case, lookup):
    with pytest.raises(LisaFileError) as info:
        read(case.content, case.filename, lookup=lookup, **dict(case.kwargs))
    err = info.value
    assert (err.rule, err.filename) == (case.rule, case.filename), str(err)
    assert err.row == case.row, str(err)
    if case.column is not None:
        assert err.column == case.column, str(err)
    assert str(err).startswith(case.filename) and case.rule in str(err)


@pytest.mark.parametrize("case", [c for c in CASES if not c.rule], ids=lambda c: c.name)
def test_tolerated_variants_read(case, lookup):
    export = read(case.content, case.filename, lookup=lookup)
    assert export.observations.height > 0 and export.attribution == "Bron: LISA 2017"


def by_name(name):
    return next(c for c in CASES if c.name == name)


def test_tolerated_variants_give_the_right_values(lookup):
    extra = read(by_name("extra column").content, "extra.csv", lookup=lookup)
    assert extra.ignored_columns == ("Opmerking",) and values(extra, "jobs_total")["GM0114"] == 1111
    assert read(by_name("utf-8 BOM").content, "bom.csv", lookup=lookup).encoding == "utf-8-sig"
    cp = read(by_name("cp1252 semicolons").content, "excel_nl.csv", lookup=lookup)
    assert cp.encoding == "cp1252" and values(cp, "jobs_total") == {"GM1900": 4444}
    utf16 = read(by_name("utf-16 tab").content, "unicode.txt", lookup=lookup)
    assert (utf16.encoding, utf16.file_format) == ("utf-16", "tsv")
    book = read(by_name("xlsx merged header, extra sheets, cached formulas").content, "merged.xlsx", lookup=lookup)
    assert values(book, "jobs_total") == {"GM0114": 1111, "GM0109": 2222, "GM0118": 3333}  # C4, C5 are formulas
    assert values(book, "jobs_fulltime")["GM0109"] == 222 and values(book, "jobs_parttime")["GM0118"] == 3000
    assert values(book, "establishments_total")["GM0114"] == 11
    assert book.observations["source_row"].min() == 4 and "SYNTHETIC" in book.notes


def test_messages_explain_the_decision(lookup):
    def message(name):
        case = by_name(name)
        with pytest.raises(LisaFileError) as info:
            read(case.content, case.filename, lookup=lookup, **dict(case.kwargs))
        return str(info.value)

    assert "'1.111' is ambiguous" in message("thousands separator")
    assert "GM0738" in message("abolished municipality") and "2020" in message("abolished municipality")
    assert "Bergen (NH.)" in message("ambiguous municipality")
    assert "2016" in message("sector total mismatch") and "+3" in message("sector total mismatch")
    assert "0x81" in message("not utf-8 nor cp1252")
    assert "mixes UTF-8" in message("mixed utf-8 and cp1252")


def test_names_resolve_per_year(lookup):
    hengelo = text(rows=[["Hengelo", "2004", "1111", "11"]]).encode()
    with pytest.raises(LisaFileError, match="GM0164, GM0248") as info:
        read(hengelo, "hengelo2004.csv", lookup=lookup)
    assert info.value.rule == "ambiguous_municipality"
    later = text(rows=[["Hengelo", "2005", "1111", "11"], ["Den Haag", "2005", "2222", "22"]]).encode()
    assert values(read(later, "later.csv", lookup=lookup), "jobs_total") == {"GM0164": 1111, "GM0518": 2222}
    one_year = pl.DataFrame({"code": ["GM0114"], "name": ["Emmen"], "valid_year": [2016]})
    with pytest.raises(LisaFileError, match="not in 2017"):
        read(text(rows=[["Emmen", "2017", "1111", "11"]]).encode(), "emmen.csv", lookup=one_year)


def test_a_sector_given_twice_in_other_spelling_is_refused(lookup):
    """Sectors are told apart by their code (the label without case and punctuation): "INDUSTRIE" after
    "Industrie" is the same sector given twice, not a second one (SYNTHETIC rows)."""
    rows = [*SECTOR_ROWS[:1], ["Noordenveld", "GM1699", "INDUSTRIE", "100", "200"], *SECTOR_ROWS[1:]]
    with pytest.raises(LisaFileError) as info:
        read(text(SECTOR_HEADER, rows).encode(), "twice.csv", lookup=lookup)
    assert (info.value.rule, info.value.row) == ("duplicate_key", 3)


def test_default_size_limit_is_checked_before_parsing(lookup):
    with pytest.raises(LisaFileError) as info:
        read(b"x" * (50 * 2**20 + 1), "huge.csv", lookup=lookup)
    assert info.value.rule == "too_large"


# -- landing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_names_are_refused(name):
    with pytest.raises(LisaFileError) as info:
        safe_landing_name(name)
    assert info.value.rule == "unsafe_name"


def test_safe_names_become_plain_basenames():
    assert safe_landing_name("lisa_2017.tsv") == "lisa_2017.tsv"
    assert safe_landing_name("exports/LISA export 2017 (1).csv") == "LISA_export_2017_1_.csv"
    assert safe_landing_name("Súdwest-Fryslân.xlsx") == "Sudwest-Fryslan.xlsx"


def test_land_lisa_file_stores_the_bytes_once(tmp_path, lookup):
    zone = LandingZone(tmp_path / "landing")
    entry = land_lisa_file(zone, LISA_2017, municipalities=lookup)
    assert (entry.source, entry.table_id, entry.entity, entry.media_type) == (
        "lisa_export", "LISA", "overview", "text/tab-separated-values")
    assert (entry.vintage, entry.note, entry.rows, entry.origin) == ("2017", "Bron: LISA 2017", 776, LISA_2017.name)
    assert zone.read_bytes(entry) == LISA_2017.read_bytes()
    assert zone.latest_complete_fetch("LISA") == [entry]
    manifest = zone.manifest_path.read_text()

    renamed = tmp_path / "same_bytes.tsv"
    renamed.write_bytes(LISA_2017.read_bytes())
    assert land_lisa_file(zone, LISA_2017, municipalities=lookup) == entry
    assert land_lisa_file(zone, renamed, municipalities=lookup) == entry
    assert zone.manifest_path.read_text() == manifest

    sector = land_lisa_file(zone, NOORDENVELD, municipalities=lookup)
    assert (sector.entity, sector.vintage, sector.note, sector.media_type) == (
        "sector_series", "2016", "Bron: LISA 2011-2016", "text/csv")


def test_land_lisa_file_refuses_broken_files_without_landing(tmp_path, lookup):
    zone = LandingZone(tmp_path / "landing")
    bad = tmp_path / "negative.csv"
    bad.write_bytes(by_name("negative").content)
    with pytest.raises(LisaFileError) as info:
        land_lisa_file(zone, bad, municipalities=lookup)
    assert (info.value.rule, info.value.row) == ("negative_value", 3)
    hidden = tmp_path / ".lisa.csv"
    hidden.write_bytes(LISA_2017.read_bytes())
    with pytest.raises(LisaFileError, match="unsafe_name"):
        land_lisa_file(zone, hidden, municipalities=lookup)
    big = tmp_path / "big.tsv"
    big.write_bytes(LISA_2017.read_bytes())
    with pytest.raises(LisaFileError, match="too_large"):
        land_lisa_file(zone, big, municipalities=lookup, max_bytes=1000)
    assert zone.entries() == []
