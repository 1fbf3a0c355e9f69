"""What a normalisation is: its declaration class and the context its template reads.

A normalisation's template is a function of a :class:`NormaliseContext`: the indicator
as ``x`` after its transform (:meth:`NormaliseContext.x`), its statistics over the
normalisation's scope (:meth:`NormaliseContext.stat`), its parameters with the declared
defaults, and whether the indicator is "lower is better". It returns a sympy expression
in the symbol ``x``; the plan renames ``x`` to the indicator's column.

Statistics are taken over the rows sharing `keys` (the period by default; none when
pooled); with a `reference` = (period column, value) over that period's rows only, and
applied to every period. Statistics skip missing values.

The parameters every normalisation but ``none`` shares (``scope``, ``transform``,
``round``) are declared once here (:data:`SHARED`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy

from engine.formula import ir
from engine.methods import transform as transforms
from engine.methods.registry import Method, Param, ParamType, Stage, StageText
from engine.methods.terms import X, key_value, mul, num

__all__ = ["SHARED", "STAGE", "NormaliseContext", "Normaliser", "Requirement"]

#: a condition on x that every row must meet, and what it means (None: no condition)
Requirement = tuple[sympy.Basic | None, str]


@dataclass(frozen=True)
class NormaliseContext:
    """One indicator being normalised: what a normalisation template may read."""

    params: Mapping[str, Any]  # as written, with the declared defaults
    keys: tuple[str, ...]
    lower_is_better: bool
    reference: tuple[str, object] | None = None
    unit: str | None = None  # the unit column (a reference unit is one of its values)
    period: str | None = None  # the period column, if the data has one
    transform: object = None  # as written: 'log', {box_cox: 0.5}, or None

    def param(self, name: str) -> Any:
        """A parameter's value (its default when not written)."""
        return self.params[name]

    def has(self, name: str) -> bool:
        """Whether the parameter has a value (written or by default)."""
        return self.params.get(name) is not None

    def number(self, name: str) -> sympy.Expr:
        """A numeric parameter as an exact sympy number."""
        return num(self.params[name])

    def _transform(self) -> tuple[transforms.Transform, dict[str, Any]] | None:
        if self.transform is None:
            return None
        name, params = transforms.spelling(self.transform)
        return _TRANSFORMS[name], params

    def x(self) -> sympy.Expr:
        """The indicator after the declared transform."""
        found = self._transform()
        if found is None:
            return X
        method, params = found
        return method.template(self, params)

    def transformed(self, value: sympy.Expr) -> sympy.Expr:
        """A constant in the units of x through the transform (not a data-dependent one)."""
        found = self._transform()
        if found is None:
            return value
        if found[0].data_dependent:
            raise ValueError("a data-dependent transform cannot move fixed goalposts")
        return ir.rename(self.x(), {X.name: value})

    def stat(
        self, cls: type[ir.Stat], *options: sympy.Basic, operand: sympy.Expr | None = None
    ) -> ir.Stat:
        """A statistic of x (or of `operand`) over the normalisation's rows."""
        x = self.x() if operand is None else operand
        if self.reference is None:
            return ir.stat(cls, x, self.keys, *options)
        column, value = self.reference
        in_reference = sympy.Eq(sympy.Symbol(column), key_value(value), evaluate=False)
        return ir.stat(cls, sympy.Piecewise((x, in_reference), evaluate=False), (), *options)

    def pooled(self) -> NormaliseContext:
        """The same indicator with statistics over all rows of all periods."""
        return dataclasses.replace(self, keys=(), reference=None)

    def scale(self, expr: sympy.Expr) -> sympy.Expr:
        """`expr` times the ``scale`` parameter (left out when it is 1)."""
        factor = self.number("scale")
        return expr if factor == 1 else mul(expr, factor)

    def transform_domain(self) -> Requirement:
        """x > 0 when the transform needs it."""
        found = self._transform()
        if found is not None and found[0].domain:
            return sympy.StrictGreaterThan(X, 0, evaluate=False), found[0].domain
        return None, ""


_TRANSFORMS = {t.name: t for t in transforms.METHODS}


@dataclass(frozen=True, kw_only=True)
class Normaliser(Method):
    """A normalisation's declaration.

    `template` builds y from the context (``None`` for the ``formula`` method, whose
    formula is the methodology's); `domain` says what x must satisfy (by default what
    the transform needs); `orients` says whether it applies the indicator's direction
    (so that higher is better afterwards).
    """

    stage: Stage = Stage.NORMALISE
    template: Callable[[NormaliseContext], sympy.Expr] | None = None
    domain: Callable[[NormaliseContext], Requirement] | None = None
    orients: bool = True

    def requirement(self, ctx: NormaliseContext) -> Requirement:
        """The condition on x every row must meet, and its meaning."""
        return self.domain(ctx) if self.domain is not None else ctx.transform_domain()


SCOPE = Param(
    "scope",
    ParamType.SHARED,
    "Rows the normalisation's statistics (max, min, mean, SD, quantiles) are taken over: "
    "'period' = the units of the same period (default); 'pooled' = all rows of all periods "
    "(COINr's global = TRUE); {period: 2010}: the rows of that reference period, applied "
    "to every period (the OECD/JRC Handbook's t0); or {by: [income_group]}: the units of the "
    "same period and the same label values (normalisation within groups).",
    default="period",
    ref="scope",
)

TRANSFORM = Param("transform", ParamType.SHARED, transforms.describe_forms(), ref="transform")

ROUND = Param(
    "round",
    ParamType.SHARED,
    "Round the normalised value to this many decimals (half-up on the decimal value) "
    "before it is aggregated.",
    ref="rounding",
)

#: the parameters every normalisation but ``none`` takes, after its own
SHARED = (SCOPE, TRANSFORM, ROUND)

STAGE = StageText(
    description="How an indicator's raw values become comparable scores. Choose one method; "
    "its parameters are listed with it.",
    method="Normalisation method.",
    default="none",
)
