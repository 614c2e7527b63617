"""Interval arithmetic on closed real intervals, with the tolerance every comparison in the engine uses.

EPS = 1e-9 relative: far below any stated precision, so a tolerance never hides a real violation,
it only absorbs float noise (15.55 x 1180 = 18349.000000000004). Products and quotients are only
defined on non-negative intervals: the engine uses them for counts and shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EPS = 1e-9
INF = math.inf
Interval = tuple[float, float]
FiniteTotal = tuple[float, int, int]  # (sum of the finite values, number of -inf, number of +inf)


class EmptyDomain(Exception):
    """Narrowing emptied a variable's domain: the claims given cannot all hold."""


def tol(a: float, b: float = 0.0) -> float:
    """EPS relative to the larger finite magnitude (at least EPS absolute)."""
    m = 1.0
    if -INF < a < INF and abs(a) > m:
        m = abs(a)
    if -INF < b < INF and abs(b) > m:
        m = abs(b)
    return EPS * m


def narrow(lo: list[float], hi: list[float], v: int, a: float, b: float) -> bool:
    """Intersect variable v with [a, b]; True if it moved by more than the tolerance."""
    a = -INF if a != a else a
    b = INF if b != b else b
    low, high = lo[v], hi[v]
    if a <= low and b >= high:
        return False
    if (a > high and a - high > tol(a, high)) or (b < low and low - b > tol(b, low)):
        raise EmptyDomain
    moved = False
    if a > low:
        moved = a - low > tol(a, low)
        lo[v] = low = min(a, high)
    if b < high:
        moved |= high - b > tol(b, high)
        hi[v] = max(b, low)
    return moved


def finite_total(values: Sequence[float]) -> FiniteTotal:
    """The sum of `values` kept as (finite part, count of -inf, count of +inf), so one term can be taken out."""
    return math.fsum(x for x in values if math.isfinite(x)), values.count(-INF), values.count(INF)


def sum_but(values: Sequence[float], j: int, total: FiniteTotal) -> float:
    """Sum of all values but the j-th, from `total` = finite_total(values)."""
    fin, neg, pos = total
    x = values[j]
    if math.isfinite(x):
        fin -= x
    neg, pos = neg - (x == -INF), pos - (x == INF)
    return -INF if neg else INF if pos else fin


def mul(a: Interval, b: Interval) -> Interval:
    """Product of two non-negative intervals (0 x inf = 0: a zero factor is exactly zero)."""
    def m(x: float, y: float) -> float:
        return 0.0 if x == 0 or y == 0 else x * y
    return m(max(a[0], 0.0), max(b[0], 0.0)), m(a[1], b[1])


def div(a: Interval, b: Interval) -> Interval:
    """Quotient a / b of non-negative intervals; b may touch 0 (then the quotient is unbounded)."""
    if b[1] <= 0:
        return 0.0, INF
    low = 0.0 if b[1] == INF else max(a[0], 0.0) / b[1]
    high = INF if b[0] <= 0 or a[1] == INF else a[1] / b[0]
    return low, high
