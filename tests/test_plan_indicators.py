"""The indicators the plans need, on generated responses where no real one is recorded (labelled synthetic)
and on small hand-made frames: commuting across a region's border, the potential labour force by single
years of age, NL00 read as NL01, sums of COROP regions, and custom regions by period and by level."""

import polars as pl
import pytest

from regiostat.codes import parse_period
from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.values import flow_rows, indicator_values
from regiostat.landing.zone import LandingZone
from regiostat.model import staging
from regiostat.regions import flows
from regiostat.regions.aggregate import build_profile, corop_members, custom_members
from regiostat.regions.custom import CustomRegion, Member, load_region_config
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.live_filter import admits
from regiostat.sources.cbs.readers import read_capture
from tests.conftest import PATHS
from tests.fixtures import flow_table, population_ages

INDICATORS = load_indicators(PATHS.indicators_toml)
SPECS = {s.id: s for s in load_catalog(PATHS.tables_toml)}


def _facts(zone: LandingZone, fetch_id: str) -> pl.DataFrame:
    """One landed fetch through raw and staging, with each period's year and type as the indicators read it."""
    entries = zone.pages_of(fetch_id)
    capture = read_capture(zone, entries, SPECS[entries[0].table_id])
    complete = [e for e in zone.entries() if e.entity == "_complete"]
    staged = staging.stage_observations(capture.observations, capture.measures, capture.codes,
                                        staging.fetch_table(complete, source_kind="cbs"))
    periods = {c: parse_period(c) for c in staged["period_code"].unique()}
    return staged.filter("is_latest").with_columns(
        pl.col("period_code").replace_strict({c: p.year for c, p in periods.items()}).alias("year"),
        pl.col("period_code").replace_strict({c: p.period_type for c, p in periods.items()}).alias("period_type"))


def _members(codes, year, target):
    return pl.DataFrame([dict(region_code=c, year=year, target=target) for c in codes],
                        schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})


def test_commuting_counts_no_flow_between_members_of_a_region(tmp_path):
    """Synthetic 85481NED-shaped response: out- and in-commuting of a three-municipality region equal the
    flows with exactly one end inside, recomputed pair by pair from the generated flows."""
    zone = LandingZone(tmp_path)
    facts = _facts(zone, flow_table.land(zone))
    region = ("GM0114", "GM0109", "GM0118")
    pairs = flow_table.flows()
    for code, inside in (("commuters_out", 0), ("commuters_in", 1)):
        source = INDICATORS[code].sources[0]
        rows = flow_rows(source, facts)
        got = flows.border_flows(code, source.flow, rows, _members(region, 2022, "three")).to_dicts()[0]
        expected = 100 * sum(v for (h, w, y), v in pairs.items()
                             if y == 2022 and ((h, w)[inside] in region) and ((h, w)[1 - inside] not in region))
        assert (got["value"], got["members_with_data"], got["members_expected"]) == (expected, 3, 3)
        summed_members = sum(flows.border_flows(code, source.flow, rows, _members([m], 2022, m))["value"].item()
                             for m in region)
        assert summed_members > expected  # adding up the members would count the flows between them


def test_a_missing_flow_between_members_makes_the_region_incomplete(tmp_path):
    zone = LandingZone(tmp_path)
    facts = _facts(zone, flow_table.land(zone))
    source = INDICATORS["commuters_out"].sources[0]
    rows = flow_rows(source, facts).filter(~((pl.col("origin") == "GM0109") & (pl.col("destination") == "GM0114")))
    got = flows.border_flows("commuters_out", source.flow, rows, _members(["GM0114", "GM0109"], 2022, "two"))
    assert got.select("members_with_data", "members_expected", "missing_members").row(0) == (1, 2, "GM0109")


def test_flow_sources_give_no_per_region_rows_to_other_readers(tmp_path):
    """The reconciliation reads sources row by row: a flow row is no region's figure."""
    zone = LandingZone(tmp_path)
    facts = _facts(zone, flow_table.land(zone))
    assert indicator_values({k: INDICATORS[k] for k in ("commuters_out", "commuters_in")}, facts).is_empty()
    assert flow_rows(INDICATORS["commuters_out"].sources[0], facts).height == 2 * (6 * 6 + 12)


def test_potential_labour_force_sums_the_60_single_years_the_live_filter_now_fetches(tmp_path):
    ages = population_ages.single_ages_15_74()
    live_filter = SPECS["03759NED"].live_filter
    assert len(ages) == 60 and all(admits(live_filter, "Leeftijd", a) for a in ages)
    assert not admits(live_filter, "Leeftijd", "17500")  # 75 jaar stays out
    zone = LandingZone(tmp_path)
    facts = _facts(zone, population_ages.land(zone, drop=("GM0109", ages[30])))
    values = indicator_values({"potential_labour_force_15_74": INDICATORS["potential_labour_force_15_74"]}, facts)
    page = population_ages.observations(drop=("GM0109", ages[30]))["value"]
    expected = sum(r["Value"] for r in page if r["RegioS"] == "GM0114" and r["Leeftijd"] != "10000")
    assert values.select("region_code", "year", "value").rows() == [("GM0114", 2022, expected)]  # GM0109: never partial


def test_the_kwb_country_row_nl00_is_read_as_nl01():
    facts = pl.DataFrame([dict(table_id="84799NED", measure_id="AantalInwoners_5", region_code=r, dimension_key="",
                               period_code="2020JJ00", year=2020, period_type="jaar", value=v, period_status="x",
                               vintage="v", origin="o") for r, v in (("NL00", 17407585.0), ("GM0114", 107048.0))])
    values = indicator_values({"kwb_inhabitants": INDICATORS["kwb_inhabitants"]}, facts)
    assert dict(values.select("region_code", "value").rows()) == {"NL01": 17407585.0, "GM0114": 107048.0}


def _published(rows):
    """Synthetic test values (not real figures): (indicator, region, year, value)."""
    return pl.DataFrame([dict(indicator=i, region_code=r, year=y, value=float(v), source_table="TEST",
                              period_status=None, vintage=None, source_file=None) for i, r, y, v in rows])


REGION_PARENT = pl.DataFrame([dict(region_code=c, parent_level=lvl, parent_code=p, valid_from_year=None,
                                   valid_to_year=None, snapshot_years="", source="t")
                              for c, pv, ld in (("CR10", "PV23", "LD02"), ("CR11", "PV23", "LD02"),
                                                ("CR13", "PV25", "LD02"))
                              for lvl, p in (("provincie", pv), ("landsdeel", ld))])


def test_corop_only_figures_sum_to_province_and_country_with_cr99_and_never_replace_a_published_one():
    published = _published([("cbs_employee_jobs", "CR10", 2020, 100), ("cbs_employee_jobs", "CR11", 2020, 50),
                            ("cbs_employee_jobs", "CR13", 2020, 70), ("cbs_employee_jobs", "CR99", 2020, 5),
                            ("cbs_employee_jobs", "PV25", 2020, 71),  # CBS's own figure wins
                            ("cbs_employee_jobs_manufacturing_c", "CR10", 2020, 10)])
    hierarchy = pl.DataFrame(schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})
    profile = build_profile(INDICATORS, published, hierarchy, (), corop_members(REGION_PARENT, [2020]))
    got = {(r["indicator"], r["region_code"]): (r["value"], r["method"], r["members_with_data"],
                                                r["members_expected"], r["missing_members"])
           for r in profile.iter_rows(named=True)}
    assert got[("cbs_employee_jobs", "PV23")] == (150.0, "sum of COROP regions", 2, 2, None)
    assert got[("cbs_employee_jobs", "PV25")] == (71.0, "published", None, None, None)
    assert got[("cbs_employee_jobs", "NL01")] == (225.0, "sum of COROP regions", 4, 4, None)
    # CR99 is expected in the country only where the indicator publishes it; CR11 is missing here
    assert got[("cbs_employee_jobs_manufacturing_c", "PV23")] == (10.0, "sum of COROP regions", 1, 2, "CR11")
    assert got[("cbs_industry_share_c", "PV23")][1:] == ("ratio of sums", 1, 2, "CR11")


def test_oost_nederland_falls_back_to_its_corop_list_where_a_province_is_incomplete():
    config = load_region_config(PATHS.regions_toml)
    oost = next(r for r in config.regions if r.id == "oost_nederland")
    small = CustomRegion("oost", "Oost", ("PV23", "PV25"), members_by_level={
        "corop": tuple(Member(c) for c in ("CR10", "CR11", "CR13"))})
    assert oost.members_in(2020, "corop") == ("CR10", "CR11", "CR12", "CR13", "CR14", "CR15", "CR16")
    published = _published([("cbs_employee_jobs_manufacturing_c", "CR10", y, 10) for y in (2016, 2020)]
                           + [("cbs_employee_jobs_manufacturing_c", "CR13", y, 30) for y in (2016, 2020)]
                           + [("cbs_employee_jobs_manufacturing_c", "CR11", 2020, 20)])
    hierarchy = pl.DataFrame(schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})
    profile = build_profile(INDICATORS, published, hierarchy, (small,), corop_members(REGION_PARENT, [2016, 2020]))
    rows = {r["year"]: r for r in profile.filter(pl.col("region_code") == "oost").iter_rows(named=True)}
    assert (rows[2020]["value"], rows[2020]["method"], rows[2020]["members_with_data"]) == (60.0, "sum of members", 2)
    assert (rows[2016]["value"], rows[2016]["method"], rows[2016]["missing_members"]) == (
        40.0, "sum of members (corop)", "CR11")


def test_a_member_counts_only_in_the_years_it_belongs_to_the_region(tmp_path):
    path = tmp_path / "regions.toml"
    path.write_text('[[region]]\nid = "grown"\nname = "Grown"\n'
                    'members = ["GM0114", { code = "GM0160", valid_from = 2021 }, { code = "GM0109", valid_to = 2020 }]\n')
    region = load_region_config(path).regions[0]
    assert region.members == ("GM0114", "GM0160", "GM0109")
    assert (region.members_in(2020), region.members_in(2021)) == (("GM0114", "GM0109"), ("GM0114", "GM0160"))
    published = _published([("lisa_jobs", c, y, v) for y in (2020, 2021)
                            for c, v in (("GM0114", 100), ("GM0160", 40), ("GM0109", 7))])
    hierarchy = pl.DataFrame(schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})
    profile = build_profile(INDICATORS, published, hierarchy, (region,))
    sums = {r["year"]: (r["value"], r["members_expected"]) for r in
            profile.filter(pl.col("region_code") == "grown", pl.col("indicator") == "lisa_jobs").iter_rows(named=True)}
    assert sums == {2020: (107.0, 2), 2021: (140.0, 2)}
    assert custom_members((region,), [2020, 2021]).height == 4


@pytest.mark.parametrize(("members", "message"), [
    ('[{ code = "GM0114", valid_from = 2022, valid_to = 2020 }]', "valid_from 2022 is after valid_to 2020"),
    ('[{ code = "GM0114", since = 2020 }]', "unknown key 'since'"),
    ('["GM0114"]\nmembers_by_level = { corop = ["PV23"] }', "PV23 not at level corop"),
    ('["GM0114"]\nmembers_by_level = { wijk = ["WK011401"] }', "unknown key 'wijk'"),
])
def test_member_periods_and_levels_are_checked(tmp_path, members, message):
    path = tmp_path / "regions.toml"
    path.write_text(f'[[region]]\nid = "r_x"\nname = "R"\nmembers = {members}\n')
    with pytest.raises(ValueError, match=message) as err:
        load_region_config(path)
    assert str(path) in str(err.value) and "'r_x'" in str(err.value)
