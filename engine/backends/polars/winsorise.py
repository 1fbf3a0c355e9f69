"""COINr's winsorisation for every indicator and group at once: the clip bounds.

The procedure behind ``winsorise`` (:mod:`engine.methods.winsorise`). The present values
of every (indicator, group) pair are sorted ("segments"); COINr's iteration then runs on
each segment:

* the test: n, and the sums of the 2nd, 3rd and 4th powers of the deviations from the
  mean give the sample skewness and excess kurtosis (e1071 type 2); a segment fails when
  n >= 4, |skew| >= ``skew`` and kurtosis >= ``kurtosis`` (both 0 when n < 4 or there is
  no spread);
* a step: the current values are ``clip(x, lower, upper)``; a failing segment with room
  (fewer than ``max_points`` points changed: values outside the bounds) moves ``upper`` to
  the next value below it when its skew is >= 0, else ``lower`` to the next value above;
* after ``max_points`` steps (or as soon as the segment no longer moves), the test of the
  final values tells whether the second step applies.

With ``force`` (COINr's force_win) a segment that fails at first keeps moving until it has
no room, whatever the test says on the way (a segment whose values all became equal stops:
there is no next value). The sums add the values in ascending order, so the result does not
depend on the order of the rows; a zero is taken as +0.0, so neither does the sign of a zero
bound. Missing and NaN values take no part.

Two implementations compute the same bits (tests/test_winsorise_paths.py):
:mod:`~engine.backends.polars.winsorise_numpy` runs the steps on all segments together as
whole-array operations, :mod:`~engine.backends.polars.winsorise_python` segment by segment
in plain Python, with numpy's order of additions. Importing numpy costs about 0.045 s (and
its BLAS threads' start); below :data:`PYTHON_BELOW` cells (rows x indicators) the plain
loop finishes first, so a small index (COINr's ASEM example: 51 x 49) never imports numpy.
Once numpy is imported (by another step, or an earlier run in the process) it is the
faster at any size. The choice never changes a bit of the result.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from engine.backends.polars.winsorise_numpy import Floats, Indices

__all__ = ["PYTHON_BELOW", "Bounds", "Settings", "estimate", "estimate_frame"]

#: frames with fewer cells (rows x source columns) are estimated in plain Python while
#: numpy is not imported: at 20,000 cells of which every column is skewed (each iterates
#: COINr's five steps, the plain loop's worst case) it takes about as long as importing
#: numpy (0.045-0.07 s wall) and running it; with one column in five skewed the crossover
#: is 50,000-80,000 cells (bench/winsorise_paths.py, bench/README.md)
PYTHON_BELOW = 20_000


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


def estimate(x: Floats, starts: Indices, s: Settings) -> Bounds:
    """Bounds of every segment: `x` holds the segments' values end to end, each segment
    sorted ascending and without missing or NaN values; `starts` where each begins (numpy
    arrays: this is the numpy implementation, :func:`estimate_frame` chooses)."""
    from engine.backends.polars import winsorise_numpy

    return winsorise_numpy.estimate(x, starts, s)


def _plain(cells: int) -> bool:
    """Whether plain Python is the faster for a frame of `cells` values."""
    return cells < PYTHON_BELOW and "numpy" not in sys.modules


def estimate_frame(
    frame: pl.DataFrame,
    keys: Sequence[str],
    outputs: Sequence[tuple[str, str, str]],
    params: Mapping[str, Any],
) -> pl.DataFrame:
    """The bounds of each source column over the groups of `keys`: one row per group with
    the key columns and, for each (source, part, column) of `outputs`, the column holding
    that part (``lower``, ``upper`` or ``second``) of that source; missing for a group in
    which the source has no value.

    >>> frame = pl.DataFrame({"y": [1, 1, 1, 1, 1], "a": [1.0, 2.0, 3.0, 4.0, 100.0]})
    >>> estimate_frame(frame, ["y"], [("a", "upper", "hi")], {"skew": 1, "kurtosis": 1,
    ...     "max_points": 1}).rows()
    [(1, 4.0)]
    """
    settings = Settings.of(params)
    groups = frame.select(keys).unique(maintain_order=True) if keys else pl.DataFrame()
    if keys and groups.height == 0:
        return groups.with_columns(pl.Series(c, [], pl.Float64) for _, _, c in outputs)
    ids = (
        frame.select(keys)
        .join(groups.with_row_index("__g"), on=list(keys), how="left", nulls_equal=True)
        .get_column("__g")
        if keys
        else None
    )
    sources = list(dict.fromkeys(src for src, _, _ in outputs))
    if _plain(frame.height * len(sources)):
        from engine.backends.polars import winsorise_python as impl
    else:
        from engine.backends.polars import winsorise_numpy as impl  # type: ignore[no-redef]
    parts = impl.bounds_by_group(frame, ids, groups.height if keys else 1, sources, settings)
    out = groups if keys else pl.DataFrame({"__one": [0]})
    out = out.with_columns(parts[(src, part)].alias(column) for src, part, column in outputs)
    return out if keys else out.drop("__one")
