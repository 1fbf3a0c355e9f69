"""Normalisations by rank, share of a total, category, or against a reference level.

Ranks give ties the smallest rank (``min``, "sport" ranking) and the best unit the
highest number; missing values get no rank. The shares divide by a total over the
normalisation's scope. AMPI rescales around a goalpost over all periods.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import sympy

from engine.diagnostics import Code
from engine.formula import ir
from engine.methods.normalise import SCALE
from engine.methods.normalise_context import SHARED, NormaliseContext, Normaliser
from engine.methods.registry import Param, ParamType, Problem, Usage
from engine.methods.terms import add, div, mul, num, power, sub

__all__ = ["METHODS"]


def _rank(n: NormaliseContext) -> sympy.Expr:
    # ascending ranks: the smallest x gets 1; reversed for "lower is better"
    return ir.stat(ir.ColRank, n.x(), n.keys, sympy.Integer(int(n.lower_is_better)), ir.Str("min"))


RANK = Normaliser(
    name="rank",
    title="Rank",
    description="Rank (COINr n_rank): y = rank of x with ties sharing the smallest rank "
    "(1, 1, 3); the best unit gets the highest number (n). Missing values get no rank.",
    params=SHARED,
    template=_rank,
    formula="rank of `x`, ascending, ties `min`: the best unit gets n",
    lower="rank of `−x` likewise",
    equivalents=("COINr `n_rank`", "Compind `normalise_ci(method = 3)` (ties average)"),
    notes='ties share the smallest rank (`min`, "sport" ranking); missing values get no '
    "rank. Compind's `normalise_ci(method = 3)` uses R's default `average` ties, so tied "
    "units get different numbers there.",
)


def _percentile_rank(n: NormaliseContext) -> sympy.Expr:
    count = ir.stat(ir.ColCount, n.x(), n.keys)
    one = sympy.Integer(1)
    return n.scale(div(sub(_rank(n), one), sub(count, one)))


PERCENTILE_RANK = Normaliser(
    name="percentile_rank",
    title="Percentile rank",
    description="Percentile rank (COINr n_prank): y = (rank_min(x) - 1) / (n - 1) * scale, 0 "
    "for the worst unit and scale for the best; n counts units with a value.",
    params=(SCALE, *SHARED),
    template=_percentile_rank,
    formula="`(rank_min − 1)/(n − 1) · scale`",
    lower="reversed rank",
    equivalents=("COINr `n_prank`",),
    notes="`n` counts the units with a value; ties as for `rank`.",
)

BORDA = Normaliser(
    name="borda",
    title="Borda score",
    description="Borda score (COINr n_borda): y = rank_min(x) - 1, the number of units the "
    "unit beats (ties share).",
    params=SHARED,
    template=lambda n: sub(_rank(n), sympy.Integer(1)),
    formula="`rank_min − 1` (units beaten)",
    lower="reversed rank",
    equivalents=("COINr `n_borda`",),
)


def _vector(n: NormaliseContext) -> sympy.Expr:
    x = n.x()
    norm = power(n.stat(ir.ColSum, operand=power(x, 2)), sympy.Rational(1, 2))
    t = div(x, norm)
    return n.scale(sub(sympy.Integer(1), t) if n.lower_is_better else t)


VECTOR = Normaliser(
    name="vector",
    title="Vector (Euclidean) normalisation",
    description="Vector (Euclidean) normalisation (TOPSIS): y = x / sqrt(sum(x^2)) * scale; "
    "'lower is better': (1 - x / sqrt(sum(x^2))) * scale (pymcdm's cost branch).",
    params=(SCALE, *SHARED),
    template=_vector,
    formula="`x / √Σx² · scale`",
    lower="`(1 − x / √Σx²) · scale`",
    equivalents=("pymcdm `vector_normalization`", "TOPSIS (Hwang & Yoon)"),
    notes="the cost branch is pymcdm's `1 − x/‖x‖` (not `min/x` or a reciprocal).",
)


def _share(n: NormaliseContext) -> sympy.Expr:
    x = n.x()
    if n.lower_is_better:
        inverse = power(x, sympy.Integer(-1))
        return n.scale(div(inverse, n.stat(ir.ColSum, operand=inverse)))
    return n.scale(div(x, n.stat(ir.ColSum)))


SHARE = Normaliser(
    name="share",
    title="Share of total",
    description="Share of total (sum normalisation): y = x / sum(x) * scale; 'lower is "
    "better': (1 / x) / sum(1 / x) * scale (pymcdm's cost branch; x > 0).",
    params=(SCALE, *SHARED),
    template=_share,
    formula="`x / Σx · scale`",
    lower="`(1/x) / Σ(1/x) · scale`",
    equivalents=("pymcdm `sum_normalization`",),
    notes="the cost branch needs `x > 0` (checked as a division by zero).",
)


def _categorical(n: NormaliseContext) -> sympy.Expr:
    cuts = [num(p) for p in n.param("percentiles")]
    scores = [num(v) for v in n.param("scores")]
    if n.lower_is_better:
        scores = scores[::-1]
    x = n.x()
    branches = []
    for cut, score in zip(reversed(cuts), reversed(scores[1:])):
        q = n.stat(ir.ColQuantile, cut / 100)
        branches.append((score, sympy.GreaterThan(x, q, evaluate=False)))
    branches.append((scores[0], sympy.true))
    return sympy.Piecewise(*branches, evaluate=False)


def _one_score_more(u: Usage) -> Iterator[Problem]:
    if len(u.params["scores"]) != len(u.params["percentiles"]) + 1:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"categorical normalisation of '{u.subject}' needs one score more than percentiles",
            expected="len(scores) == len(percentiles) + 1",
        )


CATEGORICAL = Normaliser(
    name="categorical",
    title="Categorical scale by percentiles",
    description="Categorical scale by percentiles (OECD/JRC Handbook): y = scores[k] for the "
    "k-th interval between the percentiles of x (linear interpolation, numpy's default / R "
    "type 7); a value equal to a percentile goes to the upper interval. 'Lower is better' "
    "reverses the scores.",
    params=(
        Param(
            "percentiles",
            ParamType.NUMBERS,
            "Cut points in percent, increasing, e.g. [15, 25, 65, 85, 95].",
            default=(15, 25, 65, 85, 95),
            exclusive_minimum=0,
            exclusive_maximum=100,
            min_items=1,
        ),
        Param(
            "scores",
            ParamType.NUMBERS,
            "Scores of the intervals, one more than the percentiles, e.g. "
            "[0, 20, 40, 60, 80, 100].",
            default=(0, 20, 40, 60, 80, 100),
            min_items=2,
        ),
        *SHARED,
    ),
    rules=(_one_score_more,),
    template=_categorical,
    formula="`scores[k]` for the k-th interval between the percentiles of `x`",
    lower="the scores reversed",
    equivalents=("OECD/JRC Handbook (categorical scale)",),
    notes="percentiles with linear interpolation (numpy's default, R type 7); a value equal "
    "to a percentile goes to the upper interval.",
)


def _ampi(n: NormaliseContext) -> sympy.Expr:
    if n.has("base") and n.period is not None:  # statistics of the base period
        n = dataclasses.replace(n, reference=(n.period, n.param("base")))
    x, pooled = n.x(), n.pooled()
    delta = div(sub(pooled.stat(ir.ColMax), pooled.stat(ir.ColMin)), sympy.Integer(2))
    if n.has("reference"):
        ref: sympy.Expr = n.number("reference")
    elif n.has("base") and n.reference is not None:
        ref = n.stat(ir.ColMean)
    else:
        ref = pooled.stat(ir.ColMean)
    top = sub(ref, x) if n.lower_is_better else sub(x, ref)
    return add(mul(div(top, delta), sympy.Integer(30)), sympy.Integer(100))


def _base_needs_period(u: Usage) -> Iterator[Problem]:
    if u.params.get("base") is not None and u.period is None:
        yield Problem(
            Code.SCHEMA, "ampi's base period needs a period column", expected="data.period"
        )


AMPI = Normaliser(
    name="ampi",
    title="Adjusted Mazziotta-Pareto rescaling",
    description="Adjusted Mazziotta-Pareto rescaling (Mazziotta & Pareto 2016; Compind "
    "ci_ampi): y = (x - ref) / delta * 30 + 100, reversed for 'lower is better', where delta "
    "is half the range of x over all rows of all periods and ref the goalpost: the mean of "
    "the `base` period or a fixed `reference`; ref scores 100 and ref -/+ delta score 70 and "
    "130. Use with aggregation 'ampi'.",
    params=(
        Param(
            "base",
            ParamType.PERIOD,
            "Period whose mean is the goalpost (e.g. the first year). Default: the mean of all "
            "rows.",
        ),
        Param("reference", ParamType.NUMBER, "A fixed goalpost instead of a mean."),
        *SHARED,
    ),
    rules=(_base_needs_period,),
    template=_ampi,
    formula="`(x − ref)/Δ · 30 + 100`; `Δ` = half the range of `x` over all rows of all "
    "periods; `ref` = the mean of the `base` period (or a fixed `reference`; default the mean "
    "of all rows)",
    lower="`(ref − x)/Δ · 30 + 100`",
    equivalents=("Compind `ci_ampi`",),
    notes="the goalpost scores 100, `ref ∓ Δ` score 70 and 130. Pair it with the `ampi` "
    "aggregation.",
    references=("Mazziotta & Pareto (2016)",),
)

METHODS: tuple[Normaliser, ...] = (
    RANK,
    PERCENTILE_RANK,
    BORDA,
    VECTOR,
    SHARE,
    CATEGORICAL,
    AMPI,
)
