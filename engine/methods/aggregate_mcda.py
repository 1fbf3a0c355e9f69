"""Multi-criteria aggregations: penalised means and methods that compare the units.

Every method here yields a score where higher is better. MPI, AMPI and WASPAS read members
normalised and oriented by their normalisation (a raw "lower is better" member is an
error); TOPSIS and VIKOR also take raw members and reverse a cost criterion by their own
rule. TOPSIS and VIKOR compare the units with each other, so their statistics are taken
over the units of the period (the aggregation's `keys`). Copeland and PROMETHEE are in
:mod:`engine.methods.aggregate_outranking`.
"""

from __future__ import annotations

import sympy

from engine.formula import ir
from engine.methods.aggregate import AggregateContext, Aggregator, LowerMembers, Members
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
    "weights only. Compind's ci_mpi uses the sample variance (divide by members - 1): write "
    "the group as a formula to reproduce it (docs/methods.md).",
    params=(PENALTY,),
    template=_mpi,
    lower_members=LowerMembers.REFUSED,
    equal_weights=True,
    sampleable=False,
    formula="`M − S²/M` (= `M − S·cv`), `M`, `S` the mean and **population** SD of the "
    "unit's members; `penalty: negative` gives `M + S²/M`",
    conventions="equal weights only (unequal weights are an error); members should be "
    "z-scores with mean 100, SD 10",
    equivalents=("Compind `ci_mpi` (`M(1 − cv²)`, sample SD)", "Mazziotta & Pareto"),
    notes="**MPI uses the population SD** (divide by the number of members), as in "
    "Mazziotta and Pareto's definition; **Compind's `ci_mpi` uses R's `var`, the sample "
    "variance** (divide by members − 1), so with 6 members its penalty is 6/5 of the "
    "engine's. To reproduce Compind, write the group as a formula: for members A, B, C, "
    "`(A + B + C)/3 - ((A - (A + B + C)/3)**2 + (B - (A + B + C)/3)**2 + (C - (A + B + "
    "C)/3)**2) / 2 / ((A + B + C)/3)` (`+` instead of the second `-` for `penalty: "
    "negative`; divide by the number of members − 1). Compind also expects the data already "
    "normalised (since version 3.2); so does the engine (normalise with `z_score`, "
    "`mean: 100, sd: 10`; Compind's `normalise_ci` also uses the sample SD there, as "
    "`z_score` does by default).",
    references=("De Muro, Mazziotta & Pareto (2011)",),
)

AMPI = Aggregator(
    name="ampi",
    title="Adjusted Mazziotta-Pareto index",
    description="the adjusted MPI, the same penalised mean on members normalised with method "
    "'ampi' (population SD, as Compind's ci_ampi, which also rounds to 3 decimals and "
    "ignores its penalty argument; the engine keeps full precision and applies the penalty "
    "direction asked for).",
    params=(PENALTY,),
    template=_mpi,
    lower_members=LowerMembers.REFUSED,
    equal_weights=True,
    sampleable=False,
    formula="the same penalised mean as `mpi`, `M − S·cv` with the population SD "
    "(`penalty: negative` adds), on members normalised with `ampi`",
    conventions="equal weights only; `penalty: positive` (default) subtracts the penalty, "
    "`negative` adds it",
    equivalents=("Compind `ci_ampi` (population SD; wrong on two counts, see the note)",),
    notes="Compind 3.4's `ci_ampi` **rounds the index to 3 decimals** and **ignores its "
    "`penalty` argument**: it overwrites it with the penalty matrix before testing "
    "`penalty == 'POS'`, so it always returns `M − S·cv` (penalty 'POS' and 'NEG' give "
    "identical output). The engine keeps full precision and applies the direction asked "
    "for; with `penalty: positive` it equals Compind to its 3 decimals.",
    references=("Mazziotta & Pareto (2016)",),
)


def _topsis(a: AggregateContext) -> sympy.Expr:
    plus, minus = [], []
    for y, w, cost in zip(a.symbols(), a.normalised(), a.is_cost()):
        v = mul(w, y)
        best, worst = ir.stat(ir.ColMax, v, a.keys), ir.stat(ir.ColMin, v, a.keys)
        if cost:  # Hwang & Yoon: the ideal of a cost criterion is its smallest value
            best, worst = worst, best
        plus.append(power(sub(v, best), 2))
        minus.append(power(sub(v, worst), 2))
    half = sympy.Rational(1, 2)
    d_plus, d_minus = power(add(*plus), half), power(add(*minus), half)
    return div(d_minus, add(d_plus, d_minus))


TOPSIS = Aggregator(
    name="topsis",
    title="TOPSIS closeness to the ideal",
    description="closeness C = D- / (D+ + D-) to the ideal, with v = w y, the ideal and "
    "anti-ideal the max and min of v over the units of the period (the min and max for a "
    "raw 'lower is better' member), D the Euclidean distances (pymcdm's TOPSIS on "
    "normalised members).",
    template=_topsis,
    sampleable=False,
    lower_members=LowerMembers.REVERSED,
    formula="`C = D⁻ / (D⁺ + D⁻)`, `v = w·y`, ideal and anti-ideal the max and min of `v` "
    "over the units of the period, `D` Euclidean distances",
    lower="a member that is not normalised (`none`) and 'lower is better' is a cost "
    "criterion: its ideal is the min of `v`, its anti-ideal the max (Hwang & Yoon)",
    conventions="members normalised and oriented by their normalisation, or raw cost criteria",
    equivalents=("pymcdm `TOPSIS`",),
    notes="expects normalised members; pymcdm's `TOPSIS()` normalises with min-max by "
    "default, so to match it, normalise the members with `min_max` and `range: [0, 1]`; the "
    "textbook (Hwang & Yoon) uses `vector` (whose cost branch `1 − x/‖x‖` gives the same "
    "distances as Hwang & Yoon's ideal at the min). A 'lower is better' member with "
    "normalisation `none` is reversed by TOPSIS itself (ideal at the min), so the direction "
    "is never ignored; with normalisation `formula` it is an error (the engine cannot tell "
    "whether the formula already reverses it).",
    references=("Hwang & Yoon (1981)",),
)


def _vikor(a: AggregateContext) -> sympy.Expr:
    """1 - Q of VIKOR (pymcdm's Q is lower-is-better; 1 - Q keeps higher is better)."""
    weight_v = a.number("v")
    terms = []
    for y, w, cost in zip(a.symbols(), a.normalised(), a.is_cost()):
        best, worst = ir.stat(ir.ColMax, y, a.keys), ir.stat(ir.ColMin, y, a.keys)
        if cost:  # Opricovic: f* is the best value, the min of a cost criterion
            best, worst = worst, best
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
    lower_members=LowerMembers.REVERSED,
    formula="`1 − Q`, `Q = v (S − S*)/(S⁻ − S*) + (1 − v)(R − R*)/(R⁻ − R*)`, "
    "`S = Σ w (f* − f)/(f* − f⁻)`, `R` the largest term",
    lower="a member that is not normalised (`none`) and 'lower is better' is a cost "
    "criterion: `f*` is its min, `f⁻` its max (Opricovic & Tzeng)",
    conventions="statistics within the period",
    equivalents=("pymcdm `VIKOR`",),
    notes='returns `1 − Q`, not pymcdm\'s `Q`: `Q` is "lower is better", and every '
    'aggregation in the engine yields "higher is better" so that ranks and classes work the '
    "same. Ranking by `1 − Q` descending equals pymcdm's ranking by `Q` ascending. VIKOR's "
    "acceptance conditions (advantage and stability) are not applied. VIKOR needs no "
    "normalisation (each term is scaled by its range): leave the members `none` and a "
    "'lower is better' one is a cost criterion, as in pymcdm's `VIKOR` with `types = -1`.",
    references=("Opricovic & Tzeng (2004)",),
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
    lower_members=LowerMembers.REFUSED,
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

METHODS: tuple[Aggregator, ...] = (MPI, AMPI, TOPSIS, VIKOR, WASPAS)
