"""Core: conformed dimensions, the fact table (latest vintage of every observation of every source), the
region hierarchy, custom regions and the indicator catalogue."""

from collections.abc import Callable

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import WRITER_POOL, failures_check, preview, split_checks, table_checks
from assets.staging import STAGED
from pipelines.resources import RegiostatSettings, rebuild_all
from regiostat import warehouse
from regiostat.configkeys import ConfigError
from regiostat.indicators.catalogue import UNVERIFIED, catalogue_frame, load_indicators
from regiostat.model import core, regions
from regiostat.paths import ProjectPaths
from regiostat.regions.custom import RegionConfigError, load_region_config
from regiostat.sources import registry
from regiostat.wiring import check_config, check_landed

FACT = dg.AssetKey(["core", "fact_observation"])
REGION_PARENT = dg.AssetKey(["core", "region_parent"])
CUSTOM_REGION = dg.AssetKey(["core", "custom_region"])
DIM_INDICATOR = dg.AssetKey(["core", "dim_indicator"])
INPUTS = {"codes": "raw.dimension_codes", "measures": "raw.measures", "fetches": "raw.fetches",
          "memberships": "raw.region_memberships"}


class _Inputs(dict):
    """The small raw tables and the distinct staged values a builder reads, each read when it first asks for it."""

    def __init__(self, con):
        super().__init__()
        self.con = con

    def __missing__(self, name: str) -> pl.DataFrame:
        query = core.STAGED_VALUES.get(name)
        self[name] = self.con.sql(query).pl() if query else warehouse.read_table(self.con, INPUTS[name])
        return self[name]


def _source_tables(fetches: pl.DataFrame, paths: ProjectPaths) -> pl.DataFrame:
    feeds = {t: f for s in registry.sources() for f in s.feeds(paths) for t in f.table_ids}
    return core.dim_source_table(fetches, {t: f.title for t, f in feeds.items()},
                                 {t: f.licence for t, f in feeds.items()})


# name -> (build from the inputs, description); every one reads staging and raw, writes core.<name>
_BUILDERS: dict[str, tuple[Callable[[dict, ProjectPaths], pl.DataFrame], str]] = {
    "dim_region": (lambda i, _: core.dim_region(i["codes"], i["fetches"], i["staged_regions"]),
                   "Regions (land, landsdeel, provincie, COROP, gemeente) with CBS names, group ids, and for "
                   "municipalities the begin and abolition dates CBS states."),
    "boundary_change": (lambda i, _: core.boundary_changes(i["codes"], i["fetches"]),
                        "Municipal mergers, splits, partial transfers and renames parsed from CBS's RegioS "
                        "descriptions: date, from, to, hectares, dwellings, inhabitants and the source text."),
    "dim_period": (lambda i, _: core.dim_period(i["codes"], i["fetches"], i["staged_periods"]),
                   "Period codes with year, type (jaar/kwartaal/maand) and number."),
    "dim_measure": (lambda i, _: core.dim_measure(i["measures"], i["fetches"], i["staged_scales"]),
                    "Measures per source table: title, unit as published, scale factor, decimals, metadata origin."),
    "dim_sector": (lambda i, _: core.dim_sector(i["codes"], i["fetches"], i["staged_sectors"]),
                   "SBI 2008 sector codes with their CBS titles and section letters."),
    "dim_dimension_code": (lambda i, _: core.dim_dimension_code(i["codes"], i["fetches"]),
                           "Titles of the codes of every other dimension (Geslacht, Leeftijd, Bedrijfsgrootte, "
                           "LISA sectors...)."),
    "dim_source_table": (lambda i, paths: _source_tables(i["fetches"], paths),
                         "Source tables of every source (CBS tables, LISA exports, municipality lists): title, "
                         "number of fetches, latest vintage, version, licence."),
    "region_parent": (lambda i, _: regions.region_parent(i["memberships"], i["codes"], i["fetches"]),
                      "The parent of each region per level (COROP, provincie, landsdeel, arbeidsmarktregio) with the "
                      "years it holds: snapshots from 70072NED (2015), the 2024 municipality-COROP list and v4 "
                      "RegioS DimensionGroupIds. valid_from_year null = also the years before the first snapshot."),
}


CORE_KEYS = [dg.AssetKey(["core", name]) for name in _BUILDERS] + [FACT]


@dg.asset(key=FACT, deps=[STAGED, dg.AssetKey(["core", "dim_region"]), dg.AssetKey(["core", "dim_period"])],
          group_name="core", kinds={"duckdb", "sql"}, pool=WRITER_POOL,
          description="One row per table, measure, region, period and dimension codes: the latest vintage, with value, "
                      "published value, unit, status, value attribute, source kind and provenance. Only tables staged "
                      "again are copied again.")
def fact_observation(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        copied, removed = core.refresh_fact_observation(con, force=rebuild_all(context))
        rows = warehouse.row_count(con, "core.fact_observation")
        head = con.sql("SELECT * FROM core.fact_observation LIMIT 10").pl()
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "tables_copied": ", ".join(copied)[:500],
                                          "tables_removed": ", ".join(removed), "preview": preview(head)})


def _core_asset(name: str) -> list:
    build, description = _BUILDERS[name]
    key = dg.AssetKey(["core", name])
    deps = [STAGED]

    @dg.asset(key=key, deps=deps, group_name="core", kinds={"duckdb", "polars"}, description=description,
              pool=WRITER_POOL)
    def _asset(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            frame = build(_Inputs(con), settings.paths)
            rows = warehouse.replace_rows(con, f"core.{name}", frame)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": preview(frame)})

    return [_asset, table_checks(key, [f"core.{name}"])]


@dg.asset_check(asset=FACT, name="fact_codes_in_dimensions", blocking=True, pool=WRITER_POOL,
                description="Every region and period code on a fact row exists in its dimension.")
def fact_codes_in_dimensions(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        orphans = warehouse.orphan_codes(con)
    return failures_check(orphans, orphan_codes=orphans.height)


@dg.asset_check(asset=REGION_PARENT, name="region_parent_one_per_year", blocking=True, pool=WRITER_POOL,
                description="For every region, level and year at most one parent.")
def region_parent_one_per_year(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        overlaps = regions.parent_overlaps(warehouse.read_table(con, "core.region_parent"))
    return failures_check(overlaps, overlaps=overlaps.height)


@dg.asset(key=CUSTOM_REGION, deps=[dg.AssetKey(["core", "dim_region"])], group_name="core", kinds={"duckdb"},
          pool=WRITER_POOL,
          description="Custom regions from config/regions.toml (e.g. Dutch TechZone, Oost-Nederland), every member "
                      "checked against the CBS region code list.")
def custom_region(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        known = set(warehouse.read_table(con, "core.dim_region")["region_code"])
        try:
            config = load_region_config(settings.paths.regions_toml, known_codes=known)
        except RegionConfigError as exc:
            raise dg.Failure(str(exc)) from exc
        frame = regions.custom_region_table(config)
        rows = warehouse.replace_rows(con, "core.custom_region", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "regions": len(config.regions)})


@dg.asset(key=DIM_INDICATOR, deps=[STAGED], group_name="core", kinds={"duckdb"}, pool=WRITER_POOL,
          description="The indicator catalogue (config/indicators.toml): code, Dutch and English name, unit, "
                      "definition, aggregation rule, sources and whether their live wiring was ever read from a "
                      "recorded response. Stops the run when an indicator reads a measure or code its table's "
                      "landed metadata lacks.")
def dim_indicator(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    indicators = load_indicators(settings.paths.indicators_toml)
    frame = catalogue_frame(indicators)
    with duckdb.get_connection() as con:
        warehouse.ensure_schema(con, settings.paths.schema_sql)
        try:
            check_landed(settings.paths, warehouse.read_table(con, "raw.measures"),
                         warehouse.read_table(con, "raw.dimension_codes"))
        except ConfigError as exc:
            raise dg.Failure(str(exc)) from exc
        rows = warehouse.replace_rows(con, "core.dim_indicator", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": preview(frame),
                                          "live_wiring_unverified": int((frame["live_wiring"] == UNVERIFIED).sum())})


def definitions(paths: ProjectPaths) -> dg.Definitions:
    check_config(paths)  # every config file strictly, and indicator wiring that needs no data: before any run
    built = [d for name in _BUILDERS for d in _core_asset(name)]
    return split_checks([*built, fact_observation, table_checks(FACT, ["core.fact_observation"]),
                         fact_codes_in_dimensions, region_parent_one_per_year,
                         custom_region, table_checks(CUSTOM_REGION, ["core.custom_region"]),
                         dim_indicator, table_checks(DIM_INDICATOR, ["core.dim_indicator"])])
