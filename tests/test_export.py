"""`regiostat export`: every published table as Parquet or CSV, with a manifest a consumer can check."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from regiostat.publish.export import export_warehouse
from regiostat.warehouse import SCHEMA_VERSION
from tests.conftest import PUBLISHED


@pytest.fixture(scope="module")
def published_tables(built_home) -> dict[str, int]:
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        names = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() UNION ALL "
                            "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for (n,) in names}
    finally:
        con.close()


@pytest.fixture
def home(built_home, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(built_home / "warehouse", target / "warehouse")
    return target


def test_parquet_export_reads_back_in_duckdb_and_polars_with_the_manifests_row_counts(home, tmp_path,
                                                                                     published_tables, capsys):
    out = tmp_path / "export"
    assert main(["--home", str(home), "export", "--out", str(out)]) == 0
    assert "exported" in capsys.readouterr().out

    manifest = json.loads((out / "manifest.json").read_text())
    entries = {t["table"]: t for t in manifest["tables"]}
    assert {t: e["rows"] for t, e in entries.items()} == published_tables  # every table and view, every row
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["format"] == "parquet"
    con = duckdb.connect()
    try:
        for table, entry in entries.items():
            file = out / entry["file"]
            assert entry["schema_version"] == manifest["schema_version"] and entry["columns"]
            assert hashlib.sha256(file.read_bytes()).hexdigest() == entry["sha256"]
            by_duckdb = con.execute("SELECT count(*) FROM read_parquet(?)", [str(file)]).fetchone()[0]
            by_polars = pl.read_parquet(file).height
            assert by_duckdb == by_polars == entry["rows"], table
            assert [c["name"] for c in entry["columns"]] == pl.read_parquet_schema(file).names()
    finally:
        con.close()
    jobs = pl.read_parquet(out / "marts" / "jobs_by_sector_region_year.parquet").filter(
        region_code="CR08", year=2020, sector_code="T001081")
    assert jobs["employee_jobs"].to_list() == [62200.0]  # the README's figure, unchanged by the export


def test_csv_export_of_one_schema_replaces_an_earlier_export_but_never_another_folder(home, tmp_path,
                                                                                    published_tables):
    out = tmp_path / "export"
    export_warehouse(home / PUBLISHED, out)
    summary = export_warehouse(home / PUBLISHED, out, fmt="csv", schemas=["marts"])

    assert {t.table for t in summary.tables} == {t for t in published_tables if t.startswith("marts.")}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        ["manifest.json", *(t.file for t in summary.tables)])  # the earlier Parquet files are gone
    for table in summary.tables:
        assert pl.read_csv(out / table.file, infer_schema=False).height == table.rows == published_tables[table.table]

    mine = tmp_path / "my-documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not an export regiostat wrote"):
        export_warehouse(home / PUBLISHED, mine)
    with pytest.raises(ValueError, match="no such schema in the published warehouse: nope"):
        export_warehouse(home / PUBLISHED, tmp_path / "other", schemas=["nope"])
    assert (mine / "notes.txt").read_text() == "keep me"


def test_export_without_a_warehouse_or_into_a_foreign_folder_is_one_line_and_exit_2(tmp_path, home, capsys):
    assert main(["--home", str(tmp_path / "nothing"), "export", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("export: no published warehouse at") and err.count("\n") == 1
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "a.txt").write_text("x")
    assert main(["--home", str(home), "export", "--out", str(tmp_path / "taken")]) == 2
    assert "is not an export regiostat wrote" in capsys.readouterr().err
