"""The aggregates a run needs besides its table, computed by the SQL engine.

The same quantities as the polars run's (``audit_exprs`` in
:mod:`engine.backends.polars.execute` and ``check_count_exprs`` in
:mod:`engine.report.summary`), under the same keys, so that the report code reads them
unchanged:

``undefined:<column>``
    the rows where a step had an undefined result (its marker column, see
    :func:`engine.backends.sql.printer.to_sql_step`);
``nulls:<column>``
    the number of missing values of a computed number (a statistic over no present
    value is missing although everything it reads is present: the audit looks);
``t:<check>``, ``f:<check>``
    rows a check tested and rows where it failed.

Steps computed on the detail rows are summarised on the detail rows, within the same
query that collapses them (:func:`detail_partials`, one aggregate per unit and period),
so detail rows are read once.
"""

from __future__ import annotations

import polars as pl
import sympy
from sqlglot import exp

from engine.backends.sql.functions import column
from engine.backends.sql.printer import marker
from engine.backends.sql.statements import HIDDEN, plan_conditions
from engine.formula import ir
from engine.plan import Phase, Plan, Step

__all__ = [
    "Aggregate",
    "audited",
    "check_counts",
    "combine",
    "detail_partials",
    "markers",
    "statistics",
    "unit_summary",
]

PARTIAL = HIDDEN + "a_"


def audited(plan: Plan, phase_detail: bool) -> list[Step]:
    """The steps of one phase, in plan order (as the polars audit's): every step has a
    marker column; numbers also have their missing values counted."""
    steps = [s for stage in plan.stages for s in stage] + list(plan.screening)
    return [s for s in steps if (s.phase == Phase.DETAIL) == phase_detail]


def markers(plan: Plan, phase_detail: bool) -> list[str]:
    """The marker columns of one phase's steps."""
    return [marker(s.column) for s in audited(plan, phase_detail)]


def statistics(expr: sympy.Basic) -> list[ir.Stat]:
    """The statistics in `expr` (counts excluded: a count is never undefined)."""
    found = [expr] if isinstance(expr, ir.Stat) and not isinstance(expr, ir.ColCount) else []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += statistics(a)
    return found


def _flag(cond: exp.Expr) -> exp.Expr:
    """1 where `cond` holds, else 0 (never NULL)."""
    return exp.Case(
        ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)
    )


def _row_aggregates(plan: Plan, steps: list[Step]) -> list[tuple[str, exp.Expr]]:
    """undefined:<c> and nulls:<c> as aggregates over rows."""
    conditions = plan_conditions(plan)
    out: list[tuple[str, exp.Expr]] = []
    for s in steps:
        out.append(("undefined:" + s.column, exp.Sum(this=_flag(column(marker(s.column))))))
        if s.column not in conditions:
            missing = exp.Is(this=column(s.column), expression=exp.Null())
            out.append(("nulls:" + s.column, exp.Sum(this=_flag(missing))))
    return out


def detail_partials(plan: Plan) -> list[tuple[str, exp.Expr]]:
    """The detail rows' summary, one aggregate per unit and period (see the module)."""
    return [(PARTIAL + n, e) for n, e in _row_aggregates(plan, audited(plan, True))]


#: an aggregate over the result rows of one period, and how periods combine
Aggregate = tuple[str, exp.Expr, str]


def unit_summary(plan: Plan, *, with_detail: bool = False) -> list[Aggregate]:
    """Aggregates over the result rows: the unit-level summary and, under ``detail:``,
    the detail rows' summary from their partial aggregates (all are counts: periods add)."""
    out = [(n, e, "sum") for n, e in _row_aggregates(plan, audited(plan, False))]
    if with_detail:
        for name, _ in _row_aggregates(plan, audited(plan, True)):
            out.append(("detail:" + name, exp.Sum(this=column(PARTIAL + name)), "sum"))
    return out + check_counts(plan)


def combine(by_period: pl.DataFrame, aggregates: list[Aggregate]) -> dict[str, object]:
    """The aggregates over all periods from their values per period (NULL where no row
    had a value: a flag then does not hold, a count is 0)."""
    out: dict[str, object] = {}
    for name, _, how in aggregates:
        values = [v for v in by_period[name].to_list() if v is not None]
        if how == "sum":
            out[name] = int(sum(values))
        elif not values:
            out[name] = 0
        else:
            out[name] = min(values) if how == "min" else max(values)
    return out


def check_counts(plan: Plan) -> list[Aggregate]:
    """Tested and failing rows of every check."""
    out: list[Aggregate] = []
    for c in plan.methodology.checks:
        col = column("check." + c.name)
        out.append(("t:" + c.name, exp.Count(this=col), "sum"))
        out.append(("f:" + c.name, exp.Sum(this=_flag(exp.not_(col.copy()))), "sum"))
    return out
