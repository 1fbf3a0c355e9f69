"""The EM estimates behind ``imputation: em``: a multivariate normal fitted to incomplete data.

For each group of indicators read by an ``em`` imputation and each period, the mean μ and
covariance Σ of the indicators are estimated by maximum likelihood from the units' present
values with the EM algorithm (Dempster, Laird & Rubin 1977; Little & Rubin 2002, §11.2):

* E step: for each unit, the missing values M given the present ones O are replaced by
  their conditional means ``μ_M + Σ_MO Σ_OO⁻¹ (x_O − μ_O)``, and the conditional
  covariance ``Σ_MM − Σ_MO Σ_OO⁻¹ Σ_OM`` is added to the unit's cross-products;
* M step: μ is the mean and Σ the covariance (divided by n) of the completed data;

starting from the available-case means and variances (zero covariances), until no
estimate moves by more than 1e-10 of the largest one in size (at most 10,000 steps). A
unit with no present value adds nothing and is left out.

The imputation of indicator j for a unit is then the regression ``μ_j + Σ_jO Σ_OO⁻¹
(x_O − μ_O)`` on its present indicators O; :func:`resolve` computes one such regression
per period and pattern of present values found in the data and writes them into the
methodology, whose plan then prints and explains them as formulas. This is a first pass
over the data, like PCA weights (:mod:`engine.methods.pca`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import polars as pl

from engine.diagnostics import Code, DataError, Diagnostic
from engine.format.model import Indicator, Methodology
from engine.methods import catalogue
from engine.methods.impute import ImputeContext

__all__ = ["TOLERANCE", "estimate", "resolve"]

TOLERANCE = 1e-10
MAX_STEPS = 10_000

#: one regression: the present flag of each other indicator, the intercept, and the slopes
Pattern = tuple[tuple[tuple[str, bool], ...], float, tuple[tuple[str, float], ...]]


class EstimationError(ValueError):
    """The EM estimates cannot be computed (a singular covariance, no convergence)."""


def estimate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """μ, Σ (maximum likelihood, divide by n) and the number of EM steps, for the rows of
    `x` (units × variables, NaN where missing).

    >>> mu, sigma, _ = estimate(np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]]))
    >>> [round(float(v), 6) for v in mu]
    [3.0, 4.0]
    """
    rows = x[~np.isnan(x).all(axis=1)]
    n, p = rows.shape
    if n == 0:
        raise EstimationError("no unit has a value")
    present = ~np.isnan(rows)
    mu = np.nanmean(rows, axis=0)
    sigma = np.diag(np.nanvar(rows, axis=0))
    for step in range(1, MAX_STEPS + 1):
        total = np.zeros(p)
        products = np.zeros((p, p))
        for i in range(n):
            o, m = present[i], ~present[i]
            filled = rows[i].copy()
            if m.any():
                slopes = _slopes(sigma, o, m)
                filled[m] = mu[m] + slopes @ (rows[i, o] - mu[o])
                products[np.ix_(m, m)] += sigma[np.ix_(m, m)] - slopes @ sigma[np.ix_(o, m)]
            total += filled
            products += np.outer(filled, filled)
        new_mu = total / n
        new_sigma = products / n - np.outer(new_mu, new_mu)
        change = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max())
        scale = max(1.0, np.abs(new_mu).max(), np.abs(new_sigma).max())
        mu, sigma = new_mu, new_sigma
        if change <= TOLERANCE * scale:
            return mu, sigma, step
    raise EstimationError(f"EM did not converge in {MAX_STEPS} steps")


def _slopes(sigma: np.ndarray, o: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Σ_MO Σ_OO⁻¹ (rows: the missing variables; columns: the present ones)."""
    if not o.any():
        return np.zeros((int(m.sum()), 0))
    try:
        return np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)]).T
    except np.linalg.LinAlgError as err:
        raise EstimationError("the covariance of the present indicators is singular") from err


def _regressions(
    x: np.ndarray, names: tuple[str, ...], mu: np.ndarray, sigma: np.ndarray
) -> tuple[Pattern, ...]:
    """The regression of names[0] on each pattern of the others among its missing rows."""
    out: list[Pattern] = []
    seen: set[tuple[bool, ...]] = set()
    for row in x[np.isnan(x[:, 0])]:
        flags = tuple(bool(v) for v in ~np.isnan(row[1:]))
        if flags in seen:
            continue
        seen.add(flags)
        o = np.array([False, *flags])
        m = np.zeros(len(names), dtype=bool)
        m[0] = True
        slopes = _slopes(sigma, o, m)[0]
        used = [n for n, here in zip(names[1:], flags) if here]
        intercept = float(mu[0] - slopes @ mu[o])
        out.append(
            (
                tuple(zip(names[1:], flags)),
                intercept,
                tuple((n, float(b)) for n, b in zip(used, slopes)),
            )
        )
    return tuple(out)


def resolve(m: Methodology, run: Callable[[Methodology], pl.DataFrame]) -> Methodology:
    """`m` with the EM estimates written into every ``em`` imputation; `run(methodology)`
    returns the computed frame (the raw indicator columns are read)."""
    targets = [i for i in m.indicators if dict(i.imputation).get("method") == "em"]
    if not targets:
        return m
    frame = run(m)
    period = m.layout.period
    parts = frame.partition_by(period, as_dict=True) if period else {(None,): frame}
    groups = {g.name: g.members for g in m.groups}
    lower = frozenset(i.name for i in m.indicators if i.direction == "lower")
    fits: dict[tuple[tuple[str, ...], object], tuple[np.ndarray, np.ndarray]] = {}
    replaced: dict[str, Indicator] = {}
    for ind in targets:
        spec = dict(ind.imputation)
        params = catalogue.imputation("em").with_defaults(spec)
        ctx = ImputeContext(ind.name, (), m.layout.unit, period, params, groups, lower)
        names = (ind.name, *ctx.siblings())
        order = sorted(names)  # one fit per group of indicators and period
        per_period = []
        for key, part in sorted(parts.items(), key=lambda kv: str(kv[0][0])):
            p = key[0]
            x = part.select(order).to_numpy().astype(float)
            if (tuple(order), p) not in fits:
                try:
                    fits[(tuple(order), p)] = estimate(x)[:2]
                except EstimationError as err:
                    raise DataError(
                        [
                            Diagnostic(
                                Code.UNDEFINED,
                                f"EM imputation of '{ind.name}' from {', '.join(order)}"
                                + (f" in {period} {p}" if period else "")
                                + f": {err}",
                                expected="enough units with values to estimate the "
                                "covariance of the group's indicators",
                            )
                        ]
                    ) from err
            mu, sigma = fits[(tuple(order), p)]
            index = [order.index(n) for n in names]
            sub_x = x[:, index]
            per_period.append(
                (p, _regressions(sub_x, names, mu[index], sigma[np.ix_(index, index)]))
            )
        spec["estimated"] = tuple(per_period)
        replaced[ind.name] = dataclasses.replace(ind, imputation=tuple(spec.items()))
    return dataclasses.replace(m, indicators=tuple(replaced.get(i.name, i) for i in m.indicators))
