"""The failing rows of a check, shown with both sides: the part that needs no sympy.

The sides are compiled by :func:`engine.report.summary.check_sides` (a run's
compilation: large repeated parts first as columns, in levels); this module computes
them on every row of the result (a statistic in a side is over all units, an ``at()``
reads the unit's other periods) and keeps the failing rows. The plan cache replays the
same two steps from serialised expressions (:mod:`engine.fastrun`), so a cached run
shows what a full run shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engine.backends.polars import ENGINE

__all__ = ["failing_query", "failing_rows"]


def failing_rows(
    frame: pl.DataFrame | pl.LazyFrame,
    levels: Sequence[Sequence[pl.Expr]],
    shown: Sequence[pl.Expr],
    name: str,
    keys: Sequence[str],
    *,
    any_failing: bool,
    within: str | None = None,
) -> pl.DataFrame:
    """The rows where ``check.<name>`` is false, as the columns `shown`, sorted by `keys`.

    `levels` are the sides' helper columns, each level computed on the one before.
    `within` names the key column (the unit) when the sides read no row but those of
    their own unit (at() of another period): they are then computed on the failing
    units' rows only."""
    if not any_failing:
        return _with_levels(frame.lazy(), levels).head(0).select(shown).collect(engine=ENGINE)
    return failing_query(frame.lazy(), levels, shown, name, keys, within).collect(engine=ENGINE)


def failing_query(
    lf: pl.LazyFrame,
    levels: Sequence[Sequence[pl.Expr]],
    shown: Sequence[pl.Expr],
    name: str,
    keys: Sequence[str],
    within: str | None = None,
) -> pl.LazyFrame:
    """:func:`failing_rows` as a lazy query on the result's query `lf` (to be collected
    with it, so that the result is computed once; no rows when the check passes)."""
    if within is not None:  # every row of the units with a failing row, in their order
        failing = pl.col("check." + name).not_().fill_null(False)
        lf = lf.filter(pl.col(within).is_in(pl.col(within).filter(failing).implode()))
    return (
        _with_levels(lf, levels)
        .select(*shown, pl.col("check." + name).alias("__ok"))
        .filter(pl.col("__ok").not_())
        .drop("__ok")
        .sort(list(keys))
    )


def _with_levels(lf: pl.LazyFrame, levels: Sequence[Sequence[pl.Expr]]) -> pl.LazyFrame:
    for level in levels:
        if level:
            lf = lf.with_columns(level)
    return lf
