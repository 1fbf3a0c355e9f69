"""Weights optimised so that each member's correlation with the index matches a target
(COINr's ``get_opt_weights``, ``optype = "balance"``): ``weighting: optimised``.

The members of every group with ``weighting: optimised`` are optimised together, as
COINr optimises the weights of one level: for weights ``w`` the index is recomputed, the
Pearson correlation ``r_l`` of each optimised member with the index is taken over the
units of the period (pairwise complete), and

    f(w) = ln( mean_l (t_l − r_l / Σ r)² )

is minimised, ``t`` the target shares (equal by default; with ``weights`` given, those
are the targets, divided by their sum over all optimised members). The search is scipy's
Nelder–Mead from the targets, over ``w = v²`` so that weights stay ≥ 0, with
``xatol = 1e-10``, ``fatol = 1e-14`` and at most 2000 iterations per variable (COINr's
default ``toler = 0.1`` stops after a handful of evaluations, practically at the start;
COINr also lets weights go negative, which an index's weights should not). Each period
is optimised on its own; the weights are then per-period constants, as PCA weights are.

The index is recomputed quickly: the plan is compiled once with the optimised weights as
columns, the data computed once, and each evaluation re-runs only the steps that depend
on those weights (the groups above them and the index).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import sympy

from engine.extras import Extra, require
from engine.format.model import Group, Methodology
from engine.formula import ir
from engine.methods import catalogue
from engine.plan import Plan, Step, build_plan, norm_column

__all__ = ["OPTIMISED", "objective", "resolve"]

OPTIMISED = "optimised"
XATOL, FATOL, ITERATIONS = 1e-10, 1e-14, 2000


def _weight_column(group: str, member: str) -> str:
    return f"__opt.{group}.{member}"


def objective(correlations: np.ndarray, targets: np.ndarray) -> float:
    """COINr's balance objective ln(mean((t − r / Σr)²)), the mean floored at 1e-300 so that
    an exact match is a finite minimum (ln 1e-300 ≈ −691) rather than −∞."""
    gap = targets - correlations / correlations.sum()
    return math.log(max(float(np.mean(gap**2)), 1e-300))


def _with_weights(
    m: Methodology, groups: list[Group], weights: dict[str, list[sympy.Expr]]
) -> Methodology:
    keys = (m.layout.period,) if m.layout.period else ()
    out = []
    for g in m.groups:
        if g.name in weights:
            w = weights[g.name]
            expr = catalogue.aggregate(g.aggregation, g.members, w, keys, dict(g.params))
            g = dataclasses.replace(g, weights=tuple(w), expr=expr)
        out.append(g)
    return dataclasses.replace(m, groups=tuple(out))


def _dependent_steps(plan: Plan, columns: set[str]) -> list[Step]:
    """The steps that read `columns`, directly or through other steps, in plan order."""
    reached = set(columns)
    out = []
    for stage in plan.stages:
        for s in stage:
            if ir.free_names(s.expr) & reached:
                reached.add(s.column)
                out.append(s)
    return out


def resolve(m: Methodology, run: Callable[[Methodology], pl.DataFrame]) -> Methodology:
    """`m` with the weights of its ``optimised`` groups estimated per period; `run(m)` is the
    full computed frame of a methodology."""
    from engine.backends.polars.steps import step_columns, with_columns_of

    optimize = require("scipy.optimize", Extra.OPTIMISE, "optimised weights")
    groups = [g for g in m.groups if g.weighting == OPTIMISED]
    if not groups or m.index is None:
        return m
    columns = {g.name: [_weight_column(g.name, x) for x in g.members] for g in groups}
    symbolic = _with_weights(
        m, groups, {g.name: [sympy.Symbol(c) for c in columns[g.name]] for g in groups}
    )
    plan = build_plan(symbolic)
    all_columns = [c for g in groups for c in columns[g.name]]
    targets = np.array([float(w) for g in groups for w in g.weights])
    targets = targets / targets.sum()
    base = run(_with_weights(m, groups, {g.name: list(g.weights) for g in groups}))
    base = base.with_columns(pl.lit(1.0).alias(c) for c in all_columns)
    steps = _dependent_steps(plan, set(all_columns))
    compiled = [step_columns(plan, s) for s in steps]  # with the columns deep formulas share
    members = [
        norm_column(x) if norm_column(x) in base.columns else x for g in groups for x in g.members
    ]
    period = m.layout.period
    parts = base.partition_by(period, as_dict=True) if period else {(None,): base}
    per_period: dict[object, np.ndarray] = {}
    for key, part in parts.items():
        lazy = part.lazy()

        def index_with(v: np.ndarray, lazy: pl.LazyFrame = lazy) -> pl.DataFrame:
            weights = v**2
            lf = lazy.with_columns(pl.lit(float(w)).alias(c) for c, w in zip(all_columns, weights))
            for c in compiled:  # in plan order: a step may read the one before
                lf = with_columns_of(lf, [c])
            return lf.select([*members, "index"]).collect()

        def f(v: np.ndarray) -> float:
            got = index_with(v)
            r = np.array(
                [
                    got.select(pl.corr(c, "index")).item()
                    if got[c].null_count() < got.height
                    else 0.0
                    for c in members
                ],
                dtype=float,
            )
            return objective(np.nan_to_num(r), targets) if np.all(np.isfinite(r)) else math.inf

        found: Any = optimize.minimize(
            f,
            np.sqrt(targets),
            method="Nelder-Mead",
            options={
                "xatol": XATOL,
                "fatol": FATOL,
                "maxiter": ITERATIONS * len(targets),
                "maxfev": ITERATIONS * len(targets),
            },
        )
        per_period[key[0]] = np.asarray(found.x) ** 2
    weights: dict[str, list[sympy.Expr]] = {}
    at = 0
    for g in groups:
        column = []
        for j in range(len(g.members)):
            if period:
                branches = [
                    (
                        sympy.Float(float(w[at + j])),
                        sympy.Eq(sympy.Symbol(period), p, evaluate=False),
                    )
                    for p, w in per_period.items()
                ]
                column.append(sympy.Piecewise(*branches, evaluate=False))
            else:
                column.append(sympy.Float(float(per_period[None][at + j])))
        weights[g.name] = column
        at += len(g.members)
    done = _with_weights(m, groups, weights)
    build_plan(done)  # the rebuilt methodology must still plan
    return done
