"""Benefit of the doubt: each unit's most favourable weights, by linear programming.

The numerics behind ``aggregation: bod``, ``bod_directional`` and ``bod_robust``
(:mod:`engine.methods.aggregate_bod`), on a matrix ``Y`` of the members' scores (one row
per unit of a period, one column per member, every value present and >= 0):

* :func:`benefit_of_the_doubt` solves, for every unit i, the multiplier form of DEA with
  constant returns and one dummy input equal to 1 (Cherchye et al. 2007; Compind's
  ``ci_bod``, which calls ``Benchmarking::dea.dual``)::

      CI_i = max_w  sum_j w_j y_ij
             s.t.   sum_j w_j y_kj <= 1   for every unit k,   w >= 0

  and, with share bounds L <= U (Compind's ``ci_bod_constr(low_w = L, up_w = U)``), also
  ``L * CI_i <= w_j y_ij <= U * CI_i`` for every member j: bounds on each member's share
  of the unit's own score ("pie shares"), not on the weights. A unit with a zero member
  and L > 0 is forced to CI = 0, as in Compind.
* :func:`directional` solves the directional output distance function with constant
  returns (Compind's ``ci_bod_dir``, ``Benchmarking::dea(..., DIRECT = d)``)::

      beta_i = max beta  s.t.  sum_k lambda_k y_kj >= y_ij + beta d_j  (every j),
                               sum_k lambda_k <= 1,  lambda >= 0
      CI_i = 1 / (1 + beta_i)

* :func:`robust` gives the order-m score (Compind's ``ci_rbod``, through
  ``nonparaeff::orderm``) exactly rather than by resampling: with
  ``v_k = min_j y_kj / y_ij`` (members with ``y_ij = 0`` set no bound) and ``v`` sorted,
  the expected maximum of ``m`` draws with replacement among the K units is
  ``E_i = sum_k v_(k) ((k / K)^m - ((k - 1) / K)^m)``, and ``CI_i = 1 / E_i``. Compind
  estimates ``E_i`` by the mean over B resamples, so its score tends to this one as B grows.

Every linear program is solved by HiGHS through :func:`scipy.optimize.linprog`; a solver
status other than "optimal" is an error (never a silent 0). The optimal weights of a unit
on the frontier (CI = 1) are in general not unique; the vertex HiGHS returns is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.extras import Extra, require

__all__ = [
    "Solution",
    "SolverError",
    "benefit_of_the_doubt",
    "directional",
    "robust",
    "shares_of",
]

#: scores this close to 0 are 0 (the solver's round-off on an objective that must be 0)
ZERO = 1e-12


class SolverError(RuntimeError):
    """HiGHS did not find an optimum (an engine bug for these always-feasible programs)."""


@dataclass(frozen=True)
class Solution:
    """Per unit (row): the score and the weights (raw multipliers, one column per member)."""

    score: np.ndarray
    weights: np.ndarray


def shares_of(y: np.ndarray, solution: Solution) -> np.ndarray:
    """w_ij y_ij / CI_i per unit and member; NaN where the score is 0 (no shares)."""
    out = np.full(y.shape, np.nan)
    scored = solution.score > 0
    out[scored] = solution.weights[scored] * y[scored] / solution.score[scored, None]
    return out


def _linprog() -> Callable[..., Any]:
    optimize = require("scipy.optimize", Extra.OPTIMISE, "benefit of the doubt (HiGHS)")
    linprog: Callable[..., Any] = optimize.linprog
    return linprog


def benefit_of_the_doubt(y: np.ndarray, min_share: float = 0.0, max_share: float = 1.0) -> Solution:
    """The BoD score and most favourable weights of every row of `y` (see the module).

    >>> s = benefit_of_the_doubt(np.array([[1.0, 0.5], [0.5, 1.0], [0.4, 0.4]]))
    >>> [round(float(v), 6) for v in s.score]
    [1.0, 1.0, 0.533333]
    """
    linprog = _linprog()
    n, m = y.shape
    score = np.zeros(n)
    weights = np.zeros((n, m))
    constrained = min_share > 0 or max_share < 1
    scale = _column_scale(y)
    y = y / scale
    for i in range(n):
        rows, bounds = [y], [np.ones(n)]
        if constrained:
            own = np.tile(y[i], (m, 1))
            rows += [np.diag(y[i]) - max_share * own, min_share * own - np.diag(y[i])]
            bounds += [np.zeros(m), np.zeros(m)]
        result = linprog(
            -y[i],
            A_ub=np.vstack(rows),
            b_ub=np.concatenate(bounds),
            bounds=[(0, None)] * m,
            method="highs",
        )
        if result.status != 0:
            raise SolverError(f"benefit of the doubt, unit {i}: {result.message}")
        value = float(-result.fun)
        score[i] = 0.0 if abs(value) < ZERO else value
        weights[i] = np.maximum(result.x, 0.0) / scale + 0.0  # w >= 0: no -0.0 or -1e-18
    return Solution(score, weights)


def _column_scale(y: np.ndarray) -> np.ndarray:
    """Each member's largest value (1 for a member that is 0 everywhere).

    The programs are solved on ``y / scale`` (every column's maximum 1) and the weights
    scaled back: the scores and the shares are invariant to a member's unit of measurement
    (constant returns), but HiGHS drops matrix entries below 1e-9, so a member measured in
    small units (values of 1e-10) would otherwise read as 0 and its units score 0.
    """
    scale = y.max(axis=0) if y.size else np.ones(y.shape[1])
    return np.where(scale > 0, scale, 1.0)


def directional(y: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The directional BoD score 1 / (1 + beta) of every row of `y` (see the module).

    >>> [round(float(v), 6) for v in directional(np.array([[2.0, 1.0], [1.0, 1.0]]), np.ones(2))]
    [1.0, 1.0]
    """
    linprog = _linprog()
    n = y.shape[0]
    out = np.zeros(n)
    scale = _column_scale(y)  # each constraint j divided by its member's scale: beta unchanged
    y, direction = y / scale, direction / scale
    # variables: lambda_1..lambda_n, beta; maximise beta
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    # -sum_k lambda_k y_kj + beta d_j <= -y_ij   and   sum_k lambda_k <= 1
    frontier = np.hstack([-y.T, direction[:, None]])
    budget = np.concatenate([np.ones(n), [0.0]])[None, :]
    a_ub = np.vstack([frontier, budget])
    bounds = [(0, None)] * n + [(None, None)]
    for i in range(n):
        result = linprog(
            cost,
            A_ub=a_ub,
            b_ub=np.concatenate([-y[i], [1.0]]),
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            raise SolverError(f"directional benefit of the doubt, unit {i}: {result.message}")
        out[i] = 1.0 / (1.0 + float(result.x[-1]))
    return out


def robust(y: np.ndarray, draws: int) -> np.ndarray:
    """The order-m score of every row of `y`, the exact expectation over `draws` peers
    drawn with replacement (see the module).

    >>> [round(float(v), 6) for v in robust(np.array([[1.0], [2.0]]), 1)]
    [0.666667, 1.333333]
    """
    n = y.shape[0]
    cumulative = (np.arange(n + 1) / n) ** draws
    probability = np.diff(cumulative)  # P(the maximum is the k-th smallest value)
    out = np.zeros(n)
    for i in range(n):
        bounded = y[i] > 0
        if not bounded.any():
            out[i] = 0.0  # no member bounds the unit: every peer dominates it without limit
            continue
        ratios = np.min(y[:, bounded] / y[i, bounded], axis=1)
        out[i] = 1.0 / float(np.sort(ratios) @ probability)
    return out
