"""sympy IR to polars expressions.

One function per node type, registered with :func:`functools.singledispatch` (the way
sympy's printers have a ``_print_<Class>`` per node and ibis compiles its operations to
polars). A node without a rule is a compile error, never a silent fallback; ``lambdify``
is never used.

This module holds the entry points, :func:`to_polars` and :func:`compile_step`. The
frame of the compiler (:class:`Context`, the dispatcher, the guards that turn undefined
results into missing values) is :mod:`.compile_base`; the rules are registered on its
dispatcher by :mod:`.compile_arithmetic` (numbers, arithmetic, row-wise functions),
:mod:`.compile_logic` (conditions), :mod:`.compile_stats` (statistics across rows) and
:mod:`.compile_pairwise` (pairwise comparisons), all imported here.

Symbols become columns through :class:`Context.columns` (an indicator symbol inside an
aggregation means its normalised column, for instance). Cross-unit statistics become
window expressions ``.over(keys)``, or plain aggregations broadcast to every row when
pooled over all rows, so the whole methodology stays one lazy query.
"""

from __future__ import annotations

import polars as pl
import sympy

# the rules register themselves on the dispatcher when imported
from engine.backends.polars import (  # noqa: F401
    compile_logic,
    compile_pairwise,
    compile_stats,
)
from engine.backends.polars.compile_arithmetic import RoundMode, round_decimal
from engine.backends.polars.compile_base import (
    FALSE,
    GUARD_SIZE,
    SHARED_SIZE,
    Compiled,
    CompileError,
    Context,
    Temps,
    _compile,
    with_changes,
)

__all__ = [
    "GUARD_SIZE",
    "SHARED_SIZE",
    "CompileError",
    "Compiled",
    "Context",
    "RoundMode",
    "Temps",
    "compile_step",
    "round_decimal",
    "to_polars",
]


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


def compile_step(expr: sympy.Basic, ctx: Context, name: str, *, fuse: bool = False) -> Compiled:
    """Compile `expr` for a run, as the column `name`.

    Every operation whose result is not a finite number (a division by zero, the
    logarithm of a value <= 0, an overflow) gives a missing value, and ``undefined``
    is true in the rows where that happened. An operation counts where its result is
    used: inside ``where(c, a, b)`` an undefined value of ``a`` counts only in the rows
    where ``c`` holds; in ``a and b`` an undefined side counts only where the other side
    is not false (``or``: true); in ``at(x, 2010)`` only in the rows of 2010.

    With `fuse`, nested guards are merged where that gives the same value (see
    :func:`~.compile_base._guarded_by_parent`); ``undefined`` is then not the marker
    and must not be used.
    """
    flags: list[pl.Expr] = []
    temps = Temps(f"__t:{name}:")
    value = _compile(
        expr,
        with_changes(ctx, guard=True, undefined=flags, used=None, temps=temps, fuse=fuse, memo={}),
    )
    undefined = pl.any_horizontal(flags).fill_null(FALSE) if flags else None
    return Compiled(tuple(tuple(level) for level in temps.levels), value, undefined)
