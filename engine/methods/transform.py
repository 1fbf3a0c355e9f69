"""Transforms: a function applied to an indicator before it is normalised.

A transform is written as the ``transform`` key of a normalisation: a name
(``transform: log``) or, for a transform with a parameter, a one-key mapping whose key
is the name and whose value the parameter (``transform: {box_cox: 0.5}``). Its template
is written in :data:`~engine.methods.terms.X` and takes its statistics (``log_ct`` uses
min and max) over the normalisation's scope, through the normalisation's context.

A transform is ``data_dependent`` when its result depends on the other units (then a
fixed constant, such as a goalpost, cannot be carried through it), and has a `domain`
text when it needs ``x > 0`` (checked on every row, undefined and reported otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy

from engine.formula import ir
from engine.methods.registry import Method, Param, ParamType, Stage
from engine.methods.terms import X, add, div, mul, num, power, sub

if TYPE_CHECKING:
    from engine.methods.normalise_context import NormaliseContext

__all__ = ["METHODS", "Transform", "describe_forms", "spelling"]


@dataclass(frozen=True, kw_only=True)
class Transform(Method):
    """A transform's declaration; `template` builds f(x) from the context and parameters."""

    stage: Stage = Stage.TRANSFORM
    template: Callable[[NormaliseContext, Mapping[str, Any]], sympy.Expr]
    data_dependent: bool = False
    domain: str = ""  # when set: needs x > 0, and this says so

    @property
    def form(self) -> str:
        """How it is written: ``'log'`` or ``{box_cox: lambda}``."""
        if not self.params:
            return f"'{self.name}'"
        return f"{{{self.name}: {self.params[0].description}}}"


def spelling(value: object) -> tuple[str, dict[str, Any]]:
    """The name and parameters of a transform as written (``'log'``, ``{box_cox: 0.5}``)."""
    if isinstance(value, str):
        return value, {}
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, argument),) = value.items()
        return str(name), {str(name): argument}
    raise ValueError(f"not a transform: {value!r}")


def _log(n: NormaliseContext, _: Mapping[str, Any]) -> sympy.Expr:
    return sympy.log(X, evaluate=False)


def _shifted_log(shift_share: sympy.Expr | None) -> Callable[..., sympy.Expr]:
    """ln(x - min x + shift): shift = share * (max - min), or 1 when `shift_share` is None."""

    def template(n: NormaliseContext, _: Mapping[str, Any]) -> sympy.Expr:
        lo = n.stat(ir.ColMin, operand=X)
        shift = (
            sympy.Integer(1)
            if shift_share is None
            else mul(shift_share, sub(n.stat(ir.ColMax, operand=X), lo))
        )
        return sympy.log(add(sub(X, lo), shift), evaluate=False)

    return template


def _box_cox(n: NormaliseContext, params: Mapping[str, Any]) -> sympy.Expr:
    lam = num(params["box_cox"])
    if lam == 0:
        return sympy.log(X, evaluate=False)
    return div(sub(power(X, lam), sympy.Integer(1)), lam)


LOG = Transform(
    name="log",
    title="Natural logarithm",
    description="ln x; x > 0",
    template=_log,
    domain="a log or Box-Cox transform needs x > 0",
    formula="`ln x`",
    conventions="`x > 0`, checked: a value ≤ 0 is undefined (reported)",
)

LOG_CT = Transform(
    name="log_ct",
    title="COINr's log with a shift",
    description="COINr's ln(x - min(x) + 0.01 (max(x) - min(x)))",
    template=_shifted_log(sympy.Rational(1, 100)),
    data_dependent=True,
    formula="`ln(x − min x + 0.01 (max x − min x))`",
    conventions="any `x` (COINr's `log_CT`, the default log of `Treat()`)",
    equivalents=("COINr `log_CT`",),
)

LOG_PLUS1 = Transform(
    name="log_plus1",
    title="Log of x shifted to start at 1",
    description="ln(x - min(x) + 1)",
    template=_shifted_log(None),
    data_dependent=True,
    formula="`ln(x − min x + 1)`",
    conventions="any `x`",
)

BOX_COX = Transform(
    name="box_cox",
    title="Box-Cox power transform",
    description="(x^lambda - 1) / lambda, ln x when lambda is 0; x > 0",
    params=(Param("box_cox", ParamType.NUMBER, "lambda", required=True),),
    template=_box_cox,
    domain="a log or Box-Cox transform needs x > 0",
    formula="`(x^λ − 1) / λ`; `ln x` when `λ = 0`",
    conventions="`x > 0`, checked",
)

METHODS: tuple[Transform, ...] = (LOG, LOG_CT, LOG_PLUS1, BOX_COX)


def describe_forms() -> str:
    """The ``transform`` key's description, listing every transform."""
    forms = [f"{t.form} ({t.description})" for t in METHODS]
    listed = ", ".join(forms[:-1]) + ", or " + forms[-1] if len(forms) > 1 else forms[0]
    return (
        f"A transform applied to x before normalising: {listed}. "
        "Statistics of the transform use the normalisation's scope."
    )
