"""Outlier treatment: what a treatment method is and declares, one declaration each.

The declaration (name, parameters, description, documentation) is kept apart from the
implementation it points to: ``winsorise_log``'s column steps are built in
:mod:`engine.methods.winsorise`: a procedure estimates the clip bounds of every group
(``Kind.PROCEDURE``, run by the polars backend, :mod:`engine.backends.polars.winsorise`),
and ordinary IR applies them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from engine.methods import winsorise
from engine.methods.registry import Kind, Listing, Method, Param, ParamType, Stage, StageText

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

SKEW = Param(
    "skew",
    ParamType.NUMBER,
    "Skewness threshold (COINr default 2).",
    default=2,
    exclusive_minimum=0,
)
KURTOSIS = Param(
    "kurtosis", ParamType.NUMBER, "Kurtosis threshold (COINr default 3.5).", default=3.5
)
MAX_POINTS = Param(
    "max_points",
    ParamType.INTEGER,
    "Most points winsorised per indicator and period (COINr's winmax, default 5); a point "
    "counts once it has been changed, tied extremes each count.",
    default=5,
    minimum=0,
    maximum=20,
)
FORCE = Param(
    "force",
    ParamType.BOOLEAN,
    "Keep winsorising an indicator that fails the test at first until max_points points are "
    "changed, even once it passes (COINr's force_win). Default false.",
    default=False,
)
COMBINE = Param(
    "combine",
    ParamType.BOOLEAN,
    "Apply the second step to the winsorised values instead of the original ones (COINr's "
    "combine_treat). Default false.",
    default=False,
)

_TEST = (
    "an indicator passes when |skew| < skew or kurtosis < kurtosis (sample skewness and excess "
    "kurtosis as e1071 type 2 / Excel, over the units of the period); while it fails, up to "
    "max_points points, the highest values (when skew >= 0) or lowest are replaced by the next "
    "one in"
)
_CONVENTIONS = (
    "sample skewness and excess kurtosis (e1071 type 2 / Excel); with fewer than 4 values the "
    "indicator passes; `force: true` only acts on an indicator that fails at first (as COINr)"
)


#: the backends that run the winsorisation's procedure (engine.backends.polars.winsorise)
_POLARS = frozenset({"polars"})


def _steps(then: str | None) -> Callable[[TreatContext], list[tuple[str, sympy.Expr]]]:
    def template(c: TreatContext) -> list[tuple[str, sympy.Expr]]:
        params = {**c.params, "then": then or c.params["log"]}
        return winsorise.treatment_steps(c.column, c.keys, c.prefix, params)

    return template


WINSORISE_LOG = Treatment(
    name="winsorise_log",
    title="COINr's default Treat(): winsorise, else log",
    description=f"COINr's default Treat(): {_TEST}; if it still fails, the original values "
    "are log-transformed instead: ln(x - min + 0.01 (max - min)) (log: log_ct), or COINr's "
    "log_CT_plus (log: log_ct_plus: the same when the skew is positive, else "
    "-ln(max + 0.01 (max - min) - x)).",
    params=(
        SKEW,
        KURTOSIS,
        MAX_POINTS,
        Param(
            "log",
            ParamType.CHOICE,
            "The log of the second step: 'log_ct' (COINr's log_CT, default) or 'log_ct_plus' "
            "(COINr's log_CT_plus, which mirrors it for a negative skew).",
            default="log_ct",
            choices=("log_ct", "log_ct_plus"),
        ),
        FORCE,
        COMBINE,
    ),
    template=_steps(None),
    kind=Kind.PROCEDURE,  # the steps run over every group's sorted values, outside the IR
    backends=_POLARS,
    formula="winsorise the highest (skew ≥ 0) or lowest values, up to `max_points`, while "
    "`|skew| ≥ skew` and `kurtosis ≥ kurtosis`; if it still fails, `ln(x − min + 0.01 "
    "(max − min))` of the original values (`log: log_ct_plus`: for a skew ≤ 0, "
    "`−ln(max + 0.01 (max − min) − x)`)",
    conventions=_CONVENTIONS,
    equivalents=(
        "COINr `Treat()` (defaults `skew_thresh = 2`, `kurt_thresh = 3.5`, `winmax = 5`)",
        "`log: log_ct_plus`: `Treat(global_specs = list(f2 = 'log_CT_plus'))`",
        "`force`: `f1_para = list(force_win = TRUE)`; `combine`: `combine_treat = TRUE`",
    ),
    notes="COINr's Treated_Points tags every point of an indicator the second step changed "
    "with '+log_CT', even after the winsorisation was discarded; the engine reports each "
    "changed point once, with its value before and after. COINr's `log_CT_plus` decides by "
    "the sign of the skewness (`> 0`: the usual log), which is the sign of the sum of the "
    "cubed deviations the engine tests.",
)

WINSORISE = Treatment(
    name="winsorise",
    title="Winsorise only",
    description=f"COINr's Treat() without its second step: {_TEST}; an indicator that still "
    "fails keeps its winsorised values.",
    params=(SKEW, KURTOSIS, MAX_POINTS, FORCE),
    template=_steps("none"),
    kind=Kind.PROCEDURE,  # the steps run over every group's sorted values, outside the IR
    backends=_POLARS,
    formula="winsorise the highest (skew ≥ 0) or lowest values, up to `max_points`, while "
    "`|skew| ≥ skew` and `kurtosis ≥ kurtosis`; nothing more",
    conventions=_CONVENTIONS,
    equivalents=("COINr `Treat(global_specs = list(f2 = NULL))`",),
)

WINSORISE_BOX_COX = Treatment(
    name="winsorise_box_cox",
    title="Winsorise, else Box-Cox",
    description=f"COINr's Treat() with Box-Cox as the second step: {_TEST}; if it still "
    "fails, the original values are shifted to x - min + 1 (COINr's default makepos) and "
    "Box-Cox transformed: (x'^lambda - 1) / lambda, ln x' for lambda = 0.",
    params=(
        SKEW,
        KURTOSIS,
        MAX_POINTS,
        Param(
            "lambda",
            ParamType.NUMBER,
            "The Box-Cox exponent (COINr has no default).",
            required=True,
        ),
        FORCE,
        COMBINE,
    ),
    template=_steps("box_cox"),
    kind=Kind.PROCEDURE,  # the steps run over every group's sorted values, outside the IR
    backends=_POLARS,
    formula="winsorise as `winsorise_log`; if it still fails, `(x'^λ − 1)/λ` (`ln x'` for "
    "`λ = 0`) with `x' = x − min + 1`",
    conventions=_CONVENTIONS + "; min over the present values of the period",
    equivalents=(
        "COINr `Treat(global_specs = list(f2 = 'boxcox', f2_para = list(lambda = λ, na.rm = "
        "TRUE)))`",
    ),
    notes="COINr's `boxcox` has `na.rm = FALSE` by default, so one missing value makes the "
    "whole indicator missing (its min is NA); the engine takes the min over the present "
    "values, which is COINr's result with `na.rm = TRUE`. COINr tags no point as "
    "Box-Cox-treated; the engine reports every changed point.",
)

METHODS: tuple[Treatment, ...] = (NONE, WINSORISE_LOG, WINSORISE, WINSORISE_BOX_COX)

STAGE = StageText(
    description="Outlier treatment before normalisation.",
    method="Treatment method.",
    listing=Listing.IN_OBJECT,
    outro="Changed points are reported with the results.",
    default="none",
)
