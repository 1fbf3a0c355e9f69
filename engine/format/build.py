"""Semantic rules: from a schema-valid document to a :class:`Methodology`.

The JSON Schema has already checked the shape; what is left are the rules that need
the whole document: names defined once, formulas that parse and refer to known names,
no cycles between indicators or groups, members and weights that match, a leader share
with a rule for cost indicators, class bands without gaps or overlaps. Every problem is
collected with its position and raised together in one :class:`MethodologyError`.

The rules are grouped by section (``build_indicators``, ``build_normalisation``,
``build_groups``, ``build_outputs``, ``build_uncertainty``) on a shared
:class:`~engine.format.build_context.BuildContext`; this module applies them in order.
"""

from __future__ import annotations

from engine.diagnostics import Code, Diagnostic, MethodologyError
from engine.format.build_groups import GroupRules
from engine.format.build_indicators import RESERVED, IndicatorRules
from engine.format.build_outputs import OutputRules
from engine.format.build_uncertainty import UncertaintyRules
from engine.format.model import (
    Availability,
    Methodology,
    UndefinedPolicy,
)
from engine.format.yamlsource import LoadedYaml

__all__ = ["RESERVED", "build_methodology"]


class _Builder(IndicatorRules, GroupRules, OutputRules, UncertaintyRules):
    """All the rules, applied section by section."""

    def build(self) -> Methodology:
        meta, layout = self.meta(), self.layout()
        self.layout_ = layout
        self.check_names(layout)
        self.check_columns(layout)
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
        ranking = self.ranking(layout, index is not None)
        if index is not None:
            names |= {"index": "the index", "rank": "the rank"}
            names |= {n: "a rank within groups" for n, _ in ranking.within}
        derived = self.derived(layout, names)
        names |= {d.name: "derived output" for d in derived}
        checks = self.checks(layout, names)
        classes = self.classes(layout, names)
        if classes is not None and index is None and classes.on is None:
            self.error(
                Code.CLASS_BANDS,
                "classes need an index to classify",
                self.key_at("classes"),
                expected="an index section, or classes.of: the value to classify",
            )
        screening = self.screening(layout, names, classes)
        if self.problems:
            raise MethodologyError(sorted(self.problems, key=position))
        uncertainty = self.uncertainty(layout)
        if self.problems:
            raise MethodologyError(sorted(self.problems, key=position))
        spec = self.data.get("availability")
        availability = (
            Availability(
                spec.get("minimum"), bool(spec.get("per_group", False)), spec.get("nonzero")
            )
            if spec
            else None
        )
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
            UndefinedPolicy(self.data.get("undefined", "report")),
            availability,
        )
        self.unused(m)
        return m


def position(d: Diagnostic) -> tuple[int, int]:
    """Where a diagnostic is, to sort diagnostics in the order of the file."""
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
