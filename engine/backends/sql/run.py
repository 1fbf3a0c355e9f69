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

from engine.backends.sql.audit import Base, audit
from engine.backends.sql.datachecks import check_inputs
from engine.backends.sql.engines import Engine
from engine.backends.sql.printer import column, is_condition
from engine.backends.sql.statements import (
    HIDDEN,
    Chain,
    Source,
    Statement,
    build_statement,
    output_column,
)
from engine.backends.sql.summary import (
    audited,
    detail_partials,
    detail_row_checks,
    row_checks,
    unit_summary,
)
from engine.diagnostics import Diagnostic
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
    for s in plan.steps.values():
        out[s.column] = pl.Boolean() if is_condition(s.expr) else pl.Float64()
    m = plan.methodology
    if m.index is not None and m.ranking.ties != "average":
        out["rank"] = pl.Int64()
    out["class"] = out["class_group"] = pl.String()
    for lab in m.layout.labels:
        out[lab] = pl.String()
    for i in m.inputs:
        out[i.name] = pl.Float64()
    return out


def _typed(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame:
    types = _dtypes(plan)
    return frame.with_columns(
        pl.col(c).cast(types[c]) for c in frame.columns if c in types and frame[c].dtype != types[c]
    )


def compute(
    plan: Plan, engine: Engine, data: SqlData, *, summaries: bool = False
) -> tuple[pl.DataFrame, Statement, Source, dict[str, object]]:
    """Every unit-level column (fetched, sorted by key), the statement, the result as a
    table of the engine and, if asked, the summary aggregates.

    The unit-level rows are fetched once; the summary is then computed by the engine
    over those rows registered back (a small table, however large the detail rows).
    """
    m = plan.methodology
    keys = list(m.layout.keys)
    partials = detail_partials(plan, None) if summaries and data.detail is not None else []
    statement = build_statement(
        plan,
        data.units,
        data.detail,
        partials=partials,
        row_checks=detail_row_checks(plan) if partials else [],
    )
    visible = list(statement.result.visible)
    if not summaries:
        query = statement.chain.select(statement.result, [column(c) for c in visible], order=keys)
        return _typed(plan, engine.fetch(query)), statement, Source(exp.Null(), ()), {}
    columns = visible + [n for n, _ in partials]
    result, rows = engine.materialize(
        statement.chain.select(statement.result, [column(c) for c in columns]), columns, keys
    )
    base = _base(result)
    frame = _typed(plan, rows.select(visible))
    steps = audited(plan, False)
    looked = base.define(row_checks(plan, steps)) if steps else base
    aggs = unit_summary(
        plan, set(result.columns), detail_columns=set() if data.detail is not None else None
    )
    summary: dict[str, object] = {}
    if aggs:
        named = [exp.alias_(e, n, quoted=True) for n, e in aggs]
        summary = engine.fetch(looked.chain.select(looked.rel, named)).row(0, named=True)
    period = m.layout.period
    if period:
        summary["periods"] = frame[period].unique(maintain_order=True).to_list()
    return frame, statement, result, summary


def _base(source: Source) -> Base:
    chain = Chain()
    rel = chain.add("result", exp.select(exp.Star()).from_(source.table), source.columns)
    return Base(chain, rel)


def execute(
    plan: Plan, engine: Engine, data: SqlData, *, keep_detail: bool = False
) -> Computed:
    """Run `plan` on the engine: check, compute, audit, evaluate the checks, report."""
    m = plan.methodology
    if any(g.weighting == "pca" for g in m.groups):
        from engine.methods import pca  # numpy: only for PCA weights

        estimated = pca.resolve(m, lambda mm: compute(build_plan(mm), engine, data)[0])
        plan = build_plan(estimated)
        m = plan.methodology
    warnings = check_inputs(m, engine.fetch, data.units, data.detail)
    frame, statement, result, summary = compute(plan, engine, data, summaries=True)
    detail_base = (
        Base(statement.chain, statement.detail) if statement.detail is not None else None
    )
    audit(plan, engine.fetch, summary, _base(result), detail_base)
    checks = evaluate_checks(plan, frame, summary)
    warnings += missing_index_warnings(plan, frame)
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

