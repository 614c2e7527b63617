"""Bounds propagation: what every quantity can be, given claims as intervals and rules as constraints.

Every quantity is a real variable; a claim restricts it to [low, high]. Constraint rules: sum (total =
sum of parts; "total >= sum" when params["exhaustive"] == "false"), difference (change = value(t) -
value(t0)), ratio (ratio = numerator / (sum of denominators) x scale). Sign domains: the terms of a
ratio (shares, averages and the counts they divide) and the unnamed rest of a non-exhaustive sum are
>= 0; every other term of a rule is >= 0 too unless ``signed`` says it may be negative (changes, and
quantities such as net migration: see signed_quantities), so negative values and changes may stand
anywhere in sums and differences. Bounds consistency (HC4-style): each rule narrows every one of its
variables from the others (sums by interval subtraction, ratios by interval multiplication/division on
non-negative domains), rules are re-run from a queue when a variable they watch moves, until nothing
moves by more than EPS (relative, 1e-9) or MAX_SWEEPS passes. Band rules never propagate.

The sign domain holds for a claimed quantity in no rule too: a share of -3% is excluded on its own.

Exact when the rules form a tree (no cycle through rules and quantities): every bound left then has a
solution. On cyclic rule sets (tables with margins) the domains are sound outer bounds only, and
consistency is decided by the linear program of regiostat.reconcile.linear.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence

from regiostat.reconcile.intervals import INF, div, finite_total, mul, narrow, sum_but
from regiostat.reconcile.model import CHANGE_PREFIX, UNMAPPED_PREFIX, Claim, Quantity, Rule

MAX_SWEEPS = 200
Constraint = tuple[str, str, tuple]  # (rule_id, "sum" | "ratio", args)


def signed_quantities(claims: Iterable[Claim]) -> Callable[[Quantity], bool]:
    """Which quantities may be negative: every change, and every quantity of an indicator that a source
    publishes negative somewhere (a negative figure in the data says the indicator is a balance, e.g. net
    migration). A document's negative figure does not widen the domain: it is checked against it (a
    count that is never negative keeps the inference "a part is at most its total")."""
    negative = {c.quantity.indicator for c in claims if c.low < 0 and c.source_kind != "document"}
    return lambda q: changes_only(q) or q.indicator in negative


def changes_only(q: Quantity) -> bool:
    """The default sign domain: only changes (and quantities of no known indicator) may be negative."""
    return q.indicator.startswith((CHANGE_PREFIX, UNMAPPED_PREFIX))


class ConstraintNetwork:
    """Variables (quantities and auxiliaries) and primitive constraints: sum (t = sum p) and ratio."""

    def __init__(self, quantities: Iterable[Quantity], rules: Sequence[Rule],
                 signed: Callable[[Quantity], bool] = changes_only) -> None:
        self.index: dict[Quantity, int] = {}
        self.lo0: list[float] = []
        self.hi0: list[float] = []
        self.cons: list[Constraint] = []
        for q in quantities:
            self._var(q)
        for r in rules:
            self._add_rule(r)
        quantity_of = {i: q for q, i in self.index.items()}
        self.watch: list[list[int]] = [[] for _ in self.lo0]
        for v in range(len(self.lo0)):
            q = quantity_of.get(v)
            if q is None or not signed(q):
                self.lo0[v] = 0.0  # counts, shares, averages (and auxiliaries) are never negative
        for k, (_, op, args) in enumerate(self.cons):
            for v in self._vars(op, args):
                self.watch[v].append(k)
                if op == "ratio":
                    self.lo0[v] = 0.0  # a ratio divides non-negative quantities

    def _add_rule(self, r: Rule) -> None:
        """The rule as primitive constraints (a difference is a sum, a ratio of several denominators a
        ratio of their sum); a band adds nothing."""
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

    def propagate(self, fixed: Iterable[tuple[int, float, float]], skip: frozenset[str] = frozenset(),
                  sweeps: int = MAX_SWEEPS) -> tuple[list[float], list[float]]:
        """Domains after the claims `fixed` (var, low, high) and all rules not in `skip`; raises EmptyDomain.
        Fewer `sweeps` stop earlier with wider (still sound) domains: a quick first test."""
        lo, hi = self.lo0[:], self.hi0[:]
        for v, a, b in fixed:
            narrow(lo, hi, v, a, b)
        active = [k for k, c in enumerate(self.cons) if c[0] not in skip]
        queue, queued = deque(active), set(active)
        budget = sweeps * max(1, len(active))
        while queue and budget:
            budget -= 1
            k = queue.popleft()
            queued.discard(k)
            for v in apply_constraint(self.cons[k], lo, hi):
                for k2 in self.watch[v]:
                    if k2 not in queued and self.cons[k2][0] not in skip:
                        queue.append(k2)
                        queued.add(k2)
        return lo, hi


def apply_constraint(con: Constraint, lo: list[float], hi: list[float]) -> Iterator[int]:
    """Narrow every variable of one constraint from the others; yields the variables that moved."""
    _, op, args = con
    if op == "sum":
        yield from _apply_sum(args, lo, hi)
    else:
        yield from _apply_ratio(args, lo, hi)


def _apply_sum(args: tuple, lo: list[float], hi: list[float]) -> Iterator[int]:
    t, parts = args
    if narrow(lo, hi, t, sum(lo[p] for p in parts), sum(hi[p] for p in parts)):
        yield t
    plo, phi = [lo[x] for x in parts], [hi[x] for x in parts]  # (a stale bound is only wider: sound)
    slo, shi = finite_total(plo), finite_total(phi)
    for j, p in enumerate(parts):
        if narrow(lo, hi, p, lo[t] - sum_but(phi, j, shi), hi[t] - sum_but(plo, j, slo)):
            yield p


def _apply_ratio(args: tuple, lo: list[float], hi: list[float]) -> Iterator[int]:
    r, n, d, s = args
    q = div((lo[n], hi[n]), (lo[d], hi[d]))
    if narrow(lo, hi, r, q[0] * s, q[1] * s):
        yield r
    m = mul((lo[r], hi[r]), (lo[d], hi[d]))
    if narrow(lo, hi, n, m[0] / s, m[1] / s):
        yield n
    q = div((lo[n], hi[n]), (lo[r], hi[r]))
    if narrow(lo, hi, d, q[0] * s, q[1] * s):
        yield d
