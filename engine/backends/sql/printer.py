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

import sympy
from sqlglot import exp

from engine.backends.sql.dialects import (
    FloatSum,
    IeeeDiv,
    NaturalLog,
    QuantileCont,
    SafeExp,
    SafePow,
    SafeSqrt,
)
from engine.backends.sql.functions import (
    BIGINT,
    DOUBLE,
    CompileError,
    as_double,
    column,
    if_present,
    key_literal,
    literal,
    mean,
    missing_if_any,
    ordered,
    round_decimal,
    window,
)
from engine.backends.sql.functions import (
    paren as _paren,
)
from engine.formula import ir
from engine.formula.types import is_condition as _is_condition

__all__ = [
    "BIGINT",
    "DOUBLE",
    "CompileError",
    "Context",
    "column",
    "condition_columns",
    "has_rule",
    "key_literal",
    "literal",
    "ordered",
    "to_sql",
    "window",
]


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


def to_sql(expr: sympy.Basic, ctx: Context) -> exp.Expr:
    """The SQL expression of a (lowered) IR expression.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> to_sql(x / y, Context("unit", "year")).sql("duckdb")
    'IEEE_DIV("x", "y")'
    """
    return _print(expr, ctx)


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


@_print.register
def _(expr: sympy.Max, ctx: Context) -> exp.Expr:
    args = [_print(a, ctx) for a in expr.args]
    greatest = exp.Greatest(
        this=args[0].copy(), expressions=[a.copy() for a in args[1:]], ignore_nulls=True
    )
    return missing_if_any(args, greatest)


@_print.register
def _(expr: sympy.Min, ctx: Context) -> exp.Expr:
    args = [_print(a, ctx) for a in expr.args]
    least = exp.Least(
        this=args[0].copy(), expressions=[a.copy() for a in args[1:]], ignore_nulls=True
    )
    return missing_if_any(args, least)


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
    return missing_if_any(ys, least)


@_print.register
def _(expr: ir.Round, ctx: Context) -> exp.Expr:
    digits = int(expr.args[1])
    return round_decimal(_print(expr.args[0], ctx), digits, str(expr.args[2]))
