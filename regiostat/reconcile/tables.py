"""The reconcile.* tables as frames, with their column types (list columns typed, never "NULL"[]).

Each builder takes the engine's records (regiostat.reconcile.results, .closest) and gives one table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.reconcile.closest import Closest
from regiostat.reconcile.model import Claim
from regiostat.reconcile.results import Conflict, Decision, Verdict

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
    "sentence": pl.String, "document": pl.String, "location": pl.String, "quote": pl.String,
    "closest_value": pl.Float64, "closest_indicator": pl.String, "closest_regions": pl.List(pl.String),
    "closest_period": pl.String, "closest_table": pl.String, "closest_definition": pl.String,
    "difference": pl.String}
CLOSEST_SCHEMA = {
    "claim_id": pl.String, "rank": pl.Int64, "indicator": pl.String, "regions": pl.List(pl.String),
    "period": pl.String, "value": pl.Float64, "low": pl.Float64, "high": pl.Float64,
    "sources": pl.List(pl.String), "distance": pl.Float64, "same_definition": pl.Boolean,
    "exact_region": pl.Boolean, "same_year": pl.Boolean, "consistent": pl.Boolean, "difference": pl.String}
RULE_SCHEMA = {"rule_id": pl.String, "template": pl.String, "kind": pl.String, "description": pl.String,
               "target": pl.String, "inputs": pl.List(pl.String)}


def conflict_frame(conflicts: Sequence[Conflict], claims: Sequence[Claim], latest: set[str]) -> pl.DataFrame:
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


def decision_frame(decisions: Sequence[Decision]) -> pl.DataFrame:
    return pl.DataFrame([dict(
        indicator=d.quantity.indicator, region=d.quantity.region, period=d.quantity.period, value=d.value,
        value_low=d.chosen.low if d.chosen else None, value_high=d.chosen.high if d.chosen else None,
        low=d.interval[0], high=d.interval[1], edge_only=d.edge_only,
        chosen_claim=d.chosen.claim_id if d.chosen else None,
        kept_claims=[c.claim_id for c in d.kept], rejected_claims=[r.claim.claim_id for r in d.rejected],
        rejection_reasons=[r.reason for r in d.rejected], causes=list(d.causes), sentence=d.sentence,
        warnings=list(d.warnings),
    ) for d in decisions], schema=DECISION_SCHEMA)


def _best(v: Verdict, indicators: Mapping[str, Indicator]) -> dict:
    """The closest_* columns: the best closest real figure of a verdict (all null when there is none)."""
    if not v.closest:
        return dict(closest_value=None, closest_indicator=None, closest_regions=None, closest_period=None,
                    closest_table=None, closest_definition=None, difference=None)
    x: Closest = v.closest[0]
    ind = indicators.get(x.indicator)
    return dict(closest_value=x.value, closest_indicator=x.indicator, closest_regions=list(x.regions),
                closest_period=x.period, closest_table=", ".join(x.sources),
                closest_definition=ind.definition if ind else None, difference=x.difference)


def verdict_frame(verdicts: Sequence[Verdict], indicators: Mapping[str, Indicator] | None = None) -> pl.DataFrame:
    return pl.DataFrame([dict(
        claim_id=v.claim.claim_id, indicator=v.claim.quantity.indicator, region=v.claim.quantity.region,
        period=v.claim.quantity.period, stated=v.claim.value, verdict=v.verdict, low=v.interval[0],
        high=v.interval[1], by_claims=list(v.by_claims), by_rules=list(v.by_rules), gap=v.gap,
        missing=[str(q) for q in v.missing], warnings=list(v.warnings), sentence=v.sentence,
        document=v.claim.source, location=v.claim.location, quote=v.claim.quote, **_best(v, indicators or {}),
    ) for v in verdicts], schema=VERDICT_SCHEMA)


def closest_frame(verdicts: Sequence[Verdict]) -> pl.DataFrame:
    """Every closest real figure kept for every claim, ranked (reconcile.closest_figures)."""
    return pl.DataFrame([dict(
        claim_id=x.claim_id, rank=x.rank, indicator=x.indicator, regions=list(x.regions), period=x.period,
        value=x.value, low=x.low, high=x.high, sources=list(x.sources), distance=x.distance,
        same_definition=x.same_definition, exact_region=x.exact_region, same_year=x.same_year,
        consistent=x.consistent, difference=x.difference,
    ) for v in verdicts for x in v.closest], schema=CLOSEST_SCHEMA)


def rule_frame(rules) -> pl.DataFrame:
    return pl.DataFrame([dict(rule_id=r.rule_id, template=r.params.get("template"), kind=r.kind,
                              description=r.description, target=str(r.target),
                              inputs=[str(q) for q in r.inputs]) for r in rules], schema=RULE_SCHEMA)
