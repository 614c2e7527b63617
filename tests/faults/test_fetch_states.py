"""A bad fetch never poisons later runs (issue 13 part 2): fetch states in the landing zone, falling back to
the previous good fetch, ``regiostat fetches`` and ``retire-fetch``, a fetch with no rows where its metadata
promises some, a key given twice across pages, rows the raw check refuses.

What was seen: one empty answer landed as a complete 0-row fetch, failed the raw step, and then failed
EVERY later build (offline bundled builds included) until the manifest was edited by hand; duplicate rows
across pages passed raw, staging and core. The first tests prove the pieces on the raw layer's own
functions; the last ones run ``regiostat build`` over a home where bad fetches landed after good ones.
"""

from __future__ import annotations

import gc
import json
import re

import duckdb
import pytest

from pipelines import cli
from regiostat import warehouse
from regiostat.landing.fetches import (
    COMPLETE,
    FAILED,
    LANDING,
    RETIRED,
    failed_by_table,
    fetch_states,
    mark_failed,
    retire,
)
from regiostat.landing.zone import LandingEntry, LandingError, LandingZone
from regiostat.sources.cbs.fetch import fetch_v4_table
from regiostat.sources.cbs.promised import promised_rows
from regiostat.sources.cbs.source import CbsSource
from regiostat.sources.fetch_checks import (
    FetchError,
    check_failure_cases,
    check_fetch_left,
    check_rows_promised,
    check_unique_keys,
    with_fallback,
)
from regiostat.sources.protocol import SourceError, complete_fetches
from regiostat.sources.raw import read_feed, write_feed
from tests.cbs_http_server import V4, Fault
from tests.conftest import PATHS, PUBLISHED
from tests.faults.helpers import fact_rows_lost, files_lost, landing_snapshot, published_state

TABLE = "03759NED"
OBS = f"{V4}/{TABLE}/Observations"
FEED = next(f for f in CbsSource().feeds(PATHS) if f.table_ids == (TABLE,))


@pytest.fixture
def zone(tmp_path, bundled_zone) -> LandingZone:
    """A landing zone holding the bundled captures of 03759NED, as a first (good) run leaves it."""
    zone = LandingZone(tmp_path / "landing")
    for fetch in bundled_zone.complete_fetches(TABLE):
        zone.import_fetch(bundled_zone, fetch)
    return zone


def _empty_complete_fetch(zone: LandingZone, bundled_zone: LandingZone) -> str:
    """What the old fetch code landed for an answer of ``value: []``: a complete fetch of 0 rows."""
    good = bundled_zone.complete_fetches(TABLE)[0]
    fetch_id = "20990101T000000000000Z-03759NED"
    for e in bundled_zone.pages_of(good):
        body = bundled_zone.read_bytes(e) if e.entity != "Observations" else json.dumps({"value": []}).encode()
        zone.write(body, source=e.source, table_id=TABLE, entity=e.entity, origin=e.origin, fetch_id=fetch_id,
                   media_type=e.media_type, rows=0 if e.entity == "Observations" else e.rows,
                   table_version=e.table_version, table_modified=e.table_modified)
    zone.mark_complete(TABLE, fetch_id, source="cbs_v4", origin="http://x", rows=0, data_entity="Observations")
    return fetch_id


def _raw_step(zone: LandingZone, con: duckdb.DuckDBPyConnection, log: list[str]) -> dict[str, int]:
    """The raw step of 03759NED with the checks a fetch must pass, falling back to the earlier good fetch."""
    def attempt(completes):
        for done in completes:
            files = zone.pages_of(done.fetch_id)
            check_rows_promised(done.table_id, done.fetch_id, done.rows, promised_rows(zone, files))
        written = write_feed(con, read_feed(CbsSource(), FEED, zone))
        check_unique_keys(con, FEED.table_ids)
        return written

    written, _ = with_fallback(zone, complete_fetches(zone, FEED), attempt, log.append)
    return written


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    warehouse.ensure_schema(con, PATHS.schema_sql)
    yield con
    con.close()


def test_an_empty_complete_fetch_is_marked_failed_and_every_later_run_uses_the_good_one(zone, bundled_zone, con,
                                                                                        fault_ledger):
    bad = _empty_complete_fetch(zone, bundled_zone)
    log: list[str] = []

    first = _raw_step(zone, con, log)

    good = [f for f in bundled_zone.complete_fetches(TABLE)]
    assert first["raw.observations"] == 13_568  # the good capture, all of it
    assert [(s.fetch_id, s.state) for s in fetch_states(zone, TABLE)] == [(g, COMPLETE) for g in good] + [
        (bad, FAILED)]
    assert "no rows, while the table's metadata says it has 100,741,875" in fetch_states(zone, TABLE)[-1].reason
    assert len(log) == 1 and f"fetch {bad}" in log[0] and "marked failed" in log[0]
    assert bad not in [c.fetch_id for c in complete_fetches(zone, FEED)]
    log.clear()
    assert _raw_step(zone, con, log)["raw.observations"] == 13_568 and log == []  # the next run is not poisoned
    assert zone.pages_of(bad), "the failed fetch is kept for inspection"
    fault_ledger.record(fault="complete 0-row fetch where the metadata promises rows (as landed before)",
                        outcome="survived", detail="marked failed, previous fetch used; later runs unaffected")


def test_a_key_given_twice_across_pages_names_the_key_and_both_files(tmp_path, cbs_server_factory, make_client,
                                                                     con, fault_ledger):
    """Page 3 serves page 2's rows again: the fetch completes, and its raw rows name the duplicate."""
    server = cbs_server_factory(v4_pages=3)
    zone = LandingZone(tmp_path / "landing")
    page_two: dict[str, object] = {}

    def repeat(body: bytes, query: dict[str, str]) -> bytes:
        doc = json.loads(body)
        if query.get("$skip") == "4523":
            page_two.update(doc)
        elif query.get("$skip") == "9046":
            doc["value"] = page_two["value"]
        return json.dumps(doc).encode()

    server.always(OBS, Fault.rewrite(repeat))
    fetched = fetch_v4_table(make_client(server), zone, TABLE)
    write_feed(con, read_feed(CbsSource(), FEED, zone))

    with pytest.raises(FetchError) as err:
        check_unique_keys(con, [TABLE])

    message = str(err.value)
    assert err.value.fetch_id == fetched.fetch_id and "is given 2 times" in message
    assert "Observations-p00002.json row" in message and "Observations-p00003.json row" in message
    assert "measure M000352" in message or "measure M000365" in message
    fault_ledger.record(fault="duplicate rows across pages (page 3 repeats page 2)", outcome="failed cleanly",
                        detail="FetchError naming the key and both files")


def test_a_table_with_no_good_fetch_fails_the_step_but_keeps_the_bad_one_marked(tmp_path, bundled_zone, con):
    zone = LandingZone(tmp_path / "landing")
    bad = _empty_complete_fetch(zone, bundled_zone)
    with pytest.raises(FetchError, match="no other complete fetch of 03759NED to use instead"):
        _raw_step(zone, con, [])
    assert [s.state for s in fetch_states(zone, TABLE)] == [FAILED] and fetch_states(zone)[0].fetch_id == bad
    for fetch in bundled_zone.complete_fetches(TABLE):  # a good fetch lands later: it is used at once
        zone.import_fetch(bundled_zone, fetch)
    assert _raw_step(zone, con, [])["raw.observations"] == 13_568


def test_raw_check_failures_name_their_fetch_by_id_or_by_file(zone):
    completes = complete_fetches(zone, FEED)
    v4 = completes[0].fetch_id
    page = next(e for e in zone.pages_of(v4) if e.entity == "Observations")

    def describe(cases):
        return f"{len(cases)} case(s)"

    with pytest.raises(FetchError, match=rf"{v4}: its rows fail the raw checks: 2 case\(s\)"):
        check_failure_cases(zone, completes, [{"source_path": page.path}, {"fetch_id": "not-in-use"},
                                              {"fetch_id": v4, "column": "decimals"}], describe)
    # cases that name no fetch in use are left to the (blocking) check
    check_failure_cases(zone, completes, [{"fetch_id": "not-in-use"}, {"source_path": "files/X/y/z.json"},
                                          {"column": "title"}], describe)


def test_a_table_left_without_a_good_fetch_stops_the_step_until_the_failed_one_is_retired(zone):
    """Its only data fetch failed (the StatLine metadata fetch holds no rows): building without the table would
    drop what was published of it, so the step stops, naming the ways out; retiring is the explicit way."""
    v4 = complete_fetches(zone, FEED)[0].fetch_id
    mark_failed(zone, v4, "failed under earlier rules")
    with pytest.raises(SourceError, match=rf"^03759NED: no good fetch to use: fetch {v4} failed its raw checks "
                                          r"\(failed under earlier rules\); land a good fetch"):
        check_fetch_left(failed_by_table(zone), (TABLE,), complete_fetches(zone, FEED))
    retire(zone, v4, "no good capture of 03759NED to be had")
    check_fetch_left(failed_by_table(zone), (TABLE,), complete_fetches(zone, FEED))  # built as one not fetched yet


def test_fetches_lists_states_and_retire_fetch_retires_only_what_is_not_in_use(tmp_path, zone, bundled_zone, capsys,
                                                                             fault_ledger):
    home = tmp_path
    bad = _empty_complete_fetch(zone, bundled_zone)
    mark_failed(zone, bad, "its data pages hold no rows")
    zone.write(b'{"value": []}', source="cbs_v4", table_id="84826NED", entity="Observations", origin="x",
               fetch_id="unfinished-84826NED", media_type="application/json", rows=0)
    good = bundled_zone.complete_fetches(TABLE)[0]

    assert cli.main(["--home", str(home), "fetches", "--table", TABLE]) == 0
    listing = capsys.readouterr().out
    assert re.search(rf"{good}\s+complete", listing) and re.search(rf"{bad}\s+failed", listing)
    assert "its data pages hold no rows" in listing
    assert "84826NED" not in listing

    assert cli.main(["--home", str(home), "retire-fetch", good]) == 2  # in use: refused
    assert "complete and in use" in capsys.readouterr().err
    assert cli.main(["--home", str(home), "retire-fetch", bad, "--reason", "empty answer of 2099-01-01"]) == 0
    assert cli.main(["--home", str(home), "retire-fetch", "unfinished-84826NED"]) == 0
    states = {s.fetch_id: s for s in fetch_states(zone)}
    assert (states[bad].state, states[bad].reason) == (RETIRED, "empty answer of 2099-01-01")
    assert states["unfinished-84826NED"].state == RETIRED and states[good].state == COMPLETE
    assert zone.pages_of(bad) and zone.complete_fetches(TABLE) == bundled_zone.complete_fetches(TABLE)
    with pytest.raises(LandingError, match="no fetch 'nope'"):
        retire(zone, "nope")
    fault_ledger.record(fault="operator lists fetches and retires a failed one (and tries an in-use one)",
                        outcome="refused", detail="in-use fetch refused; retired fetches kept on disk, never read")


def test_a_retired_unfinished_fetch_is_not_resumed(tmp_path, cbs_server_factory, make_client):
    server = cbs_server_factory(v4_pages=3)
    zone = LandingZone(tmp_path / "landing")
    server.always(OBS, Fault.http(500), page=2)
    with pytest.raises(Exception, match="HTTP 500"):
        fetch_v4_table(make_client(server), zone, TABLE)
    (unfinished,) = [s for s in fetch_states(zone) if s.state == LANDING]
    retire(zone, unfinished.fetch_id, "interrupted; start over")
    server.clear_faults()
    result = fetch_v4_table(make_client(server), zone, TABLE)
    assert not result.resumed and result.fetch_id != unfinished.fetch_id and result.rows == 13_568


# -- through `regiostat build` ----------------------------------------------------------------------------

GOOD = "20260702T121102Z-03759NED"  # the bundled v4 capture of 03759NED
HEADER_83582 = b"ID,BedrijfstakkenBranchesSBI2008,RegioS,Perioden,BanenVanWerknemersInDecember_1\n"
FIGURES = ("core.fact_observation", "marts.jobs_by_sector_region_year", "marts.population_by_region_year",
           "marts.regional_profile")


def _figures(home) -> dict[str, tuple[int, int]]:
    """Rows and an order-free hash of every row of the tables readers take figures from, as published."""
    con = duckdb.connect(str(home / PUBLISHED), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*), bit_xor(hash(x)) FROM {t} x").fetchone() for t in FIGURES}
    finally:
        con.close()


def _pages_twice(zone: LandingZone, bundled_zone: LandingZone) -> str:
    """The good capture landed again with its one Observations page served twice (as page 1 and page 2)."""
    fetch_id = "20990102T000000000000Z-03759NED"
    rows = 0
    for e in bundled_zone.pages_of(GOOD):
        body = bundled_zone.read_bytes(e)
        for page in (1, 2) if e.entity == "Observations" else (1,):
            zone.write(body, source=e.source, table_id=TABLE, entity=e.entity, origin=e.origin, fetch_id=fetch_id,
                       media_type=e.media_type, page=page, rows=e.rows, table_version=e.table_version,
                       table_modified=e.table_modified)
            rows += e.rows or 0
    zone.mark_complete(TABLE, fetch_id, source="cbs_v4", origin="http://x", rows=rows, data_entity="Observations")
    return fetch_id


def _v3_csv(zone: LandingZone, fetch_id: str, body: bytes) -> LandingEntry:
    """A hand-landed 83582NED TypedDataSet (as tests/test_write_audit_publish.py lands one)."""
    bad = zone.write(HEADER_83582 + body, source="cbs_v3_feed", table_id="83582NED", entity="TypedDataSet",
                     origin="hand-edited.csv", fetch_id=fetch_id, media_type="text/csv")
    zone.mark_complete("83582NED", fetch_id, source="cbs_v3_feed", origin="hand-edited.csv",
                       rows=body.count(b"\n"))
    return bad


def test_a_build_sets_bad_fetches_aside_publishes_the_same_figures_and_later_builds_are_not_poisoned(
        published_home, bundled_zone, capsys, fault_ledger):
    """Four bad fetches land after the good ones: an empty answer and a page served twice (03759NED), a file
    breaking its format and rows the raw check refuses (83582NED). One build sets each aside, naming why, and
    publishes exactly the figures it published before; the next builds (offline, from the landing zone) too."""
    home = published_home
    figures, before, landed = _figures(home), published_state(home), landing_snapshot(home)
    zone = LandingZone(home / "landing")
    empty = _empty_complete_fetch(zone, bundled_zone)
    twice = _pages_twice(zone, bundled_zone)
    broken = _v3_csv(zone, "20990103T000000Z-83582NED", b'1,T001081,CR08  ,2020JJ00,"62,2"\n')
    refused = _v3_csv(zone, "20990104T000000Z-83582NED", b"1,T001081,Emmen ,2020JJ00,44.2\n2,T001081,CR08  ,2020,1.0\n")

    assert cli.main(["--home", str(home), "build"]) == 0
    err = capsys.readouterr().err
    states = {s.fetch_id: s for s in fetch_states(zone)}
    why = {f: states[f].reason for f in (empty, twice, broken.fetch_id, refused.fetch_id)}
    assert all(states[f].state == FAILED for f in why), {f: states[f].state for f in why}
    assert "its data pages hold no rows, while the table's metadata says it has 100,741,875" in why[empty]
    assert re.search(r"is given 2 times: files/03759NED/\S+/Observations-p00001\.json row \d+ and "
                     r"files/03759NED/\S+/Observations-p00002\.json row \d+", why[twice]), why[twice]
    assert broken.path in why[broken.fetch_id] and "'62,2'" in why[broken.fetch_id]
    assert "ID=1" in why[broken.fetch_id] and "str_matches" in why[broken.fetch_id]
    assert refused.path in why[refused.fetch_id] and "region_raw" in why[refused.fetch_id]
    assert "'Emmen '" in why[refused.fetch_id] and "period_raw" in why[refused.fetch_id]
    summary = next(line for line in err.splitlines() if line.startswith("warning: fetches set aside:"))
    assert "4 failed fetch(es)" in summary and f"{TABLE} fetch {empty} -> fetch {GOOD} in use" in summary
    assert "warning: raw/cbs / no_failed_fetches" in err and "blocks publishing" not in err
    assert _figures(home) == figures  # the rows in use are what the last build read: nothing to publish anew
    assert all(zone.pages_of(f) for f in why)  # kept for inspection
    for fault, fetch in (("complete 0-row fetch where the metadata promises rows, in a build", empty),
                         ("a page served twice (duplicate keys across pages), in a build", twice),
                         ("landed file breaks its format, a good fetch before it", broken.fetch_id),
                         ("landed rows fail the raw check, a good fetch before them", refused.fetch_id)):
        fault_ledger.record(fault=fault, outcome="survived", rows_lost=fact_rows_lost(before, home),
                            files_lost=len(files_lost(home, landed)),
                            detail=f"marked failed ({why[fetch][:40]}...), previous fetch used, same figures")

    for args in (["build"], ["build", "--from-landing"]):  # later builds, offline: not poisoned, still warned
        assert cli.main(["--home", str(home), *args]) == 0, args
        assert "warning: fetches set aside: 4 failed fetch(es)" in capsys.readouterr().err
    assert _figures(home) == figures
    fault_ledger.record(fault="builds after bad fetches were set aside (build, build --from-landing)",
                        outcome="survived", rows_lost=fact_rows_lost(before, home),
                        files_lost=len(files_lost(home, landed)), detail="exit 0, same figures, warned each time")


def test_a_table_whose_only_data_fetch_failed_is_never_built_without_it(published_home, bundled_zone, capsys,
                                                                       fault_ledger):
    """No good fetch to fall back on: the build fails naming the fetch and the ways out, and so does the next one,
    instead of publishing without 03759NED (what the issue saw once its manifest row was lost). Retiring the
    failed fetch is the operator's explicit 'build without it'; a good fetch landing is used at once."""
    home = published_home
    before, landed = published_state(home), landing_snapshot(home)
    zone = LandingZone(home / "landing")
    mark_failed(zone, GOOD, "failed under earlier rules (set by the test)")
    twice = _pages_twice(zone, bundled_zone)

    for run in range(2):
        assert cli.main(["--home", str(home), "build"]) == 1
        err = capsys.readouterr().err
        raw_step = next(line for line in err.splitlines() if line.startswith("step failed: raw__cbs: "))
        assert (f"{TABLE} fetch {twice}: key" if run == 0 else f"{TABLE}: no good fetch to use: fetch {twice}") \
            in raw_step, raw_step
        assert "retire the failed one to build without 03759NED" in raw_step, raw_step
        assert err.strip().splitlines()[-1].startswith("run failed after")
        assert published_state(home) == before
        # The failed step's connection to the build database is held by its traceback's reference cycle until the
        # garbage collector runs (dagster_duckdb closes it only after a clean exit); `regiostat build` runs once
        # per process, this test runs three builds in one, so it collects before the next one attaches the file.
        gc.collect()
    assert fetch_states(zone, TABLE)[-1].fetch_id == twice and fetch_states(zone, TABLE)[-1].state == FAILED

    good_again = "20990105T000000000000Z-03759NED"  # the good capture landed anew: used at once
    for e in bundled_zone.pages_of(GOOD):
        zone.write(bundled_zone.read_bytes(e), source=e.source, table_id=TABLE, entity=e.entity, origin=e.origin,
                   fetch_id=good_again, media_type=e.media_type, page=e.page, rows=e.rows,
                   table_version=e.table_version, table_modified=e.table_modified)
    zone.mark_complete(TABLE, good_again, source="cbs_v4", origin="http://x", rows=13_568, data_entity="Observations")
    assert cli.main(["--home", str(home), "build"]) == 0
    assert published_state(home).fact_rows == before.fact_rows
    fault_ledger.record(fault="the only data fetch of a table failed (no good fetch to fall back on)",
                        outcome="failed cleanly", rows_lost=fact_rows_lost(before, home),
                        files_lost=len(files_lost(home, landed)),
                        detail="every build stops naming the fetch and the ways out; never published without it")
