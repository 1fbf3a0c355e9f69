"""What a run reports besides its table: check results and warnings.

A check is a condition per unit and period; the engine computed it as the boolean
column ``check.<name>`` in the same query. A row fails when the condition is false; a
row where a side is missing is not tested. For a comparison (``a == b``) both sides are
shown for every failing row so that a reader sees printed and recomputed values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import SupportsInt

import polars as pl
import sympy

from engine.analysis import derivatives
from engine.backends.polars import ENGINE
from engine.backends.polars.compile import Context, compile_step, to_polars
from engine.diagnostics import Code, Diagnostic, Severity
from engine.format.model import Check, Methodology
from engine.formula import ir
from engine.formula.fold import fold_constants
from engine.formula.render import show
from engine.formula.types import Kind, kind_of
from engine.plan import Plan
from engine.report.failures import failing_rows


@dataclass(frozen=True)
class CheckResult:
    check: Check
    tested: int
    #: failing rows: keys, and the left and right sides when the check is a comparison
    failures: pl.DataFrame

    @property
    def passed(self) -> bool:
        return self.failures.height == 0

    def describe(self) -> str:
        c = self.check
        status = "ok" if self.passed else f"{self.failures.height} of {self.tested} rows fail"
        return f"{c.severity} check '{c.name}' ({c.formula.text}): {status}"


def check_count_exprs(plan: Plan) -> list[pl.Expr]:
    """Tested and failing rows of every check, as aggregates of the result query."""
    out = []
    for c in plan.methodology.checks:
        e = pl.col("check." + c.name)
        out += [e.is_not_null().sum().alias("t:" + c.name), e.not_().sum().alias("f:" + c.name)]
    return out


def evaluate_checks(
    plan: Plan,
    frame: pl.DataFrame | pl.LazyFrame,
    counts: dict[str, object] | None = None,
    hoisted: Mapping[sympy.Basic, str] | None = None,
) -> tuple[CheckResult, ...]:
    """Each check's tested and failing rows; both sides are shown for failing comparisons.

    One pass counts tested and failing rows of every check; only failing checks are
    then taken apart: the sides are computed on every row (a statistic in a side is
    taken over all units, a side with at() reads the unit's other periods), compiled as
    a run compiles them (undefined values missing; large repeated parts computed first
    as columns, so a deeply nested side stays small to plan), and the failing rows kept.
    `hoisted` names the columns of `frame` that hold statistics and at() already computed
    (a streamed run's passes, :mod:`engine.backends.polars.stream`): a side reads them
    instead of a window over every row, which polars would hold in memory.
    """
    m = plan.methodology
    if not m.checks:
        return ()
    keys = list(m.layout.keys)
    if counts is None or "t:" + m.checks[0].name not in counts:
        counts = (
            frame.lazy().select(check_count_exprs(plan)).collect(engine=ENGINE).row(0, named=True)
        )
    columns = set(frame.collect_schema().names())
    out = []
    for c in m.checks:
        levels, shown = check_sides(c, m, columns, hoisted)
        failures = failing_rows(
            frame,
            levels,
            shown,
            c.name,
            keys,
            any_failing=counts["f:" + c.name] != 0,
            # on a collected result only: on a streamed query, finding the failing units
            # first would hold the whole query in memory (30M rows: 1.4 -> 2.6 GB)
            within=unit_only(c, m) if isinstance(frame, pl.DataFrame) else None,
        )
        tested = counts["t:" + c.name]
        assert isinstance(tested, SupportsInt)  # a count of rows (an int, or a SQL decimal)
        out.append(CheckResult(c, int(tested), failures))
    return tuple(out)


def check_sides(
    c: Check, m: Methodology, columns: set[str], hoisted: Mapping[sympy.Basic, str] | None = None
) -> tuple[list[list[pl.Expr]], list[pl.Expr]]:
    """What a failing check shows: the keys and, for a comparison, both sides and their
    difference; with the sides' helper columns in levels (:func:`failing_rows`).

    The sides are compiled as a run compiles them (undefined values missing; large
    repeated parts computed first as columns, so a deeply nested side stays small to
    plan and to serialise into the plan cache)."""
    keys = list(m.layout.keys)
    shown = [pl.col(k) for k in keys]
    relational = isinstance(c.expr, sympy.core.relational.Relational)
    if not relational or not ir.free_names(c.expr) <= columns:
        return [], shown
    ctx = Context({}, m.layout.unit, m.layout.period, hoisted=dict(hoisted or {}))
    sides = [
        compile_step(c.expr.lhs, ctx, f"{c.name}:left"),
        compile_step(c.expr.rhs, ctx, f"{c.name}:right"),
    ]
    levels = [
        [e for side in sides if level < len(side.temps) for e in side.temps[level]]
        for level in range(max(len(side.temps) for side in sides))
    ]
    lhs, rhs = sides[0].value, sides[1].value
    left, right = side_names(keys, show(c.expr.lhs), show(c.expr.rhs))
    shown += [lhs.alias(left), rhs.alias(right)]
    if kind_of(c.expr.lhs) is not Kind.TEXT:  # texts have no difference
        shown.append((lhs - rhs).alias("difference"))
    return levels, shown


def unit_only(c: Check, m: Methodology) -> str | None:
    """The unit column when check `c` reads no row but those of the unit it is tested in
    (row-wise operations and at() of another period of the same unit): its failing rows'
    sides can then be computed on the failing units' rows alone. None otherwise (a
    statistic over units, at() of another unit, a value carried along the periods)."""

    def own_rows(expr: sympy.Basic) -> bool:
        if isinstance(expr, ir.At):
            if m.layout.unit in dict(expr.fixed):
                return False
            return own_rows(expr.args[0])
        if isinstance(expr, _ACROSS_ROWS):
            return False
        return all(own_rows(a) for a in expr.args if isinstance(a, sympy.Basic))

    return m.layout.unit if own_rows(c.expr) else None


#: IR nodes that read rows of other units (or carry values along the rows)
_ACROSS_ROWS = (
    ir.Stat,
    ir.FillForward,
    ir.FillBackward,
    ir.Procedure,
    ir.WeightedMedian,
    *ir.PAIRWISE,
)


def side_names(keys: Sequence[str], left: str, right: str) -> tuple[str, str]:
    """The column names of a failing check's two sides: their formulas, made distinct from
    the keys, from "difference" and from each other (`x > x` shows `x` and `x (right
    side)`), so the table of failures never has two columns of one name."""
    used = {*keys, "difference"}
    out = []
    for name, side in ((left, "left side"), (right, "right side")):
        chosen = name if name not in used else f"{name} ({side})"
        while chosen in used:
            chosen += "'"
        used.add(chosen)
        out.append(chosen)
    return out[0], out[1]


def warning_count_exprs(plan: Plan) -> list[pl.Expr]:
    """Rows without an index and values outside every class band, as aggregates of the
    result query (:func:`missing_index_warnings` then looks for them only when there
    are some)."""
    m = plan.methodology
    out = [pl.col("index").null_count().alias("w:index")] if m.index is not None else []
    if m.classes is not None:
        value = pl.col(m.classes.column)
        outside = value.is_not_null() & pl.col("class").is_null()
        out.append(outside.sum().alias("w:outside"))
    return out


def missing_index_warnings(
    plan: Plan, frame: pl.DataFrame | pl.LazyFrame, counts: dict[str, object] | None = None
) -> tuple[Diagnostic, ...]:
    """One warning per unit and period without an index, naming the missing inputs (a
    lazy frame is filtered as it streams; not at all when `counts`, the aggregates of
    :func:`warning_count_exprs`, say there is nothing to find)."""
    m = plan.methodology
    keys = list(m.layout.keys)
    columns = frame.columns if isinstance(frame, pl.DataFrame) else frame.collect_schema().names()
    inputs = [i.name for i in m.inputs if i.name in columns]
    counts = counts or {}
    if m.index is None or counts.get("w:index", 1) == 0:
        rows = pl.DataFrame()
    elif isinstance(frame, pl.DataFrame) and not frame.get_column("index").null_count():
        rows = pl.DataFrame()  # every row has an index: nothing to filter
    else:
        rows = (
            frame.lazy()
            .filter(pl.col("index").is_null())
            .select(keys + inputs)
            .collect(engine=ENGINE)
        )
    out = []
    covered = [g for g in m.groups if g.coverage != "all"]
    for row in rows.iter_rows(named=True):
        unit = " ".join(str(row[k]) for k in keys)
        gaps = [n for n in inputs if row[n] is None]
        why = "missing input: " + ", ".join(gaps) if gaps else "a member is missing"
        for g in covered:
            present = (
                frame.lazy()
                .filter(pl.all_horizontal([pl.col(k) == row[k] for k in keys]))
                .select(
                    [
                        pl.col(mem + ".norm" if mem + ".norm" in columns else mem)
                        .is_not_null()
                        .sum()
                        for mem in g.members
                    ]
                )
                .collect(engine=ENGINE)
                .row(0)
            )
            share = float(str(g.coverage))
            if sum(present) / len(g.members) < share:
                why += (
                    f"; group '{g.name}' has {sum(present)} of {len(g.members)} members, below its "
                    f"coverage {share:g}"
                )
        out.append(
            Diagnostic(
                Code.MISSING_VALUE,
                f"no index for {unit} ({why}); it gets no rank and no class",
                severity=Severity.WARNING,
            )
        )
    value = m.classes.column if m.classes is not None else "index"
    if (
        m.classes is not None
        and "class" in columns
        and value in columns
        and counts.get("w:outside", 1) != 0
    ):
        outside = (
            frame.lazy()
            .filter(pl.col(value).is_not_null() & pl.col("class").is_null())
            .collect(engine=ENGINE)
        )
        what = "index" if m.classes.on is None else m.classes.what
        for row in outside.select([*keys, value]).iter_rows(named=True):
            unit = " ".join(str(row[k]) for k in keys)
            out.append(
                Diagnostic(
                    Code.CLASS_BANDS,
                    f"{what} {row[value]} of {unit} is outside every class band",
                    severity=Severity.WARNING,
                )
            )
    return tuple(out)


def conventions(plan: Plan) -> list[str]:
    """The conventions this run used, stated with its output."""
    return methodology_conventions(plan.methodology)


def methodology_conventions(m: Methodology) -> list[str]:
    """The conventions a run of `m` uses (:func:`conventions`), read from the
    methodology alone: a report that has no plan need not build one for them."""
    lines = []
    scope = "within each period" if m.layout.period else "over all units"
    lines.append(
        f"statistics (max, min, mean, sd) are taken {scope} unless pooled, skipping missing values"
    )
    r = m.ranking
    if m.index is not None:
        lines.append(
            f"rank: {'descending' if r.descending else 'ascending'} on the index, ties '{r.ties}'"
            + (
                f", values within a relative {r.tolerance:g} of each other tied"
                if r.tolerance
                else ", exact values"
            )
        )
    if m.index is not None and m.index.rounding:
        rd = m.index.rounding
        lines.append(
            f"index rounded to {rd.digits} decimals ({rd.mode.replace('_', '-')}) before ranking "
            "and classing"
        )
    if m.classes and m.classes.on is not None:
        lines.append(f"classes are cut on {m.classes.what}, not on the index")
    if m.classes and m.classes.quantiles:
        lines.append(
            f"classes: {len(m.classes.quantiles)} quantile classes within each period "
            "(linear interpolation; a value on a cut goes to the upper class)"
        )
    elif m.classes:
        if m.classes.closed == "lower":
            lines.append(
                "class bands include their lower bound ([min, max); the top band [min, max])"
                f", tolerance {m.classes.tolerance:g}"
            )
        else:
            lines.append(
                "class bands include their upper bound ((min, max]; the bottom band [min, max])"
                f", tolerance {m.classes.tolerance:g}"
            )
    return lines


def adjustments(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame:
    """Every imputed or treated point: unit, period, indicator, value before and after, what."""
    m = plan.methodology
    keys = list(m.layout.keys)
    present = set(frame.columns)  # (a list of every column, built at each call)
    pairs = []  # (indicator, column before, column after, what)
    for ind in m.indicators:
        before = ind.name
        for suffix, action in ((".imputed", "imputed"), (".treated", "treated")):
            column = ind.name + suffix
            if column in present:
                pairs.append((ind.name, before, column, action))
                before = column
    if not pairs:
        return pl.DataFrame()
    # which points changed, every pair in one query (a query per pair costs its planning,
    # 1 ms: ASEM has 49); the points themselves taken from the columns, not the frame
    changed = frame.select(
        pl.col(before).ne_missing(pl.col(after)).alias(str(i))
        for i, (_, before, after, _) in enumerate(pairs)
    )
    parts: list[pl.DataFrame] = []
    for i, (name, before, after, action) in enumerate(pairs):
        mask = changed.get_column(str(i))
        n = int(mask.sum())
        if n == 0 and parts:  # nothing changed: the first part gives the columns
            continue
        old, new = frame.get_column(before), frame.get_column(after)
        parts.append(
            pl.DataFrame(
                [
                    *(frame.get_column(k).filter(mask) for k in keys),
                    pl.Series("indicator", [name] * n, dtype=pl.String),
                    old.filter(mask).alias("before"),
                    new.filter(mask).alias("after"),
                    pl.Series("action", [action] * n, dtype=pl.String),
                ]
            )
        )
    return pl.concat(parts)


def effective_weights(
    plan: Plan, frame: pl.DataFrame, periods: list[object] | None = None
) -> pl.DataFrame:
    """Weight of every member within its group and of every indicator in the index.

    One row per period, group and member: ``weighting`` (``fixed``, ``equal``, the
    data-driven method, or ``bod`` when each unit has its own weights, written in the detail
    output), ``nominal`` (the declared weight divided by the group's total), ``data_driven``
    (the estimated one), ``weight`` (the one used) and ``effective_weight``.

    The effective weight is d index / d member at the nominal weights, which for an
    arithmetic hierarchy is the product of the normalised weights on the path to the top
    (COINr's get_eff_weights), summed over paths when the index reads a node twice. For
    data-driven weights (evaluated per period) it is the product along the path.
    """
    m = plan.methodology
    ctx = Context({}, m.layout.unit, m.layout.period)
    period = m.layout.period
    rename = {i.name: i.name + ".norm" for i in m.indicators}
    rows: list[dict[str, object]] = []
    if periods is None:
        periods = frame[period].unique(maintain_order=True).to_list() if period else [None]
    own_weights = _own_weights()
    numbers: dict[sympy.Basic, float] = {}
    for g in m.groups:
        total = sympy.Add(*g.weights, evaluate=False)
        how = _weighting(g.weighting, g.aggregation, g.weights, own_weights)
        for member, w in zip(g.members, g.weights):
            share = sympy.Mul(w, sympy.Pow(total, -1, evaluate=False), evaluate=False)
            if how in own_weights:  # each unit's own weights: in the detail output
                values = dict.fromkeys(periods)
            elif not ir.free_names(share):
                # sympy's evalf, once per distinct share (members of equal weight share it)
                if share not in numbers:
                    numbers[share] = float(share)
                values = dict.fromkeys(periods, numbers[share])
            else:
                expr = to_polars(
                    ir.rename(share, {a: sympy.Symbol(b) for a, b in rename.items()}), ctx
                )
                if period:
                    got = frame.group_by(period).agg(expr.first().alias("w"))
                    values = dict(zip(got[period], got["w"]))
                else:
                    values = {None: frame.select(expr.first()).item()}
            data_driven = g.weighting is not None or how in own_weights
            for p in periods:
                rows.append(
                    {
                        "period": p,
                        "group": g.name,
                        "member": member,
                        "weighting": how,
                        "nominal": None if data_driven else values.get(p),
                        "data_driven": values.get(p) if data_driven else None,
                        "weight": values.get(p),
                    }
                )
    if not rows:
        return pl.DataFrame()
    parent = {mem: g.name for g in m.groups for mem in g.members}
    weight = {
        (r["period"], r["member"]): float(w) if isinstance(w := r["weight"], int | float) else None
        for r in rows
    }
    top_factor = _index_factors(m)
    # the product along the path is exact for a tree under a linear index; only a node the
    # index reads besides its parent group needs the derivative over every path
    shared = (ir.free_names(m.index.expr) & set(parent)) if m.index is not None else set()
    exact = {
        str(r["member"]): derivatives.effective_weight(m, str(r["member"])) if shared else None
        for r in rows
    }
    for r in rows:
        if exact[str(r["member"])] is not None:  # d index / d member over every path
            r["effective_weight"] = exact[str(r["member"])]
            continue
        node = str(r["member"])
        product: float | None = 1.0  # data-driven weights: the product along the path
        while node in parent:
            share = weight.get((r["period"], node))
            product = product * share if share is not None and product is not None else None
            node = parent[node]
        factor = top_factor.get(node)
        r["effective_weight"] = (
            product * factor if product is not None and factor is not None else None
        )
    return pl.DataFrame(
        rows,
        schema_overrides={
            "weighting": pl.String,
            "nominal": pl.Float64,
            "data_driven": pl.Float64,
            "weight": pl.Float64,
            "effective_weight": pl.Float64,
        },
        strict=False,
    )


def _own_weights() -> frozenset[str]:
    """The aggregations in which every unit chooses its own weights (benefit of the doubt)."""
    from engine.methods.aggregate_bod import bod_methods

    return bod_methods()


def _weighting(
    weighting: str | None, aggregation: str, weights: Sequence[sympy.Expr], own: frozenset[str]
) -> str:
    """How a group's weights come about: its data-driven method, ``fixed``, ``equal``, or
    the benefit-of-the-doubt aggregation whose weights are each unit's own."""
    if aggregation in own:
        return aggregation
    if weighting is not None:
        return weighting
    return "equal" if len(set(weights)) <= 1 else "fixed"


def _index_factors(m: Methodology) -> dict[str, float]:
    """d index / d node for the nodes the index reads, where that is a constant."""
    if m.index is None:
        return {}
    if m.index.group:
        return {m.index.group: 1.0}
    out = {}
    for name in ir.free_names(m.index.expr):
        try:
            d = fold_constants(sympy.diff(fold_constants(m.index.expr), sympy.Symbol(name)))
        except (TypeError, AttributeError, ValueError):
            continue
        if d.is_Number:
            out[name] = float(d)
    return out
