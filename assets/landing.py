"""Landing assets: get each CBS table's files into the landing zone, as received.

Bundled mode copies the real captures shipped in the repo; live mode fetches from CBS.
Either way everything downstream reads only the landing zone.
"""

import dagster as dg

from pipelines.resources import BuildLock, RegiostatSettings
from regiostat.landing.zone import LandingZone
from regiostat.sources.cbs.catalog import TableSpec


def landing_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=["landing", f"cbs_{spec.asset_suffix}"],
        group_name="landing",
        kinds={"python", "json"},
        description=f"Files of CBS {spec.id} ({spec.title}) in the landing zone, as received.",
        metadata={"cbs_table": spec.id, "api": spec.api},
    )
    def _landing(context: dg.AssetExecutionContext, settings: RegiostatSettings,
                 build_lock: BuildLock) -> dg.MaterializeResult:
        zone = LandingZone(settings.landing_dir)
        if settings.mode == "bundled":
            bundled = LandingZone(settings.bundled_landing_dir)
            fetches = bundled.complete_fetches(spec.id)
            if not fetches:
                context.log.warning(f"{spec.id}: no bundled capture; this table is filled in live mode only "
                                    "(REGIOSTAT_MODE=live)")
            copied = sum(zone.import_fetch(bundled, f) for f in fetches)
        else:
            copied = _fetch_live(spec, settings, zone)
        complete = zone.complete_fetches(spec.id)
        files = [e for e in zone.entries() if e.table_id == spec.id and e.entity != "_complete"]
        context.log.info(f"{spec.id}: {copied} file(s) landed, {len(complete)} complete fetch(es)")
        return dg.MaterializeResult(metadata={
            "mode": settings.mode, "files_or_pages_landed_now": copied, "complete_fetches": len(complete),
            "files": len(files), "landing_dir": settings.landing_dir,
            "latest_fetch": complete[-1] if complete else "",
        })

    return _landing


def _fetch_live(spec: TableSpec, settings: RegiostatSettings, zone: LandingZone) -> int:
    from regiostat.sources.cbs.client import CbsClient, CbsEndpoints
    from regiostat.sources.cbs.fetch import fetch_v3_table, fetch_v4_table

    client = CbsClient(
        CbsEndpoints(v4=settings.cbs_v4_base, v3_api=settings.cbs_v3_api_base, v3_feed=settings.cbs_v3_feed_base),
        timeout=(10.0, settings.http_timeout_seconds), max_retries=settings.http_max_retries,
    )
    fetch = fetch_v4_table if spec.api == "v4" else fetch_v3_table
    result = fetch(client, zone, spec.id, filter=spec.live_filter)
    return result.requested_pages
