"""The Dutch sentences of a reconciliation: why a value is held, why a figure falls, what a verdict rests on.

Only wording lives here; every number shown is computed by the engine. Figures are written the Dutch
way ("18.349", "15,6%"), intervals with an en dash ("18.300–18.400"), and a hedged figure keeps its
hedge word ("ruim 118.000"). Source kinds are named through model.SOURCE_KIND_NL (each
source plugin states its own name); a caller may override names per call (``kind_labels=``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from regiostat.reconcile.causes import pair_cause
from regiostat.reconcile.intervals import INF, Interval, tol
from regiostat.reconcile.model import CHANGE_PREFIX, SOURCE_KIND_NL, Claim, Quantity, Rule
from regiostat.reconcile.precision import hedge_word
from regiostat.reconcile.priority import priority, tier
from regiostat.reconcile.results import Conflict, Rejection

COUNT_UNITS = frozenset({"jobs", "persons", "establishments"})  # units counted in whole numbers
CAUSE_NL = {"rounding": "afronding", "definition": "definitieverschil", "reference_date": "andere peildatum",
            "revision": "revisie", "boundary": "gewijzigde gebiedsindeling", "transcription": "transcriptiefout",
            "arithmetic": "cijfers die onderling niet kloppen"}


def decimals(x: float) -> int:
    """The number of decimals `x` is written with (at most 6)."""
    return next((d for d in range(7) if abs(round(x, d) - x) <= 1e-9 * max(1.0, abs(x))), 6)


def nl(x: float, d: int) -> str:
    """`x` with `d` decimals the Dutch way: "." groups thousands, "," marks decimals; no "-0"."""
    s = f"{abs(x):,.{d}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return ("-" if x < 0 and round(abs(x), d) else "") + s


def join(items: Sequence[str]) -> str:
    """"a", "a en b", "a, b en c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


class DutchText:
    """Renders figures, intervals and claims in Dutch for one claim set."""

    def __init__(self, rules: Sequence[Rule], labels: Mapping[str, str] | None = None,
                 kind_labels: Mapping[str, str] | None = None, units: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels or {})
        units = dict(units or {})  # indicator -> unit, as in the catalogue
        self.counts = {i for i, u in units.items() if u in COUNT_UNITS}  # whole units: whole-number intervals
        self.kinds = {**SOURCE_KIND_NL, **(kind_labels or {})}
        self.percent = {r.target for r in rules if r.kind == "ratio" and r.scale == 100}
        self.percent_indicators = {i for i, u in units.items() if u == "%"}

    def label(self, code: str) -> str:
        if code in self.labels:
            return self.labels[code]
        if code.startswith(CHANGE_PREFIX):
            return f"verandering {self.label(code.removeprefix(CHANGE_PREFIX))}"
        return code

    def kind(self, source_kind: str) -> str:
        return self.kinds.get(source_kind, source_kind)

    def quantity(self, q: Quantity) -> str:
        return f"{self.label(q.indicator)} {self.label(q.region)} {q.period.replace('/', '–')}"

    def number(self, x: float, q: Quantity, d: int | None = None) -> str:
        percent = q in self.percent or q.indicator in self.percent_indicators
        return nl(x, decimals(x) if d is None else d) + ("%" if percent else "")

    def interval(self, iv: Interval, q: Quantity, d: int) -> str:
        """Rounded outward to `d` decimals; a count (see `counts`) inward to whole numbers, the values it can take."""
        f = 10 ** d
        lo = math.floor(iv[0] * f + 1e-6) / f if math.isfinite(iv[0]) else -INF
        hi = math.ceil(iv[1] * f - 1e-6) / f if math.isfinite(iv[1]) else INF
        if d == 0 and q.indicator.removeprefix(CHANGE_PREFIX) in self.counts:
            whole = (math.ceil(iv[0] - 1e-6) if math.isfinite(iv[0]) else -INF,
                     math.floor(iv[1] + 1e-6) if math.isfinite(iv[1]) else INF)
            lo, hi = whole if whole[0] <= whole[1] else (lo, hi)
        if lo == -INF and hi == INF:
            return "elke waarde"
        if lo == -INF:
            return f"ten hoogste {self.number(hi, q, d)}"
        if hi == INF:
            return f"ten minste {self.number(lo, q, d)}"
        if lo == hi:
            return self.number(lo, q, d)
        return f"{nl(lo, d)}–{self.number(hi, q, d)}"

    def figure(self, c: Claim) -> str:
        hedge = hedge_word(c.precision or "")
        return (f"{hedge} " if hedge else "") + self.number(c.value, c.quantity)

    def ref(self, c: Claim) -> str:
        return f"{self.figure(c)} ({self.label(c.quantity.indicator)} {c.quantity.period.replace('/', '–')})"

    def source(self, c: Claim) -> str:
        extra = ", ".join(x for x in (c.status, f"versie {c.vintage}" if c.vintage else None) if x)
        return f"{self.kind(c.source_kind)} {c.source}" + (f", {extra}" if extra else "")


def _why_lower(c: Claim, others: Sequence[Claim], text: DutchText) -> str:
    """Why c gives way to the strongest other claim, when a priority (not only consistency) decides."""
    top = max(others, key=priority)
    (ka, sa, va), (kc, sc, vc) = tier(top), tier(c)
    if ka > kc:
        return f" ({text.kind(top.source_kind)} gaat voor {text.kind(c.source_kind)})"
    if ka == kc and sa > sc:
        return f" ({top.status} gaat voor {c.status or 'een cijfer zonder status'})"
    if ka == kc and sa == sc and va > vc:
        return f" (versie {top.vintage} gaat voor {c.vintage or 'een ongedateerde versie'})"
    return ""


def _clash(c: Claim, o: Claim, text: DutchText) -> str:
    """Why c and o, two claims on one quantity, cannot both hold."""
    cause = pair_cause(c, o)
    if cause == "transcription":
        where = "hetzelfde document" if c.source_kind == "document" else "dezelfde bron"
        return f"{text.figure(c)} en {text.figure(o)} staan beide in {where} (transcriptiefout)"
    if cause == "revision":
        return f"{text.source(c)} geeft {text.figure(c)}, {text.source(o)} geeft {text.figure(o)} (revisie)"
    return f"{text.figure(o)} ({text.source(o)}) sluit {text.figure(c)} uit ({CAUSE_NL[cause]})"


def _figure_key(c: Claim) -> tuple:
    return (c.quantity, c.source, c.value, c.low, c.high)


def _others(c: Claim, m: Conflict, by_id: Mapping[str, Claim]) -> list[Claim]:
    """The other figures of a conflict, each once: restatements of c, and repeats of another figure, drop out."""
    seen = {_figure_key(c)}
    out = []
    for i in m.claim_ids:
        o = by_id[i]
        if _figure_key(o) not in seen:
            seen.add(_figure_key(o))
            out.append(o)
    return out


def rejection_reason(c: Claim, conflicts: Sequence[Conflict], by_id: Mapping[str, Claim], text: DutchText) -> str:
    """Names the figures that exclude c: every two-figure clash on its quantity, and the smallest set of
    figures that excludes it through the rules (the widest gap among equals); the count of the rest. A
    figure the rules exclude on its own (a negative share) is said to fall outside what they allow."""
    others_of = {id(m): _others(c, m, by_id) for m in conflicts}
    pairs = [m for m in conflicts if len(others_of[id(m)]) == 1 and others_of[id(m)][0].quantity == c.quantity]
    chains = sorted((m for m in conflicts if m not in pairs),
                    key=lambda m: (len(others_of[id(m)]), -m.gaps[c.claim_id]))
    parts, others_all = [], []
    for m in chains[:1] + pairs:
        others = others_of[id(m)]
        others_all += others
        iv = text.interval(m.implied[c.claim_id], c.quantity, decimals(c.value))
        if not others:
            parts.append(f"de regels laten {iv} toe, wat {text.figure(c)} uitsluit")
        elif len(others) == 1 and others[0].quantity == c.quantity:
            parts.append(_clash(c, others[0], text))
        else:
            verb = "laat" if len(others) == 1 else "laten"
            parts.append(f"{join([text.ref(o) for o in others])} {verb} {iv} toe, wat {text.figure(c)} uitsluit")
    if len(chains) > 1:
        parts[0] += f" (en {len(chains) - 1} andere combinatie{'s' if len(chains) > 2 else ''} van cijfers)"
    why = _why_lower(c, others_all, text) if others_all else ""
    return f"{text.figure(c)} valt af{why}: " + "; ".join(parts)


def shown_interval(iv: Interval, q: Quantity, d: int, text: DutchText) -> str:
    """An interval with the decimals of the figure it is about, one more when that would hide its width."""
    return text.interval(iv, q, d + 1 if iv[1] - iv[0] < 10 ** -d else d)


def edge_clause(iv: Interval, chosen: Claim, needs: Sequence[tuple[Claim, Interval]], text: DutchText) -> str:
    """", maar alleen aan de rand van de afronding (...)": what the other figures allow, and what the held
    figure then needs of the figures it is linked to (each also only at the edge of its own rounding)."""
    allowed = shown_interval(iv, chosen.quantity, decimals(chosen.value), text)
    out = f", maar alleen aan de rand van de afronding (de overige cijfers laten {allowed} toe"
    if needs:
        parts = [f"{shown_interval(niv, n.quantity, decimals(n.value), text)} voor {text.label(n.quantity.indicator)} "
                 f"{n.quantity.period.replace('/', '–')} ({text.figure(n)} in de bron)" for n, niv in needs]
        out += f"; dat vergt {join(parts)}"
    return out + ")"


def decision_sentence(q: Quantity, value: float | None, iv: Interval, chosen: Claim | None, kept: Sequence[Claim],
                      rejections: Sequence[Rejection], warnings: Sequence[str], text: DutchText, *,
                      edge_only: bool = False, needs: Sequence[tuple[Claim, Interval]] = ()) -> str:
    """"Voor <quantity> houden we <stated figure> aan: <why the others go>." in Dutch. The figure held is
    always the chosen claim's own; what the other figures allow is said beside it, never instead of it."""
    d = decimals(chosen.value) if chosen else max((decimals(r.claim.value) for r in rejections), default=0)
    head = f"Voor {text.quantity(q)}"
    if chosen is None:
        out = f"{head} houden we geen waarde aan"
    else:
        out = f"{head} houden we {text.number(chosen.value, q)} aan"
        if edge_only:
            out += edge_clause(iv, chosen, needs, text)
        elif iv[0] > chosen.low + tol(iv[0]) or iv[1] < chosen.high - tol(iv[1]):
            out += f" (de overige cijfers laten {shown_interval(iv, q, d, text)} toe)"
    details = list(dict.fromkeys(r.reason for r in rejections))  # a restated figure falls once
    details += [f"{text.figure(o)} ({text.source(o)}) past er ook bij ({CAUSE_NL[pair_cause(chosen, o)]})"
                for o in kept[1:] if chosen and o.value != chosen.value]
    if chosen is None:
        details.append(f"de overige cijfers laten {text.interval(iv, q, d)} toe")
    out += (": " + "; ".join(details) if details else "") + "."
    return out + "".join(f" Let op: {w}." for w in warnings)


def band_warning(rule: Rule, band: tuple[float, float], ratio: Interval, text: DutchText) -> str:
    """A band rule's ratio outside its band: a definition difference to look into, never a rejection."""
    a, b = rule.target, rule.inputs[0]
    low, high = band
    shown = nl(ratio[0], 2) if ratio[0] == ratio[1] else f"{nl(ratio[0], 2)}–{nl(ratio[1], 2)}"
    return (f"{text.label(a.indicator)} is {shown} keer {text.label(b.indicator)} "
            f"({text.label(a.region)} {a.period}), buiten de band {nl(low, 2)}–{nl(high, 2)} van {rule.rule_id}: "
            f"een definitieverschil om uit te zoeken, geen reden om een cijfer te verwerpen")


def contradicted_by_rejection(c: Claim, reason: str, text: DutchText) -> str:
    """A rejected document claim: the rejection's reason, said of the claim."""
    return f"{text.ref(c)} wordt tegengesproken en valt af{reason.partition(' valt af')[2]}."


def contradicted_by_data(c: Claim, shown: str, text: DutchText) -> str:
    return f"{text.ref(c)} wordt tegengesproken: de gegevens laten {shown} toe."


def supported(c: Claim, shown: str, text: DutchText) -> str:
    return f"{text.ref(c)} klopt met de gegevens, die {shown} toelaten."


def unverifiable(c: Claim, missing: Sequence[Quantity], text: DutchText) -> str:
    return (f"{text.ref(c)} is niet te controleren: er zijn geen gegevens over "
            f"{join([text.quantity(x) for x in missing])}.")


def _closest_decimals(value: float, low: float, high: float) -> int:
    """As many decimals as the figure's own precision carries (a figure of 325.100 +-50: none; 11,07% +-0,05: one)."""
    width = high - low
    if not width > 0:
        return min(decimals(value), 2)
    return max(0, min(3, math.ceil(-math.log10(width))))


def closest_phrase(x, text: DutchText) -> str:
    """A closest real figure (regiostat.reconcile.closest.Closest) in words: value (what, where, when; source)."""
    regions = "+".join(x.regions)
    q = Quantity(x.indicator, regions, x.period)
    shown = text.number(x.value, q, _closest_decimals(x.value, x.low, x.high))
    return f"{shown} ({text.label(x.indicator)}, {regions}, {x.period.replace('/', '–')}; {', '.join(x.sources)})"


def _also(closest: Sequence, text: DutchText) -> str:
    """Up to two further figures of other indicators, so a reader sees the neighbouring definitions too."""
    seen = {closest[0].indicator}
    more = []
    for x in closest[1:]:
        if x.indicator not in seen and len(more) < 2:
            seen.add(x.indicator)
            more.append(closest_phrase(x, text))
    return f"; verder {join(more)}" if more else ""


def consistent_with_proxy(c: Claim, closest: Sequence, text: DutchText) -> str:
    return (f"{text.ref(c)} is niet rechtstreeks te controleren, maar past bij het dichtstbijzijnde echte cijfer, "
            f"{closest_phrase(closest[0], text)}{_also(closest, text)}.")


def differs_by_definition(c: Claim, closest: Sequence, text: DutchText) -> str:
    return (f"{text.ref(c)} verschilt in definitie van het dichtstbijzijnde echte cijfer, "
            f"{closest_phrase(closest[0], text)}{_also(closest, text)}.")


def closest_beside(sentence: str, closest: Sequence, text: DutchText) -> str:
    return f"{sentence} Het dichtstbijzijnde echte cijfer is {closest_phrase(closest[0], text)}{_also(closest, text)}."
