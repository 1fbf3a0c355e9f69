"""The aggregates a run needs besides its table, computed by the SQL engine.

The same quantities as the polars run's (``audit_exprs`` in
:mod:`engine.backends.polars.execute` and ``check_count_exprs`` in
:mod:`engine.report.summary`), under the same keys, so that the report code reads them
unchanged:

``finite``
    every computed number is finite (one sum per row of every audited column, with
    missing values as 0: NaN and infinities survive a sum);
``domain``
    every declared domain (``requires``, e.g. x >= 0 for a leader share) holds where
    it is defined;
``nulls:<column>``
    the number of missing values of a computed column;
``missing:<column>``
    whether a value is missing although everything its step reads is present (a
    statistic over no value, an ``at`` of an absent row is expected to be missing and
    is not counted);
``t:<check>``, ``f:<check>``
    rows a check tested and rows where it failed.

Steps computed on the detail rows are summarised on the detail rows, within the same
query that collapses them (:func:`detail_partials`, one aggregate per unit and period),
so detail rows are read once.
"""

from __future__ import annotations

import functools

import polars as pl
import sympy
from sqlglot import exp

from engine.backends.sql.dialects import IsFinite
from engine.backends.sql.functions import column, key_literal
from engine.backends.sql.lower import Definition
from engine.backends.sql.statements import HIDDEN, plan_conditions, step_context
from engine.formula import ir
from engine.plan import Phase, Plan, Step, StepKind

__all__ = [
    "Aggregate",
    "audited",
    "check_counts",
    "combine",
    "detail_partials",
    "detail_row_checks",
    "holds",
    "may_be_missing",
    "requirement",
    "row_checks",
    "statistics",
    "unit_summary",
]

SUM = HIDDEN + "sum"
PARTIAL = HIDDEN + "a_"


def audited(plan: Plan, phase_detail: bool) -> list[Step]:
    """The numeric computed columns of one phase, in plan order (checks excluded)."""
    conditions = plan_conditions(plan)
    return [
        s
        for stage in plan.stages
        for s in stage
        if s.kind != StepKind.CHECK
        and (s.phase == Phase.DETAIL) == phase_detail
        and s.column not in conditions
    ]


def statistics(expr: sympy.Basic) -> list[ir.Stat]:
    """The statistics in `expr` (counts excluded: a count is never undefined)."""
    found = [expr] if isinstance(expr, ir.Stat) and not isinstance(expr, ir.ColCount) else []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += statistics(a)
    return found


def may_be_missing(expr: sympy.Basic) -> bool:
    """Whether `expr` can be missing with every input present (at() of an absent row)."""
    return isinstance(expr, ir.At) or any(
        may_be_missing(a) for a in expr.args if isinstance(a, sympy.Basic)
    )


def requirement(i: int) -> str:
    """The column holding the `i`-th declared domain of a phase's audited steps."""
    return f"{HIDDEN}req{i}"


def row_checks(plan: Plan, steps: list[Step]) -> list[Definition]:
    """Per row: the sum of the audited columns, and every declared domain (``requires``)."""
    if not steps:
        return []
    ctx = step_context(plan, steps[0])
    total = sympy.Add(
        *(ir.Coalesce(sympy.Symbol(s.column), sympy.Integer(0), evaluate=False) for s in steps),
        evaluate=False,
    )
    required = [s for s in steps if s.requires is not None]
    return [Definition(SUM, total, ctx)] + [
        Definition(requirement(i), s.requires, step_context(plan, s))
        for i, s in enumerate(required)
        if s.requires is not None
    ]


def holds(name: str) -> exp.Expr:
    """A declared domain holds in a row (where it is undefined, it counts as holding)."""
    return exp.Coalesce(this=column(name), expressions=[exp.true()])


def detail_row_checks(plan: Plan) -> list[Definition]:
    return row_checks(plan, audited(plan, True))


def _flag(cond: exp.Expr) -> exp.Expr:
    """1 where `cond` holds, else 0 (never NULL)."""
    return exp.Case(
        ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)
    )


def _present(plan: Plan, step: Step, columns: set[str] | None) -> exp.Expr:
    """Whether everything `step` reads is present (and the row is in its periods);
    `columns` limits the names read to those present (None: all are)."""
    # a statistic grouped by a label is missing where the label is: that is not undefined
    grouping = {k for st in statistics(step.expr) for k in st.keys}
    names = ir.free_names(step.expr) | grouping
    reads = sorted(c for c in names if columns is None or c in columns)
    parts: list[exp.Expr] = [exp.not_(exp.Is(this=column(c), expression=exp.Null())) for c in reads]
    if step.periods:
        period = plan.methodology.layout.period
        assert period is not None
        parts.append(
            exp.In(this=column(period), expressions=[key_literal(p) for p in step.periods])
        )
    return functools.reduce(exp.and_, parts) if parts else exp.true()


def _row_aggregates(
    plan: Plan, steps: list[Step], columns: set[str] | None, has_domain: bool
) -> list[tuple[str, exp.Expr]]:
    """finite, domain, nulls:<c>, missing:<c> as aggregates over rows."""
    if not steps:
        return []
    required = sum(1 for s in steps if s.requires is not None)
    domain: exp.Expr = exp.Literal.number(1)
    if has_domain and required:
        every = functools.reduce(exp.and_, [holds(requirement(i)) for i in range(required)])
        domain = exp.Min(this=_flag(every))
    out: list[tuple[str, exp.Expr]] = [
        ("finite", exp.Min(this=_flag(IsFinite(this=column(SUM))))),
        ("domain", domain),
    ]
    for s in steps:
        missing = exp.Is(this=column(s.column), expression=exp.Null())
        out.append(("nulls:" + s.column, exp.Sum(this=_flag(missing))))
        if not may_be_missing(s.expr):
            hit = exp.and_(missing.copy(), _present(plan, s, columns))
            out.append(("missing:" + s.column, exp.Max(this=_flag(hit))))
    return out


def detail_partials(plan: Plan, columns: set[str] | None) -> list[tuple[str, exp.Expr]]:
    """The detail rows' summary, one aggregate per unit and period (see the module)."""
    steps = audited(plan, True)
    has_domain = any(s.requires is not None for s in steps)
    return [(PARTIAL + n, e) for n, e in _row_aggregates(plan, steps, columns, has_domain)]


#: an aggregate over the result rows of one period, and how periods combine
Aggregate = tuple[str, exp.Expr, str]
_COMBINE = {"finite": "min", "domain": "min", "nulls": "sum", "missing": "max"}


def _combine(name: str) -> str:
    return _COMBINE[name.split(":")[0]]


def unit_summary(
    plan: Plan, columns: set[str], *, detail_columns: set[str] | None = None
) -> list[Aggregate]:
    """Aggregates over the result rows: the unit-level summary and, under ``detail:``,
    the detail rows' summary from their partial aggregates (with how periods combine)."""
    steps = audited(plan, False)
    has_domain = any(s.requires is not None for s in steps)
    out = [(n, e, _combine(n)) for n, e in _row_aggregates(plan, steps, columns, has_domain)]
    if detail_columns is not None:
        for name, _ in _row_aggregates(plan, audited(plan, True), detail_columns, True):
            how = _combine(name)
            agg = {"min": exp.Min, "sum": exp.Sum, "max": exp.Max}[how]
            out.append(("detail:" + name, agg(this=column(PARTIAL + name)), how))
    return out + check_counts(plan)


def combine(by_period: pl.DataFrame, aggregates: list[Aggregate]) -> dict[str, object]:
    """The aggregates over all periods from their values per period (NULL where no row
    had a value: a finite, domain or missing flag then holds, a count is 0)."""
    out: dict[str, object] = {}
    for name, _, how in aggregates:
        values = [v for v in by_period[name].to_list() if v is not None]
        if how == "sum":
            out[name] = int(sum(values))
        elif not values:
            out[name] = 1 if how == "min" else 0
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
