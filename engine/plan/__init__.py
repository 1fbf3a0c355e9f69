"""The plan: every output column as an expression over columns, in stages and phases.

:mod:`engine.plan.model` holds the data (steps, their kinds and phases, the plan);
:mod:`engine.plan.build` lays a methodology out as a plan.
"""

from engine.plan.build import build_plan, in_stages, normalised
from engine.plan.model import NORM_SUFFIX, Phase, Plan, Stages, Step, StepKind, norm_column

__all__ = [
    "NORM_SUFFIX",
    "Phase",
    "Plan",
    "Stages",
    "Step",
    "StepKind",
    "build_plan",
    "in_stages",
    "norm_column",
    "normalised",
]
