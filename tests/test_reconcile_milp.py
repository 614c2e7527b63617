"""The engine's consistency and repairs are exact: against an independent mixed-integer oracle on random
tables with margins, on a three-way table, on a cycle propagation cannot settle, and with negative figures
anywhere in sums and differences."""

from __future__ import annotations

import random

import pytest

from regiostat.reconcile.engine import conflicts, decide, reconcile
from regiostat.reconcile.model import Claim, Quantity, Rule, change_quantity
from regiostat.reconcile.propagation import ConstraintNetwork
from regiostat.reconcile.search import components
from tests.reconcile_tables import fewest_to_drop, table

SHAPES = [(2, 2), (2, 3), (3, 3), (3, 4), (4, 4), (2, 2, 2), (2, 2, 3), (2, 3, 3)]


def _dropped(rec) -> set[str]:
    return {r.claim.claim_id for d in rec.decisions for r in d.rejected}


def test_the_engine_agrees_with_the_milp_oracle_on_500_random_tables():
    """Two- and three-way tables (cells and margins; a third of them tables of changes, with negative
    cells), 0-3 claims moved by 1-5, claimed exactly or to +-0.5. Seeded. Consistent exactly when the
    oracle needs to drop nothing, and the engine drops exactly as many claims as the oracle's minimum."""
    rng = random.Random(20261129)
    seen = {"consistent": 0, "inconsistent": 0, "negative": 0}
    for k in range(500):
        dims = SHAPES[k % len(SHAPES)]
        t = table(rng, dims, signed=rng.random() < 0.3, perturb=rng.choice([0, 0, 1, 1, 2, 3]),
                  half_width=rng.choice([0.0, 0.5]))
        rec = reconcile(t.claims, t.rules)
        fewest = fewest_to_drop(t.claims, t.rules)
        assert (not rec.conflicts) == (fewest == 0), (k, dims, t.perturbed)
        assert len(_dropped(rec)) == fewest, (k, dims, t.perturbed, sorted(_dropped(rec)))
        assert rec.optimal
        seen["consistent" if fewest == 0 else "inconsistent"] += 1
        seen["negative"] += any(c.value < 0 for c in t.claims)
    assert min(seen.values()) >= 100, seen  # the sample covers all three cases


def test_a_three_way_table_of_54_claims_is_localised_exactly():
    """3 x 3 x 3 cells and their three two-way margins (54 claims, 27 sums), two cells moved: each moved
    cell breaks three margins, so the fewest claims to drop are exactly the two cells. The hitting-set
    search would enumerate correction sets for seconds; the mixed-integer program answers at once."""
    t = table(random.Random(7), (3, 3, 3), perturb=0)
    moved = {"c012": 3.0, "c210": -4.0}
    claims = [Claim(c.claim_id, c.quantity, c.value + moved.get(c.claim_id, 0), c.low + moved.get(c.claim_id, 0),
                    c.high + moved.get(c.claim_id, 0), c.precision, c.source_kind, c.source) for c in t.claims]
    assert len(claims) == 54 and len(t.rules) == 27
    rec = reconcile(claims, t.rules)
    assert rec.optimal and _dropped(rec) == set(moved)
    assert fewest_to_drop(claims, t.rules) == 2
    assert {m.claim_ids for m in rec.conflicts} and all(set(m.claim_ids) & set(moved) for m in rec.conflicts)


def test_a_cycle_that_propagation_cannot_settle_is_caught_by_the_linear_program():
    """Two totals of the same two parts, 1.000.000 and 1.000.001: propagation narrows the parts one unit per
    pass and stops at its sweep limit with every domain non-empty; the linear program sees no solution."""
    a, b, t1, t2 = (Quantity(x, "GM0114", "2020") for x in ("a", "b", "t1", "t2"))
    rules = [Rule("one", "sum", "", t1, (a, b)), Rule("two", "sum", "", t2, (a, b))]
    claims = [Claim("t1", t1, 1e6, 1e6, 1e6, "exact", "cbs_table", "T1"),
              Claim("t2", t2, 1e6 + 1, 1e6 + 1, 1e6 + 1, "exact", "cbs_table", "T2")]
    net = ConstraintNetwork([a, b, t1, t2], rules)
    net.propagate([(net.index[t1], 1e6, 1e6), (net.index[t2], 1e6 + 1, 1e6 + 1)])  # no EmptyDomain: not proof
    (comp,) = components(claims, rules)
    assert not comp.tree and comp.linear is not None
    (c,) = conflicts(claims, rules)
    assert set(c.claim_ids) == {"t1", "t2"} and set(c.rule_ids) == {"one", "two"} and c.gap == pytest.approx(1)


# ---------------------------------------------------------------- negative figures

def _q(indicator: str, region: str = "GM0114", period: str = "2020") -> Quantity:
    return Quantity(indicator, region, period)


def test_a_negative_part_of_a_sum_is_a_figure_like_any_other():
    """Net migration: a region's is the sum of its municipalities', and may be negative. A published
    negative figure makes the indicator signed, so -120 + 300 = 180 is consistent, and -120 + 300 = 200
    is a conflict explained in words (it used to raise IndexError)."""
    region, a, b = _q("net_migration", "dutch_techzone"), _q("net_migration", "GM0114"), _q("net_migration", "GM0109")
    rule = Rule("members", "sum", "", region, (a, b))
    parts = [Claim("a", a, -120, -120, -120, "exact", "cbs_table", "T"),
             Claim("b", b, 300, 300, 300, "exact", "cbs_table", "T")]
    assert conflicts([*parts, Claim("r", region, 180, 180, 180, "exact", "document", "plan.txt")], [rule]) == []
    doc = Claim("r", region, 200, 200, 200, "exact", "document", "plan.txt")
    rec = reconcile([*parts, doc], [rule])
    assert _dropped(rec) == {"r"}
    (d,) = [d for d in rec.decisions if d.quantity == region]
    assert d.interval == (180, 180) and "200 valt af" in d.sentence and "180" in d.sentence


def test_a_negative_claim_the_rules_exclude_on_its_own_gets_a_reason_not_an_index_error():
    """A negative share cannot be (ratio terms are never negative): it falls on its own, and the
    sentence says what the rules allow."""
    share, part, total = _q("share"), _q("part"), _q("total")
    rule = Rule("share", "ratio", "", share, (part, total), scale=100)
    neg = Claim("s", share, -3.0, -3.5, -2.5, "rounded", "document", "plan.txt")
    (d,) = [d for d in decide([neg], [rule]) if d.quantity == share]
    assert d.value is None and [r.claim.claim_id for r in d.rejected] == ["s"]
    assert "-3% valt af: de regels laten ten minste 0% toe, wat -3% uitsluit" in d.sentence
    assert d.rejected[0].conflicts[0].causes == ("definition",)


def test_negative_changes_anywhere_in_sums_and_differences():
    """A change of a region is the sum of its members' changes; a member's decrease is negative, and so is
    the level difference it must equal."""
    r, a, b = "dutch_techzone", "GM0114", "GM0109"
    ch = {x: change_quantity("jobs", x, "2016", "2020") for x in (r, a, b)}
    rules = [Rule("members", "sum", "", ch[r], (ch[a], ch[b])),
             Rule("diff", "difference", "", ch[a], (_q("jobs", a, "2020"), _q("jobs", a, "2016")))]
    claims = [Claim("ra", ch[r], -500, -550, -450, "rounded", "document", "plan.txt"),
              Claim("a16", _q("jobs", a, "2016"), 10_000, 10_000, 10_000, "exact", "cbs_table", "T"),
              Claim("a20", _q("jobs", a, "2020"), 9_200, 9_200, 9_200, "exact", "cbs_table", "T"),
              Claim("cb", ch[b], 300, 300, 300, "exact", "cbs_table", "T")]
    rec = reconcile(claims, rules)
    assert rec.conflicts == []
    assert rec.intervals[ch[a]] == (-800, -800) and rec.intervals[ch[r]] == (-500, -500)
    wrong = [*claims[:3], Claim("cb", ch[b], 100, 100, 100, "exact", "cbs_table", "T")]
    assert _dropped(reconcile(wrong, rules)) == {"ra"}  # -800 + 100 = -700, not -500: the document goes
