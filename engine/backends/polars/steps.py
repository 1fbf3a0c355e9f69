"""Plan steps as polars expressions: the compile context of a step, and its column.

Shared by the query (:mod:`engine.backends.polars.execute`) and the audit
(:mod:`engine.backends.polars.audit`).
"""

from __future__ import annotations

import polars as pl

from engine.backends.polars.compile import Context, to_polars
from engine.plan import Phase, Plan, Step


def step_context(plan: Plan, step: Step | None = None, single_group: bool = True) -> Context:
    """How `step` compiles: its keys, tolerances (checks), class labels and sum order."""
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
        {}, m.layout.unit, m.layout.period, atol, rtol, detail, labels, order, single_group
    )


def step_expr(plan: Plan, step: Step, single_group: bool = True) -> pl.Expr:
    """The polars expression of `step`, named as its column."""
    expr = to_polars(step.expr, step_context(plan, step, single_group))
    if step.periods:
        period = plan.methodology.layout.period
        expr = pl.when(pl.col(period).is_in(list(step.periods))).then(expr)  # type: ignore[arg-type]
    return expr.alias(step.column)
