"""Execute a plan on data as one lazy polars query, then audit the result.

The query is one ``with_columns`` per plan stage (with detail data: the detail rows'
stages, a collapse to one row per unit and period, the remaining stages), the class
bands last, collected once with a fixed engine. Rows keep their order: nothing computed
depends on it, because sums add the rows of a group in key order.

Nothing undefined passes silently. The same query computes a few aggregates (one
horizontal sum tells whether every computed value is finite, declared domains such as
x >= 0 for a leader share, null counts). When one fails, or a value became missing
although everything it reads is present (a statistic over an all-missing column), the
offending step is taken apart (:func:`diagnose`) to name the cause: a zero denominator, a
logarithm of a non-positive value, a statistic with no values, with the units and
periods affected.
"""

from __future__ import annotations

import polars as pl
import sympy

from engine.backends.polars.compile import Context, to_polars
from engine.diagnostics import Code, DataError, Diagnostic
from engine.format.model import ClassScheme
from engine.formula import ir
from engine.formula.render import show
from engine.plan import Phase, Plan, Step


def _context(plan: Plan, step: Step | None = None, single_group: bool = True) -> Context:
    m = plan.methodology
    atol = rtol = 0.0
    if step is not None and step.kind == "check":
        check = next(c for c in m.checks if c.name == step.name)
        atol, rtol = check.atol, check.rtol
    detail = m.layout.detail if step is not None and step.phase == Phase.DETAIL else ()
    labels = m.classes.labels if m.classes else ()
    order = (
        m.layout.detail_keys if step is not None and step.phase == Phase.DETAIL else m.layout.keys
    )
    return Context(
        {}, m.layout.unit, m.layout.period, atol, rtol, detail, labels, order, single_group
    )


def _step_expr(plan: Plan, step: Step, single_group: bool = True) -> pl.Expr:
    expr = to_polars(step.expr, _context(plan, step, single_group))
    if step.periods:
        period = plan.methodology.layout.period
        expr = pl.when(pl.col(period).is_in(list(step.periods))).then(expr)  # type: ignore[arg-type]
    return expr.alias(step.column)


def classify_quantiles(scheme: ClassScheme, value: pl.Expr, keys: list[str]) -> pl.Expr:
    """k labels from the top: the j/k quantiles of `value` within `keys` cut the classes;
    a value on a cut goes to the upper class."""
    labels = scheme.quantiles
    k = len(labels)
    cuts = [value.quantile(j / k, interpolation="linear") for j in range(k - 1, 0, -1)]
    cuts = [c.over(keys) if keys else c for c in cuts]
    chain = pl.when(value.is_null()).then(pl.lit(None, dtype=pl.String))
    for label, cut in zip(labels, cuts):
        chain = chain.when(value >= cut).then(pl.lit(label, dtype=pl.String))
    return chain.otherwise(pl.lit(labels[-1], dtype=pl.String))


def classify(scheme: ClassScheme, value: pl.Expr) -> tuple[pl.Expr, pl.Expr | None]:
    """The class label (and class group) of `value` by the bands of `scheme`.

    With ``closed: lower`` a band is [min, max) and the top band [min, max]; with
    ``closed: upper`` a band is (min, max] and the bottom band [min, max]. A value
    within ``tolerance`` of a bound counts as on it. Missing values and values outside
    every band get no class. The bands are contiguous (checked before data is read), so
    a binary search among the inner bounds finds the band.
    """
    tol = scheme.tolerance
    ascending = list(reversed(scheme.bands))
    labels = [b.label for b in ascending]
    if scheme.closed == "lower":
        breaks = [b.lower - tol for b in ascending[1:]]
    else:
        breaks = [b.upper + tol for b in ascending[:-1]]
    inside = (value >= ascending[0].lower - tol) & (value <= ascending[-1].upper + tol)
    side = (
        "right" if scheme.closed == "lower" else "left"
    )  # a value on a break: the band it opens / closes
    number = pl.when(inside).then(
        pl.lit(pl.Series(breaks, dtype=pl.Float64)).search_sorted(value, side=side)
    )
    codes = list(range(len(labels)))
    label = number.replace_strict(codes, labels, default=None, return_dtype=pl.String)
    group = None
    if scheme.groups:
        names = dict(scheme.groups)
        group = number.replace_strict(
            codes,
            [names.get(b.group) if b.group else None for b in ascending],
            default=None,
            return_dtype=pl.String,
        )
    return label, group


#: polars' "auto" engine may pick a different strategy from one run to the next, and
#: float sums then differ in the last bit; one fixed engine keeps reruns bit-identical
ENGINE = "streaming"


def collect(*frames: pl.LazyFrame) -> list[pl.DataFrame]:
    """Collect lazy frames together (shared work is done once) with the fixed engine."""
    return pl.collect_all(list(frames), engine=ENGINE)  # type: ignore[return-value]


def _apply(
    lf: pl.LazyFrame, plan: Plan, stages: tuple[tuple[Step, ...], ...], single_group: bool
) -> pl.LazyFrame:
    for stage in stages:
        lf = lf.with_columns([_step_expr(plan, s, single_group) for s in stage])
    return lf


def build_query(
    plan: Plan,
    data: pl.LazyFrame | None,
    detail: pl.LazyFrame | None = None,
    *,
    periods: int | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
    """The whole methodology as one lazy query: the unit-level result, and the detail rows.

    `data` has one row per unit and period (None when every input is detail-level);
    `detail` one row per unit, period and detail key (None without detail inputs). Rows
    keep their order; nothing computed depends on it (sums add in key order). `periods`,
    the number of periods in the data when known, spares work when it is above 1.
    """
    m = plan.methodology
    keys = list(m.layout.keys)
    single = periods is None or periods <= 1
    lf = _apply(data, plan, plan.first, single) if data is not None else None
    detail_lf = None
    if detail is not None:
        detail_lf = detail
        if lf is not None:
            detail_lf = detail_lf.join(lf, on=keys, how="left", maintain_order="left")
        detail_lf = _apply(detail_lf, plan, plan.detail, single)
        reduced = detail_lf.group_by(keys).agg([pl.col(c).first() for c in plan.collapse])
        # a unit may be only in the detail data: keep every unit (full join), in key order
        lf = reduced if lf is None else lf.join(reduced, on=keys, how="full", coalesce=True)
        lf = lf.sort(keys)
    assert lf is not None, "a plan needs unit-level or detail data"
    lf = _apply(lf, plan, plan.after, single)
    if m.index is not None and m.ranking.ties != "average":
        lf = lf.with_columns(pl.col("rank").cast(pl.Int64))
    if plan.classes and plan.classes.quantiles:
        period_keys = [m.layout.period] if m.layout.period else []
        lf = lf.with_columns(
            classify_quantiles(plan.classes, pl.col("index"), period_keys).alias("class")
        )
    elif plan.classes:
        label, group = classify(plan.classes, pl.col("index"))
        cols = [label.alias("class")] + ([group.alias("class_group")] if group is not None else [])
        lf = lf.with_columns(cols)
    if plan.screening:
        lf = lf.with_columns([_step_expr(plan, s, single) for s in plan.screening])
    return lf, detail_lf


# -- auditing the result -----------------------------------------------------------------


def _numeric_steps(plan: Plan) -> list[Step]:
    return [s for stage in plan.stages for s in stage if s.kind != "check"]


def _audited(plan: Plan, schema: pl.Schema, phase_detail: bool) -> list[Step]:
    return [
        s
        for s in _numeric_steps(plan)
        if (s.phase == Phase.DETAIL) == phase_detail
        and s.column in schema
        and schema[s.column] != pl.Boolean
    ]


def _step_flags(plan: Plan, steps: list[Step]) -> list[pl.Expr]:
    """Per step: a NaN or infinite value, or the declared domain (``requires``) broken."""
    out = []
    for s in steps:
        bad = ~pl.col(s.column).is_finite()
        if s.requires is not None:
            bad = bad | ~to_polars(s.requires, _context(plan, s)).fill_null(True)
        out.append(bad.any().alias("flag:" + s.column))
    return out


def audit_exprs(plan: Plan, schema: pl.Schema, phase_detail: bool) -> list[pl.Expr]:
    """Aggregates, computed in the same query as the results, that tell whether any
    computed value may be undefined: ``finite`` (NaN and infinities propagate through a
    sum, so one horizontal sum of every computed column tells whether all are finite),
    ``domain`` (every declared domain, ``requires``, holds) and ``nulls:<column>``.

    Only when one of them fails are the steps looked at one by one (``flag:<column>``),
    and a missing value is undefined when everything its step reads is present (a
    statistic over no value); that is looked into, on the result, for columns with nulls.
    """
    steps = _audited(plan, schema, phase_detail)
    if not steps:
        return []
    out = [pl.sum_horizontal([pl.col(s.column) for s in steps]).is_finite().all().alias("finite")]
    domains = [
        to_polars(s.requires, _context(plan, s)).fill_null(True)
        for s in steps
        if s.requires is not None
    ]
    out.append(
        pl.all_horizontal(domains).all().alias("domain")
        if domains
        else pl.lit(True).alias("domain")
    )
    out += [pl.col(s.column).null_count().alias("nulls:" + s.column) for s in steps]
    return out


def _missing_though_present(plan: Plan, frame: pl.DataFrame, steps: list[Step]) -> dict[str, bool]:
    """For steps with nulls: is a value missing although everything it reads is present?"""
    flags = []
    for s in steps:
        if _may_be_missing(s.expr):
            continue
        reads = [c for c in ir.free_names(s.expr) if c in frame.columns]
        present = (
            pl.all_horizontal([pl.col(c).is_not_null() for c in reads]) if reads else pl.lit(True)
        )
        if s.periods:
            present = present & pl.col(plan.methodology.layout.period).is_in(list(s.periods))
        flags.append((pl.col(s.column).is_null() & present).any().alias(s.column))
    return frame.select(flags).row(0, named=True) if flags else {}


def audit(
    plan: Plan,
    frame: pl.DataFrame,
    detail: pl.DataFrame | None = None,
    summary: dict[str, object] | None = None,
    detail_summary: dict[str, object] | None = None,
) -> None:
    """Raise a DataError naming the first undefined value in the computed columns.

    `summary` holds the aggregates of :func:`audit_exprs` when the query computed them;
    otherwise they are computed here. Steps computed on detail rows are audited on the
    detail rows.
    """
    if detail is not None:
        _audit(plan, detail, True, detail_summary)
    _audit(plan, frame, False, summary)


def _audit(
    plan: Plan, frame: pl.DataFrame, phase_detail: bool, summary: dict[str, object] | None
) -> None:
    steps = _audited(plan, frame.schema, phase_detail)
    if not steps:
        return
    if summary is None:
        summary = frame.select(audit_exprs(plan, frame.schema, phase_detail)).row(0, named=True)
    flags: dict[str, object] = {}
    if not (summary["finite"] and summary["domain"]):  # find which steps, on the failure path only
        flags = frame.select(_step_flags(plan, steps)).row(0, named=True)
    with_nulls = [s for s in steps if summary["nulls:" + s.column]]
    missing = _missing_though_present(plan, frame, with_nulls) if with_nulls else {}
    failing = [
        s
        for s in steps
        if flags.get("flag:" + s.column)
        or missing.get(s.column)
        or (summary["nulls:" + s.column] and _empty_statistic(plan, s, frame))
    ]  # type: ignore[operator]
    if failing:
        # the first failing step in plan order: later ones are its consequences
        raise DataError(diagnose(plan, frame, failing[0]))


def _may_be_missing(expr: sympy.Basic) -> bool:
    """Whether `expr` can be missing with every input present (at() of an absent row)."""
    return isinstance(expr, ir.At) or any(
        _may_be_missing(a) for a in expr.args if isinstance(a, sympy.Basic)
    )


def _statistics(expr: sympy.Basic) -> list[ir.Stat]:
    found = [expr] if isinstance(expr, ir.Stat) and not isinstance(expr, ir.ColCount) else []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += _statistics(a)
    return found


def _empty_statistic(plan: Plan, step: Step, frame: pl.DataFrame) -> bool:
    """Whether a statistic in `step` is taken over a group with no present value."""
    for st in _statistics(step.expr):
        x = to_polars(st.operand, _context(plan))
        if st.keys:
            counts = frame.group_by(list(st.keys)).agg(x.count().alias("n"))["n"]
        else:
            counts = frame.select(x.count().alias("n"))["n"]
        if (counts == 0).any():
            return True
    return False


def _rows(plan: Plan, frame: pl.DataFrame, mask: pl.Expr, limit: int = 10) -> str:
    keys = [k for k in plan.methodology.layout.detail_keys if k in frame.columns]
    hit = frame.lazy().filter(mask).select(keys).collect()
    names = [" ".join(str(v) for v in row) for row in hit.head(limit).iter_rows()]
    more = f" and {hit.height - limit} more" if hit.height > limit else ""
    return ", ".join(names) + more


def _what(step: Step) -> str:
    kinds = {
        "indicator": "indicator",
        "normalised": "normalisation of",
        "group": "group",
        "index": "",
        "rank": "",
        "derived": "derived output",
    }
    prefix = kinds.get(step.kind, "")
    return f"{prefix} '{step.name}'".strip() if prefix else f"'{step.name}'"


def diagnose(plan: Plan, frame: pl.DataFrame, step: Step) -> list[Diagnostic]:
    """Why `step` produced an undefined value: each cause with the rows affected."""
    ctx = _context(plan, step)
    problems: list[Diagnostic] = []
    where = f"in the {_what(step)} ({step.formula})" if step.formula else f"in {_what(step)}"

    def test(node: sympy.Basic, mask: pl.Expr, code: Code, text: str) -> None:
        hit = frame.select(mask.fill_null(False).any()).item()
        if hit:
            rows = _rows(plan, frame, mask.fill_null(False))
            problems.append(
                Diagnostic(
                    code,
                    f"{text} {where}, for: {rows}",
                    expected="data on which the formula is defined",
                )
            )

    def walk(node: sympy.Basic) -> None:
        for a in node.args:
            if isinstance(a, sympy.Basic):
                walk(a)
        if isinstance(node, sympy.Pow) and node.exp.is_Number and node.exp < 0:
            test(
                node,
                to_polars(node.base, ctx) == 0,
                Code.DIVISION_BY_ZERO,
                f"division by zero: {show(node.base)} is 0",
            )
        elif isinstance(node, sympy.Pow) and node.exp.is_Number and not node.exp.is_integer:
            test(
                node,
                to_polars(node.base, ctx) < 0,
                Code.DOMAIN,
                f"power {show(node.exp)} of a negative value: {show(node.base)} < 0",
            )
        elif isinstance(node, sympy.log):
            test(
                node,
                to_polars(node.args[0], ctx) <= 0,
                Code.DOMAIN,
                f"logarithm of a value <= 0: {show(node.args[0])}",
            )
        elif isinstance(node, ir.Stat) and not isinstance(node, ir.ColCount):
            x = to_polars(node.operand, ctx)
            empty = x.count() == 0
            test(
                node,
                empty.over(list(node.keys)) if node.keys else empty,
                Code.ALL_MISSING,
                f"{node.label}() over no present value: {show(node.operand)} is missing for every unit",
            )

    if step.requires is not None:  # the declared domain first: it names the cause best
        ok = to_polars(step.requires, ctx).fill_null(True)
        test(
            step.requires,
            ~ok,
            Code.DOMAIN,
            f"{step.requirement}: {show(step.requires)} does not hold",
        )
    if not problems:
        walk(step.expr)
    if not problems:
        col = pl.col(step.column)
        mask = col.is_not_null() & ~col.is_finite()
        problems.append(
            Diagnostic(
                Code.NOT_FINITE,
                f"the result is not a finite number {where}, for: " + _rows(plan, frame, mask),
                expected="finite values",
            )
        )
    return problems
