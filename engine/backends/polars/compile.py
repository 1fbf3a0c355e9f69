"""sympy IR to polars expressions.

One function per node type, registered with :func:`functools.singledispatch` (the way
sympy's printers have a ``_print_<Class>`` per node and ibis compiles its operations to
polars). A node without a rule is a compile error, never a silent fallback; ``lambdify``
is never used.

This module holds the frame of the compiler (:class:`Context`, the entry points
:func:`to_polars` and :func:`compile_step`, the guards that turn undefined results into
missing values, the dispatcher) and the rules of numbers, arithmetic and row-wise
functions. The rules of conditions (:mod:`.compile_logic`), of statistics across rows
(:mod:`.compile_stats`) and of pairwise comparisons (:mod:`.compile_pairwise`) register
themselves on the same dispatcher.

Symbols become columns through :class:`Context.columns` (an indicator symbol inside an
aggregation means its normalised column, for instance). Cross-unit statistics become
window expressions ``.over(keys)``, or plain aggregations broadcast to every row when
pooled over all rows, so the whole methodology stays one lazy query.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import sympy

from engine.formula import ir
from engine.formula.rounding import PLACES, round_limit, round_places
from engine.formula.types import Varies, shape_of


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
    #: undefined results (NaN, infinities) become missing values where they arise (see
    #: :func:`compile_step`); off for the plain :func:`to_polars`
    guard: bool = False
    #: where undefined results are marked (see :func:`compile_step`); None: not
    undefined: list[pl.Expr] | None = field(default=None, compare=False, repr=False)
    #: the rows on which the expression being compiled is used (inside a branch of
    #: where(), the rows where its condition selects it); None: every row
    used: pl.Expr | None = field(default=None, compare=False, repr=False)
    #: where large parts used twice are computed first, as columns (see :class:`Temps`)
    temps: Temps | None = field(default=None, compare=False, repr=False)
    #: statistics and at() computed beforehand (a streamed run's earlier passes): read as
    #: the named column (see :mod:`engine.backends.polars.stream`)
    hoisted: Mapping[sympy.Basic, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit,) + ((self.period,) if self.period else ()) + self.detail


class CompileError(Exception):
    """An IR node the compiler has no rule for: an engine bug, not a user error."""


#: the size (characters of its printed tree) from which an expression used twice is
#: computed first as a column of its own
SHARED_SIZE = 1000
GUARD_SIZE = 200


@dataclass
class Temps:
    """Columns computed before a step: large parts of its expression that a rule uses
    more than once (a guard reads its operand twice: is it finite? then its value).

    polars expands an expression into a tree before running it, so an operand read twice
    at each of k nested levels is computed 2**k times, and a formula a few dozen levels
    deep would never finish planning. An operand above ``SHARED_SIZE`` is bound to a
    column instead (``__t:<step>:<n>``), computed in an earlier ``with_columns``: its
    `level` is one more than that of the columns it reads.
    """

    prefix: str
    levels: list[list[pl.Expr]] = field(default_factory=list)
    level_of: dict[str, int] = field(default_factory=dict)

    def bind(self, expr: pl.Expr) -> pl.Expr:
        reads = [self.level_of.get(c, 0) for c in expr.meta.root_names()]
        level = 1 + max(reads, default=0)
        name = f"{self.prefix}{len(self.level_of) + 1}"
        self.level_of[name] = level
        while len(self.levels) < level:
            self.levels.append([])
        self.levels[level - 1].append(expr.alias(name))
        return pl.col(name)


def _shared(expr: pl.Expr, ctx: Context, size: int = SHARED_SIZE) -> pl.Expr:
    """`expr`, to be read more than once: a column of its own when it is large."""
    if ctx.temps is None or len(str(expr)) <= size or not expr.meta.root_names():
        return expr
    return ctx.temps.bind(expr)


def to_polars(expr: sympy.Basic, ctx: Context) -> pl.Expr:
    """Compile a sympy expression to a polars expression, as it is: IEEE arithmetic, a
    division by zero is an infinity (for reports and explanations of values already
    computed; a run compiles with :func:`compile_step`, where it is missing).

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> df = pl.DataFrame({"x": [1.0, 1.0], "y": [4.0, 0.0]})
    >>> df.select(to_polars(x / y, Context({}, "unit", "year")))["x"].to_list()
    [0.25, inf]
    >>> step = compile_step(x / y, Context({}, "unit", "year"), "r")
    >>> df.select(step.value, step.undefined.alias("undefined")).rows()
    [(0.25, False), (None, True)]
    """
    return _compile(expr, ctx)


@dataclass(frozen=True)
class Compiled:
    """An expression compiled for a run: the columns to compute first (by level), the
    value, and where an operation had an undefined result (None: nowhere possible)."""

    temps: tuple[tuple[pl.Expr, ...], ...]
    value: pl.Expr
    undefined: pl.Expr | None


def compile_step(expr: sympy.Basic, ctx: Context, name: str) -> Compiled:
    """Compile `expr` for a run, as the column `name`.

    Every operation whose result is not a finite number (a division by zero, the
    logarithm of a value <= 0, an overflow) gives a missing value, and ``undefined``
    is true in the rows where that happened. An operation counts where its result is
    used: inside ``where(c, a, b)`` an undefined value of ``a`` counts only in the rows
    where ``c`` holds; in ``a and b`` an undefined side counts only where the other side
    is not false (``or``: true); in ``at(x, 2010)`` only in the rows of 2010.
    """
    flags: list[pl.Expr] = []
    temps = Temps(f"__t:{name}:")
    value = _compile(
        expr, dataclasses.replace(ctx, guard=True, undefined=flags, used=None, temps=temps)
    )
    undefined = pl.any_horizontal(flags).fill_null(False) if flags else None
    return Compiled(tuple(tuple(level) for level in temps.levels), value, undefined)


def _finite(raw: pl.Expr, ctx: Context) -> pl.Expr:
    """`raw` where it is a finite number, else missing; the rows where it was not are
    marked when the context collects undefined results."""
    if not ctx.guard:
        return raw
    raw = _shared(raw, ctx, GUARD_SIZE)
    finite = raw.is_finite()
    if ctx.undefined is not None:
        flag = finite.not_()
        ctx.undefined.append(flag if ctx.used is None else flag & ctx.used)
    return pl.when(finite).then(raw)


def _compile_used(expr: sympy.Basic, ctx: Context, rows: pl.Expr | None) -> pl.Expr:
    """Compile a part of an expression whose undefined results matter only in `rows`
    (None: in every row): its marks are gathered and limited to `rows` once."""
    if ctx.undefined is None or rows is None:
        return _compile(expr, ctx)
    marks: list[pl.Expr] = []
    value = _compile(expr, dataclasses.replace(ctx, undefined=marks, used=None))
    if marks:
        used = rows if ctx.used is None else ctx.used & rows
        ctx.undefined.append(pl.any_horizontal(marks).fill_null(False) & used)
    return value


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
    return _finite(functools.reduce(lambda a, b: a + b, terms), ctx)


def _divide(num: pl.Expr, den: sympy.Basic, ctx: Context) -> pl.Expr:
    """``num / den`` with IEEE division in every row.

    polars divides by a scalar (a constant, a statistic over a single group, or over all
    rows) by multiplying with its reciprocal, which is not correctly rounded: 237 / 237
    can come out as 0.9999999999999999 and the leader would not score exactly 100, and
    ``log10(1e100)`` (``log(x) / log(10)``) 99.99999999999999, not a whole number. Adding
    ``num * 0`` turns such a denominator into a full column, so every row gets a true
    division (for finite numbers; missing stays missing). It is only needed when the
    denominator can be a scalar: a constant, pooled, or the data has a single period
    (``Context.single_group``).
    """
    d = _compile(den, ctx)
    scalar = ctx.single_group or _pooled(den) or shape_of(den).varies is Varies.CONSTANT
    if not _reads_rows(den, ctx.unit) and scalar:
        num = _shared(num, ctx)
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
    return _finite(out, ctx)


@_compile.register
def _(expr: sympy.Pow, ctx: Context) -> pl.Expr:
    base, exp = expr.args
    if exp == sympy.Integer(-1):
        return _finite(pl.lit(1.0) / _compile(base, ctx), ctx)
    if exp == sympy.Rational(1, 2):
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
    return pl.when(pl.any_horizontal([a.is_null() for a in args])).then(None).otherwise(value)


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


# the rules of conditions, of statistics across rows and of pairwise comparisons register
# themselves on _compile when imported (modules of their own, one concept each)
from engine.backends.polars import (  # noqa: E402, F401
    compile_logic,
    compile_pairwise,
    compile_stats,
)
