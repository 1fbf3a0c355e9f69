"""Rules for the first sections: meta, data layout, names, inputs and indicators.

Names must be defined once across data columns, inputs, indicators, groups, derived
outputs and screening rules, and none may take an output column. Indicators are parsed,
put in dependency order (cycles reported), rounded if asked, and given their
normalisation, imputation and treatment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.format.build_context import Path_
from engine.format.build_normalisation import NormalisationRules
from engine.format.model import (
    Direction,
    Indicator,
    Input,
    Layout,
    Meta,
    Reference,
)
from engine.formula import ir
from engine.formula.parser import Formula
from engine.methods import catalogue
from engine.methods.registry import Stage

#: output columns the engine writes; user names may not take them
RESERVED = frozenset({"index", "index_unrounded", "rank", "class", "class_group"})


class IndicatorRules(NormalisationRules):
    """Meta, layout, names, inputs and indicators."""

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
            self.doc.bases,
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
            tuple((d.get("columns") or {}).items()),
        )

    def check_columns(self, layout: Layout) -> None:
        """`data.columns` names a data column or input, and each header is read once."""
        read = set(layout.detail_keys + layout.labels) | set(self.data.get("inputs") or {})
        mapped = dict(layout.columns)
        first: dict[str, str] = {}
        for name, header in layout.columns:
            if name not in read:
                self.error(
                    Code.UNKNOWN_NAME,
                    f"data.columns names '{name}', which is not a data column or an input",
                    self.key_at("data", "columns", name),
                    expected="the unit, period, a label, a detail key or an input",
                    hint=did_you_mean(name, read),
                )
            elif header in first:
                self.error(
                    Code.DUPLICATE_NAME,
                    f"'{name}' and '{first[header]}' are both read from the column '{header}'",
                    self.at("data", "columns", name),
                )
            elif header in read and header not in mapped:
                self.error(
                    Code.DUPLICATE_NAME,
                    f"'{name}' is read from the column '{header}', which '{header}' reads too",
                    self.at("data", "columns", name),
                    expected="a header that no other name reads",
                )
            first.setdefault(header, name)

    def check_names(self, layout: Layout) -> None:
        """Every name is defined once, and none takes a key or output column."""
        seen: dict[str, str] = {}
        for col in layout.detail_keys + layout.labels:
            seen[col] = "data column"
        sections: list[tuple[tuple[str, ...], Any]] = [
            ((section,), self.data.get(section, {}))
            for section in ("inputs", "indicators", "groups", "derived", "screening")
        ]
        within = (self.data.get("ranking", {}) or {}).get("within")
        sections.append((("ranking", "within"), within))
        for path, defined in sections:
            section = path[-1]
            for name in defined or {}:
                where = self.key_at(*path, name)
                if name in RESERVED:
                    self.error(
                        Code.DUPLICATE_NAME,
                        f"'{name}' is reserved for an output column",
                        where,
                        expected="another name",
                        hint=None,
                    )
                elif name in seen and self._replaces_input(section, name, seen[name]):
                    continue
                elif section == "indicators" and seen.get(name) == "input":
                    self.error(
                        Code.DUPLICATE_NAME,
                        f"indicator '{name}' has the name of the input '{name}': a formula "
                        "could mean either",
                        where,
                        expected="another name for the indicator, or `replaces_input: true` "
                        "on it: its own formula then reads the input, and every other formula "
                        "the indicator",
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
                    seen[name] = {
                        "derived": "derived output",
                        "screening": "screening rule",
                        "within": "rank within groups",
                    }.get(section, section.rstrip("s"))

    def _replaces_input(self, section: str, name: str, seen_as: str) -> bool:
        """Whether indicator `name` declares that it takes the place of the input `name`."""
        if section != "indicators" or seen_as != "input":
            return False
        spec = (self.data.get("indicators") or {}).get(name)
        if not (isinstance(spec, dict) and spec.get("replaces_input") is True):
            return False
        if (self.data["inputs"].get(name) or {}).get("grain", "unit") != "unit":
            self.error(
                Code.GRAIN,
                f"indicator '{name}' cannot replace the detail input '{name}'",
                self.key_at("indicators", name, "replaces_input"),
                expected="replaces_input only for an input with one value per unit and period",
            )
        return True

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

    def indicators(self, layout: Layout) -> tuple[Indicator, ...]:
        specs: Mapping[str, Any] = self.data["indicators"]
        names = {n: "input" for n in self.data["inputs"]} | {n: "indicator" for n in specs}
        scope = self.scope(layout, names, "an input or indicator name")
        parsed: dict[str, tuple[Formula, sympy.Basic]] = {}
        inputs = set(self.data["inputs"])
        for name in specs:
            f = self.formula("indicators", name, "formula")
            parsed[name] = (f, self.parse(f, scope, f"indicator '{name}'"))

        def reads(name: str, expr: sympy.Basic) -> set[str]:
            # an indicator named like an input reads the input in its own formula (and is
            # reported as a duplicate name unless it declares replaces_input): not a cycle
            return (ir.free_names(expr) & set(specs)) - ({name} & inputs)

        order = self.topological("indicators", {n: reads(n, e) for n, (_, e) in parsed.items()})
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
            imputation = self.preparation(Stage.IMPUTE, *imputations[name], name, layout)
            treatment = self.preparation(Stage.TREAT, *treatments[name], name, layout)
            g = self.check_grain(
                expr, f.location, f"indicator '{name}'", layout, must_be_unit=False
            )
            self.grains[name] = g
            if (
                s.get("direction") == "lower"
                and not catalogue.normalisation(norms[name].method).orients
            ):
                self.unoriented[name] = norms[name].method
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
                    imputation,
                    treatment,
                )
            )
        return tuple(out)

    def per_indicator(
        self, section: str, specs: Mapping[str, Any]
    ) -> dict[str, tuple[dict[str, Any], Path_]]:
        """Each indicator's settings of a default/overrides section (imputation, treatment),
        with where they are written."""
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
        default = spec.get("default", {"method": catalogue.default(Stage(section))})
        return {
            name: (dict(overrides[name]), (section, "overrides", name))
            if name in overrides
            else (dict(default), (section, "default"))
            for name in specs
        }
