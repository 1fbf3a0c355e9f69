"""The plan: every output column as a sympy expression over columns, in stages.

The methodology's names are rewritten to the columns they read (an indicator inside a
group means its normalised column ``SD.norm``), so every step's expression is over
column names only. Steps are grouped into stages by dependency depth; each stage
becomes one ``with_columns`` of the lazy query, so the methodology runs as one query.

With detail data (one row per unit × period × detail key, see :mod:`engine.formula.grain`) the
query has three phases: unit-level steps that need no detail rows; then, on the detail
rows (with the unit-level columns joined in), the detail steps and the reductions; then
the detail rows collapse to one row per unit and period and the remaining unit-level
steps run. Without detail data everything is phase 1.

Columns written (in output order): the key and label columns; per unit-level indicator
its raw value ``SD`` and its normalised value ``SD.norm``; every group; ``index`` (and
``index_unrounded`` when the index is rounded); ``rank``; ``class`` and
``class_group``; derived outputs; screening rules. Check results are the boolean
columns ``check.<name>``, reported, not written.

After a plan is built the methodology can no longer cause a failure: what fails later
is the data (or an engine bug).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import sympy

from engine.diagnostics import Code, Diagnostic, MethodologyError
from engine.format.model import (
    CLASS_VALUE,
    Derived,
    Group,
    IndexSpec,
    Indicator,
    Methodology,
    OutputType,
)
from engine.formula import grain, ir
from engine.formula.render import show
from engine.methods import catalogue
from engine.methods.terms import X
from engine.plan.model import Phase, Plan, Stages, Step, StepKind, norm_column


def _rename(expr: sympy.Basic, mapping: dict[str, str]) -> sympy.Basic:
    return ir.rename(expr, {a: sympy.Symbol(b) for a, b in mapping.items()})


def in_stages(
    steps: list[Step], base: set[str], known: Mapping[int, set[str]] | None = None
) -> Stages:
    """The steps by dependency depth. `known` has the columns some expressions read, by
    the expression's id (as :func:`engine.formula.ir.free_names` finds them), which need
    not be found again."""
    depth: dict[str, int] = {c: 0 for c in base}
    for step in steps:  # steps come in dependency order
        found = known.get(id(step.expr)) if known is not None else None
        reads = set(found) if found is not None else ir.free_names(step.expr)
        if step.requires is not None:  # the declared domain is checked where the step runs
            reads |= ir.free_names(step.requires)
        depth[step.column] = 1 + max((depth.get(c, 0) for c in reads), default=0)
    levels: dict[int, list[Step]] = {}
    for step in steps:
        levels.setdefault(depth[step.column], []).append(step)
    return tuple(tuple(levels[d]) for d in sorted(levels))


def normalised(m: Methodology) -> list[Indicator]:
    """Indicators that get a normalised column: unit-level ones that are aggregated, or
    that have a normalisation other than 'none'."""
    used = {n for g in m.groups for n in g.members} | (
        ir.free_names(m.index.expr) if m.index else set()
    )
    return [
        i
        for i in m.indicators
        if i.grain == grain.UNIT and (i.name in used or i.normalisation.method != "none")
    ]


def _steps(m: Methodology) -> list[Step]:
    """Every step in the order of the methodology: indicators, their preparation and
    normalisation, groups, the index and ranks, derived outputs, the class value, checks."""
    period_keys = (m.layout.period,) if m.layout.period else ()
    unit_level = normalised(m)
    normed = {i.name: norm_column(i.name) for i in unit_level}
    steps = [
        Step(ind.name, ind.expr, StepKind.INDICATOR, ind.name, ind.formula.text)
        for ind in m.indicators
    ]
    normalised_names = {i.name for i in unit_level}
    parts: dict[str, Step] = {}  # the imputations' parts, each computed once
    # an indicator that is imputed or treated gets those steps even when it is not
    # normalised (COINr imputes and treats without normalising)
    for ind in m.indicators:
        prepared = ind.grain == grain.UNIT and (ind.imputation or ind.treatment)
        if ind.name in normalised_names or prepared:
            steps += _preparation(m, ind, period_keys, ind.name in normalised_names, parts)
    steps += [_group_step(g, normed) for g in m.groups]
    if m.index is not None:
        steps += _index_steps(m, m.index, normed, period_keys)
    steps += [_derived_step(d) for d in m.derived]
    if m.classes is not None and m.classes.on is not None:
        text = m.classes.what
        steps.append(Step(CLASS_VALUE, m.classes.on, StepKind.CLASS_VALUE, "class", text))
    for c in m.checks:
        steps.append(Step("check." + c.name, c.expr, StepKind.CHECK, c.name, c.formula.text))
    return steps


def _preparation(
    m: Methodology,
    ind: Indicator,
    period_keys: tuple[str, ...],
    normalise: bool,
    parts: dict[str, Step],
) -> list[Step]:
    """An indicator's imputation, treatment and (when `normalise`) normalisation steps.
    The imputation's parts come first, those not in `parts` yet (which other indicators'
    imputations declared before); `parts` gets them."""
    steps: list[Step] = []
    source = ind.name
    imputed = catalogue.impute_parts(
        dict(ind.imputation), ind.name, period_keys, m.layout.unit, m.layout.period, m
    )
    if imputed is not None:
        declared, expr = imputed
        for column, part in declared:
            known = parts.get(column)
            if known is None:
                owner = column.rsplit(".impute.", 1)[0]
                parts[column] = Step(column, part, StepKind.PART, owner, show(part))
                steps.append(parts[column])
            elif known.expr != part:  # an engine bug: one name, two meanings
                raise ValueError(f"imputation part {column}: {known.expr} and {part}")
        source = ind.name + ".imputed"
        text = f"{dict(ind.imputation)['method']} imputation"
        steps.append(Step(source, expr, StepKind.IMPUTED, ind.name, text))
    for column, expr in catalogue.treat(dict(ind.treatment), source, period_keys, ind.name):
        text = f"{dict(ind.treatment)['method']} treatment"
        steps.append(Step(column, expr, StepKind.TREATED, ind.name, text))
    if ind.treatment:
        source = ind.name + ".treated"
    if not normalise:
        return steps
    norm = ind.normalisation
    to_source = {X.name: sympy.Symbol(source)}
    requires = ir.rename(norm.requires, to_source) if norm.requires is not None else None
    steps.append(
        Step(
            norm_column(ind.name),
            ir.rename(norm.expr, to_source),
            StepKind.NORMALISED,
            ind.name,
            norm.formula.text if norm.formula else norm.method,
            requires=requires,
            requirement=norm.requirement,
        )
    )
    return steps


def _group_step(g: Group, normed: dict[str, str]) -> Step:
    text = g.formula.text if g.formula else f"{g.aggregation} mean of " + ", ".join(g.members)
    requires, requirement = (
        catalogue.member_requirement(g.aggregation, g.members)
        if g.coverage == "all"  # over the present members, a missing one is skipped
        else (None, "")
    )
    requires = _rename(requires, normed) if requires is not None else None
    return Step(
        g.name,
        _rename(g.expr, normed),
        StepKind.GROUP,
        g.name,
        text,
        requires=requires,
        requirement=requirement,
    )


def _index_steps(
    m: Methodology, index: IndexSpec, normed: dict[str, str], period_keys: tuple[str, ...]
) -> list[Step]:
    """The index (rounded when declared, from its unrounded value), its rank, and the
    ranks within label groups."""
    steps: list[Step] = []
    index_expr = _rename(index.expr, normed)
    index_text = index.formula.text if index.formula else index.group
    if index.rounding:
        r = index.rounding
        steps.append(Step("index_unrounded", index_expr, StepKind.INDEX, "index", index_text))
        index_expr = ir.Round(
            sympy.Symbol("index_unrounded"),
            sympy.Integer(r.digits),
            ir.Str(r.mode),
            evaluate=False,
        )
        index_text = f"round(index_unrounded, {r.digits}, mode='{r.mode}')"
    steps.append(Step("index", index_expr, StepKind.INDEX, "index", index_text))

    def rank(keys: tuple[str, ...]) -> sympy.Basic:
        return ir.stat(
            ir.ColRank,
            sympy.Symbol("index"),
            keys,
            sympy.Integer(int(m.ranking.descending)),
            ir.Str(m.ranking.ties),
            sympy.Float(m.ranking.tolerance),
        )

    steps.append(Step("rank", rank(period_keys), StepKind.RANK, "rank", "rank(index)"))
    for name, labels in m.ranking.within:
        text = f"rank(index) within {', '.join(labels)}"
        steps.append(Step(name, rank(period_keys + labels), StepKind.RANK, name, text))
    return steps


def _derived_step(d: Derived) -> Step:
    requires, requirement = _whole(d.expr) if d.type is OutputType.INTEGER else (None, "")
    return Step(
        d.name,
        d.expr,
        StepKind.DERIVED,
        d.name,
        d.formula.text,
        d.periods,
        requires=requires,
        requirement=requirement,
    )


#: how far from a whole number an integer output may be (float round-off in a sum)
WHOLE_TOLERANCE = 1e-9


def _whole(expr: sympy.Basic) -> tuple[sympy.Basic, str]:
    """The condition that `expr` is a whole number (within WHOLE_TOLERANCE), and its meaning."""
    nearest = ir.Round(expr, sympy.Integer(0), ir.Str("half_even"), evaluate=False)
    gap = sympy.Abs(sympy.Add(expr, sympy.Mul(-1, nearest, evaluate=False), evaluate=False))
    return (
        sympy.LessThan(gap, sympy.Float(WHOLE_TOLERANCE), evaluate=False),
        f"an integer output must be a whole number (within {WHOLE_TOLERANCE:g})",
    )


def _assign_phases(m: Methodology, steps: list[Step], reads_of: dict[int, set[str]]) -> list[Step]:
    """Phase of each step: before, on, or after the detail rows (see the module docstring).
    `reads_of` gets the columns each step's expression reads, by the expression's id (the
    steps returned hold the same expressions)."""
    grains = {i.name: i.grain for i in m.inputs} | {i.name: i.grain for i in m.indicators}
    detail_keys = frozenset(m.layout.detail)
    # without detail keys and detail inputs every expression is unit-level and reads no
    # detail rows: grain_of and reads_detail would walk every expression to say so
    unit_only = not detail_keys and grain.DETAIL not in grains.values()
    phase: dict[str, Phase] = {}
    out, problems = [], []
    for s in steps:
        reads = ir.free_names(s.expr)
        reads_of[id(s.expr)] = reads
        if unit_only:
            g, on_detail = grain.UNIT, False
        else:
            g = grain.grain_of(s.expr, grains, detail_keys)
            grains[s.column] = g
            on_detail = g == grain.DETAIL or grain.reads_detail(s.expr, grains)
        p = (
            Phase.DETAIL
            if on_detail
            else (
                Phase.UNIT_AFTER
                if any(phase.get(c, Phase.UNIT_FIRST) > Phase.UNIT_FIRST for c in reads)
                else Phase.UNIT_FIRST
            )
        )
        late = [c for c in reads if phase.get(c) == Phase.UNIT_AFTER]
        if p == Phase.DETAIL and late:
            problems.append(
                Diagnostic(
                    Code.GRAIN,
                    f"'{s.name}' is computed on detail rows but reads {', '.join(late)}, which "
                    "is only known after the detail rows are reduced",
                    expected="detail formulas that read "
                    "inputs, detail indicators and reductions only",
                )
            )
        phase[s.column] = p
        out.append(
            Step(
                s.column,
                s.expr,
                s.kind,
                s.name,
                s.formula,
                s.periods,
                p,
                g,
                s.requires,
                s.requirement,
            )
        )
    if problems:
        raise MethodologyError(problems)
    return out


def _hoist(steps: list[Step], prefix: str = "__h") -> list[Step]:
    """Give every statistic nested in another statistic (or at() inside one) its own column.

    polars evaluates an expression inside a window function within the outer window's
    groups, so ``sum(sum(x, by=[industry]), by=[region])`` would take the inner sum per
    region too; and a window inside a window is planned once per enclosing level, so
    ``mean(mean(mean(x)))`` would cost exponentially more with each level. Every nested
    statistic, and any at() inside a statistic, becomes a hidden column ``__h<n>``
    computed first.
    """
    out: list[Step] = []
    counter = [0]

    def lift(
        expr: sympy.Basic, outer: tuple[str, ...] | None, extra: list[Step], step: Step
    ) -> sympy.Basic:
        inside = outer is not None
        if isinstance(expr, ir.Stat) or (inside and isinstance(expr, ir.At)):
            # what the arguments are inside: a statistic's groups, or at()'s window over
            # the unit's rows (a statistic in at(at(sum(x), 2010), 2014) is hoisted too)
            within = expr.keys if isinstance(expr, ir.Stat) else ("at()",)
            args = [
                lift(a, within, extra, step)
                if isinstance(a, sympy.Basic) and not isinstance(a, sympy.Tuple)
                else a
                for a in expr.args
            ]
            rebuilt = (
                expr.func(*args, evaluate=False)
                if any(a is not b for a, b in zip(args, expr.args))
                else expr
            )
            if inside:
                counter[0] += 1
                name = f"{prefix}{counter[0]}"
                extra.append(Step(name, rebuilt, StepKind.HIDDEN, step.name, show(rebuilt)))
                return sympy.Symbol(name)
            return rebuilt
        if not expr.args or isinstance(expr, ir.Str):
            return expr
        if isinstance(expr, ir.At):  # at() is a window over the unit's rows: a statistic
            outer = ("at()",)  # inside it must be computed first, over its own groups
        return ir.rebuild(expr, [lift(a, outer, extra, step) for a in expr.args])

    for s in steps:
        extra: list[Step] = []
        expr = lift(s.expr, None, extra, s)
        requires = lift(s.requires, None, extra, s) if s.requires is not None else None
        unchanged = expr is s.expr and requires is s.requires
        out += [*extra, s if unchanged else dataclasses.replace(s, expr=expr, requires=requires)]
    return out


def build_plan(m: Methodology) -> Plan:
    """Lay out the computation of `m` as stages of column expressions."""
    reads_of: dict[int, set[str]] = {}
    steps = _assign_phases(m, _hoist(_steps(m)), reads_of)
    unit_inputs = {i.name for i in m.inputs if i.grain == grain.UNIT}
    detail_inputs = {i.name for i in m.inputs if i.grain == grain.DETAIL}
    keys = set(m.layout.keys)
    first = [s for s in steps if s.phase == Phase.UNIT_FIRST]
    on_detail = [s for s in steps if s.phase == Phase.DETAIL]
    after = [s for s in steps if s.phase == Phase.UNIT_AFTER]
    collapse = tuple(s.column for s in on_detail if s.grain == grain.UNIT)
    # after the classes, in order: the statistics a rule nests (hoisted) before the rule
    screening = tuple(
        dataclasses.replace(s, phase=Phase.UNIT_AFTER)
        for s in _hoist(
            [
                Step(s.name, s.expr, StepKind.SCREEN, s.name, s.formula.text, (), Phase.UNIT_AFTER)
                for s in m.screening
            ],
            prefix="__hs",
        )
    )

    output = list(m.layout.keys + m.layout.labels)
    normed = {i.name for i in normalised(m)}
    for ind in m.indicators:
        if ind.grain == grain.UNIT:
            output += (
                [ind.name]
                + ([ind.name + ".imputed"] if ind.imputation else [])
                + ([ind.name + ".treated"] if ind.treatment else [])
                + ([norm_column(ind.name)] if ind.name in normed else [])
            )
    output += [g.name for g in m.groups]
    if m.index is not None:
        output += ["index"] + (["index_unrounded"] if m.index.rounding else []) + ["rank"]
        output += [name for name, _ in m.ranking.within]
    if m.classes:
        output += ["class"] + (
            ["class_group"] if m.classes.groups and not m.classes.quantiles else []
        )
    output += [d.name for d in m.derived] + [s.name for s in m.screening]
    detail_output: tuple[str, ...] = ()
    if m.layout.detail:
        detail_output = (
            tuple(m.layout.detail_keys)
            + tuple(sorted(detail_inputs))
            + tuple(
                s.column
                for s in on_detail
                if s.kind == StepKind.INDICATOR and s.grain == grain.DETAIL
            )
        )
    base_first = keys | unit_inputs
    base_detail = base_first | detail_inputs | set(m.layout.detail) | {s.column for s in first}
    base_after = base_first | {s.column for s in first} | set(collapse)
    return Plan(
        m,
        in_stages(first, base_first, reads_of),
        in_stages(on_detail, base_detail, reads_of),
        in_stages(after, base_after, reads_of),
        screening,
        collapse,
        tuple(output),
        detail_output,
        m.classes,
        {s.column: s for s in steps + list(screening)},
    )
