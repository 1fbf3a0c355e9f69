"""COINr's winsorisation bounds (:mod:`engine.backends.polars.winsorise`) in plain Python,
segment by segment: the implementation for small frames, which never imports numpy.

Each arithmetic operation is the one :mod:`engine.backends.polars.winsorise_numpy`
performs, in the same order, so the bounds are the same bits:

* a segment's sum is ``np.add.reduceat``'s: its first value plus numpy's pairwise sum of
  the others (``pairwise_sum`` in numpy's ``loops_utils.h.src``): fewer than 8 values are
  added one after another to -0.0; up to 128, eight running sums of every eighth value are
  combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`` and the values left
  over added to that; more are split in two (the first part a multiple of 8 long) and the
  parts' sums added. Not a running sum, and not Python's ``sum`` (compensated from 3.12);
* n is a float; the skewness is ``sqrt(n) * m3 / (m2 * sqrt(m2)) * (sqrt(n (n - 1)) / (n -
  2))`` and the kurtosis ``((n + 1) (r - 3) + 6) (n - 1) / ((n - 2) (n - 3))`` with ``r = n
  m4 / (m2 m2)``, left to right; where ``m2 * sqrt(m2)`` or ``m2 * m2`` underflows to 0
  the quotient is IEEE's infinity or NaN, as numpy's (Python's division would raise);
* the clip takes the bound where a value equals it (first the lower, then the upper);
* the segments are independent: numpy's shared loop stops when no segment moves, and a
  segment that does not move in a step never moves again (its values, hence its test, stay
  the same), so each segment here stops on its own.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import reduce
from itertools import repeat
from operator import add, mul, sub

import polars as pl

from engine.backends.polars.winsorise import Settings

__all__ = ["bounds_by_group", "estimate", "segment_bounds"]


def bounds_by_group(
    frame: pl.DataFrame, ids: pl.Series | None, g: int, sources: Sequence[str], s: Settings
) -> dict[tuple[str, str], pl.Series]:
    """For each source column of `frame` and part (``lower``, ``upper``, ``second``), the
    bounds of the `g` groups numbered by `ids` (all rows one group when None): a series of
    `g` values, missing where the group has no value of the source."""
    group = ids.to_list() if ids is not None else [0] * frame.height
    out = {}
    for src in sources:
        values: list[list[float]] = [[] for _ in range(g)]
        for i, v in zip(group, frame.get_column(src).cast(pl.Float64).to_list()):
            if v is not None and v == v:  # missing and NaN values take no part
                values[i].append(v + 0.0)  # -0.0 as +0.0, as winsorise_numpy's layout
        parts: list[list[float | None]] = [[None] * g, [None] * g, [None] * g]
        for i, x in enumerate(values):
            if x:
                x.sort()
                parts[0][i], parts[1][i], parts[2][i] = segment_bounds(x, s)
        for part, got in zip(("lower", "upper", "second"), parts):
            out[(src, part)] = pl.Series("", got, pl.Float64)
    return out


def estimate(
    x: Sequence[float], starts: Sequence[int], s: Settings
) -> tuple[list[float], list[float], list[float]]:
    """The lower bounds, upper bounds and second-step flags (1.0 or 0.0) of the segments of
    `x` (each sorted ascending, without missing or NaN values) beginning at `starts`, as
    :func:`engine.backends.polars.winsorise_numpy.estimate` gives them.

    >>> estimate([1.0, 2.0, 3.0, 4.0, 100.0, 5.0], [0, 5], Settings(1.0, 1.0, 1))
    ([1.0, 5.0], [4.0, 5.0], [0.0, 0.0])
    """
    got = [segment_bounds(x[a:b], s) for a, b in zip(starts, [*starts[1:], len(x)])]
    return [b[0] for b in got], [b[1] for b in got], [b[2] for b in got]


def segment_bounds(x: Sequence[float], s: Settings) -> tuple[float, float, float]:
    """COINr's steps on one segment (sorted ascending): its lower and upper bound and
    whether the second step applies (1.0 or 0.0)."""
    lower, upper = x[0], x[-1]
    skew, fails = _test(x, s)
    if not fails:
        return lower, upper, 0.0
    n = len(x)
    c = x
    changed = 0  # points of c that differ from x: those outside the bounds
    for _ in range(s.max_points):
        if not ((fails or s.force) and changed < s.max_points):
            break  # COINr's force_win: the first test decides every step
        # c is sorted, so the values at a bound are its last (first) ones, and the next
        # value in is the one just before (after) them; -inf (inf) when there is none
        if skew >= 0:
            at_top = n - bisect_left(c, upper)
            nxt = c[n - at_top - 1] if at_top < n else -math.inf
            if not nxt > -math.inf:
                break
            upper = nxt
        elif skew < 0:
            at_bottom = bisect_right(c, lower)
            nxt = c[at_bottom] if at_bottom < n else math.inf
            if not nxt < math.inf:
                break
            lower = nxt
        else:
            break  # a NaN skewness (infinite values): neither way
        c, changed = _clip(x, lower, upper)
        skew, fails = _test(c, s)
    return lower, upper, 1.0 if s.second and fails else 0.0


def _clip(x: Sequence[float], lower: float, upper: float) -> tuple[list[float], int]:
    """`x` (sorted) clipped to the bounds, taking the bound where a value equals it (the
    lower bound first, then the upper), and how many values changed."""
    n = len(x)
    if lower >= upper:  # only when they are equal: every value becomes the upper one
        return [upper] * n, sum(v != upper for v in x)
    below, above = bisect_right(x, lower), bisect_left(x, upper)
    changed = sum(v != lower for v in x[:below]) + sum(v != upper for v in x[above:])
    return [lower] * below + list(x[below:above]) + [upper] * (n - above), changed


def _test(c: Sequence[float], s: Settings) -> tuple[float, bool]:
    """The skewness (0 where undefined) and whether the values fail the test."""
    n = len(c)
    if n < 4:
        return 0.0, False
    nf = float(n)
    d = list(map(sub, c, repeat(_total(c) / nf, n)))
    d2 = list(map(mul, d, d))
    m2 = _total(d2)
    if m2 > 0:
        m3 = _total(list(map(mul, d2, d)))
        m4 = _total(list(map(mul, d2, d2)))
        root = math.sqrt(nf * (nf - 1)) / (nf - 2)
        skew = _divide(math.sqrt(nf) * m3, m2 * math.sqrt(m2)) * root
        r = _divide(nf * m4, m2 * m2)
        kurt = ((nf + 1) * (r - 3) + 6) * (nf - 1) / ((nf - 2) * (nf - 3))
    else:  # no spread (or NaN from infinite values)
        skew = kurt = 0.0
    return skew, abs(skew) >= s.skew and kurt >= s.kurtosis


def _divide(a: float, b: float) -> float:
    """a / b as IEEE 754 (and numpy) divide: infinity or NaN where `b` is zero."""
    if b:
        return a / b
    if a == 0 or a != a:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _total(v: Sequence[float]) -> float:
    """``np.add.reduceat``'s sum of one segment: the first value plus the others'
    pairwise sum."""
    return v[0] + _pairwise(v[1:])


def _pairwise(a: Sequence[float]) -> float:
    """numpy's ``pairwise_sum`` of `a` (see the module's docstring)."""
    n = len(a)
    if n < 8:
        return reduce(add, a, -0.0)
    if n <= 128:
        m = n - n % 8
        r0, r1, r2, r3, r4, r5, r6, r7 = (reduce(add, a[k:m:8]) for k in range(8))
        return reduce(add, a[m:], ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)))
    half = n // 2
    half -= half % 8
    return _pairwise(a[:half]) + _pairwise(a[half:])
