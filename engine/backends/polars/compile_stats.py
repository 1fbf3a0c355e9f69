"""polars rules of statistics across rows: aggregations, ranks, cumulative sums, values
of another row (``at``) and fills along the periods.

A statistic over a group becomes a window expression ``.over(keys)``, or a plain
aggregation broadcast to every row when it is pooled over all rows, so the whole
methodology stays one lazy query. Sums add the rows of a group in the order of the
data's keys (``Context.order``), so reruns and any order of the input rows give
bit-identical results. Registered on the dispatcher of
:mod:`.compile_base` when imported (as :mod:`engine.backends.polars.compile` does).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Literal

import polars as pl
import sympy

from engine.backends.polars.compile_base import (
    Compiled,
    CompileError,
    Context,
    Temps,
    _compile,
    _compile_used,
    _finite,
    _shared,
    keys_of,
    with_changes,
)
from engine.formula import ir
from engine.formula.types import Varies, shape_of

__all__ = ["at_condition", "compile_aggregate"]

#: the tie rules of rank() as polars names them ('ordinal' only within a tolerance)
_TIES: dict[str, Literal["min", "max", "dense", "average", "ordinal"]] = {
    "min": "min",
    "max": "max",
    "dense": "dense",
    "average": "average",
    "ordinal": "ordinal",
}


def _over(agg: pl.Expr, keys: tuple[str, ...], order: tuple[str, ...] = ()) -> pl.Expr:
    if not order:
        return agg.over(list(keys)) if keys else agg
    return agg.over(list(keys) or [pl.lit(0)], order_by=list(order))


def _defined(operand: pl.Expr, agg: pl.Expr) -> pl.Expr:
    """`agg`, or missing when the group has no present value (polars' sum would be 0)."""
    return pl.when(operand.count() > 0).then(agg)


def _ordered_sum(x: pl.Expr) -> pl.Expr:
    """The sum of the present values in row order.

    polars' sum() over a window may add partial sums of several threads in any order, so
    the last bit can change from one run to the next; a running sum in the order of
    ``Context.order`` (the data's keys) makes reruns bit-identical whatever the order of
    the input rows.
    """
    return x.fill_null(0.0).cum_sum().last()


def _ordered_mean(x: pl.Expr) -> pl.Expr:
    return _ordered_sum(x) / x.count()


_AGGREGATES: dict[type, Callable[[pl.Expr], pl.Expr]] = {
    ir.ColMax: lambda x: x.max(),
    ir.ColMin: lambda x: x.min(),
    ir.ColMean: lambda x: pl.when(x.count() > 0).then(_ordered_mean(x)),
    ir.ColSum: lambda x: _defined(x, _ordered_sum(x)),
    ir.ColMedian: lambda x: x.median(),
    ir.ColCount: lambda x: x.count().cast(pl.Float64),
}


#: statistics whose result can be undefined although every value is finite (an overflow)
_MAY_OVERFLOW = (ir.ColSum, ir.ColMean, ir.ColStd, ir.ColQuantile, ir.ColCumSum, ir.ColMedian)


def _ordered_std(x: pl.Expr, ddof: int) -> pl.Expr:
    """sqrt(sum((x - mean)^2) / (n - ddof)), summed in row order (see _ordered_sum)."""
    squares = (x - _ordered_mean(x)) ** 2
    return (_ordered_sum(squares) / (x.count() - ddof)).sqrt()


@_compile.register
def _(expr: ir.Stat, ctx: Context) -> pl.Expr:
    # the max or min of a column marks nothing and binds no column: compiled once a step
    pure = isinstance(expr, ir.ColMax | ir.ColMin) and isinstance(expr.operand, sympy.Symbol)
    memo = ctx.memo if pure else None
    if memo is not None and expr in memo:
        return memo[expr]
    # a row whose grouping label is missing belongs to no group (the data's own keys are
    # never missing); polars would pool such rows into one group of their own
    labels = [k for k in keys_of(expr) if k not in ctx.keys and k not in ctx.order]
    value = _statistic(expr, ctx)
    if isinstance(expr, _MAY_OVERFLOW):
        value = _finite(value, ctx)
    if labels:
        value = pl.when(pl.all_horizontal(pl.col(k).is_not_null() for k in labels)).then(value)
    if memo is not None:
        memo[expr] = value
    return value


def _operand(expr: ir.Stat, ctx: Context) -> pl.Expr:
    # a statistic takes every row of its group, whichever rows use its result: an
    # undefined value of its operand counts in the row where it arises
    inner = with_changes(ctx, used=None) if ctx.used is not None else ctx
    x = _compile(expr.operand, inner)
    if shape_of(expr.operand).varies is Varies.CONSTANT:
        # a literal is one value, not a column: mean(2) is 2 in each of the group's rows,
        # sum(2) is 2 times the rows, count(2) the number of rows
        x = pl.when(pl.col(ctx.unit).is_not_null()).then(x)
    return x


def _statistic(expr: ir.Stat, ctx: Context) -> pl.Expr:
    x = _operand(expr, ctx)
    if expr in ctx.hoisted:  # computed in a pass of its own (a streamed run)
        return pl.col(ctx.hoisted[expr])
    inner = with_changes(ctx, used=None) if ctx.used is not None else ctx
    x = _shared(x, ctx)
    if isinstance(expr, ir.ColStd):
        return _over(
            pl.when(x.count() > expr.ddof).then(_ordered_std(x, expr.ddof)),
            keys_of(expr),
            ctx.order,
        )
    if isinstance(expr, ir.ColQuantile):
        return _over(x.quantile(expr.q, interpolation="linear"), keys_of(expr))
    if isinstance(expr, ir.ColCumSum):
        order = [_compile(expr.order, inner), *(pl.col(k) for k in ctx.order)]  # ties: key order
        keys: list[str | pl.Expr] = [*keys_of(expr)] or [pl.lit(0)]
        return x.cum_sum().over(keys, order_by=order)
    if isinstance(expr, ir.ColRank):
        if expr.tolerance == 0 and expr.ties != "ordinal":
            ranked = x.rank(method=_TIES[expr.ties], descending=expr.descending)
            return _over(ranked.cast(pl.Float64), keys_of(expr))
        return _rank_within_tolerance(x, expr, ctx)
    rule = _AGGREGATES.get(type(expr))
    if rule is None:
        raise CompileError(f"no polars rule for statistic {type(expr).__name__}")
    ordered = isinstance(expr, ir.ColSum | ir.ColMean)
    return _over(rule(x), keys_of(expr), ctx.order if ordered else ())


def _rank_within_tolerance(x: pl.Expr, expr: ir.ColRank, ctx: Context) -> pl.Expr:
    """Ranks where values within a relative tolerance are tied (see :class:`ir.ColRank`).

    In each group the values are sorted; a value starts a new tie group when it differs
    from the previous one by more than the tolerance. The tie rule is then read off the
    sorted positions in the same window (one sort per group): ``min`` is the position of
    the tie group's first value, ``max`` of its last, ``average`` their mean, ``dense``
    the tie group's number. ``ordinal`` orders a tie group's values by the rows' keys (a
    second sort), so the result never depends on the order of the rows.
    """
    s = -x if expr.descending else x
    s = _shared(s, ctx)
    keys: list[str | pl.Expr] = [*keys_of(expr)] or [pl.lit(0)]
    prev = s.shift(1)
    bound = expr.tolerance * pl.max_horizontal(s.abs(), prev.abs())
    starts = prev.is_null() | ((s - prev).abs() > bound)
    if expr.ties == "ordinal":  # within a tie, in the order of the keys

        def window(e: pl.Expr) -> pl.Expr:
            return e.over(keys, order_by=[s, *(pl.col(k) for k in ctx.order)], nulls_last=True)

        tie = _shared(pl.when(s.is_not_null()).then(window(starts.cast(pl.Int64).cum_sum())), ctx)
        by_keys = [tie, *(pl.col(k) for k in ctx.order)]
        position = tie.cum_count().over(keys, order_by=by_keys, nulls_last=True)
        return pl.when(tie.is_not_null()).then(position).cast(pl.Float64)
    # in sorted order (missing values last, where they do not move anyone's position)
    if expr.ties == "dense":
        ranked = starts.cast(pl.Int64).cum_sum().cast(pl.Float64)
    else:
        position = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
        first = pl.when(starts).then(position).forward_fill()
        ends = starts.shift(-1).fill_null(True)  # the last value, or the next one starts
        last = pl.when(ends).then(position).backward_fill()
        ranked = {"min": first, "max": last, "average": (first + last) / 2}[expr.ties].cast(
            pl.Float64
        )
    return pl.when(s.is_not_null()).then(ranked.over(keys, order_by=s, nulls_last=True))


def at_condition(expr: ir.At, ctx: Context) -> tuple[pl.Expr, list[str]]:
    """The rows at() reads (its fixed keys have their values), and the keys it matches on.

    Key values compare as text: a period column reads as integers (2010) or as text
    ('2010Q1') depending on the data, and at(x, 2010) means the same as at(x, '2010').
    A key the context knows to hold integers (``Context.integer_keys``) is compared with
    the number when the value is one as an integer prints (the same rows as the text
    comparison, without printing every row's key)."""
    fixed = expr.fixed
    cond = functools.reduce(lambda a, b: a & b, [_key_is(k, v, ctx) for k, v in fixed])
    return cond, [k for k in ctx.keys if k not in dict(fixed)]


def _key_is(key: str, value: object, ctx: Context) -> pl.Expr:
    """The rows where the key column `key` holds `value` (compared as text)."""
    text = str(value)
    if key in ctx.integer_keys and _prints_as_integer(text) and -(2**63) <= int(text) < 2**63:
        return pl.col(key) == pl.lit(int(text), dtype=pl.Int64)
    return pl.col(key).cast(pl.String) == text


def _prints_as_integer(text: str) -> bool:
    """Whether `text` is how an integer prints ('2010', '-3'; not '02010', '+3', '1_0')."""
    try:
        return str(int(text)) == text
    except ValueError:
        return False


#: one value per group as a group_by aggregation (for a pass that computes a statistic on
#: its own); sums add in the engine's order, not the keys' (equal within rounding)
_GROUP_AGGREGATES: dict[type, Callable[[pl.Expr], pl.Expr]] = {
    ir.ColMax: lambda x: x.max(),
    ir.ColMin: lambda x: x.min(),
    ir.ColMean: lambda x: pl.when(x.count() > 0).then(x.sum() / x.count()),
    ir.ColSum: lambda x: _defined(x, x.sum()),
    ir.ColMedian: lambda x: x.median(),
    ir.ColCount: lambda x: x.count().cast(pl.Float64),
}


def compile_aggregate(expr: ir.Stat, ctx: Context, name: str) -> Compiled | None:
    """`expr` as an aggregation per group of its keys, named `name`, for
    ``group_by(keys).agg(...)``; None for the statistics that give every row its own
    value (ranks, cumulative sums). Its operand is compiled as in a run (undefined
    values are missing)."""
    temps = Temps(f"__t:{name}:")
    c = dataclasses.replace(ctx, guard=True, undefined=[], used=None, temps=temps)
    x = _shared(_operand(expr, c), c)
    agg: pl.Expr
    if isinstance(expr, ir.ColStd):
        agg = pl.when(x.count() > expr.ddof).then(x.std(ddof=expr.ddof))
    elif isinstance(expr, ir.ColQuantile):
        agg = x.quantile(expr.q, interpolation="linear")
    elif type(expr) in _GROUP_AGGREGATES:
        agg = _GROUP_AGGREGATES[type(expr)](x)
    else:
        return None
    return Compiled(tuple(tuple(level) for level in temps.levels), agg.alias(name), None)


@_compile.register
def _(expr: ir.At, ctx: Context) -> pl.Expr:
    cond, rest = at_condition(expr, ctx)
    # keys are unique, so at most one row of the partition matches: max() is its value
    operand = _compile_used(expr.args[0], ctx, cond.fill_null(False))
    if expr in ctx.hoisted:  # computed in a pass of its own (a streamed run)
        return pl.col(ctx.hoisted[expr])
    picked = pl.when(cond).then(operand).max()
    return picked.over(rest) if rest else picked


@_compile.register
def _(expr: ir.FillForward, ctx: Context) -> pl.Expr:
    x = _compile(expr.args[0], ctx)
    return x.forward_fill().over(str(expr.args[1]), order_by=pl.col(str(expr.args[2])))


@_compile.register
def _(expr: ir.FillBackward, ctx: Context) -> pl.Expr:
    x = _compile(expr.args[0], ctx)
    return x.backward_fill().over(str(expr.args[1]), order_by=pl.col(str(expr.args[2])))
