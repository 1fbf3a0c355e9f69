"""sympy IR to polars expressions.

One function per node type, registered with :func:`functools.singledispatch` (the way
sympy's printers have a ``_print_<Class>`` per node and ibis compiles its operations to
polars). A node without a rule is a compile error, never a silent fallback; ``lambdify``
is never used.

Symbols become columns through :class:`Context.columns` (an indicator symbol inside an
aggregation means its normalised column, for instance). Cross-unit statistics become
window expressions ``.over(keys)``, or plain aggregations broadcast to every row when
pooled over all rows, so the whole methodology stays one lazy query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import sympy

from engine.formula import ir
from engine.formula.types import Kind, kind_of


@dataclass(frozen=True)
class Context:
    """How names map to columns: `columns[name]` is the column a symbol reads."""

    columns: Mapping[str, str]
    unit: str
    period: str | None
    #: absolute and relative tolerance applied to == and != (checks)
    atol: float = 0.0
    rtol: float = 0.0
    #: key columns of the rows being computed (unit, period and any detail keys)
    detail: tuple[str, ...] = ()
    #: class labels from the highest band down (for class_at_least)
    class_labels: tuple[str, ...] = ()
    #: sums add the rows of a group in the order of these columns (the data's keys), so
    #: that reruns and any order of the input rows give bit-identical results
    order: tuple[str, ...] = ()
    #: the data may form a single group (one period): statistics are then scalars
    single_group: bool = True

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit,) + ((self.period,) if self.period else ()) + self.detail


class CompileError(Exception):
    """An IR node the compiler has no rule for: an engine bug, not a user error."""


def to_polars(expr: sympy.Basic, ctx: Context) -> pl.Expr:
    """Compile a sympy expression to a polars expression.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> str(to_polars(x / y, Context({"x": "x", "y": "y"}, "unit", "year")))
    '[(col("x")) / (col("y"))]'
    """
    return _compile(expr, ctx)


@functools.singledispatch
def _compile(expr: sympy.Basic, ctx: Context) -> pl.Expr:
    raise CompileError(f"no polars rule for {type(expr).__name__}: {expr}")


@_compile.register
def _(expr: sympy.Symbol, ctx: Context) -> pl.Expr:
    return pl.col(ctx.columns.get(expr.name, expr.name))


@_compile.register(sympy.Integer)
@_compile.register(sympy.Rational)
@_compile.register(sympy.Float)
@_compile.register(sympy.core.numbers.NegativeOne)
@_compile.register(sympy.core.numbers.One)
@_compile.register(sympy.core.numbers.Zero)
@_compile.register(sympy.core.numbers.Half)
def _(expr: sympy.Number, ctx: Context) -> pl.Expr:
    return pl.lit(float(expr), dtype=pl.Float64)


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
    terms = [_compile(a, ctx) for a in expr.args]
    return functools.reduce(lambda a, b: a + b, terms)


def _divide(num: pl.Expr, den: sympy.Basic, ctx: Context) -> pl.Expr:
    """``num / den`` with IEEE division in every row.

    polars divides by a scalar (a statistic over a single group, or over all rows) by
    multiplying with its reciprocal, which is not correctly rounded: 237 / 237 can come
    out as 0.9999999999999999 and the leader would not score exactly 100. Adding
    ``num * 0`` turns such a denominator into a full column, so every row gets a true
    division (for finite numbers; missing stays missing). It is only needed when the
    statistic can be a scalar: pooled, or the data has a single period
    (``Context.single_group``).
    """
    d = _compile(den, ctx)
    if not _reads_rows(den, ctx.unit) and (ctx.single_group or _pooled(den)):
        d = d + num * 0.0
    return num / d


def _pooled(expr: sympy.Basic) -> bool:
    """Whether `expr` holds a statistic over all rows (always a single group)."""
    if isinstance(expr, ir.Stat):
        return not expr.keys
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


@_compile.register
def _(expr: sympy.Mul, ctx: Context) -> pl.Expr:
    args = list(expr.args)
    if len(args) == 2 and args[0] == sympy.Integer(-1):
        return -_compile(args[1], ctx)
    out: pl.Expr | None = None
    for a in args:
        if isinstance(a, sympy.Pow) and a.exp == sympy.Integer(-1):
            num = out if out is not None else pl.lit(1.0)
            out = _divide(num, a.base, ctx)
        else:
            term = _compile(a, ctx)
            out = term if out is None else out * term
    assert out is not None
    return out


@_compile.register
def _(expr: sympy.Pow, ctx: Context) -> pl.Expr:
    base, exp = expr.args
    if exp == sympy.Integer(-1):
        return pl.lit(1.0) / _compile(base, ctx)
    if exp == sympy.Rational(1, 2):
        return _compile(base, ctx).sqrt()
    if exp.is_Number:
        return _compile(base, ctx).pow(float(exp))
    return _compile(base, ctx).pow(_compile(exp, ctx))


@_compile.register
def _(expr: sympy.log, ctx: Context) -> pl.Expr:
    arg = expr.args[0]
    if arg.is_Number:
        return pl.lit(float(sympy.log(arg).evalf()))
    return _compile(arg, ctx).log()


@_compile.register
def _(expr: sympy.exp, ctx: Context) -> pl.Expr:
    return _compile(expr.args[0], ctx).exp()


@_compile.register
def _(expr: sympy.Abs, ctx: Context) -> pl.Expr:
    return _compile(expr.args[0], ctx).abs()


def _missing_if_any(args: list[pl.Expr], value: pl.Expr) -> pl.Expr:
    """polars' horizontal min/max skip nulls; a missing argument makes the result missing."""
    return pl.when(pl.any_horizontal([a.is_null() for a in args])).then(None).otherwise(value)


@_compile.register
def _(expr: sympy.Max, ctx: Context) -> pl.Expr:
    args = [_compile(a, ctx) for a in expr.args]
    return _missing_if_any(args, pl.max_horizontal(*args))


@_compile.register
def _(expr: sympy.Min, ctx: Context) -> pl.Expr:
    args = [_compile(a, ctx) for a in expr.args]
    return _missing_if_any(args, pl.min_horizontal(*args))


@_compile.register
def _(expr: sympy.Piecewise, ctx: Context) -> pl.Expr:
    # a missing condition gives a missing value (polars would take the next branch)
    (first_value, first_cond), *rest = expr.args
    cond = _compile(first_cond, ctx)
    chain = pl.when(cond.is_null()).then(None).when(cond).then(_compile(first_value, ctx))
    for value, c in rest:
        if c == sympy.true:
            return chain.otherwise(_compile(value, ctx))
        cond = _compile(c, ctx)
        chain = chain.when(cond.is_null()).then(None).when(cond).then(_compile(value, ctx))
    return chain.otherwise(None)


def _close(a: pl.Expr, b: pl.Expr, ctx: Context) -> pl.Expr:
    if ctx.atol == 0 and ctx.rtol == 0:
        return a == b
    if ctx.rtol == 0:
        return (a - b).abs() <= ctx.atol
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


@_compile.register
def _(expr: sympy.And, ctx: Context) -> pl.Expr:
    return pl.all_horizontal(*(_compile(a, ctx) for a in expr.args))


@_compile.register
def _(expr: sympy.Or, ctx: Context) -> pl.Expr:
    return pl.any_horizontal(*(_compile(a, ctx) for a in expr.args))


@_compile.register
def _(expr: sympy.Not, ctx: Context) -> pl.Expr:
    return ~_compile(expr.args[0], ctx)


# -- statistics across units -------------------------------------------------------


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


def _ordered_std(x: pl.Expr, ddof: int) -> pl.Expr:
    """sqrt(sum((x - mean)^2) / (n - ddof)), summed in row order (see _ordered_sum)."""
    squares = (x - _ordered_mean(x)) ** 2
    return (_ordered_sum(squares) / (x.count() - ddof)).sqrt()


@_compile.register
def _(expr: ir.Stat, ctx: Context) -> pl.Expr:
    # a row whose grouping label is missing belongs to no group (the data's own keys are
    # never missing); polars would pool such rows into one group of their own
    labels = [k for k in expr.keys if k not in ctx.keys and k not in ctx.order]
    value = _statistic(expr, ctx)
    if not labels:
        return value
    return pl.when(pl.all_horizontal(pl.col(k).is_not_null() for k in labels)).then(value)


def _statistic(expr: ir.Stat, ctx: Context) -> pl.Expr:
    x = _compile(expr.operand, ctx)
    if isinstance(expr, ir.ColStd):
        return _over(
            pl.when(x.count() > expr.ddof).then(_ordered_std(x, expr.ddof)), expr.keys, ctx.order
        )
    if isinstance(expr, ir.ColQuantile):
        return _over(x.quantile(expr.q, interpolation="linear"), expr.keys)
    if isinstance(expr, ir.ColCumSum):
        order = [_compile(expr.order, ctx), *(pl.col(k) for k in ctx.order)]  # ties in key order
        keys: list[str | pl.Expr] = [*expr.keys] or [pl.lit(0)]
        return x.cum_sum().over(keys, order_by=order)
    if isinstance(expr, ir.ColRank):
        ranked = x.rank(method=expr.ties, descending=expr.descending).cast(pl.Float64)  # type: ignore[arg-type]
        return _over(ranked, expr.keys)
    rule = _AGGREGATES.get(type(expr))
    if rule is None:
        raise CompileError(f"no polars rule for statistic {type(expr).__name__}")
    ordered = isinstance(expr, ir.ColSum | ir.ColMean)
    return _over(rule(x), expr.keys, ctx.order if ordered else ())


@_compile.register
def _(expr: ir.At, ctx: Context) -> pl.Expr:
    fixed = expr.fixed
    cond = functools.reduce(lambda a, b: a & b, [pl.col(k) == v for k, v in fixed])
    rest = [k for k in ctx.keys if k not in dict(fixed)]
    # keys are unique, so at most one row of the partition matches: max() is its value
    picked = pl.when(cond).then(_compile(expr.args[0], ctx)).max()
    return picked.over(rest) if rest else picked


@_compile.register
def _(expr: ir.ClassAtLeast, ctx: Context) -> pl.Expr:
    labels = list(ctx.class_labels)
    return pl.col("class").is_in(labels[: labels.index(expr.label) + 1])


@_compile.register
def _(expr: ir.IsPresent, ctx: Context) -> pl.Expr:
    return _compile(expr.args[0], ctx).is_not_null().cast(pl.Float64)


@_compile.register
def _(expr: ir.FillForward, ctx: Context) -> pl.Expr:
    x = _compile(expr.args[0], ctx)
    return x.forward_fill().over(str(expr.args[1]), order_by=pl.col(str(expr.args[2])))


@_compile.register
def _(expr: ir.FillBackward, ctx: Context) -> pl.Expr:
    x = _compile(expr.args[0], ctx)
    return x.backward_fill().over(str(expr.args[1]), order_by=pl.col(str(expr.args[2])))


@_compile.register
def _(expr: ir.If, ctx: Context) -> pl.Expr:
    cond = _compile(expr.args[0], ctx)
    return (
        pl.when(cond.is_null())
        .then(None)
        .when(cond)
        .then(_compile(expr.args[1], ctx))
        .otherwise(_compile(expr.args[2], ctx))
    )


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
def _(expr: ir.PairSum, ctx: Context) -> pl.Expr:
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
def _(expr: ir.Copeland, ctx: Context) -> pl.Expr:
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


@_compile.register
def _(expr: ir.Round, ctx: Context) -> pl.Expr:
    x = _compile(expr.args[0], ctx)
    digits = int(expr.args[1])
    mode = "half_away_from_zero" if str(expr.args[2]) == "half_up" else "half_to_even"
    return round_decimal(x, digits, mode)


def round_decimal(x: pl.Expr, digits: int, mode: str) -> pl.Expr:
    """Round as a person rounds the printed decimal, not the binary float.

    2.675 is stored as 2.67499999…, so rounding the float gives 2.67 where a publisher
    (and a spreadsheet) prints 2.68. The value is first taken to 12 decimal places as a
    ``Decimal`` (which reads 2.675000000000) and then rounded with the declared rule
    for ties: ``half_away_from_zero`` (half up) or ``half_to_even``. Valid for
    ``|x| < 1e26``.
    """
    # NaN and infinities have no decimal: they stay undefined (the audit reports them)
    exact = pl.when(x.is_finite()).then(x).cast(pl.Decimal(38, 12))
    rounded = exact.round(digits, mode=mode).cast(pl.Float64)  # type: ignore[arg-type]
    return pl.when(x.is_finite()).then(rounded).otherwise(x)
