"""`regiostat health` / regiostat.publish.health.check_warehouse on the published warehouse."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from regiostat.publish.health import check_warehouse
from regiostat.publish.storage import sha256_file
from regiostat.publish.versions import read_catalog, versions_dir, write_catalog
from regiostat.warehouse import SCHEMA_VERSION, orphan_codes, present_tables
from tests.conftest import MARTS

PUBLISHED = Path("warehouse") / "regional.duckdb"


@pytest.fixture
def home(built_home: Path, tmp_path: Path) -> Path:
    """A home holding a copy of the session's published warehouse (and its versions/), safe to damage."""
    target = tmp_path / "home"
    shutil.copytree(built_home / "warehouse", target / "warehouse")
    return target


def _alter(path: Path, *statements: str) -> None:
    """Damage the published file AND make it the version the pointer names, as if it had been published
    like that (a change after publishing is a finding of its own, see test_publish_safety)."""
    con = duckdb.connect(str(path))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()
    catalog = read_catalog(path)
    version = versions_dir(path) / catalog.current
    version.chmod(0o644)
    shutil.copyfile(path, version)
    record = replace(catalog.record(catalog.current), sha256=sha256_file(path))
    write_catalog(path, catalog.with_current(record), temp_name=".pointer.tmp")


def _failed(report) -> dict[str, str]:
    return {f.check: f.detail for f in report.findings if not f.ok}


def test_healthy_warehouse_from_a_real_build(home, capsys):
    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS, max_age_hours=24)

    assert report.ok, report.text()
    assert report.schema_version == SCHEMA_VERSION and report.build_id
    assert report.age_hours is not None and 0 <= report.age_hours < 24
    assert report.versions_kept == 1
    required = ["core.fact_observation", "core.dim_region", "core.dim_period", *(f"marts.{m}" for m in MARTS)]
    assert all(report.row_counts[t] > 0 for t in required), report.row_counts
    text = report.text()
    assert "HEALTHY" in text and "fact codes in dimensions" in text and "versions kept: 1" in text

    assert main(["--home", str(home), "health", "--max-age-hours", "24"]) == 0
    assert "HEALTHY" in capsys.readouterr().out


def test_stray_tmp_candidates_next_to_the_file_are_ignored_but_mentioned(home):
    (home / "warehouse" / ".regional.duckdb.20260101T000000000000Z.tmp").write_bytes(b"half a copy")
    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)
    assert report.ok, report.text()
    assert "info  stray publish candidates: 1 .tmp file(s)" in report.text()


@pytest.mark.parametrize(("damage", "check"), [
    ("DROP TABLE marts.jobs_by_sector_region_year", "marts.jobs_by_sector_region_year"),
    ("DROP TABLE core.dim_period", "core.dim_period"),
    ("DELETE FROM core.fact_observation", "core.fact_observation"),
], ids=["missing mart", "missing core table", "empty fact table"])
def test_missing_or_empty_table_is_unhealthy(home, capsys, damage, check):
    _alter(home / PUBLISHED, damage)

    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)

    assert not report.ok and check in _failed(report), report.text()
    assert "UNHEALTHY" in report.text()
    assert main(["--home", str(home), "health"]) == 1
    assert f"FAIL  {check}" in capsys.readouterr().out


def test_fact_codes_missing_from_their_dimension_are_named(home):
    _alter(home / PUBLISHED, "DELETE FROM core.dim_region WHERE region_code = 'CR08'")

    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)

    assert not report.ok
    detail = _failed(report)["fact codes in dimensions"]
    assert "1 region code(s)" in detail and "'CR08'" in detail


def test_wrong_schema_version_is_unhealthy(home, capsys):
    assert not check_warehouse(home / PUBLISHED, expected_marts=MARTS, expected_schema_version=SCHEMA_VERSION + 1).ok
    _alter(home / PUBLISHED, f"UPDATE meta.build_info SET schema_version = {SCHEMA_VERSION + 98}")

    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)

    assert _failed(report) == {"schema version": f"{SCHEMA_VERSION + 98} (this code expects {SCHEMA_VERSION})"}
    assert main(["--home", str(home), "health"]) == 1
    capsys.readouterr()


def test_too_old_only_when_a_limit_is_given(home, capsys):
    built = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=72)
    _alter(home / PUBLISHED, f"UPDATE meta.build_info SET built_at = TIMESTAMP '{built:%Y-%m-%d %H:%M:%S}'")

    assert check_warehouse(home / PUBLISHED, expected_marts=MARTS).ok  # no limit: age is reported, not judged
    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS, max_age_hours=48)
    assert not report.ok and "too old" in _failed(report)["build age"] and 71.9 < report.age_hours < 72.1
    assert check_warehouse(home / PUBLISHED, expected_marts=MARTS, max_age_hours=96).ok

    assert main(["--home", str(home), "health", "--max-age-hours", "48"]) == 1
    assert main(["--home", str(home), "health", "--max-age-hours", "96"]) == 0
    capsys.readouterr()


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["--home", str(tmp_path / "nothing-here"), "health"]) == 2
    err = capsys.readouterr().err
    assert "MISSING" in err and str(tmp_path / "nothing-here" / PUBLISHED) in err
    assert not check_warehouse(tmp_path / "nothing-here" / PUBLISHED, expected_marts=MARTS).ok


def test_a_file_that_is_not_a_duckdb_database_is_unhealthy_not_a_crash(tmp_path, capsys):
    path = tmp_path / "home" / PUBLISHED
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<html>not a database</html>" * 100)

    report = check_warehouse(path, expected_marts=MARTS)

    assert not report.ok and "readable" in _failed(report)
    assert main(["--home", str(tmp_path / "home"), "health"]) == 1
    capsys.readouterr()


def test_health_opens_read_only_and_changes_nothing(home):
    path = home / PUBLISHED
    before = (path.stat().st_mtime_ns, path.stat().st_size, path.read_bytes())
    check_warehouse(path, expected_marts=MARTS)
    assert (path.stat().st_mtime_ns, path.stat().st_size, path.read_bytes()) == before
    assert not list(path.parent.glob("*.wal"))


def test_query_prints_results_and_names_errors_without_a_traceback(home, tmp_path, capsys):
    assert main(["--home", str(home), "query", "SELECT count(*) AS n FROM core.dim_region WHERE region_code = 'NL01'"]) == 0
    assert re.search(r"│\s+1\s+│", capsys.readouterr().out)  # DuckDB's box with the one count

    assert main(["--home", str(home), "query", "SELECT no_such_column FROM core.dim_region"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("query failed: Binder Error") and "no_such_column" in err and "Traceback" not in err

    assert main(["--home", str(tmp_path / "empty"), "query", "SELECT 1"]) == 2
    assert "no published warehouse at" in capsys.readouterr().err


def test_orphan_codes_lists_each_missing_code_with_its_fact_rows():
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA core")
        con.execute("CREATE TABLE core.dim_region AS SELECT * FROM (VALUES ('GM0363')) t(region_code)")
        con.execute("CREATE TABLE core.dim_period AS SELECT * FROM (VALUES ('2020JJ00')) t(period_code)")
        con.execute("CREATE TABLE core.fact_observation AS SELECT * FROM (VALUES ('GM0363', '2020JJ00'), "
                    "('GM9999', '2020JJ00'), ('GM9999', '2021JJ00'), ('GM0363', '2021JJ00')) t(region_code, period_code)")
        assert present_tables(con) >= {"core.dim_region", "core.dim_period", "core.fact_observation"}
        orphans = orphan_codes(con).sort("dimension", "code").to_dicts()
    finally:
        con.close()
    assert orphans == [{"dimension": "period", "code": "2021JJ00", "fact_rows": 2},
                       {"dimension": "region", "code": "GM9999", "fact_rows": 2}]


def test_a_sidecar_beside_the_published_file_is_unhealthy(home, capsys):
    (home / "warehouse" / "regional.duckdb.wal").write_bytes(b"\x00" * 149)  # what a killed writer leaves

    report = check_warehouse(home / PUBLISHED, expected_marts=MARTS)

    assert set(_failed(report)) == {"no sidecar files"}, report.text()
    assert "regional.duckdb.wal (149 bytes)" in _failed(report)["no sidecar files"]
    assert main(["--home", str(home), "health"]) == 1
    assert "FAIL  no sidecar files" in capsys.readouterr().out


def test_a_file_in_duckdb_2_storage_or_hard_linked_is_unhealthy(home, tmp_path):
    published = home / PUBLISHED
    con = duckdb.connect()
    con.execute("ATTACH ? AS src (READ_ONLY)", [str(published)])
    con.execute("ATTACH ? AS new (STORAGE_VERSION 'v2.0.0')", [str(tmp_path / "v2.duckdb")])
    con.execute("COPY FROM DATABASE src TO new")
    con.close()
    shutil.copyfile(tmp_path / "v2.duckdb", published)
    (tmp_path / "link.duckdb").hardlink_to(published)

    failed = _failed(check_warehouse(published, expected_marts=MARTS))

    assert "storage number 999, not 64: DuckDB 1.x readers refuse it" in failed["storage format"]
    assert "2 names (hard links)" in failed["independent file"]


def test_a_pointer_naming_a_missing_or_changed_version_is_unhealthy(home):
    published = home / PUBLISHED
    version = versions_dir(published) / read_catalog(published).current
    version.chmod(0o644)
    with open(version, "r+b") as fh:  # one byte of the kept version flipped, the plain copy intact
        fh.seek(10_000)
        byte = fh.read(1)
        fh.seek(10_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert "changed after it was published" in _failed(check_warehouse(published, expected_marts=MARTS))[
        "version unchanged"]

    version.unlink()
    failed = _failed(check_warehouse(published, expected_marts=MARTS))
    assert failed == {"version pointer": f"names {version.name}, which is missing from versions/"}
