"""Which figures the interval engine must see, decided set-based over every claim of the warehouse.

At national scale almost every figure stands alone: one source, one vintage, in section sums that
add up with room to spare. Such a figure can be neither rejected nor narrowed, so its decision would
be its own figure, unconstrained, and is never shown; the engine, which builds Python objects per
claim and per rule, need not see it. The engine sees instead:

- every quantity whose claims state more than one figure (two sources or vintages that disagree, even
  only in precision), a document's claim, a custom region's or an undated quantity, or a negative figure
  where the quantity cannot be negative ("busy"); claims that all state the same figure and interval
  (the same table fetched twice) are one figure to the engine: nothing to decide between them;
- every quantity of a (region, period) whose rules could narrow or reject a figure: the rules
  instantiate keeps there are not all sums and bands, form a cycle, or share a quantity no source
  gives (its bounds then pass between rules), or a sum's parts and total do not fit with room to
  spare (one step of propagation would move a bound), or a band is left;
- and, by closure in the caller, every claim linked to those through a grounded rule.

Exact, not a heuristic: the rules grounded at one (region, period) depend only on which indicators
are claimed there, so each distinct set of claimed indicators is grounded and pruned once by
regiostat.reconcile.rules.instantiate itself (on a stand-in region), and its rule instances are
reproduced set-based for every (region, period) with that set. When those rules form a tree in which
no bound moves in one step, propagation's fixpoint is the claims' own intervals: nothing to decide.
The quiet groups' rule instances still appear in reconcile.rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.reconcile.model import CHANGE_PREFIX, UNMAPPED_PREFIX, Quantity, Rule
from regiostat.reconcile.propagation import ConstraintNetwork
from regiostat.reconcile.rules import RuleTemplate, instantiate
from regiostat.reconcile.search import is_tree

STAND_IN = ("~region", "0000")  # the region and year a set of claimed indicators is grounded on
QKEY = ["indicator", "region", "period"]
RULE_SCHEMA = {"rule_id": pl.String, "template": pl.String, "kind": pl.String, "description": pl.String,
               "target": pl.String, "inputs": pl.List(pl.String)}


@dataclass(frozen=True)
class _Plan:
    """The rules kept for one set of claimed indicators, and whether a one-step check proves them quiet."""

    provable: bool
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Screen:
    engine: pl.DataFrame  # (indicator, region, period) of every quantity the engine must see
    quiet_rules: pl.DataFrame  # the rule instances of the quiet groups, as reconcile.rules rows


def signed_indicators(claims: pl.DataFrame) -> set[str]:
    """Indicators a source publishes negative somewhere (propagation.signed_quantities, set-based)."""
    neg = claims.filter(pl.col("low") < 0, pl.col("source_kind") != "document")
    return set(neg["indicator"].unique())


def _is_signed(indicator: str, signed: set[str]) -> bool:
    return indicator.startswith((CHANGE_PREFIX, UNMAPPED_PREFIX)) or indicator in signed


def _plan(indicators_claimed: Sequence[str], templates: Sequence[RuleTemplate], catalogue: Mapping[str, Indicator],
          signed: set[str]) -> _Plan:
    region, year = STAND_IN
    claimed = {Quantity(i, region, year) for i in indicators_claimed}
    rules = tuple(instantiate(templates, claimed, indicators=catalogue, memberships={}))
    constraints = [r for r in rules if r.kind != "band"]
    if any(r.kind not in ("sum", "band") for r in rules):
        return _Plan(False, rules)
    net = ConstraintNetwork(sorted(claimed | {q for r in rules for q in (r.target, *r.inputs)}), constraints,
                            lambda q: _is_signed(q.indicator, signed))
    unclaimed_use: dict[Quantity, int] = {}
    for r in constraints:
        for q in {r.target, *r.inputs} - claimed:
            unclaimed_use[q] = unclaimed_use.get(q, 0) + 1
    private = all(n == 1 for n in unclaimed_use.values())
    totals_claimed = all(r.target in claimed for r in constraints)
    return _Plan(is_tree(net) and private and totals_claimed, rules)


def _plans(groups: pl.DataFrame, templates, catalogue, signed, known: dict[str, _Plan]) -> dict[str, _Plan]:
    for sig in groups["signature"].unique().to_list():
        if sig not in known:
            known[sig] = _plan(sig.split("|") if sig else [], templates, catalogue, signed)
    return known


def _members(plans: Mapping[str, _Plan], signed: set[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row per kept rule of a provable plan, one row per member of each such rule) for the joins."""
    rules, members = [], []
    region, year = STAND_IN
    for sig, plan in plans.items():
        if not plan.provable:
            continue
        for r in plan.rules:
            key = f"{sig}#{r.rule_id}"
            low, high = r.band if r.band else (None, None)
            prefix = r.rule_id.removesuffix(f"[{region},{year}]")
            rules.append(dict(signature=sig, rule_key=key, kind=r.kind, prefix=prefix,
                              template=r.params.get("template"), description=r.description,
                              target=r.target.indicator, inputs=[q.indicator for q in r.inputs], lower=low, upper=high))
            roles = [(r.target.indicator, "total")] + [(q.indicator, "part") for q in r.inputs]
            if r.kind == "sum" and r.params.get("exhaustive") == "false":
                roles.append(("~rest", "part"))
            members += [dict(rule_key=key, indicator=i, role=role, signed=_is_signed(i, signed)) for i, role in roles]
    rule_schema = {"signature": pl.String, "rule_key": pl.String, "kind": pl.String, "prefix": pl.String,
                   "template": pl.String, "description": pl.String, "target": pl.String,
                   "inputs": pl.List(pl.String), "lower": pl.Float64, "upper": pl.Float64}
    member_schema = {"rule_key": pl.String, "indicator": pl.String, "role": pl.String, "signed": pl.Boolean}
    return pl.DataFrame(rules, schema=rule_schema), pl.DataFrame(members, schema=member_schema)


def _loud_sums(instances: pl.DataFrame, members: pl.DataFrame, single: pl.DataFrame) -> pl.DataFrame:
    """(region, period) of sum instances where one step of propagation would move a claimed bound."""
    m = (instances.filter(pl.col("kind") == "sum").select("region", "period", "rule_key").join(members, on="rule_key")
         .join(single, on=QKEY, how="left")
         .with_columns(pl.col("low").fill_null(pl.when(pl.col("signed")).then(float("-inf")).otherwise(0.0)),
                       pl.col("claimed").fill_null(False),
                       pl.col("high").fill_null(float("inf"))))
    per = m.group_by("region", "period", "rule_key").agg(
        pl.col("low").filter(pl.col("role") == "total").first().alias("tl"),
        pl.col("high").filter(pl.col("role") == "total").first().alias("th"),
        pl.col("low").filter(pl.col("role") == "part").sum().alias("s_lo"),
        pl.col("high").filter(pl.col("role") == "part").sum().alias("s_hi"))
    parts = m.filter(pl.col("role") == "part", pl.col("claimed")).join(per, on=["region", "period", "rule_key"])
    part_moves = parts.filter(((pl.col("tl") - (pl.col("s_hi") - pl.col("high"))) > pl.col("low"))
                              | ((pl.col("th") - (pl.col("s_lo") - pl.col("low"))) < pl.col("high")))
    total_moves = per.filter((pl.col("s_lo") > pl.col("tl")) | (pl.col("s_hi") < pl.col("th")))
    return pl.concat([part_moves.select("region", "period"), total_moves.select("region", "period")])


def _loud_bands(instances: pl.DataFrame, single: pl.DataFrame) -> pl.DataFrame:
    """(region, period) of band instances whose figures leave the band (a warning the engine must write)."""
    b = instances.filter(pl.col("kind") == "band").select("region", "period", "target", "inputs", "lower", "upper")
    a = b.join(single.select("indicator", "region", "period", pl.col("value").alias("va")),
               left_on=["target", "region", "period"], right_on=QKEY)
    a = a.with_columns(pl.col("inputs").list.first().alias("b_ind")).join(
        single.select("indicator", "region", "period", pl.col("value").alias("vb")),
        left_on=["b_ind", "region", "period"], right_on=QKEY)
    ratio = pl.when(pl.col("vb") > 0).then(pl.col("va").clip(lower_bound=0) / pl.col("vb"))
    slack = 1e-9 * pl.max_horizontal(pl.lit(1.0), pl.col("upper").abs())
    out = a.filter((ratio > pl.col("upper") + slack) | (ratio < pl.col("lower") - slack))
    return out.select("region", "period")


def _quiet_rule_rows(instances: pl.DataFrame) -> pl.DataFrame:
    def quantity(ind: pl.Expr) -> pl.Expr:
        return pl.concat_str([ind, pl.lit("["), pl.col("region"), pl.lit(", "), pl.col("period"), pl.lit("]")])

    exploded = instances.select("rule_id", pl.col("inputs"), "region", "period").explode("inputs")
    inputs = (exploded.with_columns(quantity(pl.col("inputs")).alias("q"))
              .group_by("rule_id", maintain_order=True).agg(pl.col("q").alias("inputs")))
    rows = instances.select("rule_id", "template", "kind", "description", quantity(pl.col("target")).alias("target"))
    return rows.join(inputs, on="rule_id", how="left").select(list(RULE_SCHEMA)).cast(RULE_SCHEMA)


def screen(claims: pl.DataFrame, templates: Sequence[RuleTemplate], catalogue: Mapping[str, Indicator],
           custom: Iterable[str], *, signed: set[str] | None = None, plans: dict[str, _Plan] | None = None) -> Screen:
    """Split the claims (a claims frame: CLAIM_COLUMNS, or at least QKEY, value, low, high and source_kind) into
    what the engine must see and the quiet rest.

    Every decision is per (region, period), so the claims can come a group of periods at a time: then ``signed``
    (signed_indicators over ALL claims) must be given, and ``plans`` may carry the plans of earlier groups."""
    signed = signed_indicators(claims) if signed is None else signed
    enabled = [t for t in templates if t.enabled]
    q = claims.group_by(QKEY).agg(
        pl.struct("value", "low", "high").n_unique().alias("n"),
        (pl.col("source_kind") == "document").any().alias("doc"),
        pl.col("value").first(), pl.col("low").first(), pl.col("high").first())
    unsigned_negative = (pl.col("low") < 0) & ~pl.col("indicator").is_in(sorted(signed)) & \
        ~pl.col("indicator").str.starts_with(CHANGE_PREFIX) & ~pl.col("indicator").str.starts_with(UNMAPPED_PREFIX)
    busy = (pl.col("n") > 1) | pl.col("doc") | ~pl.col("period").str.contains(r"^\d{4}$") \
        | pl.col("region").is_in(sorted(set(custom))) | unsigned_negative
    busy_q = q.filter(busy).select(QKEY)
    single = q.filter(~busy).select(*QKEY, "value", "low", "high", pl.lit(True).alias("claimed"))
    groups = (single.group_by("region", "period")
              .agg(pl.col("indicator").sort().str.join("|").alias("signature"))
              .join(busy_q.select("region", "period").unique(), on=["region", "period"], how="anti"))
    plans = _plans(groups, enabled, catalogue, signed, {} if plans is None else plans)
    rules, members = _members(plans, signed)
    provable = groups.filter(pl.col("signature").is_in([s for s, p in plans.items() if p.provable]))
    instances = provable.join(rules, on="signature").with_columns(
        pl.concat_str([pl.col("prefix"), pl.lit("["), pl.col("region"), pl.lit(","), pl.col("period"), pl.lit("]")])
        .alias("rule_id"))
    loud = pl.concat([_loud_sums(instances, members, single), _loud_bands(instances, single)]).unique()
    quiet = provable.select("region", "period").join(loud, on=["region", "period"], how="anti")
    engine = pl.concat([busy_q, single.select(QKEY).join(quiet, on=["region", "period"], how="anti")]).unique()
    quiet_instances = instances.join(quiet, on=["region", "period"])
    return Screen(engine, _quiet_rule_rows(quiet_instances))
