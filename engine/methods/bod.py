"""Estimating the benefit-of-the-doubt groups of a methodology before its query runs.

A group with ``aggregation: bod`` (or ``bod_directional``, ``bod_robust``; declared in
:mod:`engine.methods.aggregate_bod`) cannot be one polars expression: every unit's score
is the optimum of a linear program over the other units. So, as for PCA weights
(:mod:`engine.methods.pca`), the run has a first pass: the methodology is computed with
the placeholder template, the group's members are read off per period, the programs are
solved (:mod:`engine.methods.bod_solve`), and their results become columns of the data:

* ``bod``: the unit's weights ``<group>.bod.<member>``; the group is then the weighted sum
  ``Σ_j w_ij y_ij`` of its members with the unit's own weights, computed in the query (so
  ``indexlab explain`` shows it term by term);
* ``bod_directional``, ``bod_robust``: the unit's score ``<group>.bod`` (no weights); the
  group is that column.

Nested groups are estimated children first, one pass each. Only the units with every
member present take part in a period's programs; the others get no score. The weights are
also returned in long form (one row per unit, period, group and member, with the unit's
score, the member's value, the weight and the member's share of the score): the run's
detail output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import sympy

from engine.diagnostics import Code, DataError, Diagnostic
from engine.format.model import Group, Methodology
from engine.methods import bod_solve
from engine.methods.aggregate_bod import BOD, BOD_DIRECTIONAL, bod_methods, uses_bod
from engine.methods.terms import add, mul
from engine.plan.model import norm_column

__all__ = ["WEIGHTS_SCHEMA", "Estimated", "resolve", "score_column", "uses_bod", "weight_column"]

#: the columns of the long table of weights (the detail output of a BoD methodology)
WEIGHTS_SCHEMA = {
    "group": pl.String,
    "score": pl.Float64,
    "member": pl.String,
    "value": pl.Float64,
    "weight": pl.Float64,
    "share": pl.Float64,
}


def weight_column(group: str, member: str) -> str:
    """The data column holding a unit's BoD weight of `member` in `group`."""
    return f"{group}.bod.{member}"


def score_column(group: str) -> str:
    """The data column holding a unit's score of a directional or robust BoD group."""
    return f"{group}.bod"


@dataclass(frozen=True)
class Estimated:
    """The methodology with its BoD groups reading the estimated columns, the unit-level
    data with those columns, and every unit's weights in long form."""

    methodology: Methodology
    units: pl.DataFrame
    weights: pl.DataFrame


def resolve(
    m: Methodology,
    units: pl.DataFrame,
    run: Callable[[Methodology, pl.DataFrame], pl.DataFrame],
) -> Estimated:
    """Estimate every BoD group of `m` (see the module); `run(methodology, units)` returns
    the full computed frame (every column) of a methodology on unit-level data."""
    keys = list(m.layout.keys)
    long: list[pl.DataFrame] = []
    for g in m.groups:
        if g.aggregation not in bod_methods():
            continue
        frame = run(m, units)
        columns = [norm_column(x) if norm_column(x) in frame.columns else x for x in g.members]
        solved, rows = _solve_group(m, g, frame.select([*keys, *columns]), columns)
        units = units.join(solved, on=keys, how="left", maintain_order="left")
        long.append(rows)
        m = dataclasses.replace(
            m,
            groups=tuple(
                dataclasses.replace(x, expr=_estimated_expr(g)) if x.name == g.name else x
                for x in m.groups
            ),
        )
    weights = pl.concat(long) if long else pl.DataFrame()
    return Estimated(m, units, weights)


def _estimated_expr(g: Group) -> sympy.Expr:
    if g.aggregation == BOD.name:
        return add(
            *(mul(sympy.Symbol(weight_column(g.name, x)), sympy.Symbol(x)) for x in g.members)
        )
    return sympy.Symbol(score_column(g.name))


def _solve_group(
    m: Methodology, g: Group, frame: pl.DataFrame, columns: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The estimated columns per unit and period, and the long table of weights."""
    keys = list(m.layout.keys)
    params: dict[str, Any] = dict(g.params)
    present = frame.drop_nulls(columns)
    _no_negative(m, g, present, columns)
    period = m.layout.period
    parts = present.partition_by(period, maintain_order=True) if period else [present]
    wide, long = [], []
    for part in parts:
        if part.height == 0:
            continue
        y = part.select(columns).to_numpy().astype(float)
        ids = part.select(keys)
        if g.aggregation == BOD.name:
            solution = bod_solve.benefit_of_the_doubt(
                y, float(params.get("min_share", 0)), float(params.get("max_share", 1))
            )
            shares = bod_solve.shares_of(y, solution)
            wide.append(
                ids.with_columns(
                    pl.Series(weight_column(g.name, x), solution.weights[:, j])
                    for j, x in enumerate(g.members)
                )
            )
            blocks = [
                ids.with_row_index("__row").with_columns(
                    pl.lit(j, dtype=pl.UInt32).alias("__member"),
                    pl.lit(g.name).alias("group"),
                    pl.Series("score", solution.score),
                    pl.lit(x).alias("member"),
                    pl.Series("value", y[:, j]),
                    pl.Series("weight", solution.weights[:, j]),
                    pl.Series("share", shares[:, j]).fill_nan(None),
                )
                for j, x in enumerate(g.members)
            ]
            # one block per unit, its members in member order, units in data order
            long.append(pl.concat(blocks).sort("__row", "__member").drop("__row", "__member"))
            continue
        if g.aggregation == BOD_DIRECTIONAL.name:
            score = bod_solve.directional(y, np.asarray(params["direction"], dtype=float))
        else:
            draws = params.get("m")
            score = bod_solve.robust(y, int(draws) if draws is not None else part.height)
        wide.append(ids.with_columns(pl.Series(score_column(g.name), score)))
    schema = {k: frame.schema[k] for k in keys}
    empty_wide = pl.DataFrame(schema=schema)
    out = pl.concat(wide, how="vertical") if wide else empty_wide
    rows = (
        pl.concat(long, how="vertical")
        if long
        else pl.DataFrame(schema={**schema, **WEIGHTS_SCHEMA})
    )
    return out, rows


def _no_negative(m: Methodology, g: Group, present: pl.DataFrame, columns: list[str]) -> None:
    """A negative member has no benefit of the doubt: the run stops, naming the units."""
    bad = present.filter(pl.any_horizontal(pl.col(c) < 0 for c in columns))
    if bad.height == 0:
        return
    rows = ", ".join(
        " ".join(str(v) for v in r) for r in bad.select(m.layout.keys).head(10).iter_rows()
    )
    more = f" and {bad.height - 10} more" if bad.height > 10 else ""
    raise DataError(
        [
            Diagnostic(
                Code.DOMAIN,
                f"group '{g.name}' ({g.aggregation}): a member is negative for {rows}{more}",
                expected="members >= 0 (normalise them to a non-negative scale, e.g. min_max)",
            )
        ]
    )
