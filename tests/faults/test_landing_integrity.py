"""Landing integrity (issue 13 part 1): a manifest that cannot be read, a fetch that no longer matches its
``_complete`` row, a damaged gzip file, a fetch without its data pages.

Each of these used to be read as if nothing were wrong: an unreadable manifest row was skipped (the build
published without 03759NED and ``health`` said HEALTHY), a JSON line that is not an object crashed with an
AttributeError naming nothing, a truncated ``.json.gz`` gave a bare EOFError, and a complete fetch missing a
row was read as the whole table. Now each stops the reader, naming the file and line or the file and fetch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import cli
from regiostat.landing.zone import COMPLETE_ENTITY, LandingEntry, LandingError, LandingZone
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.fetch import fetch_v4_table
from regiostat.sources.cbs.readers import CaptureError, read_capture
from tests.conftest import PATHS
from tests.faults.helpers import fact_rows_lost, files_lost, landing_snapshot, published_state

SPEC_03759 = next(s for s in load_catalog(PATHS.tables_toml) if s.id == "03759NED")


def _write(zone: LandingZone, content: bytes = b'{"value": [{"Id": 1}]}', **kw) -> LandingEntry:
    args = dict(source="cbs_v4", table_id="84826NED", entity="Observations", origin="http://x", fetch_id="f1",
                media_type="application/json", rows=1)
    return zone.write(content, **{**args, **kw})


def _lines(zone: LandingZone) -> list[str]:
    return zone.manifest_path.read_text(encoding="utf-8").splitlines()


def _rewrite(zone: LandingZone, lines: list[str]) -> None:
    zone.manifest_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


# -- the manifest is read strictly -------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "says"), [
    ('{"source": "cbs_v4", "table_id": "03759NED", "entity": "Observ', "not a JSON manifest row"),
    ("[1, 2, 3]", "a JSON list where a manifest row (an object) belongs"),
    ('"03759NED"', "a JSON str where a manifest row"),
    ("null", "a JSON NoneType where a manifest row"),
], ids=["torn-mid-file", "list", "string", "null"])
def test_a_manifest_line_that_is_not_a_row_stops_readers_naming_file_and_line(tmp_path, fault_ledger, bad, says):
    zone = LandingZone(tmp_path)
    _write(zone)
    _write(zone, filename="second.json", page=2)
    lines = _lines(zone)
    _rewrite(zone, [lines[0], bad, lines[1]])

    with pytest.raises(LandingError) as err:
        zone.entries()

    assert f"{zone.manifest_path}, line 2: {says}" in str(err.value)
    fault_ledger.record(fault=f"manifest line that is not a row ({bad[:24]}...)", outcome="failed cleanly",
                        detail="LandingError naming file and line, nothing skipped")


def test_a_manifest_row_with_missing_or_mistyped_fields_is_refused(tmp_path, fault_ledger):
    zone = LandingZone(tmp_path)
    _write(zone)
    row = json.loads(_lines(zone)[0])
    missing = {k: v for k, v in row.items() if k != "sha256"}
    mistyped = {**row, "page": "1", "rows": True}
    for doc, says in ((missing, "sha256 missing"), (mistyped, "page is '1', expected a whole number; rows is True")):
        _rewrite(zone, [json.dumps(doc)])
        with pytest.raises(LandingError, match=f"line 1: not a manifest row: {says}"):
            zone.entries()
    fault_ledger.record(fault="manifest row with a field missing or of the wrong type", outcome="failed cleanly")


def test_a_torn_last_line_is_set_aside_and_the_next_row_is_not_lost(tmp_path, fault_ledger):
    """Before: the next append was glued onto the torn line and that row was silently dropped too."""
    zone = LandingZone(tmp_path)
    _write(zone)
    with open(zone.manifest_path, "a") as fh:
        fh.write('{"source": "cbs_v4", "table_')  # a crash mid-append
    assert len(zone.entries()) == 1  # the torn row never counted

    second = _write(zone, filename="second.json", page=2)

    assert [e.path for e in zone.entries()] == [zone.entries()[0].path, second.path]
    torn = zone.manifest_path.with_name("manifest.jsonl.torn").read_text()
    assert torn == '{"source": "cbs_v4", "table_\n'  # kept for inspection, not in the manifest
    fault_ledger.record(fault="append after a torn manifest line (crash mid-append)", outcome="survived",
                        detail="torn tail moved to manifest.jsonl.torn; the new row kept")


def test_a_tail_read_is_as_strict_as_a_full_read(tmp_path, fault_ledger):
    """The zone reads the manifest once and then only what was appended: a bad row appended later (by another
    process) stops the reader naming its line, on every read, and the rows after it are not taken in."""
    zone = LandingZone(tmp_path)
    _write(zone)
    assert len(zone.entries()) == 1  # the first two lines read; from now on only the tail is read
    row = _lines(zone)[0]
    with open(zone.manifest_path, "a") as fh:  # a bad row, then a good one after it
        fh.write("[1, 2, 3]\n" + row.replace("Observations-p00001.json", "second.json") + "\n")

    for _ in range(2):
        with pytest.raises(LandingError, match=rf"{zone.manifest_path}, line 2: a JSON list where a manifest row"):
            zone.entries()
    with pytest.raises(LandingError, match="line 2"):
        zone.find(path="files/84826NED/f1/second.json")
    fault_ledger.record(fault="bad manifest row appended after the zone read the manifest (tail read)",
                        outcome="failed cleanly", detail="LandingError naming file and line on every read")


def test_a_manifest_rewritten_in_place_is_read_anew(tmp_path, fault_ledger):
    """Editing a row without changing the file's size (or making it longer) is seen by a zone that read it before."""
    zone = LandingZone(tmp_path)
    _write(zone)
    _write(zone, filename="second.json", page=2)
    assert [e.rows for e in zone.entries()] == [1, 1]
    lines = _lines(zone)
    _rewrite(zone, [lines[0].replace('"rows": 1', '"rows": 7'), lines[1] + " " * 40])

    assert [e.rows for e in zone.entries()] == [7, 1]
    fault_ledger.record(fault="manifest rewritten in place after the zone read it", outcome="survived",
                        detail="read anew, the edit is what the zone sees")


def test_a_torn_whole_row_counts_and_the_next_append_ends_it(tmp_path):
    """A crash between a row and its newline: the row is whole, so it counts; the next append gives it its newline."""
    zone = LandingZone(tmp_path)
    first = _write(zone)
    text = zone.manifest_path.read_text()
    zone.manifest_path.write_text(text.rstrip("\n"))
    reader = LandingZone(tmp_path)
    assert reader.entries() == [first] and reader.find(path=first.path) == first

    second = _write(zone, filename="second.json", page=2)

    assert reader.entries() == [first, second] and not zone.manifest_path.with_name("manifest.jsonl.torn").exists()


# -- a complete fetch is checked against its _complete row ----------------------------------------------


@pytest.fixture
def fetched(cbs_server_factory, make_client, tmp_path) -> tuple[LandingZone, str]:
    zone = LandingZone(tmp_path / "landing")
    result = fetch_v4_table(make_client(cbs_server_factory(v4_pages=3)), zone, "03759NED")
    return zone, result.fetch_id


def test_a_complete_fetch_that_lost_a_manifest_row_is_refused_not_read_short(fetched, fault_ledger):
    zone, fetch_id = fetched
    lines = _lines(zone)
    page2 = next(i for i, line in enumerate(lines) if 'Observations-p00002' in line)
    _rewrite(zone, lines[:page2] + lines[page2 + 1:])

    with pytest.raises(LandingError, match=r"lists 10 file\(s\), its _complete row recorded 11"):
        zone.latest_complete_fetch("03759NED")
    with pytest.raises(LandingError, match=fetch_id):
        zone.pages_of(fetch_id)
    fault_ledger.record(fault="complete fetch whose manifest lost a page's row", outcome="failed cleanly",
                        detail="checked against its _complete row before anything reads it")


def test_a_complete_fetch_whose_rows_were_edited_is_refused(fetched, fault_ledger):
    zone, fetch_id = fetched
    lines = _lines(zone)
    edited = []
    for line in lines:
        row = json.loads(line)
        if row["entity"] == "Observations" and row["page"] == 3:
            row["rows"] = 1  # the count edited; the file and its sha256 untouched
        edited.append(json.dumps(row))
    _rewrite(zone, edited)

    with pytest.raises(LandingError, match="differ from what its _complete row recorded"):
        zone.pages_of(fetch_id)
    fault_ledger.record(fault="complete fetch whose manifest rows were edited", outcome="failed cleanly")


def test_a_fetch_completed_without_pinning_its_files_is_pinned_on_import(tmp_path, fault_ledger):
    """A zone written before _complete rows recorded their files (the shipped bundle was): import pins them."""
    old = LandingZone(tmp_path / "old")
    a = _write(old)
    b = _write(old, filename="b.json", page=2)
    legacy = LandingEntry(source="cbs_v4", table_id="84826NED", entity=COMPLETE_ENTITY, page=0, origin="x",
                          fetched_at="2026-01-01T00:00:00Z", sha256="", path="", media_type="", fetch_id="f1", rows=2)
    with open(old.manifest_path, "a") as fh:
        fh.write(legacy.to_json() + "\n")
    zone = LandingZone(tmp_path / "new")
    zone.import_fetch(old, "f1")
    (done,) = [e for e in zone.entries() if e.entity == COMPLETE_ENTITY]
    assert done.files == 2 and len(done.sha256) == 64
    _rewrite(zone, [line for line in _lines(zone) if b.path not in line])
    with pytest.raises(LandingError, match=r"lists 1 file\(s\), its _complete row recorded 2"):
        zone.pages_of("f1")
    assert a.path in zone.manifest_path.read_text()
    fault_ledger.record(fault="legacy _complete row (no file list) loses a file row after import",
                        outcome="failed cleanly", detail="pinned when imported")


def test_marking_complete_refuses_a_fetch_with_a_missing_page_or_short_rows(tmp_path, fault_ledger):
    zone = LandingZone(tmp_path)
    _write(zone)
    _write(zone, filename="p3.json", page=3)
    with pytest.raises(LandingError, match=r"Observations pages are \[1, 3\], not 1..2"):
        zone.mark_complete("84826NED", "f1", source="cbs_v4", origin="x", rows=2, data_entity="Observations")
    zone2 = LandingZone(tmp_path / "two")
    _write(zone2)
    with pytest.raises(LandingError, match="pages hold 1 rows, its _complete row says 5"):
        zone2.mark_complete("84826NED", "f1", source="cbs_v4", origin="x", rows=5, data_entity="Observations")
    assert zone.complete_fetches() == [] and zone2.complete_fetches() == []
    fault_ledger.record(fault="marking complete a fetch with a missing page / rows not adding up", outcome="refused")


# -- damaged files and fetches without data ------------------------------------------------------------


def test_a_truncated_gzip_landing_file_is_named(tmp_path, fault_ledger):
    zone = LandingZone(tmp_path)
    entry = _write(zone, content=b'{"value": [' + b'{"Id": 1}, ' * 2000 + b'{"Id": 2}]}', compress=True)
    path = zone.path_of(entry.path)
    path.write_bytes(path.read_bytes()[:-40])  # the gzip stream ends early

    with pytest.raises(LandingError) as err:
        zone.read_bytes(entry)

    assert str(err.value).startswith(f"{entry.path}: the gzip file is damaged")
    with pytest.raises(LandingError, match=f"^{entry.path}: the gzip file is damaged"):
        zone.verified_path(entry)  # the streaming check (readers that open landed files themselves) alike
    fault_ledger.record(fault="truncated .json.gz landing file", outcome="failed cleanly",
                        detail="LandingError naming the file (was: bare EOFError)")


def test_v4_and_v3_readers_alike_refuse_a_fetch_without_data_pages(tmp_path, bundled_zone, fault_ledger):
    zone = LandingZone(tmp_path)
    fetch_id = bundled_zone.complete_fetches("03759NED")[0]  # the v4 capture (the StatLine metadata fetch is 2nd)
    for e in bundled_zone.pages_of(fetch_id):
        if e.entity != "Observations":
            zone.write(bundled_zone.read_bytes(e), source=e.source, table_id=e.table_id, entity=e.entity,
                       origin=e.origin, fetch_id="metadata-only", media_type=e.media_type, rows=e.rows)
    zone.mark_complete("03759NED", "metadata-only", source="cbs_v4", origin="x", rows=0)
    with pytest.raises(CaptureError, match="fetch metadata-only has no Observations pages"):
        read_capture(zone, zone.pages_of("metadata-only"), SPEC_03759)

    v3_id = bundled_zone.complete_fetches("83583NED")[0]
    spec = next(s for s in load_catalog(PATHS.tables_toml) if s.id == "83583NED")
    for e in bundled_zone.pages_of(v3_id):
        if e.entity != "TypedDataSet":
            zone.write(bundled_zone.read_bytes(e), source=e.source, table_id=e.table_id, entity=e.entity,
                       origin=e.origin, fetch_id="v3-metadata-only", media_type=e.media_type, rows=e.rows)
    zone.mark_complete("83583NED", "v3-metadata-only", source="cbs_v3_api", origin="x", rows=0)
    with pytest.raises(CaptureError, match="fetch v3-metadata-only has no TypedDataSet pages"):
        read_capture(zone, zone.pages_of("v3-metadata-only"), spec)
    fault_ledger.record(fault="complete v4 / v3 fetch without its data pages", outcome="refused",
                        detail="both readers refuse it alike (v4 used to read it as an empty table)")


# -- the whole build ---------------------------------------------------------------------------------------


def test_a_build_over_an_unreadable_manifest_row_fails_naming_file_and_line_and_publishes_nothing(
        baseline_home: Path, capsys, fault_ledger):
    """The issue's fault: the 03759NED Observations row unreadable; the build used to publish without 03759NED."""
    home = baseline_home
    before, landed_before = published_state(home), landing_snapshot(home)
    zone = LandingZone(home / "landing")
    lines = _lines(zone)
    n = next(i for i, line in enumerate(lines, 1) if '"table_id": "03759NED"' in line and '"Observations"' in line)
    lines[n - 1] = lines[n - 1][: len(lines[n - 1]) // 2]  # a row cut in half, then the rows after it
    _rewrite(zone, lines)

    code = cli.main(["--home", str(home), "build"])

    stderr = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert f"{zone.manifest_path}, line {n}: not a JSON manifest row" in stderr[-1], stderr[-1]
    assert stderr[-1].startswith("run failed after") and "Root cause:" in stderr[-1]
    assert published_state(home) == before  # nothing published: readers keep all of 03759NED
    assert files_lost(home, landed_before) == []  # the landed files (03759NED's pages included) all still there
    fault_ledger.record(fault="build over a manifest with one unreadable row (03759NED Observations)",
                        outcome="failed cleanly", rows_lost=fact_rows_lost(before, home), files_lost=0,
                        detail="every landing/raw step stops naming file and line; nothing published")

