"""Rules for normalisation: the default, per-indicator overrides and their methods.

Each indicator gets the normalisation of its override or of the default, built from the
method's declaration (:mod:`engine.methods.catalogue`) for its direction: the
declaration's rules are checked and placed at the normalisation's YAML, then its template
is built (or, for a method whose formula is the methodology's, the formula is parsed in
the symbol ``x``). The scope is shared by every method and checked here.

A template is a function of its context alone (an expression in ``x``), and most
indicators of a methodology share one context, so each distinct context's template and
requirement are built once (:func:`_built`) and shared: the plan renames ``x`` per
indicator anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.format.build_context import BuildContext, Path_
from engine.format.model import (
    Layout,
    Normalisation,
)
from engine.formula import ir
from engine.formula.parser import Scope
from engine.methods import catalogue
from engine.methods.normalise_context import NormaliseContext, Normaliser
from engine.methods.registry import Kind, Stage, Usage


class NormalisationRules(BuildContext):
    """Normalisation of every indicator."""

    def normalisations(self, layout: Layout, specs: Mapping[str, Any]) -> dict[str, Normalisation]:
        section = self.data.get("normalisation", {}) or {}
        default = section.get("default", {"method": catalogue.default(Stage.NORMALISE)})
        overrides = section.get("overrides", {}) or {}
        for name in overrides:
            if name not in specs:
                self.error(
                    Code.UNKNOWN_NAME,
                    f"normalisation override for unknown indicator '{name}'",
                    self.key_at("normalisation", "overrides", name),
                    expected="an indicator name",
                    hint=did_you_mean(name, specs),
                )
        out = {}
        path: Path_
        for name, spec in specs.items():
            if name in overrides:
                norm, path = overrides[name], ("normalisation", "overrides", name)
            else:
                norm, path = default, ("normalisation", "default")
            lower = spec.get("direction") == "lower"
            out[name] = self.normalisation(norm, path, layout, lower, name)
        return out

    def normalisation(
        self, spec: Mapping[str, Any], path: Path_, layout: Layout, lower: bool, indicator: str
    ) -> Normalisation:
        method = catalogue.normalisation(spec["method"])
        written_scope = spec.get("scope", "period")
        scope, reference = str(written_scope), None
        within: tuple[str, ...] = ()
        if isinstance(written_scope, dict) and "by" in written_scope:
            within = tuple(written_scope["by"])
            scope = "by " + ", ".join(within)
            for i, col in enumerate(within):
                if col not in layout.labels:
                    self.error(
                        Code.UNKNOWN_NAME,
                        f"the normalisation scope of '{indicator}' groups by '{col}', which "
                        "is not a label column",
                        self.at(*path, "scope", "by", i),
                        expected="a column of data.labels",
                        hint=did_you_mean(col, layout.labels),
                    )
        elif isinstance(written_scope, dict):
            scope = f"period {written_scope['period']}"
            if layout.period:
                reference = (layout.period, written_scope["period"])
            else:
                self.error(
                    Code.SCHEMA,
                    "a reference-period scope needs a period column",
                    self.at(*path, "scope"),
                    expected="data.period",
                )
        keys = self.stat_keys(layout) + within if scope == "period" or within else ()
        params = tuple((k, v) for k, v in spec.items() if k not in ("method", "scope", "formula"))
        values = method.with_defaults(spec)
        usage = Usage(
            indicator,
            values,
            frozenset(spec),
            lower_is_better=lower,
            period=layout.period,
            labels=layout.labels,
            keys=layout.keys,
        )
        found = method.check(usage)
        self.report(found, *path, subject=indicator)
        context = NormaliseContext(
            values, keys, lower, reference, layout.unit, layout.period, spec.get("transform")
        )
        requires, requirement = _built(method, context, "requirement")
        formula = None
        if found:  # rejected: the template may not even be defined
            expr: sympy.Basic = sympy.Integer(0)
        elif method.kind is Kind.FORMULA:
            formula = self.formula(*path, "formula")
            expr = self.parse(
                formula,
                Scope(
                    {"x": "the indicator's raw value"},
                    keys,
                    frozenset(layout.keys + layout.labels),
                    expected="'x', the indicator's raw value",
                    period=layout.period,
                ),
                f"the normalisation formula of '{indicator}'",
            )
            expr = ir.rename(expr, {"x": context.x()}) if spec.get("transform") else expr
        else:
            assert method.template is not None  # every template-kind normaliser has one
            expr = _built(method, context, "template")
        if "round" in spec:
            r = spec["round"]
            expr = ir.Round(
                expr, sympy.Integer(r["digits"]), ir.Str(r.get("mode", "half_up")), evaluate=False
            )
        return Normalisation(method.name, params, scope, expr, formula, requires, requirement)


#: templates and requirements by method, context and which (see the module docstring)
_BUILT: dict[tuple[Any, ...], tuple[Normaliser, Any]] = {}
_MAX_BUILT = 256


def _built(method: Normaliser, context: NormaliseContext, which: str) -> Any:
    """``method.template(context)`` or ``method.requirement(context)`` (`which`), built
    once per distinct context (not shared when the context holds something other than
    JSON-like values)."""
    build = method.template if which == "template" else method.requirement
    assert build is not None
    try:
        key: tuple[Any, ...] = (
            which,
            id(method),
            _frozen(context.params),
            context.keys,
            context.lower_is_better,
            _frozen(context.reference),
            context.unit,
            context.period,
            _frozen(context.transform),
        )
        hash(key)
    except TypeError:
        return build(context)
    known = _BUILT.get(key)
    if known is not None and known[0] is method:
        return known[1]
    built = build(context)
    if len(_BUILT) >= _MAX_BUILT:
        _BUILT.clear()
    _BUILT[key] = (method, built)
    return built


def _frozen(value: Any) -> Any:
    """`value` as a hashable key that tells apart what Python's equality does not
    (``1``, ``1.0`` and ``True``; a list and a tuple); TypeError for anything else."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is float or kind is bool:
        return (kind, value)
    if isinstance(value, Mapping):
        return (dict, tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (kind, tuple(_frozen(v) for v in value))
    raise TypeError(f"not a JSON-like value: {value!r}")
