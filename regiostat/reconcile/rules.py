"""The rule catalogue (config/rules.toml): templates, their validation, and grounding for a claim set.

A template ("a share is part / total x 100") becomes Rule instances for concrete quantities
("lisa_industry_share_c[dutch_techzone, 2020] = lisa_jobs_manufacturing_c[...] / lisa_jobs[...] x 100").

Which instances are made (`instantiate`): every template is grounded for the (region, period) pairs
that occur in the claims (a change "t0/t" contributes both years; members_sum also grounds for the
regions whose members carry claims). Then instances that cannot narrow any claim are pruned,
repeatedly: a quantity is *anchored* when it has a claim or occurs in another remaining instance; a
ratio needs its ratio, numerator and a denominator anchored, a sum its total and a part (a free part
still says part <= total), a difference two of its three terms; and a group of linked instances must
hold at least two claimed quantities. Why this and not "at least two claimed quantities per
instance" or "target claimed and all inputs known": a relation with a free term can take any value
and so never rejects a claim, but a chain through unclaimed quantities can (18.400 jobs at 16,5%
fixes the unclaimed 2016 total, which the claimed +3.500 and the 2020 total also fix), and the
pruning keeps exactly such chains. (A loop of instances through unclaimed quantities that restates
a kept relation may stay; it is redundant, never wrong.) Band instances stay when both sides occur
in a claim or a kept instance.

Changes are quantities of their own: indicator "change:<indicator>", period "<t0>/<t>" (the
convention of regiostat.reconcile.model), related to the levels by a "difference" rule.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regiostat.indicators.catalogue import Indicator
from regiostat.reconcile.model import Quantity, Rule, find_root, is_year, parse_change

TEMPLATE_KINDS = ("sum", "members_sum", "ratio", "difference", "band")
_COMMON = {"id", "kind", "description", "enabled"}
_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # kind -> (required, optional)
    "sum": ({"total", "parts"}, {"exhaustive"}),
    "members_sum": ({"indicators"}, set()),
    "ratio": (set(), {"from_catalogue", "ratio", "numerator", "denominator", "scale"}),
    "difference": ({"indicators"}, set()),
    "band": ({"a", "b", "lower", "upper"}, set()),
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class RuleConfigError(ValueError):
    """A rule in the catalogue is malformed; names the rule and the field."""

    def __init__(self, rule: str, field_name: str, message: str, *, source: str = "rules.toml") -> None:
        self.rule, self.field = rule, field_name
        super().__init__(f"{source}: rule {rule}: field {field_name!r}: {message}")


@dataclass(frozen=True)
class RuleTemplate:
    id: str
    kind: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True


# ---------------------------------------------------------------- loading and validation

def _codes(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _check_template(raw: Mapping[str, Any], n: int, seen: set[str], indicators: Mapping[str, Indicator] | None,
                    source: str) -> RuleTemplate:
    rid = raw.get("id")
    label = repr(rid) if isinstance(rid, str) and rid else f"#{n}"

    def fail(field_name: str, message: str) -> RuleConfigError:
        return RuleConfigError(label, field_name, message, source=source)

    if not isinstance(rid, str) or not _ID.match(rid):
        raise fail("id", "required: lower-case letters, digits and underscores")
    if rid in seen:
        raise fail("id", "used twice")
    kind = raw.get("kind")
    if kind not in TEMPLATE_KINDS:
        raise fail("kind", f"must be one of {', '.join(TEMPLATE_KINDS)}, got {kind!r}")
    if not isinstance(raw.get("description"), str) or not raw["description"].strip():
        raise fail("description", "required: a sentence a policy officer can read")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "must be true or false")
    required, optional = _FIELDS[kind]
    for key in raw:
        if key not in _COMMON | required | optional:
            raise fail(key, f"unknown field for kind {kind!r}")
    for key in sorted(required):
        if key not in raw:
            raise fail(key, f"required for kind {kind!r}")
    params = {k: v for k, v in raw.items() if k not in _COMMON}

    def code(key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise fail(key, "must be an indicator code (text)")
        if indicators is not None and enabled and value not in indicators:
            raise fail(key, f"unknown indicator {value!r} (not in indicators.toml)")
        return value

    def code_list(key: str, value: Any, keywords: tuple[str, ...] = ()) -> None:
        if isinstance(value, str) and value in keywords:
            return
        if not isinstance(value, list) or not value:
            expected = " or ".join([repr(k) for k in keywords] + ["a non-empty list of indicator codes"])
            raise fail(key, f"must be {expected}")
        for v in value:
            code(key, v)
        if len(set(value)) != len(value):
            raise fail(key, "lists an indicator twice")

    def number(key: str, positive: bool = False) -> float:
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (positive and v == 0):
            raise fail(key, f"must be a {'positive' if positive else 'non-negative'} number")
        return float(v)

    if kind == "sum":
        code_list("parts", raw["parts"])
        if code("total", raw["total"]) in raw["parts"]:
            raise fail("parts", "the total cannot be one of its own parts")
        if not isinstance(raw.get("exhaustive", True), bool):
            raise fail("exhaustive", "must be true or false")
    elif kind in ("members_sum", "difference"):
        code_list("indicators", raw["indicators"], ("additive",) if kind == "members_sum" else ("all", "additive"))
    elif kind == "ratio":
        explicit = {"ratio", "numerator", "denominator", "scale"}
        if "from_catalogue" in raw:
            if raw["from_catalogue"] not in ("percent", "other", "all"):
                raise fail("from_catalogue", "must be 'percent', 'other' or 'all'")
            if extra := sorted(explicit & raw.keys()):
                raise fail(extra[0], "not allowed together with from_catalogue")
        else:
            for key in sorted(explicit):
                if key not in raw:
                    raise fail(key, "required for an explicit ratio (or use from_catalogue)")
            code("ratio", raw["ratio"])
            code("numerator", raw["numerator"])
            den = raw["denominator"]
            code_list("denominator", _codes(den) if isinstance(den, (str, list)) else None)
            number("scale", positive=True)
    elif kind == "band":
        if code("a", raw["a"]) == code("b", raw["b"]):
            raise fail("b", "a band relates two different indicators")
        if number("lower") > number("upper"):
            raise fail("upper", "must be at least 'lower'")
    return RuleTemplate(rid, kind, raw["description"].strip(), params, enabled)


def parse_rules(data: Mapping[str, Any], *, indicators: Mapping[str, Indicator] | None = None,
                source: str = "rules.toml") -> list[RuleTemplate]:
    """Validate a parsed catalogue ({"rule": [...]}); with `indicators`, codes of enabled rules must exist."""
    for key in data:
        if key != "rule":
            raise RuleConfigError("-", key, "unknown top-level key (expected [[rule]] tables)", source=source)
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise RuleConfigError("-", "rule", "rules must be an array of tables: [[rule]]", source=source)
    out: list[RuleTemplate] = []
    for n, raw in enumerate(entries, start=1):
        if not isinstance(raw, dict):
            raise RuleConfigError(f"#{n}", "rule", "each rule must be a table", source=source)
        out.append(_check_template(raw, n, {t.id for t in out}, indicators, source))
    return out


def load_rules(path: Path | str, *,
               indicators: Mapping[str, Indicator] | None = None) -> list[RuleTemplate]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleConfigError("-", "toml", f"not valid TOML: {exc}", source=str(path)) from exc
    return parse_rules(data, indicators=indicators, source=str(path))


# ---------------------------------------------------------------- grounding

def _allowed(selector: Any, indicators: Mapping[str, Indicator]) -> set[str] | None:
    """Indicator codes a template applies to; None = any."""
    if selector == "all":
        return None
    if selector == "additive":
        return {c for c, ind in indicators.items() if ind.aggregation == "sum"}
    return set(_codes(selector))


def _ratio_specs(t: RuleTemplate, indicators: Mapping[str, Indicator]) -> list[tuple[str, str, tuple[str, ...], float]]:
    p = t.params
    if "from_catalogue" not in p:
        return [(p["ratio"], p["numerator"], tuple(_codes(p["denominator"])), float(p["scale"]))]
    sel = p["from_catalogue"]
    return [(ind.code, ind.numerator, tuple(ind.denominator), ind.scale) for ind in indicators.values()
            if ind.aggregation == "ratio_of_sums" and ind.numerator and ind.denominator
            and (sel == "all" or (sel == "percent") == (ind.unit == "%"))]


def _needed(r: Rule, anchored: Callable[[Quantity], bool]) -> bool:
    """Can r narrow a claim, given which of its quantities are anchored? A ratio with a free term, a sum
    with a free total or a difference with two free terms constrains nothing (a sum with a free part
    still says part <= total)."""
    if r.kind == "ratio":
        return anchored(r.target) and anchored(r.inputs[0]) and any(map(anchored, r.inputs[1:]))
    if r.kind == "sum":
        return anchored(r.target) and any(map(anchored, r.inputs))
    return sum(map(anchored, {r.target, *r.inputs})) >= 2


def _prune(candidates: Iterable[Rule], claimed: set[Quantity]) -> list[Rule]:
    """Drop instances that cannot narrow a claim, repeatedly, to a fixpoint: a quantity is anchored when
    it is claimed or occurs in another remaining instance; a group of linked instances with fewer than
    two claimed quantities goes as a whole. Linear per round, so it scales to a warehouse of claims."""
    rules = list({r.rule_id: r for r in candidates}.values())
    constraints = [r for r in rules if r.kind != "band"]
    while True:
        count = Counter(q for r in constraints for q in {r.target, *r.inputs})
        anchored = claimed | {q for q, n in count.items() if n >= 2}
        keep = [r for r in constraints if _needed(r, anchored.__contains__)]
        parent: dict[Quantity, Quantity] = {}
        for r in keep:
            for q in r.inputs:
                parent[find_root(parent, q)] = find_root(parent, r.target)
        claims_in = Counter(find_root(parent, q) for q in claimed if q in parent)
        keep = [r for r in keep if claims_in[find_root(parent, r.target)] >= 2]
        if len(keep) == len(constraints):
            break
        constraints = keep
    used = {q for r in constraints for q in (r.target, *r.inputs)} | claimed
    bands = [r for r in rules if r.kind == "band" and r.target in used and all(q in used for q in r.inputs)]
    return sorted(constraints + bands, key=lambda r: r.rule_id)


def instantiate(rules: Sequence[RuleTemplate], quantities: Iterable[Quantity], *,
                indicators: Mapping[str, Indicator],
                memberships: Mapping[str, Sequence[str]] | None = None) -> list[Rule]:
    """Ground the enabled templates for the claimed `quantities` (see the module docstring).

    `memberships`: region id -> member region codes (a custom region and its municipalities).
    Claims with an unknown period ("unknown") or an unmapped indicator get no rules.
    """
    claimed = set(quantities)
    memberships = memberships or {}
    pairs: set[tuple[str, str]] = set()
    changes: list[tuple[Quantity, str, str, str]] = []
    for q in claimed:
        if (ch := parse_change(q)) is not None:
            changes.append((q, *ch))
            pairs |= {(q.region, ch[1]), (q.region, ch[2])}
        elif is_year(q.period):
            pairs.add((q.region, q.period))
    pairs_sorted = sorted(pairs)
    enabled = [t for t in rules if t.enabled]
    out: list[Rule] = []

    def add(t: RuleTemplate, rule_id: str, kind: str, target: Quantity, inputs: tuple[Quantity, ...], *,
            scale: float = 1.0, band: tuple[float, float] | None = None, params: dict[str, str] | None = None) -> None:
        out.append(Rule(rule_id=rule_id, kind=kind, description=t.description, target=target, inputs=inputs,
                        scale=scale, band=band, params={"template": t.id, **(params or {})}))

    for t in enabled:
        p = t.params
        if t.kind == "sum":
            for r, y in pairs_sorted:
                add(t, f"{t.id}[{r},{y}]", "sum", Quantity(p["total"], r, y),
                    tuple(Quantity(x, r, y) for x in p["parts"]),
                    params={"exhaustive": "true" if p.get("exhaustive", True) else "false"})
        elif t.kind == "ratio":
            for ratio, num, den, scale in _ratio_specs(t, indicators):
                for r, y in pairs_sorted:
                    add(t, f"{t.id}:{ratio}[{r},{y}]", "ratio", Quantity(ratio, r, y),
                        (Quantity(num, r, y), *(Quantity(d, r, y) for d in den)), scale=scale)
        elif t.kind == "difference":
            allowed = _allowed(p["indicators"], indicators)
            for q, ind, base, end in sorted(changes):
                if allowed is None or ind in allowed:
                    add(t, f"{t.id}:{ind}[{q.region},{q.period}]", "difference", q,
                        (Quantity(ind, q.region, end), Quantity(ind, q.region, base)))
        elif t.kind == "band":
            for r, y in pairs_sorted:
                add(t, f"{t.id}[{r},{y}]", "band", Quantity(p["a"], r, y), (Quantity(p["b"], r, y),),
                    band=(float(p["lower"]), float(p["upper"])))

    # members_sum last: it applies to indicators claimed or introduced by the instances above.
    known = claimed | {q for rule in out for q in (rule.target, *rule.inputs)}
    for t in (t for t in enabled if t.kind == "members_sum"):
        allowed = _allowed(t.params["indicators"], indicators)
        for region, members in sorted(memberships.items()):
            group = {region, *members}
            used = {(q.indicator, q.period) for q in known if q.region in group and is_year(q.period)}
            for ind, y in sorted(used):
                if allowed is None or ind in allowed:
                    add(t, f"{t.id}:{ind}[{region},{y}]", "sum", Quantity(ind, region, y),
                        tuple(Quantity(ind, m, y) for m in members), params={"exhaustive": "true"})
    return _prune(out, claimed)


def labels(indicators: Mapping[str, Indicator], regions: Iterable[Any] = ()) -> dict[str, str]:
    """Dutch display names for sentences: indicator code -> name_nl (lower-case start), region id -> name."""
    def lower_first(s: str) -> str:
        return s if len(s) > 1 and s[1].isupper() else s[:1].lower() + s[1:]

    out = {code: lower_first(ind.name_nl) for code, ind in indicators.items()}
    out.update({r.id: r.name for r in regions})
    return out
