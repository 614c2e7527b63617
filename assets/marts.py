"""Marts: one asset per SQL file in warehouse/marts/ (add a file and its pandera model, get an asset and its
check), the regional profile (+ its wide view) and the municipal series on fixed boundaries."""

import re
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import WRITER_POOL, failures_check, preview, split_checks, table_checks
from assets.core import CORE_KEYS, CUSTOM_REGION, DIM_INDICATOR, FACT, REGION_PARENT
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.harmonised import SERIES_COLUMNS, municipal_series_by_indicator, totals_not_preserved
from regiostat.indicators.profile import AcrossYears, profile_by_years
from regiostat.paths import ProjectPaths
from regiostat.regions.aggregate import EXTRA_REGIO
from regiostat.regions.custom import load_region_config
from regiostat.regions.harmonisation import CONTRIBUTION_SCHEMA

PROFILE = dg.AssetKey(["marts", "regional_profile"])
PROFILE_VIEW = "regional_profile_wide"  # warehouse/views/<name>.sql, built with the profile it reads
HARMONISED = dg.AssetKey(["marts", "municipal_series_harmonised"])


_INPUTS = re.compile(r"^--\s*inputs:")


def _first_comment(sql_file: Path) -> str:
    lines = sql_file.read_text().splitlines()
    return " ".join(line.removeprefix("--").strip() for line in lines
                    if line.startswith("--") and not _INPUTS.match(line)) or sql_file.stem


def _sql_mart(name: str, marts_dir: Path) -> list:
    key = dg.AssetKey(["marts", name])

    @dg.asset(key=key, deps=CORE_KEYS, group_name="marts", pool=WRITER_POOL,
              kinds={"duckdb", "sql"}, description=_first_comment(marts_dir / f"{name}.sql"),
              metadata={"sql_file": f"warehouse/marts/{name}.sql"})
    def _asset(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            rows = warehouse.build_mart(con, name, settings.paths.marts_dir)
            head = con.sql(f"SELECT * FROM marts.{warehouse.quote_ident(name)} LIMIT 10").pl()
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": preview(head)})

    return [_asset, table_checks(key, [f"marts.{name}"], non_empty=True, inputs=warehouse.mart_inputs(marts_dir, name))]


PROFILE_ROWS = 60_000  # facts per group of years the profile is built from at once


def _sources(indicators: dict, chosen=lambda ind: True) -> list[tuple]:
    return [(s.table, s.measure, s.dimensions) for ind in indicators.values() if chosen(ind) for s in ind.sources]


@dg.asset(key=PROFILE, deps=[FACT, REGION_PARENT, CUSTOM_REGION, DIM_INDICATOR, dg.AssetKey(["core", "dim_period"]),
                             dg.AssetKey(["core", "dim_region"])],
          group_name="marts", kinds={"duckdb", "polars"}, pool=WRITER_POOL,
          description="Long profile: region x year x indicator, for municipalities, COROP regions, provinces, "
                      "landsdelen, the country and custom regions. method says whether the value is published, "
                      "a sum of members or a ratio of sums; coverage says how many members had data. Also builds "
                      "the view marts.regional_profile_wide.")
def profile(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    indicators = load_indicators(settings.paths.indicators_toml)
    regions = load_region_config(settings.paths.regions_toml).regions
    sources = _sources(indicators)
    columns = warehouse.INDICATOR_FACT_COLUMNS
    with duckdb.get_connection() as con:
        tables = [warehouse.read_table(con, f"core.{t}") for t in ("region_parent", "dim_region", "custom_region",
                                                                   "dim_indicator")]
        flows = _sources(indicators, lambda i: i.aggregation == "border_flow")
        facts = f"{warehouse.TEMP_PREFIX}indicator_facts"  # the catalogue's facts, found in one scan
        warehouse.copy_facts(con, sources, columns, facts)
        across = AcrossYears.of(indicators, regions, warehouse.facts_for_sources(
            con, sources, columns=columns, regions_like=EXTRA_REGIO, table=facts), warehouse.facts_for_sources(
            con, flows, columns=columns, table=facts), tables[0], tables[1])
        years = warehouse.groups_of(warehouse.fact_rows_by_year(con, sources, table=facts), PROFILE_ROWS) or [[]]
        rows = warehouse.Spool(con, "regional_profile")
        try:  # a group of years at a time, then sorted as regional_profile sorts all of them
            for frame in profile_by_years(indicators, regions, lambda ys: warehouse.facts_for_sources(
                    con, sources, columns=columns, years=ys, table=facts), years, tables, across):
                rows.append(frame)
            warehouse.write_sorted(con, rows.table, "marts.regional_profile",  # rows of plain columns: big batches
                                   "indicator NULLS FIRST, region_code NULLS FIRST, year NULLS FIRST",
                                   batch_rows=200_000)
        finally:
            warehouse.drop_spools(con)
        wide_rows = warehouse.build_mart(con, PROFILE_VIEW, settings.paths.views_dir)
        height, indicator_count = con.execute("SELECT count(*), count(DISTINCT indicator) "
                                              "FROM marts.regional_profile").fetchall()[0]
        custom = con.sql("SELECT * FROM marts.regional_profile WHERE region_level = 'custom' LIMIT 10").pl()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": height, "wide_rows": wide_rows, "indicators": indicator_count,
        "preview": preview(custom),
    })


@dg.asset(key=HARMONISED, deps=[FACT, dg.AssetKey(["core", "boundary_change"]), dg.AssetKey(["core", "dim_period"])],
          group_name="marts", kinds={"duckdb", "polars"}, pool=WRITER_POOL,
          description="Additive municipal indicators on the municipal map of each boundary year in "
                      "config/regions.toml: converted values are flagged with method (merger_sum, split_weighted, "
                      "transfer_weighted, renamed) and weight; marts.municipal_series_contributions lists what each "
                      "old municipality contributed.")
def harmonised(context: dg.AssetExecutionContext, settings: RegiostatSettings,
               duckdb: DuckDBResource) -> dg.MaterializeResult:
    indicators = load_indicators(settings.paths.indicators_toml)
    config = load_region_config(settings.paths.regions_toml)
    skipped: dict[str, str] = {}
    with duckdb.get_connection() as con:
        changes = warehouse.read_table(con, "core.boundary_change")
        series = warehouse.Spool(con, "municipal_series_harmonised", SERIES_COLUMNS)
        parts = warehouse.Spool(con, "municipal_series_contributions", CONTRIBUTION_SCHEMA)
        try:  # an indicator and boundary year at a time, appended in municipal_series' order
            for piece in municipal_series_by_indicator(indicators, config, lambda chosen: warehouse.facts_for_sources(
                    con, _sources({i.code: i for i in chosen}), columns=warehouse.INDICATOR_FACT_COLUMNS,
                    regions_like="GM%"), changes, skipped):
                series.append(piece.series)
                parts.append(piece.contributions)
            for spool, name in ((series, "municipal_series_harmonised"), (parts, "municipal_series_contributions")):
                con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM {spool.table}")
        finally:
            warehouse.drop_spools(con)
        converted = con.execute("SELECT count(*) FILTER (WHERE converted) FROM marts.municipal_series_harmonised"
                                ).fetchall()[0][0]
        head = con.sql("SELECT * FROM marts.municipal_series_harmonised WHERE converted LIMIT 10").pl()
    for what, why in skipped.items():
        context.log.warning(f"not harmonised: {what}: {why}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": series.rows, "converted_rows": converted,
        "boundary_years": ", ".join(map(str, config.boundary_years)),
        "not_harmonised": dg.MetadataValue.json(skipped),
        "preview": preview(head),
    })


@dg.asset_check(asset=HARMONISED, name="harmonised_totals_preserved", blocking=True, pool=WRITER_POOL,
                description="Per indicator, year and boundary year, the national total of the harmonised series "
                            "equals the total of the series before conversion (nothing created or lost).")
def harmonised_totals_preserved(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        gaps = totals_not_preserved(warehouse.read_table(con, "marts.municipal_series_harmonised"),
                                    warehouse.read_table(con, "marts.municipal_series_contributions"))
    return failures_check(gaps, mismatches=gaps.height)


def definitions(paths: ProjectPaths) -> dg.Definitions:
    sql_marts = [d for name in warehouse.mart_names(paths.marts_dir) for d in _sql_mart(name, paths.marts_dir)]
    return split_checks([
        *sql_marts,
        profile, table_checks(PROFILE, ["marts.regional_profile", f"marts.{PROFILE_VIEW}"]),
        harmonised, table_checks(HARMONISED, ["marts.municipal_series_harmonised",
                                               "marts.municipal_series_contributions"]),
        harmonised_totals_preserved])
