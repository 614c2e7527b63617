"""The scale-out wiring (docs/scaling.md): the executor switch, and one writer at a time by construction.

A step that opens the build database is a step that asks for the ``duckdb`` resource (BuildDatabase); on an
instance with pool limits (deploy/dagster.yaml, deploy/pools.sh) only the duckdb_writer pool keeps two such
steps from running at once. So every such asset or check must sit in that pool, and a new one that forgets
it fails here, not in production with "Could not set lock on file".
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.definitions import FULL_REFRESH, make_definitions

REPO = Path(__file__).resolve().parents[1]
WRITER_POOL = "duckdb_writer"
BUILD_DATABASE = "duckdb"  # the resource key of pipelines.resources.BuildDatabase


def _nodes(defs: dg.Definitions) -> dict[str, dg.OpDefinition]:
    """Every op behind every asset and check of every job (full_refresh selects them all)."""
    nodes = {}
    for job in (defs.resolve_job_def(name) for name in [FULL_REFRESH, *(j.name for j in defs.jobs or [])]):
        nodes.update({n.name: n.definition for n in job.graph.node_dict.values()})
    return nodes


def writers_outside_the_pool(defs: dg.Definitions) -> list[str]:
    return sorted(name for name, op in _nodes(defs).items()
                  if BUILD_DATABASE in op.required_resource_keys and op.pool != WRITER_POOL)


def test_multiprocess_executor_is_chosen_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REGIOSTAT_EXECUTOR", "multiprocess")
    defs = make_definitions(tmp_path)
    for name in (FULL_REFRESH, "cbs_refresh", "lisa_refresh"):
        assert defs.resolve_job_def(name).executor_def.name == "multiprocess", name
    monkeypatch.setenv("REGIOSTAT_EXECUTOR", "in_process")
    assert make_definitions(tmp_path).resolve_job_def(FULL_REFRESH).executor_def.name == "in_process"
    monkeypatch.setenv("REGIOSTAT_EXECUTOR", "k8s")
    with pytest.raises(ValueError, match="REGIOSTAT_EXECUTOR"):
        make_definitions(tmp_path)


def test_every_step_that_opens_the_build_database_is_in_the_writer_pool(tmp_path):
    defs = make_definitions(tmp_path)
    nodes = _nodes(defs)
    writers = {name for name, op in nodes.items() if BUILD_DATABASE in op.required_resource_keys}
    assert writers_outside_the_pool(defs) == []
    # not vacuous: raw, staging, core, marts, reconcile, publish and their checks all open it
    assert {"raw__cbs", "staging__observations", "core__fact_observation", "reconcile__reconciliation",
            "reconcile__reconciliation_no_violation_inside_one_source", "published__regional_warehouse"} <= writers
    assert len(writers) >= 40
    # the landing steps never open it, so they may run beside a writer (CBS fetches in their own pool)
    landing = {name: op for name, op in nodes.items() if name.startswith("landing__")}
    assert landing and not any(BUILD_DATABASE in op.required_resource_keys for op in landing.values())
    assert landing["landing__cbs"].pool == "cbs_requests"


def test_a_writer_that_forgets_the_pool_is_caught(tmp_path):
    @dg.asset(key=dg.AssetKey(["marts", "forgetful"]), deps=[dg.AssetKey(["core", "fact_observation"])])
    def forgetful(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as con:
            con.execute("SELECT 1")

    @dg.asset_check(asset=dg.AssetKey(["marts", "forgetful"]))
    def forgetful_check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    defs = dg.Definitions.merge(make_definitions(tmp_path), dg.Definitions(assets=[forgetful],
                                                                           asset_checks=[forgetful_check]))
    assert writers_outside_the_pool(defs) == ["marts__forgetful", "marts__forgetful_forgetful_check"]


def test_no_asset_module_opens_a_duckdb_file_by_itself():
    """Only through the ``duckdb`` resource (so the pool test above sees it): no duckdb.connect in assets/."""
    for path in sorted((REPO / "assets").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == "connect" and getattr(n.func.value, "id", None) == "duckdb"]
        assert not calls, f"{path.name}:{calls[0].lineno} opens DuckDB directly"


def test_publish_reads_the_build_from_the_writers_resource(published_home, tmp_path):
    """The storage seam: the build database is named once, by the ``duckdb`` resource every writer uses; the
    publish step copies from there too (a DuckLake backend changes the resource, not the publish step)."""
    from assets.publish import _publish
    from pipelines.resources import BuildDatabase, make_resources
    from regiostat.publish.reader import connect

    settings = make_resources(published_home)["settings"]
    elsewhere = tmp_path / "catalog" / "build.duckdb"
    elsewhere.parent.mkdir()
    shutil.move(settings.build_db, elsewhere)  # nothing left where settings.build_db points
    database = BuildDatabase(database=str(elsewhere), lock_path=str(settings.lock_path))
    result = _publish(dg.build_asset_context(), settings, database)
    assert result.metadata["fact_rows"] > 0
    assert not Path(settings.build_db).exists()
    con = connect(settings.publish_path)
    try:
        (build_id,) = con.execute("SELECT build_id FROM meta.build_info").fetchone()
    finally:
        con.close()
    with database.get_connection() as build:
        assert build.execute("SELECT build_id FROM meta.build_info").fetchone() == (build_id,)
