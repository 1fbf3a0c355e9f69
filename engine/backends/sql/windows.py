"""The SQL printer's rules for values across rows: statistics across units as window
functions (ranks with their ties, running sums, quantiles), a value of one period or
unit (``at``), the last observation carried forward, and the weighted median of a
unit's members. They register on :func:`engine.backends.sql.printer._print` (kept apart
for size) and follow the same rules: a statistic skips missing values and is NULL over
no present value; an undefined result (an overflow) is NULL and marked.
"""

from __future__ import annotations

import functools

from sqlglot import exp

from engine.backends.sql.dialects import FloatSum, IeeeDiv, QuantileCont
from engine.backends.sql.functions import (
    CompileError,
    as_double,
    column,
    if_present,
    key_literal,
    literal,
    mean,
    missing_if_any,
    ordered,
    window,
)
from engine.backends.sql.printer import Context, _finite, _holds, _print, _used
from engine.formula import ir


def _rank(expr: ir.ColRank, x: exp.Expr, keys: tuple[str, ...]) -> exp.Expr:
    order = [ordered(x.copy(), desc=expr.descending, nulls_first=False)]
    lowest = window(exp.Rank(), keys, order)
    # the count of rows sorting before or level with this one (its ties included)
    highest = window(exp.Count(this=x.copy()), keys, order, frame="RANGE")
    value: exp.Expr
    if expr.ties == "min":
        value = lowest
    elif expr.ties == "dense":
        value = window(exp.DenseRank(), keys, order)
    elif expr.ties == "max":
        value = highest
    elif expr.ties == "average":
        value = exp.Div(
            this=exp.Paren(this=exp.Add(this=as_double(lowest), expression=as_double(highest))),
            expression=literal(2.0),
            typed=False,
            safe=False,
        )
    else:
        raise CompileError(f"no SQL rule for rank ties '{expr.ties}'")
    return if_present(x, as_double(value))


@_print.register
def _(expr: ir.Stat, ctx: Context) -> exp.Expr:
    # a row whose grouping label is missing belongs to no group (the data's own keys are
    # never missing); PARTITION BY would pool such rows into one group of their own
    labels = [k for k in expr.keys if k not in ctx.keys and k not in ctx.order]
    value = _statistic(expr, ctx)
    if isinstance(expr, _MAY_OVERFLOW):
        value = _finite(value, ctx)
    if not labels:
        return value
    present = exp.and_(*(exp.not_(exp.Is(this=column(k), expression=exp.Null())) for k in labels))
    return exp.Case(ifs=[exp.If(this=present, true=value)])


#: statistics whose result can be undefined although every value is finite (an overflow)
_MAY_OVERFLOW = (ir.ColSum, ir.ColMean, ir.ColStd, ir.ColQuantile, ir.ColCumSum, ir.ColMedian)


def _statistic(expr: ir.Stat, ctx: Context) -> exp.Expr:
    x = _print(expr.operand, ctx)
    keys = expr.keys
    if isinstance(expr, ir.ColMax):
        return window(exp.Max(this=x), keys)
    if isinstance(expr, ir.ColMin):
        return window(exp.Min(this=x), keys)
    if isinstance(expr, ir.ColSum):
        return window(FloatSum(this=x), keys)
    if isinstance(expr, ir.ColMean):
        return mean(x, keys)
    if isinstance(expr, ir.ColCount):
        return as_double(window(exp.Count(this=x), keys))
    if isinstance(expr, ir.ColStd):
        if expr.ddof not in (0, 1):
            raise CompileError(f"no SQL rule for std with ddof {expr.ddof}")
        cls = exp.StddevSamp if expr.ddof == 1 else exp.StddevPop
        return window(cls(this=x), keys)
    if isinstance(expr, ir.ColMedian):
        return window(QuantileCont(this=as_double(x), quantile=literal(0.5)), keys)
    if isinstance(expr, ir.ColQuantile):
        return window(QuantileCont(this=as_double(x), quantile=literal(expr.q)), keys)
    if isinstance(expr, ir.ColRank):
        return _rank(expr, x, keys)
    if isinstance(expr, ir.ColCumSum):
        # rows in ascending order of the order value (missing first, as polars sorts),
        # ties in key order; a missing value keeps no running total
        order = [ordered(_print(expr.order, ctx), nulls_first=True)]
        order += [ordered(column(k), nulls_first=True) for k in ctx.order]
        return if_present(x, window(FloatSum(this=x.copy()), keys, order, frame="ROWS"))
    raise CompileError(f"no SQL rule for statistic {type(expr).__name__}")


@_print.register
def _(expr: ir.At, ctx: Context) -> exp.Expr:
    fixed = expr.fixed
    cond = exp.and_(*(exp.EQ(this=column(k), expression=key_literal(v)) for k, v in fixed))
    rest = tuple(k for k in ctx.keys if k not in dict(fixed))
    # keys are unique, so at most one row of the partition matches: MAX is its value;
    # the operand's undefined values count in that row only
    operand = _used(expr.args[0], ctx, _holds(cond, False))
    picked = exp.Case(ifs=[exp.If(this=cond.copy(), true=operand)])
    return window(exp.Max(this=picked), rest)


@_print.register
def _(expr: ir.FillForward, ctx: Context) -> exp.Expr:
    x = _print(expr.args[0], ctx)
    order = [ordered(column(str(expr.args[2])), nulls_first=True)]
    last = exp.IgnoreNulls(this=exp.LastValue(this=x))
    return window(last, (str(expr.args[1]),), order, frame="ROWS")


@_print.register
def _(expr: ir.WeightedMedian, ctx: Context) -> exp.Expr:
    """The smallest member whose cumulative weight (of the members up to and level with
    it) reaches half the total; polars sorts the members and takes the first such
    position, which is the same value."""
    ys = [_print(m, ctx) for m in expr.members]
    ws = [_print(w, ctx) for w in expr.weights]
    total = functools.reduce(lambda a, b: exp.Add(this=a, expression=b), [w.copy() for w in ws])
    candidates = []
    for y in ys:
        upto: list[exp.Expr] = [
            exp.Case(
                ifs=[exp.If(this=exp.LTE(this=other.copy(), expression=y.copy()), true=w.copy())],
                default=literal(0.0),
            )
            for other, w in zip(ys, ws)
        ]
        weight = functools.reduce(lambda a, b: exp.Add(this=a, expression=b), upto)
        share = IeeeDiv(this=exp.Paren(this=weight), expression=exp.Paren(this=total.copy()))
        reached = exp.GTE(this=share, expression=literal(0.5 - 1e-12))
        candidates.append(exp.Case(ifs=[exp.If(this=reached, true=y.copy())]))
    least = (
        candidates[0]
        if len(candidates) == 1
        else exp.Least(this=candidates[0], expressions=candidates[1:], ignore_nulls=True)
    )
    return missing_if_any(ys, least)
