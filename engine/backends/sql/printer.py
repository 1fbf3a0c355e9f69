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

import dataclasses
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sympy
from sqlglot import exp

from engine.backends.sql.dialects import (
    IeeeDiv,
    IsFinite,
    NaturalLog,
    SafeExp,
    SafePow,
    SafeSqrt,
)
from engine.backends.sql.functions import (
    BIGINT,
    DOUBLE,
    CompileError,
    column,
    key_literal,
    literal,
    missing_if_any,
    ordered,
    paren,
    round_decimal,
    window,
)
from engine.backends.sql.functions import (
    paren as _paren,
)
from engine.formula import ir
from engine.formula.types import Kind, kind_of
from engine.formula.types import is_condition as _is_condition

__all__ = [
    "BIGINT",
    "DOUBLE",
    "HELPER_PREFIX",
    "MARKER_PREFIX",
    "CompileError",
    "Context",
    "Printed",
    "column",
    "condition_columns",
    "has_rule",
    "key_literal",
    "literal",
    "marker",
    "ordered",
    "paren",
    "to_sql",
    "to_sql_step",
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
    #: a run's steps: an undefined result (NaN, an infinity) becomes NULL where it
    #: arises, as in polars (see :func:`to_sql_step`); off for the audit's tests, which
    #: look at the plain IEEE values
    guard: bool = False
    #: where undefined results are marked: conditions gathered while printing; None: not
    marks: list[exp.Expr] | None = field(default=None, compare=False, repr=False)

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


@dataclass(frozen=True)
class Printed:
    """A step's SQL: its value, and where an operation had an undefined result (None:
    nowhere possible)."""

    value: exp.Expr
    undefined: exp.Expr | None


def to_sql_step(expr: sympy.Basic, ctx: Context) -> Printed:
    """The SQL of a run's step, as :func:`engine.backends.polars.compile.compile_step`:
    every operation whose result is not a finite number is NULL, and ``undefined`` holds
    in the rows where that happened, counting an operation only where its result is used
    (a branch of ``where`` where it is taken, a side of ``and``/``or`` where the other
    does not decide, the operand of ``at`` in the row it picks). A helper column lifted
    out of the step (:mod:`.lower`) brings its own marker column (:func:`marker`).

    >>> import sympy
    >>> from engine.backends.sql.dialects import dialect
    >>> x, y = sympy.symbols("x y")
    >>> step = to_sql_step(x / y, Context("unit", "year"))
    >>> dialect("duckdb").sql(step.value, pretty=False)
    'CASE WHEN ISFINITE("x" / "y") THEN "x" / "y" END'
    >>> dialect("duckdb").sql(step.undefined, pretty=False)
    'COALESCE((NOT ISFINITE("x" / "y")), FALSE)'
    """
    marks: list[exp.Expr] = []
    value = _print(expr, dataclasses.replace(ctx, guard=True, marks=marks))
    return Printed(value, any_true(marks) if marks else None)


def marker(name: str) -> str:
    """The column marking where the column `name` had an undefined result."""
    return f"{MARKER_PREFIX}{name}"


#: marker columns (see :func:`marker`)
MARKER_PREFIX = "__sql_undefined:"
#: helper columns lifted out of a step (:mod:`.lower`); their markers count for the step
HELPER_PREFIX = "__sql_w"


def any_true(marks: list[exp.Expr]) -> exp.Expr:
    """Whether any mark holds (never NULL)."""
    return exp.Coalesce(
        this=functools.reduce(exp.or_, [paren(m) for m in marks]), expressions=[exp.false()]
    )


def _finite(raw: exp.Expr, ctx: Context) -> exp.Expr:
    """`raw` where it is a finite number, else NULL; the rows where it was not are marked
    (as polars' ``_finite``)."""
    if not ctx.guard:
        return raw
    finite = IsFinite(this=raw.copy())
    if ctx.marks is not None:
        ctx.marks.append(exp.not_(finite.copy()))
    return exp.Case(ifs=[exp.If(this=finite, true=raw)])


def _used(expr: sympy.Basic, ctx: Context, rows: exp.Expr | None) -> exp.Expr:
    """Print a part whose undefined results count only in `rows` (never NULL; None: in
    every row): its marks are gathered and limited to `rows` once."""
    if ctx.marks is None or rows is None:
        return _print(expr, ctx)
    inner: list[exp.Expr] = []
    value = _print(expr, dataclasses.replace(ctx, marks=inner))
    if inner:
        ctx.marks.append(exp.and_(any_true(inner), paren(rows)))
    return value


def _holds(cond: exp.Expr, otherwise: bool) -> exp.Expr:
    """`cond`, with NULL read as `otherwise` (polars' ``fill_null``)."""
    return exp.Coalesce(this=paren(cond.copy()), expressions=[exp.Boolean(this=otherwise)])


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
    if ctx.marks is not None and expr.name.startswith(HELPER_PREFIX):
        # a part of this step computed first: its undefined results count here
        ctx.marks.append(column(marker(expr.name)))
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


@_print.register
def _(expr: ir.Label, ctx: Context) -> exp.Expr:
    return column(expr.name)


@_print.register
def _(expr: ir.Str, ctx: Context) -> exp.Expr:
    return exp.Literal.string(expr.name)


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
    total = functools.reduce(lambda a, b: exp.Add(this=_paren(a), expression=_paren(b)), terms)
    return _finite(total, ctx)


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
    return _finite(out, ctx)


@_print.register
def _(expr: sympy.Pow, ctx: Context) -> exp.Expr:
    base, power = expr.args
    if power == sympy.Integer(-1):
        return _finite(IeeeDiv(this=literal(1.0), expression=_paren(_print(base, ctx))), ctx)
    if power == sympy.Rational(1, 2):
        return _finite(SafeSqrt(this=_print(base, ctx)), ctx)
    left = _print(base, ctx)
    right = literal(float(power)) if power.is_Number else _print(power, ctx)
    return _finite(SafePow(this=left, expression=right), ctx)


@_print.register
def _(expr: sympy.log, ctx: Context) -> exp.Expr:
    arg = expr.args[0]
    if arg.is_Number and arg > 0:  # a constant such as log(10) in log10(x) = log(x) / log(10)
        return literal(float(sympy.log(arg).evalf()))
    return _finite(NaturalLog(this=_print(arg, ctx)), ctx)


@_print.register
def _(expr: sympy.exp, ctx: Context) -> exp.Expr:
    return _finite(SafeExp(this=_print(expr.args[0], ctx)), ctx)


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
    # a branch's undefined values count only in the rows that take it (as polars)
    ifs: list[exp.If] = []
    default: exp.Expr = exp.Null()
    before: exp.Expr | None = None  # rows that no earlier condition took (None: every row)
    for value, cond in expr.args:
        if cond == sympy.true:
            default = _used(value, ctx, before if before is not None else exp.true())
            break
        c = _used(cond, ctx, before)
        taken = _holds(c, False) if before is None else exp.and_(before, _holds(c, False))
        ifs += _when(c, _used(value, ctx, taken))
        declined = exp.not_(_holds(c, True))
        before = declined if before is None else exp.and_(before, declined)
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
    a, b = _paren(_print(expr.lhs, ctx)), _paren(_print(expr.rhs, ctx))
    if kind_of(expr.lhs) is Kind.TEXT:  # texts are equal or not: no tolerance
        eq = exp.EQ(this=a, expression=b)
        return eq if isinstance(expr, sympy.Equality) else exp.not_(exp.Paren(this=eq))
    return rule(a, b, ctx)


def _connective(args: tuple[sympy.Basic, ...], ctx: Context, decisive: bool) -> list[exp.Expr]:
    """The operands of ``and`` (`decisive` False: one false side decides) or ``or``
    (True). A side's undefined values count only where no other side decides (polars'
    ``_connective``)."""
    if ctx.marks is None:
        return [_paren(_print(a, ctx)) for a in args]
    values, marks = [], []
    for a in args:
        own: list[exp.Expr] = []
        values.append(_paren(_print(a, dataclasses.replace(ctx, marks=own))))
        marks.append(own)
    for i, own in enumerate(marks):
        if not own:
            continue
        # the other side is not `decisive` (NULL: undecided)
        undecided = [
            _holds(v if not decisive else exp.not_(v.copy()), True)
            for j, v in enumerate(values)
            if j != i
        ]
        used = functools.reduce(exp.and_, undecided) if undecided else exp.true()
        ctx.marks.append(exp.and_(any_true(own), used))
    return values


@_print.register
def _(expr: sympy.And, ctx: Context) -> exp.Expr:
    return exp.Paren(this=exp.and_(*_connective(expr.args, ctx, decisive=False)))


@_print.register
def _(expr: sympy.Or, ctx: Context) -> exp.Expr:
    return exp.Paren(this=exp.or_(*_connective(expr.args, ctx, decisive=True)))


@_print.register
def _(expr: sympy.Not, ctx: Context) -> exp.Expr:
    return exp.not_(_paren(_print(expr.args[0], ctx)))


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
def _(expr: ir.If, ctx: Context) -> exp.Expr:
    # a branch's undefined values count only in the rows that take it
    cond = _print(expr.args[0], ctx)
    then = _used(expr.args[1], ctx, _holds(cond, False))
    other = _used(expr.args[2], ctx, exp.not_(_holds(cond, True)))
    return exp.Case(ifs=_when(cond, then), default=other)


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
def _(expr: ir.Round, ctx: Context) -> exp.Expr:
    digits = int(expr.args[1])
    return round_decimal(_print(expr.args[0], ctx), digits, str(expr.args[2]))


# the rules of statistics across units (window functions) register themselves on _print
from engine.backends.sql import windows  # noqa: E402, F401
