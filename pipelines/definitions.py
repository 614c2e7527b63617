"""The one Definitions object: workspace.yaml, [tool.dg] and the tests all load this.

Each assets module gives the definitions of its layer (``definitions(paths)``); they are merged here
with the publish step, which waits for every step of the layers readers see, and with the jobs,
schedule, resources and executor the whole pipeline shares.
"""

import os
from pathlib import Path

import dagster as dg

from assets import core, marts, publish, reconcile, report, sources, staging
from pipelines import expectations
from pipelines.resources import make_resources

FULL_REFRESH = "full_refresh"
LAYERS = (sources, staging, core, marts, reconcile)  # assets/: one module per source step and warehouse layer


def make_definitions(home: Path | str | None = None) -> dg.Definitions:
    resources = make_resources(home)
    paths = resources["settings"].paths
    layers = dg.Definitions.merge(*(layer.definitions(paths) for layer in LAYERS))
    published = publish.definitions([key for a in layers.assets for key in a.keys])
    full_refresh = dg.define_asset_job(
        FULL_REFRESH, selection=dg.AssetSelection.all() - sources.after_publish(),
        description="Land every source, rebuild raw, staging, core and marts, reconcile, check, then publish.",
    )
    every_table = sources.partition_range_tags(paths)

    @dg.schedule(name="monthly_full_refresh", job=full_refresh, cron_schedule="0 6 2 * *",
                 execution_timezone="Europe/Amsterdam", default_status=dg.DefaultScheduleStatus.STOPPED,
                 description="CBS publishes most regional tables monthly or yearly; off until an operator turns it "
                             "on. One run covers every configured table.")
    def monthly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(tags=every_table)

    shared = dg.Definitions(jobs=[full_refresh], schedules=[monthly], resources=resources, executor=_executor())
    return expectations.apply(dg.Definitions.merge(layers, published, report.definitions(), shared), paths)


def _executor() -> dg.ExecutorDefinition:
    """In-process by default (one process: no per-step start-up, one DuckDB writer by construction); with
    REGIOSTAT_EXECUTOR=multiprocess each step is a process of its own, and the instance's pools (duckdb_writer
    limit 1, cbs_requests limit 2: deploy/dagster.yaml) keep one writer at a time (docs/scaling.md)."""
    choice = os.environ.get("REGIOSTAT_EXECUTOR", "in_process")
    if choice not in {"in_process", "multiprocess"}:
        raise ValueError(f"REGIOSTAT_EXECUTOR must be 'in_process' or 'multiprocess', got {choice!r}")
    return dg.multiprocess_executor if choice == "multiprocess" else dg.in_process_executor


def every_partition_tags(defs: dg.Definitions, job: str = FULL_REFRESH) -> dict[str, str]:
    """Run tags that make one run of ``job`` cover every partition (every configured CBS table); none when the
    job has no partitioned step."""
    partitions = defs.resolve_job_def(job).partitions_def
    if partitions is None:
        return {}
    keys = partitions.get_partition_keys()
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


defs = make_definitions()
