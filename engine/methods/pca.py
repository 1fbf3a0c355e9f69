"""Principal-component weights, estimated from the data before the index is computed.

A group with ``weighting: pca`` takes as weights the squared loadings of the first
principal component of its members' correlation matrix over the units of each period
(the OECD/JRC Handbook's factor weights with a single factor). The eigenvector has unit
length, so the weights add up to 1; its sign does not matter once squared.

The weights depend on the members' normalised scores, so they are estimated in a first
pass: the plan runs with equal weights for these groups, the correlation matrices are
taken per period and decomposed with numpy, and the methodology is rebuilt with the
estimated weights as per-period constants (``where(year == 2010, w, ...)``). Nested PCA
groups are estimated children first, one pass each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import polars as pl
import sympy

from engine.format.model import Methodology
from engine.methods import catalogue, pca_rotated
from engine.plan import build_plan, norm_column

#: the weightings estimated here
ESTIMATED = ("pca", "pca_rotated")


def _weights(
    frame: pl.DataFrame, columns: list[str], period: str | None, rotated: bool = False
) -> dict[object, list[float]]:
    """Squared PC1 loadings of the correlation matrix of `columns`, per period (with
    `rotated`, the Handbook's varimax factor weights: :mod:`engine.methods.pca_rotated`)."""
    out: dict[object, list[float]] = {}
    parts = frame.partition_by(period, as_dict=True) if period else {(None,): frame}
    for key, part in parts.items():
        values = part.select(columns).drop_nulls().to_numpy()
        if values.shape[0] < 2:
            continue
        if rotated:
            out[key[0]] = pca_rotated.handbook_weights(values)
            continue
        corr = np.corrcoef(values, rowvar=False)
        eigenvalues, eigenvectors = np.linalg.eigh(corr)
        first = eigenvectors[:, int(np.argmax(eigenvalues))]
        out[key[0]] = [float(v) ** 2 for v in first]
    return out


def resolve(m: Methodology, run: Callable[[Methodology], pl.DataFrame]) -> Methodology:
    """`m` with every PCA group's weights estimated; `run(methodology)` returns the full
    computed frame of a methodology (every column)."""
    period = m.layout.period
    keys = (period,) if period else ()
    for g in m.groups:
        if g.weighting not in ESTIMATED:
            continue
        frame = run(m)
        columns = [norm_column(x) if norm_column(x) in frame.columns else x for x in g.members]
        per_period = _weights(frame, columns, period, g.weighting == "pca_rotated")
        weights = []
        for j in range(len(g.members)):
            if period:
                branches = [
                    (sympy.Float(w[j]), sympy.Eq(sympy.Symbol(period), p, evaluate=False))
                    for p, w in per_period.items()
                ]
                weights.append(
                    sympy.Piecewise(*branches, evaluate=False) if branches else sympy.Integer(1)
                )
            else:
                weights.append(sympy.Float(per_period[None][j]))
        expr = catalogue.aggregate(g.aggregation, g.members, weights, keys, dict(g.params), g.cost)
        groups = tuple(
            dataclasses.replace(x, weights=tuple(weights), expr=expr) if x.name == g.name else x
            for x in m.groups
        )
        m = dataclasses.replace(m, groups=groups)
    build_plan(m)  # the rebuilt methodology must still plan
    return m
