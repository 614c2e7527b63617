"""Parts against totals inside one source, every instance listed (not only the violations).

The engine reports what cannot be true; analysts also want to see what was checked and how close
each sum came, e.g. that 83582NED's SBI sections add up to A-U for every COROP region and year.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from regiostat.reconcile.model import Claim, Rule

SUM_CHECK_SCHEMA = {
    "rule_id": pl.String, "template": pl.String, "source": pl.String, "region": pl.String, "period": pl.String,
    "total": pl.Float64, "parts_sum": pl.Float64, "difference": pl.Float64, "rounding_allowance": pl.Float64,
    "excess": pl.Float64, "violation": pl.Boolean,
}


def sum_checks(rules: Sequence[Rule], claims: Sequence[Claim], latest: set[str], *,
               templates: set[str]) -> pl.DataFrame:
    """For each exhaustive sum rule of `templates` whose total and parts all have a latest figure from one
    source: the difference between parts and total, and how much of it rounding can explain."""
    by_quantity: dict[tuple, dict[str, Claim]] = {}
    for c in claims:
        if c.claim_id in latest and c.source_kind != "document":
            by_quantity.setdefault(c.quantity, {})[c.source] = c
    rows = []
    for rule in rules:
        template = rule.params.get("template")
        if rule.kind != "sum" or template not in templates or rule.params.get("exhaustive") == "false":
            continue
        for source, total in by_quantity.get(rule.target, {}).items():
            parts = [by_quantity.get(q, {}).get(source) for q in rule.inputs]
            if any(p is None for p in parts):
                continue
            parts_sum = sum(p.value for p in parts)
            allowance = (total.high - total.low) / 2 + sum((p.high - p.low) / 2 for p in parts)
            difference = parts_sum - total.value
            excess = max(0.0, abs(difference) - allowance)
            rows.append(dict(rule_id=rule.rule_id, template=template, source=source, region=rule.target.region,
                             period=rule.target.period, total=total.value, parts_sum=parts_sum,
                             difference=difference, rounding_allowance=allowance, excess=excess,
                             violation=excess > 1e-9 * max(1.0, abs(total.value))))
    return pl.DataFrame(rows, schema=SUM_CHECK_SCHEMA).sort("source", "region", "period")
