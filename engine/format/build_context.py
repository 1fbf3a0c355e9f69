"""The state and helpers every semantic rule shares.

:class:`BuildContext` holds the schema-valid document, the problems and warnings
collected so far and the grain of every name defined so far. Its helpers locate a
path in the YAML source, parse a formula against a scope, check a formula's grain,
order names by their dependencies and parse a condition. The rules for each section
of the format live in the ``build_*`` modules as subclasses of this context, and
:mod:`engine.format.build` puts them together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import sympy

from engine.diagnostics import Code, Diagnostic, Location, Severity
from engine.format.model import (
    Layout,
)
from engine.format.yamlsource import LoadedYaml
from engine.formula import grain
from engine.formula.parser import Formula, Scope, parse_formula
from engine.formula.types import Kind
from engine.methods import catalogue
from engine.methods.registry import Problem, Stage, Usage

Path_ = tuple[str | int, ...]


class BuildContext:
    """A methodology being built: the document, what was found wrong, what is known."""

    layout_: Layout

    def __init__(self, doc: LoadedYaml):
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.problems: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.grains: dict[str, str] = {}
        # a problem of one method setting used by several subjects (a default): its place
        # in `problems` and the subjects it names
        self._shared: dict[tuple[object, ...], tuple[int, list[str]]] = {}
        #: "lower is better" indicators whose normalisation does not orient them, with
        #: that normalisation's name (none, formula): aggregations decide what to do
        self.unoriented: dict[str, str] = {}

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

    def report(self, problems: Iterable[Problem], *path: str | int, subject: str = "") -> None:
        """Record a method's problems, each placed at `path` (and the key it names).

        A setting used by several subjects (a default normalisation, imputation or
        treatment) is checked once per subject; the same problem at the same place is
        reported once, naming every subject: "goalposts of 'SD', 'SF': ...".
        """
        quoted = f"'{subject}'"
        for p in problems:
            where = self.at(*path, *p.at)
            if not subject or quoted not in p.message:
                self.error(p.code, p.message, where, expected=p.expected, hint=p.hint)
                continue
            template = p.message.replace(quoted, "\0")
            key = (p.code, where, template, p.expected, p.hint)
            if key not in self._shared:
                self._shared[key] = (len(self.problems), [subject])
                self.error(p.code, p.message, where, expected=p.expected, hint=p.hint)
                continue
            index, subjects = self._shared[key]
            subjects.append(subject)
            names = ", ".join(f"'{s}'" for s in subjects)
            message = template.replace("\0", names)
            self.problems[index] = dataclasses.replace(self.problems[index], message=message)

    def formula(self, *path: str | int) -> Formula:
        node: Any = self.data
        for p in path:
            node = node[p]
        loc = self.at(*path)
        col = self.doc.value_column(path)
        where = dataclasses.replace(loc, column=col, length=len(str(node)))  # keeps `via`
        return Formula(str(node), where)

    def parse(
        self, formula: Formula, scope: Scope, role: str, want: Kind = Kind.NUMBER
    ) -> sympy.Basic:
        """The formula's IR; its problems are collected (`role` names it in messages)."""
        expr, problems = parse_formula(formula, scope, want=want, role=role)
        self.problems.extend(problems)
        return expr

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
            frozenset(layout.group_keys),
            expected,
            layout.period,
            class_labels,
            frozenset(layout.labels),
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
                expected=f"a reduction such as sum(..., by=[{keys}]) "
                f"or at(x, {layout.detail[0]}='...')",
            )
        return g

    def topological(self, section: str, deps: Mapping[str, set[str]]) -> list[str]:
        """Names in dependency order; each cycle is reported once with its path."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        reported: set[frozenset[str]] = set()

        def visit(n: str, stack: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = [*stack[stack.index(n) :], n]
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
                visit(d, [*stack, n])
            state[n] = 2
            order.append(n)

        for n in deps:
            visit(n, [])
        return order

    def condition(
        self, path: Path_, what: str, scope: Scope, layout: Layout, example: str
    ) -> tuple[Formula, sympy.Basic]:
        """A formula that must be a condition with one value per unit and period."""
        f = self.formula(*path)
        expr = self.parse(f, scope, what, Kind.CONDITION)
        self.check_grain(expr, f.location, what, layout, must_be_unit=True)
        return f, expr

    def preparation(
        self, stage: Stage, spec: Mapping[str, Any], path: Path_, indicator: str, layout: Layout
    ) -> tuple[tuple[str, object], ...]:
        """An imputation or treatment of `indicator` checked by its method's rules: its
        settings as written, or none when the method changes nothing."""
        method = catalogue.method(stage, str(spec.get("method", catalogue.default(stage))))
        groups = self.data.get("groups") or {}
        usage = Usage(
            indicator,
            method.with_defaults(spec),
            frozenset(spec),
            period=layout.period,
            labels=layout.labels,
            keys=layout.keys,
            groups={name: tuple(g.get("members", ())) for name, g in groups.items()},
        )
        self.report(method.check(usage), *path, subject=indicator)
        return () if catalogue.changes_nothing(stage, method.name) else tuple(spec.items())
