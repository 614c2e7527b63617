"""The LISA inbox as a careless or hostile folder (issue 13 part 6): formula cells, names that would
resolve once their '=' is dropped, workbooks that keep openpyxl busy, links out of the inbox, special
files, a broken file quarantined again on every run, files with many bad rows, a wrong delimiter and a
header merged over two rows.

All values are SYNTHETIC (1111, 2222, ...); the municipality names are real because they must resolve.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from regiostat.landing.zone import LandingZone
from regiostat.sources.lisa import decode
from regiostat.sources.lisa.errors import MAX_PROBLEMS, LisaFileError
from regiostat.sources.lisa.inbox import inbox_files, land_inbox
from regiostat.sources.lisa.names import MunicipalityLookup, municipality_lookup_from_codes
from regiostat.sources.lisa.reader import read_lisa_export
from tests.conftest import BUNDLED_LISA
from tests.fixtures.lisa.make_corpus import HEADER, ROWS, SECTOR_HEADER, SECTOR_ROWS, replace, text, xlsx

REAL_LISA = BUNDLED_LISA / "lisa_gemeente_2017_banen_vestigingen.tsv"
CODES = (Path(__file__).parents[1] / "fixtures" / "cbs_recordings" / "api-samples" / "v4_datasets.cbs.nl" / "03759ned"
         / "codes-RegioS.json")


@pytest.fixture(scope="module")
def lookup() -> pl.DataFrame:
    return municipality_lookup_from_codes(CODES.read_bytes())


@pytest.fixture
def zone(tmp_path, bundled_zone) -> LandingZone:
    """A landing zone with the CBS RegioS code list the inbox resolves names with."""
    zone = LandingZone(tmp_path / "landing")
    for fetch in bundled_zone.complete_fetches("03759NED"):
        zone.import_fetch(bundled_zone, fetch)
    return zone


def _read(content: bytes, filename: str, lookup) -> object:
    return read_lisa_export(content, filename, municipalities=lookup)


def _refused(content: bytes, filename: str, lookup) -> LisaFileError:
    with pytest.raises(LisaFileError) as info:
        _read(content, filename, lookup)
    return info.value


# -- formula cells ---------------------------------------------------------------------------------------

HOSTILE_LABELS = ['=HYPERLINK("http://example.invalid/x","Industrie")', "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
                  "\tBouwnijverheid", "\r=1+1", "+Onderwijs", "-Onderwijs"]


@pytest.mark.parametrize("label", HOSTILE_LABELS, ids=["hyperlink", "dde", "at-sum", "tab", "cr", "plus", "minus"])
def test_a_sector_label_that_is_a_formula_is_refused_never_stored(label, lookup, fault_ledger):
    rows = replace(SECTOR_ROWS, 0, 2, label)  # quoted, as a spreadsheet writes a cell holding a tab or CR
    err = _refused(text(SECTOR_HEADER, rows, footer=[], quote=csv.QUOTE_ALL).encode(), "sectors.csv", lookup)
    assert (err.rule, err.row, err.column) == ("formula_text", 2, "sector"), str(err)
    assert "refused (not stored neutralised)" in str(err)
    fault_ledger.record(fault=f"LISA sector cell {label[:28]!r}", outcome="refused",
                        detail="formula_text: the file is refused, nothing reaches staging")


@pytest.mark.parametrize("name", ["=Noordenveld", "@Emmen", "+Coevorden", "-Hoogeveen", " =Emmen", "\tEmmen"])
def test_a_municipality_name_that_is_a_formula_never_resolves(name, lookup, fault_ledger):
    rows = replace(ROWS, 0, 0, name)
    err = _refused(text(HEADER, rows).encode(), "names.csv", lookup)
    assert (err.rule, err.row, err.column) == ("formula_text", 2, "Gemeente"), str(err)
    with pytest.raises(LisaFileError, match="formula"):  # and the lookup itself refuses it, whoever asks
        MunicipalityLookup(lookup, "direct.csv").resolve(name, None, 2017, 2, "Gemeente")
    fault_ledger.record(fault=f"LISA municipality name {name!r}", outcome="refused",
                        detail="never resolves to a GM code")


def test_formula_cells_in_an_xlsx_are_refused_like_in_a_csv(lookup, fault_ledger):
    book = xlsx({"Data": [SECTOR_HEADER] + [[r[0], r[1], "@SUM(A1:A9)" if i == 1 else r[2], int(r[3]), int(r[4])]
                                            for i, r in enumerate(SECTOR_ROWS)]})
    err = _refused(book, "sectors.xlsx", lookup)
    assert (err.rule, err.row) == ("formula_text", 3)
    fault_ledger.record(fault="LISA XLSX text cell '@SUM(A1:A9)'", outcome="refused")


# -- workbooks ---------------------------------------------------------------------------------------------


def _workbook(sheets: int, rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    for r in rows:
        wb.active.append(r)
    for n in range(sheets - 1):
        wb.create_sheet(f"Blad{n + 2}").append(["SYNTHETIC", n])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _data_rows() -> list[list]:
    return [HEADER] + [[r[0], int(r[1]), int(r[2]), int(r[3])] for r in ROWS]


def test_a_workbook_with_too_many_sheets_is_refused_before_it_is_parsed(lookup, fault_ledger):
    """(The issue's workbook had 190 sheets of just under 1 MiB: past the zip checks, openpyxl busy > 600 s.)"""
    err = _refused(_workbook(decode.MAX_SHEETS + 4, _data_rows()), "many.xlsx", lookup)
    assert err.rule == "too_many_sheets" and f"{decode.MAX_SHEETS + 4} worksheets" in str(err)
    assert _read(_workbook(3, _data_rows()), "few.xlsx", lookup).observations.height == 6  # a normal one reads
    fault_ledger.record(fault=f"XLSX with {decode.MAX_SHEETS + 4} sheets", outcome="refused")


def test_reading_a_workbook_is_bounded_in_time_and_rows(fault_ledger):
    book = _workbook(1, _data_rows() + [["Emmen", 2017, 1, 1]] * 50)
    with pytest.raises(LisaFileError) as slow:
        decode.xlsx_rows(book, "slow.xlsx", max_seconds=0.0)  # the budget is spent before the first row
    assert slow.value.rule == "xlsx_too_slow"
    with pytest.raises(LisaFileError) as long:
        decode.xlsx_rows(book, "long.xlsx", max_rows=10)
    assert long.value.rule == "xlsx_too_large" and "past row 10" in str(long.value)
    fault_ledger.record(fault="XLSX past its parse-time / row budget", outcome="refused")


BROKEN_SHEET = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1" t="n"><v>1')  # cut off mid-cell


def test_only_the_data_sheet_is_read_and_in_read_only_mode(lookup, monkeypatch, fault_ledger):
    """A broken notes sheet after the data sheet is never parsed (the whole workbook was, before)."""
    book = _workbook(2, _data_rows())
    src, out = zipfile.ZipFile(io.BytesIO(book)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, BROKEN_SHEET if info.filename == "xl/worksheets/sheet2.xml" else data)
    modes = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **kw: modes.append(kw.get("read_only")) or real(*a, **kw))

    export = _read(out.getvalue(), "notes_broken.xlsx", lookup)

    assert export.observations.height == 6 and modes and all(modes)
    fault_ledger.record(fault="XLSX whose second (notes) sheet is broken XML", outcome="survived",
                        detail="read-only mode, only the data sheet parsed")


# -- the inbox folder --------------------------------------------------------------------------------------


def test_a_symlink_in_the_inbox_is_not_followed(tmp_path, zone, fault_ledger):
    outside = tmp_path / "outside" / "private.tsv"  # a readable LISA file, but outside the inbox
    outside.parent.mkdir()
    shutil.copyfile(REAL_LISA, outside)
    inbox, quarantine = tmp_path / "inbox", tmp_path / "quarantine"
    inbox.mkdir()
    (inbox / "lisa_2017.tsv").symlink_to(outside)

    report = land_inbox(inbox_files([inbox]), zone, quarantine, log=lambda _: None)

    assert (report["files_landed"], report["files_refused"]) == (0, 1), report
    assert report["refused"][0]["rule"] == "not_a_regular_file" and "symbolic link" in report["refused"][0]["message"]
    assert not [e for e in zone.entries() if e.table_id == "LISA"]
    assert not quarantine.exists()  # nothing of the link's target copied anywhere
    fault_ledger.record(fault="symlink in the LISA inbox pointing outside it", outcome="refused",
                        detail="not followed, nothing read, landed or copied")


def test_a_fifo_in_the_inbox_is_refused_without_blocking(tmp_path, zone, fault_ledger):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fifo = inbox / "lisa_2017.csv"
    os.mkfifo(fifo)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(land_inbox(inbox_files([inbox]), zone,
                                                                      tmp_path / "q", log=lambda _: None)),
                              daemon=True)
    worker.start()
    worker.join(timeout=30)
    hung = worker.is_alive()
    if hung:  # unblock the reader so the thread ends: a writer that closes at once gives it EOF
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=10)
    assert not hung, "land_inbox blocked opening a FIFO"
    assert result["files_refused"] == 1 and "FIFO" in result["refused"][0]["message"]
    fault_ledger.record(fault="FIFO named like an export in the LISA inbox", outcome="refused",
                        detail="opened non-blocking, refused by its type")


def test_a_file_quarantined_before_is_not_processed_again(tmp_path, zone, fault_ledger):
    inbox, quarantine = tmp_path / "inbox", tmp_path / "quarantine"
    inbox.mkdir()
    (inbox / "hand_edited.csv").write_text(text(rows=replace(ROWS, 1, 2, "-5")))
    messages: list[str] = []

    first = land_inbox(inbox_files([inbox]), zone, quarantine, log=messages.append)
    second = land_inbox(inbox_files([inbox]), zone, quarantine, log=messages.append)

    assert (first["files_quarantined"], first["files_already_quarantined"]) == (1, 0)
    assert (second["files_quarantined"], second["files_already_quarantined"]) == (0, 1)
    assert second["already_quarantined"][0]["rule"] == "negative_value"
    assert "quarantined before" in messages[-1] and "negative_value" in messages[-1]
    assert len(list(quarantine.iterdir())) == 2  # one copy, one note
    (inbox / "hand_edited.csv").write_text(text())  # fixed: it lands
    assert land_inbox(inbox_files([inbox]), zone, quarantine, log=messages.append)["files_landed"] == 1
    fault_ledger.record(fault="broken LISA file left in the inbox, run again", outcome="survived",
                        detail="skipped as quarantined before (same sha256); lands once fixed")


# -- what a refusal says ----------------------------------------------------------------------------------


def test_every_problem_in_a_file_is_reported_up_to_a_cap(tmp_path, zone, lookup, fault_ledger):
    rows = replace(replace(replace(ROWS, 0, 2, "-5"), 1, 1, "twintig"), 2, 0, "Atlantis")
    err = _refused(text(rows=rows).encode(), "three.csv", lookup)
    assert [(p.row, p.rule) for p in err.problems] == [(2, "negative_value"), (3, "non_numeric"),
                                                      (4, "unknown_municipality")]
    assert (err.rule, err.row) == ("negative_value", 2) and "and 2 more problem(s)" in str(err)

    many = _refused(text(rows=[["Atlantis", "2017", "1", "1"]] * (MAX_PROBLEMS + 15)).encode(), "many.csv", lookup)
    assert len(many.problems) == MAX_PROBLEMS and "reading stopped at the first 20" in str(many)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "three.csv").write_text(text(rows=rows))
    land_inbox(inbox_files([inbox]), zone, tmp_path / "q", log=lambda _: None)
    (note,) = (tmp_path / "q").glob("*.error.json")
    assert [p["row"] for p in json.loads(note.read_text())["problems"]] == [2, 3, 4]
    fault_ledger.record(fault="LISA file with three bad rows (and one with 35)", outcome="failed cleanly",
                        detail=f"every problem reported, up to {MAX_PROBLEMS}")


def test_a_wrong_delimiter_is_named(lookup, fault_ledger):
    err = _refused(text(delimiter="|").encode(), "pipes.csv", lookup)
    assert err.rule == "delimiter" and "separated by '|'" in str(err)
    one_column = _refused(b"Gemeente Jaar Banen\nEmmen 2017 1111\n", "spaces.csv", lookup)
    assert one_column.rule == "no_header" and "the first line reads 'Gemeente Jaar Banen'" in str(one_column)
    fault_ledger.record(fault="LISA file with '|' (and with spaces) between fields", outcome="failed cleanly",
                        detail="the message names the delimiter / shows the first line")


def test_a_header_merged_over_two_rows_reads_or_says_what_is_wrong(lookup, fault_ledger):
    rows = [["SYNTHETIC", None, None, None], HEADER, [None] * 4] + [[r[0], int(r[1]), int(r[2]), int(r[3])]
                                                                    for r in ROWS]
    merged = xlsx({"Data": rows}, merged={"Data": ["A2:A3", "B2:B3", "C2:C3", "D2:D3"]})
    export = _read(merged, "merged_two_rows.xlsx", lookup)  # was: "year 'Jaar' is not a whole number"
    assert export.observations.height == 6 and export.observations["source_row"].min() == 4

    half = [["SYNTHETIC", None, None, None], HEADER, [None, None, None, "waarvan"]] + rows[3:]
    err = _refused(xlsx({"Data": half}, merged={"Data": ["A2:A3", "B2:B3", "C2:C3"]}), "half.xlsx", lookup)
    assert (err.rule, err.row) == ("merged_header", 3) and "make the header one row" in str(err)
    fault_ledger.record(fault="XLSX header merged over two rows", outcome="survived",
                        detail="read as one header; a half-merged one is named merged_header")
