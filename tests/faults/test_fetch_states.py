"""A bad fetch never poisons later runs (issue 13 part 2), at the library level: fetch states in the
landing zone, falling back to the previous good fetch, ``regiostat fetches`` and ``retire-fetch``, a fetch
with no rows where its metadata promises some, a key given twice across pages.

What was seen: one empty answer landed as a complete 0-row fetch, failed the raw step, and then failed
EVERY later build (offline bundled builds included) until the manifest was edited by hand; duplicate rows
across pages passed raw, staging and core. (Wiring these pieces into the raw step comes with the streaming
load path of branch ``scale``; until then they are proved here on the raw layer's own functions.)
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from pipelines import cli
from regiostat import warehouse
from regiostat.landing.fetches import COMPLETE, FAILED, LANDING, RETIRED, fetch_states, mark_failed, retire
from regiostat.landing.zone import LandingError, LandingZone
from regiostat.sources.cbs.fetch import fetch_v4_table
from regiostat.sources.cbs.promised import promised_rows
from regiostat.sources.cbs.source import CbsSource
from regiostat.sources.fetch_checks import FetchError, check_rows_promised, check_unique_keys, with_fallback
from regiostat.sources.protocol import complete_fetches
from regiostat.sources.raw import read_feed, write_feed
from tests.cbs_http_server import V4, Fault
from tests.conftest import PATHS

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
