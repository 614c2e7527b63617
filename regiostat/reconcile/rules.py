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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regiostat.configkeys import ConfigError
from regiostat.indicators.catalogue import Indicator
from regiostat.reconcile.model import Quantity, Rule, find_root, is_year, parse_change

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class RuleConfigError(ConfigError):
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


class _TemplateFields:
    """One raw template under validation: reads its fields and says which one is wrong."""

    def __init__(self, raw: Mapping[str, Any], label: str, indicators: Mapping[str, Indicator] | None,
                 source: str) -> None:
        self.raw, self.label, self.indicators, self.source = raw, label, indicators, source
        self.enabled = raw.get("enabled", True)

    def fail(self, field_name: str, message: str) -> RuleConfigError:
        return RuleConfigError(self.label, field_name, message, source=self.source)

    def code(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be an indicator code (text)")
        if self.indicators is not None and self.enabled and value not in self.indicators:
            raise self.fail(key, f"unknown indicator {value!r} (not in indicators.toml)")
        return value

    def code_list(self, key: str, value: Any, keywords: tuple[str, ...] = ()) -> None:
        if isinstance(value, str) and value in keywords:
            return
        if not isinstance(value, list) or not value:
            expected = " or ".join([repr(k) for k in keywords] + ["a non-empty list of indicator codes"])
            raise self.fail(key, f"must be {expected}")
        for v in value:
            self.code(key, v)
        if len(set(value)) != len(value):
            raise self.fail(key, "lists an indicator twice")

    def number(self, key: str, positive: bool = False) -> float:
        v = self.raw[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (positive and v == 0):
            raise self.fail(key, f"must be a {'positive' if positive else 'non-negative'} number")
        return float(v)


def _check_sum(f: _TemplateFields) -> None:
    f.code_list("parts", f.raw["parts"])
    if f.code("total", f.raw["total"]) in f.raw["parts"]:
        raise f.fail("parts", "the total cannot be one of its own parts")
    if not isinstance(f.raw.get("exhaustive", True), bool):
        raise f.fail("exhaustive", "must be true or false")


def _check_selection(*keywords: str) -> Callable[[_TemplateFields], None]:
    """The check of an `indicators` field that takes a list of codes or one of `keywords`."""
    def check(f: _TemplateFields) -> None:
        f.code_list("indicators", f.raw["indicators"], keywords)
    return check


_EXPLICIT_RATIO = ("denominator", "numerator", "ratio", "scale")


def _check_ratio(f: _TemplateFields) -> None:
    raw = f.raw
    if "from_catalogue" in raw:
        if raw["from_catalogue"] not in ("percent", "other", "all"):
            raise f.fail("from_catalogue", "must be 'percent', 'other' or 'all'")
        if extra := sorted(set(_EXPLICIT_RATIO) & raw.keys()):
            raise f.fail(extra[0], "not allowed together with from_catalogue")
        return
    for key in _EXPLICIT_RATIO:
        if key not in raw:
            raise f.fail(key, "required for an explicit ratio (or use from_catalogue)")
    f.code("ratio", raw["ratio"])
    f.code("numerator", raw["numerator"])
    den = raw["denominator"]
    f.code_list("denominator", _codes(den) if isinstance(den, (str, list)) else None)
    f.number("scale", positive=True)


def _check_band(f: _TemplateFields) -> None:
    if f.code("a", f.raw["a"]) == f.code("b", f.raw["b"]):
        raise f.fail("b", "a band relates two different indicators")
    if f.number("lower") > f.number("upper"):
        raise f.fail("upper", "must be at least 'lower'")


@dataclass(frozen=True)
class _Kind:
    required: frozenset[str]
    optional: frozenset[str]
    check: Callable[[_TemplateFields], None]


_KINDS: dict[str, _Kind] = {  # kind -> its fields and the check of their values
    "sum": _Kind(frozenset({"total", "parts"}), frozenset({"exhaustive"}), _check_sum),
    "members_sum": _Kind(frozenset({"indicators"}), frozenset(), _check_selection("additive")),
    "ratio": _Kind(frozenset(), frozenset({"from_catalogue", *_EXPLICIT_RATIO}), _check_ratio),
    "difference": _Kind(frozenset({"indicators"}), frozenset(), _check_selection("all", "additive")),
    "band": _Kind(frozenset({"a", "b", "lower", "upper"}), frozenset(), _check_band),
}
TEMPLATE_KINDS = tuple(_KINDS)
_COMMON = {"id", "kind", "description", "enabled"}
_COMMON_CHECKS: tuple[tuple[str, Callable[[Mapping[str, Any], set[str]], str | None]], ...] = (
    ("id", lambda raw, seen: None if isinstance(raw.get("id"), str) and _ID.match(raw["id"])
     else "required: lower-case letters, digits and underscores"),
    ("id", lambda raw, seen: "used twice" if raw["id"] in seen else None),
    ("kind", lambda raw, seen: None if raw.get("kind") in TEMPLATE_KINDS  # a tuple: an unhashable kind is refused too
     else f"must be one of {', '.join(TEMPLATE_KINDS)}, got {raw.get('kind')!r}"),
    ("description", lambda raw, seen: None if isinstance(raw.get("description"), str) and raw["description"].strip()
     else "required: a sentence a policy officer can read"),
    ("enabled", lambda raw, seen: None if isinstance(raw.get("enabled", True), bool) else "must be true or false"),
)


def _check_template(raw: Mapping[str, Any], n: int, seen: set[str], indicators: Mapping[str, Indicator] | None,
                    source: str) -> RuleTemplate:
    rid = raw.get("id")
    f = _TemplateFields(raw, repr(rid) if isinstance(rid, str) and rid else f"#{n}", indicators, source)
    for key, check in _COMMON_CHECKS:
        if (msg := check(raw, seen)) is not None:
            raise f.fail(key, msg)
    kind = _KINDS[raw["kind"]]
    for key in raw:
        if key not in _COMMON | kind.required | kind.optional:
            raise f.fail(key, f"unknown field for kind {raw['kind']!r}")
    for key in sorted(kind.required):
        if key not in raw:
            raise f.fail(key, f"required for kind {raw['kind']!r}")
    kind.check(f)
    params = {k: v for k, v in raw.items() if k not in _COMMON}
    return RuleTemplate(raw["id"], raw["kind"], raw["description"].strip(), params, f.enabled)


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


@dataclass(frozen=True)
class _Grounding:
    """Where templates are grounded: the claimed (region, year) pairs and changes, in a fixed order."""

    pairs: list[tuple[str, str]]
    changes: list[tuple[Quantity, str, str, str]]  # (change quantity, indicator, base year, end year)
    indicators: Mapping[str, Indicator]

    @classmethod
    def of(cls, claimed: Iterable[Quantity], indicators: Mapping[str, Indicator]) -> _Grounding:
        pairs: set[tuple[str, str]] = set()
        changes: list[tuple[Quantity, str, str, str]] = []
        for q in claimed:
            if (ch := parse_change(q)) is not None:
                changes.append((q, *ch))
                pairs |= {(q.region, ch[1]), (q.region, ch[2])}
            elif is_year(q.period):
                pairs.add((q.region, q.period))
        return cls(sorted(pairs), sorted(changes), indicators)


def _rule(t: RuleTemplate, rule_id: str, kind: str, target: Quantity, inputs: tuple[Quantity, ...], *,
          scale: float = 1.0, band: tuple[float, float] | None = None, params: dict[str, str] | None = None) -> Rule:
    return Rule(rule_id=rule_id, kind=kind, description=t.description, target=target, inputs=inputs,
                scale=scale, band=band, params={"template": t.id, **(params or {})})


def _ground_sum(t: RuleTemplate, g: _Grounding) -> Iterator[Rule]:
    p = t.params
    exhaustive = {"exhaustive": "true" if p.get("exhaustive", True) else "false"}
    for r, y in g.pairs:
        yield _rule(t, f"{t.id}[{r},{y}]", "sum", Quantity(p["total"], r, y),
                    tuple(Quantity(x, r, y) for x in p["parts"]), params=exhaustive)


def _ground_ratio(t: RuleTemplate, g: _Grounding) -> Iterator[Rule]:
    for ratio, num, den, scale in _ratio_specs(t, g.indicators):
        for r, y in g.pairs:
            yield _rule(t, f"{t.id}:{ratio}[{r},{y}]", "ratio", Quantity(ratio, r, y),
                        (Quantity(num, r, y), *(Quantity(d, r, y) for d in den)), scale=scale)


def _ground_difference(t: RuleTemplate, g: _Grounding) -> Iterator[Rule]:
    allowed = _allowed(t.params["indicators"], g.indicators)
    for q, ind, base, end in g.changes:
        if allowed is None or ind in allowed:
            yield _rule(t, f"{t.id}:{ind}[{q.region},{q.period}]", "difference", q,
                        (Quantity(ind, q.region, end), Quantity(ind, q.region, base)))


def _ground_band(t: RuleTemplate, g: _Grounding) -> Iterator[Rule]:
    p = t.params
    for r, y in g.pairs:
        yield _rule(t, f"{t.id}[{r},{y}]", "band", Quantity(p["a"], r, y), (Quantity(p["b"], r, y),),
                    band=(float(p["lower"]), float(p["upper"])))


_GROUND: dict[str, Callable[[RuleTemplate, _Grounding], Iterator[Rule]]] = {
    "sum": _ground_sum, "ratio": _ground_ratio, "difference": _ground_difference, "band": _ground_band}


def _members_in(membership: Any, year: str) -> Sequence[str]:
    """A region's members in one year: a custom region that lists members by period (members_in), or a list."""
    members_in = getattr(membership, "members_in", None)
    return members_in(int(year)) if members_in is not None else membership


def _ground_members_sum(t: RuleTemplate, known: set[Quantity], memberships: Mapping[str, Any],
                        indicators: Mapping[str, Indicator]) -> Iterator[Rule]:
    """A custom region's total = the sum of the members it has that year, for every indicator and year known
    in the group."""
    allowed = _allowed(t.params["indicators"], indicators)
    for region, membership in sorted(memberships.items()):
        every = set(getattr(membership, "members", membership))
        group = {region, *every}
        used = {(q.indicator, q.period) for q in known if q.region in group and is_year(q.period)}
        for ind, y in sorted(used):
            members = _members_in(membership, y)
            if (allowed is None or ind in allowed) and members:
                yield _rule(t, f"{t.id}:{ind}[{region},{y}]", "sum", Quantity(ind, region, y),
                            tuple(Quantity(ind, m, y) for m in members), params={"exhaustive": "true"})


def ground(rules: Sequence[RuleTemplate], quantities: Iterable[Quantity], *, indicators: Mapping[str, Indicator],
           memberships: Mapping[str, Any] | None = None) -> list[Rule]:
    """Every instance of the enabled templates for the claimed `quantities`, before pruning."""
    claimed = set(quantities)
    grounding = _Grounding.of(claimed, indicators)
    enabled = [t for t in rules if t.enabled]
    out = [rule for t in enabled if t.kind in _GROUND for rule in _GROUND[t.kind](t, grounding)]
    # members_sum last: it applies to indicators claimed or introduced by the instances above.
    known = claimed | {q for rule in out for q in (rule.target, *rule.inputs)}
    for t in (t for t in enabled if t.kind == "members_sum"):
        out += _ground_members_sum(t, known, memberships or {}, indicators)
    return out


def instantiate(rules: Sequence[RuleTemplate], quantities: Iterable[Quantity], *,
                indicators: Mapping[str, Indicator],
                memberships: Mapping[str, Any] | None = None) -> list[Rule]:
    """Ground the enabled templates for the claimed `quantities` (see the module docstring).

    `memberships`: region id -> its members: a list of region codes, or a custom region
    (regiostat.regions.custom.CustomRegion) whose members hold by period (``members_in``).
    Claims with an unknown period ("unknown") or an unmapped indicator get no rules.
    """
    claimed = set(quantities)
    return _prune(ground(rules, claimed, indicators=indicators, memberships=memberships), claimed)


def labels(indicators: Mapping[str, Indicator], regions: Iterable[Any] = ()) -> dict[str, str]:
    """Dutch display names for sentences: indicator code -> name_nl (lower-case start), region id -> name."""
    def lower_first(s: str) -> str:
        return s if len(s) > 1 and s[1].isupper() else s[:1].lower() + s[1:]

    out = {code: lower_first(ind.name_nl) for code, ind in indicators.items()}
    out.update({r.id: r.name for r in regions})
    return out
