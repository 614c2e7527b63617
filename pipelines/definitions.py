"""The one Definitions object: workspace.yaml, [tool.dg] and the tests all load this.

Each assets module gives the definitions of its layer (``definitions(paths)``); they are merged here
with the publish step, which waits for every step of the layers readers see, and with the jobs,
schedule, resources and executor the whole pipeline shares.
"""

from pathlib import Path

import dagster as dg

from assets import core, marts, publish, reconcile, sources, staging
from pipelines.resources import make_resources

FULL_REFRESH = "full_refresh"
LAYERS = (sources, staging, core, marts, reconcile)  # assets/: one module per source step and warehouse layer


def make_definitions(home: Path | str | None = None) -> dg.Definitions:
    resources = make_resources(home)
    paths = resources["settings"].paths
    layers = dg.Definitions.merge(*(layer.definitions(paths) for layer in LAYERS))
    published = publish.definitions([key for a in layers.assets for key in a.keys])
    full_refresh = dg.define_asset_job(
        FULL_REFRESH, selection=dg.AssetSelection.all(),
        description="Land every source, rebuild raw, staging, core and marts, reconcile, check, then publish.",
    )
    monthly = dg.ScheduleDefinition(
        name="monthly_full_refresh", job=full_refresh, cron_schedule="0 6 2 * *",
        execution_timezone="Europe/Amsterdam", default_status=dg.DefaultScheduleStatus.STOPPED,
        description="CBS publishes most regional tables monthly or yearly; off until an operator turns it on.",
    )
    shared = dg.Definitions(jobs=[full_refresh], schedules=[monthly], resources=resources,
                            executor=dg.in_process_executor)
    return dg.Definitions.merge(layers, published, shared)


defs = make_definitions()
