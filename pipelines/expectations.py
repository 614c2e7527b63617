"""What an operator expects of each asset, stated in one place: who owns it, how it is tagged, when it is late,
and what starts it by itself.

- Owners and tags: every asset is owned by the regiostat team and tagged with its layer; landing and raw assets
  also with their source (``cbs``, ``lisa``, ``crosswalk``), so the catalog filters by either.
- Freshness: ``landing/cbs`` is late when no table was refreshed within the window of the most often updated
  enabled table in config/tables.toml (``frequency``; regiostat/lateness.py); the window of every table is in its
  metadata. The published warehouse has the same window: every refresh ends in a publish.
- Declarative automation: the publish runs by itself when a reader-visible layer was rebuilt outside a refresh job
  and every blocking check upstream passed (the refresh jobs already end in the publish, so after them there is
  nothing left to do); the profile site follows every publish. Both wait for the automation sensor, which
  Dagster creates off: nothing starts until an operator turns it on.
"""

from __future__ import annotations

import warnings

import dagster as dg

from assets import sources
from assets.publish import PUBLISHED
from assets.report import SITE
from regiostat.lateness import LateAfter, late_after, tightest
from regiostat.paths import ProjectPaths
from regiostat.sources.cbs.catalog import load_catalog

OWNERS = ["team:regiostat"]
CBS_LANDING = dg.AssetKey(["landing", "cbs"])

PUBLISH_WHEN_CHECKS_PASS = (dg.AutomationCondition.eager()
                            & dg.AutomationCondition.all_deps_blocking_checks_passed()
                            ).with_label("publish when every upstream blocking check passed")
AFTER_EVERY_PUBLISH = dg.AutomationCondition.eager().with_label("after every publish")


def apply(defs: dg.Definitions, paths: ProjectPaths) -> dg.Definitions:
    """``defs`` with owners, tags, freshness policies and automation conditions on its assets."""
    tables = [spec for spec in load_catalog(paths.tables_toml) if spec.enabled]
    window = tightest(spec.frequency for spec in tables)
    late = {spec.id: f"{spec.frequency}: " + (w.text() if (w := late_after(spec.frequency)) else "never late")
            for spec in tables}
    source_of = {key: g.source.name for g in sources.feed_groups(paths) for key in (g.landing_key, g.raw_key)}

    def expect(spec: dg.AssetSpec) -> dg.AssetSpec:
        tags = {"layer": spec.group_name or spec.key.path[0]}
        if spec.key in source_of:
            tags["source"] = source_of[spec.key]
        spec = spec.merge_attributes(owners=OWNERS, tags=tags)
        if spec.key == CBS_LANDING:
            spec = spec.merge_attributes(metadata={"late_after": dg.MetadataValue.json(late)})
        if spec.key in (CBS_LANDING, PUBLISHED) and window is not None:
            spec = spec.replace_attributes(freshness_policy=_policy(window))
        if spec.key == PUBLISHED:
            spec = spec.replace_attributes(automation_condition=PUBLISH_WHEN_CHECKS_PASS)
        if spec.key == SITE:
            spec = spec.replace_attributes(automation_condition=AFTER_EVERY_PUBLISH)
        return spec

    with warnings.catch_warnings():  # map_asset_specs is "preview" in dagster 1.13; the version is pinned
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=expect)


def _policy(window: LateAfter) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(fail_window=window.fail, warn_window=window.warn)
