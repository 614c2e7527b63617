"""The library functions the thin assets call, on small hand-made frames (SYNTHETIC figures unless a real
file is named)."""

from datetime import date

import polars as pl

from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.harmonised import totals_not_preserved
from regiostat.indicators.profile import PROFILE_COLUMNS, municipalities_by_year, regional_profile
from regiostat.model import staging
from regiostat.model.observations import CODE_COLUMNS, MEASURE_COLUMNS, OBSERVATION_COLUMNS
from regiostat.model.regions import custom_region_table, parent_overlaps
from regiostat.reconcile import run
from regiostat.regions.custom import load_region_config
from tests.conftest import PATHS

DIM_REGION = pl.DataFrame([
    dict(region_code="GM0114", region_name="Emmen", region_level="gemeente", group_id="GM", begin_date=None,
         abolished_date=None),
    dict(region_code="GM0109", region_name="Coevorden", region_level="gemeente", group_id="GM",
         begin_date=date(1998, 1, 1), abolished_date=None),
    dict(region_code="GM0738", region_name="Aalburg", region_level="gemeente", group_id="GM", begin_date=None,
         abolished_date=date(2019, 1, 1)),
    dict(region_code="GM0997", region_name="Buitenland", region_level="gemeente", group_id="OVERIG",
         begin_date=None, abolished_date=None),
    dict(region_code="CR08", region_name="Zuidoost-Drenthe", region_level="corop", group_id=None, begin_date=None,
         abolished_date=None),
])


def test_municipalities_exist_from_their_begin_to_their_abolition_on_1_january():
    pairs = set(municipalities_by_year(DIM_REGION, [1997, 2018, 2019]).iter_rows())
    assert pairs == {("GM0114", 1997), ("GM0114", 2018), ("GM0114", 2019), ("GM0109", 2018), ("GM0109", 2019),
                     ("GM0738", 1997), ("GM0738", 2018)}  # Aalburg gone on 1 January 2019, never the OVERIG code


def test_regional_profile_sums_municipalities_names_regions_and_says_how_complete():
    facts = pl.DataFrame([dict(table_id="LISA", measure_id="jobs_total", region_code=code, year=2018,
                               period_type="jaar", dimension_key="", value=value, period_status="onbekend",
                               vintage="2018", origin="x.csv") for code, value in (("GM0114", 100.0), ("GM0109", 50.0))])
    parents = pl.DataFrame([dict(region_code=c, parent_level="corop", parent_code="CR08", valid_from_year=None,
                                 valid_to_year=None) for c in ("GM0114", "GM0109", "GM0738")])
    custom = pl.DataFrame([dict(region_id="two_towns", name="Two towns", member_code=c)
                           for c in ("GM0114", "GM0109")])
    indicators = load_indicators(PATHS.indicators_toml)
    meta = pl.DataFrame([dict(code=c, name_nl=i.name_nl, unit=i.unit, rule=i.rule) for c, i in indicators.items()])
    regions = load_region_config(PATHS.regions_toml).regions
    profile = regional_profile({"lisa_jobs": indicators["lisa_jobs"]}, regions, facts, parents, DIM_REGION, custom,
                               meta)
    rows = {r["region_code"]: r for r in profile.iter_rows(named=True)}
    assert (rows["CR08"]["value"], rows["CR08"]["method"], rows["CR08"]["is_complete"]) == (
        150.0, "sum of municipalities", False)  # Aalburg existed in 2018 and has no figure
    assert (rows["CR08"]["region_name"], rows["CR08"]["missing_members"]) == ("Zuidoost-Drenthe", "GM0738")
    assert (rows["GM0114"]["method"], rows["GM0114"]["indicator_name"]) == ("published", "Banen (LISA, werkzame personen)")
    assert tuple(profile.columns) == PROFILE_COLUMNS


def test_harmonised_totals_that_differ_are_listed():
    series = pl.DataFrame([dict(indicator="population", boundary_year=2019, region_code="GM0014", year=2015,
                                value=227745.0)])
    parts = pl.DataFrame([dict(indicator="population", boundary_year=2019, region_code="GM0014", year=2015,
                               contributor_code=c, contributed_value=v)
                          for c, v in (("GM0014", 200336.0), ("GM0009", 7452.0), ("GM0017", 18924.0),
                                       ("GM0040", 1033.0))])  # the real figures of the README example
    assert totals_not_preserved(series, parts).is_empty()
    gaps = totals_not_preserved(series.with_columns(pl.col("value") + 1), parts)
    assert gaps.select("harmonised_total", "contributed_total").rows() == [(227746.0, 227745.0)]


def test_two_parents_in_one_year_are_an_overlap_adjacent_intervals_are_not():
    parents = pl.DataFrame([
        dict(region_code="GM0001", parent_level="corop", parent_code="CR01", valid_from_year=None, valid_to_year=2023),
        dict(region_code="GM0001", parent_level="corop", parent_code="CR02", valid_from_year=2024, valid_to_year=None),
        dict(region_code="GM0002", parent_level="corop", parent_code="CR01", valid_from_year=None, valid_to_year=2020),
        dict(region_code="GM0002", parent_level="corop", parent_code="CR03", valid_from_year=2020, valid_to_year=None),
    ])
    assert parent_overlaps(parents).rows() == [("GM0002", "corop", "CR01", "CR03")]


def test_custom_regions_become_one_row_per_member():
    frame = custom_region_table(load_region_config(PATHS.regions_toml))
    assert frame.filter(pl.col("region_id") == "dutch_techzone")["member_code"].to_list() == [
        "GM0114", "GM0109", "GM0118", "GM0160"]


def _empty_staging() -> pl.DataFrame:
    staged = staging.stage_observations(pl.DataFrame(schema=OBSERVATION_COLUMNS), pl.DataFrame(schema=MEASURE_COLUMNS),
                                        pl.DataFrame(schema=CODE_COLUMNS), staging.fetch_table([], source_kind="cbs"))
    return staged.with_columns(pl.lit(None, pl.Int64).alias("year"), pl.lit(None, pl.String).alias("period_type"))


def test_the_plans_own_figures_contradict_each_other_without_any_warehouse_figure():
    result = run.reconcile_warehouse(PATHS, _empty_staging(), known_regions={"NL01"})
    assert tuple(result.tables) == run.TABLES and result.claims == result.document_claims == 26
    verdicts = dict(result.tables["verdicts"].select("claim_id", "verdict").iter_rows())
    assert verdicts["dtz-2020-industry-jobs-p61"] == "contradicted"
    by_cause = run.conflicts_by_cause(result.tables["conflicts"])
    summary = run.conflicts_summary(by_cause, sum(v == "contradicted" for v in verdicts.values()))
    assert summary.startswith(f"{result.tables['conflicts'].height} sets of figures cannot all be true (")
    bad, sums = run.violations_inside_one_source(result.tables["conflicts"], result.tables["sum_checks"])
    assert bad.is_empty() and sums.is_empty()  # documents are never "one source" violating itself


def test_a_conflict_inside_one_source_in_the_latest_figures_is_a_violation_unless_it_is_a_revision():
    conflicts = pl.DataFrame([dict(conflict_id=i, sources=["CBS 83582NED"], region="CR08", period="2020",
                                   rule_ids=["r"], gap=200.0, claim_ids=["a", "b"], causes=causes,
                                   within_one_source=True, in_latest_figures=latest)
                              for i, (causes, latest) in enumerate([(["rounding"], True), (["revision"], True),
                                                                    (["rounding"], False)], start=1)])
    checks = pl.DataFrame([dict(rule_id="r", violation=v) for v in (False, True)])
    bad, sums = run.violations_inside_one_source(conflicts, checks)
    assert bad["conflict_id"].to_list() == [1] and sums.height == 1
