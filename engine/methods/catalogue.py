"""The catalogue: every declared method by stage and name, and what the engine asks of it.

Each stage module lists its declarations in ``METHODS``; this module collects them (in
pipeline order: imputation, treatment, transform, normalisation, weighting, aggregation)
and offers the operations the rest of the engine uses, so that no other module needs to
know a method by name:

>>> from engine.methods import catalogue
>>> catalogue.aggregation("geometric").members.value
'> 0'
>>> [m.name for m in catalogue.methods(Stage.IMPUTE)]
['none', 'mean', 'median', 'locf', 'constant', 'linear', 'row_mean', 'em']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sympy

from engine.diagnostics import Code, Diagnostic
from engine.formula import ir
from engine.methods import aggregate as _aggregate
from engine.methods import aggregate_bod as _aggregate_bod
from engine.methods import aggregate_mcda as _aggregate_mcda
from engine.methods import aggregate_ordered as _aggregate_ordered
from engine.methods import aggregate_outranking as _aggregate_outranking
from engine.methods import aggregate_ratio as _aggregate_ratio
from engine.methods import impute as _impute
from engine.methods import impute_group as _impute_group
from engine.methods import normalise as _normalise
from engine.methods import normalise_context as _normalise_context
from engine.methods import normalise_rank as _normalise_rank
from engine.methods import transform as _transform
from engine.methods import treat as _treat
from engine.methods import weights as _weights
from engine.methods.aggregate import AggregateContext, Aggregator, Members
from engine.methods.impute import ImputeContext, Imputer
from engine.methods.normalise_context import Normaliser, Requirement
from engine.methods.registry import Kind, Method, Stage, StageText, literal
from engine.methods.terms import div, num
from engine.methods.transform import Transform
from engine.methods.treat import TreatContext, Treatment
from engine.methods.weights import WeightContext, Weighting

if TYPE_CHECKING:
    from engine.format.model import Methodology

M = TypeVar("M", bound=Method)

__all__ = [
    "STAGES",
    "aggregate",
    "aggregate_present",
    "aggregation",
    "backend_problems",
    "changes_nothing",
    "default",
    "describe",
    "imputation",
    "impute",
    "member_requirement",
    "method",
    "methods",
    "methods_used",
    "normalisation",
    "same_settings",
    "sampleable",
    "transformation",
    "treat",
    "treatment",
    "weigh",
    "weighting",
    "with_coverage",
]


def _formula_last(*declared: Sequence[M]) -> dict[str, M]:
    """The declarations by name in module order, the methodology's own formula last."""
    every = [m for group in declared for m in group]
    return {m.name: m for m in sorted(every, key=lambda m: m.kind is Kind.FORMULA)}


_NORMALISERS = _formula_last(_normalise.METHODS, _normalise_rank.METHODS)
_AGGREGATORS = _formula_last(
    _aggregate.METHODS,
    _aggregate_mcda.METHODS,
    _aggregate_outranking.METHODS,
    _aggregate_ratio.METHODS,
    _aggregate_ordered.METHODS,
    _aggregate_bod.METHODS,
)
_WEIGHTINGS = {m.name: m for m in _weights.METHODS}
_IMPUTERS = {m.name: m for m in (*_impute.METHODS, *_impute_group.METHODS)}
_TREATMENTS = {m.name: m for m in _treat.METHODS}
_TRANSFORMS = {m.name: m for m in _transform.METHODS}

_BY_STAGE: dict[Stage, Mapping[str, Method]] = {
    Stage.IMPUTE: _IMPUTERS,
    Stage.TREAT: _TREATMENTS,
    Stage.TRANSFORM: _TRANSFORMS,
    Stage.NORMALISE: _NORMALISERS,
    Stage.WEIGHT: _WEIGHTINGS,
    Stage.AGGREGATE: _AGGREGATORS,
}

#: what the schema says of each stage as a whole (transforms are a normalisation's key)
STAGES: dict[Stage, StageText] = {
    Stage.IMPUTE: _impute.STAGE,
    Stage.TREAT: _treat.STAGE,
    Stage.NORMALISE: _normalise_context.STAGE,
    Stage.WEIGHT: _weights.STAGE,
    Stage.AGGREGATE: _aggregate.STAGE,
}


def default(stage: Stage) -> str:
    """The method a stage uses when none is written (``none``; ``arithmetic``)."""
    found = STAGES[stage].default
    if found is None:
        raise ValueError(f"{stage} has no default method")
    return found


def methods(stage: Stage | None = None) -> tuple[Method, ...]:
    """The declared methods of `stage` (of every stage, in pipeline order, if None)."""
    stages = [stage] if stage is not None else list(Stage)
    return tuple(m for s in stages for m in _BY_STAGE[s].values())


def method(stage: Stage, name: str) -> Method:
    """The declaration of `name` in `stage` (KeyError when there is none)."""
    return _BY_STAGE[stage][name]


def normalisation(name: str) -> Normaliser:
    return _NORMALISERS[name]


def aggregation(name: str) -> Aggregator:
    return _AGGREGATORS[name]


def weighting(name: str) -> Weighting:
    return _WEIGHTINGS[name]


def imputation(name: str) -> Imputer:
    return _IMPUTERS[name]


def treatment(name: str) -> Treatment:
    return _TREATMENTS[name]


def transformation(name: str) -> Transform:
    return _TRANSFORMS[name]


def describe(stage: Stage, name: str, params: Sequence[tuple[str, Any]] = ()) -> str:
    """A method with its parameters as written: ``min_max(range=[1, 100])``."""
    found = _BY_STAGE[stage].get(name)
    if found is None:  # not a declared method (e.g. the sensitivity analysis' "uncertain")
        shown = ", ".join(f"{k}={literal(v)}" for k, v in params)
        return f"{name}({shown})" if shown else name
    return found.call(params)


def same_settings(
    stage: Stage,
    a: tuple[str, Sequence[tuple[str, Any]]],
    b: tuple[str, Sequence[tuple[str, Any]]],
) -> bool:
    """Whether two (method, parameters) settings are the same, a parameter left to its
    default being the same as the default spelt out."""
    if a[0] != b[0]:
        return False
    found = _BY_STAGE[stage].get(a[0])
    if found is None:
        return dict(a[1]) == dict(b[1])
    return found.with_defaults(dict(a[1])) == found.with_defaults(dict(b[1]))


# -- what the plan and the analyses ask ---------------------------------------------------


def aggregate(
    name: str,
    members: Sequence[str],
    weights: Sequence[sympy.Expr],
    keys: tuple[str, ...] = (),
    params: Mapping[str, Any] | None = None,
    cost: Sequence[str] = (),
) -> sympy.Expr:
    """A group's expression by the aggregation `name` (weights divided by their sum);
    `cost` names the members it reverses by its own cost rule (raw "lower is better")."""
    agg = _AGGREGATORS[name]
    if agg.template is None:
        raise ValueError(f"aggregation {name} has no template (its formula is the methodology's)")
    ctx = AggregateContext(
        tuple(members), tuple(weights), keys, agg.with_defaults(params or {}), frozenset(cost)
    )
    return agg.template(ctx)


def aggregate_present(
    name: str,
    members: Sequence[str],
    weights: Sequence[sympy.Expr],
    share: float,
    params: Mapping[str, Any] | None = None,
    keys: tuple[str, ...] = (),
    cost: Sequence[str] = (),
) -> sympy.Expr:
    """The aggregation over the present members, weights renormalised, or missing when
    fewer than `share` of the members are present (compared with a 1e-12 tolerance).
    `keys` group the statistics of a method that compares the units (Copeland)."""
    agg = _AGGREGATORS[name]
    if agg.present is None:
        raise ValueError(f"coverage is not defined for {name}")
    ctx = AggregateContext(
        tuple(members), tuple(weights), keys, agg.with_defaults(params or {}), frozenset(cost)
    )
    count = sympy.Add(*ctx.present(), evaluate=False)
    enough = sympy.GreaterThan(
        div(count, sympy.Integer(len(members))),
        num(share) - sympy.Rational(1, 10**12),
        evaluate=False,
    )
    return sympy.Piecewise((agg.present(ctx), enough), evaluate=False)


def with_coverage() -> tuple[str, ...]:
    """The aggregations that have a form over the present members, in declaration order."""
    return tuple(name for name, agg in _AGGREGATORS.items() if agg.present is not None)


def member_requirement(name: str, members: Sequence[str]) -> Requirement:
    """The condition on a group's members the aggregation `name` needs, and its meaning."""
    agg = _AGGREGATORS.get(name)
    if agg is None or agg.members is Members.ANY:
        return None, ""
    relation = sympy.StrictGreaterThan if agg.members is Members.POSITIVE else sympy.GreaterThan
    conditions = [relation(sympy.Symbol(m), 0, evaluate=False) for m in members]
    condition = conditions[0] if len(conditions) == 1 else sympy.And(*conditions, evaluate=False)
    return condition, agg.requirement


def weigh(name: str, members: Sequence[str], keys: tuple[str, ...]) -> list[sympy.Expr]:
    """Data-driven weights (before they are divided by their sum)."""
    return _WEIGHTINGS[name].template(WeightContext(tuple(members), keys))


def impute(
    spec: Mapping[str, Any],
    column: str,
    keys: tuple[str, ...],
    unit: str,
    period: str | None,
    framework: Methodology | None = None,
) -> sympy.Expr | None:
    """The imputed indicator as one expression (its parts written out), or None when the
    method fills nothing; `framework` gives the groups and directions a method reading
    the unit's other indicators needs."""
    found = impute_parts(spec, column, keys, unit, period, framework)
    if found is None:
        return None
    parts, expr = found
    written: dict[str, sympy.Basic] = {}
    for name, part in parts:  # a part reads only the parts declared before it
        written[name] = ir.rename(part, written)
    return ir.rename(expr, written)


def impute_parts(
    spec: Mapping[str, Any],
    column: str,
    keys: tuple[str, ...],
    unit: str,
    period: str | None,
    framework: Methodology | None = None,
) -> tuple[list[tuple[str, sympy.Expr]], sympy.Expr] | None:
    """The imputed indicator as the parts it reads (column, expression; see
    :meth:`ImputeContext.part`), in the order they may be computed, and its expression
    over them; None when the method fills nothing."""
    imp = _IMPUTERS[str(spec.get("method", "none"))]
    if imp.template is None:
        return None
    groups: dict[str, tuple[str, ...]] = {}
    lower: frozenset[str] = frozenset()
    if framework is not None:
        groups = {g.name: g.members for g in framework.groups}
        lower = frozenset(i.name for i in framework.indicators if i.direction == "lower")
    ctx = ImputeContext(column, keys, unit, period, imp.with_defaults(spec), groups, lower)
    expr = imp.template(ctx)
    return list(ctx.parts.items()), expr


def treat(
    spec: Mapping[str, Any], column: str, keys: tuple[str, ...], prefix: str
) -> list[tuple[str, sympy.Expr]]:
    """The treatment's column steps (name, expression) in order; empty when none."""
    tr = _TREATMENTS[str(spec.get("method", "none"))]
    if tr.template is None:
        return []
    return tr.template(TreatContext(column, keys, prefix, tr.with_defaults(spec)))


# -- backends ------------------------------------------------------------------------------


def methods_used(m: Methodology) -> list[tuple[Method, str]]:
    """Every method a methodology uses, with where (``indicator 'X'``, ``group 'G'``)."""
    out: list[tuple[Method, str]] = []
    for ind in m.indicators:
        where = f"indicator '{ind.name}'"
        if ind.normalisation.method in _NORMALISERS:
            out.append((_NORMALISERS[ind.normalisation.method], where))
        for stage, spec in ((Stage.IMPUTE, ind.imputation), (Stage.TREAT, ind.treatment)):
            name = dict(spec).get("method")
            if name is not None:
                out.append((method(stage, str(name)), where))
    for g in m.groups:
        where = f"group '{g.name}'"
        if g.aggregation in _AGGREGATORS:
            out.append((_AGGREGATORS[g.aggregation], where))
        if g.weighting is not None:
            out.append((_WEIGHTINGS[g.weighting], where))
    return out


def backend_problems(m: Methodology, backend: str) -> list[Diagnostic]:
    """A diagnostic for each method of `m` that `backend` cannot compute."""
    problems = []
    for used, where in methods_used(m):
        if not used.runs_on(backend):
            runs = ", ".join(sorted(used.backends)) or "no backend yet"
            problems.append(
                Diagnostic(
                    Code.UNKNOWN_METHOD,
                    f"{where}: the {used.stage} method '{used.name}' cannot run on the "
                    f"{backend} engine",
                    expected=f"an engine that implements it: {runs}",
                )
            )
    return problems


def changes_nothing(stage: Stage, name: str) -> bool:
    """Whether the imputation or treatment `name` leaves the indicator as it is."""
    found = _IMPUTERS[name] if stage is Stage.IMPUTE else _TREATMENTS[name]
    return found.template is None


def sampleable(stage: Stage) -> tuple[str, ...]:
    """The methods of `stage` that may be alternatives of the uncertainty analysis."""
    return tuple(m.name for m in methods(stage) if m.sampleable)
