"""polars rules of the pairwise IR nodes (:class:`~engine.formula.ir.PairSum`, Copeland).

Each row gets the list of its differences with every row sharing its keys (``implode``
over the keys), a term per member is evaluated on that list (``list.eval`` with the
difference as ``pl.element()``), the weighted terms are added list by list, and the outer
function of each pair's total is summed. A missing difference counts 0: each pair of rows
is compared on the members both have. Registered on the dispatcher of
:mod:`.compile_base` when imported (as :mod:`engine.backends.polars.compile` does).
"""

from __future__ import annotations

import functools

import polars as pl
import sympy

from engine.backends.polars.compile_base import Context, _compile
from engine.formula import ir

__all__: list[str] = []


def _pair_sum(
    members: list[pl.Expr],
    weights: list[pl.Expr | None],
    keys: tuple[str, ...],
    terms: list[pl.Expr],
    outer: pl.Expr,
) -> pl.Expr:
    """sum over the rows q sharing the keys of outer(sum_j w_j term_j(y_pj - y_qj)).

    Each row holds the list of its differences with every row of its group (``implode``
    over the keys); `terms` and `outer` are written in ``pl.element()``. A missing
    difference counts 0 (the pair is compared on the members both rows have).
    """
    group: list[str | pl.Expr] = [*keys] or [pl.lit(0)]
    total: pl.Expr | None = None
    for y, w, term in zip(members, weights, terms):
        diffs = y - y.implode().over(group)
        part = diffs.list.eval(term.fill_null(0.0))
        part = part if w is None else part * w
        total = part if total is None else total + part
    assert total is not None
    return total.list.eval(outer).list.sum()


def _in_element(expr: sympy.Basic, symbol: sympy.Symbol, ctx: Context) -> pl.Expr:
    """`expr`, written in `symbol`, as an expression of ``pl.element()`` (in list.eval)."""
    inner = Context({symbol.name: ""}, ctx.unit, ctx.period)
    return _compile(expr, inner)


@_compile.register
def _pair_node(expr: ir.PairSum, ctx: Context) -> pl.Expr:
    weights: list[pl.Expr | None] = [None if w == 1 else _compile(w, ctx) for w in expr.weights]
    return _pair_sum(
        [_compile(m, ctx) for m in expr.members],
        weights,
        expr.keys,
        [_in_element(t, ir.DIFFERENCE, ctx) for t in expr.terms],
        _in_element(expr.outer, ir.PAIR_TOTAL, ctx),
    )


#: integer weights stay exact in float sums up to 2**53
_EXACT = 2**53


def _integer_weights(weights: tuple[sympy.Expr, ...]) -> list[int] | None:
    """Rational weights scaled to integers with the same ratios (None if not all rational)."""
    if not all(isinstance(w, sympy.Rational) for w in weights):
        return None
    scale = functools.reduce(sympy.ilcm, (int(w.q) for w in weights), 1)
    out = [int(w * scale) for w in weights]
    return out if sum(abs(k) for k in out) < _EXACT else None


@_compile.register
def _copeland(expr: ir.Copeland, ctx: Context) -> pl.Expr:
    # sign(O_pq - 1/2) = sign(sum_j w_j sign(y_pj - y_qj)): the row itself adds sign(0) = 0,
    # and with integer weights a tie is exactly 0, whatever the weights' sum in floats
    exact = _integer_weights(expr.weights)
    weights: list[pl.Expr | None] = (
        [pl.lit(float(k)) for k in exact]
        if exact is not None
        else [_compile(w, ctx) for w in expr.weights]
    )
    sign = pl.element().sign()
    return _pair_sum(
        [_compile(m, ctx) for m in expr.members],
        weights,
        expr.keys,
        [sign] * len(expr.members),
        sign,
    )
