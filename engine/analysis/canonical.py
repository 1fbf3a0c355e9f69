"""The canonical form of a formula: two formulas mean the same when their forms are equal.

Sums and products are flattened and their terms sorted, ``a / b / 2`` equals
``a / (b * 2)``, ``a >= b`` equals ``b <= a`` and ``2.0`` equals ``2``; nothing else is
simplified (``exp(log(x))`` stays as written, since its domain differs from ``x``), and no
unbounded exact evaluation is ever started. Used by the semantic diff
(:mod:`engine.analysis.diff`) to compare formulas structurally.
"""

from __future__ import annotations

import sympy

from engine.formula import ir
from engine.formula.fold import fold_risky_constants

__all__ = ["SMALL_EXPONENT", "canonical", "same"]


def canonical(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with sums, products and powers evaluated (flattened, terms sorted).

    Only ``Add``, ``Mul`` and ``Pow`` are rebuilt with evaluation; functions, statistics
    and conditions keep their structure. Constant parts are first worked out as floats
    where exact evaluation could not be bounded
    (:func:`engine.formula.fold.fold_risky_constants`), and only whole powers up to
    ``SMALL_EXPONENT`` are worked out, so sympy never evaluates a huge exact number;
    whole-number floats become integers.

    >>> a, b = sympy.symbols("a b")
    >>> canonical(sympy.Add(b, a, evaluate=False)) == canonical(sympy.Add(a, b, evaluate=False))
    True
    """
    return _canonical(fold_risky_constants(expr))


#: the largest whole exponent a canonical form works out (x ** 3 ** 2 is x ** 9)
SMALL_EXPONENT = 64


def _canonical(expr: sympy.Basic) -> sympy.Basic:
    if isinstance(expr, sympy.Float) and float(expr).is_integer():
        return sympy.Integer(int(expr))
    if not expr.args or isinstance(expr, (sympy.Symbol, sympy.Number)):
        return expr
    args = [_canonical(a) if isinstance(a, sympy.Basic) else a for a in expr.args]
    if isinstance(expr, (sympy.Add, sympy.Mul, sympy.Pow)):
        if not expr.free_symbols:  # a constant that has no float value: left as written
            return ir.rebuild(expr, args)
        if isinstance(expr, sympy.Pow) and not (
            isinstance(args[1], sympy.Integer) and abs(args[1]) <= SMALL_EXPONENT
        ):
            return ir.rebuild(expr, args)  # (x / 3) ** 1e300 would take forever exactly
        return expr.func(*args)
    if isinstance(expr, (sympy.GreaterThan, sympy.StrictGreaterThan)):  # a >= b is b <= a
        flipped = sympy.LessThan if isinstance(expr, sympy.GreaterThan) else sympy.StrictLessThan
        return flipped(args[1], args[0], evaluate=False)
    return ir.rebuild(expr, args)


def same(a: sympy.Basic | None, b: sympy.Basic | None) -> bool:
    """Structural equality of two expressions in canonical form."""
    if a is None or b is None:
        return a is b
    return bool(a == b or canonical(a) == canonical(b))
