"""The work of a sensitivity analysis that no replication changes, done once.

A replication differs from the nominal run only by what the design draws: weights (and
dropped members), the aggregation, and the imputation, treatment and normalisation
alternatives. The steps of the replicated plan that read none of the per-replication
columns (the indicators, every imputation and treatment alternative, the estimation of
the treatment's bounds, every normalisation alternative) depend at most on the choice of
imputation, treatment and normalisation. They are computed once per distinct combination
of those choices that the design table holds — once in all when none varies — with every
statistic grouped by the period and the varying choices; the replications then join that
table on their choices and compute only what follows (groups, index, rank, class).

This gives the same numbers as computing everything per replication: a statistic over the
rows of one period and one replication is a statistic over the rows of that period and
that replication's choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import polars as pl
import sympy

from engine.backends.polars import procedures
from engine.backends.polars.compile import Context
from engine.backends.polars.execute import collect
from engine.backends.polars.steps import StepColumns, step_columns, with_columns_of
from engine.formula import ir
from engine.plan import Plan, Step

__all__ = ["Split", "compile_stages", "prepare", "split", "with_keys"]

#: stages compiled for a stacked frame: each stage's columns (undefined results guarded,
#: as in a run) and procedure calls
Compiled = list[tuple[list[StepColumns], list[procedures.Call]]]


def with_keys(expr: sympy.Basic, extra: tuple[str, ...]) -> sympy.Basic:
    """`expr` with `extra` added to the keys of every statistic and procedure."""
    if not extra:
        return expr
    tail = tuple(sympy.Symbol(k) for k in extra)
    if isinstance(expr, ir.Procedure):
        keys = sympy.Tuple(*expr.args[3], *tail)
        return expr.func(*expr.args[:3], keys, expr.args[4], evaluate=False)
    if isinstance(expr, ir.Stat):
        keys = sympy.Tuple(*expr.args[1], *tail)
        rest = [with_keys(a, extra) for a in expr.args[2:]]
        return expr.func(with_keys(expr.args[0], extra), keys, *rest, evaluate=False)
    if isinstance(expr, ir.PAIRWISE):
        keys = sympy.Tuple(*expr.args[2], *tail)
        return expr.func(
            sympy.Tuple(*(with_keys(a, extra) for a in expr.args[0])),
            sympy.Tuple(*(with_keys(a, extra) for a in expr.args[1])),
            keys,
            *expr.args[3:],
            evaluate=False,
        )
    if not expr.args or isinstance(expr, ir.Str):
        return expr
    return ir.rebuild(expr, [with_keys(a, extra) for a in expr.args])


@dataclasses.dataclass(frozen=True)
class Split:
    """The replicated plan's steps: those computed once per combination of choices, and
    those computed per replication (both in plan order)."""

    once: tuple[Step, ...]
    each: tuple[Step, ...]


def split(plan: Plan, varying: Iterable[str]) -> Split:
    """Steps that read (directly or through another step) none of the `varying` columns
    are computed once; the others per replication."""
    tainted = set(varying)
    once: list[Step] = []
    each: list[Step] = []
    for stage in plan.stages:
        for s in stage:
            if ir.free_names(s.expr) & tainted:
                tainted.add(s.column)
                each.append(s)
            else:
                once.append(s)
    return Split(tuple(once), tuple(each))


def _context(plan: Plan, extra: tuple[str, ...]) -> Context:
    m = plan.methodology
    return Context({}, m.layout.unit, m.layout.period, detail=extra, order=(*extra, *m.layout.keys))


def compile_stages(plan: Plan, steps: Sequence[Step], extra: tuple[str, ...]) -> Compiled:
    """`steps`, their statistics grouped also by the columns `extra`, as stages of
    expressions and procedure calls for a frame stacked along `extra`."""
    base = {s.column for s in steps}
    depth: dict[str, int] = {}
    for s in steps:  # in plan order: a step comes after what it reads
        reads = ir.free_names(s.expr) & base
        depth[s.column] = 1 + max((depth[c] for c in reads), default=0)
    ctx = _context(plan, extra)
    out: Compiled = []
    for level in sorted(set(depth.values())):
        stage = [
            dataclasses.replace(s, expr=with_keys(s.expr, extra))
            for s in steps
            if depth[s.column] == level
        ]
        plain, calls = procedures.split(stage)
        out.append(([step_columns(plan, s, context=ctx) for s in plain], calls))
    return out


def run_stages(lf: pl.LazyFrame, stages: Compiled) -> pl.LazyFrame:
    for exprs, calls in stages:
        for call in calls:
            lf = procedures.apply(lf, call)
        if exprs:
            lf = with_columns_of(lf, exprs)
    return lf


def prepare(
    plan: Plan,
    steps: Sequence[Step],
    data: pl.DataFrame,
    combinations: pl.DataFrame,
    varying: tuple[str, ...],
    keep: Iterable[str],
) -> pl.DataFrame:
    """`data` once per row of `combinations` (the distinct choices of the design), with the
    `steps` computed, their statistics grouped also by the `varying` choice columns;
    only the key and choice columns and `keep` are returned."""
    lf = data.lazy().join(combinations.lazy(), how="cross", maintain_order="left")
    lf = run_stages(lf, compile_stages(plan, steps, varying))
    names = lf.collect_schema().names()
    wanted = [*plan.methodology.layout.keys, *combinations.columns]
    wanted += [c for c in dict.fromkeys(keep) if c in names and c not in wanted]
    return collect(lf.select(wanted))[0]
