"""Sampling a sensitivity analysis: the table of replications.

Saltelli (2010): two matrices A and B of N uniform draws per uncertain choice
("factor"), and for each factor i the matrix A_B^(i) (A with column i from B). A factor's
draw u in [0, 1) picks an alternative by cumulative probability, a weight set (from N
sets drawn once), or the dropped member. Everything is drawn from
``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import polars as pl

from engine.analysis.sensitivity_plan import (
    AGG_CHOICE,
    IMP_CHOICE,
    NORM_CHOICE,
    REP,
    TREAT_CHOICE,
    factor_column,
)
from engine.diagnostics import Code, Diagnostic, MethodologyError
from engine.format.model import Methodology, Uncertainty


def _factors(m: Methodology, design: Uncertainty) -> list[str]:
    out = []
    if design.weights:
        out.append("weights")
    if len(design.normalisations) > 1:
        out.append("normalisation")
    if len(design.aggregations) > 1:
        out.append("aggregation")
    if len(design.imputations) > 1:
        out.append("imputation")
    if len(design.treatments) > 1:
        out.append("treatment")
    if design.drop:
        out.append("drop")
    if not out:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.BAD_ARGUMENTS,
                    "the uncertainty design has no uncertain choice",
                    expected="weights, two or more normalisation or aggregation "
                    "alternatives, or drop: indicators",
                )
            ]
        )
    return out


def _pick(u: float, probabilities: Sequence[float]) -> int:
    acc = 0.0
    for k, p in enumerate(probabilities):
        acc += p
        if u < acc:
            return k
    return len(probabilities) - 1


def _weight_sets(
    m: Methodology, design: Uncertainty, n: int, rng: random.Random
) -> list[dict[str, float]]:
    """n draws of the multiplicative weight factors of every group member."""
    sets = []
    for _ in range(n):
        factors: dict[str, float] = {}
        for g in m.groups:
            if design.weights is None:
                continue
            kind, value = design.weights
            if kind == "perturb":
                for mem in g.members:
                    factors[factor_column(g.name, mem)] = 1 + rng.uniform(-value, value)
            else:  # dirichlet around the nominal normalised weights (equal for data-driven weights)
                nominal = [float(w) if w.is_Number else 1.0 for w in g.weights]
                total = sum(nominal)
                shares = [w / total for w in nominal]
                draws = [rng.gammavariate(value * s, 1.0) if s > 0 else 0.0 for s in shares]
                norm = sum(draws) or 1.0
                for mem, d, s in zip(g.members, draws, shares):
                    factors[factor_column(g.name, mem)] = (d / norm) / s if s > 0 else 0.0
        sets.append(factors)
    return sets


def _droppable(m: Methodology, what: str | None) -> list[tuple[str, str]]:
    """(group, member) pairs that can be dropped (their group keeps a member): indicators,
    groups or both."""
    indicators = {i.name for i in m.indicators}
    rules: dict[str, Callable[[str], bool]] = {
        "indicators": lambda x: x in indicators,
        "groups": lambda x: x not in indicators,
        "both": lambda x: True,
    }
    wanted: Callable[[str], bool] = rules.get(what or "", lambda x: False)
    return [
        (g.name, mem)
        for g in m.groups
        if g.aggregation != "formula" and len(g.members) > 1
        for mem in g.members
        if wanted(mem)
    ]


def design_table(
    m: Methodology, design: Uncertainty, n: int, seed: int, sobol: bool
) -> tuple[pl.DataFrame, list[str]]:
    """One row per replication: its id, the matrix it belongs to, and its parameters."""
    factors = _factors(m, design)
    rng = random.Random(seed)
    a = [[rng.random() for _ in factors] for _ in range(n)]
    b = [[rng.random() for _ in factors] for _ in range(n)]
    weight_sets = _weight_sets(m, design, n, rng)
    drops = _droppable(m, design.drop)
    matrices: list[tuple[str, list[list[float]]]] = [("A", a)] + ([("B", b)] if sobol else [])
    if sobol:
        for i, name in enumerate(factors):
            matrices.append(
                (
                    f"AB:{name}",
                    [[*row_a[:i], row_b[i], *row_a[i + 1 :]] for row_a, row_b in zip(a, b)],
                )
            )
    base = {factor_column(g.name, mem): 1.0 for g in m.groups for mem in g.members}
    rows: list[dict[str, object]] = []
    for label, matrix in matrices:
        for j, u in enumerate(matrix):
            row: dict[str, object] = {
                REP: len(rows),
                "__matrix": label,
                "__sample": j,
                **base,
                NORM_CHOICE: 0,
                AGG_CHOICE: 0,
                IMP_CHOICE: 0,
                TREAT_CHOICE: 0,
            }
            for f, value in zip(factors, u):
                if f == "weights":
                    row.update(
                        weight_sets[min(int(value * len(weight_sets)), len(weight_sets) - 1)]
                    )
                elif f == "normalisation":
                    row[NORM_CHOICE] = _pick(value, design.normalisation_probabilities)
                elif f == "aggregation":
                    row[AGG_CHOICE] = _pick(value, design.aggregation_probabilities)
                elif f == "imputation":
                    row[IMP_CHOICE] = _pick(value, design.imputation_probabilities)
                elif f == "treatment":
                    row[TREAT_CHOICE] = _pick(value, design.treatment_probabilities)
                elif f == "drop":
                    k = min(int(value * (len(drops) + 1)), len(drops))
                    if k < len(drops):
                        row[factor_column(*drops[k])] = 0.0
            rows.append(row)
    return pl.DataFrame(rows), factors
