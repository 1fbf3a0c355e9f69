"""polars rules of numbers, arithmetic and row-wise functions.

Arithmetic is IEEE arithmetic in the author's order (float addition is not associative),
and every operation that can give an undefined result goes through
:func:`~engine.backends.polars.compile_base._finite`. A division by a statistic that can
be a single value is made a true division in every row (:func:`_divide`), and rounding
rounds the printed decimal (:func:`round_decimal`).
"""

from __future__ import annotations

import functools
from typing import Literal

import polars as pl
import sympy

from engine.backends.polars.compile_base import (
    NULL,
    ZERO,
    Context,
    _compile,
    _finite,
    _guarded_by_parent,
    _parents_guard,
    _shared,
    keys_of,
)
from engine.formula import ir
from engine.formula.rounding import PLACES, round_limit, round_places
from engine.formula.types import Varies, shape_of

__all__ = ["RoundMode", "float_literal", "round_decimal"]


@_compile.register
def _(expr: sympy.Symbol, ctx: Context) -> pl.Expr:
    # a fresh pl.col each time: one expression object per name, shared by every place
    # that reads it (tried for ASEM's compile time), made polars' streaming engine peak
    # at 2.79 GB instead of 1.48 on the paper's methodology at 30M unit-years
    return pl.col(ctx.columns.get(expr.name, expr.name))


@_compile.register(sympy.Integer)
@_compile.register(sympy.Rational)
@_compile.register(sympy.Float)
@_compile.register(sympy.core.numbers.NegativeOne)
@_compile.register(sympy.core.numbers.One)
@_compile.register(sympy.core.numbers.Zero)
@_compile.register(sympy.core.numbers.Half)
def _(expr: sympy.Number, ctx: Context) -> pl.Expr:
    return float_literal(float(expr))


#: the literals built so far, by value (see float_literal); bounded, for long sessions
_LITERALS: dict[float, pl.Expr] = {}
_MAX_LITERALS = 4096


def float_literal(value: float) -> pl.Expr:
    """``pl.lit(value, dtype=pl.Float64)``, built once per value: a methodology repeats a
    few constants (0, 1, 100, its weights) in hundreds of places, and building a literal
    costs more than compiling the node around it. Zeros (0.0 and -0.0 are equal keys)
    and NaN (equal to nothing) are built each time."""
    if value == 0.0 or value != value:
        return pl.lit(value, dtype=pl.Float64)
    got = _LITERALS.get(value)
    if got is None:
        if len(_LITERALS) >= _MAX_LITERALS:
            _LITERALS.clear()
        got = _LITERALS[value] = pl.lit(value, dtype=pl.Float64)
    return got


@_compile.register
def _(expr: ir.Label, ctx: Context) -> pl.Expr:
    return pl.col(expr.name)


@_compile.register
def _(expr: ir.Str, ctx: Context) -> pl.Expr:
    return pl.lit(expr.name, dtype=pl.String)


@_compile.register(sympy.logic.boolalg.BooleanTrue)
def _(expr: sympy.Basic, ctx: Context) -> pl.Expr:
    return pl.lit(True)


@_compile.register(sympy.logic.boolalg.BooleanFalse)
def _(expr: sympy.Basic, ctx: Context) -> pl.Expr:
    return pl.lit(False)


@_compile.register
def _(expr: sympy.Add, ctx: Context) -> pl.Expr:
    # left to right, in the author's order: float addition is not associative
    terms = [_compile(a, _guarded_by_parent(a, ctx)) for a in expr.args]
    return _parents_guard(functools.reduce(lambda a, b: a + b, terms), expr, ctx)


def _divide(num: pl.Expr, den: sympy.Basic, ctx: Context) -> pl.Expr:
    """``num / den`` with IEEE division in every row.

    polars divides by a scalar (a constant, a statistic over a single group, or over all
    rows) by multiplying with its reciprocal, which is not correctly rounded: 237 / 237
    can come out as 0.9999999999999999 and the leader would not score exactly 100, and
    ``log10(1e100)`` (``log(x) / log(10)``) 99.99999999999999, not a whole number. Adding
    ``num * 0`` turns such a denominator into a full column, so every row gets a true
    division (for finite numbers; missing stays missing). It is only needed when the
    denominator can be a scalar: a constant, pooled, or the data has a single period
    (``Context.single_group``). With a single period a column the denominator reads can
    be a scalar too (a step that is a statistic, such as an imputation's part
    ``X.impute.width``: polars keeps it as one value), so there every division is made a
    true one.
    """
    d = _compile(den, ctx)
    if ctx.single_group or (_scalar(den) and not _reads_rows(den, ctx.unit)):
        num = _shared(num, ctx)
        d = d + num * ZERO
    return num / d


def _scalar(expr: sympy.Basic) -> bool:
    """Whether `expr` can be a single value: a constant, or pooled."""
    return _pooled(expr) or shape_of(expr).varies is Varies.CONSTANT


def _pooled(expr: sympy.Basic) -> bool:
    """Whether `expr` holds a statistic over all rows (always a single group)."""
    if isinstance(expr, ir.Stat):
        return not keys_of(expr)
    return any(_pooled(a) for a in expr.args if isinstance(a, sympy.Basic))


def _reads_rows(expr: sympy.Basic, unit: str) -> bool:
    """Whether `expr` reads a column outside a statistic (is not constant within a group).

    ``at(x, unit='R')`` (a reference unit's value) is constant within the group: one value
    per period, a scalar when there is a single one.
    """
    if isinstance(expr, sympy.Symbol):
        return True
    if isinstance(expr, ir.Stat):
        return isinstance(expr, ir.ROW_WISE)
    if isinstance(expr, ir.At) and unit in dict(expr.fixed):
        return False
    return any(_reads_rows(a, unit) for a in expr.args if isinstance(a, sympy.Basic))


def _is_minus_one(x: sympy.Basic) -> bool:
    """``x == -1``, asked only of numbers (nothing else equals one; sympy's comparison
    is slow enough to count in a large methodology)."""
    return isinstance(x, sympy.Number) and x == sympy.S.NegativeOne


@_compile.register
def _(expr: sympy.Mul, ctx: Context) -> pl.Expr:
    args = list(expr.args)
    if len(args) == 2 and _is_minus_one(args[0]):
        return -_compile(args[1], ctx)
    out: pl.Expr | None = None
    for a in args:
        if isinstance(a, sympy.Pow) and _is_minus_one(a.exp):
            num = out if out is not None else pl.lit(1.0)
            out = _divide(num, a.base, ctx)
        else:
            term = _compile(a, _guarded_by_parent(a, ctx))
            out = term if out is None else out * term
    assert out is not None
    return _parents_guard(out, expr, ctx)


@_compile.register
def _(expr: sympy.Pow, ctx: Context) -> pl.Expr:
    base, exp = expr.args
    if _is_minus_one(exp):
        return _finite(pl.lit(1.0) / _compile(base, ctx), ctx)
    if isinstance(exp, sympy.Number) and exp == sympy.S.Half:
        return _finite(_compile(base, ctx).sqrt(), ctx)
    if isinstance(exp, sympy.Number):
        return _finite(_compile(base, ctx).pow(float(exp)), ctx)
    return _finite(_compile(base, ctx).pow(_compile(exp, ctx)), ctx)


@_compile.register
def _(expr: sympy.log, ctx: Context) -> pl.Expr:
    # a constant argument is not worked out here (sympy would, exactly): polars computes
    # it like any other value, and log(0) is missing like any undefined result
    return _finite(_compile(expr.args[0], ctx).log(), ctx)


@_compile.register
def _(expr: sympy.exp, ctx: Context) -> pl.Expr:
    return _finite(_compile(expr.args[0], ctx).exp(), ctx)


@_compile.register
def _(expr: sympy.Abs, ctx: Context) -> pl.Expr:
    return _compile(expr.args[0], ctx).abs()


def _missing_if_any(args: list[pl.Expr], value: pl.Expr) -> pl.Expr:
    """polars' horizontal min/max skip nulls; a missing argument makes the result missing."""
    return pl.when(pl.any_horizontal([a.is_null() for a in args])).then(NULL).otherwise(value)


@_compile.register
def _(expr: sympy.Max, ctx: Context) -> pl.Expr:
    args = [_shared(_compile(a, ctx), ctx) for a in expr.args]
    return _missing_if_any(args, pl.max_horizontal(*args))


@_compile.register
def _(expr: sympy.Min, ctx: Context) -> pl.Expr:
    args = [_shared(_compile(a, ctx), ctx) for a in expr.args]
    return _missing_if_any(args, pl.min_horizontal(*args))


@_compile.register
def _(expr: ir.IsPresent, ctx: Context) -> pl.Expr:
    return _compile(expr.args[0], ctx).is_not_null().cast(pl.Float64)


@_compile.register
def _(expr: ir.MinPresent, ctx: Context) -> pl.Expr:
    return pl.min_horizontal(*(_compile(a, ctx) for a in expr.args))


@_compile.register
def _(expr: ir.Coalesce, ctx: Context) -> pl.Expr:
    return _compile(expr.args[0], ctx).fill_null(_compile(expr.args[1], ctx))


@_compile.register
def _(expr: ir.WeightedMedian, ctx: Context) -> pl.Expr:
    values = pl.concat_list([_compile(m, ctx) for m in expr.members])
    weights = pl.concat_list([_compile(w, ctx) for w in expr.weights])
    order = values.list.eval(pl.element().arg_sort())
    cum = weights.list.gather(order).list.eval(pl.element().cum_sum() / pl.element().sum())
    first = cum.list.eval(pl.element() >= 0.5 - 1e-12).list.arg_max()
    median = values.list.sort().list.get(first)
    return _missing_if_any([_compile(m, ctx) for m in expr.members], median)


@_compile.register
def _(expr: ir.Round, ctx: Context) -> pl.Expr:
    # a column of its own when the step can have one: round() reads x a dozen times; a
    # value that polars may hold as a scalar is spread over the rows first (the search
    # in round_decimal needs one value per row)
    x = _compile(expr.args[0], ctx)
    if shape_of(expr.args[0]).varies is not Varies.ROW:
        x = pl.when(pl.col(ctx.unit).is_not_null()).then(x)
    x = _shared(x, ctx, size=0)
    digits = int(expr.args[1])
    mode: RoundMode = "half_away_from_zero" if str(expr.args[2]) == "half_up" else "half_to_even"
    return round_decimal(x, digits, mode)


#: how a tie is rounded: half up (away from zero) or to even
RoundMode = Literal["half_away_from_zero", "half_to_even"]


def round_decimal(x: pl.Expr, digits: int, mode: RoundMode) -> pl.Expr:
    """Round as a person rounds the printed decimal, not the binary float.

    2.675 is stored as 2.67499999…, so rounding the float gives 2.67 where a publisher
    (and a spreadsheet) prints 2.68. The value is first read as a decimal of 15
    significant digits and at most 12 places (:func:`round_places`): the integer
    ``M = round_half_even(x * 10**P)`` (exact: ``|M| < 10**15``), which reads 2.675 as
    2675000000000 and 32779.6755 as 327796755000000. M is then rounded to `digits`
    decimals in integer arithmetic with the declared rule for ties
    (``half_away_from_zero``, half up, or ``half_to_even``), and the decimal is read back
    as the nearest float. From ``2**53 / 10**digits`` on, a float is coarser than the
    rounding and stays as it is; NaN and infinities stay undefined (the audit reports
    them).
    """
    a = x.abs()
    # the places fall by one at each bound |x| passes: one search instead of a chain of
    # comparisons (each of which would repeat x, and nested rounds multiply the repeats)
    bounds = pl.Series([b for b, _ in round_places(digits)], dtype=pl.Float64)
    passed = pl.lit(bounds).search_sorted(a, side="right").cast(pl.Int64)
    places = pl.lit(PLACES, dtype=pl.Int64) - passed
    scale = pl.lit(10, dtype=pl.Int64).pow(places)
    m = (x * scale.cast(pl.Float64)).round(0, mode="half_to_even").cast(pl.Int64, strict=False)
    unit = pl.lit(10, dtype=pl.Int64).pow(places - digits)
    magnitude = m.abs()
    whole = magnitude // unit
    twice = (magnitude % unit) * 2
    if mode == "half_away_from_zero":
        bump = twice >= unit
    else:
        bump = (twice > unit) | ((twice == unit) & (whole % 2 == 1))
    rounded = whole + bump.cast(pl.Int64)
    sign = pl.when(m < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    # the decimal rounded*10**-digits read as a float: parsing is correctly rounded
    text = pl.concat_str([sign, rounded.cast(pl.String), pl.lit(f"e-{digits}")])
    inside = x.is_finite() & (a < round_limit(digits))
    return pl.when(~inside).then(x).otherwise(text.cast(pl.Float64))  # named as x
