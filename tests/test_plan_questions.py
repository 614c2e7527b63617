"""The plans' questions in the README ("The plans' questions"), answered by the bundled warehouse: each
query is read from README.md, run on the session's published warehouse, and must give exactly the rows
printed under it. So the README cannot drift from what the warehouse says, and the answers are tested."""

import re

import duckdb
import pytest

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
_QUESTION = re.compile(r"<!-- plan-question: (\w+) -->\n```sql\n(.*?)```\n```\n(.*?)```", re.S)
QUESTIONS = {name: (sql, output) for name, sql, output in _QUESTION.findall(README)}


def _cell(value) -> str:
    return "NULL" if value is None else str(value)


@pytest.fixture(scope="module")
def warehouse(built_home):
    con = duckdb.connect(str(built_home / "warehouse" / "regional.duckdb"), read_only=True)
    yield con
    con.close()


def test_the_readme_holds_the_three_questions_of_issue_10():
    assert set(QUESTIONS) == {"oost_nederland_sbi_c_share", "benefits_per_1000_2020", "dtz_corop_sbi_c_beside_plan"}


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_each_question_gives_the_rows_the_readme_prints(warehouse, name):
    sql, output = QUESTIONS[name]
    printed = [[c.strip() for c in line.split("|")] for line in output.strip().splitlines()]
    assert [[_cell(v) for v in row] for row in warehouse.execute(sql).fetchall()] == printed


def test_oost_nederland_sbi_c_share_is_complete_in_exactly_the_years_cbs_publishes_every_corop_region(warehouse):
    sql, _ = QUESTIONS["oost_nederland_sbi_c_share"]
    years = [row[0] for row in warehouse.execute(sql).fetchall()]
    published = warehouse.execute("""
        SELECT year FROM marts.regional_profile
        WHERE indicator = 'cbs_employee_jobs_manufacturing_c' AND method = 'published'
          AND region_code IN ('CR10', 'CR11', 'CR12', 'CR13', 'CR14', 'CR15', 'CR16')
        GROUP BY year HAVING count(*) = 7 ORDER BY year""").fetchall()
    assert years == [y for (y,) in published] == [2010, 2011, 2012, 2013, *range(2019, 2025)]


def test_cr08_2020_stays_62200_and_the_country_sums_all_corop_regions_with_extra_regio(warehouse):
    rows = dict(warehouse.execute("""
        SELECT region_code, value FROM marts.regional_profile
        WHERE indicator = 'cbs_employee_jobs' AND year = 2020 AND region_code IN ('CR08', 'NL01')""").fetchall())
    assert rows["CR08"] == 62200.0
    # CR01-CR40 + CR99 as published in the whole 83582NED export: 8,401.7 thousand
    assert rows["NL01"] == 8401700.0
    assert warehouse.execute("SELECT count(*) FROM marts.regional_profile WHERE region_code = 'CR99'").fetchone() == (0,)
