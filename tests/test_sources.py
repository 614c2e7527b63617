"""Sources are plugins: a third (synthetic) source needs only its own folder and one registry line; LISA goes
through the one observation model with its reference date, attribution, precision and authority."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.definitions import make_definitions
from regiostat import warehouse
from regiostat.indicators.catalogue import Indicator, Source, load_indicators
from regiostat.indicators.values import indicator_values
from regiostat.landing.zone import LandingEntry
from regiostat.model import staging
from regiostat.model.observations import CODE_COLUMNS, MEASURE_COLUMNS, OBSERVATION_COLUMNS
from regiostat.reconcile.model import SOURCE_AUTHORITY
from regiostat.reconcile.warehouse_claims import observation_claims
from regiostat.regions.aggregate import build_profile
from regiostat.regions.custom import CustomRegion
from regiostat.sources import registry
from regiostat.sources.lisa.capture import export_capture
from regiostat.sources.lisa.names import municipality_lookup_from_codes
from regiostat.sources.lisa.reader import read_lisa_export
from tests.conftest import BUNDLED_LISA, PATHS
from tests.fixtures.synthetic_source.source import MUNICIPALITIES, YEARS, SyntheticSource, generate

CODES = Path(__file__).parent / "fixtures" / "cbs_recordings" / "api-samples" / "v4_datasets.cbs.nl" / "03759ned"
STEPS = ["landing/synthetic_widgets", "raw/synthetic_widgets", "staging/observations", "core/dim_region",
         "core/dim_period", "core/fact_observation"]


def _generated() -> dict[tuple[str, int], float]:
    rows = [line.split(",") for line in generate().decode().splitlines()[2:]]
    return {(code, int(year)): float(value) for code, year, value in rows}


def test_a_third_source_needs_its_folder_and_one_registry_line(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "SOURCES", [*registry.SOURCES, SyntheticSource()])  # the one registry line
    defs = make_definitions(tmp_path)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"landing/synthetic_widgets", "raw/synthetic_widgets"} <= keys
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=[dg.AssetKey.from_user_string(s) for s in STEPS],
                                    instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert "raw/synthetic_widgets" in {c.asset_key.to_user_string() for c in checks} and all(c.passed for c in checks)

    con = duckdb.connect(str(tmp_path / "build" / "regional_build.duckdb"), read_only=True)
    try:
        facts = warehouse.facts_with_year(con)
        staged = warehouse.facts_with_year(con, "staging.observations")
    finally:
        con.close()
    mine = facts.filter(pl.col("source_kind") == "synthetic")
    assert {(r["region_code"], r["year"]): r["value"] for r in mine.iter_rows(named=True)} == _generated()
    assert set(mine["attribution"]) == {"SYNTHETIC"} and set(mine["unit"]) == {"aantal"}

    widgets = Indicator("synthetic_widgets", "Widgets", "Widgets", "widgets", "SYNTHETIC test indicator", "sum",
                        sources=(Source(table="SYNTH", measure="widgets"),))
    values = indicator_values({"synthetic_widgets": widgets}, facts)
    assert {(r["region_code"], r["year"]): r["value"] for r in values.iter_rows(named=True)} == _generated()
    region = CustomRegion("four_towns", "Four towns", MUNICIPALITIES)
    profile = build_profile({"synthetic_widgets": widgets}, values, pl.DataFrame(
        schema={"region_code": pl.String, "year": pl.Int64, "target": pl.String}), (region,))
    summed = profile.filter(pl.col("region_code") == "four_towns").sort("year")
    assert summed["value"].to_list() == [sum(v for (_, y), v in _generated().items() if y == year) for year in YEARS]
    assert summed["members_with_data"].to_list() == [4, 4]

    claims, latest = observation_claims({"synthetic_widgets": widgets}, staged)
    assert len(claims) == len(latest) == 8 and {c.source_kind for c in claims} == {"synthetic_register"}
    assert SOURCE_AUTHORITY["synthetic_register"] == 1


def test_sources_state_their_authority_cbs_over_lisa_over_documents():
    assert {k: SOURCE_AUTHORITY[k] for k in ("cbs_table", "lisa_file", "derived", "document")} == {
        "cbs_table": 3, "lisa_file": 2, "derived": 1, "document": 0}


def test_no_lisa_file_needs_no_cbs_code_list(tmp_path, monkeypatch):
    """Live mode with an empty inbox and no CBS RegioS list landed: the LISA steps land and read nothing."""
    monkeypatch.setenv("REGIOSTAT_MODE", "live")
    defs = make_definitions(tmp_path)
    lisa = [defs.resolve_assets_def(dg.AssetKey(["landing", "lisa_exports"])),
            defs.resolve_assets_def(dg.AssetKey(["raw", "lisa_exports"]))]
    result = dg.materialize(lisa, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    meta = result.asset_materializations_for_node("landing__lisa_exports")[0].metadata
    assert (meta["files_landed"].value, meta["files_quarantined"].value) == (0, 0)
    raw = result.asset_materializations_for_node("raw__lisa_exports")[0].metadata
    assert (raw["fetches"].value, raw["rows_observations"].value) == (0, 0)


def test_a_lisa_sector_row_is_a_dimension_with_its_section_reference_date_and_attribution():
    lookup = municipality_lookup_from_codes((CODES / "codes-RegioS.json").read_bytes())
    path = BUNDLED_LISA / "noordenveld_GM1699_werkgelegenheid_sector_2011_2016.csv"
    export = read_lisa_export(path.read_bytes(), path.name, municipalities=lookup)
    entry = LandingEntry(source="lisa_export", table_id="LISA", entity="sector_series", page=1, origin=path.name,
                         fetched_at="2026-01-01T00:00:00Z", sha256="x", path="files/LISA/f/x.csv",
                         media_type="text/csv", fetch_id="f")
    capture = export_capture(export, entry)
    obs = capture.observations
    assert obs.schema == pl.Schema(OBSERVATION_COLUMNS) and capture.measures.schema == pl.Schema(MEASURE_COLUMNS)
    industry = obs.filter(pl.col("other_dims_raw") == "SbiSection=C;Sector=industrie", pl.col("period_raw") == "2016JJ00")
    assert industry.height == 1 and industry["region_raw"].item() == "GM1699"
    assert (industry["reference_date"].item(), industry["attribution"].item()) == (date(2016, 4, 1), "Bron: LISA 2016")
    totals = obs.filter(pl.col("measure_code") == "jobs_total").sort("period_raw")
    assert totals["value_raw"].to_list() == ["11387", "11403", "11265", "10773", "10516", "10549"]
    assert set(totals["other_dims_raw"]) == {""}
    assert capture.codes.schema == pl.Schema(CODE_COLUMNS)
    titles = dict(zip(capture.codes["code_raw"], capture.codes["title"], strict=True))
    assert titles["groot_en_detailhandel_reparatie_van_auto_s"] == "Groot- en detailhandel; reparatie van auto’s"


def _raw_lisa(fetch_id: str, value: str) -> pl.DataFrame:
    return pl.DataFrame([dict(table_id="LISA", fetch_id=fetch_id, source_path=f"files/{fetch_id}.csv", source_row=2,
                              measure_code="jobs_total", region_raw="GM0114", period_raw="2017JJ00",
                              other_dims_raw="", value_raw=value, reference_date=date(2017, 4, 1),
                              attribution="Bron: LISA 2017")], schema=OBSERVATION_COLUMNS)


@pytest.mark.parametrize("fetched_at", [("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),  # same second: order decides
                                        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")])
def test_the_file_landed_last_wins_as_the_ordinary_vintage_rule(fetched_at):
    """Two SYNTHETIC LISA files give Emmen 2017 jobs; the one landed last is the latest vintage."""
    entries = [LandingEntry(source="lisa_export", table_id="LISA", entity="_complete", page=0, origin=f"{f}.csv",
                            fetched_at=at, sha256="", path="", media_type="", fetch_id=f, vintage="2017")
               for f, at in zip(("first", "second"), fetched_at, strict=True)]
    observations = pl.concat([_raw_lisa("first", "1110"), _raw_lisa("second", "2220")])
    measures = pl.DataFrame([dict(table_id="LISA", fetch_id=f, measure_code="jobs_total", measure_id="jobs_total",
                                  title="Banen totaal", unit="aantal", decimals=0, metadata_origin="declared")
                             for f in ("first", "second")], schema=MEASURE_COLUMNS)
    staged = staging.stage_observations(observations, measures, pl.DataFrame(schema=CODE_COLUMNS),
                                        staging.fetch_table(entries, source_kind="lisa"))
    assert staged.filter("is_latest")["value"].to_list() == [2220.0]
    assert set(staged["source_kind"]) == {"lisa"} and staged.height == 2


def test_sum_matching_adds_every_row_of_a_section_and_claims_the_sum_with_each_row_s_precision():
    facts = pl.DataFrame([  # SYNTHETIC: two sector rows of section C and one of F for one municipality
        dict(table_id="LISA", measure_id="jobs_sector", region_code="GM0114", year=2017, period_type="jaar",
             dimension_key=f"SbiSection={s};Sector={code}", value=v, period_status="onbekend", vintage="2017",
             origin="x.csv", source_kind="lisa", is_latest=True, fetch_id="f", source_row=n,
             attribution="Bron: LISA 2017")
        for n, (s, code, v) in enumerate([("C", "industrie", 1110.0), ("C", "energievoorziening", 7.0),
                                          ("F", "bouwnijverheid", 50.0)], start=2)])
    indicators = load_indicators(PATHS.indicators_toml)
    manufacturing = {"lisa_jobs_manufacturing_c": indicators["lisa_jobs_manufacturing_c"]}
    assert indicator_values(manufacturing, facts)["value"].to_list() == [1117.0]
    (claim,), latest = observation_claims(manufacturing, facts)
    # LISA counts ending in 0 are rounded to tens (+-5), others exact: the sum claims 1117 +- 5
    assert (claim.value, claim.low, claim.high) == (1117.0, 1112.0, 1122.0)
    assert claim.precision == "sum of 2 figures: exact count; rounded to 10" and claim.location == "row 2, row 3"
    assert (claim.source, claim.source_kind, latest) == ("LISA x.csv", "lisa_file", {claim.claim_id})
