"""Rules for groups: members, weights (fixed or data-driven) and aggregation.

Members must be known, at unit grain and in at most one parent group; groups are put in
dependency order. Weights must name exactly the members and not add up to 0; the
aggregation is built from the method catalogue (:mod:`engine.methods`), over the present
members when a coverage share is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from engine import methods
from engine.diagnostics import Code, did_you_mean
from engine.format.build_context import BuildContext
from engine.format.model import (
    Group,
)
from engine.formula import grain, ir
from engine.formula.parser import Scope


class GroupRules(BuildContext):
    """Groups, their weights and aggregation."""

    def groups(self, indicators: Sequence[str]) -> tuple[Group, ...]:
        specs: Mapping[str, Any] = self.data.get("groups", {}) or {}
        known = set(indicators) | set(specs)
        parent: dict[str, str] = {}
        for name, spec in specs.items():
            for i, m in enumerate(spec["members"]):
                if m not in known:
                    self.error(
                        Code.UNKNOWN_MEMBER,
                        f"group '{name}' has unknown member '{m}'",
                        self.at("groups", name, "members", i),
                        expected="an indicator or group name",
                        hint=did_you_mean(m, known),
                    )
                elif self.grains.get(m) == grain.DETAIL:
                    self.error(
                        Code.GRAIN,
                        f"group '{name}' member '{m}' has one value per detail row",
                        self.at("groups", name, "members", i),
                        expected="members with one value per unit and period (reduce detail "
                        "indicators with a statistic by the unit and period keys)",
                    )
                elif m in parent:
                    self.error(
                        Code.MEMBER_TWICE,
                        f"'{m}' is a member of both '{parent[m]}' and '{name}'",
                        self.at("groups", name, "members", i),
                        expected="each indicator or group in at most one parent group",
                    )
                else:
                    parent[m] = name
        order = self.topological(
            "groups", {n: set(s["members"]) & set(specs) for n, s in specs.items()}
        )
        out = []
        for name in order:
            out.append(self.group(name, specs[name]))
        return tuple(out)

    def group(self, name: str, spec: Mapping[str, Any]) -> Group:
        members = tuple(spec["members"])
        weights_spec, weighting = spec.get("weights"), spec.get("weighting")
        weights: list[sympy.Expr] = [sympy.Integer(1)] * len(members)
        keys = self.stat_keys(self.layout_)
        if weights_spec is not None and weighting is not None:
            self.error(
                Code.WEIGHTS,
                f"group '{name}' has both weights and a weighting method",
                self.key_at("groups", name, "weighting"),
                expected="one of the two",
            )
        elif weighting is not None:
            weights = methods.data_weights(weighting, members, keys)
        elif weights_spec is not None:
            missing = [m for m in members if m not in weights_spec]
            extra = [w for w in weights_spec if w not in members]
            for m in missing:
                self.error(
                    Code.WEIGHTS,
                    f"group '{name}' gives no weight to member '{m}'",
                    self.at("groups", name, "weights"),
                    expected="one weight per member: " + ", ".join(members),
                )
            for w in extra:
                self.error(
                    Code.WEIGHTS,
                    f"group '{name}' weights '{w}', which is not a member",
                    self.key_at("groups", name, "weights", w),
                    expected="weights only for members: " + ", ".join(members),
                    hint=did_you_mean(w, members),
                )
            if not missing and not extra:
                weights = [methods._num(weights_spec[m]) for m in members]
                if sum(weights) == 0:
                    self.error(
                        Code.WEIGHTS,
                        f"the weights of group '{name}' add up to 0",
                        self.at("groups", name, "weights"),
                        expected="at least one positive weight",
                    )
                    weights = [sympy.Integer(1)] * len(members)
        agg_spec = spec.get("aggregation") or {}
        agg = agg_spec.get("method", "arithmetic")
        if agg in ("mpi", "ampi", "minimum") and (
            weighting not in (None, "equal")
            or (weights_spec is not None and len(set(weights_spec.values())) > 1)
        ):
            self.error(
                Code.WEIGHTS,
                f"group '{name}': {agg} aggregation uses equal weights",
                self.at("groups", name, "aggregation"),
                expected="no weights, or equal weights",
            )
        coverage = spec.get("coverage", "all")
        formula = None
        if agg == "formula":
            if "formula" not in agg_spec:
                self.error(
                    Code.SCHEMA,
                    f"group '{name}' aggregates by formula but gives none",
                    self.at("groups", name, "aggregation"),
                    expected="aggregation.formula",
                )
                expr: sympy.Basic = sympy.Integer(0)
            else:
                formula = self.formula("groups", name, "aggregation", "formula")
                expr = self.parse(
                    formula,
                    Scope(
                        {m: "member" for m in members},
                        keys,
                        frozenset(self.layout_.keys),
                        expected="a member of this group: " + ", ".join(members),
                        period=self.layout_.period,
                    ),
                    f"the aggregation formula of group '{name}'",
                )
        elif agg == "power" and agg_spec.get("p", 0) == 0:
            self.error(
                Code.BAD_ARGUMENTS,
                f"group '{name}': the power mean needs p, not 0",
                self.at("groups", name, "aggregation"),
                expected="p != 0 (use method: geometric for the limit p -> 0)",
            )
            expr = sympy.Integer(0)
        elif coverage != "all":
            if agg not in ("arithmetic", "geometric", "harmonic", "power", "minimum"):
                self.error(
                    Code.BAD_ARGUMENTS,
                    f"group '{name}': coverage is not defined for {agg} aggregation",
                    self.at("groups", name, "coverage"),
                    expected="arithmetic, geometric, harmonic, power or minimum",
                )
                expr = sympy.Integer(0)
            else:
                expr = methods.with_coverage(agg, members, weights, float(coverage), agg_spec)
        else:
            expr = methods.aggregator(agg_spec)(members, weights, keys)  # type: ignore[operator]
        if "round" in spec:
            r = spec["round"]
            expr = ir.Round(
                expr, sympy.Integer(r["digits"]), ir.Str(r.get("mode", "half_up")), evaluate=False
            )
        return Group(
            name,
            members,
            tuple(weights),
            agg,
            expr,
            spec.get("label"),
            formula,
            weighting,
            coverage,
            tuple((k, v) for k, v in agg_spec.items() if k not in ("method", "formula")),
        )
