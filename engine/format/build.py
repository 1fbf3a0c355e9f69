"""Semantic rules: from a schema-valid document to a :class:`Methodology`.

The JSON Schema has already checked the shape; what is left are the rules that need
the whole document: names defined once, formulas that parse and refer to known names,
no cycles between indicators or groups, members and weights that match, a leader share
with a rule for cost indicators, class bands without gaps or overlaps. Every problem is
collected with its position and raised together in one :class:`MethodologyError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from engine import methods
from engine.diagnostics import Code, Diagnostic, Location, MethodologyError, Severity, did_you_mean
from engine.format.model import (
    Band,
    Check,
    ClassScheme,
    Derived,
    Direction,
    Group,
    IndexSpec,
    Indicator,
    Input,
    Layout,
    Meta,
    Methodology,
    Normalisation,
    Ranking,
    Reference,
    Rounding,
    Screen,
    Uncertainty,
)
from engine.format.model import Severity as CheckSeverity
from engine.format.yamlsource import LoadedYaml
from engine.formula import grain, ir
from engine.formula.parser import Formula, Scope, parse_formula

#: output columns the engine writes; user names may not take them
RESERVED = frozenset({"index", "index_unrounded", "rank", "class", "class_group"})

Path_ = tuple[str | int, ...]


class _Builder:
    def __init__(self, doc: LoadedYaml):
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.problems: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.grains: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------------------
    def at(self, *path: str | int) -> Location:
        return self.doc.locate(path)

    def key_at(self, *path: str | int) -> Location:
        return self.doc.locate_key(path)

    def error(self, code: Code, message: str, where: Location | None, **kw: str | None) -> None:
        self.problems.append(Diagnostic(code, message, where, kw.get("expected"), kw.get("hint")))

    def warn(
        self, code: Code, message: str, where: Location | None, hint: str | None = None
    ) -> None:
        self.warnings.append(Diagnostic(code, message, where, None, hint, Severity.WARNING))

    def formula(self, *path: str | int) -> Formula:
        node: Any = self.data
        for p in path:
            node = node[p]
        loc = self.at(*path)
        col = self.doc.value_column(path)
        where = Location(loc.file, loc.line, col, loc.source_line, len(str(node)))
        return Formula(str(node), where)

    def parse(self, formula: Formula, scope: Scope) -> sympy.Basic:
        expr, problems = parse_formula(formula, scope)
        self.problems.extend(problems)
        return expr

    # -- sections --------------------------------------------------------------------
    def meta(self) -> Meta:
        d = self.data
        refs = tuple(
            Reference(r["cite"], r.get("url"), r.get("doi"), r.get("note"))
            for r in d.get("references", [])
        )
        return Meta(
            d["id"],
            d["title"],
            d.get("version"),
            d.get("description"),
            tuple(d.get("authors", [])),
            refs,
        )

    def layout(self) -> Layout:
        d = self.data["data"]
        missing = d.get("missing")
        return Layout(
            d["unit"],
            d.get("period"),
            tuple(d.get("labels", [])),
            tuple(missing) if missing is not None else None,
            tuple(d.get("detail", [])),
        )

    def check_names(self, layout: Layout) -> None:
        """Every name is defined once, and none takes a key or output column."""
        seen: dict[str, str] = {}
        for col in layout.detail_keys + layout.labels:
            seen[col] = "data column"
        for section in ("inputs", "indicators", "groups", "derived", "screening"):
            for name in self.data.get(section, {}) or {}:
                where = self.key_at(section, name)
                if name in RESERVED:
                    self.error(
                        Code.DUPLICATE_NAME,
                        f"'{name}' is reserved for an output column",
                        where,
                        expected="another name",
                        hint=None,
                    )
                elif name in seen:
                    self.error(
                        Code.DUPLICATE_NAME,
                        f"'{name}' is already defined as {seen[name]}",
                        where,
                        expected="each name defined once across data columns, inputs, "
                        "indicators, groups and derived outputs",
                    )
                else:
                    seen[name] = {"derived": "derived output", "screening": "screening rule"}.get(
                        section, section.rstrip("s")
                    )

    def inputs(self) -> tuple[Input, ...]:
        out = []
        for n, s in self.data["inputs"].items():
            g = s.get("grain", "unit")
            if g == "detail" and not self.data["data"].get("detail"):
                self.error(
                    Code.SCHEMA,
                    f"input '{n}' has grain 'detail' but data.detail names no detail keys",
                    self.at("inputs", n, "grain"),
                    expected="data.detail, e.g. [industry]",
                )
            out.append(
                Input(
                    n,
                    s.get("label"),
                    s.get("unit"),
                    self.key_at("inputs", n),
                    g,
                    bool(s.get("optional", False)),
                    s.get("minimum"),
                    s.get("maximum"),
                )
            )
        return tuple(out)

    def stat_keys(self, layout: Layout) -> tuple[str, ...]:
        return (layout.period,) if layout.period else ()

    def scope(
        self,
        layout: Layout,
        names: Mapping[str, str],
        expected: str,
        class_labels: tuple[str, ...] | None = None,
    ) -> Scope:
        return Scope(
            names,
            self.stat_keys(layout),
            frozenset(layout.detail_keys),
            expected,
            layout.period,
            class_labels,
        )

    def check_grain(
        self,
        expr: sympy.Basic,
        where: Location | None,
        what: str,
        layout: Layout,
        must_be_unit: bool,
    ) -> str:
        """The grain of `expr`, reporting every way it does not fit (see engine.formula.grain)."""
        detail = frozenset(layout.detail)
        g = grain.grain_of(expr, self.grains, detail)
        for problem in grain.grain_problems(expr, self.grains, frozenset(layout.keys), detail):
            self.error(
                Code.GRAIN,
                f"{what}: {problem}",
                where,
                expected="statistics that fit the data's grain",
            )
        if must_be_unit and g == grain.DETAIL:
            keys = ", ".join(layout.keys)
            self.error(
                Code.GRAIN,
                f"{what} has one value per detail row ({', '.join(layout.detail)}), "
                "but one per unit and period is needed here",
                where,
                expected=f"a reduction such as sum(..., by=[{keys}]) or at(x, {layout.detail[0]}='...')",
            )
        return g

    def indicators(self, layout: Layout) -> tuple[Indicator, ...]:
        specs: Mapping[str, Any] = self.data["indicators"]
        names = {n: "input" for n in self.data["inputs"]} | {n: "indicator" for n in specs}
        scope = self.scope(layout, names, "an input or indicator name")
        parsed: dict[str, tuple[Formula, sympy.Basic]] = {}
        for name in specs:
            f = self.formula("indicators", name, "formula")
            parsed[name] = (f, self.parse(f, scope))
        order = self.topological(
            "indicators", {n: ir.free_names(e) & set(specs) for n, (_, e) in parsed.items()}
        )
        norms = self.normalisations(layout, specs)
        imputations = self.per_indicator("imputation", specs)
        treatments = self.per_indicator("treatment", specs)
        out = []
        for name in order:
            s = specs[name]
            f, expr = parsed[name]
            if "round" in s:
                r = s["round"]
                expr = ir.Round(
                    expr,
                    sympy.Integer(r["digits"]),
                    ir.Str(r.get("mode", "half_up")),
                    evaluate=False,
                )
            imp = imputations[name]
            for col in imp.get("by", []):
                if col not in layout.labels + layout.keys:
                    self.error(
                        Code.UNKNOWN_NAME,
                        f"imputation of '{name}' groups by '{col}', which is not a data column",
                        None,
                        expected="a label column (data.labels)",
                        hint=did_you_mean(col, layout.labels),
                    )
            if imp.get("method") == "locf" and not layout.period:
                self.error(
                    Code.SCHEMA,
                    "imputation 'locf' needs a period column",
                    None,
                    expected="data.period",
                )
            g = self.check_grain(
                expr, f.location, f"indicator '{name}'", layout, must_be_unit=False
            )
            self.grains[name] = g
            out.append(
                Indicator(
                    name,
                    f,
                    expr,
                    norms[name],
                    Direction(s.get("direction", "higher")),
                    s.get("label"),
                    s.get("unit"),
                    g,
                    tuple(imp.items()) if imp.get("method", "none") != "none" else (),
                    tuple(treatments[name].items())
                    if treatments[name].get("method", "none") != "none"
                    else (),
                )
            )
        return tuple(out)

    def per_indicator(self, section: str, specs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Each indicator's settings of a default/overrides section (imputation, treatment)."""
        spec = self.data.get(section, {}) or {}
        overrides = spec.get("overrides", {}) or {}
        for name in overrides:
            if name not in specs:
                self.error(
                    Code.UNKNOWN_NAME,
                    f"{section} override for unknown indicator '{name}'",
                    self.key_at(section, "overrides", name),
                    expected="an indicator name",
                    hint=did_you_mean(name, specs),
                )
        default = spec.get("default", {"method": "none"})
        return {name: dict(overrides.get(name, default)) for name in specs}

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
                f"indicator '{indicator}' is 'lower is better' but its leader share has no cost rule",
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

    def topological(self, section: str, deps: Mapping[str, set[str]]) -> list[str]:
        """Names in dependency order; each cycle is reported once with its path."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        reported: set[frozenset[str]] = set()

        def visit(n: str, stack: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = stack[stack.index(n) :] + [n]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    self.error(
                        Code.CYCLE,
                        f"{section} depend on each other in a cycle: " + " -> ".join(cycle),
                        self.key_at(section, n),
                        expected="no name that depends on itself, directly or through others",
                    )
                return
            state[n] = 1
            for d in sorted(deps[n]):
                visit(d, stack + [n])
            state[n] = 2
            order.append(n)

        for n in deps:
            visit(n, [])
        return order

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
        expr = self.parse(f, self.scope(layout, names, "a group or indicator name"))
        self.check_grain(expr, f.location, "the index", layout, must_be_unit=True)
        return IndexSpec(expr, None, f, spec.get("label"), rounding)

    def classes(self) -> ClassScheme | None:
        spec = self.data.get("classes")
        if not spec:
            return None
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
        for (_, lo), (j, hi) in zip(ordered, ordered[1:]):
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
        )

    def derived(self, layout: Layout, names: Mapping[str, str]) -> tuple[Derived, ...]:
        specs: Mapping[str, Any] = self.data.get("derived", {}) or {}
        scope = self.scope(
            layout,
            names | {n: "derived output" for n in specs},
            "an input, indicator, group, index, rank or derived name",
        )
        parsed = {}
        for name in specs:
            f = self.formula("derived", name, "formula")
            parsed[name] = (f, self.parse(f, scope))
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
            )
            for n in order
        )

    def condition(
        self, path: Path_, what: str, scope: Scope, layout: Layout, example: str
    ) -> tuple[Formula, sympy.Basic]:
        """A formula that must be a condition with one value per unit and period."""
        f = self.formula(*path)
        before = len(self.problems)
        expr = self.parse(f, scope)
        self.check_grain(expr, f.location, what, layout, must_be_unit=True)
        if len(self.problems) == before and not isinstance(expr, sympy.logic.boolalg.Boolean):
            self.error(
                Code.BAD_ARGUMENTS, f"{what} is not a condition", f.location, expected=example
            )
        return f, expr

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

    def uncertainty(self, layout: Layout) -> Uncertainty | None:
        spec = self.data.get("uncertainty")
        if spec is None:
            return None
        specs: Mapping[str, Any] = self.data["indicators"]

        def probabilities(section: str, n: int) -> tuple[float, ...]:
            probs = (spec.get(section) or {}).get("probabilities")
            if probs is None:
                return tuple([1.0 / n] * n) if n else ()
            if len(probs) != n or abs(sum(probs) - 1) > 1e-9:
                self.error(
                    Code.BAD_ARGUMENTS,
                    f"uncertainty.{section}.probabilities must be one per "
                    "alternative and add up to 1",
                    self.at("uncertainty", section, "probabilities"),
                    expected=f"{n} numbers adding up to 1",
                )
            return tuple(float(p) for p in probs)

        alternatives = []
        for k, alt in enumerate((spec.get("normalisation") or {}).get("alternatives", [])):
            per = []
            for name, ind in specs.items():
                if self.grains.get(name, grain.UNIT) == grain.UNIT:
                    per.append(
                        (
                            name,
                            self.normalisation(
                                alt,
                                ("uncertainty", "normalisation", "alternatives", k),
                                layout,
                                ind.get("direction") == "lower",
                                name,
                            ),
                        )
                    )
            alternatives.append(tuple(per))
        aggregations = tuple((spec.get("aggregation") or {}).get("alternatives", []))
        weights = None
        if spec.get("weights"):
            ((kind, value),) = spec["weights"].items()
            weights = (kind, float(value))
        imputations = tuple(
            tuple(a.items()) for a in (spec.get("imputation") or {}).get("alternatives", [])
        )
        treatments = tuple(
            tuple(a.items()) for a in (spec.get("treatment") or {}).get("alternatives", [])
        )
        return Uncertainty(
            int(spec.get("replications", 1000)),
            int(spec.get("seed", 0)),
            weights,
            tuple(alternatives),
            probabilities("normalisation", len(alternatives)),
            aggregations,
            probabilities("aggregation", len(aggregations)),
            spec.get("drop"),
            imputations,
            probabilities("imputation", len(imputations)),
            treatments,
            probabilities("treatment", len(treatments)),
        )

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

    def build(self) -> Methodology:
        meta, layout = self.meta(), self.layout()
        self.layout_ = layout
        self.check_names(layout)
        inputs = self.inputs()
        self.grains = {i.name: i.grain for i in inputs}
        indicators = self.indicators(layout)
        ind_names = [
            i.name for i in indicators
        ]  # detail ones are reported as grain errors where used
        groups = self.groups(ind_names)
        index = (
            self.index(layout, ind_names, [g.name for g in groups])
            if "index" in self.data
            else None
        )
        names = (
            {i.name: "input" for i in inputs}
            | {i.name: "indicator" for i in indicators}
            | {g.name: "group" for g in groups}
        )
        if index is not None:
            names |= {"index": "the index", "rank": "the rank"}
        derived = self.derived(layout, names)
        names |= {d.name: "derived output" for d in derived}
        checks = self.checks(layout, names)
        ranking_spec = self.data.get("ranking", {}) or {}
        ranking = Ranking(
            ranking_spec.get("order", "descending") == "descending", ranking_spec.get("ties", "min")
        )
        classes = self.classes()
        if classes is not None and index is None:
            self.error(
                Code.CLASS_BANDS,
                "classes need an index to classify",
                self.key_at("classes"),
                expected="an index section",
            )
        screening = self.screening(layout, names, classes)
        if self.problems:
            raise MethodologyError(sorted(self.problems, key=_position))
        uncertainty = self.uncertainty(layout)
        if self.problems:
            raise MethodologyError(sorted(self.problems, key=_position))
        m = Methodology(
            meta,
            layout,
            inputs,
            indicators,
            groups,
            index,
            ranking,
            classes,
            derived,
            checks,
            screening,
            self.doc.source.path,
            uncertainty,
        )
        self.unused(m)
        return m


def _position(d: Diagnostic) -> tuple[int, int]:
    loc = d.location
    return (loc.line or 0, loc.column or 0) if loc else (0, 0)


def build_methodology(doc: LoadedYaml) -> tuple[Methodology, tuple[Diagnostic, ...]]:
    """Apply the semantic rules to a schema-valid document.

    Returns the methodology and its warnings; raises :class:`MethodologyError` with
    every problem found.
    """
    builder = _Builder(doc)
    methodology = builder.build()
    return methodology, tuple(builder.warnings)
