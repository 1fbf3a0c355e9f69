"""The plan's data: steps (one output column each, an expression over columns), their
kinds and phases, and the plan that orders them in stages.

A :class:`Step` is frozen; its expression is over column names only (the methodology's
names already rewritten to the columns they read). Stages are tuples of steps that
depend only on earlier stages, so each stage becomes one ``with_columns`` of the query.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import sympy

from engine.format.model import ClassScheme, Methodology
from engine.formula import grain, ir

NORM_SUFFIX = ".norm"


class StepKind(enum.StrEnum):
    """What a step computes (a str enum: comparisons with plain strings keep working)."""

    INDICATOR = "indicator"
    IMPUTED = "imputed"
    TREATED = "treated"
    NORMALISED = "normalised"
    GROUP = "group"
    INDEX = "index"
    RANK = "rank"
    DERIVED = "derived"
    CHECK = "check"
    SCREEN = "screen"
    #: the value the classes are cut on, when it is not the index (classes.of)
    CLASS_VALUE = "class_value"
    #: a statistic lifted out of another into its own column (see plan.build._hoist)
    HIDDEN = "hidden"
    #: a part of a method's expression computed once as a column of its own and read by
    #: the steps of several indicators (an imputation's windows and min-max scaling, see
    #: :class:`engine.methods.impute.ImputeContext`); the audit explains the undefined
    #: values of the steps that read it with the part written out (:meth:`Plan.written_out`)
    PART = "part"


class Phase(enum.IntEnum):
    """When a step runs, relative to the detail rows (see :mod:`engine.plan.build`)."""

    UNIT_FIRST = 1  # unit-level, before the detail rows
    DETAIL = 2  # on the detail rows
    UNIT_AFTER = 3  # unit-level, after the detail rows collapse to one row per unit and period


def norm_column(indicator: str) -> str:
    """The column of an indicator's normalised value."""
    return indicator + NORM_SUFFIX


@dataclass(frozen=True)
class Step:
    """One output column: `expr` over column names."""

    column: str
    expr: sympy.Basic
    kind: StepKind
    name: str  # the methodology name it implements
    formula: str | None = None  # as the author wrote it (for messages)
    periods: tuple[object, ...] = ()
    phase: Phase = Phase.UNIT_FIRST
    grain: str = grain.UNIT
    #: a condition over columns every row must meet, and what it means (audited)
    requires: sympy.Basic | None = None
    requirement: str = ""


Stages = tuple[tuple[Step, ...], ...]


@dataclass(frozen=True)
class Plan:
    methodology: Methodology
    first: Stages  # unit-level, before the detail rows
    detail: Stages  # on the detail rows
    after: Stages  # unit-level, after collapsing the detail rows
    screening: tuple[Step, ...]  # after the classes
    collapse: tuple[str, ...]  # unit-level columns computed on the detail rows
    output: tuple[str, ...]
    detail_output: tuple[str, ...] = ()
    classes: ClassScheme | None = None
    steps: dict[str, Step] = field(default_factory=dict, compare=False)

    @property
    def stages(self) -> Stages:
        return self.first + self.detail + self.after

    @property
    def has_detail(self) -> bool:
        return bool(self.methodology.layout.detail)

    def written_out(self, expr: sympy.Basic) -> sympy.Basic:
        """`expr` with every part it reads (:attr:`StepKind.PART`) replaced by the part's
        own expression: the formula as the method wrote it, which the audit takes apart to
        name the cause of an undefined value (a part is computed once for many steps, its
        undefined values count where they are used)."""
        parts = {
            name: self.written_out(self.steps[name].expr)
            for name in ir.free_names(expr)
            if name in self.steps and self.steps[name].kind == StepKind.PART
        }
        return ir.rename(expr, parts) if parts else expr
