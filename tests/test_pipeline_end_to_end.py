"""A full materialization on the bundled real data, checked against the source files themselves."""

import csv
import io

import duckdb
import pytest

from tests.conftest import bundled_file, run_full_refresh


@pytest.fixture(scope="module")
def warehouse(built_home):
    con = duckdb.connect(str(built_home / "warehouse" / "regional.duckdb"), read_only=True)
    yield con
    con.close()


def test_cr08_2020_all_sectors_is_62200_with_unit_status_and_source(warehouse):
    rows = warehouse.execute("""
        SELECT value, value_published, unit, period_status, table_id, value_attribute
        FROM core.fact_observation
        WHERE table_id = '83582NED' AND region_code = 'CR08' AND period_code = '2020JJ00'
          AND sector_code = 'T001081'""").fetchall()
    assert rows == [(62200.0, 62.2, "x 1 000", "onbekend", "83582NED", "None")]


def test_netherlands_population_2019_from_v4_capture(warehouse):
    rows = warehouse.execute("""
        SELECT population, period_status, source_table FROM marts.population_by_region_year
        WHERE region_code = 'NL01' AND year = 2019""").fetchall()
    assert rows == [(17282163.0, "definitief", "03759NED")]


def test_every_83582ned_value_matches_the_source_csv(warehouse, bundled_zone):
    text = bundled_file(bundled_zone, "83582NED", "TypedDataSet").decode()
    source = {(r["RegioS"].strip(), r["Perioden"], r["BedrijfstakkenBranchesSBI2008"].strip()):
              r["BanenVanWerknemersInDecember_1"] for r in csv.DictReader(io.StringIO(text))}
    fact = {(r, p, s): v for r, p, s, v in warehouse.execute("""
        SELECT region_code, period_code, sector_code, value FROM core.fact_observation
        WHERE table_id = '83582NED'""").fetchall()}
    assert len(source) == 1680 and fact.keys() == source.keys()
    for key, published in source.items():
        expected = round(float(published) * 1000) if published else None
        assert fact[key] == expected, key


def test_70072ned_municipal_2015_population_matches_statline_export(warehouse):
    rows = dict(warehouse.execute("""
        SELECT region_code, value FROM core.fact_observation
        WHERE table_id = '70072NED' AND measure_id = 'TotaleBevolking' AND period_code = '2015JJ00'
          AND region_code IN ('GM0014', 'GM0017', 'GM0009', 'NL01')""").fetchall())
    # Values as printed in 70072ned_UntypedDataSet_06062018_000805.csv ("  200336", "   18924", "    7452")
    assert rows == {"NL01": 16900726, "GM0014": 200336, "GM0017": 18924, "GM0009": 7452}


def test_codes_of_other_dimensions_are_qualified_and_trimmed(warehouse):
    keys = [k for (k,) in warehouse.execute(
        "SELECT DISTINCT dimension_key FROM core.fact_observation WHERE table_id = '83582NED'").fetchall()]
    assert "BedrijfstakkenBranchesSBI2008=301000" in keys
    assert all(" " not in k for k in keys)
    regions = [r for (r,) in warehouse.execute("SELECT DISTINCT region_code FROM core.fact_observation").fetchall()]
    assert all(r == r.strip() for r in regions)


def test_every_fact_row_has_unit_status_and_provenance(warehouse):
    missing = warehouse.execute("""
        SELECT count(*) FROM core.fact_observation
        WHERE unit IS NULL OR period_status IS NULL OR table_id IS NULL OR fetch_id IS NULL
           OR origin IS NULL OR fetched_at IS NULL""").fetchall()[0][0]
    assert missing == 0


def test_running_twice_leaves_the_same_row_counts(tmp_path):
    def counts(home):
        con = duckdb.connect(str(home / "warehouse" / "regional.duckdb"), read_only=True)
        try:
            tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
            return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0] for s, t in tables}
        finally:
            con.close()

    assert run_full_refresh(tmp_path).success
    first = counts(tmp_path)
    assert run_full_refresh(tmp_path).success
    assert counts(tmp_path) == first
    assert first["core.fact_observation"] > 30_000
    assert len(list((tmp_path / "warehouse" / "versions").iterdir())) == 2
