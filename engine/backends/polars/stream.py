"""A plan as a streamed query: statistics in passes of their own, so memory does not grow
with the number of rows.

In memory, every statistic is a window (``max(x).over(year)``) of one query; polars'
streaming engine evaluates a window by holding every column of its input, so that query
does not stream. Here each statistic and each ``at()`` is *hoisted*: computed in a pass
of its own before the stage that reads it, then read as a column (``Context.hoisted``):

* **groups**: aggregates over groups (max, min, sum, mean, SD, count, median, quantile):
  a streamed ``group_by(keys).agg(...)``, one row per group, joined back on the keys (a
  cross join when pooled). Holds one row per group.
* **at**: ``at(x, year=2010)`` reads the rows where the fixed keys have their values:
  those rows' other keys and ``x`` are looked up on the other keys, a part of the units
  at a time (:func:`_at_rows`), giving one value per row. Holds that column (8 bytes a
  row) and, while the pass runs, the hash table of one part of the units.
* **rows**: ranks and cumulative sums give every row a value of its own: a rank within
  the period is one sort of (other keys, value) per period, that period's rows filtered
  as they stream (:func:`_ranks`), so the sort holds the largest period, not every row;
  the ranks are held as 4 bytes a row (8 for average ranks); another window runs on the
  columns it reads only (those columns of every row are held).

A value per row (at, rows) is added to the query by the row number, gathered as the rows
stream (:func:`_attach`). Neither a join of the units nor a horizontal concat stays in
the last query: polars' streaming engine holds a join's hash table (and, left to choose,
builds it on the large side) and buffers the streamed rows to zip them with an
in-memory frame, or with a scan of the column written to a file (bench/README.md,
*Streaming*). So the last query holds those columns (kireeva.yaml: a rank and two
at() values, 20 bytes a row).

A pass re-reads the data and recomputes the row-wise columns it needs (arithmetic is
cheap next to memory). What the last query computes is what the in-memory query
computes, with one difference: a sum, mean or SD over a group adds its values in the
engine's order instead of the keys' order, so it can differ in the last bits (the
in-memory run adds in key order, for bit-identical reruns).

What does not stream (:func:`unsupported`, the run then holds the data in memory):
detail data (streamed one period at a time instead, engine.streamdetail), treatment and other
procedures, pairwise comparisons (Copeland), fill forward/backward, and quantile classes.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
import sympy

from engine.backends.polars import ENGINE
from engine.backends.polars.compile import Compiled, Context, compile_step
from engine.backends.polars.compile_stats import at_condition, compile_aggregate
from engine.backends.polars.execute import classify, classify_quantiles, quantile_cuts
from engine.backends.polars.steps import step_columns, step_context, with_columns_of
from engine.format.model import OutputType
from engine.formula import ir
from engine.plan import Plan, Step

__all__ = ["Pass", "PassKind", "StreamQuery", "build_streamed", "unsupported"]


class PassKind(enum.StrEnum):
    """How a hoisted statistic is computed (see the module's docstring)."""

    GROUPS = "groups"
    AT = "at"
    ROWS = "rows"
    #: the detail rows of one period, collapsed to unit rows (:mod:`engine.streamdetail`)
    PERIOD = "period"


@dataclass(frozen=True)
class Pass:
    """One pass over the data that computed hoisted columns: a table of `rows` rows
    joined back on `keys` (GROUPS) or a column per row gathered back (AT, ROWS)."""

    kind: PassKind
    keys: tuple[str, ...]
    columns: tuple[str, ...]
    rows: int

    def describe(self) -> str:
        on = f" by {', '.join(self.keys)}" if self.keys else ""
        return f"{self.kind}{on}: {', '.join(self.columns)} ({self.rows:,} rows)"


@dataclass(frozen=True)
class StreamQuery:
    """The last query (every computed column, statistics read from the passes' tables)
    and the passes that ran to build it."""

    query: pl.LazyFrame
    passes: tuple[Pass, ...]
    #: the statistics and at() the passes computed, and the query's column for each
    hoisted: Mapping[sympy.Basic, str] = field(default_factory=dict)


def _nodes(expr: sympy.Basic) -> Iterator[sympy.Basic]:
    yield expr
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            yield from _nodes(a)


def _step_exprs(step: Step) -> list[sympy.Basic]:
    return [step.expr] + ([step.requires] if step.requires is not None else [])


def unsupported(plan: Plan) -> str | None:
    """Why `plan` cannot run as a streamed query, or None when it can."""
    if plan.has_detail:
        return "detail data"
    rules: tuple[tuple[type, str], ...] = (
        (ir.Procedure, "a procedure (treatment)"),
        (ir.FillForward, "fill forward"),
        (ir.FillBackward, "fill backward"),
        (ir.PAIRWISE[0], "pairwise comparisons"),
    )
    for step in [s for stage in plan.stages for s in stage] + list(plan.screening):
        for expr in _step_exprs(step):
            for node in _nodes(expr):
                for kind, what in rules:
                    if isinstance(node, kind):
                        return f"{what} in '{step.name}'"
    return None


def _hoistable(node: sympy.Basic) -> bool:
    return isinstance(node, ir.Stat | ir.At)


def _inner(node: sympy.Basic) -> list[sympy.Basic]:
    """The statistics and at() nested in `node` (not `node` itself)."""
    return [n for a in node.args if isinstance(a, sympy.Basic) for n in _nodes(a) if _hoistable(n)]


@dataclass
class _Builder:
    """The query as it grows, pass by pass."""

    plan: Plan
    query: pl.LazyFrame
    single: bool
    hoisted: dict[sympy.Basic, str] = field(default_factory=dict)
    passes: list[Pass] = field(default_factory=list)

    def context(self, step: Step) -> Context:
        return dataclasses.replace(
            step_context(self.plan, step, self.single), hoisted=dict(self.hoisted)
        )

    def add_steps(self, steps: Sequence[Step]) -> None:
        """Hoist the statistics `steps` read, then compute the steps' columns."""
        self.hoist(steps)
        parts = [step_columns(self.plan, s, self.single, self.context(s)) for s in steps]
        self.query = with_columns_of(self.query, parts)

    def hoist(self, steps: Sequence[Step]) -> None:
        found: dict[sympy.Basic, Step] = {}
        for s in steps:
            for expr in _step_exprs(s):
                for node in _nodes(expr):
                    if _hoistable(node) and node not in self.hoisted:
                        found.setdefault(node, s)
        while found:  # innermost first: a pass reads what earlier passes computed
            ready = [n for n in found if all(i in self.hoisted for i in _inner(n))]
            batches: dict[tuple[PassKind, tuple[str, ...], object], list[sympy.Basic]] = {}
            for n in ready:
                ctx = self.context(found[n])
                key: tuple[PassKind, tuple[str, ...], object]
                if isinstance(n, ir.At):
                    _, rest = at_condition(n, ctx)
                    key = (PassKind.AT, tuple(rest), n.fixed)
                elif isinstance(n, ir.ROW_WISE):
                    key = (PassKind.ROWS, (), None)
                else:
                    key = (PassKind.GROUPS, tuple(n.keys), None)
                batches.setdefault(key, []).append(n)
            start = self.query  # the passes of a round are independent: each reads this
            # rows first: their sort then holds no table of this round's other passes
            order = sorted(batches.items(), key=lambda b: b[0][0] is not PassKind.ROWS)
            for (kind, keys, _), nodes in order:
                self.run_pass(kind, keys, [(n, found[n]) for n in nodes], start)
            for n in ready:
                del found[n]

    def run_pass(
        self,
        kind: PassKind,
        keys: tuple[str, ...],
        nodes: list[tuple[sympy.Basic, Step]],
        source: pl.LazyFrame,
    ) -> None:
        named = [(n, s, f"__s{len(self.hoisted) + 1 + i}") for i, (n, s) in enumerate(nodes)]
        compiled: list[Compiled] = []
        for n, s, name in named:
            ctx = self.context(s)
            got: Compiled | None
            if _sorted_rank(n):  # the operand here; ranked by a sort below
                got = compile_step(n.operand, ctx, name)
            elif kind is PassKind.GROUPS:
                got = compile_aggregate(n, ctx, name)
            elif kind is PassKind.AT:
                got = compile_step(n.args[0], ctx, name)
            else:
                got = compile_step(n, ctx, name)
            assert got is not None
            compiled.append(got)
        for level in range(max((len(c.temps) for c in compiled), default=0)):
            source = source.with_columns(
                [e for c in compiled if level < len(c.temps) for e in c.temps[level]]
            )
        values = [c.value.alias(name) for c, (_, _, name) in zip(compiled, named)]
        cond = None
        if kind is PassKind.AT:
            cond, _ = at_condition(named[0][0], self.context(named[0][1]))
        self.join_table(kind, keys, values, source, cond, [n for n, _, _ in named])
        for n, _, name in named:
            self.hoisted[n] = name

    def join_table(
        self,
        kind: PassKind,
        keys: tuple[str, ...],
        values: list[pl.Expr],
        source: pl.LazyFrame | None = None,
        cond: pl.Expr | None = None,
        nodes: Sequence[sympy.Basic] | None = None,
    ) -> None:
        """Compute `values` in a pass over `source` (the query so far) and add them to the
        query: joined on `keys` (GROUPS: per group) or gathered row by row (ROWS; AT: the
        rows where `cond` holds, looked up on `keys`)."""
        source = self.query if source is None else source
        columns = tuple(v.meta.output_name() for v in values)
        if kind is PassKind.ROWS:  # one value per row, in the rows' order
            # the columns the windows read are streamed out, then the windows run on them
            # in memory (polars would run the whole query in memory for a window)
            period = self.plan.methodology.layout.period
            ranked = [
                _ranks(source, v, n, period if period in n.keys else None)
                for v, n in zip(values, nodes or ())
                if _sorted_rank(n)
            ]
            # held as 4 bytes a row (ties other than average), read as the window's float
            cast = {r.name: pl.Float64() for r in ranked}
            others = [
                v for v, n in zip(values, nodes or [None] * len(values)) if not _sorted_rank(n)
            ]
            if others:  # the columns they read are streamed out, the windows run on them
                reads = [n for v in others for n in v.meta.root_names()]
                rows = source.select(list(dict.fromkeys(reads))).collect(engine=ENGINE)
                ranked += rows.select(others).get_columns()
                del rows
            table = pl.DataFrame(ranked).select(columns)
            self.query = _attach(self.query, table, cast)
        elif kind is PassKind.AT and keys:  # one value per row too: the unit's at()
            assert cond is not None
            table = _at_rows(source, list(keys), values, cond)
            self.query = _attach(self.query, table, {})
        else:
            if kind is PassKind.GROUPS:
                agg = source.group_by(list(keys)).agg(values) if keys else source.select(values)
            else:
                assert cond is not None
                agg = source.filter(cond.fill_null(False)).select(*keys, *values)
            table = agg.collect(engine=ENGINE)
            if not keys:  # one value for every row (none when no row matched)
                if table.height == 0:
                    table = pl.DataFrame({c: [None] for c in columns}, schema=table.schema)
                self.query = self.query.join(table.lazy(), how="cross", maintain_order="left")
            else:  # the table is the hash table: left to itself, polars may build on
                # the query's side and hold all its rows (bench/README.md, streaming)
                self.query = self.query.join(
                    table.lazy(),
                    on=list(keys),
                    how="left",
                    maintain_order="left",
                    build_side="force_right",
                )
        self.passes.append(Pass(kind, keys, columns, table.height))


#: the row number of a pass's rows (:func:`_attach`, :func:`_at_rows`)
ROW = "__row"
#: an at() pass looks up at most this many units at once (a hash table of them is held)
AT_PART_ROWS = 2_000_000


def _attach(
    query: pl.LazyFrame, table: pl.DataFrame, dtypes: Mapping[str, pl.DataType]
) -> pl.LazyFrame:
    """`query` with the columns of `table` (one value per row of `query`, in its order),
    gathered by the row number as the rows stream, cast to `dtypes` where given (a rank
    is held as 4 bytes a row and read as a float). Not a horizontal concat: polars'
    streaming engine buffers the query's rows to zip them with an in-memory frame (at 4M
    rows 0.6 GB more), and with a scan of the column written to a file too (0.3-0.9 GB
    at 4M rows, 1.1-1.3 GB at 12M; bench/README.md, *Streaming*)."""
    row = pl.col(ROW)
    gathered = [
        pl.lit(c).gather(row).cast(dtypes.get(c.name, c.dtype)).alias(c.name)
        for c in table.get_columns()
    ]
    return query.with_row_index(ROW).with_columns(gathered).drop(ROW)


def _at_rows(
    source: pl.LazyFrame, keys: list[str], values: list[pl.Expr], cond: pl.Expr
) -> pl.DataFrame:
    """The at() `values` of every row of `source`, in its order: the rows where `cond`
    holds (one per unit, keys being unique) are looked up on the other `keys`. Not as a
    join of the last query, which would hold the hash table of every unit through every
    later pass (about 100 bytes a unit), but here, a part of the units at a time (split
    by a hash of their keys, at most :data:`AT_PART_ROWS` a part), each part's rows
    numbered, joined and their values scattered into one column per value (8 bytes a
    row, a row without a match missing)."""
    picked = source.filter(cond.fill_null(False))
    count = picked.select(pl.len()).collect(engine=ENGINE).item()
    parts = max(1, -(-count // AT_PART_ROWS))
    part = pl.struct(keys).hash() % parts
    numbered = source.select(keys).with_row_index(ROW)
    total = numbered.select(pl.len()).collect(engine=ENGINE).item()
    out: dict[str, pl.Series] = {}
    for j in range(parts):
        # the table first: joined as a lazy query, its rows and the rows it is joined
        # with stream at once, and polars holds the latter while it builds the former
        table = (picked if parts == 1 else picked.filter(part == j)).select(*keys, *values)
        found = table.collect(engine=ENGINE).lazy()
        got = (
            (numbered if parts == 1 else numbered.filter(part == j))
            .join(found, on=keys, how="inner", build_side="force_right")
            .drop(keys)
            .collect(engine=ENGINE)
        )
        for name, dtype in got.schema.items():
            if name != ROW:
                empty = pl.repeat(None, total, dtype=dtype, eager=True).alias(name)
                column = out.get(name, empty)
                out[name] = column.scatter(got.get_column(ROW), got.get_column(name))
        del got
    names = [v.meta.output_name() for v in values]
    return pl.DataFrame([out[n] for n in names]) if out else pl.DataFrame()


def _sorted_rank(node: sympy.Basic | None) -> bool:
    """Whether `node` is a rank computed by :func:`_ranks` (not ordinal: those order a
    tie by the keys; not of a constant)."""
    return (
        isinstance(node, ir.ColRank)
        and node.ties != "ordinal"
        and bool(ir.free_names(node.operand))
    )


def _ranks(
    source: pl.LazyFrame, value: pl.Expr, node: ir.ColRank, split: str | None = None
) -> pl.Series:
    """The ranks of `value` within the groups of the node's keys, as the in-memory window
    gives them (:func:`engine.backends.polars.compile._rank_within_tolerance`), one group
    of the key `split` (the period) at a time: that group's rows are filtered as they
    stream, numbered by their row in `source`, ranked by :func:`_rank_rows` and scattered
    into one column of every row. Memory then grows with the largest period (about 30
    bytes a row of it) and with that column (4 bytes a row; 8 for average ranks), not
    with a sort of every row. Missing values get no rank."""
    name = value.meta.output_name()
    keys = [k for k in node.keys if k != split]
    signed = (-value if node.descending else value).alias("__v")
    numbered = source.with_row_index(ROW).select(ROW, *([split] if split else []), *keys, signed)
    counted = [source.select(pl.len())]
    if split is not None:
        counted.append(source.select(pl.col(split).unique()))
    got = pl.collect_all(counted, engine=ENGINE)
    groups = got[1].to_series().to_list() if split is not None else [None]
    dtype = pl.Float64 if node.ties == "average" else pl.UInt32
    out = pl.repeat(None, got[0].item(), dtype=dtype, eager=True).alias(name)
    del got
    for group in groups:
        rows = numbered if split is None else numbered.filter(pl.col(split).eq_missing(group))
        ranked = _rank_rows(rows.select(pl.exclude(split or [])).collect(engine=ENGINE), keys, node)
        out = out.scatter(ranked.get_column(ROW), ranked.get_column("__r").cast(dtype))
        del ranked
    return out


def _rank_rows(frame: pl.DataFrame, keys: list[str], node: ir.ColRank) -> pl.DataFrame:
    """The rank ``__r`` of every row ``ROW`` of `frame` (its signed value ``__v``, its
    `keys`) within its keys, from one sort of the keys and values and row-wise passes over
    the sorted rows: values within the relative tolerance of their neighbour are tied; a
    tie's rank is its first position (min), its last (max), their mean (average) or its
    number (dense)."""
    v = pl.col("__v")
    prev = v.shift(1)
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    # the sort as a permutation (4 bytes a row), then the sorted columns: the unsorted
    # ones are let go before the tie groups are found
    order = _sort_order(frame, [*keys, "__v"])
    frame = frame.select(pl.all().gather(order))
    del order
    new = row == 0
    for k in keys:
        new = new | pl.col(k).ne_missing(pl.col(k).shift(1))
    if node.tolerance:
        close = (v - prev).abs() <= node.tolerance * pl.max_horizontal(v.abs(), prev.abs())
    else:
        close = v == prev
    frame = frame.with_columns(
        new.alias("__new"), (new | ~close.fill_null(False)).alias("__start")
    ).drop(keys)
    start, first = pl.col("__start"), pl.col("__new")
    frame = frame.with_columns((row - pl.when(first).then(row).forward_fill() + 1).alias("__pos"))
    position = pl.col("__pos")
    low = pl.when(start).then(position).forward_fill()
    high = pl.when(start.shift(-1, fill_value=True)).then(position).backward_fill()
    counted = start.cast(pl.UInt32).cum_sum()
    rule = {
        "min": low,
        "max": high,
        "average": (low.cast(pl.Float64) + high) / 2,
        "dense": counted - pl.when(first).then(counted).forward_fill() + 1,
    }[node.ties]
    return frame.select(ROW, pl.when(v.is_not_null()).then(rule).alias("__r"))


def _sort_order(frame: pl.DataFrame, by: list[str]) -> pl.Series:
    """The permutation ``__i`` that sorts `frame` by the columns `by` (missing values
    last), as one stable sort per column from the last to the first: polars' sort by
    several columns encodes every row's values first (at 10M rows 0.58 GB and 81 s
    against 0.30 GB and 31 s). Rows equal in every column may come in any order."""
    order: pl.Series | None = None
    for name in reversed(by):
        column = frame.get_column(name)
        if order is not None:
            column = column.gather(order)
        step = (
            column.to_frame()
            .select(pl.arg_sort_by(name, nulls_last=True, maintain_order=True))
            .to_series()
        )
        del column
        order = step if order is None else order.gather(step)
    assert order is not None
    return order.alias("__i")


def _leaves_last(plan: Plan) -> list[list[Step]]:
    """The stages, with the steps no other step reads (checks, ranks, derived outputs)
    moved to the last: their statistics are then computed in the last passes together
    (one join for every at() of the same period), and no earlier pass carries their
    tables."""
    stages = [list(stage) for stage in plan.first + plan.after]
    steps = [s for stage in stages for s in stage] + list(plan.screening)
    read = {plan.classes.column} if plan.classes else set()
    for s in steps:
        for expr in _step_exprs(s):
            read |= ir.free_names(expr)
            read |= {k for n in _nodes(expr) if isinstance(n, ir.Stat) for k in n.keys}
    leaves = [s for stage in stages for s in stage if s.column not in read]
    kept = [[s for s in stage if s not in leaves] for stage in stages]
    return [stage for stage in kept if stage] + ([leaves] if leaves else [])


def build_streamed(plan: Plan, data: pl.LazyFrame, *, periods: int | None) -> StreamQuery:
    """The methodology on `data` (one row per unit and period) as a streamed query: the
    passes that compute its statistics run now, the last query is returned lazily (sink
    it). `plan` must stream (:func:`unsupported` is None)."""
    reason = unsupported(plan)
    if reason is not None:
        raise ValueError(f"this plan does not stream: {reason}")
    m = plan.methodology
    builder = _Builder(plan, data, periods is None or periods <= 1)
    for stage in _leaves_last(plan):
        builder.add_steps(stage)
    lf = builder.query
    if m.index is not None and m.ranking.ties != "average":
        ranks = ["rank", *(name for name, _ in m.ranking.within)]
        lf = lf.with_columns(pl.col(ranks).cast(pl.Int64))
    if plan.classes and plan.classes.quantiles:  # the cuts per period: a pass of its own
        period = [m.layout.period] if m.layout.period else []
        cuts = quantile_cuts(plan.classes, pl.col(plan.classes.column))
        names = [f"__q{j}" for j in range(len(cuts))]
        builder.query = lf
        builder.join_table(
            PassKind.GROUPS, tuple(period), [c.alias(n) for c, n in zip(cuts, names)]
        )
        value = pl.col(plan.classes.column)
        lf = builder.query.with_columns(
            classify_quantiles(plan.classes, value, period, [pl.col(n) for n in names]).alias(
                "class"
            )
        )
    elif plan.classes:
        label, group = classify(plan.classes, pl.col(plan.classes.column), streamed=True)
        cols = [label.alias("class")] + ([group.alias("class_group")] if group is not None else [])
        lf = lf.with_columns(cols)
    whole = [d.name for d in m.derived if d.type is OutputType.INTEGER]
    if whole:
        lf = lf.with_columns(pl.col(whole).round(0).cast(pl.Int64))
    builder.query = lf
    for step in plan.screening:  # one at a time: a rule reads the statistics hoisted before it
        builder.add_steps([step])
    return StreamQuery(builder.query, tuple(builder.passes), dict(builder.hoisted))
