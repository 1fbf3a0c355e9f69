"""Auditing a result: nothing undefined passes silently.

The query (:mod:`engine.backends.polars.execute`) computes a few aggregates with the
results (one horizontal sum tells whether every computed value is finite, declared
domains such as x >= 0 for a leader share, null counts). When one fails, or a value
became missing although everything it reads is present (a statistic over an
all-missing column), the offending step is taken apart (:func:`diagnose`) to name the
cause: a zero denominator, a logarithm of a non-positive value, a statistic with no
values, with the units and periods affected.
"""

from __future__ import annotations

import polars as pl
import sympy

from engine.backends.polars.compile import to_polars
from engine.backends.polars.steps import step_context as _context
from engine.diagnostics import Code, DataError, Diagnostic
from engine.formula import ir
from engine.formula.render import show
from engine.plan import Phase, Plan, Step


def _numeric_steps(plan: Plan) -> list[Step]:
    return [s for stage in plan.stages for s in stage if s.kind != "check"]


def _audited(plan: Plan, schema: pl.Schema, phase_detail: bool) -> list[Step]:
    return [
        s
        for s in _numeric_steps(plan)
        if (s.phase == Phase.DETAIL) == phase_detail
        and s.column in schema
        and schema[s.column].is_numeric()  # conditions and texts are never undefined
    ]


def _step_flags(plan: Plan, steps: list[Step]) -> list[pl.Expr]:
    """Per step: a NaN or infinite value, or the declared domain (``requires``) broken."""
    out = []
    for s in steps:
        bad = ~pl.col(s.column).is_finite()
        if s.requires is not None:
            bad = bad | ~to_polars(s.requires, _context(plan, s)).fill_null(True)
        out.append(bad.any().alias("flag:" + s.column))
    return out


def audit_exprs(plan: Plan, schema: pl.Schema, phase_detail: bool) -> list[pl.Expr]:
    """Aggregates, computed in the same query as the results, that tell whether any
    computed value may be undefined: ``finite`` (NaN and infinities propagate through a
    sum, so one horizontal sum of every computed column tells whether all are finite),
    ``domain`` (every declared domain, ``requires``, holds) and ``nulls:<column>``.

    Only when one of them fails are the steps looked at one by one (``flag:<column>``),
    and a missing value is undefined when everything its step reads is present (a
    statistic over no value); that is looked into, on the result, for columns with nulls.
    """
    steps = _audited(plan, schema, phase_detail)
    if not steps:
        return []
    out = [pl.sum_horizontal([pl.col(s.column) for s in steps]).is_finite().all().alias("finite")]
    domains = [
        to_polars(s.requires, _context(plan, s)).fill_null(True)
        for s in steps
        if s.requires is not None
    ]
    out.append(
        pl.all_horizontal(domains).all().alias("domain")
        if domains
        else pl.lit(True).alias("domain")
    )
    out += [pl.col(s.column).null_count().alias("nulls:" + s.column) for s in steps]
    return out


def _missing_though_present(plan: Plan, frame: pl.DataFrame, steps: list[Step]) -> dict[str, bool]:
    """For steps with nulls: is a value missing although everything it reads is present?"""
    flags = []
    for s in steps:
        if _may_be_missing(s.expr):
            continue
        # a statistic grouped by a label is missing where the label is: that is not undefined
        grouping = _grouping_keys(s.expr)
        reads = [c for c in ir.free_names(s.expr) | grouping if c in frame.columns]
        present = (
            pl.all_horizontal([pl.col(c).is_not_null() for c in reads]) if reads else pl.lit(True)
        )
        period = plan.methodology.layout.period
        if s.periods and period is not None:
            present = present & pl.col(period).is_in(list(s.periods))
        flags.append((pl.col(s.column).is_null() & present).any().alias(s.column))
    return frame.select(flags).row(0, named=True) if flags else {}


def audit(
    plan: Plan,
    frame: pl.DataFrame,
    detail: pl.DataFrame | None = None,
    summary: dict[str, object] | None = None,
    detail_summary: dict[str, object] | None = None,
) -> None:
    """Raise a DataError naming the first undefined value in the computed columns.

    `summary` holds the aggregates of :func:`audit_exprs` when the query computed them;
    otherwise they are computed here. Steps computed on detail rows are audited on the
    detail rows.
    """
    if detail is not None:
        _audit(plan, detail, True, detail_summary)
    _audit(plan, frame, False, summary)


def _audit(
    plan: Plan, frame: pl.DataFrame, phase_detail: bool, summary: dict[str, object] | None
) -> None:
    steps = _audited(plan, frame.schema, phase_detail)
    if not steps:
        return
    if summary is None:
        summary = frame.select(audit_exprs(plan, frame.schema, phase_detail)).row(0, named=True)
    flags: dict[str, object] = {}
    if not (summary["finite"] and summary["domain"]):  # find which steps, on the failure path only
        flags = frame.select(_step_flags(plan, steps)).row(0, named=True)
    with_nulls = [s for s in steps if summary["nulls:" + s.column]]
    missing = _missing_though_present(plan, frame, with_nulls) if with_nulls else {}
    failing = [
        s
        for s in steps
        if flags.get("flag:" + s.column)
        or missing.get(s.column)
        or (summary["nulls:" + s.column] and _empty_statistic(plan, s, frame))
    ]
    if failing:
        # the first failing step in plan order: later ones are its consequences
        raise DataError(diagnose(plan, frame, failing[0]))


def _may_be_missing(expr: sympy.Basic) -> bool:
    """Whether `expr` can be missing with every input present (at() of an absent row)."""
    return isinstance(expr, ir.At) or any(
        _may_be_missing(a) for a in expr.args if isinstance(a, sympy.Basic)
    )


def _grouping_keys(expr: sympy.Basic) -> set[str]:
    """The columns the statistics in `expr` group by (count() included)."""
    keys = set(expr.keys) if isinstance(expr, ir.Stat) else set()
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            keys |= _grouping_keys(a)
    return keys


def _statistics(expr: sympy.Basic) -> list[ir.Stat]:
    found = [expr] if isinstance(expr, ir.Stat) and not isinstance(expr, ir.ColCount) else []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += _statistics(a)
    return found


def _empty_statistic(plan: Plan, step: Step, frame: pl.DataFrame) -> bool:
    """Whether a statistic in `step` is taken over a group with no present value."""
    for st in _statistics(step.expr):
        x = to_polars(st.operand, _context(plan))
        if st.keys:
            grouped = frame.drop_nulls(list(st.keys))  # rows without a label are in no group
            counts = grouped.group_by(list(st.keys)).agg(x.count().alias("n"))["n"]
        else:
            counts = frame.select(x.count().alias("n"))["n"]
        if (counts == 0).any():
            return True
    return False


def _rows(plan: Plan, frame: pl.DataFrame, mask: pl.Expr, limit: int = 10) -> str:
    keys = [k for k in plan.methodology.layout.detail_keys if k in frame.columns]
    hit = frame.lazy().filter(mask).select(keys).collect()
    names = [" ".join(str(v) for v in row) for row in hit.head(limit).iter_rows()]
    more = f" and {hit.height - limit} more" if hit.height > limit else ""
    return ", ".join(names) + more


def _what(step: Step) -> str:
    kinds = {
        "indicator": "indicator",
        "normalised": "normalisation of",
        "group": "group",
        "index": "",
        "rank": "",
        "derived": "derived output",
    }
    prefix = kinds.get(step.kind, "")
    return f"{prefix} '{step.name}'".strip() if prefix else f"'{step.name}'"


def diagnose(plan: Plan, frame: pl.DataFrame, step: Step) -> list[Diagnostic]:
    """Why `step` produced an undefined value: each cause with the rows affected."""
    ctx = _context(plan, step)
    problems: list[Diagnostic] = []
    where = f"in the {_what(step)} ({step.formula})" if step.formula else f"in {_what(step)}"

    def test(node: sympy.Basic, mask: pl.Expr, code: Code, text: str) -> None:
        hit = frame.select(mask.fill_null(False).any()).item()
        if hit:
            rows = _rows(plan, frame, mask.fill_null(False))
            problems.append(
                Diagnostic(
                    code,
                    f"{text} {where}, for: {rows}",
                    expected="data on which the formula is defined",
                )
            )

    def walk(node: sympy.Basic) -> None:
        # a pairwise node's terms are written in the difference Δ, not in columns
        args = node.args[:3] if isinstance(node, ir.PAIRWISE) else node.args
        for a in args:
            if isinstance(a, sympy.Basic):
                walk(a)
        if isinstance(node, sympy.Pow) and node.exp.is_Number and node.exp < 0:
            test(
                node,
                to_polars(node.base, ctx) == 0,
                Code.DIVISION_BY_ZERO,
                f"division by zero: {show(node.base)} is 0",
            )
        elif isinstance(node, sympy.Pow) and node.exp.is_Number and not node.exp.is_integer:
            test(
                node,
                to_polars(node.base, ctx) < 0,
                Code.DOMAIN,
                f"power {show(node.exp)} of a negative value: {show(node.base)} < 0",
            )
        elif isinstance(node, sympy.log):
            test(
                node,
                to_polars(node.args[0], ctx) <= 0,
                Code.DOMAIN,
                f"logarithm of a value <= 0: {show(node.args[0])}",
            )
        elif isinstance(node, ir.Stat) and not isinstance(node, ir.ColCount):
            x = to_polars(node.operand, ctx)
            empty = x.count() == 0
            test(
                node,
                empty.over(list(node.keys)) if node.keys else empty,
                Code.ALL_MISSING,
                f"{node.label}() over no present value: {show(node.operand)} is missing "
                "for every unit",
            )

    if step.requires is not None:  # the declared domain first: it names the cause best
        ok = to_polars(step.requires, ctx).fill_null(True)
        test(
            step.requires,
            ~ok,
            Code.DOMAIN,
            f"{step.requirement}: {show(step.requires)} does not hold",
        )
    if not problems:
        walk(step.expr)
    if not problems:
        col = pl.col(step.column)
        mask = col.is_not_null() & ~col.is_finite()
        problems.append(
            Diagnostic(
                Code.NOT_FINITE,
                f"the result is not a finite number {where}, for: " + _rows(plan, frame, mask),
                expected="finite values",
            )
        )
    return problems
