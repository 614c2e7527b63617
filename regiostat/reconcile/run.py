"""One reconciliation of the warehouse: every figure as a claim, the rules they obey, what cannot all be
true, a decision per quantity and a verdict per published claim, as the reconcile.* tables.

The claims are every source-backed indicator value in staging (all vintages) and every statement in
config/claims; the rules come from config/rules.toml. ``SUM_CHECK_TEMPLATES`` are the rules whose
instances are parts against a total inside one source, listed one by one in reconcile.sum_checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.indicators.catalogue import load_indicators
from regiostat.paths import ProjectPaths
from regiostat.reconcile import engine
from regiostat.reconcile.claims_file import load_claims
from regiostat.reconcile.consistency import sum_checks
from regiostat.reconcile.model import Claim
from regiostat.reconcile.rules import instantiate, labels, load_rules
from regiostat.reconcile.warehouse_claims import claims_frame, observation_claims
from regiostat.regions.custom import load_region_config

SUM_CHECK_TEMPLATES = {"sbi_sections_sum", "kerncijfers_sections_sum", "lisa_fulltime_parttime"}
TABLES = ("candidates", "rules", "conflicts", "decisions", "verdicts", "sum_checks")  # reconcile.<name>
COUNT_UNITS = {"jobs", "persons", "establishments"}  # indicators counted in whole units

CONFLICT_SCHEMA = {
    "conflict_id": pl.Int64, "claim_ids": pl.List(pl.String), "rule_ids": pl.List(pl.String),
    "indicator": pl.String, "region": pl.String, "period": pl.String, "gap": pl.Float64,
    "causes": pl.List(pl.String), "sources": pl.List(pl.String), "within_one_source": pl.Boolean,
    "in_latest_figures": pl.Boolean, "figures": pl.Int64, "locations": pl.List(pl.String)}
DECISION_SCHEMA = {
    "indicator": pl.String, "region": pl.String, "period": pl.String, "value": pl.Float64,
    "value_low": pl.Float64, "value_high": pl.Float64, "low": pl.Float64, "high": pl.Float64,
    "edge_only": pl.Boolean, "chosen_claim": pl.String, "kept_claims": pl.List(pl.String),
    "rejected_claims": pl.List(pl.String), "rejection_reasons": pl.List(pl.String),
    "causes": pl.List(pl.String), "sentence": pl.String, "warnings": pl.List(pl.String)}
VERDICT_SCHEMA = {
    "claim_id": pl.String, "indicator": pl.String, "region": pl.String, "period": pl.String, "stated": pl.Float64,
    "verdict": pl.String, "low": pl.Float64, "high": pl.Float64, "by_claims": pl.List(pl.String),
    "by_rules": pl.List(pl.String), "gap": pl.Float64, "missing": pl.List(pl.String), "warnings": pl.List(pl.String),
    "sentence": pl.String, "document": pl.String, "location": pl.String, "quote": pl.String}
RULE_SCHEMA = {"rule_id": pl.String, "template": pl.String, "kind": pl.String, "description": pl.String,
               "target": pl.String, "inputs": pl.List(pl.String)}


@dataclass(frozen=True)
class Reconciliation:
    tables: dict[str, pl.DataFrame]  # name in TABLES -> rows
    claims: int
    document_claims: int
    rules: int
    complete: bool  # the conflict search finished (else it was cut short and says so)


def reconcile_warehouse(paths: ProjectPaths, staged: pl.DataFrame, known_regions: set[str]) -> Reconciliation:
    """Reconcile ``staged`` (staging.observations with each period's year and type) against the claims files.

    Raises ClaimsFileError or RuleConfigError naming the file, claim or rule and field when config is malformed.
    """
    indicators = load_indicators(paths.indicators_toml)
    regions = load_region_config(paths.regions_toml).regions
    custom = {r.id for r in regions}
    documents = load_claims(paths.claims_dir, known_indicators=set(indicators), known_regions=known_regions | custom,
                            documents_root=paths.documents_dir, require_documents=True)
    templates = load_rules(paths.rules_toml, indicators=indicators)
    observed, latest = observation_claims(indicators, staged)
    claims = documents + observed
    rules = instantiate(templates, [c.quantity for c in claims], indicators=indicators,
                        memberships={r.id: r.members for r in regions})
    names = labels(indicators, regions)
    counts = {code for code, ind in indicators.items() if ind.unit in COUNT_UNITS}
    result = engine.reconcile(claims, rules, labels=names, counts=counts)
    verdicts = engine.verdicts(claims, rules, result.decisions, labels=names, counts=counts)
    tables = {
        "candidates": claims_frame(claims), "rules": rule_frame(rules),
        "conflicts": conflict_frame(result.conflicts, claims, latest),
        "decisions": decision_frame([d for d in result.decisions if _shown(d, custom)]),
        "verdicts": verdict_frame(verdicts),
        "sum_checks": sum_checks(rules, claims, latest, templates=SUM_CHECK_TEMPLATES),
    }
    return Reconciliation(tables, len(claims), len(documents), len(rules), result.complete)


def _shown(d, custom: set[str]) -> bool:
    """Decisions worth a row: something was rejected, explained or warned about, a custom region, or a document."""
    return bool(d.rejected or d.causes or d.warnings or d.quantity.region in custom
                or any(c.source_kind == "document" for c in d.kept))


def conflict_frame(conflicts, claims: list[Claim], latest: set[str]) -> pl.DataFrame:
    by_id = {c.claim_id: c for c in claims}
    return pl.DataFrame([dict(
        conflict_id=i, claim_ids=list(c.claim_ids), rule_ids=list(c.rule_ids), indicator=c.quantity.indicator,
        region=c.quantity.region, period=c.quantity.period, gap=c.gap, causes=list(c.causes),
        sources=sorted({by_id[x].source for x in c.claim_ids}),
        within_one_source=len({(by_id[x].source_kind, by_id[x].source) for x in c.claim_ids}) == 1
        and by_id[c.claim_ids[0]].source_kind != "document",
        in_latest_figures=all(x in latest for x in c.claim_ids), figures=c.figures or len(c.claim_ids),
        locations=[f"{x}: {by_id[x].location}" for x in c.claim_ids if by_id[x].location],
    ) for i, c in enumerate(conflicts, start=1)], schema=CONFLICT_SCHEMA)


def decision_frame(decisions) -> pl.DataFrame:
    return pl.DataFrame([dict(
        indicator=d.quantity.indicator, region=d.quantity.region, period=d.quantity.period, value=d.value,
        value_low=d.chosen.low if d.chosen else None, value_high=d.chosen.high if d.chosen else None,
        low=d.interval[0], high=d.interval[1], edge_only=d.edge_only,
        chosen_claim=d.chosen.claim_id if d.chosen else None,
        kept_claims=[c.claim_id for c in d.kept], rejected_claims=[r.claim.claim_id for r in d.rejected],
        rejection_reasons=[r.reason for r in d.rejected], causes=list(d.causes), sentence=d.sentence,
        warnings=list(d.warnings),
    ) for d in decisions], schema=DECISION_SCHEMA)


def verdict_frame(verdicts) -> pl.DataFrame:
    return pl.DataFrame([dict(
        claim_id=v.claim.claim_id, indicator=v.claim.quantity.indicator, region=v.claim.quantity.region,
        period=v.claim.quantity.period, stated=v.claim.value, verdict=v.verdict, low=v.interval[0],
        high=v.interval[1], by_claims=list(v.by_claims), by_rules=list(v.by_rules), gap=v.gap,
        missing=[str(q) for q in v.missing], warnings=list(v.warnings), sentence=v.sentence,
        document=v.claim.source, location=v.claim.location, quote=v.claim.quote,
    ) for v in verdicts], schema=VERDICT_SCHEMA)


def rule_frame(rules) -> pl.DataFrame:
    return pl.DataFrame([dict(rule_id=r.rule_id, template=r.params.get("template"), kind=r.kind,
                              description=r.description, target=str(r.target),
                              inputs=[str(q) for q in r.inputs]) for r in rules], schema=RULE_SCHEMA)


# -- what the checks ask of the tables ---------------------------------------------------------------

def violations_inside_one_source(conflicts: pl.DataFrame, checks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Conflicts inside one source in the figures the marts show (revisions aside), and violated sum checks."""
    bad = conflicts.filter(pl.col("within_one_source"), pl.col("in_latest_figures"),
                           ~pl.col("causes").list.contains("revision"))
    return (bad.select("conflict_id", "sources", "region", "period", "rule_ids", "gap", "claim_ids"),
            checks.filter(pl.col("violation")))


def conflicts_by_cause(conflicts: pl.DataFrame) -> pl.DataFrame:
    """How many sets of figures cannot all be true, per combination of causes, largest first."""
    return (conflicts.group_by("causes").agg(pl.len().alias("conflicts"), pl.col("gap").max().alias("largest_gap"))
            .sort("conflicts", descending=True, maintain_order=True))


def conflicts_summary(by_cause: pl.DataFrame, contradicted: int) -> str:
    causes = ", ".join(f"{r['conflicts']} {'+'.join(r['causes'])}" for r in by_cause.to_dicts())
    return (f"{by_cause['conflicts'].sum()} sets of figures cannot all be true ({causes}); "
            f"{contradicted} published claims contradicted. "
            "See reconcile.conflicts, reconcile.decisions and reconcile.verdicts.")
