"""Explain one unit's result: every step from its raw inputs to its class, with the numbers.

The plan's query (:func:`engine.backends.polars.execute.build_query`) is run keeping every
intermediate column, not only the output ones, on a copy of the plan in which the outermost
cross-unit statistics and ``at()`` references of each step's expression are extra columns,
computed in the same stage as the step. So a ``max(SD)`` shown for Almaty in 2014 is the
query's own 2014 leader value, never a number recomputed in Python by another method. The
step's IR is then printed twice by :class:`~engine.analysis.substitute.SubstitutionPrinter`
(a :class:`~engine.formula.render.FormulaPrinter`): over column names, and with every
column and every statistic replaced by its value for the unit and period::

    SD.norm    SD / max(SD, by=[year]) * 100           (Almaty, 2014)
               10665.8 / 13915.5 * 100 = 76.6467

Products and quotients are printed in the order the engine evaluates them (see
``engine/backends/polars/compile.py``: factors left to right, a factor ``Pow(b, -1)``
divides the running product), and sums left to right, so evaluating the substituted text as ordinary
arithmetic reproduces the step's value. That order can differ from the author's text,
which is shown next to it.

Order of the steps: inputs (raw values and their units), indicators, normalised values,
groups (children first), the index (and its rounding), the rank (with the tie rule), the
class (with its band), derived outputs, screening rules, and the checks that failed for
the unit. With detail data (``data.detail``) the unit-level steps are explained; a
step computed on each detail row shows its formula, and its values row by row only when
asked (``detail=True``).

>>> from engine.analysis.explain import explain
>>> paper = "methodologies/kireeva.yaml"
>>> e = explain(paper, ["examples/kazakhstan/regions.csv"], "Almaty", 2014)
>>> e.step("class").note.split("; ")[0]
'B++ because 60 <= 65.67236082605127 < 70 (bands include their lower bound)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
import sympy

from engine.analysis.explain_data import (
    Computed,
    compute_columns,
    find_periods,
    find_unit,
    key_equals,
)
from engine.analysis.explain_notes import RankAndClassNotes
from engine.analysis.explanation import DetailValue, ExplainedStep, Explanation
from engine.analysis.substitute import SubstitutionPrinter, number, value_nodes
from engine.diagnostics import Code, Diagnostic, UsageError
from engine.format.model import Check, Derived, Indicator, Screen
from engine.formula import grain, ir
from engine.io import read
from engine.plan import Phase, Step, StepKind
from engine.runner import Data, read_data
from engine.validation import Validated, validate

# -- explaining ----------------------------------------------------------------------------


class _Explainer(RankAndClassNotes):
    """Explains the steps of one unit and period from the computed frames."""

    def __init__(
        self, computed: Computed, unit: str, period: object, *, detail: bool, digits: int | None
    ):
        self.plan = computed.plan
        self.m = computed.plan.methodology
        self.digits = digits
        self.want_detail = detail
        self.unit, self.period = unit, period
        self.frame = computed.frame
        self.nodes = computed.nodes
        self.detail_frame = computed.detail
        self.row = self._rows(computed.frame).row(0, named=True)
        self.detail_rows = self._rows(computed.detail) if computed.detail is not None else None

    def _rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The unit's rows of `frame` (one, or one per detail key, in key order)."""
        lay = self.m.layout
        cond = key_equals(lay.unit, self.unit)
        if lay.period:
            cond = cond & key_equals(lay.period, self.period)
        detail = [k for k in lay.detail if k in frame.columns]
        return frame.filter(cond).sort(detail) if detail else frame.filter(cond)

    def num(self, value: object) -> str:
        return number(value, self.digits)

    def print(
        self,
        expr: sympy.Basic,
        columns: Mapping[str, object] | None = None,
        nodes: Mapping[sympy.Basic, object] | None = None,
    ) -> str:
        return str(SubstitutionPrinter(columns, nodes, self.digits).doprint(expr))

    def node_values(self, step: Step, frame: pl.DataFrame) -> list[dict[sympy.Basic, object]]:
        """The value of each node printed for `step` (see :func:`_explained_nodes`) in each of
        the unit's rows of `frame`, from the columns the query computed for them."""
        columns = self.nodes.get(step.column, {})
        picked = self._rows(frame)
        return (
            [
                {n: r[c] for n, c in columns.items()}
                for r in picked.select(list(columns.values())).iter_rows(named=True)
            ]
            if columns
            else [{} for _ in range(picked.height)]
        )

    # steps
    def steps(self) -> tuple[ExplainedStep, ...]:
        out = list(self.inputs())
        checks = []
        classes = self.plan.classes
        # the class follows what it is cut on: the rank of the index, or the value of `classes.of`
        after = "rank" if classes is None or classes.on is None else classes.column
        for column, step in self.plan.steps.items():
            if step.kind == "check":
                checks.append(step)
                continue
            out.append(self.explain_step(step))
            if column == after and classes is not None:
                out.append(self.classification())
        if after not in self.plan.steps and classes is not None:
            out.append(self.classification())
        for step in checks:
            if self._check_failed(step):
                out.append(self.explain_step(step))
        return tuple(out)

    def inputs(self) -> list[ExplainedStep]:
        out = []
        for i in self.m.inputs:
            if i.grain == grain.DETAIL:
                rows = self.detail_rows
                n = rows.height if rows is not None else 0
                details = self._detail_values(i.name) if self.want_detail else ()
                out.append(
                    ExplainedStep(
                        i.name,
                        "input",
                        i.name,
                        i.label,
                        None,
                        i.name,
                        None,
                        None,
                        i.unit,
                        f"detail input: one value per detail row ({n} rows)",
                        grain.DETAIL,
                        details,
                    )
                )
                continue
            value = self.row.get(i.name)
            note = "" if value is not None else "missing in the data"
            # raw data is shown as it is, in full, whatever the digits of computed values
            out.append(
                ExplainedStep(
                    i.name,
                    "input",
                    i.name,
                    i.label,
                    None,
                    i.name,
                    number(value),
                    value,
                    i.unit,
                    note,
                )
            )
        return out

    def _detail_values(self, column: str) -> tuple[DetailValue, ...]:
        """`column`'s value in each detail row of the unit, with its keys."""
        assert self.detail_rows is not None
        out = []
        for r in self.detail_rows.iter_rows(named=True):
            value = r.get(column)
            text = self.num(value)
            out.append(DetailValue(tuple((k, r[k]) for k in self.m.layout.detail), text, value))
        return tuple(out)

    def _describe(self, step: Step) -> tuple[str | None, str | None, str]:
        """label, unit of measurement and the formula as written, by the kind of step."""
        m = self.m
        formula = step.formula or ""
        if step.kind == StepKind.INDICATOR:
            ind = m.indicator(step.name)
            return ind.label, ind.unit, formula
        if step.kind == StepKind.NORMALISED:
            ind = m.indicator(step.name)
            return f"{ind.label or ind.name}, normalised", None, self._normalisation(ind)
        if step.kind == StepKind.GROUP:
            return m.group(step.name).label, None, formula
        if step.kind == StepKind.INDEX and m.index is not None:
            label = m.index.label if step.column == "index" else "index before rounding"
            return label, None, formula
        if step.kind == StepKind.CLASS_VALUE:
            return "the value classes are cut on", None, formula
        named: dict[StepKind, Sequence[Derived | Screen | Check]] = {
            StepKind.DERIVED: m.derived,
            StepKind.SCREEN: m.screening,
            StepKind.CHECK: m.checks,
        }
        if step.kind not in named:
            return None, None, formula
        return next(x.label for x in named[step.kind] if x.name == step.name), None, formula

    def _normalisation(self, ind: Indicator) -> str:
        """How `ind` is normalised: the method with its parameters (or its formula), and
        over which rows its statistics are taken."""
        norm = ind.normalisation
        if norm.formula is not None:
            text = norm.formula.text
        else:
            params = ", ".join(
                f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in norm.params
            )
            text = f"{norm.method}({params})" if params else norm.method
        if not any(isinstance(n, ir.Stat) for n in value_nodes(norm.expr)):
            return text
        period = self.m.layout.period
        if norm.scope == "period" and period:
            scope = "within each period"
        elif norm.scope.startswith("by "):
            by = norm.scope.removeprefix("by ")
            scope = "within each " + ("period and " if period else "") + by
        else:
            scope = "over all rows"
        return f"{text}, statistics {scope}"

    def explain_step(self, step: Step) -> ExplainedStep:
        label, measured, text = self._describe(step)
        symbolic = self.print(step.expr)
        value = self.row.get(step.column)
        if step.phase == Phase.DETAIL and self.detail_rows is not None:
            return self._explain_on_detail(step, label, measured, text, symbolic)
        if step.periods and self.period not in step.periods:
            shown = ", ".join(str(p) for p in step.periods)
            return ExplainedStep(
                step.column,
                step.kind,
                step.name,
                label,
                text,
                symbolic,
                None,
                value,
                measured,
                f"computed for {self.m.layout.period} {shown} only",
            )
        nodes = (self.node_values(step, self.frame) or [{}])[0]
        substituted = self.print(step.expr, self.row, nodes)
        note = ""
        if step.column == "rank":  # a rank within groups is explained by its formula
            note = self._rank_note(value)
        elif step.kind == "check":
            note = self._check_note(step)
        return ExplainedStep(
            step.column,
            step.kind,
            step.name,
            label,
            text,
            symbolic,
            substituted,
            value,
            measured,
            note,
        )

    def _explain_on_detail(
        self, step: Step, label: str | None, measured: str | None, text: str, symbolic: str
    ) -> ExplainedStep:
        """A step computed on the detail rows: one value per row (detail grain), or a
        reduction to one value for the unit, whose operands are listed row by row on request."""
        rows, frame = self.detail_rows, self.detail_frame
        assert rows is not None and frame is not None
        keys = ", ".join(self.m.layout.detail)
        if step.grain == grain.DETAIL:
            details: tuple[DetailValue, ...] = ()
            if self.want_detail:
                per_row = self.node_values(step, frame)
                details = tuple(
                    DetailValue(
                        self._detail_key(r), self.print(step.expr, r, nodes), r.get(step.column)
                    )
                    for r, nodes in zip(rows.iter_rows(named=True), per_row)
                )
            note = f"computed on each of the unit's {rows.height} detail rows ({keys})" + (
                "" if self.want_detail else "; --detail lists them"
            )
            return ExplainedStep(
                step.column,
                step.kind,
                step.name,
                label,
                text,
                symbolic,
                None,
                None,
                measured,
                note,
                grain.DETAIL,
                details,
            )
        # the unit's columns are the same in each of its detail rows (collapsed with first())
        columns = rows.row(0, named=True) if rows.height else {}
        nodes = (self.node_values(step, frame) or [{}])[0]
        note = f"reduces the unit's {rows.height} detail rows ({keys})"
        details = ()
        if self.want_detail:
            details = self._reduced_rows(step, frame)
            if details:
                note += "; the rows list the terms of the reduction"
        if step.kind == "check":
            note = self._check_note(step) + "; " + note
        return ExplainedStep(
            step.column,
            step.kind,
            step.name,
            label,
            text,
            symbolic,
            self.print(step.expr, columns, nodes),
            self.row.get(step.column),
            measured,
            note,
            grain.UNIT,
            details,
        )

    def _detail_key(self, row: Mapping[str, object]) -> tuple[tuple[str, object], ...]:
        return tuple((k, row[k]) for k in self.m.layout.detail)

    def _reduced_rows(self, step: Step, frame: pl.DataFrame) -> tuple[DetailValue, ...]:
        """Row by row, the operand of the one statistic of `step` taken over the unit's own
        detail rows (``sum(abs(s_rk - s_k), by=[land, year])``): each term of the reduction."""
        unit_keys = set(self.m.layout.keys)
        own = [
            n
            for n in value_nodes(step.expr)
            if isinstance(n, ir.Stat)
            and not isinstance(n, ir.ROW_WISE)
            and set(n.keys) == unit_keys
        ]
        if len(own) != 1:
            return ()
        operand = own[0].operand
        per_row = self.node_values(step, frame)
        assert self.detail_rows is not None
        return tuple(
            DetailValue(self._detail_key(r), self.print(operand, r, nodes), nodes.get(operand))
            for r, nodes in zip(self.detail_rows.iter_rows(named=True), per_row)
        )

    def _period_frame(self) -> pl.DataFrame:
        lay = self.m.layout
        return self.frame.filter(key_equals(lay.period, self.period)) if lay.period else self.frame

    def _check_failed(self, step: Step) -> bool:
        if step.phase == Phase.DETAIL and self.detail_rows is not None:
            values = (
                self.detail_rows[step.column].to_list()
                if step.column in self.detail_rows.columns
                else []
            )
        else:
            values = [self.row.get(step.column)]
        return any(v is False for v in values)

    def _check_note(self, step: Step) -> str:
        check = next(c for c in self.m.checks if c.name == step.name)
        parts = [f"{check.severity} check fails"]
        tolerance = [
            f"{kind} {self.num(t)}"
            for kind, t in (("absolute", check.atol), ("relative", check.rtol))
            if t
        ]
        if tolerance:
            parts.append("tolerance: " + ", ".join(tolerance))
        return "; ".join(parts)


# -- the API ---------------------------------------------------------------------------------

Source = Sequence[str | Path] | Data | pl.DataFrame


def _prepare(
    methodology: str | Path | Validated, data: Source, options: read.ReadOptions | None
) -> Computed:
    validated = methodology if isinstance(methodology, Validated) else validate(methodology)
    if isinstance(data, pl.DataFrame):
        typed = Data(data)
    elif isinstance(data, Data):
        typed = data
    else:
        typed = read_data(validated.methodology, list(data), options)
    return compute_columns(validated, typed)


def explain_all(
    methodology: str | Path | Validated,
    data: Source,
    unit: str,
    period: object = None,
    *,
    options: read.ReadOptions | None = None,
    detail: bool = False,
    digits: int | None = None,
) -> tuple[Explanation, ...]:
    """Explain `unit` in `period`, or in every period it has data for when `period` is None.

    `detail` also gives the values of the steps computed on each detail row; `digits`
    prints numbers with that many significant digits instead of full precision.
    Raises :class:`DataError` (code ``unknown-key``) for a unit or period not in the data.

    >>> [e.period for e in explain_all("methodologies/kireeva.yaml",
    ...                                ["examples/kazakhstan/regions.csv"], "Almaty")]
    [2010, 2014]
    """
    computed = _prepare(methodology, data, options)
    m = computed.plan.methodology
    found = find_unit(m, computed.frame, str(unit))
    out = []
    for p in find_periods(m, computed.frame, found, period):
        ex = _Explainer(computed, found, p, detail=detail, digits=digits)
        out.append(Explanation(m.meta.id, found, p, ex.steps()))
    return tuple(out)


def explain(
    methodology: str | Path | Validated,
    data: Source,
    unit: str,
    period: object = None,
    *,
    options: read.ReadOptions | None = None,
    detail: bool = False,
    digits: int | None = None,
) -> Explanation:
    """Every step of `unit`'s result in `period`, from raw inputs to class, with its numbers.

    `period` may be omitted when the unit has data for one period only.

    >>> paper = "methodologies/kireeva.yaml"
    >>> e = explain(paper, ["examples/kazakhstan/regions.csv"], "Almaty", 2014)
    >>> e.step("SD.norm").symbolic
    'SD / max(SD, by=[year]) * 100'
    """
    found = explain_all(
        methodology, data, unit, period, options=options, detail=detail, digits=digits
    )
    if len(found) > 1:
        periods = ", ".join(str(e.period) for e in found)
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"'{unit}' has data for several periods ({periods})",
                    expected="a period",
                    hint="give one, or use explain_all for every period",
                )
            ]
        )
    return found[0]
