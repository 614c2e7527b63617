"""Config is read strictly: an unknown key anywhere in config/*.toml, a table an indicator needs that no source
lands, a code a table's live filter excludes, or a measure or code its landed metadata lacks stops the run
naming the file, the entry and the key. The three dead indicators of the catalogue before issue 10 (commuting
on a table nobody configured, through a 'role' key the loader dropped; the potential labour force behind a
live filter that fetched only all ages) are caught as they were written."""

import re
import shutil
import sys
from pathlib import Path

import polars as pl
import pytest

from regiostat.configkeys import ConfigError
from regiostat.indicators.catalogue import IndicatorConfigError
from regiostat.paths import ProjectPaths
from regiostat.reconcile.proxies import ProxyConfigError
from regiostat.reconcile.rules import RuleConfigError
from regiostat.regions.custom import RegionConfigError
from regiostat.sources.cbs.catalog import CatalogError
from regiostat.sources.cbs.live_filter import LiveFilterError, admits
from regiostat.wiring import WiringError, check_config, check_landed
from tests.conftest import PATHS

# The entries as they stood in config/indicators.toml and config/tables.toml before issue 10.
OLD_COMMUTERS_OUT = '''
[[indicator]]
code = "commuters_out"
name_nl = "Uitgaande pendel"
name_en = "Out-commuters"
unit = "jobs"
definition = "85481NED home region x work region (live mode)."
aggregation = "sum"
sources = [ { table = "85481NED", measure = "commuting"{role} } ]
'''
OLD_03759NED_FILTER = ("live_filter = \"Geslacht eq 'T001038' and Leeftijd eq '10000' and BurgerlijkeStaat eq "
                       "'T001019' and (startswith(RegioS,'NL') or startswith(RegioS,'PV') or startswith(RegioS,'CR') "
                       "or startswith(RegioS,'GM')) and Perioden ge '2019JJ00'\"")


def _project(tmp_path: Path, edit=None) -> ProjectPaths:
    """A copy of the shipped config (and the bundled manifest the crosswalk source lists), edited in place."""
    shutil.copytree(PATHS.config_dir, tmp_path / "config")
    (tmp_path / "data" / "bundled" / "landing").mkdir(parents=True)
    shutil.copy(PATHS.bundled_landing_dir / "manifest.jsonl", tmp_path / "data" / "bundled" / "landing")
    paths = ProjectPaths(tmp_path)
    if edit:
        edit(paths)
    return paths


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _without_commuting(path: Path) -> str:
    """indicators.toml without today's commuting indicators (and the ratio that refers to them)."""
    blocks = path.read_text().split("\n[[indicator]]\n")
    return "\n[[indicator]]\n".join(b for b in blocks if '"commuters_' not in b)


def test_the_shipped_config_passes():
    tables = check_config(PATHS)
    assert {"85481NED", "81575NED", "84799NED", "LISA"} <= set(tables.live_filters)


def test_dead_indicator_1_the_dropped_role_key_stops_the_run(tmp_path):
    def edit(p):
        p.indicators_toml.write_text(_without_commuting(p.indicators_toml)
                                     + OLD_COMMUTERS_OUT.replace("{role}", ', role = "home_not_work"'))
    with pytest.raises(IndicatorConfigError) as err:
        check_config(_project(tmp_path, edit))
    assert re.search(r"indicators\.toml: indicator 'commuters_out' source 1: unknown key 'role'", str(err.value))


def test_dead_indicator_2_a_table_no_source_lands_stops_the_run(tmp_path):
    def edit(p):
        p.indicators_toml.write_text(_without_commuting(p.indicators_toml)
                                     + OLD_COMMUTERS_OUT.replace("{role}", ""))
        text = p.tables_toml.read_text()
        p.tables_toml.write_text(text[:text.index('[[table]]\nid = "85481NED"')])
    with pytest.raises(WiringError) as err:
        check_config(_project(tmp_path, edit))
    assert (err.value.entry, err.value.key) == ("indicator 'commuters_out' source 1", "table")
    assert err.value.file.endswith("indicators.toml") and "85481NED is not a table any source lands" in str(err.value)


def test_a_switched_off_table_stays_nameable_but_is_neither_landed_nor_built(tmp_path):
    """`enabled = false` is how a subset of the tables runs: indicators may still name the table."""
    from regiostat.sources.cbs.source import CbsSource

    def edit(p):
        _replace(p.tables_toml, 'id = "85481NED"\n', 'id = "85481NED"\nenabled = false\n')
    paths = _project(tmp_path, edit)
    assert "85481NED" in check_config(paths).live_filters
    assert "cbs_85481ned" not in {f.name for f in CbsSource().feeds(paths)}
    assert "cbs_85481ned" in {f.name for f in CbsSource().feeds(PATHS)}

    _replace(paths.tables_toml, "enabled = false", 'enabled = "no"')
    with pytest.raises(CatalogError, match="table 85481NED: 'enabled' must be true or false"):
        check_config(paths)


def test_dead_indicator_3_codes_the_live_filter_never_fetches_stop_the_run(tmp_path):
    def edit(p):
        text = p.tables_toml.read_text()
        start = text.index("live_filter", text.index('id = "03759NED"'))
        _replace(p.tables_toml, text[start:text.index("\n", start)], OLD_03759NED_FILTER)
    with pytest.raises(WiringError) as err:
        check_config(_project(tmp_path, edit))
    assert (err.value.entry, err.value.key) == ("indicator 'potential_labour_force_15_74' source 1", "dimensions")
    assert "Leeftijd = '11500', Leeftijd = '11600', Leeftijd = '11700' and 57 more excluded" in str(err.value)


@pytest.mark.parametrize(("file", "old", "new", "error", "named"), [
    ("tables_toml", 'title = "Banen van werknemers in december; bedrijfstak (SBI 2008), regio"',
     'titel = "x"', CatalogError, "table 83582NED: unknown key 'titel'"),
    ("tables_toml", 'evidence = "whole persons:', 'source = "x"\nevidence = "whole persons:', CatalogError,
     "table 70072NED declared measure TotaleBevolking: unknown key 'source'"),
    ("tables_toml", 'values = "per_gemeente"', 'values = "per_gemeente"\nprefix = "GM"', CatalogError,
     "table 81575NED derived_json: unknown key 'prefix'"),
    ("indicators_toml", 'code = "population"', 'code = "population"\nweight = 1', IndicatorConfigError,
     "indicator 'population': unknown key 'weight'"),
    ("indicators_toml", 'total = "NL00", direction = "out"', 'total = "NL00", direction = "out", both = true',
     IndicatorConfigError, "indicator 'commuters_out' source 1 flow: unknown key 'both'"),
    ("indicators_toml", 'period = "december", flow = { origin = "WoonregioS", destination = "WerkregioS", '
     'total = "NL00", direction = "out" }', 'period = "monthly", flow = { origin = "WoonregioS", destination = '
     '"WerkregioS", total = "NL00", direction = "out" }', IndicatorConfigError, "key 'period' must be one of"),
    ("regions_toml", 'id = "dutch_techzone"', 'id = "dutch_techzone"\nmembers_extra = ["GM0119"]',
     RegionConfigError, "[[region]] 'dutch_techzone': unknown key 'members_extra'"),
    ("regions_toml", "weight = \"inhabitants\"", "weight = \"inhabitants\"\nyears = [2019]", RegionConfigError,
     "[harmonisation]: unknown key 'years'"),
    ("regions_toml", "[harmonisation]", "[harmonise]\n[harmonisation]", RegionConfigError,
     "top level: unknown key 'harmonise'"),
    ("rules_toml", 'id = "industry_within_bf"\nkind = "sum"', 'id = "industry_within_bf"\nkind = "sum"\nweight = 2',
     RuleConfigError, "rule 'industry_within_bf': field 'weight': unknown field"),
    ("proxies_toml", 'indicator = "lisa_jobs"\nproxy = "cbs_employee_jobs"',
     'indicator = "lisa_jobs"\nproxy = "cbs_employee_jobs"\nweight = 2', ProxyConfigError,
     "[[proxy]] #1: key 'weight': unknown key"),
    ("proxies_toml", 'proxy = "cbs_employee_jobs"', 'proxy = "cbs_employee_jobz"', ProxyConfigError,
     "unknown indicator 'cbs_employee_jobz' (not in indicators.toml)"),
])
def test_an_unknown_key_anywhere_stops_the_run_naming_file_entry_and_key(tmp_path, file, old, new, error, named):
    paths = _project(tmp_path, lambda p: _replace(getattr(p, file), old, new))
    with pytest.raises(error) as err:
        check_config(paths)
    assert isinstance(err.value, ConfigError)
    assert str(getattr(paths, file)) in str(err.value) and named in str(err.value)


def _landed(table: str, measures: list[str], codes: dict[str, list[str]] | None = None):
    m = pl.DataFrame({"table_id": [table] * len(measures), "measure_id": measures})
    rows = [dict(table_id=table, dimension=d, code_raw=c) for d, cs in (codes or {}).items() for c in cs]
    return m, pl.DataFrame(rows, schema={"table_id": pl.String, "dimension": pl.String, "code_raw": pl.String})


def test_a_measure_the_landed_metadata_lacks_stops_the_run():
    """As a live 70072NED fetch would land it: CBS's DataProperties keys carry their table version's suffix."""
    measures, codes = _landed("70072NED", ["TotaalAantalBanen_112", "TotaleBevolking_1"])
    with pytest.raises(WiringError) as err:
        check_landed(PATHS, measures, codes)
    assert err.value.key == "measure" and err.value.entry.startswith("indicator 'population' source 2")
    assert "'TotaleBevolking' is not in the landed metadata of 70072NED" in str(err.value)


def test_a_code_the_landed_code_list_lacks_stops_the_run_and_lisa_columns_are_not_metadata():
    measures, codes = _landed("03759NED", ["M000352"], {"Leeftijd": ["10000", "11500"]})
    lisa = pl.DataFrame({"table_id": ["LISA"], "measure_id": ["jobs_total"]})  # no full-time column landed (yet)
    with pytest.raises(WiringError) as err:
        check_landed(PATHS, pl.concat([measures, lisa]), codes)
    assert err.value.key == "dimensions" and "Leeftijd = '11600'" in str(err.value)
    check_landed(PATHS, lisa, codes.clear())  # LISA's measures are the files' columns, not table metadata


@pytest.mark.parametrize(("live_filter", "dimension", "code", "admitted"), [
    ("substringof('CR', RegioS)", "RegioS", "CR08  ", True),       # v3 keys are padded
    ("substringof('CR', RegioS)", "RegioS", "GM0114", False),
    ("substringof('CR', RegioS) eq true", "RegioS", "GM0114", False),
    ("Geslacht eq 'T001038' and Leeftijd eq '10000'", "Geslacht", "T001038", True),  # Leeftijd unknown here
    ("Geslacht eq 'T001038' or Leeftijd eq '10000'", "Leeftijd", "11500", True),     # the other side may hold
    ("not (Leeftijd ge '11500' and Leeftijd le '17400')", "Leeftijd", "12000", False),
    ("(startswith(RegioS,'NL') or startswith(RegioS,'GM'))", "RegioS", "PV23", False),
    (None, "Leeftijd", "12000", True),
])
def test_live_filter_admits_a_code_unless_the_filter_is_false_whatever_the_other_fields(
        live_filter, dimension, code, admitted):
    assert admits(live_filter, dimension, code) is admitted


def test_a_live_filter_in_unknown_odata_cannot_be_checked_and_says_so():
    with pytest.raises(LiveFilterError, match="unknown operator 'has'"):
        admits("Leeftijd has '10000'", "Leeftijd", "10000")


def test_regiostat_build_stops_before_any_step_naming_file_entry_and_key(tmp_path, monkeypatch, capsys):
    from pipelines.cli import main

    paths = _project(tmp_path / "project", lambda p: _replace(
        p.indicators_toml, 'measure = "M000352", dimensions = { Geslacht = "T001038", Leeftijd = "10000"',
        'measure = "M000352", dimensions = { Geslacht = "T001038", Leeftijd = "99999"'))
    shutil.copytree(PATHS.sql_dir, paths.sql_dir)
    monkeypatch.setenv("REGIOSTAT_PROJECT_DIR", str(paths.root))
    monkeypatch.delitem(sys.modules, "pipelines.definitions", raising=False)  # imported afresh, as by the command
    assert main(["--home", str(tmp_path / "home"), "build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"config error: {paths.indicators_toml}: indicator 'population' source 1: key 'dimensions'")
    assert "Leeftijd = '99999' excluded by the live_filter of 03759NED" in err
    assert not (tmp_path / "home" / "landing").exists()  # nothing was fetched or landed
