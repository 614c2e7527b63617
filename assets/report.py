"""The regional profile site as an asset, downstream of the published warehouse.

It reads only what readers see (the published file), never the build database, so it shows exactly what was
published. It is not part of the refresh jobs: writing ~470 pages takes seconds that a refresh need not wait for,
and a site that fails to render must not fail a refresh. It has a job of its own and, when the automation
sensor is on, follows every publish (pipelines/expectations.py).
"""

import dagster as dg

from assets.publish import PUBLISHED
from pipelines.resources import RegiostatSettings
from regiostat.report import write_site

SITE = dg.AssetKey(["report", "profile_site"])
SITE_JOB = "profile_site"


def definitions() -> dg.Definitions:
    @dg.asset(key=SITE, deps=[PUBLISHED], group_name="report", kinds={"html"},
              description="The static regional profile site (index with search, one page per region, charts, "
                          "maps, claims) written from the published warehouse into settings.site_dir; the same "
                          "as `regiostat report`. Replaced whole: a reader never sees half a site.")
    def profile_site(settings: RegiostatSettings) -> dg.MaterializeResult:
        summary = write_site(settings.publish_path, settings.site_dir, paths=settings.paths)
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(summary.out_dir / "index.html")),
            "pages": summary.pages,
            "bytes": summary.bytes,
            "seconds": round(summary.seconds, 1),
        })

    job = dg.define_asset_job(SITE_JOB, selection=dg.AssetSelection.assets(SITE),
                              description="Write the regional profile site from the published warehouse.")
    return dg.Definitions(assets=[profile_site], jobs=[job])
