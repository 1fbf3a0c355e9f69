"""sympy IR to sqlglot expressions: the SQL printer of the formula IR.

One rule per node type, registered with :func:`functools.singledispatch`, exactly as the
polars compiler (:mod:`engine.backends.polars.compile`) has one; a node without a rule
is a :class:`CompileError`, never a fallback. Nothing is built from text: every node
becomes sqlglot builder objects, identifiers are quoted by sqlglot, and the dialect
(:mod:`engine.backends.sql.dialects`) prints them for DuckDB, Spark or PostgreSQL.

The printer mirrors the polars rules' meaning, node by node:

* numbers are DOUBLE literals (``CAST('0.1' AS DOUBLE)``), so no engine computes in
  DECIMAL or integer arithmetic; ``/`` is IEEE division (:class:`~.dialects.IeeeDiv`);
* a missing argument makes ``min``/``max`` missing (SQL's ``LEAST``/``GREATEST`` skip
  NULLs); a missing condition makes ``where``/``if`` missing (SQL's ``CASE`` would take
  the ``ELSE`` branch);
* statistics are window functions over the rows sharing their keys (``OVER ()`` when
  pooled), skipping missing values; a statistic over no present value is NULL, which
  the audit reports;
* ``rank`` gives missing values no rank and sorts with ``NULLS LAST`` (ties: ``min`` is
  ``RANK()``, ``dense`` ``DENSE_RANK()``, ``max`` the count of rows up to the last tie,
  ``average`` the mean of the two); ``std`` is ``STDDEV_SAMP`` for ddof 1 and
  ``STDDEV_POP`` for ddof 0;
* ``round`` rounds the decimal the way polars does (see :func:`_round_decimal`),
  bit for bit.

A window function cannot hold another window function in SQL; :mod:`.lower` lifts
nested ones into columns of their own before printing, so the rules here may assume
that the arguments of a statistic hold none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlglot
import sympy
from sqlglot import exp

from engine.backends.sql.dialects import (
    FloatSum,
    IeeeDiv,
    IsFinite,
    NaturalLog,
    QuantileCont,
    SafeExp,
    SafePow,
    SafeSqrt,
    double,
    nan,
)
from engine.formula import ir
from engine.formula.types import is_condition as _is_condition

__all__ = [
    "CompileError",
    "Context",
    "column",
    "condition_columns",
    "has_rule",
    "literal",
    "to_sql",
]

DOUBLE = exp.DataType.build("DOUBLE")
BIGINT = exp.DataType.build("BIGINT")
#: round() is exact (as polars) while |x| * 10^12 fits a 64-bit integer
ROUND_LIMIT = 9.2e6


@dataclass(frozen=True)
class Context:
    """What a formula's meaning depends on besides its columns."""

    unit: str
    period: str | None
    #: detail keys of the rows being computed (none at unit level)
    detail: tuple[str, ...] = ()
    #: key columns that break ties in a running sum (the data's keys)
    order: tuple[str, ...] = ()
    #: absolute and relative tolerance applied to == and != (checks)
    atol: float = 0.0
    rtol: float = 0.0
    #: class labels from the highest band down (for class_at_least)
    class_labels: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit,) + ((self.period,) if self.period else ()) + self.detail


class CompileError(Exception):
    """An IR node the SQL printer has no rule for: an engine bug, not a user error."""


def to_sql(expr: sympy.Basic, ctx: Context) -> exp.Expr:
    """The SQL expression of a (lowered) IR expression.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> to_sql(x / y, Context("unit", "year")).sql("duckdb")
    'IEEE_DIV("x", "y")'
    """
    return _print(expr, ctx)


def column(name: str) -> exp.Column:
    """A quoted column reference (names like ``SD.norm`` are one identifier)."""
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def literal(value: float) -> exp.Expr:
    """A DOUBLE literal that every engine reads as exactly `value`."""
    if value != value or value in (float("inf"), float("-inf")):
        return double(repr(value).replace("inf", "Infinity").replace("nan", "NaN"))
    if value == int(value) and abs(value) < 2**53:
        return exp.cast(exp.Literal.number(int(value)), DOUBLE)
    return double(repr(value))


def key_literal(value: object) -> exp.Expr:
    """A key value as written in a formula or a methodology (an integer or text)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CompileError(f"a key value must be an integer or text, not {value!r}")
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(value)


def condition_columns(steps: Iterable[tuple[str, sympy.Basic]]) -> frozenset[str]:
    """The columns among `steps` (name, expression, in dependency order) that hold
    conditions. A bare name has the kind of the column it names (sympy's Symbol is also a
    Boolean, so its class cannot tell)."""
    found: set[str] = set()
    for name, expr in steps:
        if isinstance(expr, sympy.Symbol):
            if expr.name in found:
                found.add(name)
        elif _is_condition(expr):
            found.add(name)
    return frozenset(found)


@functools.singledispatch
def _print(expr: sympy.Basic, ctx: Context) -> exp.Expr:
    raise CompileError(f"no SQL rule for {type(expr).__name__}: {expr}")


def has_rule(node: sympy.Basic | type) -> bool:
    """Whether the printer has a rule for this node (or node class)."""
    cls = node if isinstance(node, type) else type(node)
    return _print.dispatch(cls) is not _print.dispatch(object)


@_print.register
def _(expr: sympy.Symbol, ctx: Context) -> exp.Expr:
    return column(expr.name)


@_print.register(sympy.Integer)
@_print.register(sympy.Rational)
@_print.register(sympy.Float)
@_print.register(sympy.core.numbers.NegativeOne)
@_print.register(sympy.core.numbers.One)
@_print.register(sympy.core.numbers.Zero)
@_print.register(sympy.core.numbers.Half)
def _(expr: sympy.Number, ctx: Context) -> exp.Expr:
    return literal(float(expr))


@_print.register(sympy.logic.boolalg.BooleanTrue)
def _(expr: sympy.Basic, ctx: Context) -> exp.Expr:
    return exp.true()


@_print.register(sympy.logic.boolalg.BooleanFalse)
def _(expr: sympy.Basic, ctx: Context) -> exp.Expr:
    return exp.false()


def _paren(e: exp.Expr) -> exp.Expr:
    """`e` in parentheses unless it is a column, a literal or a function call (sqlglot
    prints the tree as built: it adds no parentheses for precedence)."""
    atomic = isinstance(e, exp.Column | exp.Literal | exp.Cast | exp.Paren) or (
        isinstance(e, exp.Func) and not isinstance(e, IeeeDiv)  # IeeeDiv may print as a / b
    )
    return e if atomic else exp.Paren(this=e)


@_print.register
def _(expr: sympy.Add, ctx: Context) -> exp.Expr:
    # left to right, in the author's order: float addition is not associative
    terms = [_print(a, ctx) for a in expr.args]
    return functools.reduce(lambda a, b: exp.Add(this=_paren(a), expression=_paren(b)), terms)


@_print.register
def _(expr: sympy.Mul, ctx: Context) -> exp.Expr:
    args = list(expr.args)
    if len(args) == 2 and args[0] == sympy.Integer(-1):
        return exp.Neg(this=_paren(_print(args[1], ctx)))
    out: exp.Expr | None = None
    for a in args:
        if isinstance(a, sympy.Pow) and a.exp == sympy.Integer(-1):
            num = out if out is not None else literal(1.0)
            out = IeeeDiv(this=_paren(num), expression=_paren(_print(a.base, ctx)))
        else:
            term = _print(a, ctx)
            out = term if out is None else exp.Mul(this=_paren(out), expression=_paren(term))
    assert out is not None
    return out


@_print.register
def _(expr: sympy.Pow, ctx: Context) -> exp.Expr:
    base, power = expr.args
    if power == sympy.Integer(-1):
        return IeeeDiv(this=literal(1.0), expression=_paren(_print(base, ctx)))
    if power == sympy.Rational(1, 2):
        return SafeSqrt(this=_print(base, ctx))
    right = literal(float(power)) if power.is_Number else _print(power, ctx)
    return SafePow(this=_print(base, ctx), expression=right)


@_print.register
def _(expr: sympy.log, ctx: Context) -> exp.Expr:
    arg = expr.args[0]
    if arg.is_Number:  # a constant such as log(10) in log10(x) = log(x) / log(10)
        return literal(float(sympy.log(arg).evalf()))
    return NaturalLog(this=_print(arg, ctx))


@_print.register
def _(expr: sympy.exp, ctx: Context) -> exp.Expr:
    return SafeExp(this=_print(expr.args[0], ctx))


@_print.register
def _(expr: sympy.Abs, ctx: Context) -> exp.Expr:
    return exp.Abs(this=_print(expr.args[0], ctx))


def _any_null(args: list[exp.Expr]) -> exp.Expr:
    return exp.or_(*(exp.Is(this=a.copy(), expression=exp.Null()) for a in args))


def _missing_if_any(args: list[exp.Expr], value: exp.Expr) -> exp.Expr:
    """`value`, or NULL when an argument is NULL (GREATEST/LEAST skip NULLs)."""
    return exp.Case(ifs=[exp.If(this=_any_null(args), true=exp.Null())], default=value)


@_print.register
def _(expr: sympy.Max, ctx: Context) -> exp.Expr:
    args = [_print(a, ctx) for a in expr.args]
    greatest = exp.Greatest(
        this=args[0].copy(), expressions=[a.copy() for a in args[1:]], ignore_nulls=True
    )
    return _missing_if_any(args, greatest)


@_print.register
def _(expr: sympy.Min, ctx: Context) -> exp.Expr:
    args = [_print(a, ctx) for a in expr.args]
    least = exp.Least(
        this=args[0].copy(), expressions=[a.copy() for a in args[1:]], ignore_nulls=True
    )
    return _missing_if_any(args, least)


def _when(cond: exp.Expr, value: exp.Expr) -> list[exp.If]:
    """A branch that a missing condition turns missing, not into the next branch."""
    return [
        exp.If(this=exp.Is(this=cond.copy(), expression=exp.Null()), true=exp.Null()),
        exp.If(this=cond, true=value),
    ]


@_print.register
def _(expr: sympy.Piecewise, ctx: Context) -> exp.Expr:
    ifs: list[exp.If] = []
    default: exp.Expr = exp.Null()
    for value, cond in expr.args:
        if cond == sympy.true:
            default = _print(value, ctx)
            break
        ifs += _when(_print(cond, ctx), _print(value, ctx))
    return exp.Case(ifs=ifs, default=default)


def _close(a: exp.Expr, b: exp.Expr, ctx: Context) -> exp.Expr:
    if ctx.atol == 0 and ctx.rtol == 0:
        return exp.EQ(this=a, expression=b)
    gap = exp.Abs(this=exp.Sub(this=_paren(a), expression=_paren(b.copy())))
    bound: exp.Expr = literal(ctx.atol)
    if ctx.rtol != 0:
        bound = exp.Add(
            this=bound, expression=exp.Mul(this=literal(ctx.rtol), expression=exp.Abs(this=b))
        )
    return exp.LTE(this=gap, expression=bound)


_RELATIONS: dict[type, Callable[[exp.Expr, exp.Expr, Context], exp.Expr]] = {
    sympy.StrictLessThan: lambda a, b, c: exp.LT(this=a, expression=b),
    sympy.LessThan: lambda a, b, c: exp.LTE(this=a, expression=b),
    sympy.StrictGreaterThan: lambda a, b, c: exp.GT(this=a, expression=b),
    sympy.GreaterThan: lambda a, b, c: exp.GTE(this=a, expression=b),
    sympy.Equality: _close,
    sympy.Unequality: lambda a, b, c: exp.not_(exp.Paren(this=_close(a, b, c))),
}


@_print.register(sympy.core.relational.Relational)
def _(expr: sympy.core.relational.Relational, ctx: Context) -> exp.Expr:
    rule = _RELATIONS.get(type(expr))
    if rule is None:
        raise CompileError(f"no SQL rule for relation {type(expr).__name__}")
    return rule(_paren(_print(expr.lhs, ctx)), _paren(_print(expr.rhs, ctx)), ctx)


@_print.register
def _(expr: sympy.And, ctx: Context) -> exp.Expr:
    return exp.Paren(this=exp.and_(*(_paren(_print(a, ctx)) for a in expr.args)))


@_print.register
def _(expr: sympy.Or, ctx: Context) -> exp.Expr:
    return exp.Paren(this=exp.or_(*(_paren(_print(a, ctx)) for a in expr.args)))


@_print.register
def _(expr: sympy.Not, ctx: Context) -> exp.Expr:
    return exp.not_(_paren(_print(expr.args[0], ctx)))


# -- statistics across units: window functions -------------------------------------


def window(
    func: exp.Expr,
    keys: tuple[str, ...],
    order: list[exp.Ordered] | None = None,
    frame: str | None = None,
) -> exp.Window:
    """``func OVER (PARTITION BY keys ORDER BY order <frame>)``; frame is ROWS or RANGE
    from the partition's start to the current row."""
    args: dict[str, object] = {"this": func, "partition_by": [column(k) for k in keys]}
    if order:
        args["order"] = exp.Order(expressions=order)
    if frame:
        args["spec"] = exp.WindowSpec(
            kind=frame, start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
        )
    return exp.Window(**args)


def ordered(e: exp.Expr, *, desc: bool = False, nulls_first: bool = False) -> exp.Ordered:
    return exp.Ordered(this=e, desc=desc, nulls_first=nulls_first)


def _as_double(e: exp.Expr) -> exp.Expr:
    return exp.cast(e, DOUBLE)


def _if_present(x: exp.Expr, value: exp.Expr) -> exp.Expr:
    """`value` where `x` has a value, else NULL."""
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null())],
        default=value,
    )


def _mean(x: exp.Expr, keys: tuple[str, ...]) -> exp.Expr:
    # the sum over the count of present values, as polars; NULL over no value
    total = window(FloatSum(this=x.copy()), keys)
    count = window(exp.Count(this=x.copy()), keys)
    return exp.Div(
        this=total,
        expression=exp.Nullif(this=_as_double(count), expression=literal(0.0)),
        typed=False,
        safe=False,
    )


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
            this=exp.Paren(this=exp.Add(this=_as_double(lowest), expression=_as_double(highest))),
            expression=literal(2.0),
            typed=False,
            safe=False,
        )
    else:
        raise CompileError(f"no SQL rule for rank ties '{expr.ties}'")
    return _if_present(x, _as_double(value))


@_print.register
def _(expr: ir.Stat, ctx: Context) -> exp.Expr:
    # a row whose grouping label is missing belongs to no group (the data's own keys are
    # never missing); PARTITION BY would pool such rows into one group of their own
    labels = [k for k in expr.keys if k not in ctx.keys and k not in ctx.order]
    value = _statistic(expr, ctx)
    if not labels:
        return value
    present = exp.and_(*(exp.not_(exp.Is(this=column(k), expression=exp.Null())) for k in labels))
    return exp.Case(ifs=[exp.If(this=present, true=value)])


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
        return _mean(x, keys)
    if isinstance(expr, ir.ColCount):
        return _as_double(window(exp.Count(this=x), keys))
    if isinstance(expr, ir.ColStd):
        if expr.ddof not in (0, 1):
            raise CompileError(f"no SQL rule for std with ddof {expr.ddof}")
        cls = exp.StddevSamp if expr.ddof == 1 else exp.StddevPop
        return window(cls(this=x), keys)
    if isinstance(expr, ir.ColMedian):
        return window(QuantileCont(this=_as_double(x), quantile=literal(0.5)), keys)
    if isinstance(expr, ir.ColQuantile):
        return window(QuantileCont(this=_as_double(x), quantile=literal(expr.q)), keys)
    if isinstance(expr, ir.ColRank):
        return _rank(expr, x, keys)
    if isinstance(expr, ir.ColCumSum):
        # rows in ascending order of the order value (missing first, as polars sorts),
        # ties in key order; a missing value keeps no running total
        order = [ordered(_print(expr.order, ctx), nulls_first=True)]
        order += [ordered(column(k), nulls_first=True) for k in ctx.order]
        return _if_present(x, window(FloatSum(this=x.copy()), keys, order, frame="ROWS"))
    raise CompileError(f"no SQL rule for statistic {type(expr).__name__}")


@_print.register
def _(expr: ir.At, ctx: Context) -> exp.Expr:
    fixed = expr.fixed
    cond = exp.and_(*(exp.EQ(this=column(k), expression=key_literal(v)) for k, v in fixed))
    rest = tuple(k for k in ctx.keys if k not in dict(fixed))
    # keys are unique, so at most one row of the partition matches: MAX is its value
    picked = exp.Case(ifs=[exp.If(this=cond, true=_print(expr.args[0], ctx))])
    return window(exp.Max(this=picked), rest)


@_print.register
def _(expr: ir.ClassAtLeast, ctx: Context) -> exp.Expr:
    labels = list(ctx.class_labels)
    chosen = labels[: labels.index(expr.label) + 1]
    return exp.In(this=column("class"), expressions=[exp.Literal.string(s) for s in chosen])


@_print.register
def _(expr: ir.IsPresent, ctx: Context) -> exp.Expr:
    x = _print(expr.args[0], ctx)
    present = exp.not_(exp.Is(this=x, expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=present, true=literal(1.0))], default=literal(0.0))


@_print.register
def _(expr: ir.FillForward, ctx: Context) -> exp.Expr:
    x = _print(expr.args[0], ctx)
    order = [ordered(column(str(expr.args[2])), nulls_first=True)]
    last = exp.IgnoreNulls(this=exp.LastValue(this=x))
    return window(last, (str(expr.args[1]),), order, frame="ROWS")


@_print.register
def _(expr: ir.If, ctx: Context) -> exp.Expr:
    cond = _print(expr.args[0], ctx)
    return exp.Case(ifs=_when(cond, _print(expr.args[1], ctx)), default=_print(expr.args[2], ctx))


@_print.register
def _(expr: ir.MinPresent, ctx: Context) -> exp.Expr:
    args = [_print(a, ctx) for a in expr.args]
    if len(args) == 1:
        return args[0]
    return exp.Least(this=args[0], expressions=args[1:], ignore_nulls=True)


@_print.register
def _(expr: ir.Coalesce, ctx: Context) -> exp.Expr:
    return exp.Coalesce(this=_print(expr.args[0], ctx), expressions=[_print(expr.args[1], ctx)])


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
    return _missing_if_any(ys, least)


@_print.register
def _(expr: ir.Round, ctx: Context) -> exp.Expr:
    digits = int(expr.args[1])
    return _round_decimal(_print(expr.args[0], ctx), digits, str(expr.args[2]))


def _round_decimal(x: exp.Expr, digits: int, mode: str) -> exp.Expr:
    """Round as polars does (:func:`engine.backends.polars.compile.round_decimal`), in
    integer arithmetic so that every engine gives the same bits.

    polars takes x to 12 decimals as ``round_half_even(x * 1e12)`` (in doubles), then
    rounds that integer M to `digits` decimals by the declared rule for ties, then
    converts the decimal back to the nearest double. Here: m = x * 1e12 (a double),
    M = floor(m) + 1 when the fraction is above one half (or exactly one half and
    floor(m) is odd), R = |M| DIV 10^(12 - digits) adjusted for ties, and the result
    R / 10^digits, a single correctly rounded division. Exact while |x| < 9.2e6 (M fits
    a 64-bit integer); beyond, and for NaN and infinities, the value is NaN or stays
    non-finite, so the audit reports it rather than a wrong number.
    """
    if not 0 <= digits <= 12:
        raise CompileError(f"round() to {digits} decimals: SQL engines support 0 to 12")
    m = exp.Mul(this=_paren(x.copy()), expression=literal(1e12))
    low = exp.Floor(this=m.copy())
    frac = exp.Sub(this=m.copy(), expression=low.copy())
    low_int = exp.cast(low.copy(), BIGINT)
    odd = exp.EQ(
        this=exp.Mod(this=exp.Abs(this=low_int.copy()), expression=exp.Literal.number(2)),
        expression=exp.Literal.number(1),
    )
    up = exp.or_(
        exp.GT(this=frac.copy(), expression=literal(0.5)),
        exp.and_(exp.EQ(this=frac.copy(), expression=literal(0.5)), odd),
    )
    big_m = exp.Add(
        this=low_int,
        expression=exp.Case(
            ifs=[exp.If(this=up, true=exp.Literal.number(1))], default=exp.Literal.number(0)
        ),
    )
    q = 10 ** (12 - digits)
    magnitude = exp.Abs(this=exp.Paren(this=big_m))
    if mode == "half_up":
        r: exp.Expr = exp.IntDiv(
            this=exp.Paren(this=exp.Add(this=magnitude, expression=exp.Literal.number(q // 2))),
            expression=exp.Literal.number(q),
        )
    elif mode == "half_even":
        whole = exp.IntDiv(this=magnitude.copy(), expression=exp.Literal.number(q))
        rest2 = exp.Mul(
            this=exp.Mod(this=magnitude.copy(), expression=exp.Literal.number(q)),
            expression=exp.Literal.number(2),
        )
        whole_odd = exp.EQ(
            this=exp.Mod(this=whole.copy(), expression=exp.Literal.number(2)),
            expression=exp.Literal.number(1),
        )
        bump = exp.or_(
            exp.GT(this=rest2.copy(), expression=exp.Literal.number(q)),
            exp.and_(exp.EQ(this=rest2, expression=exp.Literal.number(q)), whole_odd),
        )
        r = exp.Add(
            this=whole,
            expression=exp.Case(
                ifs=[exp.If(this=bump, true=exp.Literal.number(1))],
                default=exp.Literal.number(0),
            ),
        )
    else:
        raise CompileError(f"no SQL rule for rounding mode '{mode}'")
    negative = exp.LT(this=exp.Paren(this=big_m.copy()), expression=exp.Literal.number(0))
    signed = exp.Case(
        ifs=[exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=r.copy())))], default=r
    )
    value = IeeeDiv(this=_as_double(signed), expression=literal(float(10**digits)))
    in_range = exp.LT(this=exp.Abs(this=x.copy()), expression=literal(ROUND_LIMIT))
    finite = IsFinite(this=x.copy())
    return exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null()),
            exp.If(this=exp.not_(finite), true=x.copy()),
            exp.If(this=in_range, true=value),
        ],
        default=nan(),
    )


def sql_text(tree: exp.Expr, dialect: type[sqlglot.Dialect]) -> str:
    """Print an expression in `dialect` (tests and messages)."""
    return tree.sql(dialect=dialect)
