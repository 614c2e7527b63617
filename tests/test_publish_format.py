"""The published warehouse is readable by DuckDB 1.x clients (issue 11 part 3) and holds exactly the build.

DuckDB 1.1 and 1.4 run in isolated environments that uv builds from its cache (``--offline``: the suite
never downloads; ``.ci/run`` fills the cache first). A missing cache FAILS the test with the command
that fills it; it never skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from regiostat.publish.storage import (
    STORAGE_NUMBER,
    STORAGE_VERSION,
    differences,
    in_published_format,
    storage_number,
    write_version,
)
from regiostat.publish.versions import read_catalog, versions_dir
from tests.conftest import PUBLISHED

OLD_READERS = ("duckdb==1.1.*", "duckdb==1.4.*")  # keep in step with .ci/run, which puts them in uv's cache

# Run by each DuckDB: every table and view of the file as (rows, digest of the rows as Python values),
# the column types and comments, the table macro's answer. Equal answers = the same warehouse.
READ_EVERYTHING = r"""
import duckdb, hashlib, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
out = {"version": duckdb.__version__, "relations": {}}
for schema, name in con.execute("SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
                                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall():
    rows = con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
    out["relations"][f"{schema}.{name}"] = [len(rows), hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()]
out["columns"] = con.execute("SELECT list([schema_name, table_name, column_name, data_type, coalesce(comment, '')] "
                             "ORDER BY schema_name, table_name, column_index) FROM duckdb_columns() "
                             "WHERE NOT internal AND database_name = current_database()").fetchone()[0]
out["macro_rows"] = con.execute("SELECT count(*) FROM core.observations_as_known_on(TIMESTAMP '2019-01-01')").fetchone()[0]
print(json.dumps(out))
"""


def _read_everything(python: list[str], path: Path, script: Path) -> dict:
    done = subprocess.run([*python, str(script), str(path)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        if "network was disabled" in done.stderr or "not found in the cache" in done.stderr:
            cache = subprocess.run(["uv", "cache", "dir"], capture_output=True, text=True).stdout.strip()
            spec = python[python.index("--with") + 1]
            pytest.fail(f"uv's cache ({cache or 'uv cache dir'}) has no {spec}; fill it once with network: "
                        f"uv run --no-project --isolated --with '{spec}' python -c pass  (.ci/run does this "
                        f"before pytest)\n{done.stderr.strip()}", pytrace=False)
        raise AssertionError(f"{' '.join(python)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def reference(built_home, tmp_path_factory) -> tuple[Path, dict]:
    """The published file as DuckDB 2.x (this environment) reads it."""
    script = tmp_path_factory.mktemp("read") / "read_everything.py"
    script.write_text(READ_EVERYTHING)
    path = built_home / PUBLISHED
    return script, _read_everything([sys.executable], path, script)


@pytest.mark.parametrize("spec", OLD_READERS)
def test_a_duckdb_1x_client_reads_the_published_file_with_the_same_rows(built_home, reference, spec):
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH: the DuckDB 1.x reader test runs DuckDB 1.x through `uv run --isolated`"
    script, by_duckdb_2 = reference
    python = [uv, "run", "--offline", "--no-project", "--isolated", "--python", sys.executable, "--with", spec,
              "python"]

    by_old = _read_everything(python, built_home / PUBLISHED, script)

    assert by_old["version"].startswith(spec.removeprefix("duckdb==").rstrip("*"))
    assert by_old["relations"] == by_duckdb_2["relations"]
    assert by_old["columns"] == by_duckdb_2["columns"] and by_old["macro_rows"] == by_duckdb_2["macro_rows"] > 0
    assert len(by_old["relations"]) > 30 and by_old["relations"]["core.fact_observation"][0] > 0


def test_published_file_and_versions_carry_the_storage_number_duckdb_1x_reads(built_home):
    published = built_home / PUBLISHED
    version = versions_dir(published) / read_catalog(published).current
    assert storage_number(published) == storage_number(version) == STORAGE_NUMBER == 64
    assert read_catalog(published).record(version.name).storage_version == STORAGE_VERSION
    # the build is written in the published format itself, so publishing copies its bytes
    assert storage_number(built_home / "build" / "regional_build.duckdb") == STORAGE_NUMBER


def test_a_build_in_duckdb_2s_own_format_is_rewritten_for_1x_readers(built_home, tmp_path):
    """A build file made before builds were written in the published format (DuckDB 2.0's own, storage number 999)
    is not copied as it is: the version is rewritten in v1.1.0 and compared with the build table by table."""
    old = tmp_path / "old_build.duckdb"
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(built_home / "build" / "regional_build.duckdb")])
        con.execute("ATTACH ? AS old (STORAGE_VERSION 'v2.0.0')", [str(old)])
        con.execute("COPY FROM DATABASE build TO old")
    finally:
        con.close()
    assert storage_number(old) == 999 and not in_published_format(old)
    write_version(old, tmp_path / "version.duckdb")
    assert storage_number(tmp_path / "version.duckdb") == STORAGE_NUMBER
    assert in_published_format(built_home / "build" / "regional_build.duckdb")


def test_the_published_version_holds_exactly_what_the_build_holds(built_home):
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(built_home / "build" / "regional_build.duckdb")])
        con.execute("ATTACH ? AS published (READ_ONLY)", [str(built_home / PUBLISHED)])
        assert differences(con, "build", "published") == []
    finally:
        con.close()


def test_differences_names_a_changed_value_and_a_changed_comment(built_home, tmp_path):
    copy = tmp_path / "changed.duckdb"
    shutil.copyfile(built_home / PUBLISHED, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE core.fact_observation SET value = -12345.5 WHERE rowid = 7")
    con.execute("COMMENT ON TABLE core.dim_region IS 'rewritten'")
    con.close()
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS a (READ_ONLY)", [str(built_home / PUBLISHED)])
        con.execute("ATTACH ? AS b (READ_ONLY)", [str(copy)])
        found = differences(con, "a", "b")
    finally:
        con.close()
    assert any(d.startswith("tables:") and "rewritten" in d for d in found), found
    assert any(d.startswith("core.fact_observation:") and "same count, different content" in d for d in found)
