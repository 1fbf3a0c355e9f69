"""The frame of the polars compiler: the context, the dispatcher, and the guards every rule uses.

:func:`_compile` is a :func:`functools.singledispatch` function: each module of rules
(:mod:`.compile_arithmetic`, :mod:`.compile_logic`, :mod:`.compile_stats`,
:mod:`.compile_pairwise`) registers one function per IR node type on it, and a node
without a rule is a :class:`CompileError`. :func:`_finite` turns an undefined result
(NaN, an infinity) into a missing value and marks where it arose; :class:`Temps` computes
a large operand that a rule reads twice as a column of its own. The entry points are in
:mod:`engine.backends.polars.compile`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl
import sympy

from engine.formula import ir

__all__ = [
    "FALSE",
    "GUARD_SIZE",
    "NULL",
    "SHARED_SIZE",
    "TRUE",
    "ZERO",
    "CompileError",
    "Compiled",
    "Context",
    "Temps",
    "keys_of",
    "with_changes",
]

#: the literals the rules use most, built once (building a literal is a good part of
#: compiling a large methodology): the missing value (``when(c).then(x)`` ends in it),
#: the booleans a missing condition is read as, and the zero of ``x * 0`` (each the
#: expression polars builds from the Python value)
NULL = pl.lit(None)
FALSE = pl.lit(False)
TRUE = pl.lit(True)
ZERO = pl.lit(0.0)


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
    #: key columns known to hold integers (the data's types): at() compares them with a
    #: number instead of as text (see :func:`~.compile_stats.at_condition`)
    integer_keys: frozenset[str] = frozenset()
    #: guards may be merged (see :func:`_guarded_by_parent`): for a step whose undefined
    #: marker the query leaves out, where only its value matters
    fuse: bool = False
    #: the node being compiled whose result its parent guards (see _guarded_by_parent)
    deferred: sympy.Basic | None = field(default=None, compare=False, repr=False)
    #: nodes of the step being compiled whose compiling adds no mark and no column (the
    #: max or min of a column), compiled once however often the step reads them (a
    #: min-max scaling reads its column's min three times); None: not kept
    memo: dict[sympy.Basic, pl.Expr] | None = field(default=None, compare=False, repr=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit,) + ((self.period,) if self.period else ()) + self.detail


def with_changes(ctx: Context, **changes: object) -> Context:
    """`ctx` with some fields changed: :func:`dataclasses.replace` without its checks
    and ``__init__`` (a context is copied for most nodes compiled; the fields changed
    here have no defaults computed from others)."""
    new = object.__new__(Context)
    new.__dict__.update(ctx.__dict__)
    new.__dict__.update(changes)
    return new


def keys_of(expr: sympy.Basic) -> tuple[str, ...]:
    """The key columns of a statistic or a pairwise node (a Tuple of Symbols), as
    :attr:`engine.formula.ir.Stat.keys` names them, read from the symbols' names rather
    than printed (printing a symbol is a good part of compiling a large methodology)."""
    got = _KEYS.get(expr)
    if got is None:
        tup = expr.args[2] if isinstance(expr, ir.PAIRWISE) else expr.args[1]
        got = tuple(k.name if isinstance(k, sympy.Symbol) else str(k) for k in tup)
        if len(_KEYS) >= 4096:
            _KEYS.clear()
        _KEYS[expr] = got
    return got


#: keys_of by node (a statistic is asked for its keys several times as it compiles)
_KEYS: dict[sympy.Basic, tuple[str, ...]] = {}


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


@dataclass(frozen=True)
class Compiled:
    """An expression compiled for a run: the columns to compute first (by level), the
    value, and where an operation had an undefined result (None: nowhere possible)."""

    temps: tuple[tuple[pl.Expr, ...], ...]
    value: pl.Expr
    undefined: pl.Expr | None


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
    return pl.when(finite).then(raw).otherwise(NULL)


def _guarded_by_parent(child: sympy.Basic, ctx: Context) -> Context:
    """The context of `child`, an operand whose parent's result is guarded (or is such an
    operand itself) and which carries a value that is not finite into that result: a
    term of a sum, a factor or the numerator of a product. With ``Context.fuse`` the
    child's own guard is left to the parent: a value that is not finite there makes the
    parent's result not finite (inf - inf, inf * 0 and inf / x are NaN or infinite), so
    the parent's guard gives the missing value the child's guard would have given, and a
    missing operand gives a missing result either way. Only the value is the same: the
    marker of where an undefined value arose is not (a missing other operand hides it),
    so this is only for steps whose marker the audit computes from the unmerged guards
    (:mod:`engine.backends.polars.markers`)."""
    return with_changes(ctx, deferred=child) if ctx.fuse else ctx


def _parents_guard(raw: pl.Expr, expr: sympy.Basic, ctx: Context) -> pl.Expr:
    """`raw`, the result of `expr`, guarded (:func:`_finite`) unless its parent guards it
    (:func:`_guarded_by_parent`)."""
    return raw if ctx.deferred is expr else _finite(raw, ctx)


def _compile_used(expr: sympy.Basic, ctx: Context, rows: pl.Expr | None) -> pl.Expr:
    """Compile a part of an expression whose undefined results matter only in `rows`
    (None: in every row): its marks are gathered and limited to `rows` once."""
    if ctx.undefined is None or rows is None:
        return _compile(expr, ctx)
    marks: list[pl.Expr] = []
    value = _compile(expr, with_changes(ctx, undefined=marks, used=None))
    if marks:
        used = rows if ctx.used is None else ctx.used & rows
        ctx.undefined.append(pl.any_horizontal(marks).fill_null(FALSE) & used)
    return value


@functools.singledispatch
def _compile(expr: sympy.Basic, ctx: Context) -> pl.Expr:
    raise CompileError(f"no polars rule for {type(expr).__name__}: {expr}")
