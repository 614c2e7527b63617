"""Indicators the bundled data cannot fill, checked on a recorded sample: 84799NED (KWB 2020).

The recording holds the real DataProperties and the NL + municipality rows; CBS had not yet filled
the education and participation columns when it was captured, so those must come out as
NotAvailable, never as zeros.
"""

from pathlib import Path

import polars as pl

from regiostat.indicators.catalogue import load_indicators
from regiostat.indicators.values import indicator_values
from regiostat.landing.zone import LandingZone
from regiostat.model import staging
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.readers import read_capture
from tests.conftest import PATHS

RECORDED = Path(__file__).parent / "fixtures" / "cbs_recordings" / "api-samples" / "v3_statline_bq_tests"


def _land_kwb(tmp_path) -> LandingZone:
    zone = LandingZone(tmp_path)
    common = dict(source="cbs_v3_api", table_id="84799NED", fetch_id="kwb-2020-sample", media_type="text/csv")
    for entity, name in [("DataProperties", "84799NED_DataProperties.csv"),
                         ("TypedDataSet", "84799NED_TypedDataSet_GM_NL_rows_only.csv")]:
        zone.write((RECORDED / name).read_bytes(), entity=entity, origin=name, **common)
    zone.mark_complete("84799NED", "kwb-2020-sample", source="cbs_v3_api", origin="recorded sample", rows=356)
    return zone


def test_kwb_sample_reads_dated_by_its_map_year_and_feeds_the_live_indicators(tmp_path):
    zone = _land_kwb(tmp_path)
    spec = next(s for s in load_catalog(PATHS.tables_toml) if s.id == "84799NED")
    capture = read_capture(zone, zone.pages_of("kwb-2020-sample"), spec)
    entries = [e for e in zone.entries() if e.entity == "_complete"]
    staged = staging.stage_observations(capture.observations, capture.measures, capture.codes,
                                        staging.fetch_table(entries, source_kind="cbs"))
    assert set(staged["period_code"]) == {"2020JJ00"}
    assert "Gemeentenaam_1" not in set(staged["measure_id"])  # text columns are not figures
    emmen = staged.filter(pl.col("region_code") == "GM0114")
    by_measure = {r["measure_id"]: r for r in emmen.iter_rows(named=True)}
    assert by_measure["AantalInwoners_5"]["value"] == 107048  # same as 03759NED Emmen 2020
    assert by_measure["OpleidingsniveauLaag_64"]["value_attribute"] == "NotAvailable"
    assert by_measure["NettoArbeidsparticipatie_67"]["unit"] == "%"

    facts = staged.filter("is_latest").with_columns(pl.lit(2020, pl.Int64).alias("year"),
                                                    pl.lit("jaar").alias("period_type"))
    indicators = load_indicators(PATHS.indicators_toml)
    values = indicator_values({k: indicators[k] for k in ("ww_recipients", "education_low",
                                                          "net_labour_participation")}, facts)
    ww = values.filter(pl.col("indicator") == "ww_recipients", pl.col("region_code") == "GM0114")
    assert ww["value"].to_list() == [1940.0]
    assert values.filter(pl.col("indicator") != "ww_recipients").is_empty()  # empty columns give no figures


def test_potential_labour_force_uses_real_age_codes():
    codes = load_indicators(PATHS.indicators_toml)["potential_labour_force_15_74"].sources[0].sum_over["Leeftijd"]
    assert len(codes) == 60 and codes[0] == "11500" and codes[-1] == "17400"
