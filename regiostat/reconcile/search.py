"""Conflict search: which sets of claims cannot all be true, and which claims to drop so the rest can.

Claims are split into components (quantities linked by constraint rules). Within one, all minimal
correction sets (MCS: minimal sets of claims whose removal restores consistency) are enumerated
breadth-first over a hitting-set DAG (Reiter): a node's set H is labelled with a known minimal conflict
disjoint from H, or, if none, we test the rest: consistent -> H is an MCS, inconsistent -> QuickXplain
(Junker) extracts a new minimal conflict. All minimal infeasible subsets (MUS) then follow exactly,
without further solving, as the minimal hitting sets of the MCSes (Berge's algorithm; the MUS/MCS
duality). This needs far fewer consistency checks than enumerating subsets: 78 for the 12 linked
figures of the Dutch TechZone document, against 4096 subsets. Which MCS is dropped is decided by
regiostat.reconcile.priority.drop_key; because an MCS is a minimal hitting set of the MUSes, every
dropped claim is needed.

Consistency checks are exact: by propagation when the component's rules form a tree, else by the
linear program of regiostat.reconcile.linear. A large component (more than HITTING_SET_MAX claims; for
cyclic rules, where correction sets multiply, CYCLIC_HITTING_SET_MAX), or one whose hitting-set search
passes its node budget (for cyclic rules CYCLIC_NODE_BUDGET), is localised by the mixed-integer program
instead (Fellegi-Holt: the best set of claims to drop, exactly); its conflicts are then one minimal
conflict per dropped claim (the one that forces it), not every minimal conflict. Only a component
that is neither a tree nor linear (a ratio whose ratio takes part in another rule) and too large
falls back to greedy correction: extract one MUS, drop its lowest-priority claim, repeat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from regiostat.reconcile.causes import conflict_causes
from regiostat.reconcile.intervals import EmptyDomain, Interval
from regiostat.reconcile.linear import LinearModel
from regiostat.reconcile.model import Claim, Quantity, Rule, find_root
from regiostat.reconcile.priority import drop_key, priority, tier
from regiostat.reconcile.propagation import ConstraintNetwork, changes_only
from regiostat.reconcile.results import Conflict

Bounds = tuple[list[float], list[float]]
HITTING_SET_MAX = 24  # claims in a rule tree beyond which the mixed-integer program localises the errors
CYCLIC_HITTING_SET_MAX = 16  # the same for cyclic rules (tables), where correction sets multiply fast,
CYCLIC_NODE_BUDGET = 64  # so their hitting-set search also gets a smaller node budget
_NOT_BUILT = object()


def is_tree(net: ConstraintNetwork) -> bool:
    """Do the constraints and the variables they share form a forest (no cycle)? Then propagation is exact."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def root(x: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k, (_, op, args) in enumerate(net.cons):
        for v in set(net._vars(op, args)):
            a, b = root(("c", k)), root(("v", v))
            if a == b:
                return False
            parent[a] = b
    return True


def minimal(sets: Iterable[frozenset[int]]) -> list[frozenset[int]]:
    """The inclusion-minimal sets among `sets`, smallest first (ties in element order)."""
    out: list[frozenset[int]] = []
    for s in sorted(set(sets), key=lambda s: (len(s), sorted(s))):
        if not any(o <= s for o in out):
            out.append(s)
    return out


def minimal_hitting_sets(family: Sequence[frozenset[int]]) -> list[frozenset[int]]:
    """Berge's algorithm: all minimal sets meeting every set of the family."""
    hs: list[frozenset[int]] = [frozenset()]
    for s in family:
        grown: list[frozenset[int]] = []
        for h in hs:
            grown += [h] if h & s else [h | {e} for e in s]
        hs = minimal(grown)
    return hs


class Component:
    """Claims whose quantities are linked by constraint rules, with memoised consistency checks.
    Claims are indexed by rank: 0 is the most trusted."""

    def __init__(self, claims: Sequence[Claim], rules: Sequence[Rule],
                 signed: Callable[[Quantity], bool] = changes_only) -> None:
        ordered = sorted(claims, key=lambda c: c.claim_id)
        self.claims = sorted(ordered, key=priority, reverse=True)  # most trusted first; index = rank
        self.rules = list(rules)
        self._quantities_of: dict[str, set[Quantity]] = defaultdict(set)
        for r in self.rules:
            self._quantities_of[r.rule_id] |= {r.target, *r.inputs}
        quantities = sorted({c.quantity for c in claims} | {q for r in rules for q in (r.target, *r.inputs)})
        self.net = ConstraintNetwork(quantities, self.rules, signed)
        self.tree = is_tree(self.net)
        self._linear: object = _NOT_BUILT
        self.var = [self.net.index[c.quantity] for c in self.claims]
        self.everything = frozenset(range(len(self.claims)))
        self._memo: dict[tuple[frozenset[int], frozenset[str]], bool] = {}
        self.complete = True  # every minimal conflict was found
        self.optimal = True  # the claims dropped are a best correction (not a greedy one)

    @property
    def linear(self) -> LinearModel | None:
        """The component as a linear program (built when first asked), None when it is not linear."""
        if self._linear is _NOT_BUILT:
            self._linear = LinearModel.of(self.net)
        return self._linear  # type: ignore[return-value]

    def fixed(self, ids: Iterable[int]) -> list[tuple[int, float, float]]:
        return [(self.var[i], self.claims[i].low, self.claims[i].high) for i in sorted(ids)]

    def run(self, ids: Iterable[int], skip: frozenset[str] = frozenset()) -> Bounds:
        return self.net.propagate(self.fixed(ids), skip)

    def _check(self, ids: frozenset[int], skip: frozenset[str]) -> bool:
        """Exact consistency: the linear program on a cyclic linear component, else propagation (exact on a
        tree; on a cyclic non-linear component the best this engine has)."""
        if not self.tree and self.linear is not None:
            return self.linear.feasible(self.fixed(ids), skip)
        try:
            self.run(ids, skip)
        except EmptyDomain:
            return False
        return True

    def feasible(self, ids: frozenset[int], skip: frozenset[str] = frozenset()) -> bool:
        key = (ids, skip)
        if key not in self._memo:
            self._memo[key] = self._check(ids, skip)
        return self._memo[key]

    def solve(self, ids: frozenset[int]) -> Bounds | None:
        """The domains after the claims `ids` and all rules, None if they cannot all hold."""
        if not self.feasible(ids):
            return None
        try:
            lo, hi = self.run(ids)
        except EmptyDomain:  # only a borderline set the linear program accepts within its tolerance
            lo, hi = self.net.propagate([(v, a - 1e-6 * max(1, abs(a)), b + 1e-6 * max(1, abs(b)))
                                         for v, a, b in self.fixed(ids)])
        if not self.tree and self.linear is not None:  # propagation's bounds are outer bounds here: tighten
            exact = self.linear.ranges(self.fixed(ids), sorted({self.var[i] for i in ids})) or {}
            for v, (a, b) in exact.items():
                lo[v], hi[v] = max(lo[v], a), min(hi[v], b)
        return lo, hi

    def interval(self, ids: frozenset[int], q: Quantity) -> Interval:
        v = self.net.index[q]
        if not self.tree and self.linear is not None and v not in self.linear.ratio_vars:
            exact = self.linear.range(self.fixed(ids), v)
            if exact is not None:
                return exact
        lo, hi = self.run(ids)
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

    def correction_sets(self, budget: int) -> tuple[list[frozenset[int]], list[frozenset[int]]]:
        """(minimal conflicts met on the way, all MCSes) by a breadth-first hitting-set DAG; past
        `budget` nodes it stops and sets `complete` to False (the MCSes are then partial)."""
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
                if nodes > budget:
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
        return known, mcses

    def localise(self) -> tuple[list[frozenset[int]], frozenset[int]] | None:
        """The best claims to drop by the mixed-integer program, and for each the minimal conflict that
        forces it (the kept claims plus that one cannot all hold); None if the component is not linear."""
        if self.linear is None:
            return None
        tiers = sorted({tier(c) for c in self.claims}, reverse=True)
        rank = {t: k for k, t in enumerate(tiers)}
        n = len(self.claims)
        # index = priority rank, so a later claim is less precise within its tier: cheaper to drop
        drop = self.linear.localise(self.fixed(range(n)), [rank[tier(c)] for c in self.claims],
                                    [float(n - i) for i in range(n)])
        if drop is None:
            return None
        kept = self.everything - drop
        if not self.feasible(kept):  # a binary within HiGHS's integrality tolerance: analyse drops more
            self.optimal = False
        muses = [self.quickxplain(sorted(kept | {i})) for i in sorted(drop) if not self.feasible(kept | {i})]
        self.complete = False
        return minimal(muses), frozenset(drop)

    def analyse(self, budget: int) -> tuple[list[frozenset[int]], frozenset[int], Bounds]:
        """(the MUSes found, the claims to drop, the domains the kept claims allow). See the module docstring."""
        if (bounds := self.solve(self.everything)) is not None:
            return [], frozenset(), bounds
        limit = HITTING_SET_MAX if self.tree else CYCLIC_HITTING_SET_MAX
        localised = self.localise() if len(self.claims) > limit else None
        if localised is not None:
            muses, drop = localised
        else:
            known, mcses = self.correction_sets(budget if self.tree else min(budget, CYCLIC_NODE_BUDGET))
            if self.complete:
                muses = minimal_hitting_sets(mcses)
                drop = min(mcses, key=lambda ids: drop_key(self.claims[i] for i in ids))
            elif (localised := self.localise()) is not None:
                muses, drop = minimal([*known, *localised[0]]), localised[1]
            else:
                muses, drop = minimal(known), frozenset()
                self.optimal = False
        while (bounds := self.solve(self.everything - drop)) is None:  # only after a greedy or failed search
            mus = self.quickxplain(sorted(self.everything - drop))
            muses = minimal([*muses, mus])
            drop |= {max(mus)}  # the claim of lowest priority
            self.optimal = False
        return muses, drop, bounds

    def needed_rules(self, mus: frozenset[int]) -> list[str]:
        """A minimal set of rules the conflict needs: without any one of them (the others of the set
        staying) its claims could all hold. Rules that touch none of the conflict's quantities are tried
        first, so a second path through unclaimed quantities (a total via its full- and part-time jobs)
        gives way to the direct rule."""
        touched = {self.claims[i].quantity for i in mus}
        rule_ids = sorted({r.rule_id for r in self.rules if r.kind != "band"},
                          key=lambda rid: (any(q in touched for q in self._quantities_of[rid]), rid))
        dropped: frozenset[str] = frozenset()
        for rid in rule_ids:
            if not self.feasible(mus, dropped | {rid}):
                dropped |= {rid}
        return sorted(set(rule_ids) - dropped)

    def conflict(self, mus: frozenset[int], drop: frozenset[int]) -> Conflict:
        claims = [self.claims[i] for i in sorted(mus)]
        implied = {self.claims[i].claim_id: self.interval(mus - {i}, self.claims[i].quantity) for i in mus}
        gaps = {c.claim_id: max(implied[c.claim_id][0] - c.high, c.low - implied[c.claim_id][1], 0.0) for c in claims}
        rules = self.needed_rules(mus)
        per_q: dict[Quantity, int] = defaultdict(int)
        for c in claims:
            per_q[c.quantity] += 1
        # headline: the quantity most claims of the conflict are about, else the claim that is dropped
        head = max(sorted(mus), key=lambda i: (per_q[self.claims[i].quantity], i in drop, i))
        return Conflict(claim_ids=tuple(sorted(c.claim_id for c in claims)), rule_ids=tuple(rules),
                        quantity=self.claims[head].quantity, gap=gaps[self.claims[head].claim_id],
                        causes=conflict_causes(claims), implied=implied, gaps=gaps)


def components(claims: Sequence[Claim], rules: Sequence[Rule], only: Iterable[Quantity] | None = None,
               signed: Callable[[Quantity], bool] = changes_only) -> list[Component]:
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
    return [Component(cs, rs, signed) for _, (cs, rs) in sorted(by_root.items())]
