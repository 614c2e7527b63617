"""The rules of one component as a linear program (HiGHS): exact consistency, and Fellegi-Holt error
localisation as a mixed-integer program.

Why: bounds propagation (propagation.py) is exact only when the rules form a tree (no two rules share
two quantities, no cycle): then every bound it leaves has a solution. Tables with margins (rows and
columns adding up, a two- or three-way table) are cyclic; there propagation can stop with every
domain non-empty although no solution exists, or creep towards the answer one rounding unit per
pass. A linear program answers "can these claims all hold?" exactly, and a mixed-integer program
answers "which claims, fewest first, must go?" exactly, as CBS's R package errorlocate does
(de Jonge and van der Loo, after Fellegi and Holt 1976).

Sums and differences are linear. A ratio r = n / d x s is linear once r is fixed to an interval [L, H]:
L d <= s n <= H d (d >= 0). So a ratio can be written linearly when its ratio quantity takes part in
no other rule (a share or an average size is claimed and divided, nothing else); any other ratio makes
the component non-linear, and the engine keeps to propagation and its own search there.

Localisation: a binary z_c per claim (1 = the claim goes); a kept claim bounds its quantity,
low_c - M z_c <= x <= high_c + M z_c (for a ratio claim: L d - M z_c <= s n <= H d + M z_c). The
objective is lexicographic in the tiers of priority.py, solved as one program per tier from the most
trusted down (never drop a higher-tier claim while lower-tier claims can go, however many), then the
least precise figures go first among equals. M is four times the sum of the claims' magnitudes; if
the program has no solution with it, M grows and the program is solved again. The caller checks the
answer with the exact linear program and drops more claims if a z within HiGHS's integrality tolerance
left a claim slightly violated.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import highspy
import numpy as np

from regiostat.reconcile.propagation import ConstraintNetwork

INF = highspy.kHighsInf
FEASIBILITY_TOLERANCE = 1e-9  # absolute, on HiGHS's scaled model; the engine's own tolerance is 1e-9 relative
# (the mixed-integer tolerance stays HiGHS's default: below it HiGHS calls feasible programs infeasible)
Fixed = tuple[int, float, float]  # (variable, low, high) of one claim
DUAL_SIMPLEX, PRIMAL_SIMPLEX = 1, 4  # HiGHS simplex_strategy values


@cache
def _banner_silenced() -> None:
    """HiGHS prints a copyright banner on stdout the first time a solver is made in a process; the
    `regiostat` command's output is for the user, so that one line goes to /dev/null."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _solver() -> highspy.Highs:
    _banner_silenced()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("primal_feasibility_tolerance", FEASIBILITY_TOLERANCE)
    h.setOptionValue("threads", 1)  # same answer every run, and other engineers share the CPUs
    h.setOptionValue("presolve", "off")  # many small changes to one model: warm starts beat presolving each
    return h


def _add_row(h: highspy.Highs, lo: float, hi: float, idx: list[int], val: list[float]) -> None:
    """One row lo <= sum val_i x_idx_i <= hi (a variable named twice gets the sum of its coefficients)."""
    merged: dict[int, float] = {}
    for i, v in zip(idx, val, strict=True):
        merged[i] = merged.get(i, 0.0) + v
    h.addRow(lo, hi, len(merged), np.array(list(merged), dtype=np.int32), np.array(list(merged.values()), dtype=float))


@dataclass(frozen=True)
class _Ratio:
    """A ratio written linearly: rows L d - s n <= 0 and s n - H d <= 0 (rows `low_row`, `high_row`)."""

    rule_id: str
    ratio: int
    numerator: int
    denominator: int
    scale: float
    low_row: int
    high_row: int


class LinearModel:
    """One component's rules as rows over its variables; claims come and go as bounds."""

    def __init__(self, net: ConstraintNetwork, ratios: list[tuple[str, tuple]]) -> None:
        self.net = net
        self.sum_rows: dict[str, list[int]] = {}
        self._skipped: frozenset[str] = frozenset()
        self.h = _solver()
        n = len(net.lo0)
        self.h.addVars(n, np.array(net.lo0, dtype=float), np.array(net.hi0, dtype=float))
        self.ratio_vars: set[int] = set()
        self.ratios: list[_Ratio] = []
        for rule_id, op, args in net.cons:
            if op == "sum":
                t, parts = args
                row = self._row(0.0, 0.0, [t, *parts], [1.0, *(-1.0 for _ in parts)])
                self.sum_rows.setdefault(rule_id, []).append(row)
        for rule_id, (r, num, den, s) in ratios:
            low = self._row(-INF, 0.0, [num, den], [-s, 0.0])
            high = self._row(-INF, 0.0, [num, den], [s, 0.0])
            self.ratios.append(_Ratio(rule_id, r, num, den, s, low, high))
            self.ratio_vars.add(r)
            self.h.changeColBounds(r, -INF, INF)  # the ratio itself is no column: its claims are rows
        self._ratio_rows = {x.ratio: x for x in self.ratios}
        self._columns = np.arange(n, dtype=np.int32)

    @classmethod
    def of(cls, net: ConstraintNetwork) -> LinearModel | None:
        """The linear model of `net`, or None when a ratio's quantity takes part in another rule too."""
        ratios = [(rule_id, args) for rule_id, op, args in net.cons if op == "ratio"]
        for _, (r, *_rest) in ratios:
            if len(net.watch[r]) != 1:
                return None
        return cls(net, ratios)

    def _row(self, lo: float, hi: float, idx: list[int], val: list[float]) -> int:
        _add_row(self.h, lo, hi, idx, val)
        return self.h.getNumRow() - 1

    # ---------------------------------------------------------------- consistency

    def _bounds(self, fixed: Iterable[Fixed]) -> tuple[np.ndarray, np.ndarray] | None:
        lo, hi = np.array(self.net.lo0, dtype=float), np.array(self.net.hi0, dtype=float)
        for v, a, b in fixed:
            lo[v], hi[v] = max(lo[v], a), min(hi[v], b)
        tol = 1e-9 * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lo), lo, 0)),
                                                np.abs(np.where(np.isfinite(hi), hi, 0))))
        if np.any(lo > hi + tol):
            return None
        hi = np.maximum(hi, lo)
        return lo, hi

    def feasible(self, fixed: Iterable[Fixed], skip: frozenset[str] = frozenset()) -> bool:
        """Can the claims `fixed` (variable, low, high) and every rule not in `skip` all hold?"""
        bounds = self._bounds(fixed)
        if bounds is None:
            return False
        lo, hi = bounds
        if skip != self._skipped:
            for rule_id, rows in self.sum_rows.items():
                on = rule_id not in skip
                for row in rows:
                    self.h.changeRowBounds(row, 0.0 if on else -INF, 0.0 if on else INF)
            self._skipped = skip
        for x in self.ratios:
            self._set_ratio(x, lo[x.ratio], hi[x.ratio], active=x.rule_id not in skip)
            lo[x.ratio], hi[x.ratio] = -INF, INF
        self.h.changeColsBounds(len(lo), self._columns, lo, hi)
        self.h.run()
        return self.h.getModelStatus() != highspy.HighsModelStatus.kInfeasible

    def range(self, fixed: Iterable[Fixed], var: int) -> tuple[float, float] | None:
        """(min, max) of a non-ratio variable given the claims `fixed` and every rule; None if they cannot
        all hold."""
        found = self.ranges(fixed, [var])
        return None if found is None else found.get(var)

    def ranges(self, fixed: Iterable[Fixed], variables: Iterable[int]) -> dict[int, tuple[float, float]] | None:
        """(min, max) of each non-ratio variable of `variables` given the claims `fixed` and every rule (one
        model, two warm-started solves per variable); None if they cannot all hold."""
        if not self.feasible(fixed):
            return None
        out: dict[int, tuple[float, float]] = {}
        # only the objective changes from solve to solve: the last basis stays primal feasible, so primal simplex
        # restarts where it stopped (ten times faster here than dual simplex, which suits changed bounds)
        self.h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
        for var in variables:
            if var in self.ratio_vars:
                continue
            ends = []
            for sense in (1.0, -1.0):
                self.h.changeColCost(var, sense)
                self.h.run()
                optimal = self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                ends.append(self.h.getSolution().col_value[var] if optimal else -INF * sense)  # else unbounded
            self.h.changeColCost(var, 0.0)
            out[var] = (ends[0], ends[1])
        self.h.setOptionValue("simplex_strategy", DUAL_SIMPLEX)
        return out

    def _set_ratio(self, x: _Ratio, low: float, high: float, *, active: bool) -> None:
        """Rows L d - s n <= 0 and s n - H d <= 0 for the ratio's interval [low, high]."""
        low = max(low, 0.0)
        self.h.changeCoeff(x.low_row, x.denominator, low)
        self.h.changeRowBounds(x.low_row, -INF, 0.0 if active else INF)
        finite = math.isfinite(high)
        self.h.changeCoeff(x.high_row, x.denominator, -high if finite else 0.0)
        self.h.changeRowBounds(x.high_row, -INF, 0.0 if active and finite else INF)

    # ---------------------------------------------------------------- localisation

    def localise(self, claims: Sequence[Fixed], tiers: Sequence[int],
                 weights: Sequence[float]) -> frozenset[int] | None:
        """The claims to drop (indices into `claims`): fewest of the most trusted tier first (`tiers`:
        0 = most trusted), then the smallest total of `weights`. None if no answer was found."""
        magnitude = sum(max(abs(a) if math.isfinite(a) else 0.0, abs(b) if math.isfinite(b) else 0.0)
                        for _, a, b in claims)
        big_m = 4.0 * (magnitude + 1.0)
        for _ in range(3):
            drop = _Localisation(self, claims, big_m).solve(tiers, weights)
            if drop is not None:
                return drop
            big_m *= 100.0
        return None


class _Localisation:
    """The mixed-integer program of one localisation (a fresh HiGHS model; the LP's stays as it is)."""

    def __init__(self, model: LinearModel, claims: Sequence[Fixed], big_m: float) -> None:
        self.h = _solver()
        net = model.net
        n = len(net.lo0)
        lo = np.array(net.lo0, dtype=float)
        hi = np.array(net.hi0, dtype=float)
        for v in model.ratio_vars:
            lo[v], hi[v] = -INF, INF
        self.h.addVars(n, np.where(np.isfinite(lo), lo, -INF), np.where(np.isfinite(hi), hi, INF))
        for _, op, args in net.cons:
            if op == "sum":
                t, parts = args
                self._row(0.0, 0.0, [t, *parts], [1.0, *(-1.0 for _ in parts)])
        self.z0 = n
        self.h.addVars(len(claims), np.zeros(len(claims)), np.ones(len(claims)))
        self.h.changeColsIntegrality(len(claims), np.arange(n, n + len(claims), dtype=np.int32),
                                     np.array([highspy.HighsVarType.kInteger] * len(claims)))
        for i, (v, a, b) in enumerate(claims):
            z = n + i
            ratio = model._ratio_rows.get(v)
            if ratio is None:
                if math.isfinite(a):
                    self._row(a, INF, [v, z], [1.0, big_m])  # x + M z >= low
                if math.isfinite(b):
                    self._row(-INF, b, [v, z], [1.0, -big_m])  # x - M z <= high
                continue
            m = big_m * (ratio.scale + max(abs(a) if math.isfinite(a) else 0.0, abs(b) if math.isfinite(b) else 0.0))
            d, num, s = ratio.denominator, ratio.numerator, ratio.scale
            if math.isfinite(a) and a > 0:
                self._row(-INF, 0.0, [d, num, z], [a, -s, -m])  # L d - s n - M z <= 0
            if math.isfinite(b):
                self._row(-INF, 0.0, [num, d, z], [s, -b, -m])  # s n - H d - M z <= 0
        self.count = len(claims)

    def _row(self, lo: float, hi: float, idx: list[int], val: list[float]) -> None:
        _add_row(self.h, lo, hi, idx, val)

    def _minimise(self, costs: np.ndarray) -> float | None:
        n = self.count
        self.h.changeColsCost(n, np.arange(self.z0, self.z0 + n, dtype=np.int32), costs)
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return self.h.getInfo().objective_function_value

    def solve(self, tiers: Sequence[int], weights: Sequence[float]) -> frozenset[int] | None:
        """Fewest drops per tier, most trusted first; the last tier's program also carries the weights,
        scaled to add up to less than one drop, so it settles the count and the choice in one solve."""
        n = self.count
        idx = np.arange(self.z0, self.z0 + n, dtype=np.int32)
        order = sorted(set(tiers))
        w = np.array(weights, dtype=float)
        w = w / (w.sum() + 1.0)
        for k, t in enumerate(order):
            mask = np.array([1.0 if x == t else 0.0 for x in tiers])
            last = k == len(order) - 1
            best = self._minimise(mask + w if last else mask)
            if best is None:
                return None
            if not last:  # fix this tier's count at its optimum before the next tier is minimised
                self.h.addRow(-INF, round(best) + 0.5, int(mask.sum()), idx[mask > 0], np.ones(int(mask.sum())))
        values = self.h.getSolution().col_value[self.z0:self.z0 + n]
        return frozenset(i for i, x in enumerate(values) if x > 0.5)
