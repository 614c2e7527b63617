"""Landing zone rules: atomic, never overwritten, only complete fetches count."""

import gzip

import pytest

from regiostat.landing.zone import LandingError, LandingZone


def _write(zone, content=b'{"value": []}', **kw):
    args = dict(source="cbs_v4", table_id="84826NED", entity="Observations", origin="http://x", fetch_id="f1",
                media_type="application/json")
    return zone.write(content, **{**args, **kw})


def test_write_records_sha_and_reads_back(tmp_path):
    zone = LandingZone(tmp_path)
    entry = _write(zone, compress=True)
    assert zone.read_bytes(entry) == b'{"value": []}'
    assert entry.path.endswith(".json.gz") and len(entry.sha256) == 64
    assert not list(tmp_path.rglob("*.tmp"))


def test_same_name_same_bytes_is_a_no_op_other_bytes_is_refused(tmp_path):
    zone = LandingZone(tmp_path)
    first = _write(zone)
    assert _write(zone) == first
    with pytest.raises(LandingError, match="never overwritten"):
        _write(zone, content=b'{"value": [1]}')
    assert zone.read_bytes(first) == b'{"value": []}'


def test_fetch_counts_only_once_complete(tmp_path):
    zone = LandingZone(tmp_path)
    _write(zone)
    assert zone.latest_complete_fetch("84826NED") == []
    zone.mark_complete("84826NED", "f1", source="cbs_v4", origin="http://x", rows=0)
    assert [e.entity for e in zone.latest_complete_fetch("84826NED")] == ["Observations"]


def test_corrupted_file_is_detected(tmp_path):
    zone = LandingZone(tmp_path)
    entry = _write(zone)
    (tmp_path / entry.path).write_bytes(b'{"value": [666]}')
    with pytest.raises(LandingError, match="sha256"):
        zone.read_bytes(entry)


def test_torn_manifest_line_is_ignored(tmp_path):
    zone = LandingZone(tmp_path)
    _write(zone)
    with open(zone.manifest_path, "a") as fh:
        fh.write('{"source": "cbs_v4", "table_')  # a crash mid-append
    assert len(zone.entries()) == 1


@pytest.mark.parametrize("bad", ["../escape", "a/b", "..", ".hidden", "x" * 200])
def test_path_parts_cannot_escape_the_landing_folder(tmp_path, bad):
    with pytest.raises(LandingError, match="unsafe"):
        _write(LandingZone(tmp_path), fetch_id=bad)


def test_import_fetch_copies_once(tmp_path, bundled_zone):
    zone = LandingZone(tmp_path)
    fetch = bundled_zone.complete_fetches("83582NED")[0]
    assert zone.import_fetch(bundled_zone, fetch) == 1
    assert zone.import_fetch(bundled_zone, fetch) == 0
    assert len(zone.entries()) == 2 and zone.complete_fetches("83582NED") == [fetch]


def test_import_fetch_copies_the_stored_bytes_and_refuses_a_corrupted_source(tmp_path):
    source = LandingZone(tmp_path / "source")
    entry = _write(source, compress=True)
    source.mark_complete("84826NED", "f1", source="cbs_v4", origin="http://x", rows=0)

    zone = LandingZone(tmp_path / "zone")
    assert zone.import_fetch(source, "f1") == 1
    assert zone.path_of(entry.path).read_bytes() == source.path_of(entry.path).read_bytes()  # still gzip
    assert zone.read_bytes(entry) == b'{"value": []}'

    (tmp_path / "source" / entry.path).write_bytes(gzip.compress(b"not what the manifest says"))
    other = LandingZone(tmp_path / "other")
    with pytest.raises(LandingError, match="sha256"):
        other.import_fetch(source, "f1")
    assert other.entries() == [] and not other.path_of(entry.path).exists()


def test_a_row_appended_after_a_torn_line_is_kept(tmp_path):
    zone = LandingZone(tmp_path)
    _write(zone)
    with open(zone.manifest_path, "a") as fh:
        fh.write('{"source": "cbs_v4", "table_')  # a crash mid-append
    second = _write(zone, fetch_id="f2")
    assert [e.fetch_id for e in LandingZone(tmp_path).entries()] == ["f1", "f2"]
    assert zone.find(path=second.path) == second


def test_rows_another_process_appends_are_seen_and_the_tail_only_is_read(tmp_path):
    mine, theirs = LandingZone(tmp_path), LandingZone(tmp_path)  # two processes' views of one zone
    _write(mine)
    assert len(mine.entries()) == 1
    other = _write(theirs, fetch_id="f2")
    assert mine.find(path=other.path) == other and len(mine.entries()) == 2


def test_verified_path_checks_the_sha256_of_a_gzipped_file_without_reading_it_whole(tmp_path):
    zone = LandingZone(tmp_path)
    entry = _write(zone, compress=True)
    assert zone.verified_path(entry) == tmp_path / entry.path
    (tmp_path / entry.path).write_bytes(gzip.compress(b'{"value": [666]}'))
    with pytest.raises(LandingError, match="sha256"):
        zone.verified_path(entry)


def test_a_fetch_s_and_a_table_s_rows_are_what_a_scan_of_the_manifest_finds(tmp_path):
    """The per-fetch and per-table lookups (an index kept as the manifest is read) answer as a full scan does: in
    landing order, with rows another process appended since, a whole last line without its newline, and after
    the manifest was replaced."""
    mine, theirs = LandingZone(tmp_path), LandingZone(tmp_path)

    def agree():
        rows = mine.entries()
        for fetch in {e.fetch_id for e in rows} | {"nothing"}:
            assert mine.rows_of_fetch(fetch) == [e for e in rows if e.fetch_id == fetch]
        for tables in ({"84826NED"}, {"70072NED"}, {"84826NED", "70072NED"}, {"99999NED"}):
            assert mine.rows_of_tables(t.lower() for t in tables) == [e for e in rows if e.table_id in tables]

    for n, table in enumerate(["84826NED", "70072NED", "84826NED"]):
        _write(mine, content=f'{{"value": [{n}]}}'.encode(), table_id=table, fetch_id=f"f{n}")
        mine.mark_complete(table, f"f{n}", source="cbs_v4", origin="http://x", rows=0)
    agree()
    _write(theirs, content=b'{"value": [9]}', table_id="70072NED", fetch_id="f1", entity="Other")
    agree()
    whole = mine.manifest_path.read_bytes()
    mine.manifest_path.write_bytes(whole.rstrip(b"\n"))  # a crash between a row and its newline: the row counts
    agree()
    assert mine.rows_of_fetch("f1")[-1].entity == "Other"
    mine.manifest_path.unlink()
    mine.manifest_path.write_bytes(whole.split(b"\n", 2)[2])  # replaced: read anew
    agree()
    assert [e.fetch_id for e in mine.usable_completes(("70072ned",))] == ["f1"]


def test_zones_of_one_folder_in_a_process_read_the_manifest_once(tmp_path, monkeypatch):
    """Each step makes its own zone: they share one index, so a big manifest is parsed once, then only new rows."""
    import regiostat.landing.zone as zone_module

    first = LandingZone(tmp_path)
    _write(first)
    _write(first, fetch_id="f2")
    assert len(first.entries()) == 2
    parsed = []
    real = zone_module._parse_line
    monkeypatch.setattr(zone_module, "_parse_line", lambda line, where: parsed.append(line) or real(line, where))
    second = LandingZone(tmp_path)
    assert [e.fetch_id for e in second.entries()] == ["f1", "f2"] and parsed == []
    _write(second, fetch_id="f3")
    assert [e.fetch_id for e in first.entries()] == ["f1", "f2", "f3"] and len(parsed) == 1
    assert LandingZone(tmp_path / "other").entries() == []  # another folder: its own index
