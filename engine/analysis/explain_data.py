"""The numbers ``explain`` shows: the plan's query run keeping every intermediate column.

Each step's outermost cross-unit statistics and ``at()`` references become extra
columns computed in the same stage as the step, so a ``max(SD)`` shown for a unit is the
query's own value, never a number recomputed in Python by another method. Also: finding
the unit (by id or label) and its periods, with suggestions when they are not found.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import sympy

from engine.analysis.substitute import value_nodes
from engine.backends.polars.execute import audit, build_query, collect
from engine.diagnostics import Code, DataError, Diagnostic
from engine.format.model import Methodology
from engine.formula import grain, ir
from engine.plan import Phase, Plan, Step
from engine.runner import Data, count_periods, no_empty_inputs
from engine.validation import Validated

# -- computing every column --------------------------------------------------------------


@dataclass(frozen=True)
class Computed:
    """The query's result with every intermediate column (api.run keeps only the outputs),
    and the columns holding the value of each substituted node, per step."""

    plan: Plan
    frame: pl.DataFrame
    detail: pl.DataFrame | None
    nodes: Mapping[str, Mapping[sympy.Basic, str]]


def _explained_nodes(plan: Plan, step: Step) -> list[sympy.Basic]:
    """What the explanation of `step` prints as values: its statistics and at() references,
    and, for a reduction over the unit's own detail rows, the reduced operand and its nodes."""
    nodes = value_nodes(step.expr)
    if step.phase == Phase.DETAIL and step.grain == grain.UNIT:
        unit_keys = set(plan.methodology.layout.keys)
        own = [
            n
            for n in nodes
            if isinstance(n, ir.Stat)
            and not isinstance(n, ir.ROW_WISE)
            and set(n.keys) == unit_keys
        ]
        if len(own) == 1:
            nodes += [own[0].operand] + [n for n in value_nodes(own[0].operand) if n not in nodes]
    return nodes


def _with_node_columns(plan: Plan) -> tuple[Plan, dict[str, dict[sympy.Basic, str]]]:
    """A copy of `plan` in which each node an explanation prints is one more column, computed
    in the same stage as its step, so that its value is the query's own."""
    names: dict[str, dict[sympy.Basic, str]] = {}

    def extend(stage: tuple[Step, ...]) -> tuple[Step, ...]:
        extra = []
        for s in stage:
            names[s.column] = {}
            for i, node in enumerate(_explained_nodes(plan, s)):
                column = f"__explain__{s.column}__{i}"
                names[s.column][node] = column
                extra.append(
                    dataclasses.replace(s, column=column, expr=node, periods=(), requires=None)
                )
        return stage + tuple(extra)

    copy = dataclasses.replace(
        plan,
        first=tuple(extend(st) for st in plan.first),
        detail=tuple(extend(st) for st in plan.detail),
        after=tuple(extend(st) for st in plan.after),
        screening=extend(plan.screening),
    )
    return copy, names


def compute_columns(validated: Validated, data: Data) -> Computed:
    """What :func:`engine.api.execute` does, keeping the intermediate columns and computing the
    explained nodes as extra columns of the same query."""
    from engine.runner import estimate

    estimated = estimate(validated.plan, data)  # PCA weights, benefit of the doubt
    plan, data = estimated.plan, estimated.data
    no_empty_inputs(validated.methodology, data)
    units = data.units.lazy() if data.units is not None else None
    detail = data.detail.lazy() if data.detail is not None else None
    extended, names = _with_node_columns(plan)
    unit_lf, detail_lf = build_query(
        extended, units, detail, periods=count_periods(validated.methodology, data)
    )
    if detail_lf is not None:
        frame, detail_frame = collect(unit_lf, detail_lf)
    else:
        (frame,), detail_frame = collect(unit_lf), None
    audit(plan, frame, detail_frame)
    return Computed(plan, frame, detail_frame, names)


def key_equals(column: str, value: object) -> pl.Expr:
    return pl.col(column).cast(pl.String) == str(value)


# -- finding the unit and its periods ------------------------------------------------------


def find_unit(m: Methodology, frame: pl.DataFrame, unit: str) -> str:
    units = [str(u) for u in frame[m.layout.unit].unique(maintain_order=True).to_list()]
    if unit in units:
        return unit
    for (
        label
    ) in m.layout.labels:  # a label naming exactly one unit (a country's name for its ISO code)
        hits = frame.filter(pl.col(label).cast(pl.String) == unit)[m.layout.unit].unique().to_list()
        if len(hits) == 1:
            return str(hits[0])
    close = difflib.get_close_matches(unit, units, n=3, cutoff=0.6)
    close += [u for u in units if u.lower() == unit.lower() or unit.lower() in u.lower()]
    close = list(dict.fromkeys(close))[:5]
    hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else None
    shown = ", ".join(sorted(units)[:12]) + (
        f" and {len(units) - 12} more" if len(units) > 12 else ""
    )
    raise DataError(
        [
            Diagnostic(
                Code.UNKNOWN_KEY,
                f"unit '{unit}' is not in the data (column '{m.layout.unit}')",
                expected=f"one of: {shown}",
                hint=hint,
            )
        ]
    )


def find_periods(m: Methodology, frame: pl.DataFrame, unit: str, period: object) -> list[object]:
    if m.layout.period is None:
        if period is not None:
            raise DataError(
                [
                    Diagnostic(
                        Code.UNKNOWN_KEY,
                        f"period '{period}' given, but the methodology has no period column",
                        expected="no --period",
                    )
                ]
            )
        return [None]
    rows = frame.filter(key_equals(m.layout.unit, unit))
    available = sorted(rows[m.layout.period].unique().to_list())
    if period is None:
        return available
    for p in available:
        if str(p) == str(period):
            return [p]
    text = [str(p) for p in available]
    close = difflib.get_close_matches(str(period), text, n=1, cutoff=0.6)
    raise DataError(
        [
            Diagnostic(
                Code.UNKNOWN_KEY,
                f"{m.layout.period} '{period}' is not in the data for '{unit}'",
                expected="one of the periods available: " + ", ".join(text),
                hint=f"did you mean '{close[0]}'?" if close else None,
            )
        ]
    )
