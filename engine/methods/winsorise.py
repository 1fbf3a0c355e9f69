"""COINr's Treat() as plan steps: bounds estimated per group by a procedure, then a clip.

COINr winsorises an indicator step by step while it fails the skewness and kurtosis test:
each step replaces the values at the current maximum (skew >= 0) or minimum by the next
value in, until the test passes or ``max_points`` points have changed; if it still fails,
a second step (a log, by default) replaces the values. Whatever the path, the winsorised
values of a group (an indicator in one period) are the original values *clipped* to two
bounds, ``clip(x, lower, upper)``, both values of the data: ``upper`` is where the last
step from the top stopped (the maximum when none was taken), ``lower`` likewise. So the
treatment is three numbers per group — the two bounds and whether the second step
applies — and a row-wise expression:

    X.treat.lower, X.treat.upper, X.treat.second   procedure steps (one value per group)
    X.treated = where(X.treat.second == 1, <second step of X>, clip(X, lower, upper))

The three numbers come from the iteration itself, run for every indicator and group at
once over the sorted values (:mod:`engine.backends.polars.winsorise`): a backend
procedure (:class:`engine.formula.ir.Procedure`), which only the backends that implement
it run. The second step is ordinary IR over the group's statistics, as before.

Statistics are over the rows sharing `keys` (the period). Units of a group with fewer than
4 values are left as they are (skewness and kurtosis need n >= 4).

The steps of one set of parameters are built once, over placeholder names, and renamed
to each indicator's columns (:func:`engine.formula.ir.rename` clones the nodes instead
of constructing them anew; a methodology treats dozens of indicators alike).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import sympy

from engine.formula import ir
from engine.methods.terms import clip
from engine.methods.treat_second import second_step

__all__ = ["PROCEDURE", "estimation_parameters", "treatment_steps"]

#: the procedure's name in the IR (and in the backends' tables of procedures)
PROCEDURE = "winsorise"


def estimation_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """What the estimation of the bounds depends on (not the second step's own parameters):
    ``skew``, ``kurtosis``, ``max_points``, ``force`` and whether a second step follows."""
    return {
        "skew": float(params["skew"]),
        "kurtosis": float(params["kurtosis"]),
        "max_points": int(params["max_points"]),
        "force": bool(params.get("force", False)),
        "second": str(params.get("then", "log_ct")) != "none",
    }


def treatment_steps(
    column: str, keys: tuple[str, ...], prefix: str, params: Mapping[str, Any]
) -> list[tuple[str, sympy.Expr]]:
    """COINr's treatment of `column` as column steps, (name, expression) in order: the
    procedure steps ``prefix.treat.lower``, ``.upper`` and (with a second step)
    ``.second``, then ``prefix.treated``.

    `params` are ``skew``, ``kurtosis`` and ``max_points``, and optionally ``force``
    (COINr's force_win: an indicator failing at first is winsorised until max_points
    points have changed), ``then`` (the second step, :mod:`engine.methods.treat_second`;
    default ``log_ct``) and ``combine`` (the second step on the winsorised values, COINr's
    combine_treat).
    """
    # the type with each value: 2 and 2.0 (or 1 and True) are one key to a dict
    typed = tuple(sorted((k, type(v).__name__, v) for k, v in params.items()))
    try:
        template = _template(keys, typed)
    except TypeError:  # a parameter that cannot be hashed: build the steps directly
        return _steps(column, keys, prefix, params)
    mapping = {_COLUMN: sympy.Symbol(column)}
    mapping.update(
        {f"{_PREFIX}.treat.{part}": sympy.Symbol(f"{prefix}.treat.{part}") for part in _PARTS}
    )
    return [(prefix + name[len(_PREFIX) :], ir.rename(expr, mapping)) for name, expr in template]


#: the placeholder column and prefix of a template (no column name has a NUL in it)
_COLUMN, _PREFIX = "\0column", "\0prefix"
_PARTS = ("lower", "upper", "second")


@lru_cache(maxsize=64)
def _template(
    keys: tuple[str, ...], params: tuple[tuple[str, str, Any], ...]
) -> tuple[tuple[str, sympy.Expr], ...]:
    """The steps of one set of parameters over the placeholder column and prefix."""
    return tuple(_steps(_COLUMN, keys, _PREFIX, {k: v for k, _, v in params}))


def _steps(
    column: str, keys: tuple[str, ...], prefix: str, params: Mapping[str, Any]
) -> list[tuple[str, sympy.Expr]]:
    """The steps of :func:`treatment_steps`, built node by node."""
    estimation = estimation_parameters(params)
    text = json.dumps(estimation, sort_keys=True)
    names = {part: f"{prefix}.treat.{part}" for part in ("lower", "upper", "second")}

    def estimate(part: str) -> tuple[str, sympy.Expr]:
        return names[part], ir.procedure(PROCEDURE, part, (column,), keys, text)

    x = sympy.Symbol(column)
    winsorised = clip(x, sympy.Symbol(names["lower"]), sympy.Symbol(names["upper"]))
    steps = [estimate("lower"), estimate("upper")]
    then = second_step(
        str(params.get("then", "log_ct")), winsorised if params.get("combine") else x, keys, params
    )
    if then is None:
        return [*steps, (prefix + ".treated", winsorised)]
    applies = sympy.Eq(sympy.Symbol(names["second"]), 1, evaluate=False)
    treated = ir.If(applies, then, winsorised, evaluate=False)
    return [*steps, estimate("second"), (prefix + ".treated", treated)]
