"""Versions, the pointer and regiostat.connect(), on small warehouses (a publish of one takes ~0.2 s)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

import regiostat
from regiostat.publish.release import PublishError, prune_versions, publish, rollback
from regiostat.publish.storage import clone_file, sha256_file
from regiostat.publish.versions import PointerError, list_versions, pointer_path, read_catalog


def _build(path: Path, build_id: str, facts: int = 3) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA core; CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.build_info (build_id VARCHAR, built_at TIMESTAMP, schema_version INTEGER)")
        con.execute("INSERT INTO meta.build_info VALUES (?, TIMESTAMP '2026-01-01', 3)", [build_id])
        con.execute("CREATE TABLE core.dim_region (region_code VARCHAR PRIMARY KEY)")
        con.execute("CREATE TABLE core.dim_period (period_code VARCHAR PRIMARY KEY)")
        con.execute("CREATE TABLE core.fact_observation AS SELECT range AS value FROM range(?)", [facts])
        con.execute("COMMENT ON TABLE core.fact_observation IS 'facts'")
    finally:
        con.close()
    return path


def _build_id(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT build_id FROM meta.build_info").fetchone()[0]


@pytest.fixture
def published(tmp_path) -> Path:
    return tmp_path / "warehouse" / "regional.duckdb"


def test_each_publish_adds_a_read_only_version_the_pointer_names(tmp_path, published):
    for n in range(3):
        result = publish(_build(tmp_path / f"b{n}.duckdb", f"build-{n}"), published, keep=5)
        assert (result.build_id, result.fact_rows, result.repaired) == (f"build-{n}", 3, ())

    versions = list_versions(published)
    catalog = read_catalog(published)
    assert catalog.current == versions[-1].name == result.version_path.name
    assert [v.build_id for v in catalog.versions] == ["build-0", "build-1", "build-2"]
    assert all(sha256_file(f) == catalog.record(f.name).sha256 for f in versions)
    assert all(f.stat().st_mode & 0o777 == 0o444 and f.stat().st_nlink == 1 for f in versions)
    assert sha256_file(published) == catalog.record(catalog.current).sha256
    assert published.stat().st_ino != versions[-1].stat().st_ino  # a copy, never a hard link
    assert json.loads(pointer_path(published).read_text())["current"]["file"] == versions[-1].name
    assert sorted(p.name for p in published.parent.iterdir()) == ["regional.current.json", "regional.duckdb",
                                                                  "versions"]  # no stray candidates


def test_prune_keeps_the_newest_and_never_the_current_version(tmp_path, published):
    for n in range(4):
        publish(_build(tmp_path / f"b{n}.duckdb", f"build-{n}"), published, keep=0)  # 0: keep all
    first, *_, newest = list_versions(published)
    rollback(published, first)
    prune_versions(published, keep=2)

    kept = list_versions(published)
    assert [f.name for f in kept] == [first.name, newest.name]
    assert {v.file for v in read_catalog(published).versions} == {f.name for f in kept}
    assert read_catalog(published).current == first.name


def test_connect_reads_the_pointer_once_and_a_new_connect_sees_a_new_version_in_the_same_process(
        tmp_path, published, monkeypatch):
    publish(_build(tmp_path / "a.duckdb", "build-a"), published)
    old = regiostat.connect(published)
    publish(_build(tmp_path / "b.duckdb", "build-b"), published)
    new = regiostat.connect(published)
    try:
        assert (_build_id(old), _build_id(new)) == ("build-a", "build-b")  # DuckDB's per-path cache does not apply
        assert new.execute("SELECT current_database()").fetchone()[0] == "regional"
        assert new.execute("SELECT count(*) FROM regional.core.fact_observation").fetchone()[0] == 3
        with pytest.raises(duckdb.Error, match="read-only"):
            new.execute("DELETE FROM core.fact_observation")
    finally:
        old.close()
        new.close()
    monkeypatch.chdir(tmp_path)  # the default: ./warehouse/regional.duckdb
    assert regiostat.current_version() == Path("warehouse/versions") / read_catalog(published).current
    con = regiostat.connect()
    assert _build_id(con) == "build-b"
    con.close()


def test_connect_without_a_pointer_opens_the_plain_file_and_names_what_is_missing(tmp_path, published):
    with pytest.raises(FileNotFoundError, match=f"no published warehouse at {published}"):
        regiostat.connect(published)
    published.parent.mkdir(parents=True)
    _build(published, "from-an-older-regiostat")  # a warehouse published before pointers
    con = regiostat.connect(published)
    assert _build_id(con) == "from-an-older-regiostat"
    con.close()

    pointer_path(published).write_text("{not json")
    with pytest.raises(PointerError, match="regional.current.json: not a version pointer"):
        regiostat.connect(published)


def test_rollback_refuses_anything_but_a_kept_version(tmp_path, published):
    publish(_build(tmp_path / "a.duckdb", "build-a"), published)
    with pytest.raises(PublishError, match="no earlier published version to roll back to: .* oldest of the 1 kept"):
        rollback(published)
    stranger = _build(tmp_path / "regional-20990101T000000000000Z.duckdb", "stranger")
    with pytest.raises(PublishError, match="is not a kept version"):
        rollback(published, stranger)


def test_clone_file_makes_an_independent_copy(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(300_000))
    target = tmp_path / "target.bin"
    assert clone_file(source, target) in {"reflink", "copy"}
    assert target.read_bytes() == source.read_bytes() and target.stat().st_ino != source.stat().st_ino
    with open(target, "r+b") as fh:
        fh.write(b"changed")
    assert source.read_bytes()[:7] != b"changed"
