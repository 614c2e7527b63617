"""Every table the warehouse publishes has a pandera model, found by its name, and passes it; adding a mart is
adding its SQL file and its model, nothing else."""

import shutil

import dagster as dg
import duckdb
import pandera.polars as pa
import pytest

import schemas
from assets.checks import table_checks
from pipelines.definitions import make_definitions
from regiostat import warehouse
from schemas import schema_for, table_schemas
from schemas.validation import validate
from tests.conftest import PATHS, PUBLISHED


def test_every_published_table_has_a_schema_and_passes_it(built_home):
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        published = {t for t in warehouse.present_tables(con) if not t.startswith("meta.")}
        without = sorted(published - set(table_schemas()))
        assert without == [], f"published tables without a pandera model in schemas/: {without}"
        assert set(table_schemas()) == published  # and no model for a table nobody publishes
        for table in sorted(published):
            result = validate(schema_for(table), warehouse.read_table(con, table))
            assert result.passed, result.summary()
    finally:
        con.close()


def test_a_table_without_a_model_stops_the_definitions_naming_it():
    with pytest.raises(KeyError, match="marts.no_such_mart has no pandera model: add one to schemas/marts.py"):
        table_checks(dg.AssetKey(["marts", "no_such_mart"]), ["marts.no_such_mart"])


class TinyMart(pa.DataFrameModel):
    """A mart made up for this test: one row per region."""

    region_code: str = pa.Field(unique=True)

    class Config:
        name = "marts.tiny_mart"


def test_a_new_mart_is_its_sql_file_and_its_model(tmp_path, monkeypatch):
    project = tmp_path / "project"
    for folder in ("config", "warehouse"):
        shutil.copytree(PATHS.root / folder, project / folder)
    (project / "data").symlink_to(PATHS.root / "data")
    (project / "warehouse" / "marts" / "tiny_mart.sql").write_text(
        "-- One row per region with a fact (a test mart).\n"
        "CREATE OR REPLACE TABLE marts.tiny_mart AS SELECT DISTINCT region_code FROM core.fact_observation;\n")
    monkeypatch.setenv("REGIOSTAT_PROJECT_DIR", str(project))
    monkeypatch.setattr(schemas, "table_schemas", lambda: {**table_schemas(), "marts.tiny_mart": TinyMart})
    graph = make_definitions(tmp_path / "home").resolve_asset_graph()
    key = dg.AssetKey(["marts", "tiny_mart"])
    assert graph.get(key).description == "One row per region with a fact (a test mart)."
    assert dg.AssetCheckKey(key, "tiny_mart_schema") in graph.asset_check_keys
    assert key in graph.get(dg.AssetKey(["published", "regional_warehouse"])).parent_keys
