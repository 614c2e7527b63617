"""The contract: every published table and column carries its docs as a COMMENT, warehouse/CONTRACT.md is what
the bundled build gives, and a stable column cannot change without a new SCHEMA_VERSION."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from regiostat.paths import ProjectPaths
from regiostat.publish import contract
from regiostat.publish.docs import DocsError, apply_comments, load_docs
from regiostat.warehouse import SCHEMA_VERSION
from tests.conftest import PATHS, PUBLISHED

LAYERS = "('marts', 'core', 'reconcile')"


def test_every_published_table_and_column_has_a_comment(built_home):
    """The issue's own query, on the PUBLISHED file (the storage v1.1.0 copy), not the build database."""
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        bare = con.execute(f"SELECT count(*) FROM duckdb_columns() WHERE schema_name IN {LAYERS} "
                           "AND comment IS NULL").fetchall()[0][0]
        tables = con.execute(f"SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
                             f"WHERE schema_name IN {LAYERS} UNION ALL SELECT schema_name || '.' || view_name, comment "
                             f"FROM duckdb_views() WHERE NOT internal AND schema_name IN {LAYERS}").fetchall()
        unit = con.execute("SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' "
                           "AND table_name = 'regional_profile_wide' AND column_name = 'bijstand_per_1000'").fetchall()
    finally:
        con.close()
    assert bare == 0
    assert len(tables) >= 20 and [t for t, comment in tables if not comment] == []
    assert unit[0][0].endswith("[unit: per 1,000 inhabitants]")


def test_contract_md_is_what_the_bundled_build_gives(built_home):
    current, problems = contract.of_published(built_home / PUBLISHED, PATHS)
    committed = PATHS.contract_md.read_text(encoding="utf-8") if PATHS.contract_md.is_file() else None
    found = contract.check(current, problems, committed, SCHEMA_VERSION)
    assert not found, "\n".join(found)
    verdicts = next(t for t in current.tables if t.table == "reconcile.verdicts")
    assert verdicts.stable and {c.name: c.type for c in verdicts.columns}["warnings"] == "VARCHAR[]"  # never "NULL"[]


def test_mart_sql_files_hold_no_comment_statements():
    """One home: a mart's descriptions are in the TOML beside its SQL, never in COMMENT ON lines of the SQL."""
    sql_files = [*PATHS.marts_dir.glob("*.sql"), *PATHS.views_dir.glob("*.sql"), PATHS.schema_sql]
    assert [p.name for p in sql_files if "COMMENT ON" in p.read_text(encoding="utf-8").upper()] == []
    assert {f"marts.{p.stem}" for p in [*PATHS.marts_dir.glob("*.sql"), *PATHS.views_dir.glob("*.sql")]} <= set(
        load_docs(PATHS))


# -- a small warehouse of its own: what the check says about each kind of change -----------------------------

CORE_DOCS = """\
["core.facts"]
stable = true
comment = "Facts"

["core.facts".columns]
region_code = "Region"
jobs = { comment = "Jobs", unit = "number of jobs" }
note = { comment = "A note", stable = false }
"""
RECONCILE_DOCS = """\
["reconcile.scratch"]
comment = "Working rows"

["reconcile.scratch".columns]
x = "x"
"""


def _project(tmp_path: Path, core: str = CORE_DOCS) -> ProjectPaths:
    folder = tmp_path / "project" / "warehouse"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "core.toml").write_text(core, encoding="utf-8")
    (folder / "reconcile.toml").write_text(RECONCILE_DOCS, encoding="utf-8")
    return ProjectPaths(tmp_path / "project")


FACTS = "region_code VARCHAR, jobs BIGINT, note VARCHAR"


def _warehouse(tmp_path: Path, name: str, *, version: int = 4, facts: str = FACTS, core_first: bool = False) -> Path:
    path = tmp_path / f"{name}.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA core; CREATE SCHEMA reconcile; CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.build_info (build_id VARCHAR, schema_version INTEGER)")
    con.execute("INSERT INTO meta.build_info VALUES ('b', ?)", [version])
    tables = ["CREATE TABLE reconcile.scratch (x VARCHAR)", f"CREATE TABLE core.facts ({facts})"]
    for statement in reversed(tables) if core_first else tables:
        con.execute(statement)
    con.close()
    return path


def _contract(path: Path, paths: ProjectPaths, *, apply: bool = True) -> tuple[contract.Contract, list[str]]:
    con = duckdb.connect(str(path))
    try:
        if apply:
            apply_comments(con, load_docs(paths))
        return contract.describe(con, load_docs(paths), paths)
    finally:
        con.close()


def test_generation_is_deterministic_and_reads_back(tmp_path):
    paths = _project(tmp_path)
    current, problems = _contract(_warehouse(tmp_path, "a"), paths)
    assert problems == []
    text = contract.render(current)
    assert text == contract.render(_contract(_warehouse(tmp_path, "b", core_first=True), paths)[0])  # sorted, no time
    assert text.index("`core.facts`") < text.index("## Internal tables") < text.index("`reconcile.scratch`")
    assert "| `jobs` | BIGINT | number of jobs | Jobs |" in text and "| `note` (internal) |" in text
    assert contract.parse(text).stable_columns() == current.stable_columns() == {
        "core.facts": {"region_code": "VARCHAR", "jobs": "BIGINT"}}
    assert contract.check(current, problems, text, 4) == []


VACANCIES = 'vacancies = { comment = "Vacancies", unit = "number of vacancies" }\n'


@pytest.mark.parametrize(("facts", "docs", "expected"), [
    ("region_code VARCHAR, jobs DOUBLE, note VARCHAR", CORE_DOCS, "core.facts.jobs: type changed from BIGINT to DOUBLE"),
    (FACTS + ", vacancies BIGINT", CORE_DOCS + VACANCIES, "core.facts.vacancies: stable column added (BIGINT)"),
    ("region_code VARCHAR, note VARCHAR", CORE_DOCS.replace('jobs = { comment = "Jobs", unit = "number of jobs" }\n', ""),
     "core.facts.jobs: stable column removed (or made internal)"),
])
def test_a_stable_column_changed_without_a_version_change_fails(tmp_path, facts, docs, expected):
    committed = contract.render(_contract(_warehouse(tmp_path, "before"), _project(tmp_path / "before"))[0])
    paths = _project(tmp_path, docs)
    current, problems = _contract(_warehouse(tmp_path, "after", facts=facts), paths)
    assert problems == []
    found = contract.check(current, problems, committed, 4)
    assert any(line.startswith(expected) and "bump SCHEMA_VERSION in regiostat/warehouse.py" in line
               for line in found), found
    assert found[-1].startswith("warehouse/CONTRACT.md is not current: regenerate it with "
                                "`uv run regiostat build && uv run regiostat contract`")

    bumped, _ = _contract(_warehouse(tmp_path, "bumped", version=5, facts=facts), paths)
    found = contract.check(bumped, [], committed, 5)  # a new version may change stable columns: regenerate only
    assert len(found) == 1 and found[0].startswith("warehouse/CONTRACT.md is not current"), found
    assert contract.check(bumped, [], contract.render(bumped), 5) == []


def test_an_internal_change_needs_only_regenerating(tmp_path):
    committed = contract.render(_contract(_warehouse(tmp_path, "before"), _project(tmp_path))[0])
    docs = CORE_DOCS + 'extra = { comment = "e", stable = false }\n'
    current, problems = _contract(_warehouse(tmp_path, "after", facts=FACTS + ", extra DOUBLE"),
                                  _project(tmp_path, docs))
    found = contract.check(current, problems, committed, 4)
    assert len(found) == 1 and found[0].startswith("warehouse/CONTRACT.md is not current"), found
    assert "+| `extra` (internal) | DOUBLE |" in found[0]


def test_a_warehouse_of_another_version_than_the_code_fails(tmp_path):
    current, problems = _contract(_warehouse(tmp_path, "old", version=3), _project(tmp_path))
    found = contract.check(current, problems, contract.render(current), 4)
    assert found == ["the warehouse has schema version 3, this code 4: rebuild it first "
                     "(uv run regiostat build && uv run regiostat contract)"]


def test_a_missing_comment_or_missing_docs_names_table_and_column(tmp_path):
    paths = _project(tmp_path)
    _, problems = _contract(_warehouse(tmp_path, "bare"), paths, apply=False)  # docs there, never applied
    assert "core.facts.jobs: missing comment in the warehouse (the publish step applies the docs: rebuild)" in problems
    wider = _warehouse(tmp_path, "wider", facts=FACTS + ", undocumented VARCHAR")
    current, problems = _contract(wider, paths)
    assert problems == ['core.facts.undocumented: no docs (add it under ["core.facts".columns] in warehouse/core.toml)']
    assert contract.check(current, problems, contract.render(current), 4) == problems
    con = duckdb.connect(str(wider))
    try:
        con.execute("COMMENT ON COLUMN core.facts.undocumented IS 'written elsewhere'")
        applied = apply_comments(con, load_docs(paths))  # the docs are the one home: a stray comment goes
        stray = con.execute("SELECT comment FROM duckdb_columns() WHERE column_name = 'undocumented'").fetchall()
    finally:
        con.close()
    assert applied.undocumented == ("core.facts.undocumented",) and stray == [(None,)]


@pytest.mark.parametrize(("file", "text", "message"), [
    ("core.toml", '["core.facts"]\ncomment = "F"\nowner = "me"\n', "core.facts: unknown key 'owner'"),
    ("core.toml", '["core.facts"]\nstable = true\n', "'comment' (what the table holds) is required"),
    ("core.toml", '["marts.facts"]\ncomment = "F"\n', "documents the core layer only, not marts.facts"),
    ("core.toml", '["core.facts"]\ncomment = "F"\n["core.facts".columns]\na = { comment = "A", unit = "" }\n',
     "core.facts.a: 'unit' must be a non-empty text"),
    ("core.toml", '["core.facts"]\ncomment = "F"\n["core.facts".columns]\na = { comment = "A", stable = true }\n',
     "a column of an internal table is internal"),
    ("marts.toml", '["marts.jobs"]\ncomment = "J"\n', "marts.jobs is made by a SQL file: document it in"),
    ("marts/jobs.toml", '["marts.other"]\ncomment = "J"\n', "documents only marts.jobs, which jobs.sql makes"),
    ("marts/orphan.toml", '["marts.orphan"]\ncomment = "O"\n', "documents only marts.orphan, which orphan.sql makes"),
])
def test_docs_are_read_strictly(tmp_path, file, text, message):
    paths = _project(tmp_path)
    (paths.marts_dir).mkdir()
    (paths.marts_dir / "jobs.sql").write_text("CREATE OR REPLACE TABLE marts.jobs AS SELECT 1 AS a;\n")
    (paths.sql_dir / file).write_text(text, encoding="utf-8")
    with pytest.raises(DocsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_docs(paths)


def test_the_contract_command_writes_and_checks(built_home, tmp_path, capsys):
    from pipelines.cli import main

    out = tmp_path / "CONTRACT.md"
    assert main(["--home", str(built_home), "contract", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == PATHS.contract_md.read_text(encoding="utf-8")
    assert main(["--home", str(built_home), "contract", "--check", "--out", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("| `population` | DOUBLE |", "| `population` | BIGINT |"))
    capsys.readouterr()
    assert main(["--home", str(built_home), "contract", "--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "marts.population_by_region_year.population: type changed from BIGINT to DOUBLE" in err
    assert "bump SCHEMA_VERSION" in err
    assert main(["--home", str(tmp_path / "empty"), "contract", "--check"]) == 2  # nothing published: one line
