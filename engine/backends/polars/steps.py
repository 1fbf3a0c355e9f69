"""Plan steps as polars expressions: the compile context of a step, and its column.

Shared by the query (:mod:`engine.backends.polars.execute`) and the audit
(:mod:`engine.backends.polars.audit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from engine.backends.polars.compile import Context, compile_step, to_polars
from engine.backends.polars.compile_base import TRUE
from engine.backends.polars.markers import present_inputs
from engine.backends.polars.memo import plan_memo
from engine.plan import Phase, Plan, Step


def step_context(
    plan: Plan,
    step: Step | None = None,
    single_group: bool = True,
    integer_keys: frozenset[str] = frozenset(),
) -> Context:
    """How `step` compiles: its keys, tolerances (checks), class labels and sum order;
    `integer_keys` are the key columns the data holds as integers."""
    m = plan.methodology
    atol = rtol = 0.0
    if step is not None and step.kind == "check":
        check = next(c for c in m.checks if c.name == step.name)
        atol, rtol = check.atol, check.rtol
    detail = m.layout.detail if step is not None and step.phase == Phase.DETAIL else ()
    labels = m.classes.labels if m.classes else ()
    order = (
        m.layout.detail_keys if step is not None and step.phase == Phase.DETAIL else m.layout.keys
    )
    return Context(
        {},
        m.layout.unit,
        m.layout.period,
        atol,
        rtol,
        detail,
        labels,
        order,
        single_group,
        integer_keys=integer_keys,
    )


#: the boolean column that marks the rows where a step had an undefined result
UNDEFINED_PREFIX = "__undefined:"


def undefined_column(column: str) -> str:
    """The name of the column marking where `column` had an undefined result."""
    return UNDEFINED_PREFIX + column


@dataclass(frozen=True)
class StepColumns:
    """What computing a step adds to the frame: columns computed first, by level (see
    :class:`~engine.backends.polars.compile_base.Temps`), then the step's column and, when it
    can have undefined results, its marker column (:func:`undefined_column`)."""

    temps: tuple[tuple[pl.Expr, ...], ...]
    columns: tuple[pl.Expr, ...]


def step_columns(
    plan: Plan,
    step: Step,
    single_group: bool = True,
    context: Context | None = None,
    integer_keys: frozenset[str] = frozenset(),
    all_markers: bool = True,
) -> StepColumns:
    """The columns of `step`: its value, where an undefined result (an operation that
    gave no finite number, or a row where the declared domain ``requires`` does not
    hold) is missing, and the marker of those rows. `context` replaces the step's own
    (sensitivity analysis groups every statistic by the replication too). Without
    `all_markers`, the marker is left out where the audit can count it from the value
    (see :mod:`engine.backends.polars.markers`)."""
    if context is None:  # compiled once per plan (the plan cache's record asks again)
        known = plan_memo(plan, "step_columns")
        key = (step, single_group, integer_keys, all_markers)
        if key not in known:
            known[key] = _step_columns(plan, step, single_group, None, integer_keys, all_markers)
        found: StepColumns = known[key]
        return found
    return _step_columns(plan, step, single_group, context, integer_keys, all_markers)


def _step_columns(
    plan: Plan,
    step: Step,
    single_group: bool,
    context: Context | None,
    integer_keys: frozenset[str],
    all_markers: bool,
) -> StepColumns:
    ctx = context or step_context(plan, step, single_group, integer_keys)
    # a marker left out of the query is computed on the result from the unmerged guards
    left_out = not all_markers and present_inputs(plan, step) is not None
    compiled = compile_step(step.expr, ctx, step.column, fuse=left_out)
    value, flag = compiled.value, compiled.undefined
    if step.requires is not None:
        holds = to_polars(step.requires, ctx).fill_null(TRUE)
        value = pl.when(holds).then(value)
        flag = ~holds if flag is None else flag | ~holds
    period = plan.methodology.layout.period
    if step.periods and period is not None:
        inside = pl.col(period).is_in(list(step.periods))
        value = pl.when(inside).then(value)
        flag = flag & inside if flag is not None else None
    out = [value.alias(step.column)]
    if flag is not None and not left_out:
        out.append(flag.alias(undefined_column(step.column)))
    return StepColumns(compiled.temps, tuple(out))


def with_steps(
    lf: pl.LazyFrame,
    plan: Plan,
    steps: Sequence[Step],
    single_group: bool,
    integer_keys: frozenset[str] = frozenset(),
    all_markers: bool = True,
) -> pl.LazyFrame:
    """`lf` with the columns of `steps` (which read only columns `lf` has): first the
    columns each step computes first, level by level, then the steps' own columns
    (their markers as :func:`step_columns` says)."""
    parts = [
        step_columns(plan, s, single_group, integer_keys=integer_keys, all_markers=all_markers)
        for s in steps
    ]
    return with_columns_of(lf, parts)


def with_columns_of(lf: pl.LazyFrame, parts: Sequence[StepColumns]) -> pl.LazyFrame:
    """`lf` with the columns of compiled steps (one stage: none reads another)."""
    for level in range(max((len(p.temps) for p in parts), default=0)):
        lf = lf.with_columns([e for p in parts if level < len(p.temps) for e in p.temps[level]])
    return lf.with_columns([e for p in parts for e in p.columns])
