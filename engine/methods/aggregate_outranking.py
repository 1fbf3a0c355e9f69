"""Aggregations that compare every unit with every other: Copeland and PROMETHEE II.

A unit's score is a sum over the other units of the period of how it fares against each
of them, member by member. Both are computed by the pairwise IR nodes
(:class:`~engine.formula.ir.Copeland`, :class:`~engine.formula.ir.PairSum`): every pair of
units is compared on the members both have, so a unit with a missing member still counts
in the others' scores (its own score needs its members, or a `coverage` share). A raw
"lower is better" member (normalisation ``none``) is compared the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sympy

from engine.diagnostics import Code
from engine.formula import ir
from engine.methods.aggregate import AggregateContext, Aggregator, LowerMembers
from engine.methods.registry import Param, ParamType, Problem, Usage
from engine.methods.terms import div, mul, num, power, sub

__all__ = ["METHODS"]

_ZERO, _ONE = sympy.Integer(0), sympy.Integer(1)


def _keys(a: AggregateContext) -> sympy.Tuple:
    return sympy.Tuple(*(sympy.Symbol(k) for k in a.keys))


def _oriented(a: AggregateContext) -> list[sympy.Expr]:
    """The members, a raw cost criterion negated (so that higher is better)."""
    return [mul(sympy.Integer(-1), y) if cost else y for y, cost in zip(a.symbols(), a.is_cost())]


def _all_present(a: AggregateContext, value: sympy.Expr) -> sympy.Expr:
    """`value` where every member is present, else missing (the default coverage)."""
    count = sympy.Add(*a.present(), evaluate=False)
    every = sympy.Eq(count, sympy.Integer(len(a.members)), evaluate=False)
    return sympy.Piecewise((value, every), evaluate=False)


# -- Copeland -------------------------------------------------------------------------


def _copeland(a: AggregateContext) -> sympy.Expr:
    return ir.Copeland(
        sympy.Tuple(*_oriented(a)), sympy.Tuple(*a.normalised()), _keys(a), evaluate=False
    )


COPELAND = Aggregator(
    name="copeland",
    title="Copeland score",
    description="sum over the other units q of the period of sign(O_pq - 1/2), O_pq = "
    "sum(w [y_p > y_q]) + 1/2 sum(w [y_p = y_q]) (COINr a_copeland): +1 for each unit "
    "beaten on the weighted majority of the members, -1 for each unit lost to, 0 for an "
    "exact tie. Each pair is compared on the members both units have.",
    template=lambda a: _all_present(a, _copeland(a)),
    present=_copeland,
    sampleable=False,
    lower_members=LowerMembers.REVERSED,
    formula="`Σ_{q ≠ p} sign(O_pq − ½)`, `O_pq = Σ w [y_p > y_q] + ½ Σ w [y_p = y_q]` (w "
    "divided by their sum), i.e. `sign(Σ_j w_j sign(y_pj − y_qj))`",
    lower="a raw 'lower is better' member (normalisation `none`) is compared reversed: the "
    "smaller value wins (COINr multiplies by the direction first)",
    conventions="within the period; **only the other units** are counted; **ties exact**: "
    "with fixed weights the weighted margin is computed on integers, so `O_pq = ½` exactly "
    "gives 0; each pair is compared on the members **both** units have (weights "
    "renormalised over them, which does not change the sign), so the rule is symmetric in "
    "p and q",
    equivalents=("COINr `a_copeland` (`outrankMatrix`)",),
    notes="COINr 1.1.14 computes the same rule, but (1) in floating point: its weights "
    "divided by their sum need not add up to 1, so an exact tie (`O_pq = ½`) can come out "
    "0.49999999999999994 and score −1 (weights 0.21, 0.12, 0.07 on two identical units); "
    "(2) with missing values it computes only `O_pq` for p before q and sets `O_qp = 1 − "
    "O_pq`, so the weight of a member missing for either unit goes to the later unit and "
    "the scores depend on the row order. The engine counts a member missing for either "
    "unit for neither, in both directions. A unit with a missing member gets no score "
    "unless the group has a `coverage` share (COINr scores every unit), but the other units "
    "are still compared with it on the members it has. With data-driven weights (floats) "
    "the margin is compared with 0 in floating point.",
)


# -- PROMETHEE II -------------------------------------------------------------------------

#: preference functions P(d) of the oriented difference d (Brans & Vincke 1985, types I-VI),
#: with the thresholds each needs
_NEEDS: dict[str, tuple[str, ...]] = {
    "usual": (),
    "u_shape": ("q",),
    "v_shape": ("p",),
    "level": ("q", "p"),
    "linear": ("q", "p"),
    "gaussian": ("s",),
}


def _if(condition: sympy.Basic, then: sympy.Expr, otherwise: sympy.Expr) -> sympy.Expr:
    return ir.If(condition, then, otherwise, evaluate=False)


def _gt(a: sympy.Expr, b: sympy.Expr) -> sympy.Basic:
    return sympy.StrictGreaterThan(a, b, evaluate=False)


def _preference(kind: str, t: dict[str, sympy.Expr]) -> Callable[[sympy.Expr], sympy.Expr]:
    """P(d): 0 for d <= 0; q is strict (d = q: no preference), p inclusive (d = p: full
    or, for 'level', half preference), as Brans & Vincke and pymcdm."""
    half = sympy.Rational(1, 2)

    def usual(d: sympy.Expr) -> sympy.Expr:
        return _if(_gt(d, _ZERO), _ONE, _ZERO)

    def u_shape(d: sympy.Expr) -> sympy.Expr:
        return _if(_gt(d, t["q"]), _ONE, _ZERO)

    def v_shape(d: sympy.Expr) -> sympy.Expr:
        return _if(_gt(d, t["p"]), _ONE, _if(_gt(d, _ZERO), div(d, t["p"]), _ZERO))

    def level(d: sympy.Expr) -> sympy.Expr:
        return _if(_gt(d, t["p"]), _ONE, _if(_gt(d, t["q"]), half, _ZERO))

    def linear(d: sympy.Expr) -> sympy.Expr:
        ramp = div(sub(d, t["q"]), sub(t["p"], t["q"]))
        return _if(_gt(d, t["p"]), _ONE, _if(_gt(d, t["q"]), ramp, _ZERO))

    def gaussian(d: sympy.Expr) -> sympy.Expr:
        bell = sympy.exp(
            mul(sympy.Integer(-1), div(power(d, 2), mul(sympy.Integer(2), power(t["s"], 2)))),
            evaluate=False,
        )
        return _if(_gt(d, _ZERO), sub(_ONE, bell), _ZERO)

    functions: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
        "usual": usual,
        "u_shape": u_shape,
        "v_shape": v_shape,
        "level": level,
        "linear": linear,
        "gaussian": gaussian,
    }
    return functions[kind]


def _thresholds(a: AggregateContext, j: int) -> dict[str, sympy.Expr]:
    return {k: num(a.params[k][j]) for k in ("q", "p", "s") if a.params.get(k) is not None}


def _net_flow(a: AggregateContext) -> sympy.Expr:
    """phi(p) = (1/(n-1)) sum_q sum_j w_j (P_j(d) - P_j(-d)), d the oriented difference."""
    kind = str(a.params["preference"])
    d, minus_d = ir.DIFFERENCE, mul(sympy.Integer(-1), ir.DIFFERENCE)
    terms = []
    for j, cost in enumerate(a.is_cost()):
        pref = _preference(kind, _thresholds(a, j))
        ahead, behind = (pref(minus_d), pref(d)) if cost else (pref(d), pref(minus_d))
        terms.append(sub(ahead, behind))
    flows = ir.PairSum(
        sympy.Tuple(*a.symbols()),
        sympy.Tuple(*a.normalised()),
        _keys(a),
        sympy.Tuple(*terms),
        ir.PAIR_TOTAL,
        evaluate=False,
    )
    units = ir.stat(ir.ColCount, ir.IsPresent(a.symbols()[0], evaluate=False), a.keys)
    return div(flows, sub(units, _ONE))


def _thresholds_given(u: Usage) -> Iterator[Problem]:
    kind = str(u.params["preference"])
    for name in ("q", "p", "s"):
        values = u.params.get(name)
        if name in _NEEDS[kind] and values is None:
            yield Problem(
                Code.BAD_ARGUMENTS,
                f"group '{u.subject}': the {kind} preference function needs the threshold {name}",
                expected=f"{name}: one number per member ({len(u.members)})",
            )
        elif name not in _NEEDS[kind] and name in u.given:
            yield Problem(
                Code.BAD_ARGUMENTS,
                f"group '{u.subject}': the {kind} preference function has no threshold {name}",
                expected="thresholds " + (", ".join(_NEEDS[kind]) or "none"),
                at=(name,),
            )
        elif values is not None and len(values) != len(u.members):
            yield Problem(
                Code.BAD_ARGUMENTS,
                f"group '{u.subject}': {name} has {len(values)} numbers for "
                f"{len(u.members)} members",
                expected=f"one {name} per member, in member order: " + ", ".join(u.members),
                at=(name,),
            )
    q, p = u.params.get("q"), u.params.get("p")
    if kind in ("level", "linear") and q is not None and p is not None:
        for member, qj, pj in zip(u.members, q, p):
            if not qj < pj:
                yield Problem(
                    Code.BAD_ARGUMENTS,
                    f"group '{u.subject}': member '{member}' has q = {qj} not below p = {pj}",
                    expected="the indifference threshold q below the preference threshold p",
                )


def _threshold(name: str, what: str, positive: bool) -> Param:
    return Param(
        name,
        ParamType.NUMBERS,
        f"PROMETHEE: the {what} threshold {name} of each member, in member order, in the "
        "members' units.",
        exclusive_minimum=0 if positive else None,
        minimum=None if positive else 0,
        min_items=1,
    )


PROMETHEE_II = Aggregator(
    name="promethee_ii",
    title="PROMETHEE II net outranking flow",
    description="PROMETHEE II net flow phi = phi+ - phi-, phi+(a) = sum_b pi(a, b) / (n - 1), "
    "pi(a, b) = sum_j w_j P_j(d_j(a, b)), with the preference function 'preference' of the "
    "difference d (usual, u_shape with q, v_shape with p, level and linear with q < p, "
    "gaussian with s; thresholds per member), over the units of the period (Brans & Vincke "
    "1985).",
    params=(
        Param(
            "preference",
            ParamType.CHOICE,
            "PROMETHEE: the preference function of every member (Brans & Vincke's types I-VI).",
            default="usual",
            choices=tuple(_NEEDS),
        ),
        _threshold("q", "indifference", positive=False),
        _threshold("p", "preference", positive=True),
        _threshold("s", "Gaussian", positive=True),
    ),
    rules=(_thresholds_given,),
    template=lambda a: _all_present(a, _net_flow(a)),
    present=_net_flow,
    sampleable=False,
    lower_members=LowerMembers.REVERSED,
    formula="`φ(a) = Σ_b Σ_j w_j (P_j(d_j) − P_j(−d_j)) / (n − 1)`, `d_j = y_aj − y_bj`; "
    "`P`: usual `[d > 0]`; u_shape `[d > q]`; v_shape `d/p` up to `p`, then 1; level ½ for "
    "`q < d ≤ p`, 1 beyond; linear `(d − q)/(p − q)` for `q < d ≤ p`, 1 beyond; gaussian "
    "`1 − exp(−d²/2s²)` for `d > 0`",
    lower="a raw 'lower is better' member (normalisation `none`) has `d = y_b − y_a` (Brans "
    "& Vincke's minimised criterion)",
    conventions="thresholds in the members' units, one per member; `d = q` is no preference "
    "(q strict), `d = p` full preference (½ for level: p inclusive); within the period; "
    "each pair is compared on the members both units have (no preference either way on a "
    "missing one; weights not renormalised)",
    equivalents=(
        "pymcdm `PROMETHEE_II('usual' | 'ushape' | 'vshape' | 'level' | 'vshape_2', p, q)`",
    ),
    notes="returns the net flow φ ∈ [−1, 1] (PROMETHEE I's partial order from φ⁺ and φ⁻ is "
    "not given). The members are usually left raw (`none`) so that the thresholds are in "
    "their units, as in the paper; normalised members work too (thresholds then in "
    "normalised units). pymcdm has no Gaussian function, calls linear `vshape_2`, takes one "
    "threshold for all criteria only through its own argument layout, and its object can be "
    "called only once when `p` or `q` are given (a second call fails); with a missing value "
    "it drops the criterion for that pair as the engine does.",
    references=(
        "Brans & Vincke (1985), Management Science 31(6)",
        "Brans, Vincke & Mareschal (1986), EJOR 24",
    ),
)

METHODS: tuple[Aggregator, ...] = (COPELAND, PROMETHEE_II)
