"""Reconciliation: every figure (warehouse observation or published claim) as a claim, the rules they obey,
conflicts, a decision per quantity with its reason, and a verdict per published claim."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.checks import preview
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.indicators.catalogue import load_indicators
from regiostat.reconcile import engine
from regiostat.reconcile.claims_file import ClaimsFileError, load_claims
from regiostat.reconcile.consistency import sum_checks
from regiostat.reconcile.rules import RuleConfigError, instantiate, labels, load_rules
from regiostat.reconcile.warehouse_claims import claims_frame, observation_claims
from regiostat.regions.custom import load_region_config

RECONCILIATION = dg.AssetKey(["reconcile", "reconciliation"])
SECTION_RULES = {"sbi_sections_sum", "kerncijfers_sections_sum", "lisa_fulltime_parttime"}


@dg.asset(key=RECONCILIATION, deps=[dg.AssetKey(["staging", "observations"]),
                                    dg.AssetKey(["core", "dim_region"]), dg.AssetKey(["core", "dim_period"]),
                                    dg.AssetKey(["core", "custom_region"])],
          group_name="reconcile", kinds={"duckdb", "python"},
          description="Every CBS and LISA figure (all vintages) and every published claim in config/claims as a "
                      "claim with its precision interval; the rules of config/rules.toml; the minimal conflicts; a "
                      "decided value per quantity with a sentence saying why; a verdict per published claim; and "
                      "violations inside one source beyond rounding (reconcile.* tables).")
def reconciliation(context: dg.AssetExecutionContext, settings: RegiostatSettings,
                   duckdb: DuckDBResource) -> dg.MaterializeResult:
    paths = settings.paths
    indicators = load_indicators(paths.indicators_toml)
    regions = load_region_config(paths.regions_toml).regions
    custom = {r.id for r in regions}
    with duckdb.get_connection() as con:
        staged = warehouse.facts_with_year(con, "staging.observations")
        known = {r for (r,) in con.execute("SELECT region_code FROM core.dim_region").fetchall()}
        try:
            documents = load_claims(paths.claims_dir, known_indicators=set(indicators),
                                    known_regions=known | custom,
                                    documents_root=paths.documents_dir, require_documents=True)
            templates = load_rules(paths.rules_toml, indicators=indicators)
        except (ClaimsFileError, RuleConfigError) as exc:
            raise dg.Failure(str(exc)) from exc
        observed, latest = observation_claims(indicators, staged)
        claims = documents + observed
        rules = instantiate(templates, [c.quantity for c in claims], indicators=indicators,
                            memberships={r.id: r.members for r in regions})
        names = labels(indicators, regions)
        result = engine.reconcile(claims, rules, labels=names)
        verdicts = engine.verdicts(claims, rules, result.decisions, labels=names)
        by_id = {c.claim_id: c for c in claims}

        conflicts = pl.DataFrame([dict(
            conflict_id=i, claim_ids=list(c.claim_ids), rule_ids=list(c.rule_ids), indicator=c.quantity.indicator,
            region=c.quantity.region, period=c.quantity.period, gap=c.gap, causes=list(c.causes),
            sources=sorted({by_id[x].source for x in c.claim_ids}),
            within_one_source=len({(by_id[x].source_kind, by_id[x].source) for x in c.claim_ids}) == 1
            and by_id[c.claim_ids[0]].source_kind != "document",
            in_latest_figures=all(x in latest for x in c.claim_ids),
        ) for i, c in enumerate(result.conflicts, start=1)], schema={
            "conflict_id": pl.Int64, "claim_ids": pl.List(pl.String), "rule_ids": pl.List(pl.String),
            "indicator": pl.String, "region": pl.String, "period": pl.String, "gap": pl.Float64,
            "causes": pl.List(pl.String), "sources": pl.List(pl.String), "within_one_source": pl.Boolean,
            "in_latest_figures": pl.Boolean})
        decisions = pl.DataFrame([dict(
            indicator=d.quantity.indicator, region=d.quantity.region, period=d.quantity.period, value=d.value,
            low=d.interval[0], high=d.interval[1], chosen_claim=d.chosen.claim_id if d.chosen else None,
            kept_claims=[c.claim_id for c in d.kept], rejected_claims=[r.claim.claim_id for r in d.rejected],
            rejection_reasons=[r.reason for r in d.rejected], causes=list(d.causes), sentence=d.sentence,
            warnings=list(d.warnings),
        ) for d in result.decisions if d.rejected or d.causes or d.warnings or d.quantity.region in custom
            or any(c.source_kind == "document" for c in d.kept)], schema={
            "indicator": pl.String, "region": pl.String, "period": pl.String, "value": pl.Float64,
            "low": pl.Float64, "high": pl.Float64, "chosen_claim": pl.String, "kept_claims": pl.List(pl.String),
            "rejected_claims": pl.List(pl.String), "rejection_reasons": pl.List(pl.String),
            "causes": pl.List(pl.String), "sentence": pl.String, "warnings": pl.List(pl.String)})
        verdict_frame = pl.DataFrame([dict(
            claim_id=v.claim.claim_id, indicator=v.claim.quantity.indicator, region=v.claim.quantity.region,
            period=v.claim.quantity.period, stated=v.claim.value, verdict=v.verdict, low=v.interval[0],
            high=v.interval[1], by_claims=list(v.by_claims), by_rules=list(v.by_rules), gap=v.gap,
            missing=[str(q) for q in v.missing], warnings=list(v.warnings), sentence=v.sentence,
            document=v.claim.source, location=v.claim.location, quote=v.claim.quote,
        ) for v in verdicts])
        rule_frame = pl.DataFrame([dict(rule_id=r.rule_id, template=r.params.get("template"), kind=r.kind,
                                        description=r.description, target=str(r.target),
                                        inputs=[str(q) for q in r.inputs]) for r in rules])
        checks = sum_checks(rules, claims, latest, templates=SECTION_RULES)
        con.execute("CREATE SCHEMA IF NOT EXISTS reconcile")
        for name, frame in [("candidates", claims_frame(claims)), ("rules", rule_frame), ("conflicts", conflicts),
                            ("decisions", decisions), ("verdicts", verdict_frame), ("sum_checks", checks)]:
            warehouse.create_table_from(con, f"reconcile.{name}", frame)
    counts = verdict_frame.group_by("verdict").len()
    return dg.MaterializeResult(metadata={
        "claims": len(claims), "document_claims": len(documents), "rules": len(rules),
        "conflicts": conflicts.height, "conflicts_complete": result.complete,
        "verdicts": dg.MetadataValue.json(dict(zip(counts["verdict"], counts["len"], strict=True))),
        "decisions_shown": decisions.height,
        "sum_checks": checks.height, "sum_check_violations": int(checks["violation"].sum()),
        "largest_sum_difference": float(checks["difference"].abs().max() or 0.0),
        "preview": preview(verdict_frame.select("claim_id", "verdict", "sentence")),
    })


@dg.asset_check(asset=RECONCILIATION, name="no_violation_inside_one_source", blocking=True,
                description="ERROR: in the figures the marts show (latest vintages), no CBS or LISA source "
                            "contradicts itself beyond rounding (e.g. SBI sections that do not add up to the total).")
def no_violation_inside_one_source(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad = con.sql("""SELECT conflict_id, sources, region, period, rule_ids, gap, claim_ids
                         FROM reconcile.conflicts WHERE within_one_source AND in_latest_figures
                           AND NOT list_contains(causes, 'revision')""").pl()
        sums = con.sql("SELECT * FROM reconcile.sum_checks WHERE violation").pl()
        superseded = con.execute("SELECT count(*) FROM reconcile.conflicts WHERE within_one_source "
                                 "AND NOT in_latest_figures").fetchall()[0][0]
    return dg.AssetCheckResult(passed=bad.is_empty() and sums.is_empty(), metadata={
        "violations": bad.height, "sum_check_violations": sums.height,
        "violations_in_superseded_vintages": superseded,
        "failure_cases": dg.MetadataValue.json(bad.head(25).to_dicts() + sums.head(25).to_dicts())})


@dg.asset_check(asset=RECONCILIATION, name="conflicts_between_figures",
                description="WARN: figures that cannot all be true (revisions, definitions, published claims that "
                            "the data or each other contradict); see reconcile.conflicts and reconcile.decisions.")
def conflicts_between_figures(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        summary = con.sql("""SELECT causes, count(*) AS conflicts, max(gap) AS largest_gap
                             FROM reconcile.conflicts GROUP BY ALL ORDER BY conflicts DESC""").pl()
        contradicted = con.sql("SELECT claim_id, sentence FROM reconcile.verdicts "
                               "WHERE verdict = 'contradicted'").pl()
    by_cause = ", ".join(f"{r['conflicts']} {'+'.join(r['causes'])}" for r in summary.to_dicts())
    text = (f"{summary['conflicts'].sum()} sets of figures cannot all be true ({by_cause}); "
            f"{contradicted.height} published claims contradicted. "
            "See reconcile.conflicts, reconcile.decisions and reconcile.verdicts.")
    return dg.AssetCheckResult(
        passed=summary.is_empty(), severity=dg.AssetCheckSeverity.WARN,
        metadata={"summary": dg.MetadataValue.text(text), "conflicts_by_cause": dg.MetadataValue.json(
            [{**r, "causes": list(r["causes"])} for r in summary.to_dicts()]),
            "contradicted_claims": dg.MetadataValue.json(contradicted.to_dicts())})


def reconcile_assets() -> list:
    return [reconciliation, no_violation_inside_one_source, conflicts_between_figures]
