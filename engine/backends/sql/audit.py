"""Nothing undefined passes silently on a SQL engine either: the audit, in SQL.

The same rules and messages as the polars audit (:mod:`engine.backends.polars.audit`),
word for word. The run's query marks, per step, the rows where an operation had no
finite result or the declared domain does not hold (the step's marker column, see
:func:`engine.backends.sql.printer.to_sql_step`), and the summary (:mod:`.summary`)
counts them. Only where a count is not zero, or a computed number has missing values
although a statistic might explain them, are the steps looked at one by one, with
queries over the result table (unit-level steps) or over the detail rows (computed
again: they are not kept). Each cause is named with the units and periods it affects:
a zero denominator, a logarithm of a non-positive value, a power of a negative value,
a statistic over no present value, a declared domain broken. A step whose missing
values follow from an earlier step's undefined ones is not reported again. What
happens then is the methodology's choice (``undefined``: ``report`` or ``error``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import sympy
from sqlglot import exp

from engine.backends.polars.audit import SHOWN_ROWS, _plural, _unexplained, _what, apply_policy
from engine.backends.sql.functions import column, literal
from engine.backends.sql.lower import Definition
from engine.backends.sql.printer import marker, paren
from engine.backends.sql.statements import HIDDEN, Chain, Relation, step_context
from engine.backends.sql.summary import audited, statistics
from engine.diagnostics import Code, Diagnostic
from engine.formula import ir
from engine.formula.render import show
from engine.plan import Plan, Step, StepKind

__all__ = ["Base", "Fetch", "audit"]

#: runs a query and returns its rows
Fetch = Callable[[exp.Expr], pl.DataFrame]
REQUIRES = HIDDEN + "requires"


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
) -> tuple[Diagnostic, ...]:
    """Every undefined value of the computed columns, detail rows first, as warnings
    (``undefined: report``) or raised as a DataError (``undefined: error``)."""
    found: list[Diagnostic] = []
    tainted: set[str] = set()
    if detail is not None:
        found += _audit(plan, fetch, summary, detail, True, tainted)
    found += _audit(plan, fetch, summary, units, False, tainted)
    return apply_policy(plan, found)


def _count(summary: Mapping[str, object], name: str) -> int:
    value = summary.get(name)
    return value if isinstance(value, int) else 0


def _audit(
    plan: Plan,
    fetch: Fetch,
    summary: Mapping[str, object],
    base: Base,
    on_detail: bool,
    tainted: set[str],
) -> list[Diagnostic]:
    """The undefined values of one phase; `tainted` collects the columns with undefined
    values and those missing because of them (as the polars audit's)."""
    prefix = "detail:" if on_detail else ""
    found: list[Diagnostic] = []
    for s in audited(plan, on_detail):
        marked = _count(summary, f"{prefix}undefined:{s.column}")
        upstream = bool(ir.free_names(s.expr) & tainted)
        if marked:
            found += diagnose(plan, fetch, base, s, column(marker(s.column)), marked)
            tainted.add(s.column)
        elif (
            s.kind != StepKind.PART  # a part's empty statistic is explained where it is read
            and _count(summary, f"{prefix}nulls:{s.column}")
            and _empty_statistic(plan, fetch, base, s)
        ):
            if not upstream:
                missing = exp.Is(this=column(s.column), expression=exp.Null())
                found += diagnose(plan, fetch, base, s, missing, None)
            tainted.add(s.column)
        elif upstream:
            tainted.add(s.column)
    return found


def _empty_statistic(plan: Plan, fetch: Fetch, base: Base, step: Step) -> bool:
    """Whether a statistic in `step` is taken over a group with no present value."""
    ctx = step_context(plan, step)
    for st in statistics(plan.written_out(step.expr)):
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


def _rows(plan: Plan, fetch: Fetch, base: Base, cond: exp.Expr) -> tuple[int, str]:
    """How many rows `cond` selects and the keys of the first, in key order ('A 2010,
    B 2010 and 3 more')."""
    keys = [k for k in plan.methodology.layout.detail_keys if k in base.rel.columns]
    total = exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), f"{HIDDEN}n")
    query = base.chain.select(
        base.rel,
        [column(k) for k in keys] + [total],
        order=keys,
        where=exp.Coalesce(this=paren(cond), expressions=[exp.false()]),
    ).limit(SHOWN_ROWS)
    hit = fetch(query)
    if hit.height == 0:
        return 0, ""
    names = [" ".join(str(v) for v in row) for row in hit.select(keys).iter_rows()]
    n = int(hit[f"{HIDDEN}n"][0])
    more = f" and {n - SHOWN_ROWS} more" if n > SHOWN_ROWS else ""
    return n, ", ".join(names) + more


def diagnose(
    plan: Plan, fetch: Fetch, base: Base, step: Step, rows: exp.Expr, marked: int | None
) -> list[Diagnostic]:
    """Why `step` has undefined values in `rows` (`marked` of them, when counted): each
    cause with the rows it affects, or one diagnostic for what no cause explains (as
    :func:`engine.backends.polars.audit.diagnose`)."""
    ctx = step_context(plan, step)
    problems: list[Diagnostic] = []
    where = f"in the {_what(step)} ({step.formula})" if step.formula else f"in the {_what(step)}"
    selected = [exp.Coalesce(this=paren(rows), expressions=[exp.false()])]

    def within(*parts: exp.Expr) -> exp.Expr:
        return exp.and_(*(paren(p.copy()) for p in [*selected, *parts]))

    def test(terms: dict[str, sympy.Basic], mask: exp.Expr, code: Code, text: str) -> None:
        """`mask` over the columns `terms` (plain values of parts of the formula)."""
        looked = base.define([Definition(HIDDEN + n, e, ctx) for n, e in terms.items()])
        n, names = _rows(plan, fetch, looked, within(mask))
        if n:
            problems.append(
                Diagnostic(
                    code,
                    f"{text} {where}, {_plural(n)}: {names}",
                    expected="data on which the formula is defined",
                )
            )

    def term(name: str) -> exp.Expr:
        return column(HIDDEN + name)

    def below(name: str, strict: bool = True) -> exp.Expr:  # term < 0 (<= 0)
        cls = exp.LT if strict else exp.LTE
        return cls(this=term(name), expression=literal(0.0))

    def is_zero(name: str) -> exp.Expr:
        return exp.EQ(this=term(name), expression=literal(0.0))

    def walk(node: sympy.Basic) -> None:
        # a pairwise node's terms are written in the difference Δ, not in columns
        args = node.args[:3] if isinstance(node, ir.PAIRWISE) else node.args
        for a in args:
            if isinstance(a, sympy.Basic):
                walk(a)
        if isinstance(node, sympy.Pow):
            b, p = node.args
            if isinstance(p, sympy.Number):
                if p < 0:
                    text = f"division by zero: {show(b)} is 0"
                    test({"b": b}, is_zero("b"), Code.DIVISION_BY_ZERO, text)
                if not p.is_integer:
                    text = f"power {show(p)} of a negative value: {show(b)} < 0"
                    test({"b": b}, below("b"), Code.DOMAIN, text)
            else:
                fractional = exp.NEQ(this=exp.Floor(this=term("e")), expression=term("e"))
                undefined = exp.or_(
                    exp.and_(is_zero("b"), below("e")), exp.and_(below("b"), fractional)
                )
                text = f"power {show(p)} of {show(b)} is undefined"
                test({"b": b, "e": p}, undefined, Code.DOMAIN, text)
        elif isinstance(node, sympy.log):
            text = f"logarithm of a value <= 0: {show(node.args[0])}"
            test({"x": node.args[0]}, below("x", strict=False), Code.DOMAIN, text)
        elif isinstance(node, ir.Stat) and not isinstance(node, ir.ColCount):
            count = ir.stat(ir.ColCount, node.operand, node.keys)
            text = (
                f"{node.label}() over no present value: {show(node.operand)} is missing "
                "for every unit"
            )
            test({"n": count}, is_zero("n"), Code.ALL_MISSING, text)

    if step.requires is not None:  # the declared domain first: it names the cause best
        base = base.define([Definition(REQUIRES, step.requires, ctx)])
        holds = exp.Coalesce(this=column(REQUIRES), expressions=[exp.true()])
        text = f"{step.requirement}: {show(step.requires)} does not hold"
        test({}, exp.not_(holds), Code.DOMAIN, text)
        selected.append(holds.copy())  # the other rows may have another cause
        if problems and not _rows(plan, fetch, base, within())[0]:
            return problems
    walk(plan.written_out(step.expr))  # the parts it reads as the method wrote them
    if not problems:
        n, names = _rows(plan, fetch, base, within())
        what = _unexplained(marked is None)
        problems.append(
            Diagnostic(
                Code.NOT_FINITE, f"{what} {where}, {_plural(n)}: {names}", expected="finite values"
            )
        )
    return problems
