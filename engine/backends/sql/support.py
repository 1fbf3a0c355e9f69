"""What a SQL engine cannot compute, found before any data is read.

A methodology runs on a SQL engine only if every node of every step has a SQL rule in
:mod:`engine.backends.sql.printer` and the engine's dialect does not refuse the feature
(:attr:`~engine.backends.sql.dialects.SqlDialect.refuses`). Otherwise the run is refused
with the feature named, never approximated. :data:`REFUSED` lists the IR nodes that
have no SQL rule on purpose, and why (a test checks that every IR node class has a rule
or an entry here, so that a new node cannot reach a SQL engine unnoticed).
"""

from __future__ import annotations

from collections.abc import Iterator

import sympy

from engine.backends.sql.dialects import SqlDialect
from engine.backends.sql.printer import has_rule
from engine.diagnostics import Code, Diagnostic, MethodologyError
from engine.formula import ir
from engine.plan import Plan, Step

__all__ = ["REFUSED", "refusals", "require_support"]

#: IR nodes without a SQL rule, and why
REFUSED: dict[type, str] = {
    ir.Copeland: "the Copeland aggregation compares every pair of units within a period "
    "(a self-join per group); it has no SQL rule yet",
    ir.PairSum: "a sum over every pair of units within a period (PROMETHEE's flows, OGWA's "
    "spatial kernel) needs a self-join per group; it has no SQL rule yet",
    ir.FillBackward: "next observation carried backward (panel imputation) has no SQL rule yet",
    ir.Procedure: "a value computed by a procedure of the polars engine (the bounds of "
    "COINr's winsorisation), not by a formula",
}


def _nodes(expr: sympy.Basic) -> Iterator[sympy.Basic]:
    yield expr
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            yield from _nodes(a)


def _step_problem(step: Step, node: sympy.Basic, d: SqlDialect) -> str | None:
    if type(node) in REFUSED:
        return REFUSED[type(node)]
    if isinstance(node, ir.Str | sympy.Tuple):
        return None
    if not has_rule(node):
        return f"no SQL rule for {type(node).__name__}"
    if isinstance(node, ir.ColMedian | ir.ColQuantile) and d.QUANTILE in d.refuses:
        return d.refuses[d.QUANTILE]
    if isinstance(node, ir.FillForward) and d.LOCF in d.refuses:
        return d.refuses[d.LOCF]
    if isinstance(node, ir.ColStd) and node.ddof not in (0, 1):
        return f"std() with ddof {node.ddof}: SQL has the sample (1) and population (0) SD only"
    if isinstance(node, ir.Round) and not 0 <= int(node.args[1]) <= 12:
        return "round() to more than 12 decimals (or fewer than 0)"
    return None


def _what(step: Step) -> str:
    return f"'{step.name}'" + (f" ({step.formula})" if step.formula else "")


#: why the SQL engines cannot compute what polars estimates by a pass of its own
_BOD = "benefit of the doubt solves a linear program per unit (HiGHS); it has no SQL rule"
_OPTIMISED = (
    "the weights are estimated by an optimiser in Python over a first pass; the SQL "
    "engines estimate PCA weights only"
)
_EM = "expectation-maximisation iterates in Python over the whole table; it has no SQL rule"
_AVAILABILITY = "the units kept are chosen in Python over a first pass; it has no SQL rule"


def _estimated(plan: Plan) -> list[tuple[str, str]]:
    """What polars estimates by a pass of its own before the query (the runner's
    ``estimate``) and the SQL run does not: (what, why) per feature."""
    from engine.methods.aggregate_bod import bod_methods

    m = plan.methodology
    found = []
    bod = bod_methods()
    for g in m.groups:
        if g.aggregation in bod:
            found.append((f"'{g.name}' ({g.aggregation} aggregation)", _BOD))
        if g.weighting in ("optimised", "pca_rotated"):
            found.append((f"'{g.name}' ({g.weighting} weights)", _OPTIMISED))
    for i in m.indicators:
        if dict(i.imputation).get("method") == "em":
            found.append((f"'{i.name}' (EM imputation)", _EM))
    if m.availability is not None:
        found.append(("availability screening", _AVAILABILITY))
    return found


def refusals(plan: Plan, d: SqlDialect) -> list[Diagnostic]:
    """Every feature of `plan` that the engine of dialect `d` cannot compute."""
    problems: list[Diagnostic] = [
        Diagnostic(
            Code.UNSUPPORTED,
            f"the {d.name} engine cannot compute {what}: {why}",
            expected="a methodology every step of which has a SQL rule; "
            "run it with --engine polars",
        )
        for what, why in _estimated(plan)
    ]
    seen: set[tuple[str, str]] = set()
    for step in plan.steps.values():
        exprs = [step.expr] + ([step.requires] if step.requires is not None else [])
        for expr in exprs:
            for node in _nodes(expr):
                why = _step_problem(step, node, d)
                if why is not None and (step.name, why) not in seen:
                    seen.add((step.name, why))
                    problems.append(
                        Diagnostic(
                            Code.UNSUPPORTED,
                            f"the {d.name} engine cannot compute {_what(step)}: {why}",
                            expected="a methodology every step of which has a SQL rule; "
                            "run it with --engine polars",
                        )
                    )
    if plan.classes is not None and plan.classes.quantiles and d.QUANTILE in d.refuses:
        problems.append(
            Diagnostic(
                Code.UNSUPPORTED,
                f"the {d.name} engine cannot compute quantile classes: {d.refuses[d.QUANTILE]}",
            )
        )
    if d.case_insensitive:
        problems += _case_clashes(plan, d)
    return problems


def _case_clashes(plan: Plan, d: SqlDialect) -> list[Diagnostic]:
    """Column names that differ only in case name the same column in the engine."""
    m = plan.methodology
    names = list(m.layout.detail_keys) + list(m.layout.labels) + [i.name for i in m.inputs]
    names += list(plan.steps)
    seen: dict[str, str] = {}
    problems = []
    for n in dict.fromkeys(names):
        other = seen.setdefault(n.casefold(), n)
        if other != n:
            problems.append(
                Diagnostic(
                    Code.UNSUPPORTED,
                    f"the {d.name} engine cannot tell '{other}' from '{n}': it compares "
                    "column names without regard to case",
                    expected="names that differ by more than case",
                )
            )
    return problems


def require_support(plan: Plan, d: SqlDialect) -> None:
    """Raise a MethodologyError naming what the engine cannot compute, if anything."""
    problems = refusals(plan, d)
    if problems:
        raise MethodologyError(problems)
