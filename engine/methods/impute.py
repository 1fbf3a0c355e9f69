"""Imputation: how a missing indicator value is filled, one declaration per method.

An imputation's template returns the imputed indicator in terms of its column (``None``
for ``none``: nothing is filled). It runs on the raw indicator, before treatment and
normalisation; every imputed point is reported with the results.

A part of the formula that it reads more than once, or that the imputations of other
indicators read too (a window over the unit's periods, an indicator's minimum over the
period), is declared with :meth:`ImputeContext.part`: the plan computes it once, as a
column of its own, before the steps that read it. So the imputation of k indicators is
a few vectorised passes, not k copies of the same windows inside k expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.formula import ir
from engine.methods.registry import (
    Listing,
    Method,
    Param,
    ParamType,
    Problem,
    Stage,
    StageText,
    Usage,
)
from engine.methods.terms import add, div, mul, sub

__all__ = ["METHODS", "STAGE", "ImputeContext", "Imputer"]


@dataclass(frozen=True)
class ImputeContext:
    """One indicator being imputed: its column, the data's keys, the parameters, and the
    framework (every group's members, the "lower is better" indicators) for the methods
    that read the unit's other indicators."""

    column: str
    keys: tuple[str, ...]  # the columns statistics group by (the period)
    unit: str
    period: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lower: frozenset[str] = frozenset()
    #: the parts the template declared (:meth:`part`), column name -> expression, in order
    parts: dict[str, sympy.Expr] = field(default_factory=dict, compare=False)

    def part(self, indicator: str, what: str, expr: sympy.Expr) -> sympy.Symbol:
        """`expr`, a part of `indicator`'s imputation (or of several: its minimum over the
        period, which its siblings' imputations read too), as the column
        ``<indicator>.impute.<what>`` that the plan computes once before the steps that
        read it; the symbol to use in its place. The same name must mean the same
        expression wherever it is declared."""
        name = f"{indicator}.impute.{what}"
        known = self.parts.setdefault(name, expr)
        if known != expr:
            raise ValueError(f"imputation part {name} declared as {known} and as {expr}")
        return sympy.Symbol(name)

    def group(self) -> str | None:
        """The group whose indicators the unit's value is imputed from: the ``group``
        parameter, or the indicator's parent group."""
        given = self.params.get("group")
        if given is not None:
            return str(given)
        return next((g for g, members in self.groups.items() if self.column in members), None)

    def siblings(self) -> tuple[str, ...]:
        """The other indicators of :meth:`group`, at any depth, in framework order."""
        found: list[str] = []

        def walk(name: str) -> None:
            for m in self.groups.get(name, ()):
                if m in self.groups:
                    walk(m)
                elif m != self.column:
                    found.append(m)

        start = self.group()
        if start is not None:
            walk(start)
        return tuple(found)


@dataclass(frozen=True, kw_only=True)
class Imputer(Method):
    """An imputation's declaration; `template` is ``None`` when nothing is filled."""

    stage: Stage = Stage.IMPUTE
    template: Callable[[ImputeContext], sympy.Expr] | None = None


def _by_statistic(cls: type[ir.Stat]) -> Callable[[ImputeContext], sympy.Expr]:
    def template(c: ImputeContext) -> sympy.Expr:
        y = sympy.Symbol(c.column)
        by = c.keys + tuple(c.params.get("by", ()))
        return ir.Coalesce(y, ir.stat(cls, y, by), evaluate=False)

    return template


def _by_known_columns(u: Usage) -> Iterator[Problem]:
    for i, col in enumerate(u.params.get("by", ())):
        if col not in u.labels + u.keys:
            yield Problem(
                Code.UNKNOWN_NAME,
                f"imputation of '{u.subject}' groups by '{col}', which is not a data column",
                expected="a label column (data.labels)",
                hint=did_you_mean(col, u.labels),
                at=("by", i),
            )


BY = Param(
    "by",
    ParamType.COLUMNS,
    "For mean/median: further columns (data labels, e.g. a macro-region) whose groups the "
    "statistic is taken within.",
)

NONE = Imputer(
    name="none",
    title="No imputation",
    description="it stays missing (and so does every score that needs it, unless a group's "
    "coverage allows it).",
    formula="stays missing",
)

MEAN = Imputer(
    name="mean",
    title="Mean of the period",
    description="the mean of the indicator over the units of the same period (or of the same "
    "period and the `by` label columns: imputation by group).",
    params=(BY,),
    rules=(_by_known_columns,),
    template=_by_statistic(ir.ColMean),
    formula="mean of the indicator over the units of the same period (and of the same `by` "
    "label columns: imputation by group)",
    equivalents=("COINr `i_mean`, `i_mean_grp`",),
)

MEDIAN = Imputer(
    name="median",
    title="Median of the period",
    description="the median of the indicator over the units of the same period (or of the same "
    "period and the `by` label columns).",
    params=(BY,),
    rules=(_by_known_columns,),
    template=_by_statistic(ir.ColMedian),
    formula="median likewise",
    equivalents=("COINr `i_median`, `i_median_grp`",),
)


def _needs_period(u: Usage) -> Iterator[Problem]:
    if u.period is None:
        yield Problem(
            Code.SCHEMA, "imputation 'locf' needs a period column", expected="data.period"
        )


LOCF = Imputer(
    name="locf",
    title="Last observation carried forward",
    description="last observation carried forward, the unit's latest earlier period with a value.",
    rules=(_needs_period,),
    template=lambda c: ir.FillForward(
        sympy.Symbol(c.column), sympy.Symbol(c.unit), sympy.Symbol(str(c.period)), evaluate=False
    ),
    formula="the unit's latest earlier period with a value",
    equivalents=("COINr `impute_panel` (latest available value)",),
)


def _before_after(c: ImputeContext) -> tuple[sympy.Expr, sympy.Expr]:
    """The unit's previous and next values in period order, each a window of its own."""
    y, unit, period = sympy.Symbol(c.column), sympy.Symbol(c.unit), sympy.Symbol(str(c.period))
    return (
        c.part(c.column, "before", ir.FillForward(y, unit, period, evaluate=False)),
        c.part(c.column, "after", ir.FillBackward(y, unit, period, evaluate=False)),
    )


def _periods(c: ImputeContext) -> tuple[sympy.Expr, sympy.Expr]:
    """The periods of the unit's previous and next values, each a window of its own."""
    y, unit, period = sympy.Symbol(c.column), sympy.Symbol(c.unit), sympy.Symbol(str(c.period))
    # the period of each present value (missing elsewhere), carried like the value
    when = sympy.Piecewise(
        (period, sympy.Eq(ir.IsPresent(y, evaluate=False), 1, evaluate=False)), evaluate=False
    )
    return (
        c.part(c.column, "t0", ir.FillForward(when, unit, period, evaluate=False)),
        c.part(c.column, "t1", ir.FillBackward(when, unit, period, evaluate=False)),
    )


def _constant(c: ImputeContext) -> sympy.Expr:
    before, after = _before_after(c)
    return ir.Coalesce(before, after, evaluate=False)


def _linear(c: ImputeContext) -> sympy.Expr:
    (before, after), (t0, t1) = _before_after(c), _periods(c)
    t = sympy.Symbol(str(c.period))
    slope = div(sub(after, before), sub(t1, t0))
    between = add(before, mul(slope, sub(t, t0)))
    # the ends take the nearest value (R's approx(rule = 2)); a value present is kept, and
    # the interpolation is only computed where it is used: at a present value t0 = t1, and
    # its division by zero is no undefined value of the result
    y = sympy.Symbol(c.column)
    present = sympy.Eq(ir.IsPresent(y, evaluate=False), 1, evaluate=False)
    return ir.If(
        present,
        y,
        ir.Coalesce(between, ir.Coalesce(before, after, evaluate=False), evaluate=False),
        evaluate=False,
    )


CONSTANT = Imputer(
    name="constant",
    title="Panel: the previous value, else the next",
    description="panel imputation by a constant (COINr impute_panel(imp_type = 'constant')): "
    "the unit's latest earlier period with a value, and before its first value the first "
    "value.",
    rules=(_needs_period,),
    template=_constant,
    formula="the unit's latest earlier value; before its first value, the first value",
    conventions="in period order within the unit; a unit with no value stays missing",
    equivalents=(
        "COINr `impute_panel(imp_type = 'constant')` (R `approx(method = 'constant', rule = 2)`)",
    ),
)

LINEAR = Imputer(
    name="linear",
    title="Panel: linear interpolation",
    description="panel imputation by linear interpolation (COINr impute_panel(imp_type = "
    "'linear')): between the unit's nearest earlier and later values, in proportion to the "
    "periods; before the first value and after the last the nearest value.",
    rules=(_needs_period,),
    template=_linear,
    formula="`y₀ + (y₁ − y₀)(t − t₀)/(t₁ − t₀)` between the unit's nearest values `y₀` (period "
    "`t₀`) and `y₁` (`t₁`); the nearest value at the ends",
    conventions="the period column is numeric (years): interpolation in proportion to it; a "
    "unit with no value stays missing",
    equivalents=("COINr `impute_panel(imp_type = 'linear')` (R `approx(rule = 2)`)",),
    notes="COINr (R's `approx`) stops when a unit has a single value of an indicator; the "
    "engine then carries that value to every period, as the rule for the ends does.",
)

METHODS: tuple[Imputer, ...] = (NONE, MEAN, MEDIAN, LOCF, CONSTANT, LINEAR)

STAGE = StageText(
    description="How a missing indicator value is filled before treatment and normalisation.",
    method="Imputation method.",
    listing=Listing.IN_OBJECT,
    outro="Imputed points are reported with the results.",
    default="none",
)
