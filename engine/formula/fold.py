"""Constant parts of an IR expression worked out with 64-bit floats, never exactly.

sympy evaluates numbers exactly: a rational raised to a huge whole power, or a power
tower such as ``9 ** 9 ** 9 ** 9``, is an integer of astronomical size, and working it
out never finishes. Code that lets sympy evaluate a user's expression (the canonical
form of :mod:`engine.analysis.canonical`, derivatives) first replaces every constant part
by its float value, the value the run computes, so that sympy only ever meets ordinary
floats. A part whose value is not a finite float (``1 / 0``, an overflow) is left as
written; the checker (:mod:`engine.formula.check`) refuses such formulas anyway.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> tower = sympy.Pow(2, sympy.Pow(2, 6, evaluate=False), evaluate=False)
>>> fold_constants(sympy.Mul(x, sympy.Pow(tower, -1, evaluate=False), evaluate=False))
x*5.42101086242752e-20
"""

from __future__ import annotations

import math

import sympy

from engine.formula import ir


def value_of(expr: sympy.Basic) -> float | None:
    """The float value of a constant expression, or None (not constant, or undefined)."""
    try:
        value = _value(expr)
    except (ArithmeticError, ValueError, TypeError):
        return None
    if value is None or isinstance(value, complex) or not math.isfinite(value):
        return None
    return value


def _value(e: sympy.Basic) -> float | None:
    if isinstance(e, sympy.Number):
        return float(e)
    if isinstance(e, sympy.Add | sympy.Mul):
        parts = [_value(a) for a in e.args]
        if any(p is None for p in parts):
            return None
        total = parts[0]
        for p in parts[1:]:
            assert total is not None and p is not None
            total = total + p if isinstance(e, sympy.Add) else total * p
        return total
    if isinstance(e, sympy.Pow):
        base, exp = _value(e.args[0]), _value(e.args[1])
        if base is None or exp is None:
            return None
        if base < 0 and not exp.is_integer():
            return None
        return float(base**exp)
    if isinstance(e, sympy.log | sympy.exp | sympy.Abs):
        a = _value(e.args[0])
        if a is None:
            return None
        if isinstance(e, sympy.log):
            return math.log(a) if a > 0 else None
        return math.exp(a) if isinstance(e, sympy.exp) else abs(a)
    if isinstance(e, sympy.Min | sympy.Max):
        parts = [_value(a) for a in e.args]
        if any(p is None for p in parts):
            return None
        values = [p for p in parts if p is not None]
        return min(values) if isinstance(e, sympy.Min) else max(values)
    return None


def fold_constants(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with every constant part (numbers and arithmetic on them) replaced by its
    float value; nothing else changes and nothing is evaluated exactly."""
    if isinstance(expr, sympy.Number) or not expr.args or isinstance(expr, ir.Str):
        return expr
    if not isinstance(expr, sympy.Tuple) and not expr.free_symbols and not _has_value_nodes(expr):
        value = value_of(expr)
        if value is not None:
            return sympy.Float(value)
    return ir.rebuild(expr, [fold_constants(a) for a in expr.args])


#: a whole exponent up to this size is worked out exactly; any other is folded to a float
SMALL_EXPONENT = 64


def fold_risky_constants(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with only the constant parts that exact evaluation could not bound (a power
    with an exponent that is not a whole number up to ``SMALL_EXPONENT``, a logarithm,
    an exponential) replaced by their float value: ``a / 3`` keeps its exact 1/3."""
    if isinstance(expr, sympy.Number) or not expr.args or isinstance(expr, ir.Str):
        return expr
    if (
        not isinstance(expr, sympy.Tuple)
        and not expr.free_symbols
        and not _has_value_nodes(expr)
        and _risky(expr)
    ):
        value = value_of(expr)
        if value is not None:
            return sympy.Float(value)
    return ir.rebuild(expr, [fold_risky_constants(a) for a in expr.args])


def _risky(expr: sympy.Basic) -> bool:
    if isinstance(expr, sympy.log | sympy.exp):
        return True
    if isinstance(expr, sympy.Pow):
        e = value_of(expr.args[1])
        if e is None or not e.is_integer() or abs(e) > SMALL_EXPONENT:
            return True
    return any(_risky(a) for a in expr.args if isinstance(a, sympy.Basic))


def _has_value_nodes(expr: sympy.Basic) -> bool:
    """Whether `expr` holds a node whose value depends on the data without naming a
    column (a statistic of a constant, at(), class_at_least()...)."""
    if isinstance(expr, ir.Stat | ir.At | ir.ClassAtLeast):
        return True
    return any(_has_value_nodes(a) for a in expr.args if isinstance(a, sympy.Basic))
