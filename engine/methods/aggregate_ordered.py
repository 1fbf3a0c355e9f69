"""Compind's ordered and distance-to-pattern aggregations: OWA, OGWA and Wrocław taxonomy.

OWA weighs a unit's members by their rank *within the unit* (the largest first), not by
which member they are; it is written with the existing IR nodes: a member's rank is the
number of members above it, and tied members share the order weights of their places
equally (so ties change nothing). OGWA multiplies the OWA by the unit's mean spatial
kernel weight over every unit of the period (:class:`~engine.formula.ir.PairSum` on the
coordinates). The Wrocław taxonomy measures the distance to the pattern unit (the best
value of each member over the units of the period).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.formula import ir
from engine.methods.aggregate import AggregateContext, Aggregator, LowerMembers
from engine.methods.registry import Param, ParamType, Problem, Usage
from engine.methods.terms import add, div, mul, num, power, sub

__all__ = ["METHODS"]

_ZERO, _ONE = sympy.Integer(0), sympy.Integer(1)


def _if(condition: sympy.Basic, then: sympy.Expr, otherwise: sympy.Expr) -> sympy.Expr:
    return ir.If(condition, then, otherwise, evaluate=False)


def _count(conditions: list[sympy.Basic]) -> sympy.Expr:
    """How many of `conditions` hold (exact: a float sum of 0s and 1s)."""
    ones = [_if(c, _ONE, _ZERO) for c in conditions]
    return ones[0] if len(ones) == 1 else add(*ones)


# -- OWA -------------------------------------------------------------------------------


def _cumulative(a: AggregateContext) -> Callable[[sympy.Expr], sympy.Expr]:
    """V(t): the sum of the order weights of the t largest places (V(0) = 0)."""
    m = len(a.members)
    if a.params.get("largest") is not None:
        j = sympy.Integer(a.params["largest"])
        return lambda t: div(sympy.Min(t, j, evaluate=False), j)
    if a.params.get("smallest") is not None:
        j = sympy.Integer(a.params["smallest"])
        return lambda t: div(sympy.Max(_ZERO, sub(t, sympy.Integer(m) - j), evaluate=False), j)
    weights = [num(v) for v in a.params["order_weights"]]
    total = sum(weights, sympy.Integer(0))
    running = [sympy.Integer(0)]
    for v in weights:
        running.append(running[-1] + v / total)

    def lookup(t: sympy.Expr) -> sympy.Expr:
        value: sympy.Expr = running[m]
        for places in range(m - 1, -1, -1):
            value = _if(sympy.Eq(t, places, evaluate=False), running[places], value)
        return value

    return lookup


def _owa(a: AggregateContext) -> sympy.Expr:
    """sum_k y_k (V(above_k + tied_k) - V(above_k)) / tied_k: member k holds the places
    above_k + 1 .. above_k + tied_k of the sorted values, shared with the members tied
    with it."""
    ys = a.symbols()
    cumulative = _cumulative(a)
    terms = []
    for y in ys:
        above = _count([sympy.StrictGreaterThan(z, y, evaluate=False) for z in ys])
        tied = _count([sympy.Eq(z, y, evaluate=False) for z in ys])
        share = div(sub(cumulative(add(above, tied)), cumulative(above)), tied)
        terms.append(mul(y, share))
    return terms[0] if len(terms) == 1 else add(*terms)


def _one_order(u: Usage) -> Iterator[Problem]:
    given = [k for k in ("largest", "smallest", "order_weights") if u.params.get(k) is not None]
    m = len(u.members)
    if len(given) != 1:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': OWA needs exactly one of largest, smallest or order_weights"
            + (f" (given: {', '.join(given)})" if given else ""),
            expected="largest: j (the mean of the j largest members), smallest: j, or "
            f"order_weights: {m} numbers, the largest member's first",
        )
        return
    if given[0] == "order_weights":
        v = u.params["order_weights"]
        if len(v) != m:
            yield Problem(
                Code.BAD_ARGUMENTS,
                f"group '{u.subject}': order_weights has {len(v)} numbers for {m} members",
                expected=f"{m} order weights, the largest member's first",
                at=("order_weights",),
            )
        elif sum(v) <= 0:
            yield Problem(
                Code.BAD_ARGUMENTS,
                f"group '{u.subject}': the order weights add up to 0",
                expected="at least one positive order weight",
                at=("order_weights",),
            )
    elif u.params[given[0]] > m:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': {given[0]} = {u.params[given[0]]} but the group has {m} members",
            expected=f"a number of members from 1 to {m}",
            at=(given[0],),
        )


_ORDER = (
    Param(
        "largest",
        ParamType.INTEGER,
        "OWA: the mean of the j largest members of each unit (Compind's CI_OWA_p, 'at least j').",
        minimum=1,
    ),
    Param(
        "smallest",
        ParamType.INTEGER,
        "OWA: the mean of the j smallest members of each unit (Compind's CI_OWA_n).",
        minimum=1,
    ),
    Param(
        "order_weights",
        ParamType.NUMBERS,
        "OWA: one weight per place, the largest member's place first (divided by their sum).",
        minimum=0,
        min_items=1,
    ),
)

_OWA_NOTES = (
    "Compind's `ci_owa(x, atleastjp = j)` returns two indices: `CI_OWA_p` is the mean of the "
    "j largest values (its weight vector is called `wn`) and `CI_OWA_n` the mean of the j "
    "smallest (`wp`), the names swapped against the vectors; `largest: j` and `smallest: j` "
    "give them. Yager's quantifier-guided weights `v_k = Q(k/m) − Q((k−1)/m)` are given "
    "with `order_weights`. Compind fails on a missing value (`sort` drops it); the engine "
    "gives the unit no score. Ties between members change nothing."
)

OWA = Aggregator(
    name="owa",
    title="Ordered weighted average",
    description="OWA (Yager 1988; Compind ci_owa): the unit's members sorted from the largest, "
    "weighted by place: largest: j gives the mean of the j largest (Compind's CI_OWA_p), "
    "smallest: j the mean of the j smallest (CI_OWA_n), order_weights any weights by place. "
    "Member weights are not used.",
    params=_ORDER,
    rules=(_one_order,),
    template=_owa,
    equal_weights=True,
    sampleable=False,
    lower_members=LowerMembers.REFUSED,
    formula="`Σ_k v_k y_(k)`, `y_(1) ≥ y_(2) ≥ …` the unit's members sorted; `largest: j`: "
    "`v = (1/j, …, 1/j, 0, …)`; `smallest: j`: `v = (…, 0, 1/j, …, 1/j)`",
    conventions="no member weights (equal weights only); members normalised and oriented; "
    "tied members share their places' weights",
    equivalents=("Compind `ci_owa` (`CI_OWA_p`, `CI_OWA_n`)",),
    notes=_OWA_NOTES,
    references=("Yager (1988), IEEE Trans. Systems, Man and Cybernetics 18(1)",),
)


# -- OGWA ------------------------------------------------------------------------------


def _mean_kernel(a: AggregateContext) -> sympy.Expr:
    """(1/n) sum over the units i of the period of (1 - d_ki^2 / b^2)^2 for d_ki < b."""
    coords = [sympy.Symbol(c) for c in a.params["coordinates"]]
    b2 = power(num(a.params["bandwidth"]), 2)
    s = ir.PAIR_TOTAL
    kernel = _if(
        sympy.StrictLessThan(s, b2, evaluate=False),
        power(sub(_ONE, div(s, b2)), 2),
        _ZERO,
    )
    total = ir.PairSum(
        sympy.Tuple(*coords),
        sympy.Tuple(*([_ONE] * len(coords))),
        sympy.Tuple(*(sympy.Symbol(k) for k in a.keys)),
        sympy.Tuple(*([power(ir.DIFFERENCE, 2)] * len(coords))),
        kernel,
        evaluate=False,
    )
    units = ir.stat(ir.ColCount, ir.IsPresent(coords[0], evaluate=False), a.keys)
    return div(total, units)


def _coordinates_are_inputs(u: Usage) -> Iterator[Problem]:
    for i, name in enumerate(u.params.get("coordinates", ())):
        if name not in u.inputs:
            yield Problem(
                Code.UNKNOWN_NAME,
                f"group '{u.subject}': coordinate '{name}' is not an input",
                expected="numeric input columns (inputs:), e.g. longitude and latitude",
                hint=did_you_mean(name, u.inputs),
                at=("coordinates", i),
            )


OGWA = Aggregator(
    name="ogwa",
    title="Ordered geographically weighted average",
    description="OGWA (Compind ci_ogwa): the OWA of the unit times its mean spatial kernel "
    "weight, the mean over every unit i of the period of (1 - (d/b)^2)^2 for d < b (0 "
    "beyond), d the Euclidean distance between the units' coordinates (input columns), b the "
    "bandwidth. The OWA takes largest, smallest or order_weights as in method owa.",
    params=(
        Param(
            "coordinates",
            ParamType.COLUMNS,
            "OGWA: the input columns of the units' coordinates (e.g. [long, lat]); distances "
            "are Euclidean in these units.",
            required=True,
            min_items=1,
        ),
        Param(
            "bandwidth",
            ParamType.NUMBER,
            "OGWA: the bisquare kernel's bandwidth b, in the coordinates' units.",
            required=True,
            exclusive_minimum=0,
        ),
        *_ORDER,
    ),
    rules=(_one_order, _coordinates_are_inputs),
    template=lambda a: mul(_owa(a), _mean_kernel(a)),
    equal_weights=True,
    sampleable=False,
    lower_members=LowerMembers.REFUSED,
    formula="`OWA_k · (1/n) Σ_i (1 − d_ki²/b²)²` over the units `i` with `d_ki < b` (the "
    "unit itself included)",
    conventions="bisquare kernel, Euclidean distance on the coordinates as given (no "
    "projection); within the period; the bandwidth is given, never estimated",
    equivalents=("Compind `ci_ogwa`",),
    notes="Compind computes, for each focal unit, the OWA of the kernel-weighted data and "
    "averages over the focal units; because an OWA is positively homogeneous this equals "
    "the unit's OWA times its mean kernel weight, which the engine computes. **Compind "
    "ignores its `bw` argument**: it always takes the mean over indicators of GWmodel's "
    "cross-validated local-mean bandwidths (`bw.gwss.average`, golden-section search); give "
    "that value as `bandwidth` to reproduce it (22.700981203695363 on Compind's EU_NUTS1 "
    "transport data).",
    references=("Yager (1988)", "Compind 3.4 `ci_ogwa`"),
)


# -- Wrocław taxonomy ------------------------------------------------------------------


def _wroclaw(a: AggregateContext) -> sympy.Expr:
    """1 - d / (mean(d) + 2 sd(d)), d the distance to the pattern (Hellwig 1968)."""
    squares = []
    for y, cost in zip(a.symbols(), a.is_cost()):
        best = ir.stat(ir.ColMin if cost else ir.ColMax, y, a.keys)
        squares.append(power(sub(y, best), 2))
    d = power(add(*squares) if len(squares) > 1 else squares[0], sympy.Rational(1, 2))
    spread = add(
        ir.stat(ir.ColMean, d, a.keys),
        mul(sympy.Integer(2), ir.stat(ir.ColStd, d, a.keys, sympy.Integer(1))),
    )
    return sub(_ONE, div(d, spread))


WROCLAW = Aggregator(
    name="wroclaw",
    title="Wrocław taxonomy (Hellwig's development measure)",
    description="1 - d / (mean(d) + 2 sd(d)), d = sqrt(sum((y - y*)^2)) the unit's distance "
    "to the pattern y* (the largest value of each member over the units of the period), sd "
    "the sample SD; Compind's ci_wroclaw returns d / (mean(d) + 2 sd(d)) (lower is better), "
    "here 1 minus it so that higher is better. Member weights are not used.",
    template=_wroclaw,
    equal_weights=True,
    sampleable=False,
    lower_members=LowerMembers.REVERSED,
    formula="`1 − d / (mean d + 2 sd d)`, `d = √Σ_j (y_j − max y_j)²`, `sd` the sample SD of "
    "`d` over the units of the period",
    lower="a raw 'lower is better' member (normalisation `none`) has its pattern at the "
    "member's min",
    conventions="no member weights; members should be standardised (`z_score`, as Compind's "
    "manual does); a unit with a missing member has no score and is left out of mean and "
    "sd of d, the pattern is taken over the present values (as Compind)",
    equivalents=("Compind `ci_wroclaw` (returns `1 −` this)",),
    notes="returns Hellwig's measure `1 − d/d₀`, not Compind's `d/d₀`: every aggregation in "
    "the engine yields 'higher is better', so that ranks and classes work the same; rank "
    "Compind's value ascending to get the same order. Compind neither standardises nor "
    "orients inside (normalise the members first) and sets `options(warn = -1)` for the "
    "session. The method is Hellwig's (1968) development pattern; Compind calls it the "
    "Wrocław taxonomy.",
    references=("Hellwig (1968)", "Compind 3.4 `ci_wroclaw`"),
)

METHODS: tuple[Aggregator, ...] = (OWA, OGWA, WROCLAW)
