"""Rules for the outputs: index, classes, derived outputs, checks and screening.

The index is a group or a formula of groups and indicators with one value per unit and
period; class bands may have neither gaps nor overlaps; derived outputs are put in
dependency order; checks and screening rules must be conditions. Finally, unit-level
indicators that nothing uses are warned about.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.format.build_context import BuildContext
from engine.format.model import (
    Band,
    Check,
    ClassScheme,
    Derived,
    IndexSpec,
    Layout,
    Methodology,
    OutputType,
    Ranking,
    Rounding,
    Screen,
)
from engine.format.model import Severity as CheckSeverity
from engine.formula import grain, ir
from engine.formula.types import Kind

#: the kind of formula each type of derived output needs
_KINDS = {
    OutputType.NUMBER: Kind.NUMBER,
    OutputType.INTEGER: Kind.NUMBER,
    OutputType.TEXT: Kind.TEXT,
    OutputType.CONDITION: Kind.CONDITION,
}


class OutputRules(BuildContext):
    """Index, classes, derived outputs, checks, screening, unused indicators."""

    def index(self, layout: Layout, indicators: Sequence[str], groups: Sequence[str]) -> IndexSpec:
        spec = self.data["index"]
        rounding = None
        if "round" in spec:
            rounding = Rounding(spec["round"]["digits"], spec["round"].get("mode", "half_up"))
        if "group" in spec:
            g = spec["group"]
            if g not in groups:
                self.error(
                    Code.UNKNOWN_NAME,
                    f"index refers to unknown group '{g}'",
                    self.at("index", "group"),
                    expected="a group name",
                    hint=did_you_mean(g, groups),
                )
            return IndexSpec(sympy.Symbol(g), g, None, spec.get("label"), rounding)
        f = self.formula("index", "formula")
        names = {n: "indicator" for n in indicators} | {n: "group" for n in groups}
        expr = self.parse(f, self.scope(layout, names, "a group or indicator name"), "the index")
        self.check_grain(expr, f.location, "the index", layout, must_be_unit=True)
        return IndexSpec(expr, None, f, spec.get("label"), rounding)

    def ranking(self, layout: Layout, has_index: bool) -> Ranking:
        """The order and ties of the rank, and the further ranks within label groups."""
        spec = self.data.get("ranking", {}) or {}
        within = spec.get("within", {}) or {}
        if within and not has_index:
            self.error(
                Code.UNKNOWN_NAME,
                "ranks within groups rank the index, but there is no index",
                self.key_at("ranking", "within"),
                expected="an index section",
            )
        for name, columns in within.items():
            for i, col in enumerate(columns):
                if col not in layout.labels:
                    self.error(
                        Code.UNKNOWN_NAME,
                        f"rank '{name}' groups by '{col}', which is not a label column",
                        self.at("ranking", "within", name, i),
                        expected="a column of data.labels",
                        hint=did_you_mean(col, layout.labels),
                    )
        return Ranking(
            spec.get("order", "descending") == "descending",
            spec.get("ties", "min"),
            tuple((name, tuple(columns)) for name, columns in within.items()),
            float(spec.get("tolerance", 1e-9)),
        )

    def classes(self, layout: Layout, names: Mapping[str, str]) -> ClassScheme | None:
        spec = self.data.get("classes")
        if not spec:
            return None
        on, formula = None, None
        if "of" in spec:
            formula = self.formula("classes", "of")
            scope = self.scope(
                layout, names, "an input, indicator, group, index, rank or derived name"
            )
            on = self.parse(formula, scope, "the value classes are cut on")
            self.check_grain(on, formula.location, "classes.of", layout, must_be_unit=True)
        groups = spec.get("groups", {}) or {}
        if "quantiles" in spec:
            if "bands" in spec:
                self.error(
                    Code.CLASS_BANDS,
                    "classes have both bands and quantiles",
                    self.key_at("classes"),
                    expected="one of the two",
                )
            return ClassScheme(
                (),
                "lower",
                float(spec.get("tolerance", 1e-9)),
                tuple(groups.items()),
                tuple(spec["quantiles"]),
                on,
                formula,
            )
        bands = []
        for i, b in enumerate(spec["bands"]):
            if b["max"] <= b["min"]:
                self.error(
                    Code.CLASS_BANDS,
                    f"band '{b['label']}' has max {b['max']} <= min {b['min']}",
                    self.at("classes", "bands", i),
                    expected="min < max",
                )
            if "group" in b and b["group"] not in groups:
                self.error(
                    Code.UNKNOWN_NAME,
                    f"band '{b['label']}' names unknown class group '{b['group']}'",
                    self.at("classes", "bands", i, "group"),
                    expected="a key of classes.groups",
                    hint=did_you_mean(b["group"], groups),
                )
            bands.append((i, Band(b["label"], float(b["min"]), float(b["max"]), b.get("group"))))
        labels: dict[str, int] = {}
        for i, b in bands:
            if b.label in labels:
                self.error(
                    Code.CLASS_BANDS,
                    f"class label '{b.label}' is used twice",
                    self.at("classes", "bands", i, "label"),
                    expected="unique labels",
                )
            labels[b.label] = i
        ordered = sorted(bands, key=lambda t: t[1].lower)
        for (_, lo), (j, hi) in itertools.pairwise(ordered):
            if hi.lower < lo.upper:
                self.error(
                    Code.CLASS_BANDS,
                    f"bands '{lo.label}' [{lo.lower:g}, {lo.upper:g}] and "
                    f"'{hi.label}' [{hi.lower:g}, {hi.upper:g}] overlap",
                    self.at("classes", "bands", j),
                    expected=f"'{hi.label}' to start at {lo.upper:g}",
                )
            elif hi.lower > lo.upper:
                self.error(
                    Code.CLASS_BANDS,
                    f"gap between band '{lo.label}' (up to {lo.upper:g}) and "
                    f"'{hi.label}' (from {hi.lower:g})",
                    self.at("classes", "bands", j),
                    expected=f"'{hi.label}' to start at {lo.upper:g}",
                )
        return ClassScheme(
            tuple(b for _, b in reversed(ordered)),
            spec.get("closed", "lower"),
            float(spec.get("tolerance", 1e-9)),
            tuple(groups.items()),
            (),
            on,
            formula,
        )

    def derived(self, layout: Layout, names: Mapping[str, str]) -> tuple[Derived, ...]:
        specs: Mapping[str, Any] = self.data.get("derived", {}) or {}
        scope = self.scope(
            layout,
            {**names, **{n: "derived output" for n in specs}},
            "an input, indicator, group, index, rank or derived name",
        )
        parsed = {}
        for name in specs:
            f = self.formula("derived", name, "formula")
            kind = _KINDS[OutputType(specs[name].get("type", "number"))]
            parsed[name] = (f, self.parse(f, scope, f"derived '{name}'", kind))
            self.check_grain(
                parsed[name][1], f.location, f"derived '{name}'", layout, must_be_unit=True
            )
            if "periods" in specs[name] and not layout.period:
                self.error(
                    Code.SCHEMA,
                    f"derived '{name}' lists periods but the data has no period column",
                    self.at("derived", name, "periods"),
                    expected="data.period",
                )
        order = self.topological(
            "derived", {n: ir.free_names(e) & set(specs) for n, (_, e) in parsed.items()}
        )
        return tuple(
            Derived(
                n,
                parsed[n][0],
                parsed[n][1],
                tuple(specs[n].get("periods", [])),
                specs[n].get("label"),
                OutputType(specs[n].get("type", "number")),
            )
            for n in order
        )

    def checks(self, layout: Layout, names: Mapping[str, str]) -> tuple[Check, ...]:
        specs: Mapping[str, Any] = self.data.get("checks", {}) or {}
        scope = self.scope(layout, names, "an input, indicator, group, index, rank or derived name")
        out = []
        for name, spec in specs.items():
            f, expr = self.condition(
                ("checks", name, "assert"),
                f"check '{name}'",
                scope,
                layout,
                "a comparison such as 'a == b' or 'x >= 0'",
            )
            tol = spec.get("tolerance", {}) or {}
            out.append(
                Check(
                    name,
                    f,
                    expr,
                    float(tol.get("absolute", 0)),
                    float(tol.get("relative", 0)),
                    CheckSeverity(spec.get("severity", "warning")),
                    spec.get("label"),
                    spec.get("description"),
                )
            )
        return tuple(out)

    def screening(
        self, layout: Layout, names: Mapping[str, str], classes: ClassScheme | None
    ) -> tuple[Screen, ...]:
        specs: Mapping[str, Any] = self.data.get("screening", {}) or {}
        labels = classes.labels if classes else None
        scope = self.scope(
            layout,
            names,
            "an input, indicator, group, index, rank or derived name",
            class_labels=labels,
        )
        out = []
        for name, spec in specs.items():
            f, expr = self.condition(
                ("screening", name, "rule"),
                f"screening rule '{name}'",
                scope,
                layout,
                "a condition such as \"class_at_least('C++') and x >= 3\"",
            )
            out.append(Screen(name, f, expr, spec.get("label"), spec.get("description")))
        return tuple(out)

    def unused(self, m: Methodology) -> None:
        """Warn about unit-level indicators that nothing uses (likely a forgotten member)."""
        if not m.groups and m.index is None:
            return
        exprs = (
            [i.expr for i in m.indicators]
            + [d.expr for d in m.derived]
            + [c.expr for c in m.checks]
        )
        exprs += [s.expr for s in m.screening] + ([m.index.expr] if m.index else [])
        used = {n for g in m.groups for n in g.members} | {
            n for e in exprs for n in ir.free_names(e)
        }
        for ind in m.indicators:
            if ind.grain == grain.UNIT and ind.name not in used:
                self.warn(
                    Code.UNKNOWN_MEMBER,
                    f"indicator '{ind.name}' is not used by any group, the index, "
                    "a derived output, a check or a screening rule",
                    self.key_at("indicators", ind.name),
                )
