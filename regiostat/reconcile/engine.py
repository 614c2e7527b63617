"""The reconciliation engine: which claims can be true together, which cannot, what we hold and why.

Pure Python; no Dagster, no DuckDB. Everything is computed from claims (model.Claim) and grounded
rules (model.Rule, from rules.instantiate). This module only orchestrates; each step has its module:

  claims, rules --> search.components --(per component)--> propagation (feasible intervals)
                                                       --> search (conflicts, claims to drop; priority)
                --> decisions: the chosen claim per quantity, its value, causes (causes), sentence (sentences)
                --> verdicts for document claims

Restatements (one figure written down in several places) are searched as one figure
(restatements.py); conflicts name every place, decisions keep or reject them together.

Signs: changes may be negative, and so may every quantity of an indicator a source publishes negative
somewhere (propagation.signed_quantities); other terms of rules are counts or shares, never negative.

Decisions. Per quantity the chosen claim is the highest-priority kept claim (priority.priority). The
figure held is always its stated figure, beside the interval all kept claims allow, never a corner of
that interval: "18.300" stays 18.300 even when the other figures allow only 18.349-18.350. When they
meet only at the edge of the figure's rounding (the overlap is narrower than half the figure's
interval and reaches its end, or misses the stated figure) the decision says "edge only" and names
what the figure then needs of the figures linked to it (118.000-118.006 jobs for "ruim 118.000"). A
decision lists the causes of its own disagreements (causes.pair_cause), the causes of the conflicts
that reject its claims, rounding when the figure holds only at the edge, and definition when a band
rule warns about it.

Verdicts (document claims only). contradicted: the claim was rejected (by which claims, which rules,
the gap); otherwise supported when the kept non-document data (CBS, LISA, derived) bound its quantity
on both sides, else unverifiable (listing the quantities without data). Band violations are warnings.
An unverifiable claim is then set beside the closest real figures (regiostat.reconcile.closest), which
may make it "proxy" or "definition".

Source kinds are named in the sentences through model.SOURCE_KIND_NL (each source plugin names its own);
pass ``kind_labels`` to add
or rename kinds (a new source's Dutch name) without touching the engine.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from regiostat.reconcile import sentences
from regiostat.reconcile.causes import CAUSES, ordered, pair_cause
from regiostat.reconcile.intervals import EPS, INF, Interval, div, tol
from regiostat.reconcile.model import SOURCE_KIND_NL, Claim, Quantity, Rule
from regiostat.reconcile.priority import priority
from regiostat.reconcile.propagation import signed_quantities
from regiostat.reconcile.restatements import Restatements
from regiostat.reconcile.results import Conflict, Decision, Reconciliation, Rejection, Verdict
from regiostat.reconcile.search import components
from regiostat.reconcile.sentences import CAUSE_NL, DutchText, decimals

__all__ = ["CAUSES", "CAUSE_NL", "EPS", "INF", "KIND_NL", "NODE_BUDGET", "Conflict", "Decision", "Interval",
           "Reconciliation", "Rejection", "Verdict", "conflicts", "decide", "edge_only", "feasible_intervals",
           "pair_cause", "priority", "reconcile", "verdicts"]

NODE_BUDGET = 4000  # hitting-set nodes per component before the search falls back to greedy correction
KIND_NL = SOURCE_KIND_NL  # the default Dutch names of source kinds; extend per call with kind_labels=


@dataclass
class _Search:
    """What the conflict search over all components found."""

    intervals: dict[Quantity, Interval] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)
    forcing: dict[str, list[Conflict]] = field(default_factory=lambda: defaultdict(list))  # claim -> its conflicts
    complete: bool = True
    optimal: bool = True


def _check(claims: Sequence[Claim], rules: Sequence[Rule]) -> None:
    for kind, items in (("claim", [c.claim_id for c in claims]), ("rule", [r.rule_id for r in rules])):
        seen: set[str] = set()
        for i in items:
            if i in seen:
                raise ValueError(f"{kind} id {i!r} is used twice")
            seen.add(i)


def _restated(m: Conflict, restated: Restatements) -> Conflict:
    """A conflict of first claims, naming every restatement of its figures."""
    ids = restated.expand(m.claim_ids)
    spread = {x: restated.first[x] for x in ids}
    return replace(m, claim_ids=ids, implied={x: m.implied[f] for x, f in spread.items()},
                   gaps={x: m.gaps[f] for x, f in spread.items()}, figures=len(m.claim_ids))


def _search(claims: Sequence[Claim], rules: Sequence[Rule], budget: int, signed: Callable[[Quantity], bool],
            restated: Restatements) -> _Search:
    """Conflicts, the claims to drop and the feasible intervals, one search per component."""
    found = _Search()
    for comp in components(restated.representatives(claims), rules, signed=signed):
        muses, drop, (lo, hi) = comp.analyse(budget)
        found.complete &= comp.complete
        found.optimal &= comp.optimal
        drop_ids = {comp.claims[i].claim_id for i in drop}
        raw = [comp.conflict(m, drop) for m in muses]
        shown = [_restated(m, restated) for m in raw]
        found.conflicts += shown
        forcing: dict[str, list[Conflict]] = defaultdict(list)
        for m, out in zip(raw, shown, strict=True):
            for cid in set(m.claim_ids) & drop_ids:
                if not (set(m.claim_ids) - {cid}) & drop_ids:
                    forcing[cid].append(out)
        for cid in drop_ids:  # greedy fallback: a dropped claim may share every conflict with another
            conflicts = forcing[cid] or [o for m, o in zip(raw, shown, strict=True) if cid in m.claim_ids]
            for member in restated.group[cid]:
                found.forcing[member] = conflicts
                found.dropped.add(member)
        found.intervals.update({q: (lo[v], hi[v]) for q, v in comp.net.index.items()})
    return found


def _contains(iv: Interval, x: float) -> bool:
    return iv[0] - tol(iv[0], x) <= x <= iv[1] + tol(iv[1], x)


def edge_only(c: Claim, iv: Interval) -> bool:
    """Does the figure hold only at the edge of its rounding? Its interval meets `iv` (what the other figures
    allow) in less than half its width, at one of its ends; or `iv` misses the stated figure itself."""
    if not _contains(iv, c.value):
        return True
    half = (c.high - c.low) / 2
    lo, hi = max(c.low, iv[0]), min(c.high, iv[1])
    at_end = lo <= c.low + tol(c.low) or hi >= c.high - tol(c.high)
    return half > 0 and hi - lo < half - tol(half) and at_end


def _band_warnings(rules: Sequence[Rule], values: Mapping[Quantity, float | None],
                   intervals: Mapping[Quantity, Interval], text: DutchText) -> dict[Quantity, list[str]]:
    """Per quantity, the band rules its held figure (else its interval) falls outside of."""
    out: dict[Quantity, list[str]] = defaultdict(list)
    for r in rules:
        if r.kind != "band" or r.band is None:
            continue
        a, b = r.target, r.inputs[0]
        va, vb = values.get(a), values.get(b)
        if va is not None and vb is not None:
            ratio = div((va, va), (vb, vb))
        elif a in intervals and b in intervals:
            ratio = div(intervals[a], intervals[b])
        else:
            continue
        low, high = r.band
        if ratio[0] > high + tol(high) or ratio[1] < low - tol(low):
            msg = sentences.band_warning(r, r.band, ratio, text)
            out[a].append(msg)
            out[b].append(msg)
    return out


@dataclass(frozen=True)
class _Draft:
    """A decision before its sentence: which claim is held, what the kept claims allow, at the edge or not."""

    quantity: Quantity
    on_q: tuple[Claim, ...]
    kept: tuple[Claim, ...]
    chosen: Claim | None
    interval: Interval
    edge: bool


def _decide_one(d: _Draft, warnings: Sequence[str], needs: Sequence[tuple[Claim, Interval]], found: _Search,
                by_id: Mapping[str, Claim], text: DutchText) -> Decision:
    rejections = tuple(Rejection(c, sentences.rejection_reason(c, found.forcing[c.claim_id], by_id, text),
                                 tuple(found.forcing[c.claim_id]))
                       for c in d.on_q if c.claim_id in found.dropped)
    chosen = d.chosen
    causes = {pair_cause(chosen, o) for o in d.on_q if chosen and o.value != chosen.value}
    causes |= {x for r in rejections for m in r.conflicts for x in m.causes}
    if d.edge:
        causes.add("rounding")
    if warnings:
        causes.add("definition")
    value = chosen.value if chosen else None
    sentence = sentences.decision_sentence(d.quantity, value, d.interval, chosen, d.kept, rejections, warnings, text,
                                           edge_only=d.edge, needs=needs)
    return Decision(d.quantity, value, d.interval, chosen, d.kept, rejections, ordered(causes), sentence,
                    tuple(warnings), d.edge)


def _neighbours(rules: Sequence[Rule]) -> dict[Quantity, set[Quantity]]:
    out: dict[Quantity, set[Quantity]] = defaultdict(set)
    for r in (r for r in rules if r.kind != "band"):
        for q in (r.target, *r.inputs):
            out[q] |= {r.target, *r.inputs} - {q}
    return out


def _decisions(claims: Sequence[Claim], rules: Sequence[Rule], found: _Search, text: DutchText) -> list[Decision]:
    """One decision per claimed quantity, in quantity order."""
    by_id = {c.claim_id: c for c in claims}
    by_quantity: dict[Quantity, list[Claim]] = defaultdict(list)
    for c in sorted(claims, key=lambda c: c.claim_id):
        by_quantity[c.quantity].append(c)
    drafts: dict[Quantity, _Draft] = {}
    for q in sorted(by_quantity):
        on_q = tuple(sorted(by_quantity[q], key=priority, reverse=True))
        kept = tuple(c for c in on_q if c.claim_id not in found.dropped)
        chosen = kept[0] if kept else None
        iv = found.intervals[q]
        drafts[q] = _Draft(q, on_q, kept, chosen, iv, chosen is not None and edge_only(chosen, iv))
    held = {q: d.chosen.value if d.chosen and _contains(d.interval, d.chosen.value) else None
            for q, d in drafts.items()}
    warnings = _band_warnings(rules, held, found.intervals, text)
    linked = _neighbours(rules)
    out = []
    for q, d in drafts.items():
        needs = [(drafts[n].chosen, drafts[n].interval) for n in sorted(linked.get(q, ()))
                 if d.edge and n in drafts and drafts[n].edge and drafts[n].chosen is not None]
        out.append(_decide_one(d, warnings.get(q, []), needs, found, by_id, text))
    return out


def reconcile(claims: Sequence[Claim], rules: Sequence[Rule], *, labels: Mapping[str, str] | None = None,
              kind_labels: Mapping[str, str] | None = None, units: Mapping[str, str] | None = None,
              signed: Callable[[Quantity], bool] | None = None) -> Reconciliation:
    """Everything at once: feasible intervals, conflicts and decisions (one search per component).
    `labels`: Dutch names of indicator and region codes; `kind_labels`: Dutch names of source kinds
    beyond (or instead of) SOURCE_KIND_NL; `units`: each indicator's unit (counts get whole-number
    intervals, "%" a percent sign); `signed`: which quantities may be negative (default: changes and
    indicators a source publishes negative somewhere)."""
    _check(claims, rules)
    found = _search(claims, rules, NODE_BUDGET, signed or signed_quantities(claims), Restatements.of(claims))
    decisions = _decisions(claims, rules, found, DutchText(rules, labels, kind_labels, units))
    return Reconciliation(found.intervals, found.conflicts, decisions, found.complete, found.optimal)


def feasible_intervals(claims: Sequence[Claim], rules: Sequence[Rule]) -> dict[Quantity, Interval]:
    """What every quantity (claimed or linked by a rule) can be, given all mutually consistent claims
    (the claims `decide` keeps)."""
    return reconcile(claims, rules).intervals


def conflicts(claims: Sequence[Claim], rules: Sequence[Rule]) -> list[Conflict]:
    """All minimal sets of claims that cannot all be true (per component; see regiostat.reconcile.search)."""
    return reconcile(claims, rules).conflicts


def decide(claims: Sequence[Claim], rules: Sequence[Rule], *, labels: Mapping[str, str] | None = None,
           kind_labels: Mapping[str, str] | None = None) -> list[Decision]:
    """Per claimed quantity: the value we hold, the interval, chosen/kept/rejected claims and why."""
    return reconcile(claims, rules, labels=labels, kind_labels=kind_labels).decisions


# ---------------------------------------------------------------- verdicts on document claims

Reach = tuple[Interval, list[str], list[str]]  # what the kept data allow for a quantity; which data, which rules


def _data_reach(data: Sequence[Claim], rules: Sequence[Rule], asked: set[Quantity],
                signed: Callable[[Quantity], bool]) -> dict[Quantity, Reach]:
    """For every quantity linked to an `asked` one: the interval the kept data claims allow."""
    reach: dict[Quantity, Reach] = {}
    for comp in components(data, rules, only=asked, signed=signed):  # only the components a verdict reads
        bounds = comp.solve(comp.everything)
        if bounds is None:
            raise ValueError("the kept data claims are inconsistent: pass the decisions of these claims")
        lo, hi = bounds
        used = (sorted(c.claim_id for c in comp.claims), sorted(r.rule_id for r in comp.rules))
        reach.update({q: ((lo[v], hi[v]), *used) for q, v in comp.net.index.items()})
    return reach


def _rejected_verdict(c: Claim, rej: Rejection, dec: Decision, warnings: tuple[str, ...], text: DutchText) -> Verdict:
    gap = max((m.gaps.get(c.claim_id, 0.0) for m in rej.conflicts), default=0.0)
    by = sorted({i for m in rej.conflicts for i in m.claim_ids} - {c.claim_id})
    rules_used = sorted({i for m in rej.conflicts for i in m.rule_ids})
    return Verdict(c, "contradicted", dec.interval, tuple(by), tuple(rules_used), gap, (), warnings,
                   sentences.contradicted_by_rejection(c, rej.reason, text))


def _bounded_verdict(c: Claim, reach: Reach, warnings: tuple[str, ...], text: DutchText) -> Verdict:
    """Supported, or (only when the search was cut short) contradicted by data bounding it on both sides."""
    iv, ids, rule_ids = reach
    gap = max(iv[0] - c.high, c.low - iv[1], 0.0)
    shown = text.interval(iv, c.quantity, decimals(c.value))
    if gap > tol(iv[0], iv[1]):
        return Verdict(c, "contradicted", iv, tuple(ids), tuple(rule_ids), gap, (), warnings,
                       sentences.contradicted_by_data(c, shown, text))
    return Verdict(c, "supported", iv, tuple(ids), tuple(rule_ids), 0.0, (), warnings,
                   sentences.supported(c, shown, text))


def verdicts(claims: Sequence[Claim], rules: Sequence[Rule], decisions: Sequence[Decision], *,
             labels: Mapping[str, str] | None = None, kind_labels: Mapping[str, str] | None = None,
             units: Mapping[str, str] | None = None,
             signed: Callable[[Quantity], bool] | None = None) -> list[Verdict]:
    """Supported / contradicted / unverifiable for every document claim (see the module docstring)."""
    text = DutchText(rules, labels, kind_labels, units)
    rejected = {r.claim.claim_id: (r, d) for d in decisions for r in d.rejected}
    warn = {d.quantity: d.warnings for d in decisions}
    data = [c for c in claims if c.source_kind != "document" and c.claim_id not in rejected]
    data_q = {c.quantity for c in data}
    neighbours: dict[Quantity, set[Quantity]] = defaultdict(set)
    for r in (r for r in rules if r.kind != "band"):
        for q in (r.target, *r.inputs):
            neighbours[q] |= {r.target, *r.inputs} - {q}
    asked = {c.quantity for c in claims if c.source_kind == "document" and c.claim_id not in rejected}
    reach = _data_reach(data, rules, asked, signed or signed_quantities(claims))
    out = []
    for c in (c for c in claims if c.source_kind == "document"):
        q, warnings = c.quantity, tuple(warn.get(c.quantity, ()))
        if c.claim_id in rejected:
            out.append(_rejected_verdict(c, *rejected[c.claim_id], warnings, text))
            continue
        iv, ids, rule_ids = reach.get(q, ((-INF, INF), [], []))
        if math.isfinite(iv[0]) and math.isfinite(iv[1]):
            out.append(_bounded_verdict(c, (iv, ids, rule_ids), warnings, text))
            continue
        missing = tuple(sorted(x for x in {q} | neighbours[q] if x not in data_q))
        out.append(Verdict(c, "unverifiable", iv, tuple(ids), tuple(rule_ids), 0.0, missing, warnings,
                           sentences.unverifiable(c, missing, text)))
    return out
