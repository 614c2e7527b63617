"""warehouse.ensure_schema: layers come from warehouse/schema.sql; a changed schema rebuilds them all."""

import duckdb

from regiostat.warehouse import ensure_schema, layers, present_tables
from tests.conftest import PATHS


def test_layers_are_the_schemas_schema_sql_creates():
    assert layers(PATHS.schema_sql.read_text()) == ["raw", "staging", "core", "marts", "reconcile", "meta"]


def test_a_changed_schema_drops_every_layer_and_an_unchanged_one_keeps_them():
    con = duckdb.connect()
    try:
        ensure_schema(con, PATHS.schema_sql)
        strays = {f"{layer}.stray" for layer in ("raw", "staging", "core", "marts", "reconcile")}
        for table in strays:
            con.execute(f"CREATE TABLE {table} (x INTEGER)")
        (fingerprint,), = con.execute("SELECT fingerprint FROM meta.schema_info").fetchall()

        ensure_schema(con, PATHS.schema_sql)  # same schema.sql: nothing dropped
        assert strays <= present_tables(con)

        con.execute("UPDATE meta.schema_info SET fingerprint = 'an older schema.sql'")
        ensure_schema(con, PATHS.schema_sql)  # changed: every layer rebuilt from the DDL
        assert not strays & present_tables(con)
        assert {"core.fact_observation", "meta.build_info", "meta.schema_info"} <= present_tables(con)
        assert con.execute("SELECT fingerprint FROM meta.schema_info").fetchall() == [(fingerprint,)]
    finally:
        con.close()


def test_a_build_database_with_the_older_two_column_schema_info_is_still_recognised():
    con = duckdb.connect()
    try:
        ensure_schema(con, PATHS.schema_sql)
        con.execute("CREATE TABLE core.stray (x INTEGER)")
        con.execute("CREATE OR REPLACE TABLE meta.schema_info AS "
                    "SELECT fingerprint, 2 AS schema_version FROM meta.schema_info")
        ensure_schema(con, PATHS.schema_sql)  # same fingerprint: nothing rebuilt
        assert "core.stray" in present_tables(con)
    finally:
        con.close()


def test_a_new_schema_version_rebuilds_even_when_schema_sql_is_unchanged(monkeypatch):
    from regiostat import warehouse

    con = duckdb.connect()
    try:
        ensure_schema(con, PATHS.schema_sql)
        con.execute("CREATE TABLE marts.region_names (x INTEGER)")  # made by an asset of an older layout
        monkeypatch.setattr(warehouse, "SCHEMA_VERSION", warehouse.SCHEMA_VERSION + 1)
        ensure_schema(con, PATHS.schema_sql)
        assert "marts.region_names" not in present_tables(con)
    finally:
        con.close()
