"""Custom regions, the indicator catalogue and aggregation with coverage (small hand-made frames)."""

import polars as pl
import pytest

from regiostat.indicators.catalogue import IndicatorConfigError, load_indicators
from regiostat.regions.aggregate import build_profile, custom_members
from regiostat.regions.custom import CustomRegion, RegionConfigError, load_region_config
from regiostat.regions.hierarchy import parent_intervals, parents_in_year
from tests.conftest import PATHS

KNOWN = {"GM0114", "GM0109", "GM0118", "GM0160", "PV23", "PV25", *(f"CR{n}" for n in range(10, 17))}


def test_shipped_region_config_is_valid():
    config = load_region_config(PATHS.regions_toml, known_codes=KNOWN)
    assert {r.id: r.members for r in config.regions} == {
        "dutch_techzone": ("GM0114", "GM0109", "GM0118", "GM0160"), "oost_nederland": ("PV23", "PV25")}
    oost = config.regions[1]
    assert oost.members_in(2016, "corop") == ("CR10", "CR11", "CR12", "CR13", "CR14", "CR15", "CR16")
    assert config.regions[0].members_in(1990) == ("GM0114", "GM0109", "GM0118", "GM0160")  # every year
    assert config.boundary_years == (2019,)


@pytest.mark.parametrize(("body", "message"), [
    ('[[region]]\nid = "x_region"\nname = "X"\nmembers = ["GM0114", "GM9999"]\n', "unknown region code(s) GM9999"),
    ('[[region]]\nid = "Bad Id"\nname = "X"\nmembers = ["GM0114"]\n', "'id' must be lower-case"),
    ('[[region]]\nid = "x_region"\nname = "X"\nmembers = []\n', "non-empty list"),
    ('[[region]]\nid = "a_b"\nname = "X"\nmembers = ["GM0114"]\n[[region]]\nid = "a_b"\nname = "Y"\n'
     'members = ["GM0109"]\n', "used twice"),
    ('[[region]]\nid = "x_region"\nname = "X"\nmembers = ["GM0114", "GM0114"]\n', "listed twice"),
    ('[harmonisation]\nweight = "area"\n', "weight must be"),
    ('[[region]\n', "not valid TOML"),
])
def test_region_config_errors_name_the_problem(tmp_path, body, message):
    path = tmp_path / "regions.toml"
    path.write_text(body)
    with pytest.raises(RegionConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_region_config(path, known_codes=KNOWN)
    assert str(path) in str(err.value)


def test_shipped_indicator_catalogue_is_valid_and_keeps_cbs_and_lisa_apart():
    ind = load_indicators(PATHS.indicators_toml)
    assert ind["cbs_industry_share_bf"].numerator == "cbs_employee_jobs_industry_bf"
    assert ind["lisa_average_establishment_size"].denominator == ("lisa_establishments",)
    assert {s.table for s in ind["cbs_employee_jobs"].sources} == {"83582NED", "83583NED"}
    assert {s.table for s in ind["lisa_jobs"].sources} == {"LISA"}
    assert ind["net_labour_participation"].aggregation == "not_aggregable"


@pytest.mark.parametrize(("body", "message"), [
    ('[[indicator]]\ncode = "x"\nname_nl = "x"\nname_en = "x"\nunit = "x"\ndefinition = "x"\naggregation = "avg"\n'
     'sources = [{table = "T", measure = "M"}]\n', "aggregation must be one of"),
    ('[[indicator]]\ncode = "r"\nname_nl = "x"\nname_en = "x"\nunit = "%"\ndefinition = "x"\n'
     'aggregation = "ratio_of_sums"\nnumerator = "a"\ndenominator = "b"\n', "unknown indicator 'a'"),
    ('[[indicator]]\ncode = "x"\nname_nl = "x"\nunit = "x"\ndefinition = "x"\naggregation = "sum"\n', "missing name_en"),
])
def test_indicator_config_errors(tmp_path, body, message):
    path = tmp_path / "indicators.toml"
    path.write_text(body)
    with pytest.raises(IndicatorConfigError, match=message):
        load_indicators(path)


def _published(rows):
    """Synthetic test values (not real figures): (indicator, region, year, value)."""
    return pl.DataFrame([dict(indicator=i, region_code=r, year=y, value=float(v), source_table="TEST",
                              period_status=None, vintage=None, source_file=None) for i, r, y, v in rows])


def test_custom_region_sums_members_and_reports_missing_ones():
    ind = load_indicators(PATHS.indicators_toml)
    region = CustomRegion("three_towns", "Three towns", ("GM0114", "GM0109", "GM0118"))
    published = _published([("lisa_jobs", "GM0114", 2017, 100), ("lisa_jobs", "GM0109", 2017, 50),
                            ("lisa_establishments", "GM0114", 2017, 10), ("lisa_establishments", "GM0109", 2017, 10),
                            ("lisa_establishments", "GM0118", 2017, 5)])
    hierarchy = pl.DataFrame(schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})
    profile = build_profile(ind, published, hierarchy, (region,))
    row = profile.filter(pl.col("region_code") == "three_towns").sort("indicator")
    jobs = row.filter(pl.col("indicator") == "lisa_jobs").to_dicts()[0]
    assert (jobs["value"], jobs["members_with_data"], jobs["members_expected"], jobs["missing_members"]) == (
        150.0, 2, 3, "GM0118")
    est = row.filter(pl.col("indicator") == "lisa_establishments").to_dicts()[0]
    assert (est["value"], est["members_with_data"], est["missing_members"]) == (25.0, 3, None)
    # ratio of sums (150 / 25 = 6), never the average of member ratios ((10 + 5) / 2 = 7.5)
    size = row.filter(pl.col("indicator") == "lisa_average_establishment_size").to_dicts()[0]
    assert (size["value"], size["method"], size["members_with_data"]) == (6.0, "ratio of sums", 2)


def test_published_value_wins_over_the_sum_of_municipalities():
    ind = load_indicators(PATHS.indicators_toml)
    published = _published([("population", "GM0114", 2020, 10), ("population", "GM0109", 2020, 20),
                            ("population", "CR08", 2020, 35)])
    hierarchy = pl.DataFrame([dict(region_code=c, year=2020, target=t) for c in ("GM0114", "GM0109")
                              for t in ("CR08", "PV22")])
    profile = build_profile(ind, published, hierarchy, ())
    got = {r["region_code"]: (r["value"], r["method"]) for r in profile.iter_rows(named=True)}
    assert got["CR08"] == (35.0, "published") and got["PV22"] == (30.0, "sum of municipalities")


def test_parent_snapshots_become_year_intervals():
    memberships = pl.DataFrame([
        dict(member_code="GM0001", parent_code="CR01", parent_name=None, snapshot_year=2015, source="a"),
        dict(member_code="GM0001", parent_code="CR01", parent_name=None, snapshot_year=2020, source="b"),
        dict(member_code="GM0001", parent_code="CR02", parent_name=None, snapshot_year=2024, source="c"),
    ])
    intervals = parent_intervals(memberships)
    assert intervals.select("parent_code", "valid_from_year", "valid_to_year").rows() == [
        ("CR01", None, 2023), ("CR02", 2024, None)]
    assert parents_in_year(intervals, 2010)["parent_code"].to_list() == ["CR01"]
    assert parents_in_year(intervals, 2025)["parent_code"].to_list() == ["CR02"]


def test_custom_members_span_every_year():
    frame = custom_members((CustomRegion("r", "R", ("GM0114", "PV23")),), [2016, 2017])
    assert frame.height == 4 and set(frame["target"]) == {"r"}
