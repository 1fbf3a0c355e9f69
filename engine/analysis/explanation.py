"""What ``explain`` returns: every step of one unit's result in one period, with its numbers.

Frozen records, ready for the terminal (:mod:`engine.report.explanation`) or JSON
(``as_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.formula import grain

# -- the explanation -------------------------------------------------------------------


@dataclass(frozen=True)
class DetailValue:
    """One detail row of a step computed on detail rows: its detail keys, formula and value."""

    keys: tuple[tuple[str, object], ...]
    substituted: str | None
    value: object

    def as_dict(self) -> dict[str, object]:
        return {"keys": dict(self.keys), "substituted": self.substituted, "value": self.value}


@dataclass(frozen=True)
class ExplainedStep:
    """One step for one unit and period.

    `formula_text` is the formula as the author wrote it (or the method's name);
    `symbolic` the step's expression over columns, as the engine evaluates it;
    `substituted` the same expression with every column and statistic replaced by its
    value (None when the step has no single value for the unit, e.g. a step computed on
    each detail row, or a derived output outside its periods).
    """

    column: str
    #: input | indicator | imputed | treated | normalised | group | index | rank | class |
    #: derived | screen | check
    kind: str
    name: str
    label: str | None
    formula_text: str | None
    symbolic: str
    substituted: str | None
    value: object
    measured_in: str | None = None  # the unit of measurement declared in the methodology
    note: str = ""
    grain: str = grain.UNIT
    detail: tuple[DetailValue, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "column": self.column,
            "kind": self.kind,
            "name": self.name,
            "label": self.label,
            "formula": self.formula_text,
            "symbolic": self.symbolic,
            "substituted": self.substituted,
            "value": self.value,
            "unit": self.measured_in,
            "note": self.note or None,
            "grain": self.grain,
        }
        if self.detail:
            out["detail"] = [d.as_dict() for d in self.detail]
        return out


@dataclass(frozen=True)
class Explanation:
    """Every step of one unit's result in one period, in the order they are computed."""

    methodology: str
    unit: str
    period: object
    steps: tuple[ExplainedStep, ...]

    def step(self, column: str) -> ExplainedStep:
        """The step that computes `column` (``SD``, ``SD.norm``, ``index``, ``class``, ...)."""
        for s in self.steps:
            if s.column == column:
                return s
        raise KeyError(column)

    @property
    def failed_checks(self) -> tuple[ExplainedStep, ...]:
        return tuple(s for s in self.steps if s.kind == "check")

    def as_dict(self) -> dict[str, object]:
        return {
            "methodology": self.methodology,
            "unit": self.unit,
            "period": self.period,
            "steps": [s.as_dict() for s in self.steps],
        }
