"""Nothing undefined passes silently on a SQL engine either: the audit, in SQL.

The same rules and messages as the polars audit (:func:`engine.backends.polars.execute.audit`).
The run's query already computed the summary (:mod:`.summary`); only when it shows a
problem, or a computed column has missing values, are the steps looked at one by one,
with queries over the result table (unit-level steps) or over the detail rows (computed
again: they are not kept). The first failing step in plan order is taken apart
(:func:`diagnose`): a zero denominator, a logarithm of a non-positive value, a power of a
negative value, a statistic over no present value, or a declared domain broken, each
with the units and periods affected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import sympy
from sqlglot import exp

from engine.backends.polars.audit import _plural, _what
from engine.backends.sql.dialects import IsFinite
from engine.backends.sql.functions import column
from engine.backends.sql.lower import Definition
from engine.backends.sql.statements import HIDDEN, Chain, Relation, step_context
from engine.backends.sql.summary import audited, holds, requirement, row_checks, statistics
from engine.diagnostics import Code, DataError, Diagnostic
from engine.formula import ir
from engine.formula.render import show
from engine.plan import Plan, Step

__all__ = ["Base", "Fetch", "audit"]

#: runs a query and returns its rows
Fetch = Callable[[exp.Expr], pl.DataFrame]
MASK = HIDDEN + "mask"
LIMIT = 10


@dataclass(frozen=True)
class Base:
    """Rows to look at: a relation of a chain of CTEs."""

    chain: Chain
    rel: Relation

    def define(self, defs: list[Definition]) -> Base:
        chain = self.chain.copy()
        return Base(chain, chain.define(self.rel, defs, f"{HIDDEN}x{len(chain.ctes)}_"))


def audit(
    plan: Plan,
    fetch: Fetch,
    summary: Mapping[str, object],
    units: Base,
    detail: Base | None,
) -> None:
    """Raise a DataError naming the first undefined value, detail rows first."""
    if detail is not None:
        _audit(plan, fetch, summary, detail, True)
    _audit(plan, fetch, summary, units, False)


def _audit(
    plan: Plan, fetch: Fetch, summary: Mapping[str, object], base: Base, on_detail: bool
) -> None:
    steps = audited(plan, on_detail)
    if not steps:
        return
    prefix = "detail:" if on_detail else ""
    flags: dict[str, bool] = {}
    if not (summary[prefix + "finite"] and summary[prefix + "domain"]):
        flags = _flags(plan, fetch, base, steps)
    for s in steps:
        nulls = summary[prefix + "nulls:" + s.column]
        if (
            flags.get(s.column)
            or summary.get(prefix + "missing:" + s.column)
            or (nulls and _empty_statistic(plan, fetch, base, s))
        ):
            # the first failing step in plan order: later ones are its consequences
            raise DataError(diagnose(plan, fetch, base, s))


def _flags(plan: Plan, fetch: Fetch, base: Base, steps: list[Step]) -> dict[str, bool]:
    """Per step: a NaN or infinite value, or its declared domain broken somewhere."""
    required = [s for s in steps if s.requires is not None]
    defs = row_checks(plan, steps)[1:]  # the declared domains
    looked = base.define(defs) if defs else base
    names = {s.column: requirement(i) for i, s in enumerate(required)}
    aggs = []
    for i, s in enumerate(steps):
        bad: exp.Expr = exp.not_(IsFinite(this=column(s.column)))
        if s.column in names:
            bad = exp.or_(bad, exp.not_(holds(names[s.column])))
        flag = exp.Case(
            ifs=[exp.If(this=bad, true=exp.Literal.number(1))], default=exp.Literal.number(0)
        )
        aggs.append(exp.alias_(exp.Max(this=flag), f"f{i}"))
    row = fetch(looked.chain.select(looked.rel, aggs)).row(0)
    return {s.column: bool(v) for s, v in zip(steps, row)}


def _empty_statistic(plan: Plan, fetch: Fetch, base: Base, step: Step) -> bool:
    """Whether a statistic in `step` is taken over a group with no present value."""
    ctx = step_context(plan, step)
    for st in statistics(step.expr):
        looked = base.define([Definition(f"{HIDDEN}operand", st.operand, ctx)])
        count = exp.alias_(exp.Count(this=column(f"{HIDDEN}operand")), "n")
        query = looked.chain.select(looked.rel, [count])
        if st.keys:  # rows without a label are in no group
            present = exp.and_(
                *(exp.not_(exp.Is(this=column(k), expression=exp.Null())) for k in st.keys)
            )
            query = query.where(present).group_by(*(column(k) for k in st.keys))
        counts = fetch(query)["n"]
        if (counts == 0).any():
            return True
    return False


def _rows(
    plan: Plan,
    fetch: Fetch,
    base: Base,
    mask: sympy.Basic | exp.Expr,
    step: Step,
    *,
    broken: bool = False,
) -> tuple[int, str] | None:
    """How many rows `mask` selects and the keys of the first ('A 2010, B 2010 and 3
    more'), or None.
    With `broken`, `mask` is a declared domain and the rows are those where it fails."""
    if isinstance(mask, sympy.Basic):
        looked = base.define([Definition(MASK, mask, step_context(plan, step))])
        cond: exp.Expr = exp.not_(holds(MASK)) if broken else column(MASK)
    else:
        looked, cond = base, mask
    keys = [k for k in plan.methodology.layout.detail_keys if k in looked.rel.columns]
    total = exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), f"{HIDDEN}n")
    query = looked.chain.select(
        looked.rel,
        [column(k) for k in keys] + [total],
        order=keys,
        where=exp.Coalesce(this=cond, expressions=[exp.false()]),
    ).limit(LIMIT)
    hit = fetch(query)
    if hit.height == 0:
        return None
    names = [" ".join(str(v) for v in row) for row in hit.select(keys).iter_rows()]
    n = int(hit[f"{HIDDEN}n"][0])
    more = f" and {n - LIMIT} more" if n > LIMIT else ""
    return n, ", ".join(names) + more


def diagnose(plan: Plan, fetch: Fetch, base: Base, step: Step) -> list[Diagnostic]:
    """Why `step` produced an undefined value: each cause with the rows affected."""
    problems: list[Diagnostic] = []
    where = f"in the {_what(step)} ({step.formula})" if step.formula else f"in {_what(step)}"

    def test(mask: sympy.Basic | exp.Expr, code: Code, text: str, broken: bool = False) -> None:
        rows = _rows(plan, fetch, base, mask, step, broken=broken)
        if rows is not None:
            problems.append(
                Diagnostic(
                    code,
                    f"{text} {where}, {_plural(rows[0])}: {rows[1]}",
                    expected="data on which the formula is defined",
                )
            )

    def walk(node: sympy.Basic) -> None:
        for a in node.args:
            if isinstance(a, sympy.Basic):
                walk(a)
        zero = sympy.Integer(0)
        if isinstance(node, sympy.Pow) and node.exp.is_Number and node.exp < 0:
            test(
                sympy.Eq(node.base, zero, evaluate=False),
                Code.DIVISION_BY_ZERO,
                f"division by zero: {show(node.base)} is 0",
            )
        elif isinstance(node, sympy.Pow) and node.exp.is_Number and not node.exp.is_integer:
            test(
                sympy.StrictLessThan(node.base, zero, evaluate=False),
                Code.DOMAIN,
                f"power {show(node.exp)} of a negative value: {show(node.base)} < 0",
            )
        elif isinstance(node, sympy.log):
            test(
                sympy.LessThan(node.args[0], zero, evaluate=False),
                Code.DOMAIN,
                f"logarithm of a value <= 0: {show(node.args[0])}",
            )
        elif isinstance(node, ir.Stat) and not isinstance(node, ir.ColCount):
            count = ir.stat(ir.ColCount, node.operand, node.keys)
            test(
                sympy.Eq(count, zero, evaluate=False),
                Code.ALL_MISSING,
                f"{node.label}() over no present value: "
                f"{show(node.operand)} is missing for every unit",
            )

    if step.requires is not None:  # the declared domain first: it names the cause best
        test(
            step.requires,
            Code.DOMAIN,
            f"{step.requirement}: {show(step.requires)} does not hold",
            broken=True,
        )
    if not problems:
        walk(step.expr)
    if not problems:
        col = column(step.column)
        mask = exp.and_(
            exp.not_(exp.Is(this=col, expression=exp.Null())),
            exp.not_(IsFinite(this=col.copy())),
        )
        rows = _rows(plan, fetch, base, mask, step)
        n, names = rows or (0, "")
        problems.append(
            Diagnostic(
                Code.NOT_FINITE,
                "the result is not a finite number (an overflow: beyond ±1.8e308) "
                f"{where}, {_plural(n)}: {names}",
                expected="finite values",
            )
        )
    return problems
