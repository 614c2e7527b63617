"""Reconciliation at national scale: claims built set-based, sums checked set-based, the engine seeing only
what can be decided -- and every one of those shortcuts giving exactly what the whole engine gives."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from regiostat import warehouse
from regiostat.indicators.catalogue import load_indicators
from regiostat.reconcile import engine, run
from regiostat.reconcile.claims_file import load_claims
from regiostat.reconcile.rules import instantiate, load_rules
from regiostat.reconcile.screen import screen
from regiostat.reconcile.warehouse_claims import CLAIM_COLUMNS, _Basis, claims_frame, claims_of, observation_frame
from regiostat.regions.custom import load_region_config
from regiostat.sources import registry
from tests.conftest import PATHS


@pytest.fixture(scope="module")
def bundle(built_home):
    con = duckdb.connect(str(built_home / "build" / "regional_build.duckdb"), read_only=True)
    try:
        staged = warehouse.facts_with_year(con, "staging.observations")
        known = set(warehouse.read_table(con, "core.dim_region")["region_code"])
        parents = warehouse.read_table(con, "core.region_parent")
    finally:
        con.close()
    return staged, known, parents


def test_the_screened_run_decides_exactly_what_the_whole_engine_decides(bundle):
    """Every claim through the engine (as before the screen) against the screened run: the same conflicts, the
    same decisions shown, the same rules listed, while the engine sees a fraction of the claims."""
    staged, known, parents = bundle
    result = run.reconcile_warehouse(PATHS, staged, known, parents)
    indicators = load_indicators(PATHS.indicators_toml)
    regions = load_region_config(PATHS.regions_toml).regions
    custom = {r.id for r in regions}
    documents = load_claims(PATHS.claims_dir, known_indicators=set(indicators), known_regions=known | custom,
                            documents_root=PATHS.documents_dir)
    observed = observation_frame(indicators, staged)
    claims = documents + claims_of(observed)
    rules = instantiate(load_rules(PATHS.rules_toml, indicators=indicators), [c.quantity for c in claims],
                        indicators=indicators, memberships={r.id: r.members for r in regions})
    units = {code: ind.unit for code, ind in indicators.items()}
    whole = engine.reconcile(claims, rules, labels=run.labels(indicators, regions), units=units)

    assert result.engine_claims < len(claims) / 10  # the engine saw under a tenth of the claims
    assert sorted(result.tables["rules"]["rule_id"]) == sorted(r.rule_id for r in rules)
    conflicts = {tuple(c): causes for c, causes in result.tables["conflicts"].select("claim_ids", "causes").iter_rows()}
    assert conflicts == {c.claim_ids: list(c.causes) for c in whole.conflicts}
    shown = {(d.quantity.indicator, d.quantity.region, d.quantity.period): d.sentence
             for d in whole.decisions if run._shown(d, custom)}
    assert dict(((i, r, p), s) for i, r, p, s in result.tables["decisions"].select(
        "indicator", "region", "period", "sentence").iter_rows()) == shown


def test_claims_built_set_based_equal_the_sources_per_row_basis(bundle, monkeypatch):
    """Every claim of the bundle from the sources' claim_columns (expressions) equals the one from their
    per-row claim_basis, the protocol's required method."""
    staged, _, _ = bundle
    indicators = load_indicators(PATHS.indicators_toml)
    fast = observation_frame(indicators, staged)
    original = _Basis.__init__

    def per_row_only(self, plugin, rows):
        original(self, plugin, rows)
        self.exprs, self.per_row = None, plugin.claim_basis(rows)

    monkeypatch.setattr(_Basis, "__init__", per_row_only)
    slow = observation_frame(indicators, staged)
    assert fast.equals(slow)
    assert fast["claim_id"].n_unique() == fast.height > 10_000
    assert set(fast["source_kind"]) == {s.claim_kind for s in registry.sources() if s.name in set(staged["source_kind"])}


def test_sum_checks_set_based_equal_the_rule_instances(bundle):
    """reconcile.sum_checks from one SQL query per template equals the checks computed instance by instance."""
    staged, known, parents = bundle
    checks = run.reconcile_warehouse(PATHS, staged, known, parents).tables["sum_checks"]
    indicators = load_indicators(PATHS.indicators_toml)
    latest = observation_frame(indicators, staged).filter("is_latest")
    by_q = {(r["indicator"], r["region"], r["period"], r["source"]): r for r in latest.iter_rows(named=True)}
    templates = {t.id: t for t in load_rules(PATHS.rules_toml, indicators=indicators)}
    for row in checks.iter_rows(named=True):
        t = templates[row["template"]]
        total = by_q[(t.params["total"], row["region"], row["period"], row["source"])]
        parts = [by_q[(p, row["region"], row["period"], row["source"])] for p in t.params["parts"]]
        assert row["parts_sum"] == pytest.approx(sum(p["value"] for p in parts))
        assert row["total"] == total["value"]
        assert row["rounding_allowance"] == pytest.approx(
            (total["high"] - total["low"]) / 2 + sum((p["high"] - p["low"]) / 2 for p in parts))
    assert {"CBS 70072NED", "CBS 83582NED", "CBS 83583NED"} <= set(checks["source"])
    assert checks.filter(pl.col("source") == "CBS 83582NED").height > 500  # 40 COROP regions x 15 years, less suppressed


def _frame(rows: list[tuple]) -> pl.DataFrame:
    out = [dict(claim_id=f"c{i}", indicator=ind, region=reg, period=per, value=v, low=v - h, high=v + h,
                precision="synthetic", source_kind="cbs_table", source="CBS T", location=None, quote=None,
                vintage=None, status=None, notes=None, is_latest=True) for i, (ind, reg, per, v, h) in enumerate(rows)]
    return pl.DataFrame(out).select(*CLAIM_COLUMNS, "is_latest")


def test_the_screen_sends_a_sum_without_room_to_the_engine_and_keeps_one_with_room_quiet():
    """SBI sections of two COROP regions (synthetic): in CR01 the parts fit the total with room to spare; in CR02
    the total can only be reached at the edge of the parts' rounding, so a bound moves and the engine must see
    it (it decides "edge only"). CR03 has two sources for one total: a quantity with two claims."""
    indicators = load_indicators(PATHS.indicators_toml)
    templates = load_rules(PATHS.rules_toml, indicators=indicators)
    parts = ("cbs_employee_jobs_agriculture_a", "cbs_employee_jobs_industry_bf",
             "cbs_employee_jobs_commercial_services_g_n", "cbs_employee_jobs_public_services_o_u")
    rows = [("cbs_employee_jobs", "CR01", "2020", 1000, 50)] + [(p, "CR01", "2020", 250, 50) for p in parts]
    rows += [("cbs_employee_jobs", "CR02", "2020", 1230, 50)] + [(p, "CR02", "2020", 250, 50) for p in parts]
    rows += [("cbs_employee_jobs", "CR03", "2020", 900, 50), ("cbs_employee_jobs", "CR03", "2020", 905, 0.5)]
    frame = _frame(rows)
    result = screen(frame, templates, indicators, custom=set())
    engine_regions = set(result.engine["region"])
    assert engine_regions == {"CR02", "CR03"}
    assert set(result.quiet_rules["rule_id"]) == {"sbi_sections_sum[CR01,2020]"}
    (row,) = result.quiet_rules.to_dicts()
    assert row["target"] == "cbs_employee_jobs[CR01, 2020]" and len(row["inputs"]) == 4
    cr02 = claims_of(frame.filter(pl.col("region") == "CR02"))
    decided = engine.decide(cr02, instantiate(templates, [c.quantity for c in cr02], indicators=indicators))
    assert {d.quantity.indicator for d in decided if d.edge_only} == {"cbs_employee_jobs", *parts}  # as foreseen
    assert claims_frame([]).columns == list(CLAIM_COLUMNS)


def test_every_column_of_the_reconcile_tables_has_a_real_type(built_home, bundle):
    """List columns are VARCHAR[] in the warehouse, never "NULL"[] (an empty list read without a schema), also
    when a run has nothing to say (no conflicts, no observations)."""
    import regiostat
    from tests.conftest import PUBLISHED

    con = regiostat.connect(built_home / PUBLISHED)
    try:
        types = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = 'reconcile'").fetchall()
    finally:
        con.close()
    assert {t for t, _, _ in types} == set(run.TABLES)
    assert not [(t, c, d) for t, c, d in types if "NULL" in d]
    lists = {(t, c): d for t, c, d in types if d.endswith("[]")}
    assert lists[("verdicts", "warnings")] == lists[("decisions", "kept_claims")] == "VARCHAR[]"
    _, known, parents = bundle
    empty = run.reconcile_warehouse(PATHS, bundle[0].clear(), known, parents)
    for name, frame in empty.tables.items():
        assert not [c for c, dtype in frame.schema.items() if dtype == pl.Null or dtype == pl.List(pl.Null)], name


def test_reading_only_the_rows_the_claims_need_changes_nothing(built_home, bundle):
    """The asset reads staging.observations through run.rows_read (indicator rows, the CBS four-digit
    evidence, every row of a source claimed row by row): the reconciliation equals the one on every row."""
    staged, known, parents = bundle
    where, params = run.rows_read(PATHS)
    con = duckdb.connect(str(built_home / "build" / "regional_build.duckdb"), read_only=True)
    try:
        narrow = warehouse.facts_with_year(con, "staging.observations", where=where, params=params)
    finally:
        con.close()
    assert 0 < narrow.height < staged.height
    full = run.reconcile_warehouse(PATHS, staged, known, parents).tables
    read = run.reconcile_warehouse(PATHS, narrow, known, parents).tables
    for name in run.TABLES:
        assert read[name].equals(full[name]), name
