"""Random two- and three-way tables with margins (seeded, synthetic), and an independent mixed-integer
oracle for them: the fewest claims to drop so that the rest fit the table's sums.

Used by the property test (tests/test_reconcile_milp.py) and the engine benchmark
(scripts/benchmark_reconcile.py). The oracle is written here from scratch with highspy, not with the
engine's own linear model, so the two can disagree.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import highspy
import numpy as np

from regiostat.reconcile.model import CHANGE_PREFIX, Claim, Quantity, Rule


@dataclass(frozen=True)
class Table:
    claims: list[Claim]
    rules: list[Rule]
    perturbed: tuple[str, ...]  # ids of the claims whose figure was moved off the true table


def _q(name: str, signed: bool) -> Quantity:
    return Quantity(f"{CHANGE_PREFIX}{name}" if signed else name, "T", "2015/2020" if signed else "2020")


def table(rng: random.Random, dims: tuple[int, ...], *, signed: bool = False, perturb: int = 0,
          half_width: float = 0.5) -> Table:
    """A true table of integer cells (0..99, or -50..49 when `signed`: a table of changes), every margin of
    one dimension less (two-way: row and column totals and the grand total; three-way: the three
    two-way margins), all claimed to +-`half_width`, then `perturb` claims moved by a non-zero integer."""
    cells = {idx: rng.randint(-50, 49) if signed else rng.randint(0, 99)
             for idx in itertools.product(*(range(n) for n in dims))}
    values: dict[str, float] = {}
    rules: list[Rule] = []
    for idx, v in cells.items():
        values["c" + "".join(map(str, idx))] = v
    margins = [(a,) for a in range(len(dims))] if len(dims) == 2 else list(itertools.combinations(range(3), 1))
    for summed in margins:  # a margin sums over one dimension
        kept_dims = [d for d in range(len(dims)) if d not in summed]
        for key in itertools.product(*(range(dims[d]) for d in kept_dims)):
            name = "m" + "".join(map(str, summed)) + "_" + "".join(map(str, key))
            parts = []
            for idx in cells:
                if all(idx[d] == k for d, k in zip(kept_dims, key, strict=True)):
                    parts.append("c" + "".join(map(str, idx)))
            values[name] = sum(values[p] for p in parts)
            rules.append(Rule(f"sum_{name}", "sum", "margin = sum of its cells", _q(name, signed),
                              tuple(_q(p, signed) for p in parts)))
    if len(dims) == 2:  # the grand total, from the row totals and from the column totals
        values["total"] = sum(cells.values())
        for summed in (0, 1):
            rows = [n for n in values if n.startswith(f"m{summed}_")]
            rules.append(Rule(f"total_{summed}", "sum", "total = sum of margins", _q("total", signed),
                              tuple(_q(r, signed) for r in rows)))
    names = sorted(values)
    moved = set(rng.sample(names, perturb))
    claims = []
    for name in names:
        v = values[name] + (rng.choice([-1, 1]) * rng.randint(1, 5) if name in moved else 0)
        claims.append(Claim(name, _q(name, signed), float(v), v - half_width, v + half_width, "synthetic",
                            "document", "synthetic table"))
    return Table(claims, rules, tuple(sorted(moved)))


def fewest_to_drop(claims: list[Claim], rules: list[Rule]) -> int:
    """The oracle: the smallest number of claims whose removal lets the rest satisfy every sum rule, by a
    mixed-integer program (binary z per claim, x within the claim's interval unless z = 1)."""
    quantities = sorted({c.quantity for c in claims} | {q for r in rules for q in (r.target, *r.inputs)})
    col = {q: i for i, q in enumerate(quantities)}
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lower = [-highspy.kHighsInf if q.indicator.startswith(CHANGE_PREFIX) else 0.0 for q in quantities]
    h.addVars(len(quantities), np.array(lower), np.full(len(quantities), highspy.kHighsInf))
    for r in rules:
        idx = [col[r.target], *(col[q] for q in r.inputs)]
        h.addRow(0.0, 0.0, len(idx), np.array(idx, dtype=np.int32), np.array([1.0] + [-1.0] * len(r.inputs)))
    n, big = len(quantities), 10.0 * (1 + sum(abs(c.value) + 1 for c in claims))
    h.addVars(len(claims), np.zeros(len(claims)), np.ones(len(claims)))
    h.changeColsIntegrality(len(claims), np.arange(n, n + len(claims), dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * len(claims)))
    for k, c in enumerate(claims):
        x, z = col[c.quantity], n + k
        h.addRow(c.low, highspy.kHighsInf, 2, np.array([x, z], dtype=np.int32), np.array([1.0, big]))
        h.addRow(-highspy.kHighsInf, c.high, 2, np.array([x, z], dtype=np.int32), np.array([1.0, -big]))
    h.changeColsCost(len(claims), np.arange(n, n + len(claims), dtype=np.int32), np.ones(len(claims)))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return round(h.getInfo().objective_function_value)
