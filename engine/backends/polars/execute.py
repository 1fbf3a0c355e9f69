"""Execute a plan on data as one lazy polars query (audited by :mod:`.audit`).

The query is one ``with_columns`` per plan stage (with detail data: the detail rows'
stages, a collapse to one row per unit and period, the remaining stages), the class
bands last, collected once with a fixed engine. A stage's procedure steps (values per
group computed by a function, :mod:`.procedures`) are joined in before its expressions.
Rows keep their order: nothing computed depends on it, because sums add the rows of a
group in key order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.backends.polars import ENGINE, procedures
from engine.backends.polars.audit import audit, audit_exprs
from engine.backends.polars.steps import with_steps
from engine.format.model import ClassScheme, OutputType
from engine.plan import Plan, Step

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

__all__ = [
    "audit",
    "audit_exprs",
    "build_query",
    "classify",
    "classify_quantiles",
    "collapsed",
    "collect",
    "finish",
    "on_detail",
    "on_units",
]


def quantile_cuts(scheme: ClassScheme, value: pl.Expr) -> list[pl.Expr]:
    """The cuts of quantile classes, from the top: the j/k quantiles of `value`."""
    k = len(scheme.quantiles)
    return [value.quantile(j / k, interpolation="linear") for j in range(k - 1, 0, -1)]


def classify_quantiles(
    scheme: ClassScheme, value: pl.Expr, keys: list[str], cuts: list[pl.Expr] | None = None
) -> pl.Expr:
    """k labels from the top: the j/k quantiles of `value` within `keys` cut the classes
    (or `cuts`, computed beforehand); a value on a cut goes to the upper class."""
    labels = scheme.quantiles
    if cuts is None:
        cuts = [c.over(keys) if keys else c for c in quantile_cuts(scheme, value)]
    chain: Then | ChainedThen = pl.when(value.is_null()).then(pl.lit(None, dtype=pl.String))
    for label, cut in zip(labels, cuts):
        chain = chain.when(value >= cut).then(pl.lit(label, dtype=pl.String))
    return chain.otherwise(pl.lit(labels[-1], dtype=pl.String))


def classify(
    scheme: ClassScheme, value: pl.Expr, *, streamed: bool = False
) -> tuple[pl.Expr, pl.Expr | None]:
    """The class label (and class group) of `value` by the bands of `scheme`.

    With ``closed: lower`` a band is [min, max) and the top band [min, max]; with
    ``closed: upper`` a band is (min, max] and the bottom band [min, max]. A value
    within ``tolerance`` of a bound counts as on it. Missing values and values outside
    every band get no class. The bands are contiguous (checked before data is read), so
    the number of inner bounds below a value is its band's number (from the bottom).

    The names are looked up by the band's number; in a `streamed` run (the passes of
    :mod:`engine.backends.polars.stream`) they are chosen by a when/then chain instead:
    there the lookup in a literal made polars hold 0.5 GB more at 30M unit-years.
    """
    tol = scheme.tolerance
    ascending = list(reversed(scheme.bands))
    labels = [b.label for b in ascending]
    if scheme.closed == "lower":
        breaks = [b.lower - tol for b in ascending[1:]]
    else:
        breaks = [b.upper + tol for b in ascending[:-1]]
    inside = (value >= ascending[0].lower - tol) & (value <= ascending[-1].upper + tol)
    # the band's number: how many inner bounds are below the value (a value on a bound:
    # the band it opens / closes), as row-wise comparisons (streams, unlike a search)
    if scheme.closed == "lower":
        below = [value >= b for b in breaks]
    else:
        below = [value > b for b in breaks]
    counted = pl.sum_horizontal([c.cast(pl.Int64) for c in below]) if below else pl.lit(0)
    number = pl.when(inside).then(counted)

    def pick(names: list[str | None]) -> pl.Expr:
        # the band's name by its number (a missing number: no name); a lookup in the
        # names, where a chain of when/then built a string per band and row (1M rows:
        # 0.11 -> 0.04 CPU-s for label and group)
        if not streamed:
            return pl.lit(pl.Series(names, dtype=pl.String)).gather(number)
        chain: Then | ChainedThen = pl.when(number.is_null()).then(pl.lit(None, dtype=pl.String))
        for code, name in enumerate(names):
            chain = chain.when(number == code).then(pl.lit(name, dtype=pl.String))
        return chain.otherwise(pl.lit(None, dtype=pl.String))

    label = pick(list(labels))
    group = None
    if scheme.groups:
        names = dict(scheme.groups)
        group = pick([names.get(b.group) if b.group else None for b in ascending])
    return label, group


def collect(*frames: pl.LazyFrame) -> list[pl.DataFrame]:
    """Collect lazy frames together (shared work is done once) with the fixed engine."""
    return pl.collect_all(list(frames), engine=ENGINE)


def _apply(
    lf: pl.LazyFrame,
    plan: Plan,
    stages: tuple[tuple[Step, ...], ...],
    single_group: bool,
    integer_keys: frozenset[str],
    all_markers: bool = True,
) -> pl.LazyFrame:
    for stage in stages:
        plain, calls = procedures.split(stage)
        for call in calls:  # a table per group, joined (see procedures)
            lf = lf.pipe(procedures.apply, call)
        if plain:
            lf = with_steps(lf, plan, plain, single_group, integer_keys, all_markers)
    return lf


def build_query(
    plan: Plan,
    data: pl.LazyFrame | None,
    detail: pl.LazyFrame | None = None,
    *,
    periods: int | None = None,
    integer_keys: frozenset[str] = frozenset(),
) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
    """The whole methodology as one lazy query: the unit-level result, and the detail rows.

    `data` has one row per unit and period (None when every input is detail-level);
    `detail` one row per unit, period and detail key (None without detail inputs). Rows
    keep their order; nothing computed depends on it (sums add in key order). `periods`,
    the number of periods in the data when known, spares work when it is above 1;
    `integer_keys`, the key columns the data holds as integers (see
    :func:`engine.runner.integer_keys`), spares printing them where at() compares.
    The unit-level steps' undefined markers are left out where the audit counts them
    from the values (:mod:`engine.backends.polars.markers`).
    """
    single = periods is None or periods <= 1
    ints = integer_keys
    lf = on_units(plan, data, single, ints, all_markers=False) if data is not None else None
    detail_lf = None
    if detail is not None:
        detail_lf, reduced = on_detail(plan, detail, lf, single, ints)
        lf = collapsed(plan, lf, reduced)
    assert lf is not None, "a plan needs unit-level or detail data"
    return finish(plan, lf, single, ints, all_markers=False), detail_lf


def on_units(
    plan: Plan,
    data: pl.LazyFrame,
    single: bool,
    integer_keys: frozenset[str] = frozenset(),
    *,
    all_markers: bool = True,
) -> pl.LazyFrame:
    """The unit-level stages that run before the detail rows (all of them without)."""
    return _apply(data, plan, plan.first, single, integer_keys, all_markers)


def on_detail(
    plan: Plan,
    detail: pl.LazyFrame,
    units: pl.LazyFrame | None,
    single: bool,
    integer_keys: frozenset[str] = frozenset(),
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The detail rows with the detail stages computed (the unit-level columns of
    `units`, the first stages' result, joined in), and their collapse to one row per
    unit and period (the unit-level columns computed on the detail rows)."""
    keys = list(plan.methodology.layout.keys)
    if units is not None:
        detail = detail.join(units, on=keys, how="left", maintain_order="left")
    detail = _apply(detail, plan, plan.detail, single, integer_keys)
    reduced = detail.group_by(keys).agg([pl.col(c).first() for c in plan.collapse])
    return detail, reduced


def collapsed(plan: Plan, units: pl.LazyFrame | None, reduced: pl.LazyFrame) -> pl.LazyFrame:
    """The first stages' unit rows with the collapsed detail columns, in key order."""
    keys = list(plan.methodology.layout.keys)
    # a unit may be only in the detail data: keep every unit (full join), in key order
    lf = reduced if units is None else units.join(reduced, on=keys, how="full", coalesce=True)
    return lf.sort(keys)


def finish(
    plan: Plan,
    lf: pl.LazyFrame,
    single: bool,
    integer_keys: frozenset[str] = frozenset(),
    *,
    all_markers: bool = True,
) -> pl.LazyFrame:
    """The unit-level stages after the detail rows, ranks as integers, the classes,
    whole-number outputs and the screening rules."""
    m = plan.methodology
    lf = _apply(lf, plan, plan.after, single, integer_keys, all_markers)
    if m.index is not None and m.ranking.ties != "average":
        ranks = ["rank", *(name for name, _ in m.ranking.within)]
        lf = lf.with_columns(pl.col(ranks).cast(pl.Int64))
    if plan.classes and plan.classes.quantiles:
        period_keys = [m.layout.period] if m.layout.period else []
        value = pl.col(plan.classes.column)
        lf = lf.with_columns(classify_quantiles(plan.classes, value, period_keys).alias("class"))
    elif plan.classes:
        label, group = classify(plan.classes, pl.col(plan.classes.column))
        cols = [label.alias("class")] + ([group.alias("class_group")] if group is not None else [])
        lf = lf.with_columns(cols)
    whole = [d.name for d in m.derived if d.type is OutputType.INTEGER]
    if whole:  # whole numbers (checked by the audit) as integers
        lf = lf.with_columns(pl.col(whole).round(0).cast(pl.Int64))
    for step in plan.screening:  # one at a time: a rule reads the statistics hoisted before it
        lf = with_steps(lf, plan, [step], single, integer_keys, all_markers)
    return lf
