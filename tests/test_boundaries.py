"""Boundary changes parsed from the real CBS RegioS descriptions of 03759ned, and harmonisation."""

import gzip
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from regiostat.regions.boundaries import load_regios_codes, parse_changes, parse_descriptions
from regiostat.regions.harmonisation import harmonise, harmonise_ratio

HERE = Path(__file__).parent / "fixtures/cbs_recordings/api-samples/v4_datasets.cbs.nl/03759ned"
CODES = HERE / "codes-RegioS.json"


@pytest.fixture(scope="module")
def parsed():
    return parse_descriptions(load_regios_codes(CODES))


@pytest.fixture(scope="module")
def changes(parsed):
    return parsed.changes


@pytest.fixture(scope="module")
def population():
    """Real 'Bevolking op 1 januari' per GM code, 2019-2026, from the recorded 03759ned page."""
    rows = json.loads(gzip.open(HERE / "observations-page-1.json.gz").read())["value"]
    return pl.DataFrame([
        {"region_code": r["RegioS"], "year": int(r["Perioden"][:4]), "value": float(r["Value"])}
        for r in rows
        if r["Measure"] == "M000352" and r["RegioS"].startswith("GM") and r["Value"] is not None
    ])


def event(changes, when, giver, receiver) -> dict:
    rows = changes.filter((pl.col("date") == when) & (pl.col("from_code") == giver) & (pl.col("to_code") == receiver))
    assert rows.height == 1, f"expected exactly one {giver}->{receiver} on {when}, got {rows.height}"
    return rows.row(0, named=True)


def frame(year, values: dict) -> pl.DataFrame:
    return pl.DataFrame({"region_code": list(values), "year": [year] * len(values),
                         "value": [float(v) for v in values.values()]})


def one(result, code, year=None) -> dict:
    rows = result.filter(pl.col("region_code") == code)
    if year is not None:
        rows = rows.filter(pl.col("year") == year)
    assert rows.height == 1
    return rows.row(0, named=True)


# ------------------------------------------------------------------------------------ parsing

def test_haren_and_ten_boer_merge_into_groningen_2019(changes, parsed):
    haren = event(changes, date(2019, 1, 1), "GM0017", "GM0014")
    ten_boer = event(changes, date(2019, 1, 1), "GM0009", "GM0014")
    assert (haren["kind"], haren["hectares"], haren["dwellings"], haren["inhabitants"]) == ("merger", 4537, 9120, 20191)
    assert (ten_boer["kind"], ten_boer["hectares"], ten_boer["dwellings"], ten_boer["inhabitants"]) == (
        "merger", 4531, 3051, 7289)
    assert (haren["from_name"], haren["to_name"]) == ("Haren", "Groningen")
    assert haren["n_sources"] == 2  # described by both Haren and Groningen, kept once
    assert "Opgeheven per 01-01-2019" in haren["text"]
    # Groningen lists itself among the 2019 contributors; that is not an event
    assert changes.filter((pl.col("from_code") == "GM0014") & (pl.col("to_code") == "GM0014")).height == 0
    life = {r["code"]: r for r in parsed.lifetimes.iter_rows(named=True)}
    assert life["GM0017"]["abolished_date"] == life["GM0009"]["abolished_date"] == date(2019, 1, 1)
    assert life["GM0014"]["abolished_date"] is None and life["GM0014"]["begins_before_1830"]
    assert life["GM1901"]["begin_date"] == date(2011, 1, 1)  # Bodegraven-Reeuwijk, "Begindatum 01-01-2011"
    assert life["GM0997"]["abolished_date"] == date(1994, 10, 1)  # CPR: abolished without successor


def test_begin_date_is_the_ontstaan_date_when_one_is_given(parsed):
    life = {r["code"]: r for r in parsed.lifetimes.iter_rows(named=True)}
    # Gooise Meren: "Ontstaan per 01-01-2016, ontvangen van: Bussum, Muiden, Naarden ..." and "Begindatum 01-01-2015"
    assert life["GM1942"]["begin_date"] == date(2016, 1, 1) and not life["GM1942"]["begins_before_1830"]
    assert life["GM0381"]["abolished_date"] == life["GM0424"]["abolished_date"] == date(2016, 1, 1)
    assert life["GM1724"]["begin_date"] == date(1998, 9, 25)  # Bergeijk: only "Begindatum 25-09-1998"
    formed_first = "Begindatum 01-01-2015\nOntstaan per 01-01-2016, ontvangen van:\n- Bussum (GM0381),"
    assert parse_descriptions([("GM1942", "Gooise Meren", formed_first)]).lifetimes["begin_date"].to_list() == [
        date(2016, 1, 1)]  # whatever the order of the lines


def test_haaren_split_over_four_municipalities_2021(changes):
    split = changes.filter((pl.col("from_code") == "GM0788") & (pl.col("date") == date(2021, 1, 1))).sort("to_code")
    assert split["kind"].to_list() == ["split"] * 4
    assert split["to_code"].to_list() == ["GM0757", "GM0824", "GM0855", "GM0865"]
    assert split["inhabitants"].to_list() == [2149, 5827, 1442, 4900]
    assert split["dwellings"].to_list() == [918, 2412, 588, 2085]
    assert split["hectares"].to_list() == [535, 1627, 978, 2630]


def test_real_partial_transfers(changes):
    slochteren = event(changes, date(2017, 1, 1), "GM0040", "GM0014")
    assert (slochteren["kind"], slochteren["hectares"], slochteren["dwellings"], slochteren["inhabitants"]) == (
        "transfer", 1649, 341, 1033)
    ede = event(changes, date(1998, 1, 1), "GM0228", "GM0345")  # the "Over van Ede ... naar Veenendaal" line
    assert (ede["kind"], ede["hectares"], ede["dwellings"], ede["inhabitants"]) == ("transfer", 180, 60, 207)
    assert ede["n_sources"] > 2 and ede["described_at"] == "GM0228"  # province texts repeat it; GM text preferred
    # CR08 says "Coevorden (GM0109) wordt opgeheven", but Coevorden kept its code in 1998: still a transfer
    assert event(changes, date(1998, 1, 1), "GM0109", "GM0118")["kind"] == "transfer"


def test_irregular_number_lines(changes):
    rossum = event(changes, date(1999, 1, 1), "GM0276", "GM0297")  # "... 13 inwoners"
    assert (rossum["kind"], rossum["hectares"], rossum["dwellings"], rossum["inhabitants"]) == ("split", None, None, 13)
    leimuiden = event(changes, date(1990, 1, 1), "GM0358", "GM0549")  # "... 4 hectare met 4 inwoners"
    assert (leimuiden["hectares"], leimuiden["dwellings"], leimuiden["inhabitants"]) == (4, None, 4)
    assert event(changes, date(2025, 1, 1), "GM0828", "GM1721")["hectares"] == pytest.approx(0.17)  # "0,17 hectare"
    gravendeel = event(changes, date(2007, 1, 1), "GM0517", "GM0585")  # "... 1885 hectare 3709 woningen" (no "met")
    assert (gravendeel["kind"], gravendeel["dwellings"], gravendeel["inhabitants"]) == ("merger", 3709, 9035)
    one_each = event(changes, date(1997, 1, 1), "GM0788", "GM0824")  # "1 woning en 1 inwoner"
    assert (one_each["dwellings"], one_each["inhabitants"]) == (1, 1)


def test_code_changing_renames(changes):
    groesbeek = event(changes, date(2016, 1, 1), "GM0241", "GM1945")
    assert (groesbeek["kind"], groesbeek["from_name"], groesbeek["to_name"]) == ("rename", "Groesbeek", "Berg en Dal")
    assert event(changes, date(2006, 5, 19), "GM0240", "GM1586")["kind"] == "rename"  # "Oost Gelre (GM1586),"


def test_every_line_understood_and_counts(parsed, changes):
    assert parsed.unparsed.height == 0, parsed.unparsed
    assert changes.select(pl.struct("date", "from_code", "to_code").is_duplicated().any()).item() is False
    counts = dict(changes.group_by("kind").len().iter_rows())
    assert counts == {"merger": 279, "split": 459, "transfer": 620, "rename": 32}
    # every abolished municipality (but the CPR register) hands its whole territory on that day
    abolished = parsed.lifetimes.filter(pl.col("abolished_date").is_not_null() & (pl.col("code") != "GM0997"))
    handed_on = changes.filter(pl.col("kind").is_in(["merger", "split"])).select(
        pl.col("from_code").alias("code"), pl.col("date").alias("abolished_date"))
    assert abolished.join(handed_on, on=["code", "abolished_date"], how="anti").height == 0
    assert abolished.height > 400


def test_parse_changes_accepts_plain_tuples_and_wrapped_lines():
    text = ("Grenswijziging per 01-01-1998:\n- Over naar West-Nederland (LD03), 489 hectare met 153 woningen en 454\n"
            "inwoners\n... Over van Ede (GM0228) naar Veenendaal (GM0345), 180 hectare met 60\nwoningen en 207 inwoners")
    rows = parse_changes([("LD02", "Oost-Nederland (LD)", text)])
    assert rows.select("from_code", "to_code", "kind", "dwellings", "inhabitants").rows() == [
        ("GM0228", "GM0345", "transfer", 60, 207)]


# ------------------------------------------------------------------------------- harmonising

def test_acceptance_groningen_2015_on_2019_boundaries(changes):
    pop_2015 = frame(2015, {"GM0014": 200336, "GM0017": 18924, "GM0009": 7452})  # real 70072NED
    out = harmonise(pop_2015, changes, target_year=2019)
    assert out["region_code"].to_list() == ["GM0014"]
    groningen = one(out, "GM0014")
    assert groningen["value"] == 226712
    assert groningen["converted"] is True and groningen["method"] == "merger_sum"
    assert groningen["weight"] == 1.0
    assert groningen["contributors"] == ["GM0009", "GM0014", "GM0017"]
    assert groningen["year"] == 2015


def test_date_convention(changes):
    # a change dated 1 January Y is already part of year Y's map
    same_year = harmonise(frame(2019, {"GM0014": 232874}), changes, target_year=2019)
    assert one(same_year, "GM0014")["method"] == "unchanged" and not one(same_year, "GM0014")["converted"]
    assert harmonise(frame(2018, {"GM0017": 19000}), changes, target_year=2019)["region_code"].to_list() == ["GM0014"]
    assert harmonise(frame(2018, {"GM0017": 19000}), changes, target_year=2018)["region_code"].to_list() == ["GM0017"]
    # Rotterdam's transfer to Capelle dated 01-01-2020 is inside the 2020 figures: not applied again
    after = harmonise(frame(2020, {"GM0599": 651157, "GM1621": 62384}), changes, target_year=2021)
    assert after["value"].to_list() == [651157, 62384] and not after["converted"].any()
    # Weesp joined Amsterdam on 24-03-2022: 2022 figures are on the old map, 2023's map includes it
    weesp = frame(2022, {"GM0457": 20766, "GM0363": 882633})
    assert harmonise(weesp, changes, target_year=2022).height == 2
    assert one(harmonise(weesp, changes, target_year=2023), "GM0363")["value"] == 20766 + 882633
    with pytest.raises(ValueError, match="backwards"):
        harmonise(frame(2020, {"GM0014": 1}), changes, target_year=2019)


def test_chains_compose(changes):
    # 's-Gravendeel -> Binnenmaas (2007) -> Hoeksche Waard (2019)
    out = harmonise(frame(2006, {"GM0517": 9000, "GM0585": 19600}), changes, target_year=2019)
    hw = one(out, "GM1963")
    assert out.height == 1 and hw["value"] == 28600 and hw["contributors"] == ["GM0517", "GM0585"]
    assert hw["method"] == "merger_sum"
    assert one(harmonise(frame(2006, {"GM0517": 9000, "GM0585": 19600}), changes, target_year=2010),
               "GM0585")["value"] == 28600
    # Millingen aan de Rijn -> Groesbeek (merger 2015) -> renamed Berg en Dal GM1945 (2016)
    berg_en_dal = one(harmonise(frame(2014, {"GM0265": 5900, "GM0241": 19000}), changes, target_year=2017), "GM1945")
    assert berg_en_dal["value"] == 24900 and berg_en_dal["method"] == "merger_sum+renamed"


def test_split_uses_the_stated_weights(changes, population):
    pop_2020 = population.filter(pl.col("year") == 2020)
    haaren_2020 = one(pop_2020, "GM0788")["value"]
    out = harmonise(pop_2020, changes, target_year=2021)
    assert "GM0788" not in out["region_code"].to_list()
    assert out["value"].sum() == pytest.approx(pop_2020["value"].sum())
    vught = one(out, "GM0865")
    share = 4900 / (2149 + 5827 + 1442 + 4900)
    assert vught["value"] == pytest.approx(one(pop_2020, "GM0865")["value"] + share * haaren_2020)
    assert vught["method"] == "split_weighted" and vught["converted"]
    assert vught["contributors"] == ["GM0788", "GM0865"]
    assert vught["contributor_weights"] == pytest.approx([share, 1.0])
    assert vught["weight"] == pytest.approx(share)
    by_dwellings = one(harmonise(pop_2020, changes, target_year=2021, weight="dwellings"), "GM0865")
    assert by_dwellings["contributor_weights"][0] == pytest.approx(2085 / (918 + 2412 + 588 + 2085))


def test_transfer_weighted_by_inhabitants_moves_the_stated_people(changes, population):
    # Rotterdam gave 2 ha, 8 dwellings, 11 inhabitants to Capelle aan den IJssel on 01-01-2020
    pop = population.filter((pl.col("year") == 2019) & pl.col("region_code").is_in(["GM0599", "GM1621"]))
    rotterdam, capelle = one(pop, "GM0599")["value"], one(pop, "GM1621")["value"]
    out = harmonise(pop, changes, target_year=2020)
    assert one(out, "GM1621")["value"] == pytest.approx(capelle + 11)
    assert one(out, "GM0599")["value"] == pytest.approx(rotterdam - 11)
    assert one(out, "GM0599")["weight"] == pytest.approx(1 - 11 / rotterdam)
    assert one(out, "GM1621")["contributor_weights"] == pytest.approx([11 / rotterdam, 1.0])
    assert {one(out, c)["method"] for c in ("GM0599", "GM1621")} == {"transfer_weighted"}


def test_transfer_of_another_quantity_needs_giver_totals(changes):
    jobs = frame(2019, {"GM0599": 400_000, "GM1621": 30_000})
    totals = pl.DataFrame({"region_code": ["GM0599"], "year": [2019], "total": [644_618]})
    out = harmonise(jobs, changes, target_year=2020, giver_totals=totals)
    moved = 400_000 * 11 / 644_618
    assert one(out, "GM1621")["value"] == pytest.approx(30_000 + moved)
    assert one(out, "GM0599")["value"] == pytest.approx(400_000 - moved)
    with pytest.raises(ValueError, match="giver_totals lacks"):
        harmonise(jobs, changes, target_year=2020, giver_totals=totals.with_columns(year=pl.lit(2018)))


def test_all_municipalities_2019_onto_2026_map(changes, population):
    """Every 2019 municipality lands on exactly the codes CBS publishes for 2026, nothing lost."""
    out = harmonise(population.filter(pl.col("year") == 2019), changes, target_year=2026)
    actual = population.filter(pl.col("year") == 2026)
    assert sorted(out["region_code"]) == sorted(actual["region_code"])
    assert out["value"].sum() == pytest.approx(population.filter(pl.col("year") == 2019)["value"].sum())
    growth = out.join(actual, on="region_code", suffix="_2026").select(pl.col("value_2026") / pl.col("value"))
    assert growth.to_series().is_between(0.9, 1.3).all()  # real growth 2019-2026 ranges 0.97 (GM0353) - 1.26 (GM0627)
    assert one(out, "GM1982")["contributors"] == ["GM0756", "GM0786", "GM0815", "GM1684", "GM1702"]  # Land van Cuijk


def test_unknown_weight_and_bad_input_raise(changes):
    pop = frame(2015, {"GM0014": 1})
    with pytest.raises(ValueError, match="weight must be one of"):
        harmonise(pop, changes, target_year=2019, weight="hectares")
    with pytest.raises(ValueError, match="GM"):
        harmonise(frame(2015, {"PV20": 1}), changes, target_year=2019)


def test_ratio_guard_and_harmonise_ratio(changes):
    share = frame(2015, {"GM0014": 12.5, "GM0017": 20.0}).with_columns(unit=pl.lit("%"))
    with pytest.raises(ValueError, match="harmonise_ratio"):
        harmonise(share, changes, target_year=2019)
    over_65 = frame(2015, {"GM0014": 25_000, "GM0017": 4_000, "GM0009": 1_200})
    pop = frame(2015, {"GM0014": 200336, "GM0017": 18924, "GM0009": 7452})
    ratio = harmonise_ratio(over_65, pop, changes, target_year=2019, scale=100)
    row = one(ratio, "GM0014")
    assert row["value"] == pytest.approx(100 * 30_200 / 226712)
    assert (row["numerator"], row["denominator"], row["converted"]) == (30_200, 226712, True)
