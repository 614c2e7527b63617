"""The reconciliation engine: which claims can be true together, which cannot, what we hold and why.

Pure Python; no Dagster, no DuckDB. Everything is computed from claims (model.Claim) and grounded
rules (model.Rule, from rules.instantiate).

Propagation. Every quantity is a real variable; a claim restricts it to [low, high]. Constraint
rules: sum (total = sum of parts; "total >= sum" when params["exhaustive"] == "false"), difference
(change = value(t) - value(t0)), ratio (ratio = numerator / (sum of denominators) x scale). Quantities
in sum and ratio rules are counts or shares and are >= 0, except the targets of difference rules
(changes), which may be negative. Bounds consistency (HC4-style): each rule narrows every one of its
variables from the others (sums by interval subtraction, ratios by interval multiplication/division
on non-negative domains), rules are re-run from a queue when a variable they watch moves, until
nothing moves by more than EPS (relative, 1e-9) or MAX_SWEEPS passes. Band rules never propagate.
Comparisons use EPS = 1e-9 relative: far below any stated precision, so a tolerance never hides a
real violation, it only absorbs float noise (15.55 x 1180 = 18349.000000000004).

Conflicts. Claims are split into components (quantities linked by constraint rules). Within one,
all minimal correction sets (MCS: minimal sets of claims whose removal restores consistency) are
enumerated breadth-first over a hitting-set DAG (Reiter): a node's set H is labelled with a known
minimal conflict disjoint from H, or, if none, we test the rest: consistent -> H is an MCS,
inconsistent -> QuickXplain (Junker) extracts a new minimal conflict. All minimal infeasible subsets
(MUS) then follow exactly, without further solving, as the minimal hitting sets of the MCSes
(Berge's algorithm; the MUS/MCS duality). This needs far fewer consistency checks than enumerating
subsets: 78 for the 12 linked figures of the Dutch TechZone document, against 4096 subsets. Past
NODE_BUDGET nodes we stop, report the conflicts found so far and fall back to greedy correction.

Decisions. Each claim has a priority: (SOURCE_AUTHORITY, STATUS_RANK, vintage, precision), where
precision = - width / |value| (a narrower relative interval is more precise). The claims to drop
are the MCS that is best by, in turn: (1) the tiers (authority, status, vintage) of the dropped
claims, sorted from high to low and compared lexicographically: never drop a claim of a higher tier
when dropping only lower-tier claims (however many) restores consistency; among equal tiers, fewer
is better; (2) the precisions of the dropped claims, most precise first, compared the same way:
drop the least precise figures; (3) claim ids, for a reproducible answer. Because an MCS is a
minimal hitting set of the MUSes, every dropped claim is needed. If enumeration was cut short, the
remaining inconsistency is removed greedily: extract one MUS, drop its lowest-priority claim, repeat.
Per quantity the chosen claim is the highest-priority kept claim. The decided value is its stated
figure when that lies in the feasible interval; otherwise (the figure is a rounding whose interval
only partly overlaps) the number with the fewest decimals in the interval nearest to it.

Cause codes. For two claims on one quantity whose values differ (checked in this order):
  boundary        both name a region boundary / indeling (notes "Boundary: ...") and they differ
  reference_date  both name a reference date (notes "Reference date: ...", as claims files write it)
                  and the dates differ
  revision        same source, different vintage or status (CBS revised a provisional figure)
  rounding        the intervals overlap: only rounding separates the stated values
  transcription   same source and version, no overlap: the source states two values for one quantity
  definition      different sources, no overlap and nothing above explains it: taken as a definition
                  difference (e.g. a document quoting a figure with another definition)
A conflict (MUS) gets the causes of its non-overlapping same-quantity pairs; a conflict that only
runs through rules (one claim per quantity) gets boundary / reference_date if those differ, else
transcription when all its claims come from one source and version (the source's own figures imply
two values for one quantity), revision when one source in several versions, else definition. A
band-rule warning is cause definition. A decision lists the causes of its own disagreements, plus
rounding when its stated figure lies outside the feasible interval.

Verdicts (document claims only). contradicted: the claim was rejected (by which claims, which rules,
the gap); otherwise supported when the kept non-document data (CBS, LISA, derived) bound its quantity
on both sides, else unverifiable (listing the quantities without data). Band violations are warnings.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from regiostat.reconcile.model import CHANGE_PREFIX, SOURCE_AUTHORITY, STATUS_RANK, Claim, Quantity, Rule, find_root
from regiostat.reconcile.precision import hedge_word

EPS = 1e-9
MAX_SWEEPS = 200
NODE_BUDGET = 4000
INF = math.inf
CAUSES = ("rounding", "definition", "reference_date", "revision", "boundary", "transcription")
CAUSE_NL = {"rounding": "afronding", "definition": "definitieverschil", "reference_date": "andere peildatum",
            "revision": "revisie", "boundary": "gewijzigde gebiedsindeling", "transcription": "transcriptiefout"}
KIND_NL = {"cbs_table": "CBS-tabel", "lisa_file": "LISA-bestand", "document": "document", "derived": "afgeleid cijfer"}
Interval = tuple[float, float]
_REFDATE = re.compile(r"(?:reference[ _]date|peildatum)\s*[:=]\s*([^.;]+(?:\.\d[^.;]*)?)", re.I)
_BOUNDARY = re.compile(r"(?:boundary|gebiedsindeling)\s*[:=]\s*([^.;]+)", re.I)


# ---------------------------------------------------------------- public results

@dataclass(frozen=True)
class Conflict:
    """A minimal set of claims that cannot all be true. `implied[c]` is the interval the other claims
    of the set allow for c's quantity, `gaps[c]` how far c's own interval lies from it (in the unit
    of c's indicator); `quantity`/`gap` is the headline: where most claims meet, else the claim dropped."""

    claim_ids: tuple[str, ...]
    rule_ids: tuple[str, ...]
    quantity: Quantity
    gap: float
    causes: tuple[str, ...]
    implied: Mapping[str, Interval] = field(default_factory=dict, compare=False)
    gaps: Mapping[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Rejection:
    claim: Claim
    reason: str  # Dutch, names the figures that exclude the claim
    conflicts: tuple[Conflict, ...]  # the conflicts that force the rejection (their other claims are kept)


@dataclass(frozen=True)
class Decision:
    quantity: Quantity
    value: float | None  # inside `interval`; None when every claim on the quantity was rejected
    interval: Interval  # what all kept claims together allow
    chosen: Claim | None
    kept: tuple[Claim, ...]
    rejected: tuple[Rejection, ...]
    causes: tuple[str, ...]
    sentence: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str  # "supported" | "contradicted" | "unverifiable"
    interval: Interval  # what the evidence allows for the claim's quantity
    by_claims: tuple[str, ...] = ()  # supporting data, or the claims that contradict it
    by_rules: tuple[str, ...] = ()
    gap: float = 0.0
    missing: tuple[Quantity, ...] = ()
    warnings: tuple[str, ...] = ()
    sentence: str = ""


@dataclass(frozen=True)
class Reconciliation:
    intervals: dict[Quantity, Interval]
    conflicts: list[Conflict]
    decisions: list[Decision]
    complete: bool  # False if conflict enumeration hit NODE_BUDGET somewhere


# ---------------------------------------------------------------- interval arithmetic

class _Empty(Exception):
    """Propagation emptied a variable's domain: the claims given cannot all hold."""


def _tol(a: float, b: float = 0.0) -> float:
    """EPS relative to the larger finite magnitude (at least EPS absolute)."""
    m = 1.0
    if -INF < a < INF and abs(a) > m:
        m = abs(a)
    if -INF < b < INF and abs(b) > m:
        m = abs(b)
    return EPS * m


def _narrow(lo: list[float], hi: list[float], v: int, a: float, b: float) -> bool:
    """Intersect variable v with [a, b]; True if it moved by more than the tolerance."""
    a = -INF if a != a else a
    b = INF if b != b else b
    low, high = lo[v], hi[v]
    if a <= low and b >= high:
        return False
    if (a > high and a - high > _tol(a, high)) or (b < low and low - b > _tol(b, low)):
        raise _Empty
    moved = False
    if a > low:
        moved = a - low > _tol(a, low)
        lo[v] = low = min(a, high)
    if b < high:
        moved |= high - b > _tol(b, high)
        hi[v] = max(b, low)
    return moved


def _sum_but(values: Sequence[float], j: int, total: tuple[float, int, int]) -> float:
    """Sum of all values but the j-th, from `total` = (finite sum, number of -inf, number of +inf)."""
    fin, neg, pos = total
    x = values[j]
    if math.isfinite(x):
        fin -= x
    neg, pos = neg - (x == -INF), pos - (x == INF)
    return -INF if neg else INF if pos else fin


def _total(values: Sequence[float]) -> tuple[float, int, int]:
    return math.fsum(x for x in values if math.isfinite(x)), values.count(-INF), values.count(INF)


def _mul(a: Interval, b: Interval) -> Interval:
    """Product of two non-negative intervals (0 x inf = 0: a zero factor is exactly zero)."""
    def m(x: float, y: float) -> float:
        return 0.0 if x == 0 or y == 0 else x * y
    return m(max(a[0], 0.0), max(b[0], 0.0)), m(a[1], b[1])


def _div(a: Interval, b: Interval) -> Interval:
    """Quotient a / b of non-negative intervals; b may touch 0 (then the quotient is unbounded)."""
    if b[1] <= 0:
        return 0.0, INF
    low = 0.0 if b[1] == INF else max(a[0], 0.0) / b[1]
    high = INF if b[0] <= 0 or a[1] == INF else a[1] / b[0]
    return low, high


# ---------------------------------------------------------------- the constraint network

class _Net:
    """Variables (quantities and auxiliaries) and primitive constraints: sum (t = sum p) and ratio."""

    def __init__(self, quantities: Iterable[Quantity], rules: Sequence[Rule]) -> None:
        self.index: dict[Quantity, int] = {}
        self.lo0: list[float] = []
        self.hi0: list[float] = []
        self.cons: list[tuple[str, str, tuple]] = []  # (rule_id, op, args)
        signed = {r.target for r in rules if r.kind == "difference"}
        for q in quantities:
            self._var(q)
        for r in rules:
            t, ins = self._var(r.target), [self._var(q) for q in r.inputs]
            if r.kind == "sum":
                if r.params.get("exhaustive") == "false":
                    ins.append(self._var(None))  # the unnamed rest of the total
                self.cons.append((r.rule_id, "sum", (t, tuple(ins))))
            elif r.kind == "difference":  # change = a - b  <=>  a = change + b
                self.cons.append((r.rule_id, "sum", (ins[0], (t, ins[1]))))
            elif r.kind == "ratio":
                den = ins[1] if len(ins) == 2 else self._var(None)
                if len(ins) > 2:
                    self.cons.append((r.rule_id, "sum", (den, tuple(ins[1:]))))
                self.cons.append((r.rule_id, "ratio", (t, ins[0], den, r.scale)))
            elif r.kind != "band":
                raise ValueError(f"rule {r.rule_id}: unknown kind {r.kind!r}")
            if r.kind == "ratio" and not r.scale > 0:
                raise ValueError(f"rule {r.rule_id}: a ratio needs a positive scale")
        quantity_of = {i: q for q, i in self.index.items()}
        self.watch: list[list[int]] = [[] for _ in self.lo0]
        for k, (_, op, args) in enumerate(self.cons):
            for v in self._vars(op, args):
                self.watch[v].append(k)
                if quantity_of.get(v) not in signed:
                    self.lo0[v] = 0.0  # counts, shares, averages (and auxiliaries) are never negative

    def _var(self, q: Quantity | None) -> int:
        if q is not None and q in self.index:
            return self.index[q]
        self.lo0.append(-INF)
        self.hi0.append(INF)
        if q is not None:
            self.index[q] = len(self.lo0) - 1
        return len(self.lo0) - 1

    @staticmethod
    def _vars(op: str, args: tuple) -> tuple[int, ...]:
        return (args[0], *args[1]) if op == "sum" else args[:3]

    def propagate(self, fixed: Iterable[tuple[int, float, float]],
                  skip: frozenset[str] = frozenset()) -> tuple[list[float], list[float]]:
        """Domains after the claims `fixed` (var, low, high) and all rules not in `skip`; raises _Empty."""
        lo, hi = self.lo0[:], self.hi0[:]
        for v, a, b in fixed:
            _narrow(lo, hi, v, a, b)
        active = [k for k, c in enumerate(self.cons) if c[0] not in skip]
        queue, queued = deque(active), set(active)
        budget = MAX_SWEEPS * max(1, len(active))
        while queue and budget:
            budget -= 1
            k = queue.popleft()
            queued.discard(k)
            for v in self._apply(self.cons[k], lo, hi):
                for k2 in self.watch[v]:
                    if k2 not in queued and self.cons[k2][0] not in skip:
                        queue.append(k2)
                        queued.add(k2)
        return lo, hi

    @staticmethod
    def _apply(con: tuple[str, str, tuple], lo: list[float], hi: list[float]) -> Iterator[int]:
        _, op, args = con
        if op == "sum":
            t, parts = args
            if _narrow(lo, hi, t, sum(lo[p] for p in parts), sum(hi[p] for p in parts)):
                yield t
            plo, phi = [lo[x] for x in parts], [hi[x] for x in parts]  # (a stale bound is only wider: sound)
            slo, shi = _total(plo), _total(phi)
            for j, p in enumerate(parts):
                if _narrow(lo, hi, p, lo[t] - _sum_but(phi, j, shi), hi[t] - _sum_but(plo, j, slo)):
                    yield p
        else:
            r, n, d, s = args
            q = _div((lo[n], hi[n]), (lo[d], hi[d]))
            if _narrow(lo, hi, r, q[0] * s, q[1] * s):
                yield r
            m = _mul((lo[r], hi[r]), (lo[d], hi[d]))
            if _narrow(lo, hi, n, m[0] / s, m[1] / s):
                yield n
            q = _div((lo[n], hi[n]), (lo[r], hi[r]))
            if _narrow(lo, hi, d, q[0] * s, q[1] * s):
                yield d


# ---------------------------------------------------------------- claim priority and causes

def _tier(c: Claim) -> tuple[int, int, str]:
    return SOURCE_AUTHORITY.get(c.source_kind, 0), STATUS_RANK.get(c.status, 0), c.vintage or ""


def _precision(c: Claim) -> float:
    width = c.high - c.low
    return -(width / abs(c.value)) if c.value else -width


def priority(c: Claim) -> tuple[int, int, str, float]:
    """Higher is more trusted: authority, then definitief over voorlopig, then latest vintage, then precision."""
    return (*_tier(c), _precision(c))


def _tag(c: Claim, pattern: re.Pattern[str]) -> str | None:
    m = pattern.search(c.notes or "")
    return m.group(1).strip().lower() if m else None


def _differ(claims: Iterable[Claim], pattern: re.Pattern[str]) -> bool:
    return len({t for c in claims if (t := _tag(c, pattern))}) > 1


def _overlap(a: Claim, b: Claim) -> bool:
    return a.low <= b.high + _tol(a.low, b.high) and b.low <= a.high + _tol(b.low, a.high)


def pair_cause(a: Claim, b: Claim) -> str:
    """Why two claims on the same quantity state different values (see the module docstring)."""
    if _differ((a, b), _BOUNDARY):
        return "boundary"
    if _differ((a, b), _REFDATE):
        return "reference_date"
    if a.source == b.source and (a.vintage, a.status) != (b.vintage, b.status):
        return "revision"
    if _overlap(a, b):
        return "rounding"
    return "transcription" if a.source == b.source else "definition"


def _conflict_causes(claims: Sequence[Claim]) -> tuple[str, ...]:
    causes = {pair_cause(a, b) for i, a in enumerate(claims) for b in claims[i + 1:]
              if a.quantity == b.quantity and not _overlap(a, b)}
    if not causes:
        if _differ(claims, _BOUNDARY):
            causes.add("boundary")
        elif _differ(claims, _REFDATE):
            causes.add("reference_date")
        elif len({c.source for c in claims}) == 1:
            causes.add("revision" if len({(c.vintage, c.status) for c in claims}) > 1 else "transcription")
        else:
            causes.add("definition")
    return tuple(c for c in CAUSES if c in causes)


# ---------------------------------------------------------------- conflict search in one component

def _minimal(sets: Iterable[frozenset[int]]) -> list[frozenset[int]]:
    out: list[frozenset[int]] = []
    for s in sorted(set(sets), key=lambda s: (len(s), sorted(s))):
        if not any(o <= s for o in out):
            out.append(s)
    return out


def _minimal_hitting_sets(family: Sequence[frozenset[int]]) -> list[frozenset[int]]:
    """Berge's algorithm: all minimal sets meeting every set of the family."""
    hs: list[frozenset[int]] = [frozenset()]
    for s in family:
        grown: list[frozenset[int]] = []
        for h in hs:
            grown += [h] if h & s else [h | {e} for e in s]
        hs = _minimal(grown)
    return hs


class _Component:
    """Claims whose quantities are linked by constraint rules, with memoised consistency checks."""

    def __init__(self, claims: Sequence[Claim], rules: Sequence[Rule]) -> None:
        ordered = sorted(claims, key=lambda c: c.claim_id)
        self.claims = sorted(ordered, key=priority, reverse=True)  # most trusted first; index = rank
        self.rules = list(rules)
        quantities = sorted({c.quantity for c in claims} | {q for r in rules for q in (r.target, *r.inputs)})
        self.net = _Net(quantities, self.rules)
        self.var = [self.net.index[c.quantity] for c in self.claims]
        self.everything = frozenset(range(len(self.claims)))
        self._memo: dict[tuple[frozenset[int], frozenset[str]], bool] = {}
        self.complete = True

    def run(self, ids: Iterable[int], skip: frozenset[str] = frozenset()) -> tuple[list[float], list[float]]:
        return self.net.propagate(((self.var[i], self.claims[i].low, self.claims[i].high) for i in sorted(ids)), skip)

    def feasible(self, ids: frozenset[int], skip: frozenset[str] = frozenset()) -> bool:
        key = (ids, skip)
        if key not in self._memo:
            try:
                self.run(ids, skip)
                self._memo[key] = True
            except _Empty:
                self._memo[key] = False
        return self._memo[key]

    def solve(self, ids: frozenset[int]) -> tuple[list[float], list[float]] | None:
        """The domains after the claims `ids` and all rules, None if they cannot all hold (memoised as
        feasible() would; a set already known to be infeasible is not solved again)."""
        key = (ids, frozenset())
        if self._memo.get(key) is False:
            return None
        try:
            bounds = self.run(ids)
        except _Empty:
            bounds = None
        self._memo[key] = bounds is not None
        return bounds

    def interval(self, ids: frozenset[int], q: Quantity) -> Interval:
        lo, hi = self.run(ids)
        v = self.net.index[q]
        return lo[v], hi[v]

    def quickxplain(self, candidates: Sequence[int]) -> frozenset[int]:
        """One minimal conflict inside the inconsistent `candidates` (Junker 2004)."""
        def qx(base: frozenset[int], delta: bool, cs: Sequence[int]) -> frozenset[int]:
            if delta and not self.feasible(base):
                return frozenset()
            if len(cs) == 1:
                return frozenset(cs)
            c1, c2 = cs[:len(cs) // 2], cs[len(cs) // 2:]
            d2 = qx(base | set(c1), True, c2)
            d1 = qx(base | d2, bool(d2), c1)
            return d1 | d2
        return qx(frozenset(), False, list(candidates))

    def analyse(self) -> tuple[list[frozenset[int]], frozenset[int], tuple[list[float], list[float]]]:
        """(all MUSes, the claims to drop, the domains the kept claims allow). See the module docstring."""
        if (bounds := self.solve(self.everything)) is not None:
            return [], frozenset(), bounds
        known: list[frozenset[int]] = []
        mcses: list[frozenset[int]] = []
        level: list[frozenset[int]] = [frozenset()]
        nodes = 0
        while level and self.complete:
            nxt: set[frozenset[int]] = set()
            for h in level:
                if any(m <= h for m in mcses):
                    continue
                nodes += 1
                if nodes > NODE_BUDGET:
                    self.complete = False
                    break
                mus = next((m for m in known if not m & h), None)
                if mus is None:
                    if self.feasible(self.everything - h):
                        mcses.append(h)
                        continue
                    mus = self.quickxplain(sorted(self.everything - h))
                    known.append(mus)
                nxt.update(h | {e} for e in mus)
            level = sorted(nxt, key=sorted)
        drop: frozenset[int] = frozenset()
        if self.complete:
            muses = _minimal_hitting_sets(mcses)
            drop = min(mcses, key=self._drop_key)
        else:
            muses = _minimal(known)
        while (bounds := self.solve(self.everything - drop)) is None:  # only after an incomplete search
            mus = self.quickxplain(sorted(self.everything - drop))
            muses = _minimal([*muses, mus])
            drop |= {max(mus)}  # the claim of lowest priority
        return muses, drop, bounds

    def _drop_key(self, ids: frozenset[int]) -> tuple:
        cs = [self.claims[i] for i in ids]
        return (sorted(map(_tier, cs), reverse=True), sorted(map(_precision, cs), reverse=True),
                sorted(c.claim_id for c in cs))

    def conflict(self, mus: frozenset[int], drop: frozenset[int]) -> Conflict:
        claims = [self.claims[i] for i in sorted(mus)]
        implied = {self.claims[i].claim_id: self.interval(mus - {i}, self.claims[i].quantity) for i in mus}
        gaps = {c.claim_id: max(implied[c.claim_id][0] - c.high, c.low - implied[c.claim_id][1], 0.0) for c in claims}
        # the rules the conflict needs: without any one of them its claims could all hold
        rules = sorted({r.rule_id for r in self.rules if self.feasible(mus, frozenset({r.rule_id}))})
        per_q = defaultdict(int)
        for c in claims:
            per_q[c.quantity] += 1
        # headline: the quantity most claims of the conflict are about, else the claim that is dropped
        head = max(sorted(mus), key=lambda i: (per_q[self.claims[i].quantity], i in drop, i))
        return Conflict(claim_ids=tuple(sorted(c.claim_id for c in claims)), rule_ids=tuple(rules),
                        quantity=self.claims[head].quantity, gap=gaps[self.claims[head].claim_id],
                        causes=_conflict_causes(claims), implied=implied, gaps=gaps)


def _components(claims: Sequence[Claim], rules: Sequence[Rule],
                only: Iterable[Quantity] | None = None) -> list[_Component]:
    """The claims split into components (linked by constraint rules); with `only`, just the components
    that hold one of those quantities."""
    parent: dict[Quantity, Quantity] = {}
    constraints = [r for r in rules if r.kind != "band"]
    for r in constraints:
        for q in r.inputs:
            parent[find_root(parent, q)] = find_root(parent, r.target)
    wanted = None if only is None else {find_root(parent, q) for q in only}
    by_root: dict[Quantity, tuple[list[Claim], list[Rule]]] = defaultdict(lambda: ([], []))
    for c in claims:
        root = find_root(parent, c.quantity)
        if wanted is None or root in wanted:
            by_root[root][0].append(c)
    for r in constraints:
        if find_root(parent, r.target) in by_root:
            by_root[find_root(parent, r.target)][1].append(r)
    return [_Component(cs, rs) for _, (cs, rs) in sorted(by_root.items())]


def _check(claims: Sequence[Claim], rules: Sequence[Rule]) -> None:
    for kind, items in (("claim", [c.claim_id for c in claims]), ("rule", [r.rule_id for r in rules])):
        seen: set[str] = set()
        for i in items:
            if i in seen:
                raise ValueError(f"{kind} id {i!r} is used twice")
            seen.add(i)


# ---------------------------------------------------------------- Dutch text

def _decimals(x: float) -> int:
    return next((d for d in range(7) if abs(round(x, d) - x) <= 1e-9 * max(1.0, abs(x))), 6)


def _nl(x: float, d: int) -> str:
    s = f"{abs(x):,.{d}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return ("-" if x < 0 and round(abs(x), d) else "") + s


class _Text:
    """Renders figures, intervals and claims in Dutch for one claim set."""

    def __init__(self, rules: Sequence[Rule], labels: Mapping[str, str] | None) -> None:
        self.labels = dict(labels or {})
        self.percent = {r.target for r in rules if r.kind == "ratio" and r.scale == 100}

    def label(self, code: str) -> str:
        if code in self.labels:
            return self.labels[code]
        if code.startswith(CHANGE_PREFIX):
            return f"verandering {self.label(code.removeprefix(CHANGE_PREFIX))}"
        return code

    def quantity(self, q: Quantity) -> str:
        return f"{self.label(q.indicator)} {self.label(q.region)} {q.period.replace('/', '–')}"

    def number(self, x: float, q: Quantity, d: int | None = None) -> str:
        return _nl(x, _decimals(x) if d is None else d) + ("%" if q in self.percent else "")

    def interval(self, iv: Interval, q: Quantity, d: int) -> str:
        f = 10 ** d
        lo = math.floor(iv[0] * f + 1e-6) / f if math.isfinite(iv[0]) else -INF
        hi = math.ceil(iv[1] * f - 1e-6) / f if math.isfinite(iv[1]) else INF
        if lo == -INF and hi == INF:
            return "elke waarde"
        if lo == -INF:
            return f"ten hoogste {self.number(hi, q, d)}"
        if hi == INF:
            return f"ten minste {self.number(lo, q, d)}"
        if lo == hi:
            return self.number(lo, q, d)
        return f"{_nl(lo, d)}–{self.number(hi, q, d)}"

    def figure(self, c: Claim) -> str:
        hedge = hedge_word(c.precision or "")
        return (f"{hedge} " if hedge else "") + self.number(c.value, c.quantity)

    def ref(self, c: Claim) -> str:
        return f"{self.figure(c)} ({self.label(c.quantity.indicator)} {c.quantity.period.replace('/', '–')})"

    @staticmethod
    def source(c: Claim) -> str:
        extra = ", ".join(x for x in (c.status, f"versie {c.vintage}" if c.vintage else None) if x)
        return f"{KIND_NL.get(c.source_kind, c.source_kind)} {c.source}" + (f", {extra}" if extra else "")


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


def _why_lower(c: Claim, others: Sequence[Claim]) -> str:
    """Why c gives way to the strongest other claim, when a priority (not only consistency) decides."""
    top = max(others, key=priority)
    (ka, sa, va), (kc, sc, vc) = _tier(top), _tier(c)
    if ka > kc:
        return f" ({KIND_NL.get(top.source_kind)} gaat voor {KIND_NL.get(c.source_kind)})"
    if ka == kc and sa > sc:
        return f" ({top.status} gaat voor {c.status or 'een cijfer zonder status'})"
    if ka == kc and sa == sc and va > vc:
        return f" (versie {top.vintage} gaat voor {c.vintage or 'een ongedateerde versie'})"
    return ""


def _reason(c: Claim, conflicts: Sequence[Conflict], by_id: Mapping[str, Claim], text: _Text) -> str:
    """Names the figures that exclude c: every two-claim clash on its quantity, and the smallest set of
    figures that excludes it through the rules (the widest gap among equals); the count of the rest."""
    pairs = [m for m in conflicts if len(m.claim_ids) == 2 and len({by_id[i].quantity for i in m.claim_ids}) == 1]
    chains = sorted((m for m in conflicts if m not in pairs), key=lambda m: (len(m.claim_ids), -m.gaps[c.claim_id]))
    parts, others_all = [], []
    for m in chains[:1] + pairs:
        others = [by_id[i] for i in m.claim_ids if i != c.claim_id]
        others_all += others
        if len(others) == 1 and others[0].quantity == c.quantity:
            o = others[0]
            cause = pair_cause(c, o)
            if cause == "transcription":
                where = "hetzelfde document" if c.source_kind == "document" else "dezelfde bron"
                parts.append(f"{text.figure(c)} en {text.figure(o)} staan beide in {where} (transcriptiefout)")
            elif cause == "revision":
                parts.append(f"{text.source(c)} geeft {text.figure(c)}, {text.source(o)} geeft "
                             f"{text.figure(o)} (revisie)")
            else:
                parts.append(f"{text.figure(o)} ({text.source(o)}) sluit {text.figure(c)} uit ({CAUSE_NL[cause]})")
        else:
            verb = "laat" if len(others) == 1 else "laten"
            iv = text.interval(m.implied[c.claim_id], c.quantity, _decimals(c.value))
            parts.append(f"{_join([text.ref(o) for o in others])} {verb} {iv} toe, wat {text.figure(c)} uitsluit")
    if len(chains) > 1:
        parts[0] += f" (en {len(chains) - 1} andere combinatie{'s' if len(chains) > 2 else ''} van cijfers)"
    return f"{text.figure(c)} valt af" + (_why_lower(c, others_all) if others_all else "") + ": " + "; ".join(parts)


def _sentence(q: Quantity, value: float | None, iv: Interval, chosen: Claim | None, kept: Sequence[Claim],
              rejections: Sequence[Rejection], warnings: Sequence[str], text: _Text) -> str:
    """"Voor <quantity> houden we <value> aan: <why the others go>." in Dutch, numbers computed."""
    d = _decimals(chosen.value) if chosen else max((_decimals(r.claim.value) for r in rejections), default=0)
    head = f"Voor {text.quantity(q)}"
    if chosen is None:
        out = f"{head} houden we geen waarde aan"
    elif value == chosen.value:
        out = f"{head} houden we {text.number(chosen.value, q)} aan"
    else:  # the stated figure is a rounding; its interval only partly overlaps what the others allow
        shown = text.interval(iv, q, d + 1 if iv[1] - iv[0] < 10 ** -d else d)
        out = (f"{head} houden we {text.number(value, q)} aan ({text.figure(chosen)} in de bron; binnen de "
               f"afronding daarvan laten de overige cijfers alleen {shown} toe)")
    details = [r.reason for r in rejections]
    details += [f"{text.figure(o)} ({text.source(o)}) past er ook bij ({CAUSE_NL[pair_cause(chosen, o)]})"
                for o in kept[1:] if chosen and o.value != chosen.value]
    if chosen is None:
        details.append(f"de overige cijfers laten {text.interval(iv, q, d)} toe")
    out += (": " + "; ".join(details) if details else "") + "."
    return out + "".join(f" Let op: {w}." for w in warnings)


def _decided_value(stated: float, iv: Interval) -> float:
    """The stated figure if the interval allows it, else the value with the fewest decimals in the
    interval nearest to it (18.300 with 18.349-18.350 allowed -> 18.349)."""
    lo, hi = iv
    if lo - _tol(lo, stated) <= stated <= hi + _tol(hi, stated):
        return stated
    target = min(max(stated, lo), hi)
    for d in range(10):
        f = 10 ** d
        for x in sorted({math.floor(target * f + 1e-6) / f, math.ceil(target * f - 1e-6) / f},
                        key=lambda x: abs(x - stated)):
            if lo - _tol(lo) <= x <= hi + _tol(hi):
                return x
    return target


# ---------------------------------------------------------------- the pipeline

def _band_warnings(rules: Sequence[Rule], values: Mapping[Quantity, float | None],
                   intervals: Mapping[Quantity, Interval], text: _Text) -> dict[Quantity, list[str]]:
    out: dict[Quantity, list[str]] = defaultdict(list)
    for r in rules:
        if r.kind != "band" or r.band is None:
            continue
        a, b = r.target, r.inputs[0]
        va, vb = values.get(a), values.get(b)
        if va is not None and vb is not None:
            ratio = _div((va, va), (vb, vb))
        elif a in intervals and b in intervals:
            ratio = _div(intervals[a], intervals[b])
        else:
            continue
        low, high = r.band
        if ratio[0] > high + _tol(high) or ratio[1] < low - _tol(low):
            shown = _nl(ratio[0], 2) if ratio[0] == ratio[1] else f"{_nl(ratio[0], 2)}–{_nl(ratio[1], 2)}"
            msg = (f"{text.label(a.indicator)} is {shown} keer {text.label(b.indicator)} "
                   f"({text.label(a.region)} {a.period}), buiten de band {_nl(low, 2)}–{_nl(high, 2)} van {r.rule_id}: "
                   f"een definitieverschil om uit te zoeken, geen reden om een cijfer te verwerpen")
            out[a].append(msg)
            out[b].append(msg)
    return out


def reconcile(claims: Sequence[Claim], rules: Sequence[Rule], *,
              labels: Mapping[str, str] | None = None) -> Reconciliation:
    """Everything at once: feasible intervals, conflicts and decisions (one search per component)."""
    _check(claims, rules)
    text = _Text(rules, labels)
    by_id = {c.claim_id: c for c in claims}
    intervals: dict[Quantity, Interval] = {}
    conflicts: list[Conflict] = []
    dropped: set[str] = set()
    forcing: dict[str, list[Conflict]] = defaultdict(list)  # rejected claim -> conflicts that force it out
    complete = True
    for comp in _components(claims, rules):
        muses, drop, (lo, hi) = comp.analyse()
        complete &= comp.complete
        drop_ids = {comp.claims[i].claim_id for i in drop}
        dropped |= drop_ids
        comp_conflicts = [comp.conflict(m, drop) for m in muses]
        conflicts += comp_conflicts
        for m in comp_conflicts:
            for cid in set(m.claim_ids) & drop_ids:
                if not (set(m.claim_ids) - {cid}) & drop_ids:
                    forcing[cid].append(m)
        for cid in drop_ids:  # greedy fallback: a dropped claim may share every conflict with another
            forcing[cid] = forcing[cid] or [m for m in comp_conflicts if cid in m.claim_ids]
        intervals.update({q: (lo[v], hi[v]) for q, v in comp.net.index.items()})

    values: dict[Quantity, float | None] = {}
    drafts = []
    by_quantity: dict[Quantity, list[Claim]] = defaultdict(list)
    for c in sorted(claims, key=lambda c: c.claim_id):
        by_quantity[c.quantity].append(c)
    for q in sorted(by_quantity):
        on_q = sorted(by_quantity[q], key=priority, reverse=True)
        kept = tuple(c for c in on_q if c.claim_id not in dropped)
        chosen = kept[0] if kept else None
        values[q] = _decided_value(chosen.value, intervals[q]) if chosen else None
        drafts.append((q, on_q, kept, chosen))
    warnings = _band_warnings(rules, values, intervals, text)

    decisions = []
    for q, on_q, kept, chosen in drafts:
        iv, value = intervals[q], values[q]
        rejections = tuple(Rejection(c, _reason(c, forcing[c.claim_id], by_id, text), tuple(forcing[c.claim_id]))
                           for c in on_q if c.claim_id in dropped)
        causes = {pair_cause(chosen, o) for o in on_q if chosen and o.value != chosen.value}
        causes |= {x for r in rejections for m in r.conflicts for x in m.causes}
        if chosen and value != chosen.value:
            causes.add("rounding")
        if warnings.get(q):
            causes.add("definition")
        sentence = _sentence(q, value, iv, chosen, kept, rejections, warnings.get(q, []), text)
        decisions.append(Decision(q, value, iv, chosen, kept, rejections, tuple(c for c in CAUSES if c in causes),
                                  sentence, tuple(warnings.get(q, []))))
    return Reconciliation(intervals, conflicts, decisions, complete)


def feasible_intervals(claims: Sequence[Claim], rules: Sequence[Rule]) -> dict[Quantity, Interval]:
    """What every quantity (claimed or linked by a rule) can be, given all mutually consistent claims
    (the claims `decide` keeps)."""
    return reconcile(claims, rules).intervals


def conflicts(claims: Sequence[Claim], rules: Sequence[Rule]) -> list[Conflict]:
    """All minimal sets of claims that cannot all be true (per component; see the module docstring)."""
    return reconcile(claims, rules).conflicts


def decide(claims: Sequence[Claim], rules: Sequence[Rule], *,
           labels: Mapping[str, str] | None = None) -> list[Decision]:
    """Per claimed quantity: the value we hold, the interval, chosen/kept/rejected claims and why."""
    return reconcile(claims, rules, labels=labels).decisions


def verdicts(claims: Sequence[Claim], rules: Sequence[Rule], decisions: Sequence[Decision], *,
             labels: Mapping[str, str] | None = None) -> list[Verdict]:
    """Supported / contradicted / unverifiable for every document claim (see the module docstring)."""
    text = _Text(rules, labels)
    rejected = {r.claim.claim_id: (r, d) for d in decisions for r in d.rejected}
    warn = {d.quantity: d.warnings for d in decisions}
    data = [c for c in claims if c.source_kind != "document" and c.claim_id not in rejected]
    data_q = {c.quantity for c in data}
    constraints = [r for r in rules if r.kind != "band"]
    neighbours: dict[Quantity, set[Quantity]] = defaultdict(set)
    for r in constraints:
        for q in (r.target, *r.inputs):
            neighbours[q] |= {r.target, *r.inputs} - {q}
    reach: dict[Quantity, tuple[Interval, list[str], list[str]]] = {}  # what the kept data allow; which data, rules
    asked = {c.quantity for c in claims if c.source_kind == "document" and c.claim_id not in rejected}
    for comp in _components(data, rules, only=asked):  # only the components a verdict reads
        try:
            lo, hi = comp.run(comp.everything)
        except _Empty:
            raise ValueError("the kept data claims are inconsistent: pass the decisions of these claims") from None
        used = (sorted(c.claim_id for c in comp.claims), sorted(r.rule_id for r in comp.rules))
        reach.update({q: ((lo[v], hi[v]), *used) for q, v in comp.net.index.items()})

    out = []
    for c in (c for c in claims if c.source_kind == "document"):
        q, warnings = c.quantity, tuple(warn.get(c.quantity, ()))
        if c.claim_id in rejected:
            rej, dec = rejected[c.claim_id]
            gap = max((m.gaps.get(c.claim_id, 0.0) for m in rej.conflicts), default=0.0)
            by = sorted({i for m in rej.conflicts for i in m.claim_ids} - {c.claim_id})
            rules_used = sorted({i for m in rej.conflicts for i in m.rule_ids})
            out.append(Verdict(c, "contradicted", dec.interval, tuple(by), tuple(rules_used), gap, (), warnings,
                               f"{text.ref(c)} wordt tegengesproken en valt af{rej.reason.partition(' valt af')[2]}."))
            continue
        iv, ids, rule_ids = reach.get(q, ((-INF, INF), [], []))
        if math.isfinite(iv[0]) and math.isfinite(iv[1]):
            gap = max(iv[0] - c.high, c.low - iv[1], 0.0)
            shown = text.interval(iv, q, _decimals(c.value))
            if gap > _tol(iv[0], iv[1]):  # only reachable when the search was cut short
                out.append(Verdict(c, "contradicted", iv, tuple(ids), tuple(rule_ids), gap, (), warnings,
                                   f"{text.ref(c)} wordt tegengesproken: de gegevens laten {shown} toe."))
            else:
                out.append(Verdict(c, "supported", iv, tuple(ids), tuple(rule_ids), 0.0, (), warnings,
                                   f"{text.ref(c)} klopt met de gegevens, die {shown} toelaten."))
            continue
        missing = tuple(sorted(x for x in {q} | neighbours[q] if x not in data_q))
        out.append(Verdict(c, "unverifiable", iv, tuple(ids), tuple(rule_ids), 0.0, missing, warnings,
                           f"{text.ref(c)} is niet te controleren: er zijn geen gegevens over "
                           f"{_join([text.quantity(x) for x in missing])}."))
    return out
