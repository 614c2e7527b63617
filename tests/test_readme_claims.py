"""The README's table of the seed plans' 26 claims is the result of scripts/seed_claims_table.sql on the bundled
warehouse: regenerate it with scripts/readme_seed_claims.py when the data or the engine change."""

from __future__ import annotations

import duckdb

from tests.conftest import PUBLISHED, REPO

START, END = "<!-- seed-claims-table:start -->", "<!-- seed-claims-table:end -->"


def test_the_readme_claims_table_is_the_query_on_the_bundled_warehouse(built_home):
    sql = (REPO / "scripts" / "seed_claims_table.sql").read_text(encoding="utf-8")
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        rows = [r[0] for r in con.execute(sql).fetchall()]
        verdicts = dict(con.execute("SELECT claim_id, verdict FROM reconcile.verdicts").fetchall())
    finally:
        con.close()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split(START, 1)[1].split(END, 1)[0].strip().splitlines()
    assert block[2:] == rows, "README table is stale: run `uv run regiostat build && uv run python scripts/readme_seed_claims.py`"
    assert len(rows) == len(verdicts) == 26
    # the plan's own figures contradict its 18.100 and its +3.500; the rest is never silently "unverifiable"
    assert verdicts["dtz-2020-industry-jobs-p61"] == verdicts["dtz-2016-2020-jobs-change-p59"] == "contradicted"
    assert set(verdicts.values()) <= {"supported", "contradicted", "proxy", "definition", "unverifiable"}


def test_the_plan_s_industry_figures_stand_beside_sbi_c_employee_jobs_of_its_corop_regions(built_home):
    """Beside 18.100 / 18.300 industry jobs in the four municipalities: SBI C employee jobs of COROP CR08 + CR09 +
    CR10 (the COROP regions they lie in), the same year, with the difference in words."""
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        rows = con.execute("""
            SELECT claim_id, closest_indicator, closest_regions, closest_period, closest_value, difference
            FROM reconcile.verdicts WHERE claim_id IN ('dtz-2020-industry-jobs-p61', 'dtz-2020-industry-jobs-p67')
            ORDER BY claim_id""").fetchall()
        expected = con.execute("""
            SELECT sum(value) FROM core.fact_observation
            WHERE table_id = '83582NED' AND region_code IN ('CR08', 'CR09', 'CR10') AND period_code = '2020JJ00'
              AND dimension_key LIKE '%BedrijfstakkenBranchesSBI2008=307500%'""").fetchall()[0][0]
    finally:
        con.close()
    assert len(rows) == 2
    for _, indicator, regions, period, value, difference in rows:
        assert (indicator, regions, period) == ("cbs_employee_jobs_manufacturing_c", ["CR08", "CR09", "CR10"], "2020")
        assert value == expected
        assert "COROP CR08+CR09+CR10 vs the 4 municipalities of Dutch TechZone" in difference
        assert "excl. self-employed" in difference
