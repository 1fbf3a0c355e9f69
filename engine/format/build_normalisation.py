"""Rules for normalisation: the default, per-indicator overrides and their methods.

Each indicator gets the normalisation of its override or of the default, built from the
method catalogue (:mod:`engine.methods`) for its direction; a ``formula`` normalisation
is parsed in the symbol ``x``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from engine import methods
from engine.diagnostics import Code, did_you_mean
from engine.format.build_context import BuildContext, Path_
from engine.format.model import (
    Layout,
    Normalisation,
)
from engine.formula import ir
from engine.formula.parser import Scope


class NormalisationRules(BuildContext):
    """Normalisation of every indicator."""

    def normalisations(self, layout: Layout, specs: Mapping[str, Any]) -> dict[str, Normalisation]:
        section = self.data.get("normalisation", {}) or {}
        default = section.get("default", {"method": "none"})
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
        method = spec["method"]
        scope = spec.get("scope", "period")
        reference = None
        if isinstance(scope, dict):
            if not layout.period:
                self.error(
                    Code.SCHEMA,
                    "a reference-period scope needs a period column",
                    self.at(*path, "scope"),
                    expected="data.period",
                )
            reference, scope = (layout.period, scope["period"]), f"period {scope['period']}"
        keys = self.stat_keys(layout) if scope == "period" else ()
        params = tuple((k, v) for k, v in spec.items() if k not in ("method", "scope", "formula"))
        if method == "leader_share" and lower and "cost" not in spec:
            self.error(
                Code.UNKNOWN_METHOD,
                f"indicator '{indicator}' is 'lower is better' "
                "but its leader share has no cost rule",
                self.at(*path) if path else None,
                expected="cost: min_over_x (min(x) / x) or cost: one_minus_share (1 - x / max(x))",
                hint="x / max(x) of a cost indicator gives the worst unit the top score",
            )
        if method == "goalposts" and spec.get("transform") in ("log_ct", "log_plus1"):
            self.error(
                Code.BAD_ARGUMENTS,
                f"goalposts of '{indicator}' cannot follow the data-dependent "
                f"transform {spec['transform']}",
                self.at(*path),
                expected="transform: log or box_cox",
            )
        if method == "goalposts" and spec["upper"] <= spec["lower"]:
            self.error(
                Code.BAD_ARGUMENTS,
                f"goalposts of '{indicator}': upper {spec['upper']} <= lower {spec['lower']}",
                self.at(*path),
                expected="lower < upper",
            )
        if (
            method == "categorical"
            and len(spec.get("scores", [0] * 6)) != len(spec.get("percentiles", [0] * 5)) + 1
        ):
            self.error(
                Code.BAD_ARGUMENTS,
                f"categorical normalisation of '{indicator}' needs one score more than percentiles",
                self.at(*path),
                expected="len(scores) == len(percentiles) + 1",
            )
        cls = methods.NORMALISERS.get(method, methods.Identity)
        if method == "ampi" and "base" in spec:
            if not layout.period:
                self.error(
                    Code.SCHEMA,
                    "ampi's base period needs a period column",
                    self.at(*path),
                    expected="data.period",
                )
            reference = (layout.period, spec["base"]) if layout.period else None
        normaliser = cls(dict(params), keys, lower, reference, layout.unit, spec.get("transform"))
        requires, requirement = normaliser.requires()
        formula = None
        if method == "formula":
            formula = self.formula(*path, "formula")
            expr = self.parse(
                formula,
                Scope(
                    {"x": "the indicator's raw value"},
                    keys,
                    frozenset(layout.keys),
                    expected="'x', the indicator's raw value",
                    period=layout.period,
                ),
                f"the normalisation formula of '{indicator}'",
            )
            expr = ir.rename(expr, {"x": normaliser.x()}) if spec.get("transform") else expr
        else:
            expr = normaliser.template()
        if "round" in spec:
            r = spec["round"]
            expr = ir.Round(
                expr, sympy.Integer(r["digits"]), ir.Str(r.get("mode", "half_up")), evaluate=False
            )
        return Normalisation(method, params, scope, expr, formula, requires, requirement)
