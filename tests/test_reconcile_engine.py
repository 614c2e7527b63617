"""The reconciliation engine on hand-made claim sets whose answers are known in advance, and a replay
of the figures in section 4 of the Dutch TechZone 'Strategische Koers 2022-2025' (seed 004)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regiostat.indicators.catalogue import load_indicators
from regiostat.reconcile.engine import conflicts, decide, feasible_intervals, reconcile, verdicts
from regiostat.reconcile.model import Claim, Quantity, Rule, change_quantity
from regiostat.reconcile.precision import _HEDGES, parse_figure
from regiostat.reconcile.rules import RuleConfigError, instantiate, labels, load_rules, parse_rules
from tests.conftest import PATHS

R = "dutch_techzone"


def claim(cid: str, q: Quantity, value: float, low: float | None = None, high: float | None = None, *,
          kind: str = "document", source: str = "doc.txt", vintage: str | None = "2021", status: str | None = None,
          precision: str = "rounded", notes: str | None = None, quote: str | None = None) -> Claim:
    return Claim(cid, q, value, value if low is None else low, value if high is None else high, precision, kind,
                 source, quote=quote, vintage=vintage, status=status, notes=notes)


def q(indicator: str, region: str = "GM0114", period: str = "2020") -> Quantity:
    return Quantity(indicator, region, period)


def sum_rule(rule_id: str, total: Quantity, *parts: Quantity) -> Rule:
    return Rule(rule_id, "sum", "total = sum of parts", total, tuple(parts))


def ratio_rule(rule_id: str, ratio: Quantity, num: Quantity, den: Quantity, scale: float = 100) -> Rule:
    return Rule(rule_id, "ratio", "ratio = num / den x scale", ratio, (num, den), scale=scale)


def mus_sets(found) -> set[frozenset[str]]:
    return {frozenset(c.claim_ids) for c in found}


# ---------------------------------------------------------------- one quantity, two claims

def test_overlapping_claims_are_consistent_and_the_cause_is_rounding():
    x = q("lisa_jobs_manufacturing_c")
    a = claim("a", x, 18100, 18050, 18150, source="plan_a.txt")
    b = claim("b", x, 18000, 18000, 19000, source="plan_b.txt", precision="ruim: [X, X + 1000]")
    assert conflicts([a, b], []) == []
    assert feasible_intervals([a, b], [])[x] == (18050, 18150)
    (d,) = decide([a, b], [])
    assert d.chosen == a and d.value == 18100 and d.rejected == ()  # a is the more precise
    assert d.causes == ("rounding",)
    assert "ruim 18.000" in d.sentence and "afronding" in d.sentence


@pytest.mark.parametrize("hedge", sorted(_HEDGES))
def test_a_hedged_figure_keeps_its_hedge_word_in_the_sentence(hedge):
    x = q("lisa_jobs_manufacturing_c")
    fig = parse_figure(f"{hedge} 18.000", locale="nl")  # precision as the claims file writes it: "ca.: ..."
    assert fig.precision.startswith(f"{hedge}: ")
    b = claim("b", x, fig.value, fig.low, fig.high, source="plan_b.txt", precision=fig.precision)
    (v,) = verdicts([b], [], decide([b], []))
    assert v.sentence.startswith(f"{hedge} 18.000 (")
    inside = (fig.low + fig.value) / 2 if fig.low < fig.value else (fig.value + fig.high) / 2
    a = claim("a", x, inside, source="plan_a.txt")  # exact, so chosen; b fits it and is named
    (d,) = decide([a, b], [])
    assert d.chosen == a and d.rejected == ()
    assert f"{hedge} 18.000 (document plan_b.txt, versie 2021) past er ook bij (afronding)" in d.sentence


def test_two_values_in_one_document_that_do_not_overlap_are_a_transcription_error():
    x = q("lisa_jobs_manufacturing_c")
    a = claim("a", x, 18100, 18050, 18150)
    b = claim("b", x, 18300, 18250, 18350)
    (c,) = conflicts([a, b], [])
    assert set(c.claim_ids) == {"a", "b"} and c.rule_ids == () and c.gap == pytest.approx(100)
    assert c.causes == ("transcription",)
    (d,) = decide([a, b], [])
    assert d.causes == ("transcription",) and len(d.rejected) == 1
    assert "transcriptiefout" in d.sentence


def test_a_tolerance_never_hides_a_violation_bigger_than_the_stated_precision():
    x = q("population")
    exact = [claim("a", x, 1_000_000), claim("b", x, 1_000_000.5)]  # both exact: 0.5 apart is a conflict
    (c,) = conflicts(exact, [])
    assert c.gap == pytest.approx(0.5)
    noise = [claim("a", x, 0.1 + 0.2), claim("b", x, 0.3)]  # float noise is not
    assert conflicts(noise, []) == []


# ---------------------------------------------------------------- three claims, any two consistent

def test_sum_conflict_needs_all_three_claims():
    A, B, C = q("a"), q("b"), q("c")
    rules = [sum_rule("c=a+b", C, A, B)]
    claims = [claim("A", A, 1), claim("B", B, 1), claim("C", C, 3)]
    (c,) = conflicts(claims, rules)
    assert set(c.claim_ids) == {"A", "B", "C"} and c.rule_ids == ("c=a+b",)
    assert c.gaps == {"A": pytest.approx(1), "B": pytest.approx(1), "C": pytest.approx(1)}
    assert c.implied["C"] == (2, 2)
    for i in range(3):  # any two are consistent
        assert conflicts(claims[:i] + claims[i + 1:], rules) == []


def test_ratio_conflict_part_total_share():
    part, total, share = q("cbs_employee_jobs_industry_bf"), q("cbs_employee_jobs"), q("cbs_industry_share_bf")
    rules = [ratio_rule("share", share, part, total)]
    claims = [claim("part", part, 10), claim("total", total, 100), claim("share", share, 15)]
    (c,) = conflicts(claims, rules)
    assert set(c.claim_ids) == {"part", "total", "share"}
    assert c.implied["share"] == pytest.approx((10, 10)) and c.gaps["share"] == pytest.approx(5)
    assert c.implied["total"] == pytest.approx((10 / 0.15, 10 / 0.15))
    for i in range(3):
        assert conflicts(claims[:i] + claims[i + 1:], rules) == []


def test_mus_enumeration_finds_exactly_the_minimal_sets():
    X, Y, T = q("x"), q("y"), q("t")
    rules = [sum_rule("t=x+y", T, X, Y)]
    claims = [claim("x1", X, 0.5, 0, 1, source="d1"), claim("x2", X, 2.5, 2, 3, source="d2"),
              claim("x3", X, 3, 2.5, 4, source="d3"), claim("t", T, 10, kind="cbs_table", source="t"),
              claim("y", Y, 8.5, kind="cbs_table", source="t")]  # t - y forces x = 1.5
    found = conflicts(claims, rules)
    assert mus_sets(found) == {frozenset(s) for s in (
        {"x1", "x2"}, {"x1", "x3"}, {"t", "y", "x1"}, {"t", "y", "x2"}, {"t", "y", "x3"})}
    by = {frozenset(c.claim_ids): c for c in found}
    assert by[frozenset({"x1", "x2"})].causes == ("definition",)  # different documents, no overlap
    assert by[frozenset({"t", "y", "x2"})].gaps["x2"] == pytest.approx(0.5)
    # all three document figures for x go; x = 1.5 from the CBS figures
    (dx,) = [d for d in decide(claims, rules) if d.quantity == X]
    assert dx.chosen is None and dx.interval == pytest.approx((1.5, 1.5))
    assert {r.claim.claim_id for r in dx.rejected} == {"x1", "x2", "x3"}


def test_components_are_independent():
    claims = [claim("a", q("x", period="2019"), 1), claim("b", q("x", period="2019"), 2),
              claim("c", q("x", period="2020"), 1), claim("d", q("x", period="2020"), 1)]
    assert mus_sets(conflicts(claims, [])) == {frozenset({"a", "b"})}


# ---------------------------------------------------------------- feasible intervals

def test_feasible_interval_of_a_part_from_share_and_total():
    """15,6% (15.55-15.65) of 118.000-119.000 is 18,349 (= 0.1555 x 118,000) to 18,623.5 (= 0.1565 x
    119,000); shown to a policy officer rounded outward to whole jobs: 18.349-18.624."""
    part, total, share = q("lisa_jobs_manufacturing_c"), q("lisa_jobs"), q("lisa_industry_share_c")
    rules = [ratio_rule("share", share, part, total)]
    claims = [claim("s", share, 15.6, 15.55, 15.65), claim("t", total, 118000, 118000, 119000)]
    iv = feasible_intervals(claims, rules)
    assert iv[part] == pytest.approx((18349, 18623.5))
    assert iv[total] == (118000, 119000) and iv[share] == (15.55, 15.65)


def test_sum_propagates_in_every_direction_and_parts_are_never_negative():
    A, B, C = q("a"), q("b"), q("c")
    rules = [sum_rule("c=a+b", C, A, B)]
    iv = feasible_intervals([claim("C", C, 100, 90, 110), claim("A", A, 30, 25, 35)], rules)
    assert iv[B] == pytest.approx((55, 85))
    iv = feasible_intervals([claim("C", C, 100)], rules + [sum_rule("dummy", q("d"), A)])
    assert iv[A] == (0, 100) and iv[B] == (0, 100)


def test_change_is_a_difference_and_may_be_negative():
    level20, level16 = q("lisa_jobs", period="2020"), q("lisa_jobs", period="2016")
    change = change_quantity("lisa_jobs", "GM0114", "2016", "2020")
    rules = [Rule("chg", "difference", "change", change, (level20, level16))]
    iv = feasible_intervals([claim("l20", level20, 1000), claim("chg", change, -300)], rules)
    assert iv[level16] == (1300, 1300)


# ---------------------------------------------------------------- decisions and priority

def test_cbs_definitief_beats_cbs_voorlopig_beats_a_document():
    x = q("cbs_employee_jobs")
    definitief = claim("def", x, 5000, kind="cbs_table", source="83582NED", vintage="2023-06-01", status="definitief")
    voorlopig = claim("vlp", x, 5100, kind="cbs_table", source="70072NED", vintage="2023-06-01", status="voorlopig")
    document = claim("doc", x, 5200, 5150, 5250)
    (d,) = decide([document, voorlopig, definitief], [])
    assert d.chosen == definitief and d.value == 5000
    assert {r.claim.claim_id for r in d.rejected} == {"vlp", "doc"}
    assert "definitief gaat voor voorlopig" in d.sentence and "CBS-tabel gaat voor document" in d.sentence
    (d,) = decide([document, voorlopig], [])
    assert d.chosen == voorlopig and [r.claim for r in d.rejected] == [document]
    assert d.causes == ("definition",)  # different sources, no overlap, nothing else explains it


def test_fewest_claims_go_within_a_tier_but_lower_tier_claims_go_however_many_there_are():
    A, B, C = q("a"), q("b"), q("c")
    rules = [sum_rule("c=a+b", C, A, B)]
    cbs = claim("C", C, 3, kind="cbs_table", source="t", status="definitief")
    docs = [claim("A", A, 1, 0.95, 1.05), claim("B", B, 1, 0.9, 1.1)]
    (d,) = [d for d in decide([cbs, *docs], rules) if d.quantity == B]
    assert [r.claim.claim_id for r in d.rejected] == ["B"]  # one document suffices: the less precise one
    assert d.interval == pytest.approx((1.95, 2.05))
    X = q("x")
    two_docs = [claim("d1", X, 5.5, 5, 6, source="d1"), claim("d2", X, 6, 5.5, 7, source="d2")]  # agree
    (d,) = decide([claim("cbs", X, 3, kind="cbs_table", source="t"), *two_docs], [])
    assert d.chosen.claim_id == "cbs" and {r.claim.claim_id for r in d.rejected} == {"d1", "d2"}


def test_a_revision_gets_cause_revision_and_the_latest_definitief_wins():
    x = q("cbs_employee_jobs", "CR08", "2021")
    old = claim("v2022", x, 60100, kind="cbs_table", source="83582NED", vintage="2022-03-15", status="voorlopig")
    new = claim("v2023", x, 60400, kind="cbs_table", source="83582NED", vintage="2023-03-15", status="definitief")
    (c,) = conflicts([old, new], [])
    assert c.causes == ("revision",) and c.gap == pytest.approx(300)
    (d,) = decide([old, new], [])
    assert d.chosen == new and d.value == 60400 and d.causes == ("revision",)
    assert "revisie" in d.sentence
    # both definitief: the later vintage wins
    older = claim("v2021", x, 60000, kind="cbs_table", source="83582NED", vintage="2021-03-15", status="definitief")
    (d,) = decide([new, older], [])
    assert d.chosen == new and "versie 2023-03-15 gaat voor 2021-03-15" in d.sentence


def test_reference_date_and_boundary_causes():
    x = q("lisa_jobs", R)
    sept = claim("sept", x, 118000, notes="Reference date: 2020-09.")
    april = claim("april", x, 115000, kind="lisa_file", source="lisa.csv", notes="Reference date: 2020-04-01.")
    assert conflicts([sept, april], [])[0].causes == ("reference_date",)
    old = claim("old", x, 100, kind="cbs_table", source="t", notes="Boundary: 2018")
    new = claim("new", x, 120, kind="cbs_table", source="u", notes="Boundary: 2019")
    assert conflicts([old, new], [])[0].causes == ("boundary",)


def test_band_rule_warns_and_never_changes_a_decided_value():
    cbs, lisa = q("cbs_employee_jobs", R), q("lisa_jobs", R)
    band = Rule("cbs_vs_lisa", "band", "0.6 <= cbs / lisa <= 1.1", cbs, (lisa,), band=(0.6, 1.1))
    claims = [claim("cbs", cbs, 50000, kind="cbs_table", source="83582NED", status="definitief"),
              claim("lisa", lisa, 100000, kind="lisa_file", source="lisa.csv")]
    with_band, without = decide(claims, [band]), decide(claims, [])
    assert [d.value for d in with_band] == [d.value for d in without] == [50000, 100000]
    assert conflicts(claims, [band]) == []
    assert all(d.warnings and "definition" in d.causes and "Let op" in d.sentence for d in with_band)
    assert all(d.rejected == () for d in with_band)
    assert "0,50 keer" in with_band[0].warnings[0]
    inside = [claims[0], claim("lisa", lisa, 60000, kind="lisa_file", source="lisa.csv")]
    assert all(d.warnings == () for d in decide(inside, [band]))


# ---------------------------------------------------------------- verdicts

def test_verdicts_supported_contradicted_unverifiable():
    inds = load_indicators(PATHS.indicators_toml)
    part = lambda r: q("cbs_employee_jobs_industry_bf", r)  # noqa: E731
    total = lambda r: q("cbs_employee_jobs", r)  # noqa: E731
    share = lambda r: q("cbs_industry_share_bf", r)  # noqa: E731
    data = [claim(f"{k}_{r}", f(r), v, kind="cbs_table", source="83582NED", status="definitief", vintage="2024")
            for r in ("GM0114", "GM0109") for k, f, v in (("part", part, 15000), ("total", total, 100000))]
    docs = [claim("share_ok", share("GM0114"), 15.0, 14.95, 15.05),
            claim("share_bad", share("GM0109"), 17, 16.5, 17.5),
            claim("establishments", q("lisa_establishments", "GM0114"), 22420, 22415, 22425)]
    claims = data + docs
    rules = instantiate(load_rules(PATHS.rules_toml, indicators=inds), [c.quantity for c in claims], indicators=inds, memberships={})
    assert {r.rule_id for r in rules} == {"share:cbs_industry_share_bf[GM0109,2020]",
                                          "share:cbs_industry_share_bf[GM0114,2020]",
                                          # B-F is one of the SBI sections that add up to A-U
                                          "sbi_sections_sum[GM0109,2020]", "sbi_sections_sum[GM0114,2020]"}
    out = {v.claim.claim_id: v for v in verdicts(claims, rules, decide(claims, rules))}
    assert set(out) == {"share_ok", "share_bad", "establishments"}
    assert out["share_ok"].verdict == "supported" and out["share_ok"].interval == pytest.approx((15, 15))
    assert set(out["share_ok"].by_claims) == {"part_GM0114", "total_GM0114"}
    assert "klopt" in out["share_ok"].sentence
    bad = out["share_bad"]
    assert bad.verdict == "contradicted" and bad.gap == pytest.approx(1.5)
    assert set(bad.by_claims) == {"part_GM0109", "total_GM0109"}
    assert bad.by_rules == ("share:cbs_industry_share_bf[GM0109,2020]",)
    unv = out["establishments"]
    assert unv.verdict == "unverifiable" and unv.missing == (q("lisa_establishments", "GM0114"),)


def test_verdicts_solve_only_the_components_of_document_claims():
    part, total, share = q("cbs_employee_jobs_industry_bf"), q("cbs_employee_jobs"), q("cbs_industry_share_bf")
    rules = [ratio_rule("share", share, part, total)]
    data = [claim("part", part, 15000, kind="cbs_table", source="83582NED"),
            claim("total", total, 100000, kind="cbs_table", source="83582NED")]
    doc = claim("doc", share, 15.0, 14.95, 15.05)
    other = q("lisa_jobs", "GM0109")  # data without a document claim: a component no verdict reads
    unrelated = [claim("lisa_a", other, 500, kind="lisa_file", source="lisa.csv"),
                 claim("lisa_b", other, 900, kind="lisa_file", source="lisa.csv")]
    (alone,) = verdicts(data + [doc], rules, decide(data + [doc], rules))
    claims = data + unrelated + [doc]
    (v,) = verdicts(claims, rules, decide(claims, rules))
    assert v == alone and v.verdict == "supported" and set(v.by_claims) == {"part", "total"}
    # the kept data a verdict does read must be consistent: decisions of other claims are refused
    clash = claim("total_b", total, 50000, kind="cbs_table", source="83582NED")
    with pytest.raises(ValueError, match="inconsistent"):
        verdicts(data + [clash, doc], rules, decide(data + [doc], rules))


def test_band_violation_is_a_warning_in_the_verdict_not_a_contradiction():
    cbs, lisa = q("cbs_employee_jobs", R), q("lisa_jobs", R)
    band = Rule("cbs_vs_lisa", "band", "0.6 <= cbs / lisa <= 1.1", cbs, (lisa,), band=(0.6, 1.1))
    claims = [claim("cbs", cbs, 50000, kind="cbs_table", source="83582NED"),
              claim("doc", lisa, 100000, 99500, 100500)]
    (v,) = verdicts(claims, [band], decide(claims, [band]))
    assert v.verdict == "unverifiable" and v.warnings


# ---------------------------------------------------------------- the rule catalogue

def test_rule_catalogue_loads_against_the_indicator_catalogue():
    templates = load_rules(PATHS.rules_toml, indicators=load_indicators(PATHS.indicators_toml))
    kinds = {t.kind for t in templates}
    assert kinds == {"sum", "members_sum", "ratio", "difference", "band"}
    assert all(t.description for t in templates)
    names = labels(load_indicators(PATHS.indicators_toml))
    assert names["lisa_jobs"].startswith("banen") and names["cbs_employee_jobs"].startswith("banen van werknemers")


@pytest.mark.parametrize("raw, field", [
    ({"id": "r", "kind": "ratio", "description": "d", "ratio": "a", "numerator": "b", "denominator": "c"}, "scale"),
    ({"id": "r", "kind": "band", "description": "d", "a": "x", "b": "y", "lower": 2, "upper": 1}, "upper"),
    ({"id": "r", "kind": "sum", "description": "d", "total": "x", "parts": ["y"], "colour": 1}, "colour"),
    ({"id": "r", "kind": "sum", "description": "", "total": "x", "parts": ["y"]}, "description"),
    ({"id": "r", "kind": "product", "description": "d"}, "kind"),
    ({"id": "r", "kind": ["sum"], "description": "d"}, "kind"),  # not a kind, and not a crash
    ({"id": "r", "kind": "ratio", "description": "d", "from_catalogue": "percent", "scale": 100}, "scale"),
    ({"id": "r", "kind": "members_sum", "description": "d", "indicators": "all"}, "indicators"),
    ({"id": "r", "kind": "difference", "description": "d", "indicators": ["x", "x"]}, "indicators"),
    ({"id": "r", "kind": "sum", "description": "d", "total": "x", "parts": ["y"], "exhaustive": "no"}, "exhaustive"),
    ({"id": "r", "kind": "sum", "description": "d", "total": "x", "parts": ["x"]}, "parts"),
    ({"id": "r", "kind": "band", "description": "d", "a": "x", "b": "y", "lower": True, "upper": 1}, "lower"),
])
def test_a_malformed_rule_names_its_id_and_field(raw, field):
    with pytest.raises(RuleConfigError) as e:
        parse_rules({"rule": [raw]})
    assert e.value.rule == "'r'" and e.value.field == field and f"'{field}'" in str(e.value)


def test_unknown_indicator_in_an_enabled_rule_is_refused():
    raw = {"id": "r", "kind": "sum", "description": "d", "total": "cbs_employee_jobs", "parts": ["nope"]}
    with pytest.raises(RuleConfigError, match="unknown indicator 'nope'"):
        parse_rules({"rule": [raw]}, indicators=load_indicators(PATHS.indicators_toml))
    parse_rules({"rule": [raw | {"enabled": False}]}, indicators=load_indicators(PATHS.indicators_toml))


def test_instantiate_members_sum_and_pruning():
    inds = load_indicators(PATHS.indicators_toml)
    templates = load_rules(PATHS.rules_toml, indicators=inds)
    members = {R: ["GM0114", "GM0109"]}
    lone = [q("lisa_jobs", R)]
    assert instantiate(templates, lone, indicators=inds, memberships={}) == []  # nothing to relate
    claimed = [q("lisa_jobs", R), q("lisa_jobs", "GM0114"), q("lisa_jobs", "GM0109")]
    rules = instantiate(templates, claimed, indicators=inds, memberships=members)
    rule = next(r for r in rules if r.rule_id == "members_sum:lisa_jobs[dutch_techzone,2020]")
    assert rule.kind == "sum" and rule.target == claimed[0] and set(rule.inputs) == set(claimed[1:])
    # (the full-time + part-time rules stay too: through the members they restate the same sum)
    claims = [claim("r", claimed[0], 310, 305, 315), claim("a", claimed[1], 100, kind="lisa_file", source="l"),
              claim("b", claimed[2], 200, kind="lisa_file", source="l")]
    (c,) = conflicts(claims, rules)
    assert set(c.claim_ids) == {"r", "a", "b"} and c.gap == pytest.approx(5)
    assert c.rule_ids == ("members_sum:lisa_jobs[dutch_techzone,2020]",)


# ---------------------------------------------------------------- the Dutch TechZone document, section 4

SEED = "seeds/004_5a5f99b53d6b1495.txt"
# LISA-based figures for the four municipalities: lisa_jobs, lisa_jobs_manufacturing_c, lisa_establishments
# and the manufacturing share, establishments and average size from config/indicators.toml.
LABELS = {"lisa_jobs_manufacturing_c": "industriebanen", "lisa_industry_share_c": "aandeel industrie",
          "lisa_jobs": "banen", "lisa_establishments": "vestigingen", R: "Dutch TechZone",
          "lisa_establishments_manufacturing_c": "maakbedrijven",
          "lisa_average_establishment_size_manufacturing_c": "gemiddelde omvang maakbedrijf"}


def dtz(cid: str, indicator: str, period: str, value: float, low: float, high: float, quote: str, *,
        precision: str = "rounded (trailing zeros read as rounding)", quantity: Quantity | None = None) -> Claim:
    return Claim(cid, quantity or Quantity(indicator, R, period), value, low, high, precision, "document", SEED,
                 location="section 4", quote=quote, vintage="2021")


def techzone_claims() -> list[Claim]:
    """Intervals as regiostat.reconcile.precision reads them: trailing zeros are rounding (18.400 -> +-50,
    910 -> +-5), one decimal -> +-0.05, "ruim 118.000" -> [118.000, 119.000]."""
    return [
        dtz("jobs_2020", "lisa_jobs", "2020", 118000, 118000, 119000,
            "De Dutch TechZone regio biedt werk aan ruim 118.000 mensen (stand september 2020).",
            precision="ruim: [X, X + 1000]"),
        dtz("jobs_change", "", "", 3500, 3450, 3550,
            "Dat zijn 3.500 arbeidsplaatsen meer dan in 2016, vlak voor onze samenwerking startte.",
            quantity=change_quantity("lisa_jobs", R, "2016", "2020")),
        dtz("establishments_2020", "lisa_establishments", "2020", 22420, 22415, 22425,
            "telt anno 2020 in totaal 22.420 vestigingen."),
        dtz("industry_2016", "lisa_jobs_manufacturing_c", "2016", 18400, 18350, 18450,
            "In 2016 telde de industrie in de Dutch TechZone 18.400 arbeidsplaatsen"),
        dtz("industry_2020_a", "lisa_jobs_manufacturing_c", "2020", 18100, 18050, 18150,
            "in 2020 waren dat er 18.100."),
        dtz("industry_2020_b", "lisa_jobs_manufacturing_c", "2020", 18300, 18250, 18350,
            "arbeidsplaatsen, in 2020 nog 18.300."),
        dtz("share_2016", "lisa_industry_share_c", "2016", 16.5, 16.45, 16.55,
            "Daarmee daalde het aandeel van de industrie in de regionale productiestructuur van 16,5% naar 15,6%."),
        dtz("share_2020", "lisa_industry_share_c", "2020", 15.6, 15.55, 15.65,
            "Daarmee daalde het aandeel van de industrie in de regionale productiestructuur van 16,5% naar 15,6%."),
        dtz("makers_2016", "lisa_establishments_manufacturing_c", "2016", 910, 905, 915,
            "nam het aantal maakbedrijven in de regio toe van 910 tot 1030."),
        dtz("makers_2020_a", "lisa_establishments_manufacturing_c", "2020", 1030, 1025, 1035,
            "nam het aantal maakbedrijven in de regio toe van 910 tot 1030."),
        dtz("makers_2020_b", "lisa_establishments_manufacturing_c", "2020", 1030, 1025, 1035,
            "nam het aantal maakbedrijven in onze regio toe van 910 tot 1.030."),
        dtz("size_2016", "lisa_average_establishment_size_manufacturing_c", "2016", 20.3, 20.25, 20.35,
            "nam in diezelfde periode namelijk af van 20,3 arbeidsplaats/bedrijf naar 17,7."),
        dtz("size_2020", "lisa_average_establishment_size_manufacturing_c", "2020", 17.7, 17.65, 17.75,
            "nam in diezelfde periode namelijk af van 20,3 arbeidsplaats/bedrijf naar 17,7."),
    ]


def test_dutch_techzone_section_4_replay():
    """Hand computation (I = industry jobs, J = all jobs, S = industry share, M = maakbedrijven, A = average
    size; rules S = I / J x 100, A = I / M, change = J2020 - J2016).

    2020. S x J: 15,55% x 118.000 = 18.349 to 15,65% x 119.000 = 18.623,5, so I2020 in [18.349, 18.623,5].
      18.100 ([18.050, 18.150]) is excluded, 199 jobs short: conflict {18.100, 15,6%, ruim 118.000}.
      18.300 ([18.250, 18.350]) just fits: I2020 in [18.349, 18.350].
      A x M: 17,65 x 1.025 = 18.091,25 to 17,75 x 1.035 = 18.371,25 - fits both 18.100 and 18.300 and the
      share; together with 18.300 and the share it pins M2020 to 18.349 / 17,75 = 1.033,7 .. 1.035.
      18.100 and 18.300 are one quantity in one document: conflict {18.100, 18.300}, 100 apart (transcription).
    2016. I / S: 18.350 / 16,55% = 110.876 to 18.450 / 16,45% = 112.158 jobs in 2016.
      ruim 118.000 minus 3.500 (3.450-3.550) = 114.450 to 115.550 jobs in 2016: 2.292 apart. The document's
      2016 figures do not fit its 2020 total and growth: conflict {18.400, 16,5%, +3.500, ruim 118.000}.
      The same with I2016 from A x M (20,25 x 905 = 18.326 to 20,35 x 915 = 18.620; 2016 jobs at most
      113.193): conflict {20,3, 910, 16,5%, +3.500, ruim 118.000}, 1.257 apart.
      And through 2020: 18.300 / 15,6% gives J2020 >= 18.250 / 15,65% = 116.613, while 18.400 at 16,5%
      plus 3.500 gives at most 112.158 + 3.550 = 115.708: conflict {18.300, 15,6%, 16,5%, 18.400, +3.500},
      905 apart. (With 18.100 instead: J2020 >= 115.335 - fits.)
    Five minimal conflicts. Smallest repairs (two claims each): {18.100, +3.500}, {18.100, 16,5%},
    {18.300, ruim 118.000}. All are document claims of one tier; the least precise go: +3.500 (+-50 on
    3.500, 1,4% each way) rather than 16,5% or ruim 118.000. So the engine holds the plan's own 18.300
    (never the corner 18.349 it allows: that would be a new figure) and says it fits only at the edge of
    its rounding, 18.349-18.350, which needs 118.000-118.006 jobs in total; it rejects 18.100 and the
    +3.500 growth; with those figures the growth 2016-2020 was 118.000 - 112.158,1 = 5.841,9 to
    118.006,4 - 110.876,1 = 7.130,3 jobs, shown as the whole numbers it can be: 5.842-7.130, not 3.500.
    The figures 18.300, 15,6%, ruim 118.000, 17,7 and 1.030 all hold only at the edge of their rounding.
    """
    inds = load_indicators(PATHS.indicators_toml)
    claims = techzone_claims()
    templates = load_rules(PATHS.rules_toml, indicators=inds)
    rules = instantiate(templates, [c.quantity for c in claims], indicators=inds,
                        memberships={R: ["GM0114", "GM0109", "GM0118", "GM0160"]})
    assert {r.rule_id for r in rules} == {
        "average:lisa_average_establishment_size_manufacturing_c[dutch_techzone,2016]",
        "average:lisa_average_establishment_size_manufacturing_c[dutch_techzone,2020]",
        "change:lisa_jobs[dutch_techzone,2016/2020]",
        "share:lisa_industry_share_c[dutch_techzone,2016]",
        "share:lisa_industry_share_c[dutch_techzone,2020]"}

    rec = reconcile(claims, rules, labels=LABELS)
    assert rec.complete
    by = {frozenset(c.claim_ids): c for c in rec.conflicts}
    assert set(by) == {frozenset(s) for s in (
        {"industry_2020_a", "industry_2020_b"},
        {"industry_2020_a", "share_2020", "jobs_2020"},
        {"industry_2016", "share_2016", "jobs_change", "jobs_2020"},
        {"size_2016", "makers_2016", "share_2016", "jobs_change", "jobs_2020"},
        {"industry_2020_b", "share_2020", "share_2016", "industry_2016", "jobs_change"})}
    assert by[frozenset({"industry_2020_a", "industry_2020_b"})].causes == ("transcription",)
    assert {c.causes for s, c in by.items() if len(s) > 2} == {("arithmetic",)}  # the plan's own sums
    assert by[frozenset({"industry_2020_a", "share_2020", "jobs_2020"})].gaps["industry_2020_a"] == pytest.approx(199)
    assert by[frozenset({"industry_2020_a", "share_2020", "jobs_2020"})].implied["industry_2020_a"] == \
        pytest.approx((18349, 18623.5))
    j16_gap = 114450 - 18450 / 0.1645
    assert by[frozenset({"industry_2016", "share_2016", "jobs_change", "jobs_2020"})].gaps["jobs_change"] == \
        pytest.approx(j16_gap)  # 2.292 jobs
    assert by[frozenset({"industry_2020_b", "share_2020", "share_2016", "industry_2016", "jobs_change"})] \
        .gaps["jobs_change"] == pytest.approx(18250 / 0.1565 - (18450 / 0.1645 + 3550))  # 905 jobs

    dec = {d.quantity: d for d in rec.decisions}
    industry_2020 = dec[Quantity("lisa_jobs_manufacturing_c", R, "2020")]
    assert industry_2020.chosen.claim_id == "industry_2020_b"  # 18.300, not 18.100
    assert industry_2020.interval == pytest.approx((18349, 18350))
    assert industry_2020.value == 18300 and industry_2020.edge_only  # the plan's own figure, at its edge
    assert [r.claim.claim_id for r in industry_2020.rejected] == ["industry_2020_a"]
    assert set(industry_2020.causes) == {"transcription", "rounding", "arithmetic"}
    s = industry_2020.sentence
    for figure in ("18.300", "18.100", "15,6%", "ruim 118.000", "18.349–18.624", "transcriptiefout",
                   "118.000–118.007 voor banen 2020 (ruim 118.000 in de bron)"):
        assert figure in s, (figure, s)
    assert s.startswith("Voor industriebanen Dutch TechZone 2020 houden we 18.300 aan, maar alleen aan de rand van "
                        "de afronding (de overige cijfers laten 18.349–18.350 toe; dat vergt ")
    corners = ("houden we 18.349", "houden we 1.034", "houden we 17,73", "houden we 15,55")
    assert not [d.sentence for d in rec.decisions if any(x in d.sentence for x in corners)]
    held = {d.quantity.indicator: d for d in rec.decisions if d.quantity.period == "2020" and d.edge_only}
    assert {i: d.value for i, d in held.items()} == {
        "lisa_jobs_manufacturing_c": 18300, "lisa_jobs": 118000, "lisa_industry_share_c": 15.6,
        "lisa_average_establishment_size_manufacturing_c": 17.7, "lisa_establishments_manufacturing_c": 1030}

    change = dec[change_quantity("lisa_jobs", R, "2016", "2020")]
    assert change.chosen is None and [r.claim.claim_id for r in change.rejected] == ["jobs_change"]
    assert change.interval == pytest.approx((118000 - 18450 / 0.1645, 18350 / 0.1555 - 18350 / 0.1655))
    assert "3.500 valt af" in change.sentence and "5.841–7.131" in change.sentence  # no counts given: outward

    kept = {c.claim_id for d in rec.decisions for c in d.kept}
    assert kept == {c.claim_id for c in claims} - {"industry_2020_a", "jobs_change"}
    assert rec.intervals[Quantity("lisa_jobs", R, "2016")] == pytest.approx((18350 / 0.1655, 18450 / 0.1645))
    assert rec.intervals[Quantity("lisa_establishments_manufacturing_c", R, "2020")] == \
        pytest.approx((18349 / 17.75, 1035))

    out = {v.claim.claim_id: v.verdict for v in verdicts(claims, rules, rec.decisions, labels=LABELS)}
    assert out.pop("industry_2020_a") == out.pop("jobs_change") == "contradicted"
    assert set(out.values()) == {"unverifiable"}  # no CBS or LISA data in this claim set


def test_a_cut_short_search_still_keeps_a_consistent_set(monkeypatch):
    """Past the node budget the engine reports the conflicts found so far and drops claims greedily
    (lowest priority first, one QuickXplain conflict at a time) until the rest is consistent."""
    import regiostat.reconcile.engine as engine

    monkeypatch.setattr(engine, "NODE_BUDGET", 2)
    inds = load_indicators(PATHS.indicators_toml)
    claims = techzone_claims()
    rules = instantiate(load_rules(PATHS.rules_toml, indicators=inds), [c.quantity for c in claims], indicators=inds)
    rec = reconcile(claims, rules)
    assert not rec.complete and rec.conflicts
    kept = [c for d in rec.decisions for c in d.kept]
    assert all(r.conflicts and "uitsluit" in r.reason for d in rec.decisions for r in d.rejected)
    monkeypatch.setattr(engine, "NODE_BUDGET", 4000)
    assert conflicts(kept, rules) == []


def test_the_claims_file_of_the_plan_gives_the_same_decision():
    """The same figures as transcribed in config/claims, each repeated figure claimed again where it is
    repeated: the same five conflicts (a restated figure is one figure, its places all named), the same
    repair and the same decision."""
    from regiostat.reconcile.claims_file import load_claims
    from regiostat.regions.custom import load_region_config

    inds = load_indicators(PATHS.indicators_toml)
    regions = load_region_config(PATHS.regions_toml)
    path = Path(__file__).resolve().parents[1] / "config" / "claims" / "dutch_techzone_strategische_koers_2022_2025.toml"
    claims = load_claims(path, known_indicators=set(inds), documents_root=None,
                         known_regions={"NL01", *(r.id for r in regions.regions),
                                        *(m for r in regions.regions for m in r.members)})
    rules = instantiate(load_rules(PATHS.rules_toml, indicators=inds), [c.quantity for c in claims], indicators=inds,
                        memberships={r.id: list(r.members) for r in regions.regions})
    rec = reconcile(claims, rules, labels=LABELS)
    assert len(rec.conflicts) == 5 and sorted(c.figures for c in rec.conflicts) == [2, 3, 4, 5, 5]
    restated = next(c for c in rec.conflicts if "dtz-2016-2020-jobs-change-p59" in c.claim_ids and c.figures == 4)
    assert {"dtz-2016-industry-jobs-p61", "dtz-2016-industry-jobs-p65"} <= set(restated.claim_ids)  # both places
    decisions = {d.quantity: d for d in rec.decisions}
    industry_2020 = decisions[Quantity("lisa_jobs_manufacturing_c", R, "2020")]
    assert industry_2020.chosen.value == 18300 and [r.claim.value for r in industry_2020.rejected] == [18100]
    change = decisions[change_quantity("lisa_jobs", R, "2016", "2020")]
    assert [r.claim.value for r in change.rejected] == [3500]
    assert sum(len(d.rejected) for d in decisions.values()) == 2
