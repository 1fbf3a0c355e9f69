"""Running a plan: read and type the data, compute every column, audit, report.

The orchestration behind :func:`engine.api.run` and :func:`engine.api.execute`, kept
apart from the API's signatures and result objects: read the data a methodology needs
(:func:`read_data`), reject inputs that are empty or out of their declared range before
computing (:func:`no_empty_inputs`), then build the one lazy query, collect it and count
its audit and check aggregates on the result (:func:`compute`) and turn that into
checks, warnings, effective weights and adjustments (:func:`execute`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import polars as pl

from engine.diagnostics import Code, DataError, Diagnostic, MethodologyError, Severity
from engine.io import read

if TYPE_CHECKING:  # the compiler (and sympy) are imported only when a plan is computed
    from engine.format.model import Methodology
    from engine.plan import Plan
    from engine.report.summary import CheckResult

__all__ = [
    "Computed",
    "Data",
    "Estimated",
    "compute",
    "count_periods",
    "estimate",
    "execute",
    "integer_keys",
    "missing_detail",
    "missing_detail_warning",
    "no_empty_inputs",
    "out_of_range",
    "read_data",
]


class InputShape(Protocol):
    """What reading and the input checks need to know of an input."""

    @property
    def name(self) -> str: ...
    @property
    def grain(self) -> str: ...
    @property
    def optional(self) -> bool: ...
    @property
    def minimum(self) -> float | None: ...
    @property
    def maximum(self) -> float | None: ...


class LayoutShape(Protocol):
    """The data's layout: key, label and detail columns, missing tokens."""

    @property
    def unit(self) -> str: ...
    @property
    def period(self) -> str | None: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def missing(self) -> tuple[str, ...] | None: ...
    @property
    def detail(self) -> tuple[str, ...]: ...
    @property
    def keys(self) -> tuple[str, ...]: ...
    @property
    def detail_keys(self) -> tuple[str, ...]: ...
    @property
    def columns(self) -> tuple[tuple[str, str], ...]: ...


class DataShape(Protocol):
    """The part of a methodology that reading needs: a :class:`Methodology` is one; so is
    the plan cache's record of it (which needs no sympy)."""

    @property
    def layout(self) -> LayoutShape: ...
    @property
    def inputs(self) -> Sequence[InputShape]: ...


@dataclass(frozen=True)
class Data:
    """Typed input data: one row per unit and period, and the detail rows if any."""

    units: pl.DataFrame | None
    detail: pl.DataFrame | None = None
    warnings: tuple[Diagnostic, ...] = ()


def read_data(
    m: DataShape,
    paths: Sequence[str | Path | read.InMemory],
    options: read.ReadOptions | None = None,
) -> Data:
    """Read and type the data a methodology needs (every problem reported at once).

    With detail inputs, a file whose header has the detail key columns holds detail
    rows; the other files hold one row per unit and period.
    """
    opts = options or read.ReadOptions()
    if m.layout.missing is not None:  # in addition to the reader's defaults
        extra = tuple(t for t in m.layout.missing if t not in opts.missing)
        opts = dataclasses.replace(opts, missing=opts.missing + extra)
    headers_of = dict(m.layout.columns)  # name -> the data's header (data.columns)

    def h(name: str) -> str:
        return headers_of.get(name, name)

    headers = {str(p): set(read.header_of(p, opts)) for p in paths}
    present = set().union(*headers.values())
    absent = [i for i in m.inputs if i.optional and h(i.name) not in present]
    skipped = {i.name for i in absent}
    notes = tuple(
        Diagnostic(
            Code.MISSING_VALUE,
            f"optional input '{i.name}' is not in the data: it is missing in every row",
            severity=Severity.WARNING,
        )
        for i in absent
    )
    unit_inputs = [i.name for i in m.inputs if i.grain == "unit" and i.name not in skipped]
    detail_inputs = [i.name for i in m.inputs if i.grain == "detail" and i.name not in skipped]
    fill = [pl.lit(None, dtype=pl.Float64).alias(i.name) for i in absent if i.grain == "unit"]
    names = {h(n): n for n, _ in m.layout.columns}

    def load(
        files: Sequence[str | Path | read.InMemory],
        keys: Sequence[str],
        numeric: Sequence[str],
        text: Sequence[str],
    ) -> read.Loaded:
        """load_data by headers; the frame's columns renamed to the methodology's names."""
        loaded = read.load_data(
            files,
            keys=[h(n) for n in keys],
            numeric=[h(n) for n in numeric],
            text=[h(n) for n in text],
            period=h(m.layout.period) if m.layout.period else None,
            options=opts,
        )
        if not names:
            return loaded
        return read.Loaded(loaded.frame.rename(names, strict=False), loaded.warnings)

    if not detail_inputs:
        loaded = load(paths, m.layout.keys, unit_inputs, m.layout.labels)
        return Data(loaded.frame.with_columns(fill), None, loaded.warnings + notes)
    detail_files = [p for p in paths if {h(d) for d in m.layout.detail} <= headers[str(p)]]
    unit_files = [p for p in paths if p not in detail_files]
    if not detail_files:
        detail_files = list(paths)  # let the reader name the missing detail columns
    detail = load(
        detail_files, m.layout.detail_keys, detail_inputs, m.layout.labels if not unit_files else ()
    )
    units = None
    if unit_inputs or unit_files:
        units = load(unit_files or paths, m.layout.keys, unit_inputs, m.layout.labels)
    labels = (
        None
        if units is not None or not m.layout.labels
        else (detail.frame.group_by(list(m.layout.keys)).agg(pl.col(list(m.layout.labels)).first()))
    )
    unit_frame = units.frame if units else labels
    return Data(
        unit_frame.with_columns(fill) if unit_frame is not None else None,
        detail.frame,
        detail.warnings + (units.warnings if units else ()) + notes,
    )


def out_of_range(m: DataShape, frame: pl.DataFrame, grain_name: str) -> list[Diagnostic]:
    """Values outside an input's declared minimum/maximum, with the rows."""
    out = []
    keys = [k for k in m.layout.detail_keys if k in frame.columns]
    for i in m.inputs:
        if i.grain != grain_name or i.name not in frame.columns:
            continue
        for bound, bad in (
            ("minimum", pl.col(i.name) < i.minimum if i.minimum is not None else None),
            ("maximum", pl.col(i.name) > i.maximum if i.maximum is not None else None),
        ):
            if bad is None or not frame.select(bad.any()).item():
                continue
            hit = frame.lazy().filter(bad.fill_null(False)).collect()
            if hit.height:
                rows = ", ".join(
                    " ".join(str(v) for v in r) + f" ({r_val})"
                    for r, r_val in zip(hit.select(keys).head(10).iter_rows(), hit[i.name].head(10))
                )
                more = f" and {hit.height - 10} more" if hit.height > 10 else ""
                limit = i.minimum if bound == "minimum" else i.maximum
                out.append(
                    Diagnostic(
                        Code.DOMAIN,
                        f"input column '{i.name}' is outside its declared {bound} "
                        f"{limit:g} for: {rows}{more}",
                        expected=f"values {'>=' if bound == 'minimum' else '<='} {limit:g}",
                    )
                )
    return out


def missing_detail(m: DataShape, data: Data) -> tuple[Diagnostic, ...]:
    """A warning per detail input with missing cells: statistics over detail rows skip them."""
    if data.detail is None:
        return ()
    out = []
    keys = list(m.layout.detail_keys)
    for i in m.inputs:
        if (
            i.grain != "detail"
            or i.name not in data.detail.columns
            or data.detail[i.name].null_count() == 0
        ):
            continue
        rows = data.detail.lazy().filter(pl.col(i.name).is_null()).select(keys).collect()
        names = [" ".join(str(v) for v in r) for r in rows.head(10).iter_rows()]
        out.append(missing_detail_warning(i.name, rows.height, names))
    return tuple(out)


def missing_detail_warning(name: str, rows: int, names: Sequence[str]) -> Diagnostic:
    """The warning that detail input `name` is missing in `rows` rows, the first named."""
    more = f" and {rows - 10} more" if rows > 10 else ""
    return Diagnostic(
        Code.MISSING_VALUE,
        f"detail input '{name}' is missing for: {', '.join(names[:10])}{more}; "
        "statistics over detail rows skip these rows",
        severity=Severity.WARNING,
    )


def no_empty_inputs(m: DataShape, data: Data) -> None:
    """An input column with no value in a whole period is an error, named before computing."""
    problems = []
    for frame, grain_name in ((data.units, "unit"), (data.detail, "detail")):
        if frame is None:
            continue
        names = [
            i.name
            for i in m.inputs
            if i.grain == grain_name and i.name in frame.columns and not i.optional
        ]
        problems += out_of_range(m, frame, grain_name)
        if not names or not any(frame.select(pl.col(names).null_count()).row(0)):
            continue
        period = m.layout.period
        by = [period] if period else []
        counts = (
            frame.group_by(by).agg(pl.col(names).count())
            if by
            else frame.select(pl.col(names).count())
        )
        for row in counts.iter_rows(named=True):
            for n in names:
                if row[n] == 0:
                    where = f" for {period} {row[period]}" if period else ""
                    problems.append(
                        Diagnostic(
                            Code.ALL_MISSING,
                            f"input column '{n}' has no value{where}",
                            expected="at least one present value per period",
                        )
                    )
    if problems:
        raise DataError(problems)


def count_periods(m: DataShape, data: Data) -> int:
    """How many periods the data has (1 without a period column)."""
    frame = data.units if data.units is not None else data.detail
    if not m.layout.period or frame is None:
        return 1
    return int(frame.select(pl.col(m.layout.period).n_unique()).item())


#: integer types whose every value compares exactly with an Int64 number
_SIGNED_OR_SMALL = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def integer_keys(m: DataShape, data: Data) -> frozenset[str]:
    """The key columns that hold integers in every frame of `data` that has them: at()
    compares them with a number rather than as text (the same rows; see
    :func:`engine.backends.polars.compile_stats.at_condition`)."""
    schemas = [f.schema for f in (data.units, data.detail) if f is not None]
    keys = [k for k in m.layout.detail_keys if any(k in s for s in schemas)]
    return frozenset(k for k in keys if all(s[k] in _SIGNED_OR_SMALL for s in schemas if k in s))


def compute(
    plan: Plan, data: Data, *, summaries: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame | None, dict[str, object], dict[str, object]]:
    """Every computed column (the unit-level frame and the detail rows, collected in one
    go: shared work is done once) and, if asked, the audit and check aggregates, counted
    on the collected frames."""
    from engine.backends.polars.execute import audit_exprs, build_query, collect
    from engine.report.summary import check_count_exprs

    units = data.units.lazy() if data.units is not None else None
    detail = data.detail.lazy() if data.detail is not None else None
    unit_lf, detail_lf = build_query(
        plan,
        units,
        detail,
        periods=count_periods(plan.methodology, data),
        integer_keys=integer_keys(plan.methodology, data),
    )
    got = collect(unit_lf, *([detail_lf] if detail_lf is not None else []))
    frame = got[0]
    detail_frame = got[1] if detail_lf is not None else None
    if not summaries:
        return frame, detail_frame, {}, {}
    # the counts are taken on the collected frames, not as more branches of the query:
    # planning ~300 aggregates over the query cost a third of a small run, and the
    # counts of a frame already in memory are a fraction of computing it
    period = plan.methodology.layout.period
    exprs = audit_exprs(plan, frame.schema, False) + check_count_exprs(plan)
    if period:
        exprs.append(pl.col(period).unique(maintain_order=True).implode().alias("periods"))
    summary = _counts(frame, exprs)
    detail_summary = {}
    if detail_frame is not None:
        detail_summary = _counts(detail_frame, audit_exprs(plan, detail_frame.schema, True))
    return frame, detail_frame, summary, detail_summary


def _counts(frame: pl.DataFrame, exprs: list[pl.Expr]) -> dict[str, object]:
    """The aggregates `exprs` of `frame`, as one row (the number of rows without any).

    Counted by polars' in-memory engine, not the run's fixed engine: every aggregate is a
    count of rows or the list of periods, the same whichever engine takes it, and on a
    frame in memory this engine plans them in half the time."""
    return frame.select(exprs if exprs else [pl.len().alias("rows")]).row(0, named=True)


@dataclass(frozen=True)
class Computed:
    """What executing a plan produced, before the API wraps it into its result object."""

    plan: Plan  # the plan that ran (with estimated weights when a group uses PCA)
    frame: pl.DataFrame
    checks: tuple[CheckResult, ...]
    #: warnings found while computing (missing detail cells, units without an index)
    warnings: tuple[Diagnostic, ...]
    detail: pl.DataFrame | None
    weights: pl.DataFrame
    adjustments: pl.DataFrame
    #: every unit's data availability (and whether it was kept), with availability screening
    availability: pl.DataFrame | None = None


@dataclass(frozen=True)
class Estimated:
    """A plan with its data-driven procedures estimated (PCA weights, benefit of the doubt):
    the plan that runs, the data it reads (with any estimated columns) and the benefit-of-
    the-doubt weights per unit (long form; None without such a group)."""

    plan: Plan
    data: Data
    bod_weights: pl.DataFrame | None = None
    #: every unit's data availability, when the methodology screens units by it
    availability: pl.DataFrame | None = None
    warnings: tuple[Diagnostic, ...] = ()


def estimate(plan: Plan, data: Data) -> Estimated:
    """Estimate what a plan needs from the data before its query runs: the units kept by
    data availability (:mod:`engine.methods.availability`), EM imputation
    (:mod:`engine.methods.em`), PCA weights (:mod:`engine.methods.pca`) and
    benefit-of-the-doubt groups (:mod:`engine.methods.bod`), each by a first pass over the
    data."""
    from engine.plan import build_plan

    m = plan.methodology
    screened = None
    if m.availability is not None:
        from engine.methods import availability

        screened = availability.screen(m, compute(plan, data)[0], data.units, data.detail)
        data = dataclasses.replace(data, units=screened.units, detail=screened.detail)
    extra = (screened.table, screened.warnings) if screened is not None else (None, ())
    if any(dict(i.imputation).get("method") == "em" for i in m.indicators):
        from engine.methods import em  # numpy: only for EM imputation

        plan = build_plan(em.resolve(m, lambda x: compute(build_plan(x), data)[0]))
        m = plan.methodology
    if any(g.weighting in ("pca", "pca_rotated") for g in m.groups):
        from engine.methods import pca  # numpy: only for PCA weights

        plan = build_plan(pca.resolve(m, lambda x: compute(build_plan(x), data)[0]))
    if any(g.weighting == "optimised" for g in plan.methodology.groups):
        from engine.methods import optimised_weights  # scipy: only for optimised weights

        found = optimised_weights.resolve(
            plan.methodology, lambda x: compute(build_plan(x), data)[0]
        )
        plan = build_plan(found)
    from engine.methods.aggregate_bod import uses_bod

    if not uses_bod(plan.methodology):
        return Estimated(plan, data, None, *extra)
    if data.units is None or plan.has_detail:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.GRAIN,
                    "benefit of the doubt needs unit-level data only",
                    expected="a methodology without data.detail",
                )
            ]
        )
    no_empty_inputs(plan.methodology, data)

    def run(x: Methodology, units: pl.DataFrame) -> pl.DataFrame:
        return compute(build_plan(x), dataclasses.replace(data, units=units))[0]

    from engine.methods import bod

    done = bod.resolve(plan.methodology, data.units, run)
    return Estimated(
        build_plan(done.methodology),
        dataclasses.replace(data, units=done.units),
        done.weights,
        *extra,
    )


def execute(plan: Plan, data: Data, *, keep_detail: bool = False) -> Computed:
    """Run `plan` on typed data: compute, audit, evaluate the checks, gather the report.

    With benefit-of-the-doubt groups, the detail output (`keep_detail`) is the units'
    weights in long form (one row per unit, period, group and member)."""
    from engine.backends.polars.execute import audit
    from engine.report.summary import (
        adjustments,
        effective_weights,
        evaluate_checks,
        missing_index_warnings,
    )

    estimated = estimate(plan, data)
    plan, data = estimated.plan, estimated.data
    no_empty_inputs(plan.methodology, data)
    frame, detail_frame, summary, detail_summary = compute(plan, data, summaries=True)
    undefined = audit(
        plan, frame, detail_frame, summary, detail_summary if detail_frame is not None else None
    )
    checks = evaluate_checks(plan, frame, summary)
    warnings = (
        undefined
        + estimated.warnings
        + missing_detail(plan.methodology, data)
        + missing_index_warnings(plan, frame)
    )
    kept = (
        detail_frame.select(plan.detail_output).sort(list(plan.methodology.layout.detail_keys))
        if keep_detail and detail_frame is not None
        else estimated.bod_weights
        if keep_detail
        else None
    )
    periods = summary.get("periods")
    period_list = list(periods) if isinstance(periods, list | pl.Series) else None
    # the columns as they are (an eager select() would copy every chunk of every column)
    output = pl.DataFrame([frame.get_column(c) for c in plan.output])
    return Computed(
        plan,
        output,
        checks,
        warnings,
        kept,
        effective_weights(plan, frame, period_list),
        adjustments(plan, frame),
        estimated.availability,
    )
