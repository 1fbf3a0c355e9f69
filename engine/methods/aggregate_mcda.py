"""Multi-criteria aggregations: penalised means and methods that compare the units.

Every method here reads members that are already normalised and oriented by their
normalisation (higher is better), and yields a score where higher is better. TOPSIS,
VIKOR and Copeland compare the units with each other, so their statistics are taken over
the units of the period (the aggregation's `keys`).
"""

from __future__ import annotations

import sympy

from engine.formula import ir
from engine.methods.aggregate import AggregateContext, Aggregator, Members
from engine.methods.registry import Param, ParamType
from engine.methods.terms import add, div, mul, power, sub

__all__ = ["METHODS"]

PENALTY = Param(
    "penalty",
    ParamType.CHOICE,
    "MPI: 'positive' (default; M - S cv, for indices where higher is better) or 'negative' "
    "(M + S cv).",
    default="positive",
    choices=("positive", "negative"),
)


def _mpi(a: AggregateContext) -> sympy.Expr:
    """M -/+ S * cv, M and S the mean and population SD of the members."""
    ys = a.symbols()
    n = sympy.Integer(len(ys))
    mean = div(add(*ys), n)
    squares = [power(sub(y, mean), 2) for y in ys]
    sd = power(div(add(*squares), n), sympy.Rational(1, 2))
    penalty_term = div(mul(sd, sd), mean)  # S * cv = S^2 / M
    if a.params["penalty"] == "negative":
        return add(mean, penalty_term)
    return sub(mean, penalty_term)


MPI = Aggregator(
    name="mpi",
    title="Mazziotta-Pareto index",
    description="Mazziotta-Pareto index M - S cv (M, S: mean and population SD of the members "
    "in the unit, cv = S / M; the members should be z-scores with mean 100, SD 10); penalty "
    "'positive' subtracts (an index where higher is better, default), 'negative' adds. Equal "
    "weights only.",
    params=(PENALTY,),
    template=_mpi,
    equal_weights=True,
    sampleable=False,
    formula="`M − S²/M` (= `M − S·cv`), `M`, `S` the mean and **population** SD of the "
    "unit's members; `penalty: negative` gives `M + S²/M`",
    conventions="equal weights only (unequal weights are an error); members should be "
    "z-scores with mean 100, SD 10",
    equivalents=("Compind `ci_mpi` (`M(1 − cv²)`)", "Mazziotta & Pareto"),
    notes="**MPI uses the population SD** (divide by the number of members), as in "
    "Mazziotta and Pareto's definition; **Compind's `ci_mpi` uses R's `var`, the sample "
    "variance** (divide by members − 1), so with 6 members its penalty is 6/5 of the "
    "engine's. Compind also expects the data already normalised (since version 3.2); so does "
    "the engine (normalise with `z_score`, `mean: 100, sd: 10`).",
    references=("De Muro, Mazziotta & Pareto (2011)",),
)

AMPI = Aggregator(
    name="ampi",
    title="Adjusted Mazziotta-Pareto index",
    description="the adjusted MPI, the same penalised mean on members normalised with method "
    "'ampi' (population SD, as Compind's ci_ampi).",
    params=(PENALTY,),
    template=_mpi,
    equal_weights=True,
    sampleable=False,
    formula="the same penalised mean as `mpi`, `M − S·cv` with the population SD "
    "(`penalty: negative` adds), on members normalised with `ampi`",
    conventions="equal weights only",
    equivalents=("Compind `ci_ampi` (population SD)",),
    references=("Mazziotta & Pareto (2016)",),
)


def _topsis(a: AggregateContext) -> sympy.Expr:
    plus, minus = [], []
    for y, w in zip(a.symbols(), a.normalised()):
        v = mul(w, y)
        plus.append(power(sub(v, ir.stat(ir.ColMax, v, a.keys)), 2))
        minus.append(power(sub(v, ir.stat(ir.ColMin, v, a.keys)), 2))
    half = sympy.Rational(1, 2)
    d_plus, d_minus = power(add(*plus), half), power(add(*minus), half)
    return div(d_minus, add(d_plus, d_minus))


TOPSIS = Aggregator(
    name="topsis",
    title="TOPSIS closeness to the ideal",
    description="closeness C = D- / (D+ + D-) to the ideal, with v = w y, the ideal and "
    "anti-ideal the max and min of v over the units of the period, D the Euclidean distances "
    "(pymcdm's TOPSIS on already-normalised members).",
    template=_topsis,
    sampleable=False,
    formula="`C = D⁻ / (D⁺ + D⁻)`, `v = w·y`, ideal and anti-ideal the max and min of `v` "
    "over the units of the period, `D` Euclidean distances",
    conventions="members already normalised and oriented (higher is better)",
    equivalents=("pymcdm `TOPSIS`",),
    notes="expects normalised members; pymcdm's `TOPSIS()` normalises with min-max by "
    "default, so to match it, normalise the members with `min_max` and `range: [0, 1]`; the "
    "textbook (Hwang & Yoon) uses `vector`. A cost criterion is handled by the "
    "normalisation's cost rule, not inside TOPSIS.",
    references=("Hwang & Yoon (1981)",),
)


def _vikor(a: AggregateContext) -> sympy.Expr:
    """1 - Q of VIKOR (pymcdm's Q is lower-is-better; 1 - Q keeps higher is better)."""
    weight_v = a.number("v")
    terms = []
    for y, w in zip(a.symbols(), a.normalised()):
        best, worst = ir.stat(ir.ColMax, y, a.keys), ir.stat(ir.ColMin, y, a.keys)
        terms.append(mul(w, div(sub(best, y), sub(best, worst))))
    s_ = add(*terms)
    r_ = terms[0] if len(terms) == 1 else sympy.Max(*terms, evaluate=False)

    def scaled(e: sympy.Expr) -> sympy.Expr:
        lo, hi = ir.stat(ir.ColMin, e, a.keys), ir.stat(ir.ColMax, e, a.keys)
        return div(sub(e, lo), sub(hi, lo))

    one = sympy.Integer(1)
    q = add(mul(weight_v, scaled(s_)), mul(sub(one, weight_v), scaled(r_)))
    return sub(one, q)


VIKOR = Aggregator(
    name="vikor",
    title="VIKOR (1 - Q)",
    description="1 - Q, with S = sum(w (f* - f) / (f* - f-)), R = max of those terms, "
    "Q = v (S - S*) / (S- - S*) + (1 - v) (R - R*) / (R- - R*) over the units of the period; "
    "pymcdm returns Q (lower is better), here 1 - Q so that higher is better like every "
    "other aggregation.",
    params=(
        Param(
            "v",
            ParamType.NUMBER,
            "VIKOR: weight of the group utility S against the individual regret R (default 0.5).",
            default=0.5,
            minimum=0,
            maximum=1,
        ),
    ),
    template=_vikor,
    sampleable=False,
    formula="`1 − Q`, `Q = v (S − S*)/(S⁻ − S*) + (1 − v)(R − R*)/(R⁻ − R*)`, "
    "`S = Σ w (f* − f)/(f* − f⁻)`, `R` the largest term",
    conventions="statistics within the period",
    equivalents=("pymcdm `VIKOR`",),
    notes='returns `1 − Q`, not pymcdm\'s `Q`: `Q` is "lower is better", and every '
    'aggregation in the engine yields "higher is better" so that ranks and classes work the '
    "same. Ranking by `1 − Q` descending equals pymcdm's ranking by `Q` ascending. VIKOR's "
    "acceptance conditions (advantage and stability) are not applied.",
    references=("Opricovic & Tzeng (2004)",),
)

COPELAND = Aggregator(
    name="copeland",
    title="Copeland score",
    description="sum over the other units q of sign(O_pq - 1/2), O_pq = sum(w [y_p > y_q]) + "
    "1/2 sum(w [y_p = y_q]) (COINr a_copeland), within the period.",
    template=lambda a: ir.Copeland(
        sympy.Tuple(*a.symbols()),
        sympy.Tuple(*a.normalised()),
        sympy.Tuple(*(sympy.Symbol(k) for k in a.keys)),
        evaluate=False,
    ),
    sampleable=False,
    formula="`Σ_q sign(O_pq − ½)`, `O_pq = Σ w [y_p > y_q] + ½ Σ w [y_p = y_q]`",
    conventions="within the period",
    equivalents=("COINr `a_copeland`",),
    notes="the documented COINr rule, the sum of `sign(O_pq − ½)`; COINr 1.1.14's code "
    "returns the row sums of `O` itself, which its documentation contradicts.",
)


def _waspas(a: AggregateContext) -> sympy.Expr:
    lam, weights, ys = a.number("lambda"), a.normalised(), a.symbols()
    weighted_sum = add(*(mul(w, y) for w, y in zip(weights, ys)))
    weighted_product = mul(*(power(y, w) for w, y in zip(weights, ys)))
    return add(mul(lam, weighted_sum), mul(sub(sympy.Integer(1), lam), weighted_product))


WASPAS = Aggregator(
    name="waspas",
    title="WASPAS: weighted sum and weighted product joined",
    description="Q = lambda sum(w y) + (1 - lambda) prod(y^w) (WASPAS, Zavadskas et al. 2012), "
    "members >= 0. The members are already normalised and oriented by their normalisation: "
    "for Zavadskas' x / max(x) and min(x) / x, normalise with leader_share, scale: 1, and "
    "cost: min_over_x on 'lower is better' indicators.",
    params=(
        Param(
            "lambda",
            ParamType.NUMBER,
            "WASPAS: weight of the weighted sum against the weighted product (default 0.5; 1 "
            "gives the arithmetic mean, 0 the weighted product).",
            default=0.5,
            minimum=0,
            maximum=1,
        ),
    ),
    template=_waspas,
    members=Members.NON_NEGATIVE,
    requirement="WASPAS needs every member >= 0 (its product term y^w)",
    formula="`λ Σ w y + (1 − λ) Π y^w`",
    conventions="members ≥ 0, checked per row; already normalised and oriented (higher is better)",
    equivalents=("pymcdm `WASPAS(l=λ)`", "scikit-criteria `WASPAS(lambda_value=λ)`"),
    notes="Zavadskas et al. normalise a benefit criterion by `x / max x` and a cost "
    "criterion by `min x / x` inside the method; here the members arrive normalised, so a "
    "cost criterion is handled by its normalisation: write Zavadskas' normalisation as "
    '`leader_share` with `scale: 1`, and `cost: min_over_x` on the "lower is better" '
    "indicators (as `tests/test_waspas.py` does against pymcdm). A zero member makes the "
    "product term 0; `λ = 1` is the arithmetic mean.",
    references=(
        "Zavadskas, Turskis, Antucheviciene & Zakarevičius (2012), Elektronika ir "
        "Elektrotechnika 122(6)",
    ),
)

METHODS: tuple[Aggregator, ...] = (MPI, AMPI, TOPSIS, VIKOR, COPELAND, WASPAS)
