"""A streamed run of detail data (unit × detail key × period rows), one period at a time.

The specialisation methodologies read fine-grain rows (region × industry × year) and
collapse them to one row per unit and period. Every statistic they take on the detail
rows is within a period (sums by land and year, by industry and year; ranks of the
location quotients by land and year; ``at(lq, industry='J')`` of the same land and
year), so the detail rows of one period are all such a statistic ever reads. The run
therefore takes the periods one at a time: the detail rows of one period are scanned (a
filter on the period, pushed into the Parquet or IPC scan), the detail stages and the
collapse run on them in memory (:func:`engine.backends.polars.execute.on_detail`), and
only the collapsed unit rows are kept. The unit-level stages then run in memory on the
collapsed rows of every period (one row per unit and period: small next to the detail
rows) exactly as the in-memory run does. Memory grows with the largest period, not with
the number of periods.

:func:`refusal` verifies that at plan time: a detail-level statistic, ``at()``, fill or
procedure that reads rows of other periods is refused with its name, and the run reads
the data into memory as always.

The report is the in-memory run's. The audit counts of the detail stages are summed
over the periods and decided by the same rules
(:func:`engine.backends.polars.audit.audit_with`); where a count is not zero, the
periods that have such rows are computed again and their causes added up
(:class:`engine.backends.polars.audit.Causes`), so a diagnosis counts the rows of every
period and names the first ones, period by period in the order the periods first
appear in the data (the in-memory run names them in the data's order: the same rows
when the data is ordered by period, as a dataset partitioned by period is). The checks
and the unit-level audit are evaluated on the unit rows, which are all in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import sympy

from engine.backends.polars import ENGINE
from engine.diagnostics import Diagnostic
from engine.formula import ir
from engine.formula.render import show

if TYPE_CHECKING:
    from engine.api import Validated
    from engine.backends.polars.audit import Causes, Hit
    from engine.io.read import ReadOptions
    from engine.plan import Plan, Step
    from engine.streamrun import StreamedRun

__all__ = ["prepare_detail", "refusal"]


def _nodes(expr: sympy.Basic) -> Iterator[sympy.Basic]:
    yield expr
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            yield from _nodes(a)


def _across(node: sympy.Basic, period: str) -> str | None:
    """What in `node` reads rows of other periods than the row's own, if anything."""
    if isinstance(node, ir.Stat) and period not in node.keys:
        by = f"by {', '.join(node.keys)}" if node.keys else "over all rows"
        return f"{node.label or type(node).__name__}() {by}"
    if isinstance(node, ir.At) and period in dict(node.fixed):
        return "at() of another period"
    if isinstance(node, ir.FillForward | ir.FillBackward):
        return "a fill across periods"
    if isinstance(node, ir.Procedure | ir.PAIRWISE[0]) and period not in node.keys:
        return f"{type(node).__name__.lower()} over rows of several periods"
    return None


def refusal(plan: Plan) -> str | None:
    """Why the detail stages of `plan` cannot run one period at a time, or None.

    Every statistic, ``at()``, fill, procedure and pairwise comparison computed on the
    detail rows must stay within a period: grouped by keys that include the period."""
    period = plan.methodology.layout.period
    if period is None:
        return "detail data without a period column"
    for stage in plan.detail:
        for step in stage:
            for expr in [step.expr] + ([step.requires] if step.requires is not None else []):
                for node in _nodes(expr):
                    what = _across(node, period)
                    if what is not None:
                        return (
                            f"'{step.name}' reads detail rows of several periods: "
                            f"{what} in {show(node)}"
                        )
    return None


@dataclass
class _Periods:
    """The detail rows of each period, computed on demand (the detail stages run on the
    period's rows in memory)."""

    plan: Plan
    detail: pl.LazyFrame
    units: pl.DataFrame | None
    values: list[object]
    single: bool

    def frames(
        self, chosen: Sequence[object] | None = None
    ) -> Iterator[tuple[object, pl.LazyFrame, pl.LazyFrame]]:
        """Per period: the value, its detail rows with the detail stages computed, and
        their collapse (both lazy, to collect together)."""
        from engine.backends.polars.execute import on_detail

        period = self.plan.methodology.layout.period
        assert period is not None
        for value in self.values if chosen is None else chosen:
            rows = self.detail.filter(pl.col(period) == value)
            units = None
            if self.units is not None:
                units = self.units.lazy().filter(pl.col(period) == value)
            detail, reduced = on_detail(self.plan, rows, units, self.single)
            yield value, detail, reduced

    def frame(self, value: object) -> pl.DataFrame:
        """The detail rows of one period, computed."""
        _, detail, _ = next(self.frames([value]))
        return detail.collect(engine=ENGINE)


@dataclass
class _Totals:
    """What the first sweep over the periods keeps: the collapsed rows, the audit counts
    (summed, and per period), the missing detail inputs' rows."""

    reduced: list[pl.DataFrame]
    summary: dict[str, int]
    by_period: dict[object, dict[str, int]]
    missing: dict[str, Hit]
    rows: list[int]
    #: rows whose keys another row of the period has (the reader names them)
    duplicates: int = 0


def _sweep(periods: _Periods, names: Sequence[str]) -> _Totals:
    """Every period once: its collapse, its audit counts, its missing detail inputs."""
    from engine.backends.polars.audit import Hit, audit_exprs

    plan = periods.plan
    keys = list(plan.methodology.layout.detail_keys)
    totals = _Totals([], {}, {}, {}, [])
    for value, detail, reduced in periods.frames():
        exprs = audit_exprs(plan, detail.collect_schema(), True)
        exprs += [pl.col(n).null_count().alias(f"missing:{n}") for n in names]
        exprs.append(pl.len().alias("rows"))
        exprs.append((~pl.struct(keys).is_unique()).sum().alias("duplicates"))
        got = pl.collect_all([reduced, detail.select(exprs)], engine=ENGINE)
        totals.reduced.append(got[0])
        counts = {k: int(v or 0) for k, v in got[1].row(0, named=True).items()}
        totals.rows.append(counts.pop("rows"))
        totals.duplicates += counts.pop("duplicates")
        totals.by_period[value] = counts
        for k, v in counts.items():
            totals.summary[k] = totals.summary.get(k, 0) + v
        for n in names:
            if counts[f"missing:{n}"]:
                hit = detail.filter(pl.col(n).is_null()).select(keys)
                found = hit.head(10).collect(engine=ENGINE)
                named = tuple(" ".join(str(v) for v in r) for r in found.iter_rows())
                here = Hit(counts[f"missing:{n}"], named)
                totals.missing[n] = totals.missing[n] + here if n in totals.missing else here
    return totals


def _audit_detail(periods: _Periods, totals: _Totals, tainted: set[str]) -> list[Diagnostic]:
    """The undefined values of the detail stages, decided on the summed counts and taken
    apart on the periods that have such rows."""
    from engine.backends.polars.audit import audit_with, audited_steps, causes, empty_statistics

    plan = periods.plan
    schema = next(periods.frames())[1].collect_schema()
    steps = audited_steps(plan, schema, True)
    if not any(
        totals.summary.get(f"{k}:{s.column}") for s in steps for k in ("undefined", "nulls")
    ):
        return []

    def having(step: Step) -> list[object]:
        """The periods where `step` has missing or undefined values (an undefined value
        is missing too), in the order they appear."""
        kinds = ("undefined", "nulls")
        return [
            v
            for v, c in totals.by_period.items()
            if any(c.get(f"{k}:{step.column}") for k in kinds)
        ]

    def empty_of(chosen: Sequence[Step]) -> set[str]:
        found: set[str] = set()
        wanted = {v for s in chosen for v in having(s)}
        for v in [v for v in periods.values if v in wanted]:
            here = [s for s in chosen if totals.by_period[v].get(f"nulls:{s.column}")]
            found |= empty_statistics(plan, here, periods.frame(v))
        return found

    def causes_of(step: Step, rows: pl.Expr) -> Causes:
        got: Causes | None = None
        for v in having(step):
            here = causes(plan, periods.frame(v), step, rows)
            got = here if got is None else got + here
        assert got is not None  # audit_with asks only of a step with such rows
        return got

    return audit_with(plan, steps, totals.summary, empty_of, causes_of, tainted)


def prepare_detail(
    validated: Validated, paths: Sequence[Path], options: ReadOptions
) -> StreamedRun | str:
    """The streamed run of `validated` (a methodology with detail data) on `paths`, or
    why it does not stream."""
    from engine.backends.polars.audit import apply_policy, audit_exprs, audit_frame
    from engine.backends.polars.execute import collapsed, finish, on_units
    from engine.backends.polars.stream import Pass, PassKind
    from engine.io import read
    from engine.io.read.scan import scan_data
    from engine.report.summary import check_count_exprs, evaluate_checks, missing_index_warnings
    from engine.runner import missing_detail_warning
    from engine.streamrun import (
        StreamedRun,
        _estimated,
        _inputs,
        _inputs_defined,
        absent_notes,
    )

    plan, m = validated.plan, validated.methodology
    why = refusal(plan) or _estimated(m)
    if why is not None:
        return why
    if m.layout.columns:
        return "columns renamed by data.columns"
    period = m.layout.period
    assert period is not None  # refusal() says why not
    absent, inputs = _inputs(m, paths, options)
    grain = {i.name: i.grain for i in m.inputs}
    detail_inputs = [n for n in inputs if grain[n] == "detail"]
    unit_inputs = [n for n in inputs if grain[n] != "detail"]
    headers = {p: set(read.header_of(p, options)) for p in paths}
    detail_files = [p for p in paths if set(m.layout.detail) <= headers[p]]
    unit_files = [p for p in paths if p not in detail_files]
    if not detail_files:
        return "no file has the detail columns"
    scanned = scan_data(
        detail_files,
        keys=list(m.layout.detail_keys),
        numeric=detail_inputs,
        text=list(m.layout.labels) if not unit_files else [],
        period=period,
        options=options,
        duplicates=False,  # period by period in _sweep
    )
    if isinstance(scanned, str):
        return scanned
    detail = scanned.frame
    why = _inputs_defined(m, detail, detail_inputs)
    if why is not None:
        return why
    unit_frame = None
    if unit_files or unit_inputs:
        units = scan_data(
            unit_files or paths,
            keys=list(m.layout.keys),
            numeric=unit_inputs,
            text=list(m.layout.labels),
            period=period,
            options=options,
        )
        if isinstance(units, str):
            return units
        why = _inputs_defined(m, units.frame, unit_inputs)
        if why is not None:
            return why
        unit_frame = units.frame.collect(engine=ENGINE)
    elif m.layout.labels:  # the labels of each unit, from its first detail row
        by = detail.group_by(list(m.layout.keys))
        unit_frame = by.agg(pl.col(list(m.layout.labels)).first()).collect(engine=ENGINE)
    fill = [pl.lit(None, dtype=pl.Float64).alias(n) for n in absent]
    detail = detail.with_columns(f for f in fill if grain[f.meta.output_name()] == "detail")
    # as runner.count_periods counts them: in the unit rows when there are any
    counted = unit_frame.get_column(period).n_unique() if unit_frame is not None else None
    single = (counted if counted is not None else scanned.periods) <= 1
    first = None
    if unit_frame is not None:
        unit_frame = unit_frame.with_columns(
            f for f in fill if grain[f.meta.output_name()] != "detail"
        )
        first = on_units(plan, unit_frame.lazy(), single).collect(engine=ENGINE)
    found = detail.select(pl.col(period).unique(maintain_order=True)).collect(engine=ENGINE)
    periods = _Periods(plan, detail, first, found.get_column(period).to_list(), single)
    totals = _sweep(periods, detail_inputs)
    if totals.duplicates:
        return "duplicate keys"

    reduced = pl.concat(totals.reduced, how="vertical")
    lf = collapsed(plan, first.lazy() if first is not None else None, reduced.lazy())
    frame = finish(plan, lf, single).collect(engine=ENGINE)
    tainted: set[str] = set()
    undefined = _audit_detail(periods, totals, tainted)
    summary = frame.select(
        audit_exprs(plan, frame.collect_schema(), False) + check_count_exprs(plan)
    )
    counts = summary.row(0, named=True) if summary.width else {}
    undefined += audit_frame(plan, frame, False, counts, tainted)
    checks = evaluate_checks(plan, frame, counts)
    missing = tuple(
        missing_detail_warning(n, totals.missing[n].rows, totals.missing[n].names)
        for n in detail_inputs
        if n in totals.missing
    )
    notes = absent_notes(absent)
    warnings = apply_policy(plan, undefined) + missing + missing_index_warnings(plan, frame)
    passes = tuple(Pass(PassKind.PERIOD, (period,), plan.collapse, n) for n in totals.rows)
    return StreamedRun(
        m,
        checks,
        notes + validated.warnings + warnings,
        frame.height,
        passes,
        frame.select(plan.output).lazy(),
    )
