"""The one Definitions object: workspace.yaml, [tool.dg] and the tests all load this."""

from pathlib import Path

import dagster as dg

from assets.core import core_assets
from assets.harmonised import harmonised_assets
from assets.marts import mart_assets
from assets.profile import profile_assets
from assets.publish import published_asset
from assets.reconcile import reconcile_assets
from assets.regions import region_assets
from assets.sources import definitions as source_definitions
from assets.sources import raw_keys
from assets.staging import staging_assets
from pipelines.resources import make_resources

FULL_REFRESH = "full_refresh"


def make_definitions(home: Path | str | None = None) -> dg.Definitions:
    resources = make_resources(home)
    paths = resources["settings"].paths
    marts = mart_assets(paths)
    mart_keys = [d.key for d in marts if not isinstance(d, dg.AssetChecksDefinition)]
    everything = [*staging_assets(raw_keys(paths)), *core_assets(), *region_assets(),
                  *marts, *profile_assets(), *harmonised_assets(),
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
    checks = [d for d in everything if isinstance(d, dg.AssetChecksDefinition)]
    assets = [d for d in everything if d not in checks]
    layers = dg.Definitions(assets=assets, asset_checks=checks, jobs=[full_refresh], schedules=[monthly],
                            resources=resources, executor=dg.in_process_executor)
    return dg.Definitions.merge(source_definitions(paths), layers)


defs = make_definitions()
