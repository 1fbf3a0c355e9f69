"""Rules for groups: members, weights (fixed or data-driven) and aggregation.

Members must be known, at unit grain and in at most one parent group; groups are put in
dependency order. Weights must name exactly the members and not add up to 0. The
aggregation and the data-driven weighting are built from their declarations
(:mod:`engine.methods.catalogue`): the method's rules are checked, then its template is
built, over the present members when a coverage share is given (for the methods that
have such a form), or its formula parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.format.build_context import BuildContext
from engine.format.build_weights import member_weight_problems
from engine.format.model import (
    Group,
)
from engine.formula import grain, ir
from engine.formula.parser import Scope
from engine.methods import catalogue
from engine.methods.aggregate import Aggregator, LowerMembers
from engine.methods.registry import Kind, Stage, Usage
from engine.methods.terms import num


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
            weights = catalogue.weigh(weighting, members, keys)
        elif weights_spec is not None:
            mismatch = member_weight_problems(self.doc, name, members, weights_spec)
            self.problems.extend(mismatch)
            if not mismatch:
                weights = [num(weights_spec[m]) for m in members]
                if sum(weights) == 0:
                    self.error(
                        Code.WEIGHTS,
                        f"the weights of group '{name}' add up to 0",
                        self.at("groups", name, "weights"),
                        expected="at least one positive weight",
                    )
                    weights = [sympy.Integer(1)] * len(members)
        agg_spec = spec.get("aggregation") or {}
        method = catalogue.aggregation(agg_spec.get("method", catalogue.default(Stage.AGGREGATE)))
        where = ("groups", name, "aggregation")
        coverage = spec.get("coverage", "all")
        equal = (weighting is None or catalogue.weighting(weighting).equal) and (
            weights_spec is None or len(set(weights_spec.values())) <= 1
        )
        before = len(self.problems)
        if method.equal_weights and not equal:
            self.error(
                Code.WEIGHTS,
                f"group '{name}': {method.name} aggregation uses equal weights",
                self.at(*where),
                expected="no weights, or equal weights",
            )
        usage = Usage(
            name,
            method.with_defaults(agg_spec),
            frozenset(agg_spec),
            period=self.layout_.period,
            labels=self.layout_.labels,
            keys=self.layout_.keys,
            equal_weights=equal,
            coverage=coverage != "all",
            members=members,
            inputs=tuple(self.data.get("inputs") or ()),
        )
        self.report(method.check(usage), *where)
        cost = self.cost_members(name, members, method)
        if coverage != "all" and method.present is None:
            self.error(
                Code.BAD_ARGUMENTS,
                f"group '{name}': coverage is not defined for {method.name} aggregation",
                self.at("groups", name, "coverage"),
                expected=_either(catalogue.with_coverage()),
            )
        formula = None
        if len(self.problems) > before:
            expr: sympy.Basic = sympy.Integer(0)
        elif method.kind is Kind.FORMULA:
            formula = self.formula(*where, "formula")
            expr = self.parse(
                formula,
                Scope(
                    {m: "member" for m in members},
                    keys,
                    frozenset(self.layout_.keys + self.layout_.labels),
                    expected="a member of this group: " + ", ".join(members),
                    period=self.layout_.period,
                ),
                f"the aggregation formula of group '{name}'",
            )
        elif coverage != "all":
            expr = catalogue.aggregate_present(
                method.name, members, weights, float(coverage), agg_spec, keys, cost
            )
        else:
            expr = catalogue.aggregate(method.name, members, weights, keys, agg_spec, cost)
        if "round" in spec:
            r = spec["round"]
            expr = ir.Round(
                expr, sympy.Integer(r["digits"]), ir.Str(r.get("mode", "half_up")), evaluate=False
            )
        return Group(
            name,
            members,
            tuple(weights),
            method.name,
            expr,
            spec.get("label"),
            formula,
            weighting,
            coverage,
            tuple((k, v) for k, v in agg_spec.items() if k not in ("method", "formula")),
            cost,
        )

    def cost_members(
        self, name: str, members: Sequence[str], method: Aggregator
    ) -> tuple[str, ...]:
        """The cost criteria among the members: "lower is better" indicators that their
        normalisation leaves as they are (``none``); a method that reverses them by its own
        rule does so, a weighted mean uses them as they are. A method that reads oriented
        members refuses them, and no method can tell whether a formula reverses one."""
        cost: list[str] = []
        for i, member in enumerate(members):
            how = self.unoriented.get(member)
            if how == "none":
                cost.append(member)
            if how is None or method.lower_members is LowerMembers.AS_GIVEN:
                continue
            if method.lower_members is LowerMembers.REVERSED and how == "none":
                continue
            where = self.at("groups", name, "members", i)
            if how == "none":
                self.error(
                    Code.BAD_ARGUMENTS,
                    f"group '{name}': member '{member}' is 'lower is better' and not "
                    f"normalised, but {method.name} reads members where higher is better",
                    where,
                    expected=f"a normalisation of '{member}' that applies its direction "
                    "(min_max, z_score, leader_share with cost, ...)",
                )
            else:
                self.error(
                    Code.BAD_ARGUMENTS,
                    f"group '{name}': member '{member}' is 'lower is better' and normalised "
                    f"by a {how}, which does not apply the direction; {method.name} cannot "
                    "tell whether the formula already reverses it",
                    where,
                    expected="direction: higher if the formula gives higher-is-better values"
                    + (
                        f", or normalisation none (then {method.name} reverses it by its own rule)"
                        if method.lower_members is LowerMembers.REVERSED
                        else ", or a normalisation method that applies the direction"
                    ),
                )
        return tuple(cost)


def _either(names: Sequence[str]) -> str:
    """``a, b or c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
