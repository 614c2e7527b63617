"""Core assets: conformed dimensions and the fact table (latest vintage of every observation)."""

from collections.abc import Callable

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import pandera_check, preview
from assets.staging import STAGED
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.model import core
from regiostat.sources import registry
from schemas import core as schemas

FACT = dg.AssetKey(["core", "fact_observation"])


def _inputs(con, settings: RegiostatSettings) -> dict[str, object]:
    return {
        "feeds": {t: f for s in registry.sources() for f in s.feeds(settings.paths) for t in f.table_ids},
        "staged": warehouse.read_table(con, "staging.observations"),
        "codes": warehouse.read_table(con, "raw.dimension_codes"),
        "measures": warehouse.read_table(con, "raw.measures"),
        "fetches": warehouse.read_table(con, "raw.fetches"),
    }


_BUILDERS: dict[str, tuple[Callable[[dict], pl.DataFrame], object, str]] = {
    "dim_region": (lambda i: core.dim_region(i["codes"], i["fetches"], i["staged"]), schemas.DimRegion,
                   "Regions (land, landsdeel, provincie, COROP, gemeente) with CBS names, group ids, and for "
                   "municipalities the begin and abolition dates CBS states."),
    "boundary_change": (lambda i: core.boundary_changes(i["codes"], i["fetches"]), None,
                        "Municipal mergers, splits, partial transfers and renames parsed from CBS's RegioS "
                        "descriptions: date, from, to, hectares, dwellings, inhabitants and the source text."),
    "dim_period": (lambda i: core.dim_period(i["codes"], i["staged"]), schemas.DimPeriod,
                   "CBS period codes with year, type (jaar/kwartaal/maand) and number."),
    "dim_measure": (lambda i: core.dim_measure(i["measures"], i["fetches"], i["staged"]), schemas.DimMeasure,
                    "Measures per CBS table: title, unit as published, scale factor, decimals, metadata origin."),
    "dim_sector": (lambda i: core.dim_sector(i["codes"], i["fetches"], i["staged"]), schemas.DimSector,
                   "SBI 2008 sector codes with their CBS titles and section letters."),
    "dim_dimension_code": (lambda i: core.dim_dimension_code(i["codes"], i["fetches"]), None,
                           "Titles of the codes of every other dimension (Geslacht, Leeftijd, Bedrijfsgrootte...)."),
    "dim_source_table": (lambda i: core.dim_source_table(i["fetches"], {t: f.title for t, f in i["feeds"].items()},
                                                         {t: f.licence for t, f in i["feeds"].items()}),
                         None, "Source tables of every source (CBS tables, LISA exports, municipality lists): title, "
                               "number of fetches, latest vintage, version, licence."),
    "fact_observation": (lambda i: core.fact_observation(i["staged"]), schemas.FactObservation,
                         "One row per table, measure, region, period and dimension codes: the latest vintage, "
                         "with value, published value, unit, status, value attribute and provenance."),
}


def _core_asset(name: str) -> list:
    build, schema, description = _BUILDERS[name]
    key = dg.AssetKey(["core", name])
    deps = [STAGED] + ([dg.AssetKey(["core", d]) for d in ("dim_region", "dim_period")] if name == "fact_observation"
                       else [])

    @dg.asset(key=key, deps=deps, group_name="core", kinds={"duckdb", "polars"}, description=description)
    def _asset(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            frame = build(_inputs(con, settings))
            rows = warehouse.replace_rows(con, f"core.{name}", frame)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "preview": preview(frame)})

    out = [_asset]
    if schema is not None:
        @dg.asset_check(asset=key, name=f"{name}_schema", blocking=True,
                        description=f"pandera {schema.__name__}: keys unique, codes valid.")
        def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
            with duckdb.get_connection() as con:
                return pandera_check(schema, warehouse.read_table(con, f"core.{name}"))
        out.append(_check)
    return out


@dg.asset_check(asset=FACT, name="fact_codes_in_dimensions", blocking=True,
                description="Every region and period code on a fact row exists in its dimension.")
def fact_codes_in_dimensions(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        orphans = warehouse.orphan_codes(con)
    return dg.AssetCheckResult(passed=orphans.height == 0, metadata={
        "orphan_codes": orphans.height,
        "failure_cases": dg.MetadataValue.json(orphans.head(50).to_dicts()),
    })


def core_assets() -> list:
    return [d for name in _BUILDERS for d in _core_asset(name)] + [fact_codes_in_dimensions]


CORE_KEYS = [dg.AssetKey(["core", name]) for name in _BUILDERS]
