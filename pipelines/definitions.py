"""The one Definitions object: workspace.yaml, [tool.dg] and the tests all load this."""

from pathlib import Path

import dagster as dg

from assets.core import core_assets
from assets.harmonised import harmonised_assets
from assets.landing import landing_asset
from assets.lisa import LISA_LANDING, lisa_assets, lisa_inbox_sensor
from assets.marts import mart_assets
from assets.profile import profile_assets
from assets.publish import published_asset
from assets.raw import raw_asset, raw_key
from assets.reconcile import reconcile_assets
from assets.regions import region_assets
from assets.staging import staging_assets
from pipelines.resources import make_resources
from regiostat.sources.cbs.catalog import load_catalog

FULL_REFRESH = "full_refresh"


def make_definitions(home: Path | str | None = None) -> dg.Definitions:
    resources = make_resources(home)
    paths = resources["settings"].paths
    specs = load_catalog(paths.tables_toml)
    table_defs = [d for spec in specs for d in (landing_asset(spec), *raw_asset(spec))]
    marts = mart_assets(paths)
    mart_keys = [d.key for d in marts if not isinstance(d, dg.AssetChecksDefinition)]
    everything = [*table_defs, *staging_assets([raw_key(s) for s in specs]), *core_assets(), *region_assets(),
                  *lisa_assets(), *marts, *profile_assets(), *harmonised_assets(),
                  *reconcile_assets(), published_asset(mart_keys)]
    full_refresh = dg.define_asset_job(
        FULL_REFRESH, selection=dg.AssetSelection.all(),
        description="Land every CBS table, rebuild raw, staging, core and marts, check, then publish.",
    )
    monthly = dg.ScheduleDefinition(
        name="monthly_full_refresh", job=full_refresh, cron_schedule="0 6 2 * *",
        execution_timezone="Europe/Amsterdam", default_status=dg.DefaultScheduleStatus.STOPPED,
        description="CBS publishes most regional tables monthly or yearly; off until an operator turns it on.",
    )
    lisa_refresh = dg.define_asset_job(
        "lisa_refresh", selection=dg.AssetSelection.assets(LISA_LANDING).downstream(),
        description="Land new or changed LISA exports, rebuild what depends on them, check, then publish.",
    )
    checks = [d for d in everything if isinstance(d, dg.AssetChecksDefinition)]
    assets = [d for d in everything if d not in checks]
    return dg.Definitions(assets=assets, asset_checks=checks, jobs=[full_refresh, lisa_refresh],
                          schedules=[monthly], sensors=[lisa_inbox_sensor(lisa_refresh)],
                          resources=resources, executor=dg.in_process_executor)


defs = make_definitions()
