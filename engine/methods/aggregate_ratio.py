"""Multi-criteria aggregations with their own normalisation: COPRAS, MOORA and EDAS.

Each method normalises the members itself, as its paper does (a share of the column sum,
a share of the column's Euclidean norm, a distance from the column mean) and treats a
cost criterion by its own rule, so the members are usually left raw (normalisation
``none``, a "lower is better" member then being a cost criterion). Members normalised by
another method are read as benefit criteria. Every statistic is taken over the units of
the period (the aggregation's `keys`); every method yields a score where higher is better.
"""

from __future__ import annotations

import sympy

from engine.formula import ir
from engine.methods.aggregate import AggregateContext, Aggregator, LowerMembers, Members
from engine.methods.terms import add, div, mul, power, sub

__all__ = ["METHODS"]

_ZERO, _ONE = sympy.Integer(0), sympy.Integer(1)


def _sum(terms: list[sympy.Expr]) -> sympy.Expr:
    return terms[0] if len(terms) == 1 else add(*terms)


def _column(cls: type[ir.Stat], x: sympy.Expr, a: AggregateContext) -> ir.Stat:
    return ir.stat(cls, x, a.keys)


# -- COPRAS --------------------------------------------------------------------------------


def _copras(a: AggregateContext) -> sympy.Expr:
    """N = 100 Q / max Q, Q = S+ + (min S- sum S-) / (S- sum(min S- / S-)) (Zavadskas 1994)."""
    benefit: list[sympy.Expr] = []
    cost: list[sympy.Expr] = []
    for y, w, is_cost in zip(a.symbols(), a.normalised(), a.is_cost()):
        d = mul(w, div(y, _column(ir.ColSum, y, a)))
        (cost if is_cost else benefit).append(d)
    q = _sum(benefit) if benefit else _ZERO
    if cost:
        s_minus = _sum(cost)
        low = _column(ir.ColMin, s_minus, a)
        top = mul(low, _column(ir.ColSum, s_minus, a))
        bottom = mul(s_minus, _column(ir.ColSum, div(low, s_minus), a))
        q = add(q, div(top, bottom)) if benefit else div(top, bottom)
    return mul(sympy.Integer(100), div(q, _column(ir.ColMax, q, a)))


COPRAS = Aggregator(
    name="copras",
    title="COPRAS utility degree",
    description="COPRAS (Zavadskas, Kaklauskas & Sarka 1994): d = w x / sum(x) over the units "
    "of the period; S+ the sum of d over the benefit members, S- over the cost members (raw "
    "'lower is better' members); Q = S+ + min(S-) sum(S-) / (S- sum(min(S-) / S-)); the "
    "score is the utility degree 100 Q / max(Q). Members >= 0 (cost members > 0).",
    template=_copras,
    sampleable=False,
    members=Members.NON_NEGATIVE,
    requirement="COPRAS needs every member >= 0 (shares of the column sum)",
    lower_members=LowerMembers.REVERSED,
    formula="`100 Q / max Q`, `Q = S⁺ + min S⁻ · Σ S⁻ / (S⁻ · Σ (min S⁻ / S⁻))`, `S±` the "
    "sums of `w x / Σ_units x` over the benefit (cost) members; without a cost member "
    "`Q = S⁺`",
    lower="a raw 'lower is better' member (normalisation `none`) is a cost criterion: it "
    "goes into `S⁻`",
    conventions="members ≥ 0 (a ratio scale); within the period; the best unit scores 100",
    equivalents=(
        "scikit-criteria `COPRAS` after `SumScaler(target='matrix')` (`score`)",
        "pymcdm `COPRAS` (wrong, see the note)",
    ),
    notes="follows Zavadskas et al. (1994). **pymcdm 1.4's `COPRAS` is wrong**: it computes "
    "`Q = S⁺ + (min S⁻ · S⁻)/(S⁻ · (min S⁻/S⁻))`, which reduces to `S⁺ + S⁻`, so a cost "
    "criterion *raises* the score (on Compind's EU 2020 data it ranks the Czech Republic 27th "
    "instead of 9th); scikit-criteria matches the paper. pymcdm and scikit-criteria refuse "
    "data without a cost criterion; the engine then takes `Q = S⁺`.",
    references=(
        "Zavadskas, Kaklauskas & Šarka (1994), Technological and Economic Development of "
        "Economy 1(3)",
    ),
)


# -- MOORA ---------------------------------------------------------------------------------


def _moora(a: AggregateContext) -> sympy.Expr:
    terms = []
    for y, w, is_cost in zip(a.symbols(), a.normalised(), a.is_cost()):
        norm = power(_column(ir.ColSum, power(y, 2), a), sympy.Rational(1, 2))
        term = mul(w, div(y, norm))
        terms.append(mul(sympy.Integer(-1), term) if is_cost else term)
    return _sum(terms)


MOORA = Aggregator(
    name="moora",
    title="MOORA ratio system",
    description="MOORA ratio system (Brauers & Zavadskas 2006): y = sum over benefit members of "
    "w x / sqrt(sum(x^2)) minus the same over cost members (raw 'lower is better' members), "
    "the sums of squares over the units of the period.",
    template=_moora,
    sampleable=False,
    lower_members=LowerMembers.REVERSED,
    formula="`Σ_benefit w x/√Σx² − Σ_cost w x/√Σx²`",
    lower="a raw 'lower is better' member (normalisation `none`) is a cost criterion: its "
    "term is subtracted",
    conventions="within the period; the weighted form (significance coefficients, Brauers et "
    "al. 2008)",
    equivalents=(
        "pymcdm `MOORA`",
        "scikit-criteria `RatioMOORA` after `VectorScaler(target='matrix')`",
    ),
    notes="pymcdm 1.4's `MOORA` refuses data without a cost criterion, which the method does "
    "not need; the engine (like scikit-criteria) computes it.",
    references=(
        "Brauers & Zavadskas (2006), Control and Cybernetics 35(2)",
        "Brauers, Zavadskas, Peldschus & Turskis (2008)",
    ),
)


# -- EDAS ----------------------------------------------------------------------------------


def _edas(a: AggregateContext) -> sympy.Expr:
    positive, negative = [], []
    for y, w, is_cost in zip(a.symbols(), a.normalised(), a.is_cost()):
        av = _column(ir.ColMean, y, a)
        above = div(sympy.Max(_ZERO, sub(y, av), evaluate=False), av)
        below = div(sympy.Max(_ZERO, sub(av, y), evaluate=False), av)
        if is_cost:  # for a cost criterion being below the average is the good side
            above, below = below, above
        positive.append(mul(w, above))
        negative.append(mul(w, below))
    sp, sn = _sum(positive), _sum(negative)
    nsp = div(sp, _column(ir.ColMax, sp, a))
    nsn = sub(_ONE, div(sn, _column(ir.ColMax, sn, a)))
    return mul(sympy.Rational(1, 2), add(nsp, nsn))


EDAS = Aggregator(
    name="edas",
    title="EDAS appraisal score",
    description="EDAS (Keshavarz Ghorabaee et al. 2015): AV the mean of each member over the "
    "units of the period; PDA = max(0, x - AV) / AV, NDA = max(0, AV - x) / AV (swapped for "
    "cost members); SP = sum(w PDA), SN = sum(w NDA); AS = (SP / max SP + 1 - SN / max SN) "
    "/ 2.",
    template=_edas,
    sampleable=False,
    lower_members=LowerMembers.REVERSED,
    formula="`½ (SP / max SP + 1 − SN / max SN)`, `SP = Σ w max(0, x − AV)/AV`, "
    "`SN = Σ w max(0, AV − x)/AV`, `AV` the member's mean",
    lower="a raw 'lower is better' member (normalisation `none`) is a cost criterion: "
    "`PDA` and `NDA` are swapped",
    conventions="within the period; a zero mean, or every SP (SN) zero, is a division by "
    "zero (the paper does not define them)",
    equivalents=("pymcdm `EDAS`", "scikit-criteria `EDAS`"),
    notes="scikit-criteria adds 1e-5 to every average when one is 0 and replaces max SP = 0 "
    "by 1e-5, and pymcdm divides by zero; the engine stops with the units named instead.",
    references=("Keshavarz Ghorabaee, Zavadskas, Olfat & Turskis (2015), Informatica 26(3)",),
)

METHODS: tuple[Aggregator, ...] = (COPRAS, MOORA, EDAS)
