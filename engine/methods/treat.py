"""Outlier treatment: what a treatment method is and declares, one declaration each.

The declaration (name, parameters, description, documentation) is kept apart from the
implementation it points to: ``winsorise_log``'s column steps are built in
:mod:`engine.methods.winsorise`, and another backend may compute the same declaration
with its own procedure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from engine.methods import winsorise
from engine.methods.registry import Listing, Method, Param, ParamType, Stage, StageText

__all__ = ["METHODS", "STAGE", "TreatContext", "Treatment"]


@dataclass(frozen=True)
class TreatContext:
    """One indicator being treated: its column, the keys and the steps' column prefix."""

    column: str
    keys: tuple[str, ...]
    prefix: str  # the steps are named prefix.w1, ..., prefix.treated
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Treatment(Method):
    """A treatment's declaration; `template` returns (column, expression) steps in order,
    the last one the treated indicator (``None``: nothing is treated)."""

    stage: Stage = Stage.TREAT
    template: Callable[[TreatContext], list[tuple[str, sympy.Expr]]] | None = None


NONE = Treatment(
    name="none",
    title="No treatment",
    description="the values are used as they are.",
    formula="the values as they are",
)

WINSORISE_LOG = Treatment(
    name="winsorise_log",
    title="COINr's default Treat(): winsorise, else log",
    description="COINr's default Treat(): an indicator passes when |skew| < skew or kurtosis "
    "< kurtosis (sample skewness and excess kurtosis as e1071 type 2 / Excel, over the units "
    "of the period); while it fails, up to max_points times, the highest values (when skew "
    ">= 0) or lowest are replaced by the next one in; if it still fails, the original values "
    "are log-transformed instead: ln(x - min + 0.01 (max - min)).",
    params=(
        Param(
            "skew",
            ParamType.NUMBER,
            "Skewness threshold (COINr default 2).",
            default=2,
            exclusive_minimum=0,
        ),
        Param("kurtosis", ParamType.NUMBER, "Kurtosis threshold (COINr default 3.5).", default=3.5),
        Param(
            "max_points",
            ParamType.INTEGER,
            "Most points winsorised per indicator and period (COINr's winmax, default 5); tied "
            "extremes each count as a point.",
            default=5,
            minimum=0,
            maximum=20,
        ),
    ),
    template=lambda c: winsorise.treatment_steps(c.column, c.keys, c.prefix, c.params),
    formula="winsorise the highest (skew ≥ 0) or lowest values, up to `max_points`, while "
    "`|skew| ≥ skew` and `kurtosis ≥ kurtosis`; if it still fails, `ln(x − min + 0.01 "
    "(max − min))` of the original values",
    conventions="sample skewness and excess kurtosis (e1071 type 2 / Excel); with fewer than "
    "4 values the indicator passes",
    equivalents=(
        "COINr `Treat()` (defaults `skew_thresh = 2`, `kurt_thresh = 3.5`, `winmax = 5`)",
    ),
)

METHODS: tuple[Treatment, ...] = (NONE, WINSORISE_LOG)

STAGE = StageText(
    description="Outlier treatment before normalisation.",
    method="Treatment method.",
    listing=Listing.IN_OBJECT,
    outro="Changed points are reported with the results.",
    default="none",
)
