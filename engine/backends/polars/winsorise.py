"""COINr's winsorisation for every indicator and group at once: the clip bounds, by numpy.

The procedure behind ``winsorise`` (:mod:`engine.methods.winsorise`). The present values
of every (indicator, group) pair are laid end to end in one array, sorted within each pair
("segment"); COINr's iteration then runs on all segments together, each step a handful of
whole-array operations:

* the test: n, and the sums of the 2nd, 3rd and 4th powers of the deviations from the
  mean give the sample skewness and excess kurtosis (e1071 type 2); a segment fails when
  n >= 4, |skew| >= ``skew`` and kurtosis >= ``kurtosis`` (both 0 when n < 4 or there is
  no spread);
* a step: the current values are ``clip(x, lower, upper)``; a failing segment with room
  (fewer than ``max_points`` points changed: values outside the bounds) moves ``upper`` to
  the next value below it when its skew is >= 0, else ``lower`` to the next value above;
* after ``max_points`` steps (or as soon as no segment moves), the test of the final
  values tells whether the second step applies.

With ``force`` (COINr's force_win) a segment that fails at first keeps moving until it has
no room, whatever the test says on the way (a segment whose values all became equal stops:
there is no next value). The sums add the values in ascending order, so the result does not
depend on the order of the rows. Missing and NaN values take no part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["Bounds", "Settings", "estimate", "estimate_frame"]

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Settings:
    """The estimation's parameters (see :func:`engine.methods.winsorise.estimation_parameters`)."""

    skew: float
    kurtosis: float
    max_points: int
    force: bool = False
    second: bool = True

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Settings:
        return cls(
            float(params["skew"]),
            float(params["kurtosis"]),
            int(params["max_points"]),
            bool(params.get("force", False)),
            bool(params.get("second", True)),
        )


@dataclass(frozen=True)
class Bounds:
    """Per segment: the clip bounds and whether the second step applies (1.0 or 0.0)."""

    lower: Floats
    upper: Floats
    second: Floats


@dataclass(frozen=True)
class _Segments:
    """Sorted values of the segments laid end to end: ``starts`` and ``n`` per segment,
    ``of`` the segment of every value."""

    x: Floats
    starts: npt.NDArray[np.intp]
    n: Floats
    of: npt.NDArray[np.intp]
    counts: npt.NDArray[np.intp]  # n as integers

    @classmethod
    def of_starts(cls, x: Floats, starts: npt.NDArray[np.intp]) -> _Segments:
        n = np.diff(np.r_[starts, x.size]).astype(np.intp)
        return cls(x, starts, n.astype(np.float64), np.repeat(np.arange(starts.size), n), n)

    @property
    def ends(self) -> npt.NDArray[np.intp]:
        return self.starts + self.counts

    def subset(self, keep: Flags) -> _Segments:
        """The segments where `keep` holds."""
        n = self.n[keep].astype(np.intp)
        starts = np.r_[0, np.cumsum(n)[:-1]].astype(np.intp)
        return _Segments.of_starts(self.x[keep[self.of]], starts)

    def total(self, v: Floats) -> Floats:
        return np.add.reduceat(v, self.starts)

    def count(self, flags: Flags) -> Floats:
        """How many of each segment's `flags` hold."""
        return self.total(flags.astype(np.float64))

    def spread(self, v: Floats) -> Floats:
        """A value per segment, repeated for each of its values."""
        return np.repeat(v, self.counts)

    def test(self, c: Floats, s: Settings) -> tuple[Floats, Flags]:
        """Skewness per segment (0 where undefined) and whether the segment fails."""
        n = self.n
        d = c - self.spread(self.total(c) / n)
        d2 = d * d
        m2, m3, m4 = self.total(d2), self.total(d2 * d), self.total(d2 * d2)
        defined = (n >= 4) & (m2 > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            skew = np.sqrt(n) * m3 / m2**1.5 * (np.sqrt(n * (n - 1)) / (n - 2))
            r = n * m4 / m2**2
            kurt = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
        skew = np.where(defined, skew, 0.0)
        kurt = np.where(defined, kurt, 0.0)
        return skew, (n >= 4) & (np.abs(skew) >= s.skew) & (kurt >= s.kurtosis)


def estimate(x: Floats, starts: npt.NDArray[np.intp], s: Settings) -> Bounds:
    """Bounds of every segment: `x` holds the segments' values end to end, each segment
    sorted ascending and without missing or NaN values; `starts` where each begins."""
    if x.size == 0:
        empty = np.empty(0, dtype=np.float64)
        return Bounds(empty, empty, empty)
    seg = _Segments.of_starts(x, starts)
    lower, upper = x[starts].copy(), x[seg.ends - 1].copy()
    second = np.zeros(starts.size)
    fails = seg.test(x, s)[1]
    if fails.any():  # only the segments failing at first ever move: iterate on those
        moved = _iterate(seg.subset(fails), s)
        lower[fails], upper[fails], second[fails] = moved.lower, moved.upper, moved.second
    return Bounds(lower, upper, second)


def _iterate(seg: _Segments, s: Settings) -> Bounds:
    """COINr's steps on segments that all fail the test at first."""
    x, starts = seg.x, seg.starts
    lower, upper = x[starts].copy(), x[seg.ends - 1].copy()
    c = x
    ends = seg.ends
    for _ in range(s.max_points):
        skew, fails = seg.test(c, s)
        if s.force:  # COINr's force_win: the first test decides every step
            fails = np.ones(starts.size, dtype=np.bool_)
        # c is x clipped to the current bounds: a point is changed where they differ
        changed = seg.count(c != x)
        moving = fails & (changed < s.max_points)
        if not moving.any():
            break  # nothing moves: every later step would test the same values
        # c is sorted within each segment, so the values at the bounds are its last (first)
        # ones, and the next value in is the one just before (after) them
        at_top = seg.count(c >= seg.spread(upper)).astype(np.intp)
        at_bottom = seg.count(c <= seg.spread(lower)).astype(np.intp)
        inner_top = at_top < seg.counts
        inner_bottom = at_bottom < seg.counts
        next_hi = np.where(inner_top, c[np.where(inner_top, ends - at_top - 1, starts)], -np.inf)
        next_lo = np.where(
            inner_bottom, c[np.where(inner_bottom, starts + at_bottom, starts)], np.inf
        )
        # a segment whose values are all equal has no next value: it stays (force only)
        top = moving & (skew >= 0) & (next_hi > -np.inf)
        bottom = moving & (skew < 0) & (next_lo < np.inf)
        if not (top.any() or bottom.any()):
            break
        upper = np.where(top, next_hi, upper)
        lower = np.where(bottom, next_lo, lower)
        c = np.minimum(np.maximum(x, seg.spread(lower)), seg.spread(upper))
    second = seg.test(c, s)[1] if s.second else np.zeros(starts.size, dtype=np.bool_)
    return Bounds(lower, upper, second.astype(np.float64))


class _Layout:
    """The rows of a frame in group order (stable), computed once for all its columns:
    each column's present values are then gathered in that order and each group's run of
    them sorted."""

    def __init__(self, ids: npt.NDArray[np.int64]) -> None:
        self.ids = ids
        self.order: npt.NDArray[np.intp] | None = None
        if ids.size and (ids[1:] != ids[:-1]).any():
            # a radix sort when the ids fit in 16 bits
            small = ids.astype(np.uint16) if ids.max() < 2**16 else ids
            self.order = np.argsort(small, kind="stable")
            self.ids = ids[self.order]

    def segments(
        self, column: Floats
    ) -> tuple[Floats, npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """`column`'s values (NaN where missing) laid out by group, each group sorted and
        without its missing values: the values, where each group starts, which group."""
        values = column[self.order] if self.order is not None else column
        present = ~np.isnan(values)
        values, groups = values[present], self.ids[present]
        if values.size == 0:
            return values, np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        for a, b in zip(starts.tolist(), [*starts[1:].tolist(), values.size]):
            values[a:b].sort()
        return values, starts, groups[starts]


def estimate_frame(
    frame: pl.DataFrame,
    keys: Sequence[str],
    outputs: Sequence[tuple[str, str, str]],
    params: Mapping[str, Any],
) -> pl.DataFrame:
    """The bounds of each source column over the groups of `keys`: one row per group with
    the key columns and, for each (source, part, column) of `outputs`, the column holding
    that part (``lower``, ``upper`` or ``second``) of that source; missing for a group in
    which the source has no value."""
    settings = Settings.of(params)
    groups = frame.select(keys).unique(maintain_order=True) if keys else pl.DataFrame()
    if keys and groups.height == 0:
        return groups.with_columns(pl.Series(c, [], pl.Float64) for _, _, c in outputs)
    g = groups.height if keys else 1
    ids = (
        frame.select(keys)
        .join(groups.with_row_index("__g"), on=list(keys), how="left", nulls_equal=True)
        .get_column("__g")
        .to_numpy()
        .astype(np.int64)
        if keys
        else np.zeros(frame.height, dtype=np.int64)
    )
    sources = list(dict.fromkeys(src for src, _, _ in outputs))
    layout = _Layout(ids)
    values, starts, found = [], [], []
    offset = 0
    for j, src in enumerate(sources):
        # missing values as NaN (as NaN values, they take no part)
        col = frame.get_column(src).cast(pl.Float64).to_numpy()
        v, at, which = layout.segments(col)
        values.append(v)
        starts.append(at + offset)
        found.append(which + j * g)
        offset += v.size
    bounds = estimate(np.concatenate(values), np.concatenate(starts), settings)
    where = np.concatenate(found)
    parts = {"lower": bounds.lower, "upper": bounds.upper, "second": bounds.second}
    out = groups if keys else pl.DataFrame({"__one": [0]})
    columns = []
    for src, part, column in outputs:
        grid = np.full(len(sources) * g, np.nan)
        grid[where] = parts[part]
        j = sources.index(src)
        columns.append(pl.Series(column, grid[j * g : (j + 1) * g], nan_to_null=True))
    out = out.with_columns(columns)
    return out if keys else out.drop("__one")
