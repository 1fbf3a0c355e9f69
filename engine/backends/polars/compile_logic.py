"""polars rules of conditions: comparisons (with the checks' tolerance), ``and``/``or``/``not``,
``where()`` and piecewise choices, and class thresholds.

A missing condition gives a missing value (polars would take the next branch), and an
undefined value of a branch or a side counts only in the rows where it is used (see
:func:`engine.backends.polars.compile.compile_step`). Registered on the dispatcher of
:mod:`.compile_base` when imported (as :mod:`engine.backends.polars.compile` does).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import sympy

from engine.backends.polars.compile_base import (
    FALSE,
    NULL,
    TRUE,
    CompileError,
    Context,
    _compile,
    _compile_used,
    _shared,
    with_changes,
)
from engine.formula import ir
from engine.formula.types import Kind, kind_of

__all__: list[str] = []


@_compile.register
def _(expr: sympy.Piecewise, ctx: Context) -> pl.Expr:
    # a missing condition gives a missing value (polars would take the next branch); a
    # branch's undefined values count only in the rows that take it
    (first_value, first_cond), *rest = expr.args
    cond = _shared(_compile(first_cond, ctx), ctx)
    taken = cond.fill_null(FALSE)
    chain = (
        pl.when(cond.is_null()).then(NULL).when(cond).then(_compile_used(first_value, ctx, taken))
    )
    before = ~cond.fill_null(TRUE)  # rows that no earlier condition took
    for value, c in rest:
        if c == sympy.true:
            return chain.otherwise(_compile_used(value, ctx, before))
        cond = _shared(_compile_used(c, ctx, before), ctx)
        chain = (
            chain.when(cond.is_null())
            .then(NULL)
            .when(cond)
            .then(_compile_used(value, ctx, before & cond.fill_null(FALSE)))
        )
        before = before & ~cond.fill_null(TRUE)
    return chain.otherwise(NULL)


def _close(a: pl.Expr, b: pl.Expr, ctx: Context) -> pl.Expr:
    if ctx.atol == 0 and ctx.rtol == 0:
        return a == b
    if ctx.rtol == 0:
        return (a - b).abs() <= ctx.atol
    b = _shared(b, ctx)
    return (a - b).abs() <= ctx.atol + ctx.rtol * b.abs()


_RELATIONS: dict[type, Callable[[pl.Expr, pl.Expr, Context], pl.Expr]] = {
    sympy.StrictLessThan: lambda a, b, c: a < b,
    sympy.LessThan: lambda a, b, c: a <= b,
    sympy.StrictGreaterThan: lambda a, b, c: a > b,
    sympy.GreaterThan: lambda a, b, c: a >= b,
    sympy.Equality: _close,
    sympy.Unequality: lambda a, b, c: ~_close(a, b, c),
}


@_compile.register(sympy.core.relational.Relational)
def _(expr: sympy.core.relational.Relational, ctx: Context) -> pl.Expr:
    rule = _RELATIONS.get(type(expr))
    if rule is None:
        raise CompileError(f"no polars rule for relation {type(expr).__name__}")
    a, b = _compile(expr.lhs, ctx), _compile(expr.rhs, ctx)
    if kind_of(expr.lhs) is Kind.TEXT:  # texts are equal or not: no tolerance
        return a == b if isinstance(expr, sympy.Equality) else a != b
    return rule(a, b, ctx)


def _connective(args: tuple[sympy.Basic, ...], ctx: Context, decisive: bool) -> list[pl.Expr]:
    """The operands of ``and`` (`decisive` False: one false side decides) or ``or``
    (True). A side's undefined values count only where no other side decides, whatever
    the order of the sides."""
    if ctx.undefined is None:
        return [_compile(a, ctx) for a in args]
    values, marks = [], []
    for a in args:
        own: list[pl.Expr] = []
        values.append(_shared(_compile(a, with_changes(ctx, undefined=own, used=None)), ctx))
        marks.append(own)
    for i, own in enumerate(marks):
        if not own:
            continue
        undecided = [(v != decisive).fill_null(TRUE) for j, v in enumerate(values) if j != i]
        used = pl.all_horizontal(undecided) if undecided else pl.lit(True)
        used = used if ctx.used is None else ctx.used & used
        ctx.undefined.append(pl.any_horizontal(own).fill_null(FALSE) & used)
    return values


@_compile.register
def _(expr: sympy.And, ctx: Context) -> pl.Expr:
    return pl.all_horizontal(*_connective(expr.args, ctx, decisive=False))


@_compile.register
def _(expr: sympy.Or, ctx: Context) -> pl.Expr:
    return pl.any_horizontal(*_connective(expr.args, ctx, decisive=True))


@_compile.register
def _(expr: sympy.Not, ctx: Context) -> pl.Expr:
    return ~_compile(expr.args[0], ctx)


@_compile.register
def _(expr: ir.If, ctx: Context) -> pl.Expr:
    # a branch's undefined values count only in the rows that take it
    cond = _shared(_compile(expr.args[0], ctx), ctx)
    return (
        pl.when(cond.is_null())
        .then(NULL)
        .when(cond)
        .then(_compile_used(expr.args[1], ctx, cond.fill_null(FALSE)))
        .otherwise(_compile_used(expr.args[2], ctx, ~cond.fill_null(TRUE)))
    )


@_compile.register
def _(expr: ir.ClassAtLeast, ctx: Context) -> pl.Expr:
    labels = list(ctx.class_labels)
    return pl.col("class").is_in(labels[: labels.index(expr.label) + 1])
