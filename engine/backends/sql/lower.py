"""Lay column definitions out as layers of SQL ``SELECT``s (common table expressions).

SQL forbids a window function inside another one's argument, order or partition, and a
column defined in a ``SELECT`` cannot be read by the same ``SELECT``. polars has neither
limit, so the plan's stages are not directly layers of SQL. :func:`layer` takes the
columns to define, in dependency order, and

1. lifts every window node (statistic, ``at``, carried-forward value) nested inside
   another window node into a helper column ``__sql_w<n>`` of its own (the same nested
   node, met twice, is computed once), and the operand of ``round`` into a helper when
   it is not a column (its SQL reads the operand several times);
2. puts each column in the first layer after every column it reads: a layer becomes
   one ``SELECT *, ... FROM <previous layer>``.

Helpers are computed with the context (keys, tolerance) of the column they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from engine.backends.sql.printer import HELPER_PREFIX, Context
from engine.formula import ir

__all__ = ["HELPER_PREFIX", "Definition", "layer"]
#: nodes printed as window functions
WINDOWED = (ir.Stat, ir.At, ir.FillForward)


@dataclass(frozen=True)
class Definition:
    """A column to define: its name, its expression over columns, how to print it."""

    name: str
    expr: sympy.Basic
    ctx: Context
    #: only in these periods (else missing); empty: every period
    periods: tuple[object, ...] = ()
    #: a run's column: undefined results are NULL and marked in a column of their own
    #: (see :func:`engine.backends.sql.printer.to_sql_step`); helpers lifted from it too
    guarded: bool = False
    #: the declared domain (where it does not hold, the value is missing and marked)
    requires: sympy.Basic | None = None


#: the size (sympy nodes) from which a part of a run's step that the SQL reads more than
#: once is computed first, as a helper column: a guard reads its operation's value twice
#: (is it finite? then the value) and the marker once more, so a formula k levels deep
#: would otherwise print its innermost part 3**k times (as polars' temps, see
#: :class:`engine.backends.polars.compile.Temps`)
SHARED_NODES = 6
#: nodes whose SQL reads their arguments more than once
_REREAD: tuple[type, ...] = (
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.log,
    sympy.exp,
    sympy.Max,
    sympy.Min,
    sympy.And,
    sympy.Or,
    sympy.functions.elementary.piecewise.ExprCondPair,
    ir.If,
    ir.WeightedMedian,
)


def _larger(expr: sympy.Basic, limit: int) -> bool:
    """Whether `expr` has more than `limit` nodes."""
    return any(n >= limit for n, _ in enumerate(sympy.preorder_traversal(expr)))


class _Lifter:
    def __init__(self, start: int) -> None:
        self.defs: list[Definition] = []
        self.seen: dict[tuple[sympy.Basic, Context, bool], str] = {}
        self.count = start
        self.guarded = False

    def helper(self, expr: sympy.Basic, ctx: Context) -> sympy.Symbol:
        key = (expr, ctx, self.guarded)
        if key not in self.seen:
            self.count += 1
            name = f"{HELPER_PREFIX}{self.count}"
            self.seen[key] = name
            self.defs.append(Definition(name, expr, ctx, guarded=self.guarded))
        return sympy.Symbol(self.seen[key])

    def lift(self, expr: sympy.Basic, ctx: Context, inside: bool) -> sympy.Basic:
        """`expr` with window nodes nested in window nodes replaced by helper columns."""
        if isinstance(expr, WINDOWED):
            args = [self._arg(a, ctx) for a in expr.args]
            rebuilt = ir.rebuild(expr, args)
            return self.helper(rebuilt, ctx) if inside else rebuilt
        if isinstance(expr, ir.Round) and not isinstance(expr.args[0], sympy.Symbol):
            operand = self.helper(self.lift(expr.args[0], ctx, False), ctx)
            return ir.rebuild(expr, [operand, *expr.args[1:]])
        if not expr.args or isinstance(expr, ir.Str | sympy.Symbol):
            return expr
        args = [self.lift(a, ctx, inside) for a in expr.args]
        if self.guarded and isinstance(expr, _REREAD):
            args = [self._shared(a, ctx) for a in args]
        return ir.rebuild(expr, args)

    def _shared(self, arg: sympy.Basic, ctx: Context) -> sympy.Basic:
        """`arg`, read more than once: a helper column when it is large."""
        if isinstance(arg, sympy.Symbol | ir.Str | sympy.Tuple) or not arg.args:
            return arg
        return self.helper(arg, ctx) if _larger(arg, SHARED_NODES) else arg

    def _arg(self, arg: sympy.Basic, ctx: Context) -> sympy.Basic:
        if isinstance(arg, sympy.Tuple | ir.Str | sympy.Symbol) or not arg.args:
            return arg
        return self.lift(arg, ctx, True)


def layer(
    defs: Sequence[Definition], base: set[str], *, start: int = 0
) -> tuple[list[list[Definition]], int]:
    """The definitions (with helpers) in layers, and the last helper number used.

    `base` names the columns already present; a definition reads base columns and
    the definitions before it. `start` numbers helpers on from an earlier call.
    """
    lifter = _Lifter(start)
    ordered: list[Definition] = []
    for d in defs:
        lifter.guarded = d.guarded
        expr = lifter.lift(d.expr, d.ctx, False)
        # a declared domain is tested plainly (not guarded), as polars does
        lifter.guarded = False
        requires = lifter.lift(d.requires, d.ctx, False) if d.requires is not None else None
        ordered += lifter.defs
        lifter.defs = []
        ordered.append(Definition(d.name, expr, d.ctx, d.periods, d.guarded, requires))
    depth: dict[str, int] = dict.fromkeys(base, 0)
    for d in ordered:
        reads = ir.free_names(d.expr)
        if d.requires is not None:
            reads |= ir.free_names(d.requires)
        depth[d.name] = 1 + max((depth.get(c, 0) for c in reads), default=0)
    layers: dict[int, list[Definition]] = {}
    for d in ordered:
        layers.setdefault(depth[d.name], []).append(d)
    return [layers[k] for k in sorted(layers)], lifter.count
