"""The replicated plan of a sensitivity analysis: the methodology with every uncertain
choice as data.

Weights become products with factor columns (``__w.<group>.<member>``, 1 at the nominal
weights), and each set of alternatives (normalisations, aggregations, imputations,
treatments) a choice between branches on a column of the replication table; every
statistic is also grouped by the replication (``__rep``), so that one query computes
every replication at once (see :mod:`engine.analysis.sensitivity`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import sympy

from engine.diagnostics import Code, Diagnostic, MethodologyError
from engine.format.model import Derived, Methodology, Uncertainty
from engine.formula import ir
from engine.methods import catalogue
from engine.methods.registry import Kind
from engine.plan import Plan, Step, StepKind, build_plan, in_stages

REP = "__rep"
NORM_CHOICE, AGG_CHOICE, IMP_CHOICE, TREAT_CHOICE = "__norm", "__agg", "__imp", "__treat"


def factor_column(group: str, member: str) -> str:
    """The column of the factor that multiplies `member`'s weight in `group`."""
    return f"__w.{group}.{member}"


def _choice(alternatives: Sequence[sympy.Expr], column: str) -> sympy.Expr:
    if len(alternatives) == 1:
        return alternatives[0]
    branches = [
        (alt, sympy.Eq(sympy.Symbol(column), k, evaluate=False))
        for k, alt in enumerate(alternatives[:-1])
    ]
    return sympy.Piecewise(*branches, (alternatives[-1], True), evaluate=False)


def replicated_methodology(m: Methodology, design: Uncertainty) -> Methodology:
    """`m` with weights as factor columns and the alternatives as choices between branches."""
    procedures = [
        g.name for g in m.groups if catalogue.aggregation(g.aggregation).kind is Kind.PROCEDURE
    ]
    if procedures:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.UNKNOWN_METHOD,
                    f"group {', '.join(repr(g) for g in procedures)}: benefit of the doubt "
                    "solves a linear program per unit, with weights of the unit's own "
                    "choosing; the sensitivity analysis cannot replicate it",
                    expected="a methodology whose groups aggregate with given or data-driven "
                    "weights",
                )
            ]
        )
    indicators = []
    for ind in m.indicators:
        alts = [dict(alt)[ind.name] for alt in design.normalisations if ind.name in dict(alt)]
        if alts:
            expr = _choice([a.expr for a in alts], NORM_CHOICE)
            ind = dataclasses.replace(
                ind,
                normalisation=dataclasses.replace(
                    ind.normalisation, expr=expr, requires=None, formula=None, method="uncertain"
                ),
            )
        indicators.append(ind)
    period_keys = (m.layout.period,) if m.layout.period else ()
    groups = []
    for g in m.groups:
        if g.aggregation == "formula":
            groups.append(g)
            continue
        weights = [
            sympy.Mul(sympy.Symbol(factor_column(g.name, mem)), w, evaluate=False)
            for mem, w in zip(g.members, g.weights)
        ]
        spec = {"method": g.aggregation, **dict(g.params)}
        if design.aggregations:
            alts = [
                catalogue.aggregate(a, g.members, weights, period_keys, cost=g.cost)
                for a in design.aggregations
            ]
            expr = _choice(alts, AGG_CHOICE)
        elif g.coverage != "all":
            expr = catalogue.aggregate_present(
                g.aggregation,
                g.members,
                weights,
                float(g.coverage),
                dict(g.params),
                period_keys,
                g.cost,
            )
        else:
            expr = catalogue.aggregate(g.aggregation, g.members, weights, period_keys, spec, g.cost)
        groups.append(dataclasses.replace(g, expr=expr))
    return dataclasses.replace(
        m,
        indicators=tuple(indicators),
        groups=tuple(groups),
        derived=_derived_for_classes(m),
        checks=(),
        screening=(),
    )


def _derived_for_classes(m: Methodology) -> tuple[Derived, ...]:
    """The derived outputs the classes read (directly or through one another), which every
    replication computes; the others are left out."""
    if m.classes is None or m.classes.on is None:
        return ()
    by_name = {d.name: d for d in m.derived}
    needed: set[str] = set()
    todo = list(ir.free_names(m.classes.on) & set(by_name))
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += list(ir.free_names(by_name[name].expr) & set(by_name))
    return tuple(d for d in m.derived if d.name in needed)


def _preparation_choices(
    m: Methodology, design: Uncertainty, planned: set[str]
) -> tuple[list[Step], dict[str, str]]:
    """Steps computing every imputation and treatment alternative of each indicator, and the
    column each indicator's normalisation then reads (a choice between them); `planned` are
    the columns the plan already computes (a declared imputation's ``X.imputed``)."""
    keys = (m.layout.period,) if m.layout.period else ()
    steps: list[Step] = []
    source: dict[str, str] = {}
    for ind in m.indicators:
        # a declared imputation that has no alternatives stays: treatments start from it
        current = ind.name + ".imputed" if ind.name + ".imputed" in planned else ind.name
        if design.imputations:
            options = []
            for k, spec in enumerate(design.imputations):
                expr = catalogue.impute(
                    dict(spec), ind.name, keys, m.layout.unit, m.layout.period, m
                )
                if expr is None:
                    options.append(sympy.Symbol(ind.name))
                    continue
                steps.append(Step(f"{ind.name}.imp~{k}", expr, StepKind.IMPUTED, ind.name))
                options.append(sympy.Symbol(f"{ind.name}.imp~{k}"))
            current = f"{ind.name}.imp*"
            steps.append(Step(current, _choice(options, IMP_CHOICE), StepKind.IMPUTED, ind.name))
        if design.treatments:
            options = []
            for k, spec in enumerate(design.treatments):
                treat = catalogue.treat(dict(spec), current, keys, f"{ind.name}.tr~{k}")
                steps += [Step(column, expr, StepKind.TREATED, ind.name) for column, expr in treat]
                options.append(sympy.Symbol(treat[-1][0]) if treat else sympy.Symbol(current))
            steps.append(
                Step(f"{ind.name}.tr*", _choice(options, TREAT_CHOICE), StepKind.TREATED, ind.name)
            )
            current = f"{ind.name}.tr*"
        if current != ind.name:
            source[ind.name] = current
    return steps, source


def replicated_plan(m: Methodology, design: Uncertainty) -> Plan:
    """The plan that computes every replication of `design` at once."""
    replicated = replicated_methodology(m, design)
    # the alternatives of a stage replace the declared method of that stage only; the other
    # stage keeps what the methodology declares (and reads the chosen alternative)
    replicated = dataclasses.replace(
        replicated,
        indicators=tuple(
            dataclasses.replace(
                i,
                imputation=() if design.imputations else i.imputation,
                treatment=() if design.treatments else i.treatment,
            )
            for i in replicated.indicators
        ),
    )
    plan = build_plan(replicated)
    if plan.detail:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.GRAIN,
                    "sensitivity analysis needs unit-level data only",
                    expected="a methodology without data.detail",
                )
            ]
        )
    extra, source = _preparation_choices(replicated, design, set(plan.steps))

    def fix(step: Step, planned: bool = True) -> Step:
        expr, requires = step.expr, None
        reads_choice = step.kind in (StepKind.NORMALISED, StepKind.TREATED)
        if planned and reads_choice and step.name in source:
            # the declared treatment (or, without one, the normalisation) reads the chosen
            # alternative instead of the raw or declared-imputed column
            chosen = sympy.Symbol(source[step.name])
            expr = ir.rename(expr, {step.name: chosen, step.name + ".imputed": chosen})
        return dataclasses.replace(step, expr=expr, requires=requires)

    steps = [s for stage in plan.first for s in stage]
    # the alternatives read the indicators and any declared imputation: those come first
    first = [s for s in steps if s.kind in (StepKind.INDICATOR, StepKind.IMPUTED)]
    rest = [s for s in steps if s.kind not in (StepKind.INDICATOR, StepKind.IMPUTED)]
    ordered = [fix(s) for s in first] + [fix(s, False) for s in extra] + [fix(s) for s in rest]
    base = (
        set(m.layout.keys)
        | {i.name for i in m.inputs}
        | {NORM_CHOICE, AGG_CHOICE, IMP_CHOICE, TREAT_CHOICE}
    )
    base |= {factor_column(g.name, mem) for g in m.groups for mem in g.members}
    return dataclasses.replace(
        plan,
        first=in_stages(ordered, base),
        after=tuple(tuple(fix(s) for s in st) for st in plan.after),
    )
