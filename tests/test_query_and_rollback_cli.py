"""`regiostat query` output formats and `regiostat rollback` messages (issue 11 part 5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from regiostat import connect
from regiostat.publish.release import publish
from regiostat.publish.versions import list_versions
from tests.conftest import PUBLISHED

JOBS = ("SELECT region_code, year, employee_jobs FROM marts.jobs_by_sector_region_year WHERE region_code = 'CR08' "
        "AND sector_code = 'T001081' AND year IN (2019, 2020) ORDER BY year")


@pytest.fixture
def home(built_home, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(built_home / "warehouse", target / "warehouse")
    return target


def test_query_writes_csv_json_and_parquet_and_reads_sql_from_a_file(home, tmp_path, capsys):
    assert main(["--home", str(home), "query", "--format", "csv", JOBS]) == 0
    assert capsys.readouterr().out.splitlines() == ["region_code,year,employee_jobs", "CR08,2019,63700.0",
                                                    "CR08,2020,62200.0"]

    sql = tmp_path / "q.sql"
    sql.write_text(JOBS + ";\n")
    assert main(["--home", str(home), "query", "--file", str(sql), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"region_code": "CR08", "year": 2019, "employee_jobs": 63700.0},
                                                   {"region_code": "CR08", "year": 2020, "employee_jobs": 62200.0}]

    out = tmp_path / "result.parquet"
    assert main(["--home", str(home), "query", "--file", str(sql), "--format", "parquet", "--out", str(out)]) == 0
    assert "wrote 2 row(s)" in capsys.readouterr().err
    assert pl.read_parquet(out)["employee_jobs"].to_list() == [63700.0, 62200.0]


def test_query_shows_every_column_on_request(home, capsys):
    wide = "SELECT * FROM marts.regional_profile_wide WHERE region_code = 'CR08' ORDER BY year LIMIT 1"
    con = duckdb.connect(str(home / PUBLISHED), read_only=True)
    columns = [d[0] for d in con.execute(wide).description]
    con.close()
    assert len(columns) > 20

    assert main(["--home", str(home), "query", wide]) == 0
    cut = capsys.readouterr().out
    assert main(["--home", str(home), "query", "--all-columns", wide]) == 0
    full = capsys.readouterr().out
    assert not all(c in cut for c in columns)  # the default view leaves columns out ...
    assert all(c in full for c in columns)  # ... --all-columns shows them all


def test_query_argument_errors_are_one_line_and_exit_2(home, capsys):
    for argv in (["query"], ["query", "SELECT 1", "--file", "q.sql"], ["query", "--format", "parquet", "SELECT 1"],
                 ["query", "--file", "/no/such/file.sql"]):
        assert main(["--home", str(home), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("query: ") and err.count("\n") == 1 and "Traceback" not in err, err


def test_rollback_list_marks_the_current_version_and_follows_a_rollback(home, tmp_path, built_home, capsys):
    published = home / PUBLISHED
    build = tmp_path / "build.duckdb"
    shutil.copyfile(built_home / "build" / "regional_build.duckdb", build)
    con = duckdb.connect(str(build))
    con.execute("UPDATE meta.build_info SET build_id = 'second'")
    con.close()
    publish(build, published)
    first, second = list_versions(published)

    assert main(["--home", str(home), "rollback", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.startswith("*") for line in lines] == [False, True]
    assert lines[1].endswith("(current)") and str(second) in lines[1] and "build second" in lines[1]

    assert main(["--home", str(home), "rollback"]) == 0
    assert capsys.readouterr().out.strip() == f"{published} now holds {first.name}"
    assert main(["--home", str(home), "rollback", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("* ") and lines[0].endswith("(current)") and not lines[1].startswith("*")
    con = connect(published)
    assert con.execute("SELECT build_id FROM meta.build_info").fetchone()[0] != "second"
    con.close()


def test_rollback_without_an_earlier_version_or_with_a_bad_setting_is_one_line_exit_2(home, capsys, monkeypatch):
    assert main(["--home", str(home), "rollback"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rollback: no earlier published version to roll back to") and err.count("\n") == 1

    assert main(["--home", str(home), "rollback", "--version", "regional-19990101T000000000000Z.duckdb"]) == 2
    assert "is not a kept version" in capsys.readouterr().err

    monkeypatch.setenv("REGIOSTAT_MODE", "sideways")
    assert main(["--home", str(home), "rollback"]) == 2
    assert capsys.readouterr().err == "rollback: REGIOSTAT_MODE must be 'bundled' or 'live', got 'sideways'\n"
    with pytest.raises(ValueError, match="sideways"):  # --debug: the traceback, for whoever needs it
        main(["--home", str(home), "--debug", "rollback"])
