"""The pieces harmonise() is built from, on hand-made change tables: which rule applies to a description
line in which state, and how a giver's value is shared out (real data: test_boundaries.py)."""

from datetime import date

import polars as pl
import pytest

from regiostat.regions.boundaries import parse_descriptions
from regiostat.regions.harmonisation import _ceased_shares, _transfer_shares


def events(**columns) -> pl.DataFrame:
    return pl.DataFrame(columns, schema_overrides={"inhabitants": pl.Int64, "hectares": pl.Float64})


def test_a_line_rule_applies_only_in_its_state():
    """A party line needs an open block with a direction, a numbers line an event waiting for them;
    out of place, both are reported as not understood instead of being attached to nothing."""
    lone = "- Haren (GM0017),\n... 4537 hectare met 9120 woningen en 20191 inwoners"
    parsed = parse_descriptions([("GM0014", "Groningen", lone)])
    assert parsed.changes.height == 0
    assert parsed.unparsed["line"].to_list() == lone.split("\n")
    block = "Gemeentelijke herindeling per 01-01-2019, ontvangen van:\n" + lone
    parsed = parse_descriptions([("GM0014", "Groningen", block)])
    assert parsed.unparsed.height == 0
    assert parsed.changes.select("from_code", "to_code", "inhabitants").rows() == [("GM0017", "GM0014", 20191)]


def test_a_ceasing_giver_is_shared_by_stated_weight_then_area_then_equally():
    assert _ceased_shares(events(hectares=[1.0, 3.0]), [30.0, 10.0]) == [0.75, 0.25]
    assert _ceased_shares(events(hectares=[1.0, 3.0]), [0.0, 0.0]) == [0.25, 0.75]
    assert _ceased_shares(events(hectares=[None, None]), [0.0, 0.0]) == [0.5, 0.5]


def test_a_transfer_moves_the_stated_weight_out_of_the_givers_total_before_the_change():
    parcels = {"GM0001": [1000.0, 1.0, set()]}
    when = date(2019, 1, 1)
    assert _transfer_shares("GM0001", parcels, [100.0], when, None) == [0.1]  # running value as the total
    totals = {("GM0001", 2018): 400.0}  # a 1 January change: the total of the year before
    assert _transfer_shares("GM0001", parcels, [100.0], when, totals) == [0.25]
    assert _transfer_shares("GM0001", parcels, [300.0, 300.0], when, totals) == [0.5, 0.5]  # never more than all
    assert _transfer_shares("GM0001", parcels, [0.0], when, {}) == [0.0]  # nothing moves: no total needed
    with pytest.raises(ValueError, match=r"giver_totals lacks \('GM0001', 2018\)"):
        _transfer_shares("GM0001", parcels, [100.0], when, {})


def test_two_municipalities_giving_to_each_other_on_one_day_move_only_what_they_held_before_it():
    """Mutual transfers on one date (GM0203<->GM0267 in 2014, GM0753<->GM0772 in 2022 in the real code list):
    each moves a share of its own pre-change value, whatever order the changes are listed in."""
    from regiostat.regions.boundaries import CHANGE_SCHEMA
    from regiostat.regions.harmonisation import harmonise

    def change(giver: str, receiver: str, inhabitants: int) -> dict:
        return dict(date=date(2022, 1, 1), from_code=giver, from_name=None, to_code=receiver, to_name=None,
                    kind="transfer", hectares=1.0, dwellings=None, inhabitants=inhabitants, described_at=None,
                    text=None, n_sources=1)

    rows = [change("GM0001", "GM0002", 100), change("GM0002", "GM0001", 300)]
    frame = pl.DataFrame({"region_code": ["GM0001", "GM0002"], "year": [2021, 2021], "value": [1000.0, 3000.0]})
    results = [harmonise(frame, pl.DataFrame(order, schema=CHANGE_SCHEMA), target_year=2022)
               for order in (rows, rows[::-1])]
    for out in results:
        values = dict(zip(out["region_code"], out["value"], strict=True))
        assert values == pytest.approx({"GM0001": 1000 - 100 + 300, "GM0002": 3000 - 300 + 100})
    assert results[0].equals(results[1])
