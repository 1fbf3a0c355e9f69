"""Running a plan on a SQL engine: the same steps and the same result as the polars run.

1. check the inputs (:mod:`.datachecks`);
2. compute every column with one query (:mod:`.statements`) and keep the unit-level
   rows in a temporary table of the engine (one row per unit and period; the detail
   rows are reduced in the same query and not kept);
3. compute the audit summary and the checks' counts over that table (:mod:`.summary`)
   and audit (:mod:`.audit`);
4. fetch the table into polars: the output, the checks' failing rows, the effective
   weights and the adjustments are then taken from it exactly as in a polars run.

PCA weights need a first pass (the normalised scores) before the weights are known;
it runs on the engine too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from sqlglot import exp

from engine.backends.sql import datachecks
from engine.backends.sql.audit import Base, audit
from engine.backends.sql.datachecks import check_inputs
from engine.backends.sql.engines import Engine
from engine.backends.sql.printer import column, condition_columns
from engine.backends.sql.statements import (
    HIDDEN,
    Chain,
    Source,
    Statement,
    build_statement,
    integer_ranks,
    output_column,
)
from engine.backends.sql.summary import (
    Aggregate,
    combine,
    detail_partials,
    markers,
    unit_summary,
)
from engine.diagnostics import Diagnostic
from engine.format.model import OutputType
from engine.plan import Plan, build_plan
from engine.report.summary import (
    adjustments,
    effective_weights,
    evaluate_checks,
    missing_index_warnings,
)
from engine.runner import Computed

__all__ = ["SqlData", "compute", "execute"]


@dataclass(frozen=True)
class SqlData:
    """Input relations in an engine: unit-level rows, detail rows (either may be None)."""

    units: Source | None
    detail: Source | None = None
    warnings: tuple[Diagnostic, ...] = ()


def _dtypes(plan: Plan) -> dict[str, pl.DataType]:
    """The polars type of every computed column, as a polars run gives it."""
    out: dict[str, pl.DataType] = {}
    conditions = condition_columns((s.column, s.expr) for s in plan.steps.values())
    for s in plan.steps.values():
        out[s.column] = pl.Boolean() if s.column in conditions else pl.Float64()
    m = plan.methodology
    for name in integer_ranks(plan):
        out[name] = pl.Int64()
    out["class"] = out["class_group"] = pl.String()
    for lab in m.layout.labels:
        out[lab] = pl.String()
    for i in m.inputs:
        out[i.name] = pl.Float64()
    for d in m.derived:
        if d.type is OutputType.TEXT:
            out[d.name] = pl.String()
        elif d.type is OutputType.INTEGER:
            out[d.name] = pl.Int64()
    return out


def _typed(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame:
    types = _dtypes(plan)
    # integer outputs are whole numbers (their declared domain; else missing), as polars
    # writes them: rounded, as 64-bit integers
    return frame.with_columns(
        (
            pl.col(c).round(0) if types[c] == pl.Int64 and frame[c].dtype.is_float() else pl.col(c)
        ).cast(types[c])
        for c in frame.columns
        if c in types and frame[c].dtype != types[c]
    )


def compute(plan: Plan, engine: Engine, data: SqlData, *, checked: bool = False) -> Computed_:
    """Every unit-level column (fetched, sorted by key) and the statement; when
    `checked`, also the result as a table of the engine and, per period, the input
    counts and the audit summary (one query over that table).

    The unit-level rows are fetched once, and the aggregates are computed by the engine
    over those rows kept in a table (small, however many the detail rows).
    """
    m = plan.methodology
    keys = list(m.layout.keys)
    with_detail = data.detail is not None
    partials = []
    if checked and with_detail:
        partials = detail_partials(plan) + datachecks.detail_partials(m)
    statement = build_statement(plan, data.units, data.detail, partials=partials)
    visible = list(statement.result.visible)
    if not checked:
        query = statement.chain.select(statement.result, [column(c) for c in visible], order=keys)
        return Computed_(_typed(plan, engine.fetch(query)), statement, None, pl.DataFrame(), [])
    # with the marker columns of the unit-level steps (the audit reads them)
    columns = visible + markers(plan, False) + [n for n, _ in partials]
    result, rows = engine.materialize(
        statement.chain.select(statement.result, [column(c) for c in columns]), columns, keys
    )
    looked = _base(result)
    aggregates = unit_summary(plan, with_detail=with_detail) + datachecks.input_aggregates(
        m, with_detail
    )
    period = m.layout.period
    named = [exp.alias_(e, n, quoted=True) for n, e, _ in aggregates]
    named.append(exp.alias_(exp.Count(this=exp.Star()), HIDDEN + "rows", quoted=True))
    query = looked.chain.select(looked.rel, ([column(period)] if period else []) + named)
    if period:
        query = query.group_by(column(period)).order_by(column(period))
    by_period = engine.fetch(query)
    return Computed_(_typed(plan, rows.select(visible)), statement, looked, by_period, aggregates)


@dataclass(frozen=True)
class Computed_:
    """What :func:`compute` gives: the unit-level rows and how they were computed."""

    frame: pl.DataFrame
    statement: Statement
    #: the result table in the engine (when checked)
    result: Base | None
    #: per period: input counts and the audit summary (when checked)
    by_period: pl.DataFrame
    aggregates: list[Aggregate]


def _base(source: Source) -> Base:
    chain = Chain()
    rel = chain.add("result", exp.select(exp.Star()).from_(source.table), source.columns)
    return Base(chain, rel)


def execute(plan: Plan, engine: Engine, data: SqlData, *, keep_detail: bool = False) -> Computed:
    """Run `plan` on the engine: check, compute, audit, evaluate the checks, report."""
    m = plan.methodology
    if any(g.weighting == "pca" for g in m.groups):
        from engine.methods import pca  # numpy: only for PCA weights

        estimated = pca.resolve(m, lambda mm: compute(build_plan(mm), engine, data).frame)
        plan = build_plan(estimated)
        m = plan.methodology
    done = compute(plan, engine, data, checked=True)
    frame, statement, result = done.frame, done.statement, done.result
    assert result is not None
    present = set(data.units.columns if data.units is not None else ()) | set(
        data.detail.columns if data.detail is not None else ()
    )
    detail_rows = (
        (statement.chain, statement.detail_input) if statement.detail_input is not None else None
    )
    warnings = check_inputs(
        m, engine.fetch, done.by_period, present, (result.chain, result.rel), detail_rows
    )
    summary = combine(done.by_period, done.aggregates)
    if m.layout.period:
        summary["periods"] = frame[m.layout.period].unique(maintain_order=True).to_list()
    detail_base = Base(statement.chain, statement.detail) if statement.detail is not None else None
    undefined = audit(plan, engine.fetch, summary, result, detail_base)
    checks = evaluate_checks(plan, frame, summary)
    # in the polars run's order: undefined values first
    warnings = undefined + warnings + missing_index_warnings(plan, frame)
    kept = None
    if keep_detail and statement.detail is not None:
        kept = engine.fetch(
            statement.chain.select(
                statement.detail,
                [output_column(plan, c) for c in plan.detail_output],
                order=m.layout.detail_keys,
            )
        )
        kept = _typed(plan, kept)
    output = frame.select(plan.output)
    periods = summary.get("periods")
    return Computed(
        plan,
        output,
        checks,
        warnings,
        kept,
        effective_weights(plan, frame, periods if isinstance(periods, list) else None),
        adjustments(plan, frame),
    )


def sources(engine: Engine, frames: Sequence[pl.DataFrame | None]) -> list[Source | None]:
    """polars frames (read by indexlab's reader) as input relations of the engine."""
    return [engine.register(f) if f is not None else None for f in frames]
