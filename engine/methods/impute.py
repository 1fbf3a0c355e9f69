"""Imputation: how a missing indicator value is filled, one declaration per method.

An imputation's template returns the imputed indicator in terms of its column (``None``
for ``none``: nothing is filled). It runs on the raw indicator, before treatment and
normalisation; every imputed point is reported with the results.
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

__all__ = ["METHODS", "STAGE", "ImputeContext", "Imputer"]


@dataclass(frozen=True)
class ImputeContext:
    """One indicator being imputed: its column, the data's keys and the parameters."""

    column: str
    keys: tuple[str, ...]  # the columns statistics group by (the period)
    unit: str
    period: str | None
    params: Mapping[str, Any] = field(default_factory=dict)


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

METHODS: tuple[Imputer, ...] = (NONE, MEAN, MEDIAN, LOCF)

STAGE = StageText(
    description="How a missing indicator value is filled before treatment and normalisation.",
    method="Imputation method.",
    listing=Listing.IN_OBJECT,
    outro="Imputed points are reported with the results.",
    default="none",
)
