"""The closest real figure beside a claim: proxies as data, region sets that stand in for a claim's region,
adjacent years, never a partial sum, and the verdicts it leads to."""

from __future__ import annotations

import polars as pl
import pytest

from regiostat.indicators.catalogue import Indicator, load_indicators
from regiostat.reconcile.closest import ClosestSearch, Figure, FigureTable, Regions, Values, with_closest
from regiostat.reconcile.model import Claim, Quantity, change_quantity
from regiostat.reconcile.proxies import Proxy, ProxyConfigError, ProxyTable, load_proxies
from regiostat.reconcile.results import Verdict
from regiostat.reconcile.sentences import DutchText
from regiostat.regions.custom import CustomRegion, Member
from regiostat.regions.hierarchy import PARENT_COLUMNS
from tests.conftest import PATHS

INDICATORS = {
    "jobs": Indicator("jobs", "banen", "jobs", "jobs", "all jobs", "sum"),
    "employee_jobs": Indicator("employee_jobs", "werknemersbanen", "employee jobs", "jobs", "employee jobs", "sum"),
    "c_jobs": Indicator("c_jobs", "industriebanen", "SBI C jobs", "jobs", "SBI C jobs", "sum"),
    "share_c": Indicator("share_c", "aandeel C", "share C", "%", "C / all", "ratio_of_sums", numerator="c_jobs",
                         denominator=("employee_jobs",), scale=100.0),
    "share_bf": Indicator("share_bf", "aandeel B-F", "share B-F", "%", "B-F / all", "ratio_of_sums",
                          numerator="bf_jobs", denominator=("employee_jobs",), scale=100.0),
    "bf_jobs": Indicator("bf_jobs", "banen B-F", "B-F jobs", "jobs", "B-F jobs", "sum"),
}
PROXIES = ProxyTable(proxies={
    "jobs": (Proxy("jobs", "employee_jobs", 2, "employee jobs only, December"),),
    "share_c": (Proxy("share_c", "share_bf", 2, "SBI B-F instead of SBI C"),)})
# two municipalities in CR08, one in CR10 (CR10 also holds GM9999); CR08 and CR10 in two provinces
PARENTS = pl.DataFrame([
    dict(region_code=m, parent_level="corop", parent_code=c, valid_from_year=None, valid_to_year=None,
         snapshot_years="2020", source="synthetic") for m, c in
    [("GM0001", "CR08"), ("GM0002", "CR08"), ("GM0003", "CR10"), ("GM9999", "CR10")]] + [
    dict(region_code=c, parent_level="provincie", parent_code=p, valid_from_year=None, valid_to_year=None,
         snapshot_years="2020", source="synthetic") for c, p in [("CR08", "PV22"), ("CR10", "PV23")]] + [
    dict(region_code=m, parent_level="provincie", parent_code=p, valid_from_year=None, valid_to_year=None,
         snapshot_years="2020", source="synthetic") for m, p in
    [("GM0001", "PV22"), ("GM0002", "PV22"), ("GM0003", "PV23"), ("GM9999", "PV23")]], schema=PARENT_COLUMNS)
CUSTOM = [CustomRegion("zone", "Zone", ("GM0001", "GM0002", "GM0003")), CustomRegion("east", "Oost", ("PV22", "PV23"))]


def fig(value: float, half: float = 0.0, source: str = "CBS T") -> Figure:
    return Figure(value, value - half, value + half, frozenset([source]))


def search(figures: dict) -> ClosestSearch:
    return ClosestSearch(Values(FigureTable(figures), INDICATORS),
                         Regions(CUSTOM, PARENTS, ("corop", "provincie")), PROXIES)


def doc(cid: str, indicator: str, region: str, period: str, value: float, half: float, **kw) -> Claim:
    return Claim(cid, Quantity(indicator, region, period), value, value - half, value + half, "rounded", "document",
                 "plan.txt", **kw)


def test_a_municipal_group_gets_its_corop_regions_beside_it_and_the_difference_in_words():
    figures = {("employee_jobs", "CR08", 2020): fig(50_000, 50), ("employee_jobs", "CR10", 2020): fig(70_000, 50)}
    (best,) = search(figures).candidates(doc("a", "jobs", "zone", "2020", 118_000, 500))
    assert (best.indicator, best.regions, best.period) == ("employee_jobs", ("CR08", "CR10"), "2020")
    assert best.value == 120_000 and not best.exact_region and not best.same_definition
    assert best.distance == 4  # proxy 2 + approximate region 2
    assert best.difference == ("employee jobs only, December; COROP CR08+CR10 vs the 3 municipalities of Zone; "
                               "same year")
    assert not best.consistent  # 120.000 +-100 against 118.000 +-500


def test_the_same_definition_in_an_adjacent_year_beats_another_definition_in_a_covering_area():
    figures = {**{("jobs", m, 2017): fig(v) for m, v in (("GM0001", 10), ("GM0002", 20), ("GM0003", 30))},
               ("employee_jobs", "CR08", 2020): fig(50), ("employee_jobs", "CR10", 2020): fig(70)}
    first, second = search(figures).candidates(doc("a", "jobs", "zone", "2020", 60, 0.5))
    assert (first.indicator, first.regions, first.period, first.value) == ("jobs", ("GM0001", "GM0002", "GM0003"),
                                                                          "2017", 60)
    assert first.distance == 3 and first.consistent and first.difference.endswith("2017 vs 2020")
    assert second.indicator == "employee_jobs"


def test_never_a_partial_sum_and_a_ratio_needs_every_member():
    figures = {("jobs", "GM0001", 2020): fig(10), ("jobs", "GM0002", 2020): fig(20),  # GM0003 missing
               ("c_jobs", "PV22", 2019): fig(5), ("employee_jobs", "PV22", 2019): fig(50),
               ("employee_jobs", "PV23", 2019): fig(50)}  # no c_jobs for PV23
    s = search(figures)
    near = s.candidates(doc("a", "jobs", "zone", "2020", 60, 0.5))
    assert [x.indicator for x in near] == ["employee_jobs"]  # the provinces' employee jobs, never 10 + 20 of 3
    assert s.candidates(doc("b", "share_c", "east", "2019", 10, 0.5)) == []


def test_provinces_are_exactly_their_corop_regions_and_a_proxy_definition_is_ranked_by_its_distance():
    figures = {("c_jobs", c, 2015): fig(v, 50) for c, v in (("CR08", 5_000), ("CR10", 9_000))}
    figures |= {("bf_jobs", c, 2016): fig(v, 50) for c, v in (("CR08", 8_000), ("CR10", 12_000))}
    figures |= {("employee_jobs", c, y): fig(v, 50) for c, v in (("CR08", 40_000), ("CR10", 60_000))
                for y in (2015, 2016)}
    claim = doc("t", "share_c", "east", "unknown", 14, 0.5, assumed_period="2016")
    ranked = search(figures).candidates(claim)
    # the claim's own definition a year off (distance 1) before the proxy definition in its year (distance 2)
    assert [(x.indicator, x.regions, x.period, x.distance) for x in ranked] == [
        ("share_c", ("CR08", "CR10"), "2015", 1), ("share_bf", ("CR08", "CR10"), "2016", 2)]
    assert all(x.exact_region for x in ranked)
    assert "COROP CR08+CR10 = the 2 provinces of Oost" in ranked[0].difference
    assert ranked[0].value == pytest.approx(14.0) and ranked[1].value == pytest.approx(20.0)
    assert "assumed 2016" in ranked[1].difference and not ranked[1].same_year


def test_a_change_is_compared_with_the_change_of_the_closest_series():
    figures = {("employee_jobs", c, y): fig(v) for c, y, v in
               (("CR08", 2016, 100), ("CR10", 2016, 200), ("CR08", 2020, 130), ("CR10", 2020, 210))}
    (best,) = search(figures).candidates(
        Claim("ch", change_quantity("jobs", "zone", "2016", "2020"), 3_500, 3_450, 3_550, "r", "document", "p"))
    assert (best.period, best.value) == ("2016/2020", 40)


def _verdict(c: Claim) -> Verdict:
    return Verdict(c, "unverifiable", (float("-inf"), float("inf")), missing=(c.quantity,),
                   sentence=f"{c.value} is niet te controleren.")


def test_verdicts_from_the_closest_figure():
    text = DutchText([], {"share_c": "aandeel C", "share_bf": "aandeel B-F"}, units={"share_c": "%", "share_bf": "%"})
    figures = {("bf_jobs", c, 2016): fig(v, 50) for c, v in (("CR08", 8_000), ("CR10", 12_000))}
    figures |= {("employee_jobs", c, 2016): fig(v, 50) for c, v in (("CR08", 40_000), ("CR10", 60_000))}
    s = search(figures)
    no_year = doc("t", "share_c", "east", "unknown", 14, 0.5, assumed_period="2016")
    differs = with_closest(_verdict(no_year), s.candidates(no_year), text)
    assert differs.verdict == "definition" and differs.closest[0].indicator == "share_bf"
    assert "verschilt in definitie van het dichtstbijzijnde echte cijfer, 20,0% (aandeel B-F, CR08+CR10, 2016" \
        in differs.sentence
    fits = doc("u", "share_c", "east", "unknown", 20, 0.5, assumed_period="2016")
    assert with_closest(_verdict(fits), s.candidates(fits), text).verdict == "proxy"
    other_year = doc("v", "share_c", "east", "2019", 14, 0.5)  # a figure three years off is no definition verdict
    stays = with_closest(_verdict(other_year), s.candidates(other_year), text)
    assert stays.verdict == "unverifiable" and "Het dichtstbijzijnde echte cijfer is 20,0%" in stays.sentence
    supported = Verdict(fits, "supported", (19.5, 20.5), sentence="klopt")
    assert with_closest(supported, s.candidates(fits), text).verdict == "supported"


def test_the_shipped_proxy_table_loads_and_a_malformed_one_names_file_entry_and_key(tmp_path):
    table = load_proxies(PATHS.proxies_toml, indicators=set(load_indicators(PATHS.indicators_toml)))
    assert {p.proxy for p in table.of("lisa_jobs_manufacturing_c")} >= {"cbs_employee_jobs_manufacturing_c"}
    bad = tmp_path / "proxies.toml"
    for body, match in [
        ('[[proxy]]\nindicator = "jobs"\nproxy = "nope"\ndifference = "x"\n', r"#1: key 'proxy': unknown indicator"),
        ('[[proxy]]\nindicator = "jobs"\nproxy = "employee_jobs"\ndifference = "x"\nweight = 2\n', "key 'weight'"),
        ('[distance]\nper_yaer = 1\n', r"\[distance\]: key 'per_yaer'"),
        ('[regions]\ncover_levels = ["county"]\n', "unknown region level 'county'"),
    ]:
        bad.write_text(body)
        with pytest.raises(ProxyConfigError, match=match):
            load_proxies(bad, indicators=set(INDICATORS))


def test_a_custom_region_s_members_by_period_and_its_lists_at_other_levels_are_its_own_area():
    """A member that joined in 2021 is not summed for 2020 (in 2020 the zone is exactly COROP CR08); the region's
    COROP list (the same territory, as config/regions.toml lists it) is an exact region set of its own."""
    later = CustomRegion("zone", "Zone", ("GM0001", "GM0002", "GM0003"), "",
                         (Member("GM0001"), Member("GM0002"), Member("GM0003", valid_from=2021)),
                         {"corop": (Member("CR08"), Member("CR10"))})
    regions = Regions([later], PARENTS, ("corop",))
    sets = {s.regions: s.exact for s in regions.sets("zone", 2020)}
    assert sets == {("GM0001", "GM0002"): True, ("CR08", "CR10"): True, ("CR08",): True}
    assert {s.regions for s in regions.sets("zone", 2021)} == {("GM0001", "GM0002", "GM0003"), ("CR08", "CR10")}
