"""The steps that hold a national table's worth of rows do their work a piece at a time (issue 12: memory must not
grow with the rows); every piecewise path must give exactly what the whole computation gives. Here the pieces are
made tiny, so the bundled data cross many piece boundaries."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from regiostat import warehouse
from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.harmonised import municipal_series, municipal_series_by_indicator
from regiostat.indicators.profile import AcrossYears, profile_by_years, regional_profile
from regiostat.reconcile import run
from regiostat.regions.aggregate import EXTRA_REGIO
from regiostat.regions.custom import load_region_config
from tests.conftest import PATHS

COLUMNS = warehouse.INDICATOR_FACT_COLUMNS


@pytest.fixture(scope="module")
def build(built_home):
    con = duckdb.connect(str(built_home / "build" / "regional_build.duckdb"), read_only=True)
    yield con
    con.close()


def _reconcile(con, known, parents) -> dict[str, pl.DataFrame]:
    """reconcile_into on an in-memory copy of the build's staging (so nothing is written to the build)."""
    staged = warehouse.facts_with_year(con, "staging.observations")
    return run.reconcile_warehouse(PATHS, staged, known, parents).tables


def test_reconciling_in_small_pieces_gives_the_same_tables_in_the_same_order(build, monkeypatch):
    known = set(warehouse.read_table(build, "core.dim_region")["region_code"])
    parents = warehouse.read_table(build, "core.region_parent")
    whole = _reconcile(build, known, parents)
    # a few regions of a source at a time, a few claims per insert, one or two periods per screen
    monkeypatch.setattr(run, "SOURCE_ROWS", 7)
    monkeypatch.setattr(run, "CLAIM_BATCH", 11)
    monkeypatch.setattr(run, "SCREEN_ROWS", 50)
    pieces = _reconcile(build, known, parents)
    assert whole["candidates"].height > 10_000 and whole["rules"].height > 1_000
    for name in run.TABLES:
        assert pieces[name].equals(whole[name]), name


def test_the_profile_a_few_years_at_a_time_is_the_profile_of_all_years(build):
    """Also where CR99 (Extra-Regio) is published in some years only (its figures of the early years left out
    here): the country's sum of COROP regions expects it in every year, whichever years a piece holds."""
    indicators = load_indicators(PATHS.indicators_toml)
    regions = load_region_config(PATHS.regions_toml).regions
    sources = [(s.table, s.measure, s.dimensions) for i in indicators.values() for s in i.sources]
    flows = [(s.table, s.measure, s.dimensions) for i in indicators.values() if i.aggregation == "border_flow"
             for s in i.sources]
    tables = [warehouse.read_table(build, f"core.{t}") for t in ("region_parent", "dim_region", "custom_region",
                                                                 "dim_indicator")]

    def facts(**kwargs) -> pl.DataFrame:  # without CR99's figures before 2016
        rows = warehouse.facts_for_sources(build, sources, columns=COLUMNS, **kwargs)
        return rows.filter(~((pl.col("region_code") == EXTRA_REGIO) & (pl.col("year") < 2016)))

    whole = regional_profile(indicators, regions, facts(), *tables)
    across = AcrossYears.of(indicators, regions, facts(regions_like=EXTRA_REGIO),
                            warehouse.facts_for_sources(build, flows, columns=COLUMNS), tables[0], tables[1])
    groups = warehouse.groups_of(warehouse.fact_rows_by_year(build, sources), 500)
    assert len(groups) > 5 and [y for g in groups for y in g] == sorted(facts()["year"].unique())
    assert across.extra_regio and facts().filter(pl.col("region_code") == EXTRA_REGIO)["year"].min() == 2016
    parts = list(profile_by_years(indicators, regions, lambda ys: facts(years=ys), groups, tables, across))
    pieced = pl.concat(parts).sort("indicator", "region_code", "year")
    assert whole.height > 10_000 and pieced.equals(whole)


def test_the_harmonised_series_an_indicator_at_a_time_are_the_series_of_all(build):
    indicators = load_indicators(PATHS.indicators_toml)
    config = load_region_config(PATHS.regions_toml)
    changes = warehouse.read_table(build, "core.boundary_change")

    def facts_of(chosen) -> pl.DataFrame:
        return warehouse.facts_for_sources(build, [(s.table, s.measure, s.dimensions) for i in chosen
                                                   for s in i.sources], columns=COLUMNS, regions_like="GM%")

    whole = municipal_series(indicators, config, facts_of(list(indicators.values())), changes)
    skipped: dict[str, str] = {}
    parts = list(municipal_series_by_indicator(indicators, config, facts_of, changes, skipped))
    assert len(parts) > 3 and whole.series.height > 500 and whole.not_harmonised
    assert pl.concat([p.series for p in parts]).equals(whole.series)
    assert pl.concat([p.contributions for p in parts]).equals(whole.contributions)
    assert skipped == whole.not_harmonised


def test_the_screen_a_group_of_periods_at_a_time_needs_the_signs_of_all_periods():
    """An indicator negative in 2019 (SYNTHETIC) may be negative anywhere: in 2020 its unclaimed SBI section then
    bounds nothing, and the sum stays quiet. Screened a period at a time, each group must be given the signs of
    all claims, else 2020 would wrongly go to the engine."""
    from regiostat.reconcile.rules import load_rules
    from regiostat.reconcile.screen import screen, signed_indicators
    from tests.test_reconcile_scale import _frame

    indicators = load_indicators(PATHS.indicators_toml)
    templates = load_rules(PATHS.rules_toml, indicators=indicators)
    frame = _frame([("cbs_employee_jobs_agriculture_a", "CR09", "2019", -5, 0.5),
                    ("cbs_employee_jobs", "CR01", "2020", 1000, 0.5),
                    ("cbs_employee_jobs_industry_bf", "CR01", "2020", 600, 50),
                    ("cbs_employee_jobs_commercial_services_g_n", "CR01", "2020", 450, 50)])
    whole = screen(frame, templates, indicators, custom=set())
    signed = signed_indicators(frame)
    plans: dict = {}
    by_period = [screen(frame.filter(pl.col("period") == p), templates, indicators, custom=set(), signed=signed,
                        plans=plans) for p in ("2019", "2020")]
    assert set(pl.concat([s.engine for s in by_period]).iter_rows()) == set(whole.engine.iter_rows())
    assert sorted(pl.concat([s.quiet_rules for s in by_period])["rule_id"]) == sorted(whole.quiet_rules["rule_id"])
    assert "sbi_sections_sum[CR01,2020]" in set(whole.quiet_rules["rule_id"])
    alone = screen(frame.filter(pl.col("period") == "2020"), templates, indicators, custom=set())
    assert "CR01" in set(alone.engine["region"])  # without the 2019 sign the sum would look like it could bind


def test_a_year_without_cr99_still_expects_it_in_the_country_when_another_year_has_it():
    """SYNTHETIC COROP figures for 2019 and 2020, CR99 (Extra-Regio) in 2020 only, no country figure: the country's
    sum of COROP regions misses CR99 in 2019, whether the years are built together or one at a time."""
    from regiostat.regions.aggregate import build_profile, corop_members, extra_regio_indicators
    from tests.test_plan_indicators import INDICATORS, REGION_PARENT, _published

    rows = [("cbs_employee_jobs", r, y, v) for y in (2019, 2020) for r, v in (("CR10", 100), ("CR11", 50),
                                                                                 ("CR13", 70))]
    published = _published(rows + [("cbs_employee_jobs", "CR99", 2020, 5)])
    hierarchy = pl.DataFrame(schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String})

    def profile(years, extra=None):
        return build_profile(INDICATORS, published.filter(pl.col("year").is_in(years)), hierarchy, (),
                             corop_members(REGION_PARENT, years), extra_regio=extra)

    whole = profile([2019, 2020])
    extra = extra_regio_indicators(published)
    by_year = pl.concat([profile([y], extra) for y in (2019, 2020)]).sort("indicator", "region_code", "year")
    assert by_year.equals(whole)
    country = whole.filter(pl.col("region_code") == "NL01").select("year", "members_with_data", "members_expected",
                                                                      "missing_members").rows()
    assert country == [(2019, 3, 4, "CR99"), (2020, 4, 4, None)]
    assert not profile([2019]).filter(pl.col("region_code") == "NL01")["missing_members"].is_not_null().any()


def test_write_sorted_copies_every_row_in_key_order_with_the_same_types():
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE src AS SELECT (i * 7919 % 1000)::VARCHAR AS k, i % 3 AS p, [i::VARCHAR] AS l, "
                "repeat('x', i % 50) AS t FROM range(1000) r(i)")
    rows = warehouse.write_sorted(con, "src", "main.out", "k, p", batch_rows=37)
    assert rows == 1000
    assert con.execute("SELECT * FROM main.out").fetchall() == con.execute("SELECT * FROM src ORDER BY k, p").fetchall()
    types = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index"
    assert con.execute(types, ["out"]).fetchall() == con.execute(types, ["src"]).fetchall()
    con.close()
