"""COINr's default treatment as column steps: winsorise while skewed, else take the log.

Each winsorisation step is one column that reads the previous one; the last step chooses
between the winsorised values and the log of the original. All statistics are taken over
the rows sharing `keys` (the period). This is the IR implementation of the
``winsorise_log`` declaration in :mod:`engine.methods.treat`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from engine.formula import ir
from engine.methods.terms import div as _div
from engine.methods.terms import mul as _mul
from engine.methods.terms import num as _num
from engine.methods.terms import sub as _sub
from engine.methods.treat_second import second_step

__all__ = ["treatment_steps"]


def _moment_steps(
    x: sympy.Expr, keys: tuple[str, ...], name: str
) -> tuple[list[tuple[str, sympy.Expr]], sympy.Symbol, sympy.Symbol, sympy.Symbol]:
    """Columns holding n, the sample skewness and the excess kurtosis of `x` over the rows
    sharing `keys` (e1071 type 2), named `name` + ".n", ".skew", ".kurt"; and their symbols.

    Each statistic is computed once, as its own column, and read by the step after it
    (inline, every condition would repeat them: about 150 window expressions per step
    instead of 6). With fewer than 4 values, or no spread, skewness and kurtosis are 0:
    the indicator passes (its moments are undefined).
    """
    n, sk, ku = (sympy.Symbol(f"{name}.{s}") for s in ("n", "skew", "kurt"))
    m = {k: sympy.Symbol(f"{name}.m{k}") for k in (2, 3, 4)}
    d = _sub(x, ir.stat(ir.ColMean, x, keys))
    steps: list[tuple[str, sympy.Expr]] = [(n.name, ir.stat(ir.ColCount, x, keys))]
    steps += [
        (m[k].name, ir.stat(ir.ColSum, sympy.Pow(d, k, evaluate=False), keys)) for k in (2, 3, 4)
    ]
    one, two, three = sympy.Integer(1), sympy.Integer(2), sympy.Integer(3)
    skew = _mul(
        _div(
            _mul(sympy.Pow(n, sympy.Rational(1, 2), evaluate=False), m[3]),
            sympy.Pow(m[2], sympy.Rational(3, 2), evaluate=False),
        ),
        _div(sympy.Pow(_mul(n, _sub(n, one)), sympy.Rational(1, 2), evaluate=False), _sub(n, two)),
    )
    r = _div(_mul(n, m[4]), sympy.Pow(m[2], 2, evaluate=False))
    kurt = _div(
        _mul(
            sympy.Add(
                _mul(sympy.Add(n, one, evaluate=False), _sub(r, three)),
                sympy.Integer(6),
                evaluate=False,
            ),
            _sub(n, one),
        ),
        _mul(_sub(n, two), _sub(n, three)),
    )
    defined = sympy.And(
        sympy.GreaterThan(n, 4, evaluate=False),
        sympy.StrictGreaterThan(m[2], 0, evaluate=False),
        evaluate=False,
    )
    zero = sympy.Integer(0)
    steps += [
        (sk.name, ir.If(defined, skew, zero, evaluate=False)),
        (ku.name, ir.If(defined, kurt, zero, evaluate=False)),
    ]
    return steps, n, sk, ku


def treatment_steps(
    column: str, keys: tuple[str, ...], prefix: str, params: Mapping[str, Any]
) -> list[tuple[str, sympy.Expr]]:
    """COINr's default treatment of `column` as column steps: (name, expression) in order,
    named `prefix` + ".w1", ... and `prefix` + ".treated", each preceded by the columns
    of its statistics (`prefix` + ".w1.n", ".w1.skew", ... see :func:`_moment_steps`).

    `params` are ``skew``, ``kurtosis`` and ``max_points``, and optionally ``force``
    (COINr's force_win), ``then`` (the second step, :mod:`engine.methods.treat_second`;
    default ``log_ct``) and ``combine`` (the second step on the winsorised values). Units
    of a period with fewer than 4 values are left untreated (skewness and kurtosis need
    n >= 4).
    """
    skew_max, kurt_max = _num(params["skew"]), _num(params["kurtosis"])
    original = sympy.Symbol(column)
    steps: list[tuple[str, sympy.Expr]] = []

    def failing(x: sympy.Expr, name: str) -> tuple[sympy.Symbol, list[sympy.Basic]]:
        moments, n, skew, kurt = _moment_steps(x, keys, name)
        steps.extend(moments)
        return skew, [
            sympy.GreaterThan(n, 4, evaluate=False),
            sympy.GreaterThan(sympy.Abs(skew, evaluate=False), skew_max, evaluate=False),
            sympy.GreaterThan(kurt, kurt_max, evaluate=False),
        ]

    current: sympy.Expr = original
    limit = int(params["max_points"])
    # COINr's force_win: an indicator failing at first is winsorised up to max_points
    initially = failing(original, prefix + ".w0")[1] if params.get("force") else None
    for k in range(limit):  # each step changes at least one point
        name = f"{prefix}.w{k + 1}"
        skew, fails = failing(current, name)
        if initially is not None:
            fails = initially
        hi, lo = sympy.Symbol(name + ".hi"), sympy.Symbol(name + ".lo")
        changed = sympy.Symbol(name + ".changed")
        steps += [
            (hi.name, ir.stat(ir.ColMax, current, keys)),
            (lo.name, ir.stat(ir.ColMin, current, keys)),
            # COINr counts winsorised points (tied extremes each count), not steps
            (
                changed.name,
                ir.stat(
                    ir.ColSum,
                    ir.If(
                        sympy.Ne(current, original, evaluate=False),
                        sympy.Integer(1),
                        sympy.Integer(0),
                        evaluate=False,
                    ),
                    keys,
                ),
            ),
        ]
        next_hi = ir.stat(
            ir.ColMax,
            sympy.Piecewise((current, sympy.StrictLessThan(current, hi)), evaluate=False),
            keys,
        )
        next_lo = ir.stat(
            ir.ColMin,
            sympy.Piecewise((current, sympy.StrictGreaterThan(current, lo)), evaluate=False),
            keys,
        )
        room = sympy.StrictLessThan(changed, limit, evaluate=False)
        # conditions built flat: sympy would evaluate a nested And or a Not of a relation
        winsorised = ir.If(
            sympy.And(
                *fails,
                room,
                sympy.GreaterThan(skew, 0, evaluate=False),
                sympy.Eq(current, hi, evaluate=False),
                evaluate=False,
            ),
            next_hi,
            ir.If(
                sympy.And(
                    *fails,
                    room,
                    sympy.StrictLessThan(skew, 0, evaluate=False),
                    sympy.Eq(current, lo, evaluate=False),
                    evaluate=False,
                ),
                next_lo,
                current,
                evaluate=False,
            ),
            evaluate=False,
        )
        steps.append((name, winsorised))
        current = sympy.Symbol(name)
    # if it still fails, the second step (COINr's f2) of the original values, or of the
    # winsorised ones with combine (COINr's combine_treat)
    source = current if params.get("combine") else original
    then = second_step(str(params.get("then", "log_ct")), source, keys, params)
    if then is None:
        steps.append((prefix + ".treated", current))
        return steps
    _, fails = failing(current, prefix + ".final")
    condition = sympy.And(*fails, evaluate=False)
    steps.append((prefix + ".treated", ir.If(condition, then, current, evaluate=False)))
    return steps
