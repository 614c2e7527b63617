"""Dagster as an operator expects it (issue 11 part 6): owners and tags, freshness from config/tables.toml,
declarative automation that waits to be switched on, and the profile site as an asset."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from benchmarks.project import make_project
from pipelines.definitions import defs, make_definitions
from regiostat.paths import ProjectPaths
from regiostat.sources.cbs.catalog import CatalogError

CBS_LANDING = dg.AssetKey(["landing", "cbs"])
PUBLISHED = dg.AssetKey(["published", "regional_warehouse"])
SITE = dg.AssetKey(["report", "profile_site"])


def _windows(definitions: dg.Definitions) -> dict[dg.AssetKey, tuple[int, int] | None]:
    graph = definitions.resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        out[key] = None if policy is None else (policy.warn_window.to_timedelta().days,
                                                policy.fail_window.to_timedelta().days)
    return out


def test_every_asset_has_an_owner_and_its_layer_and_sources_their_source():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:regiostat"], key
        assert node.tags["layer"] == node.group_name, key
    assert graph.get(CBS_LANDING).tags["source"] == "cbs"
    assert graph.get(dg.AssetKey(["raw", "lisa_exports"])).tags["source"] == "lisa"


def test_freshness_of_the_cbs_landing_and_the_publish_comes_from_the_tables_frequencies():
    """The shipped tables are yearly (84799NED: never updated): late after 430 days, a warning after 380."""
    windows = _windows(defs)
    assert {k: w for k, w in windows.items() if w} == {CBS_LANDING: (380, 430), PUBLISHED: (380, 430)}
    late = defs.resolve_asset_graph().get(CBS_LANDING).metadata["late_after"].value
    assert late["84799NED"] == "never: never late"
    assert late["83582NED"] == "yearly: warn after 380 days, late after 430 days"


def test_one_monthly_table_makes_the_landing_and_the_publish_late_after_two_months(tmp_path, monkeypatch):
    shipped = ProjectPaths.default().tables_toml.read_text(encoding="utf-8")
    monthly = shipped.replace('id = "03759NED"\ntitle = "Bevolking op 1 januari en gemiddeld; geslacht, leeftijd en '
                              'regio"\napi = "v4"\nfrequency = "yearly"', 'id = "03759NED"\napi = "v4"\n'
                              'frequency = "monthly"', 1)
    assert monthly != shipped
    project = make_project(tmp_path / "project", monthly)
    monkeypatch.setenv("REGIOSTAT_PROJECT_DIR", str(project.root))
    windows = _windows(make_definitions(tmp_path / "home"))
    assert windows[CBS_LANDING] == windows[PUBLISHED] == (35, 62)
    project.tables_toml.write_text(monthly.replace('frequency = "monthly"', 'frequency = "weekly"'))
    with pytest.raises(CatalogError, match=r"tables.toml: table 03759NED: 'frequency' must be one of"):
        make_definitions(tmp_path / "home")


def test_automation_publishes_after_passing_checks_and_follows_with_the_site_but_is_off_by_default():
    graph = defs.resolve_asset_graph()
    assert "all_deps_blocking_checks_passed" in str(graph.get(PUBLISHED).automation_condition)
    assert graph.get(SITE).automation_condition.get_label() == "after every publish"
    assert graph.get(SITE).parent_keys == {PUBLISHED}
    sensor = defs.get_repository_def().get_sensor_def("default_automation_condition_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    for job in ("full_refresh", "cbs_refresh", "lisa_refresh"):  # a refresh ends at the publish, not the site
        keys = defs.resolve_job_def(job).asset_layer.executable_asset_keys
        assert PUBLISHED in keys and SITE not in keys, job


def test_the_site_asset_writes_the_site_into_the_settings_folder(published_home):
    local = make_definitions(published_home)
    settings = local.resources["settings"]
    assert settings.site_dir == str(published_home / "site")  # beside warehouse/
    result = local.resolve_job_def("profile_site").execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    assert result.success
    meta = result.asset_materializations_for_node("report__profile_site")[0].metadata
    pages = sorted((published_home / "site" / "regions").glob("*.html"))
    assert meta["pages"].value == len(pages) > 400
    assert meta["path"].value == str(published_home / "site" / "index.html")
    assert meta["bytes"].value == sum(p.stat().st_size for p in (published_home / "site").rglob("*") if p.is_file())


def test_frequency_defaults_to_yearly_and_never_is_never_late():
    from regiostat.lateness import late_after, tightest

    assert tightest(["never"]) is None
    assert tightest(["yearly", "quarterly", "never"]).fail == timedelta(days=190)
    assert late_after("monthly").warn == timedelta(days=35)
