"""staging.is_latest: one latest row per key, chosen by the vintage rule (newest source date, then landed last,
then file, row and measure code), whatever order the rows were written in. The transform finds it with one packed
integer per row; here it is compared with the rule written out as a sort."""

import random

import polars as pl

from regiostat.model import staging
from regiostat.model.observations import CODE_COLUMNS, MEASURE_COLUMNS, OBSERVATION_COLUMNS

KEY = ["table_id", "measure_id", "region_code", "period_code", "dimension_key"]
FETCHES = [  # fetch id, vintage, landed_seq: f2 and f3 share a date (landed order decides), f4 has no date
    ("f1", "2024-01-01T00:00:00", 1), ("f2", "2025-06-01T00:00:00", 2), ("f3", "2025-06-01T00:00:00", 5),
    ("f4", None, 3), ("f5", "2023-01-01T00:00:00", 4)]


def _inputs(seed: int) -> tuple[pl.DataFrame, ...]:
    rng = random.Random(seed)
    rows = []
    for _ in range(400):
        rows.append(dict(
            table_id="T1", fetch_id=rng.choice(FETCHES)[0], source_path=f"files/p{rng.randint(0, 3)}.json",
            source_row=rng.choice([None, rng.randint(-2, 5)]), measure_code=rng.choice(["M1", "M1_2", "M2"]),
            region_raw=rng.choice(["GM0001", "GM0001  ", "CR08"]), period_raw=rng.choice(["2020JJ00", "2021JJ00"]),
            other_dims_raw=rng.choice(["Sex=T1", "Sex=T1 ", "Sex=T2"]), value_raw=str(rng.randint(0, 9)),
            value_attribute_raw=None, reference_date=None, attribution=None))
    rng.shuffle(rows)
    obs = pl.DataFrame(rows, schema=OBSERVATION_COLUMNS)
    # M1 and M1_2 are the same measure (a v3 column suffix): one key, ordered by measure code
    measures = pl.DataFrame([dict(table_id="T1", fetch_id=f, measure_code=code, measure_id=code.split("_")[0],
                                  title=None, unit="aantal", decimals=0, description=None, metadata_origin="cbs")
                             for f, _, _ in FETCHES for code in ("M1", "M1_2", "M2")], schema=MEASURE_COLUMNS)
    fetches = pl.DataFrame([dict(table_id="T1", fetch_id=f, source_format="cbs_v4", origin="x", fetched_at=None,
                                 vintage=v, table_version=None, table_modified=None, rows=0, source_kind="cbs",
                                 landed_seq=seq) for f, v, seq in FETCHES],
                           schema_overrides={"fetched_at": pl.String, "vintage": pl.String, "table_version": pl.String,
                                             "table_modified": pl.String})
    return obs, measures, pl.DataFrame(schema=CODE_COLUMNS), staging.with_as_of(fetches)


def _expected_latest(staged: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    ranked = staged.join(fetches.select("fetch_id", "landed_seq"), on="fetch_id")
    ordered = ranked.sort(["as_of", "landed_seq", "source_path", "source_row", "measure_code"],
                          descending=[True, True, False, False, False], nulls_last=True)
    return ordered.unique(KEY, keep="first", maintain_order=True)


def test_one_latest_row_per_key_by_date_then_landing_then_file_row_and_measure():
    for seed in range(5):
        obs, measures, codes, fetches = _inputs(seed)
        staged = staging.stage_observations(obs, measures, codes, fetches)
        assert staged.height == obs.height
        latest = staged.filter("is_latest")
        assert latest.select(KEY).is_unique().all()
        assert latest.select(KEY).n_unique() == staged.select(KEY).n_unique()
        expected = _expected_latest(staged, fetches)
        columns = [*KEY, "fetch_id", "source_path", "source_row", "measure_code"]
        assert latest.select(columns).sort(columns, nulls_last=True).equals(
            expected.select(columns).sort(columns, nulls_last=True)), seed
