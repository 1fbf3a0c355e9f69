"""Unevaluated sympy terms, the vocabulary every method template is written in.

sympy evaluates as it builds (``a - a`` is 0, ``x / max(x)`` may be reordered); a template
must keep the formula as written, so that the compiled expression adds and divides in the
documented order and explains itself term by term. Every helper here builds its node with
``evaluate=False``. Numbers from the YAML become exact sympy numbers (:func:`num`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from engine.formula import ir

#: the symbol a normalisation or transform template is written in: the indicator's value
X = sympy.Symbol("x")


def div(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a / b`` as written."""
    return sympy.Mul(a, sympy.Pow(b, sympy.Integer(-1), evaluate=False), evaluate=False)


def sub(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a - b`` as written."""
    return sympy.Add(a, sympy.Mul(sympy.Integer(-1), b, evaluate=False), evaluate=False)


def mul(*args: sympy.Expr) -> sympy.Expr:
    """The product of `args` in their order."""
    return sympy.Mul(*args, evaluate=False)


def add(*args: sympy.Expr) -> sympy.Expr:
    """The sum of `args` in their order."""
    return sympy.Add(*args, evaluate=False)


def power(base: sympy.Expr, exponent: sympy.Expr | int) -> sympy.Expr:
    """``base ** exponent`` as written."""
    return sympy.Pow(base, exponent, evaluate=False)


def num(v: object) -> sympy.Expr:
    """A YAML number as an exact sympy number (0.1 stays 1/10, not 0.1000000000000000055).

    >>> num(0.1)
    1/10
    """
    if isinstance(v, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(v, int):
        return sympy.Integer(v)
    if isinstance(v, float):
        return sympy.Rational(repr(v))
    raise TypeError(f"not a number: {v!r}")


def key_value(v: object) -> sympy.Basic:
    """A key column's value (a period or a unit) as a sympy literal."""
    return sympy.Integer(v) if isinstance(v, int) else ir.Str(str(v))


def clip(expr: sympy.Expr, low: sympy.Expr | None, high: sympy.Expr | None) -> sympy.Expr:
    """`expr` cut to [low, high] (either side may be open)."""
    if high is not None:
        expr = sympy.Min(expr, high, evaluate=False)
    if low is not None:
        expr = sympy.Max(expr, low, evaluate=False)
    return expr


# -- weights ----------------------------------------------------------------------------
#
# Weights are sympy numbers (explicit weights) or expressions of statistics (data-driven
# weights); aggregations divide them by their sum.


def total(weights: Sequence[sympy.Expr]) -> sympy.Expr:
    """The sum of the weights, evaluated when they are all numbers."""
    if all(w.is_Number for w in weights):
        return sum(weights, sympy.Integer(0))
    return sympy.Add(*weights, evaluate=False)


def weighted_sum(terms: Sequence[sympy.Expr], weights: Sequence[sympy.Expr]) -> sympy.Expr:
    """``w_1 t_1 + w_2 t_2 + ...`` in member order (a weight of 1 is left out)."""
    parts = [t if w == 1 else mul(w, t) for t, w in zip(terms, weights)]
    return parts[0] if len(parts) == 1 else sympy.Add(*parts, evaluate=False)


def normalised(weights: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    """Each weight divided by the sum of the weights."""
    whole = total(weights)
    return [w / whole if whole.is_Number else div(w, whole) for w in weights]
