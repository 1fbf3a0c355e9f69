"""The report's live controls: a methodology whose weights and choices are parameters,
printed to JavaScript so that the page recomputes scores, ranks and classes.

Every group whose weights are numbers (not data-driven, and used by its aggregation)
gets one parameter per member, ``__w.<group>.<member>``; the methodology's
``uncertainty`` section, when it lists alternative normalisations or aggregations, gives
a switch each (``__norm``, ``__agg``: 0 is the methodology as declared, k its k-th
alternative), built as a choice between branches exactly as ``indexlab sensitivity``
builds it. The groups are then rebuilt by the same aggregation functions as the
methodology's (:mod:`engine.methods`), and planned by the same planner; the steps that
read a parameter are printed (:mod:`engine.backends.js.program`), the others are data.

Weights are exact decimals in the methodology: the engine adds them and divides by their
sum as rationals, rounding once. The page does the same: the sum of a group's weights
(``__wt.<group>``) and each member's share (``__wn.<group>.<member>``) are parameters the
page computes exactly from the weights' decimal texts (``R.weightSet``), so that any
weights the reader sets give what ``indexlab run`` gives with those weights in the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from engine.backends.js.printer import JsPrintError
from engine.backends.js.program import Program, downstream, print_program
from engine.format.model import Group, Methodology, Normalisation
from engine.formula import ir
from engine.methods import catalogue
from engine.methods.registry import Method, Stage
from engine.plan import Plan, StepKind, build_plan

NORM = "__norm"
AGG = "__agg"
#: the name under which the registry's methods declare the backends of a procedure
BACKEND = "javascript"


def weight(group: str, member: str) -> str:
    return f"__w.{group}.{member}"


def total(group: str) -> str:
    return f"__wt.{group}"


def share(group: str, member: str) -> str:
    return f"__wn.{group}.{member}"


def decimal_text(value: sympy.Basic) -> str:
    """The exact decimal text of a weight (a YAML number read as an exact rational).

    >>> decimal_text(sympy.Rational(1, 8)), decimal_text(sympy.Integer(3))
    ('0.125', '3')
    """
    r = sympy.Rational(value)
    for k in range(0, 40):
        scaled = r * 10**k
        if scaled.q == 1:
            digits = str(abs(scaled.p)).rjust(k + 1, "0")
            text = digits if k == 0 else digits[:-k] + "." + digits[-k:]
            return ("-" if scaled.p < 0 else "") + text
    raise ValueError(f"{value} has no short decimal form")


@dataclass(frozen=True)
class Slider:
    """A group's weights the reader can move."""

    group: str
    members: tuple[str, ...]
    #: the methodology's weights, as exact decimal texts
    nominal: tuple[str, ...]


@dataclass(frozen=True)
class Switch:
    """A choice between the methodology as declared and its listed alternatives."""

    parameter: str
    label: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Live:
    """What the page needs to recompute: the program, its parameters and controls."""

    program: Program
    sliders: tuple[Slider, ...]
    switches: tuple[Switch, ...]
    plan: Plan


def _describe(n: Normalisation) -> str:
    params = ", ".join(f"{k}: {v}" for k, v in n.params if k not in ("method",))
    return n.method + (f" ({params})" if params else "")


def _choice(alternatives: Sequence[sympy.Basic], parameter: str) -> sympy.Basic:
    if len(alternatives) == 1:
        return alternatives[0]
    branches = [
        (alt, sympy.Eq(sympy.Symbol(parameter), k, evaluate=False))
        for k, alt in enumerate(alternatives[:-1])
    ]
    return sympy.Piecewise(*branches, (alternatives[-1], True), evaluate=False)


def _exact_weights(expr: sympy.Basic, group: str, members: Sequence[str]) -> sympy.Basic:
    """Replace the sum of the group's weight symbols by its total parameter, and each
    weight over that sum by its share parameter (exact on the page)."""
    symbols = tuple(sympy.Symbol(weight(group, m)) for m in members)
    shares = {sympy.Symbol(weight(group, m)): sympy.Symbol(share(group, m)) for m in members}
    whole = sympy.Symbol(total(group))

    def walk(e: sympy.Basic) -> sympy.Basic:
        if isinstance(e, sympy.Add) and e.args == symbols:
            return whole
        if not e.args or isinstance(e, ir.Str):
            return e
        out = ir.rebuild(e, [walk(a) for a in e.args])
        if (
            isinstance(out, sympy.Mul)
            and len(out.args) == 2
            and out.args[0] in shares
            and out.args[1] == sympy.Pow(whole, -1, evaluate=False)
        ):
            return shares[out.args[0]]
        return out

    return walk(expr)


def _aggregate(
    g: Group, method: str, weights: list[sympy.Expr], keys: tuple[str, ...]
) -> sympy.Basic:
    """The group by `method`, built as the methodology builds it (format/build_groups)."""
    params = dict(g.params) if method == g.aggregation else {}
    if g.coverage != "all" and method in catalogue.with_coverage():
        return catalogue.aggregate_present(
            method, g.members, weights, float(str(g.coverage)), params
        )
    return catalogue.aggregate(method, g.members, weights, keys, params)


def _movable(g: Group) -> bool:
    """Whether the group's weights are numbers its aggregation uses."""
    aggregation = catalogue.aggregation(g.aggregation)
    fixed = g.weighting is not None and not catalogue.weighting(g.weighting).equal
    return aggregation.template is not None and not aggregation.equal_weights and not fixed


def _rounded(g: Group, expr: sympy.Basic) -> sympy.Basic:
    if isinstance(g.expr, ir.Round):
        return ir.Round(expr, *g.expr.args[1:], evaluate=False)
    return expr


def parametric(m: Methodology) -> tuple[Methodology, tuple[Slider, ...], tuple[Switch, ...]]:
    """`m` with numeric weights as parameters and its alternatives as switches."""
    design = m.uncertainty
    keys = (m.layout.period,) if m.layout.period else ()
    switches: list[Switch] = []
    indicators = list(m.indicators)
    if design is not None and design.normalisations:
        options = ["as declared"] + [
            "; ".join(sorted({_describe(n) for _, n in alt})) for alt in design.normalisations
        ]
        switches.append(Switch(NORM, "normalisation", tuple(options)))
        indicators = []
        for ind in m.indicators:
            alts = [dict(alt)[ind.name] for alt in design.normalisations if ind.name in dict(alt)]
            if alts:
                choice = _choice([ind.normalisation.expr, *(a.expr for a in alts)], NORM)
                ind = dataclasses.replace(
                    ind,
                    normalisation=dataclasses.replace(
                        ind.normalisation, expr=choice, requires=None
                    ),
                )
            indicators.append(ind)
    aggregations = tuple(design.aggregations) if design is not None else ()
    if aggregations:
        switches.append(
            Switch(AGG, "aggregation", ("as declared", *(str(a) for a in aggregations)))
        )
    sliders: list[Slider] = []
    groups = []
    for g in m.groups:
        if catalogue.aggregation(g.aggregation).template is None:  # a formula group
            groups.append(g)
            continue
        movable = _movable(g)
        weights: list[sympy.Expr] = list(g.weights)
        if movable:
            weights = [sympy.Symbol(weight(g.name, mem)) for mem in g.members]
            sliders.append(Slider(g.name, g.members, tuple(decimal_text(w) for w in g.weights)))
        alternatives = [_aggregate(g, g.aggregation, weights, keys)]
        alternatives += [_aggregate(g, str(a), weights, keys) for a in aggregations]
        expr = _rounded(g, _choice(alternatives, AGG) if aggregations else alternatives[0])
        if movable:
            expr = _exact_weights(expr, g.name, g.members)
        if movable or aggregations:
            g = dataclasses.replace(g, expr=expr)
        groups.append(g)
    out = dataclasses.replace(m, indicators=tuple(indicators), groups=tuple(groups))
    return out, tuple(sliders), tuple(switches)


def parameters(sliders: Sequence[Slider], switches: Sequence[Switch]) -> tuple[str, ...]:
    """Every parameter name the page sets."""
    names = [s.parameter for s in switches]
    for s in sliders:
        names += [weight(s.group, m) for m in s.members]
        names += [share(s.group, m) for m in s.members] + [total(s.group)]
    return tuple(names)


def _methods(m: Methodology, kind: StepKind, name: str) -> list[Method]:
    """The registry's methods that compute the step `name` of `kind`."""
    if kind == StepKind.GROUP:
        g = m.group(name)
        out: list[Method] = [catalogue.method(Stage.AGGREGATE, g.aggregation)]
        if g.weighting is not None:
            out.append(catalogue.method(Stage.WEIGHT, g.weighting))
        return out
    stages = {
        StepKind.NORMALISED: Stage.NORMALISE,
        StepKind.IMPUTED: Stage.IMPUTE,
        StepKind.TREATED: Stage.TREAT,
    }
    if kind not in stages:
        return []
    ind = m.indicator(name)
    spec = {
        StepKind.NORMALISED: (("method", ind.normalisation.method),),
        StepKind.IMPUTED: ind.imputation,
        StepKind.TREATED: ind.treatment,
    }[kind]
    method = dict(spec).get("method")
    if method is None or method in ("uncertain", "formula"):
        return []
    return [catalogue.method(stages[kind], str(method))]


def live(m: Methodology, periods: int) -> Live:
    """The page's program: the steps that read a weight or a switch, then the classes
    and screening rules; `periods` is the number of periods in the data.

    A step that needs a procedure outside the IR (a method the registry declares with
    backends that do not include JavaScript, such as the estimation of PCA weights from
    the members' scores) cannot be recomputed by the page: :class:`JsPrintError` names it.
    """
    pm, sliders, switches = parametric(m)
    plan = build_plan(pm)
    names = parameters(sliders, switches)
    steps = downstream(plan, names)
    for step in steps:
        for method in _methods(m, step.kind, step.name):
            if not method.runs_on(BACKEND):
                raise JsPrintError(
                    f"{step.kind} '{step.name}' depends on the weights or choices and uses the "
                    f"{method.stage} method '{method.name}', which is computed outside the "
                    f"formulas (by: {', '.join(sorted(method.backends))}); the page cannot "
                    "recompute it"
                )
    program = print_program(plan, steps, parameters=names, periods=periods)
    return Live(program, sliders, switches, plan)


def static(m: Methodology) -> Live:
    """A page without live controls: the program computes nothing."""
    plan = build_plan(m)
    return Live(Program("function (C, n, P, R) {}", (), ()), (), (), plan)


def nominal(sliders: Sequence[Slider], switches: Sequence[Switch]) -> dict[str, object]:
    """The parameter texts at the methodology's own settings (for tests and the page)."""
    out: dict[str, object] = {s.parameter: 0 for s in switches}
    for s in sliders:
        out[s.group] = list(s.nominal)
    return out
