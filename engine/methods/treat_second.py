"""The second step of COINr's treatment: what replaces the values when winsorising is not
enough (COINr's ``f2``).

``Treat()`` first winsorises (``f1``); if the indicator still fails the skewness and kurtosis
test, ``f2`` is applied to the original values (or, with ``combine``, to the winsorised
ones): COINr's ``log_CT`` (the default), ``log_CT_plus`` or ``boxcox`` with its default
shift, or nothing (winsorisation alone). Statistics are over the rows sharing `keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from engine.formula import ir
from engine.methods.terms import add, div, mul, num, power, sub

__all__ = ["SECOND_STEPS", "second_step"]

#: the second steps, by the name a treatment passes as its ``then``
SECOND_STEPS = ("log_ct", "log_ct_plus", "box_cox", "none")


def second_step(
    kind: str, x: sympy.Expr, keys: tuple[str, ...], params: Mapping[str, Any]
) -> sympy.Expr | None:
    """The second step's value of `x` (None: there is none, the winsorised values stay)."""
    lo, hi = ir.stat(ir.ColMin, x, keys), ir.stat(ir.ColMax, x, keys)
    margin = mul(sympy.Rational(1, 100), sub(hi, lo))
    if kind == "log_ct":  # COINr log_CT: ln(x - min + 0.01 (max - min))
        return sympy.log(add(sub(x, lo), margin), evaluate=False)
    if kind == "log_ct_plus":
        # COINr log_CT_plus: log_CT when skewed to the right, else -ln(max + a - x); the sign
        # of the skewness is that of the sum of cubed deviations
        deviation = sub(x, ir.stat(ir.ColMean, x, keys))
        right = sympy.StrictGreaterThan(
            ir.stat(ir.ColSum, power(deviation, 3), keys), 0, evaluate=False
        )
        left = mul(sympy.Integer(-1), sympy.log(sub(add(hi, margin), x), evaluate=False))
        return ir.If(
            right, sympy.log(add(sub(x, lo), margin), evaluate=False), left, evaluate=False
        )
    if kind == "box_cox":  # COINr boxcox(makepos = TRUE): shift to x - min + 1, then Box-Cox
        shifted = add(sub(x, lo), sympy.Integer(1))
        lam = num(params["lambda"])
        if lam == 0:
            return sympy.log(shifted, evaluate=False)
        return div(sub(power(shifted, lam), sympy.Integer(1)), lam)
    if kind == "none":
        return None
    raise ValueError(f"unknown second treatment step {kind!r}")
