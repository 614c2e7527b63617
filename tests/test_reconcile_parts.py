"""The engine's parts on their own: interval arithmetic, propagation, the hitting-set search, priorities,
causes and the Dutch wording (the engine as a whole is tested in test_reconcile_engine.py)."""

from __future__ import annotations

import math

import pytest

from regiostat.reconcile import engine
from regiostat.reconcile.causes import conflict_causes, ordered, pair_cause
from regiostat.reconcile.intervals import INF, EmptyDomain, div, finite_total, mul, narrow, sum_but, tol
from regiostat.reconcile.model import SOURCE_KIND_NL, Claim, Quantity, Rule, change_quantity
from regiostat.reconcile.priority import drop_key, priority
from regiostat.reconcile.propagation import ConstraintNetwork
from regiostat.reconcile.search import Component, components, minimal, minimal_hitting_sets
from regiostat.reconcile.sentences import DutchText, decimals, join, nl


def q(indicator: str, period: str = "2020") -> Quantity:
    return Quantity(indicator, "GM0114", period)


def claim(cid: str, quantity: Quantity, value: float, low: float | None = None, high: float | None = None, *,
          kind: str = "document", source: str = "doc.txt", vintage: str | None = None, status: str | None = None,
          notes: str | None = None) -> Claim:
    return Claim(cid, quantity, value, value if low is None else low, value if high is None else high, "rounded",
                 kind, source, vintage=vintage, status=status, notes=notes)


# ---------------------------------------------------------------- intervals

def test_tolerance_is_relative_to_the_larger_finite_magnitude_with_an_absolute_floor():
    assert tol(0.5) == pytest.approx(1e-9)
    assert tol(18349, 3) == pytest.approx(18349e-9)
    assert tol(INF, -INF) == pytest.approx(1e-9)


def test_narrow_absorbs_float_noise_but_empties_on_a_real_gap():
    lo, hi = [18349.0], [18349.0]
    assert narrow(lo, hi, 0, 15.55 * 1180, 15.55 * 1180) is False  # 18349.000000000004
    lo, hi = [0.0], [100.0]
    assert narrow(lo, hi, 0, 40.0, INF) is True and (lo, hi) == ([40.0], [100.0])
    with pytest.raises(EmptyDomain):
        narrow(lo, hi, 0, 100.5, 200.0)


def test_a_sum_without_one_term_stays_right_with_infinite_terms():
    values = [3.0, INF, 4.0]
    total = finite_total(values)
    assert sum_but(values, 1, total) == 7.0
    assert sum_but(values, 0, total) == INF
    assert sum_but([-INF, 1.0], 1, finite_total([-INF, 1.0])) == -INF


def test_products_and_quotients_of_non_negative_intervals():
    assert mul((0.0, 0.0), (5.0, INF)) == (0.0, 0.0)  # a zero factor is exactly zero, even times infinity
    assert mul((2.0, 3.0), (4.0, 5.0)) == (8.0, 15.0)
    assert div((10.0, 20.0), (2.0, 5.0)) == (2.0, 10.0)
    assert div((10.0, 20.0), (0.0, 5.0)) == (2.0, INF)  # the denominator may be zero: no upper bound
    assert div((1.0, 2.0), (0.0, 0.0)) == (0.0, INF)


# ---------------------------------------------------------------- propagation

def test_a_sum_narrows_its_free_part_and_a_ratio_its_share():
    total, a, b, share = q("t"), q("a"), q("b"), q("s")
    net = ConstraintNetwork([total, a, b, share], [Rule("sum", "sum", "", total, (a, b)),
                                                 Rule("share", "ratio", "", share, (a, total), scale=100)])
    lo, hi = net.propagate([(net.index[total], 100, 100), (net.index[a], 30, 40)])
    assert (lo[net.index[b]], hi[net.index[b]]) == (60, 70)
    assert (lo[net.index[share]], hi[net.index[share]]) == pytest.approx((30, 40))


def test_a_non_exhaustive_sum_only_bounds_its_parts_from_above():
    total, a = q("t"), q("a")
    net = ConstraintNetwork([total, a], [Rule("sum", "sum", "", total, (a,), params={"exhaustive": "false"})])
    lo, hi = net.propagate([(net.index[total], 100, 100)])
    assert (lo[net.index[a]], hi[net.index[a]]) == (0.0, 100.0)


def test_a_change_may_be_negative_while_levels_may_not():
    change = change_quantity("t", "GM0114", "2016", "2020")
    now, then = q("t"), q("t", "2016")
    net = ConstraintNetwork([change, now, then], [Rule("diff", "difference", "", change, (now, then))])
    assert net.lo0[net.index[change]] == -INF and net.lo0[net.index[now]] == 0.0
    lo, hi = net.propagate([(net.index[now], 90, 90), (net.index[then], 100, 100)])
    assert (lo[net.index[change]], hi[net.index[change]]) == (-10, -10)
    with pytest.raises(EmptyDomain):
        net.propagate([(net.index[now], 90, 90), (net.index[then], 100, 100), (net.index[change], 5, 5)])


def test_the_network_refuses_an_unknown_rule_kind_and_a_ratio_without_positive_scale():
    with pytest.raises(ValueError, match="unknown kind 'product'"):
        ConstraintNetwork([], [Rule("p", "product", "", q("a"), (q("b"),))])
    with pytest.raises(ValueError, match="positive scale"):
        ConstraintNetwork([], [Rule("r", "ratio", "", q("a"), (q("b"), q("c")), scale=0)])


# ---------------------------------------------------------------- search

def test_minimal_sets_and_minimal_hitting_sets():
    sets = [frozenset({0, 1}), frozenset({1, 2}), frozenset({0, 1, 2})]
    assert minimal(sets) == [frozenset({0, 1}), frozenset({1, 2})]
    assert minimal_hitting_sets(sets[:2]) == [frozenset({1}), frozenset({0, 2})]


def test_a_component_finds_every_minimal_conflict_and_drops_the_cheapest_set():
    """Two CBS figures agree, a document disagrees with both: drop the one document, not two CBS figures."""
    x = q("jobs")
    cbs1 = claim("cbs1", x, 100, kind="cbs_table", source="T1")
    cbs2 = claim("cbs2", x, 100, kind="cbs_table", source="T2")
    doc = claim("doc", x, 120)
    (comp,) = components([doc, cbs1, cbs2], [])
    assert [c.claim_id for c in comp.claims] == ["cbs1", "cbs2", "doc"]  # index = rank, most trusted first
    muses, drop, (lo, hi) = comp.analyse(budget=4000)
    assert {frozenset(comp.claims[i].claim_id for i in m) for m in muses} == {
        frozenset({"cbs1", "doc"}), frozenset({"cbs2", "doc"})}
    assert {comp.claims[i].claim_id for i in drop} == {"doc"}
    assert (lo[comp.net.index[x]], hi[comp.net.index[x]]) == (100, 100)
    assert comp.complete


def test_past_the_budget_the_search_still_reaches_a_consistent_set():
    x = q("jobs")
    claims = [claim(f"d{i}", x, 100 + i) for i in range(5)]
    comp = Component(claims, [])
    muses, drop, _ = comp.analyse(budget=1)
    assert not comp.complete and muses
    assert comp.feasible(comp.everything - drop)


def test_components_are_split_by_rules_and_filtered_by_quantity():
    a, b, c = q("a"), q("b"), q("c")
    claims = [claim("a", a, 1), claim("b", b, 2), claim("c", c, 3)]
    rule = Rule("sum", "sum", "", a, (b,))
    assert [sorted(x.claim_id for x in comp.claims) for comp in components(claims, [rule])] == [["a", "b"], ["c"]]
    assert [sorted(x.claim_id for x in comp.claims) for comp in components(claims, [rule], only=[c])] == [["c"]]


# ---------------------------------------------------------------- priority and causes

def test_priority_orders_authority_then_status_then_vintage_then_precision():
    x = q("jobs")
    cbs = claim("c", x, 100, kind="cbs_table")
    final = claim("f", x, 100, kind="lisa_file", status="definitief")
    provisional = claim("p", x, 100, kind="lisa_file", status="voorlopig", vintage="2030")
    narrow_doc, wide_doc = claim("n", x, 100, 99, 101), claim("w", x, 100, 90, 110)
    assert sorted([wide_doc, provisional, narrow_doc, final, cbs], key=priority, reverse=True) == [
        cbs, final, provisional, narrow_doc, wide_doc]


def test_dropping_any_number_of_documents_beats_dropping_one_official_figure():
    x = q("jobs")
    docs = [claim(f"d{i}", x, 100) for i in range(3)]
    cbs = claim("c", x, 120, kind="cbs_table")
    assert drop_key(docs) < drop_key([cbs])
    assert drop_key(docs[:1]) < drop_key(docs[:2])  # among equal tiers, fewer is better


def test_pair_causes_in_their_order_of_precedence():
    x = q("jobs")
    a = claim("a", x, 100, notes="Boundary: 2019. Reference date: 1 januari")
    b = claim("b", x, 130, notes="Boundary: 2020. Reference date: 1 april")
    assert pair_cause(a, b) == "boundary"
    assert pair_cause(claim("a", x, 100, notes="Peildatum: 1 januari"),
                      claim("b", x, 130, notes="Reference date: 1 april")) == "reference_date"
    assert pair_cause(claim("a", x, 100, vintage="2020"), claim("b", x, 130, vintage="2021")) == "revision"
    assert pair_cause(claim("a", x, 100, 95, 105), claim("b", x, 104, 103, 105, source="other")) == "rounding"
    assert pair_cause(claim("a", x, 100), claim("b", x, 130)) == "transcription"
    assert pair_cause(claim("a", x, 100), claim("b", x, 130, source="other")) == "definition"


def test_a_conflict_through_rules_takes_its_cause_from_its_sources():
    total, part = q("t"), q("a")
    one_source = [claim("t", total, 10, kind="cbs_table", source="T"), claim("a", part, 20, kind="cbs_table", source="T")]
    assert conflict_causes(one_source) == ("arithmetic",)  # its own figures do not add up: not a transcription
    two_sources = [one_source[0], claim("a", part, 20, kind="cbs_table", source="U")]
    assert conflict_causes(two_sources) == ("definition",)
    assert ordered({"transcription", "rounding"}) == ("rounding", "transcription")
    assert conflict_causes(one_source[:1]) == ("definition",)  # one figure the rules exclude on its own


# ---------------------------------------------------------------- Dutch wording

def test_dutch_numbers_and_lists():
    assert nl(18349.5, 1) == "18.349,5"
    assert nl(-0.0004, 2) == "0,00"  # no "-0,00"
    assert nl(-1200, 0) == "-1.200"
    assert decimals(15.55) == 2 and decimals(18100) == 0
    assert join(["a"]) == "a" and join(["a", "b", "c"]) == "a, b en c"


def test_intervals_are_written_with_open_ends_and_percent_signs():
    share = q("s")
    text = DutchText([Rule("r", "ratio", "", share, (q("a"), q("t")), scale=100)])
    assert text.interval((15.55, 15.65), share, 1) == "15,5–15,7%"
    assert text.interval((10.0, INF), q("a"), 0) == "ten minste 10"
    assert text.interval((-INF, math.inf), q("a"), 0) == "elke waarde"


def test_a_caller_names_its_own_source_kinds_without_editing_the_engine():
    x = q("jobs")
    lisa = claim("l", x, 100, kind="lisa_file", source="lisa_2020.csv")
    assert DutchText([]).source(lisa) == "LISA-bestand lisa_2020.csv"
    renamed = DutchText([], kind_labels={"lisa_file": "LISA-vestigingenregister", "uwv_file": "UWV-bestand"})
    assert renamed.source(lisa) == "LISA-vestigingenregister lisa_2020.csv"
    assert renamed.kind("uwv_file") == "UWV-bestand" and renamed.kind("cbs_table") == SOURCE_KIND_NL["cbs_table"]
    assert DutchText([]).kind("uwv_file") == "uwv_file"  # an unnamed kind shows its code, never "None"
    doc = claim("d", x, 130)
    (d,) = engine.decide([lisa, doc], [], kind_labels={"lisa_file": "LISA-vestigingenregister"})
    assert "(LISA-vestigingenregister gaat voor document)" in d.sentence


def test_the_engine_keeps_its_public_names():
    for name in ("reconcile", "verdicts", "feasible_intervals", "conflicts", "decide", "Conflict", "Decision",
                 "Rejection", "Verdict", "Reconciliation", "NODE_BUDGET", "KIND_NL", "pair_cause", "priority"):
        assert hasattr(engine, name), name
