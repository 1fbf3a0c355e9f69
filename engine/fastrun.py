"""A run from the plan cache: read, replay the recorded query, report, without sympy.

:func:`record` writes down, after a full run, what a later run of the same methodology
on data of the same shape needs (see :mod:`engine.plancache`); :func:`run_cached`
replays it. The fast path settles only clean runs: every audit aggregate passes, no
value is missing although its inputs are present, every unit has an index (and a class
when the index has one), weights are constants, no error-severity check fails.
Otherwise it returns the data it read, and the caller runs the full path on it, which
reports the cause exactly as it always does.

This module imports neither sympy nor the compiler at import time; :func:`record`
imports them (it runs after a full run, when they are loaded anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import plancache, runner
from engine.backends.polars import ENGINE
from engine.diagnostics import Diagnostic
from engine.io import read
from engine.io.write import PendingSink
from engine.report.results import TableResult

if TYPE_CHECKING:
    from engine.api import RunResult, Validated

__all__ = ["CachedResult", "record", "run_cached"]


# -- the methodology's shape, as the reader needs it ----------------------------------------


@dataclass(frozen=True)
class _Layout:
    unit: str
    period: str | None
    labels: tuple[str, ...]
    missing: tuple[str, ...] | None
    detail: tuple[str, ...]
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit, self.period) if self.period else (self.unit,)

    @property
    def detail_keys(self) -> tuple[str, ...]:
        return self.keys + self.detail


@dataclass(frozen=True)
class _Input:
    name: str
    grain: str
    optional: bool
    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class _Shape:
    layout: _Layout
    inputs: tuple[_Input, ...]


def _shape_to_json(m: runner.DataShape) -> dict[str, Any]:
    lay = m.layout
    return {
        "layout": [
            lay.unit,
            lay.period,
            list(lay.labels),
            lay.missing,
            list(lay.detail),
            [list(c) for c in lay.columns],
        ],
        "inputs": [[i.name, i.grain, i.optional, i.minimum, i.maximum] for i in m.inputs],
    }


def _shape_from_json(data: dict[str, Any]) -> _Shape:
    unit, period, labels, missing, detail, columns = data["layout"]
    layout = _Layout(
        unit,
        period,
        tuple(labels),
        tuple(missing) if missing is not None else None,
        tuple(detail),
        tuple((name, header) for name, header in columns),
    )
    return _Shape(layout, tuple(_Input(*i) for i in data["inputs"]))


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Formula:
    text: str


@dataclass(frozen=True)
class _Check:
    name: str
    severity: str
    formula: _Formula


@dataclass(frozen=True)
class _CheckResult:
    """A check's tested and failing rows (the interface of report.summary.CheckResult)."""

    check: _Check
    tested: int
    failures: pl.DataFrame

    @property
    def passed(self) -> bool:
        return self.failures.height == 0

    def describe(self) -> str:
        c = self.check
        status = "ok" if self.passed else f"{self.failures.height} of {self.tested} rows fail"
        return f"{c.severity} check '{c.name}' ({c.formula.text}): {status}"


@dataclass(frozen=True)
class CachedResult(TableResult):
    """What the command line reports and writes of a run (the interface of RunResult that
    ``indexlab run`` uses; ``write`` writes the results table).

    A run whose results went straight from the query into a pending file (``pending``)
    has no ``frame``: ``write`` to that file commits it."""

    frame: pl.DataFrame | None
    checks: tuple[_CheckResult, ...]
    warnings: tuple[Diagnostic, ...]
    #: what the report reads of the methodology (its layout)
    methodology: _Shape
    #: what the result table shows (engine.report.terminal.ResultLayout as JSON)
    layout: dict[str, Any] = field(default_factory=dict)
    weights: pl.DataFrame | None = None
    adjustments: pl.DataFrame | None = None
    detail: pl.DataFrame | None = field(default=None)
    #: the rows of the results table
    rows: int = 0
    #: the results, written by the query into a file not yet committed (see io.write)
    pending: PendingSink | None = None

    @property
    def failed_errors(self) -> tuple[_CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.check.severity == "error")

    def to_polars(self) -> pl.DataFrame:
        if self.frame is None:
            raise ValueError("the results were written by the query, not collected")
        return self.frame

    def write(self, path: str | Path, *, protect: Sequence[str | Path] = ()) -> Path:
        """Write the results to `path`; the pending file, when it is for `path`, is
        committed (it holds the same rows)."""
        if self.pending is not None and self.pending.target == Path(path):
            return self.pending.commit()
        return super().write(path, protect=protect)


def _variant(data: runner.Data, periods: int, integer_keys: frozenset[str]) -> str:
    """The entry's name for data of this shape: one period or several, unit and detail
    frames, and the keys held as integers (at() compares them as numbers)."""
    size = "single" if periods <= 1 else "multi"
    frames = f"{'u' if data.units is not None else ''}{'d' if data.detail is not None else ''}"
    ints = "".join(f"-int:{k}" for k in sorted(integer_keys))
    return f"{size}-{frames}{ints}"


# -- recording -----------------------------------------------------------------------------


def record(path: Path, validated: Validated, data: runner.Data, result: RunResult) -> None:
    """After a full run: write down the query for this shape of data, and the report's
    constants, so that the next run of the unchanged methodology can skip sympy."""
    from engine.backends.polars import audit as audit_module
    from engine.backends.polars.compile import Context, to_polars
    from engine.backends.polars.execute import audit_exprs, build_query
    from engine.backends.polars.markers import present_inputs
    from engine.backends.polars.steps import step_columns, undefined_column
    from engine.formula import ir
    from engine.report.summary import check_count_exprs, check_sides, unit_only
    from engine.validation import validated_line

    plan = validated.plan
    m = validated.methodology
    from engine.methods.aggregate_bod import uses_bod

    estimated = any(g.weighting in ("pca", "pca_rotated", "optimised") for g in m.groups) or any(
        dict(i.imputation).get("method") == "em" for i in m.indicators
    )
    if estimated or uses_bod(m) or m.availability is not None:
        return  # estimated from the data (weights, imputations, scores, kept units)
    if plancache.cache_dir() is None:
        return
    periods = runner.count_periods(m, data)
    ints = runner.integer_keys(m, data)
    ops: list[dict[str, Any]] = []
    counter = [1]
    units_in = plancache.Recorder(ops, 0, counter) if data.units is not None else None
    detail_in = plancache.Recorder(ops, 1, counter) if data.detail is not None else None
    unit_rec, detail_rec = build_query(
        plan,
        units_in,  # type: ignore[arg-type]
        detail_in,  # type: ignore[arg-type]
        periods=periods,
        integer_keys=ints,
    )
    inputs = {}
    if data.units is not None:
        inputs[0] = data.units.head(0).lazy()
    if data.detail is not None:
        inputs[1] = data.detail.head(0).lazy()
    regs = plancache.replay(ops, inputs)
    unit_lf = regs[unit_rec.register]  # type: ignore[attr-defined]
    schema = unit_lf.collect_schema()
    exprs = audit_exprs(plan, schema, False) + check_count_exprs(plan)
    period = m.layout.period
    if period:
        exprs.append(pl.col(period).unique(maintain_order=True).implode().alias("periods"))
    detail_exprs: list[pl.Expr] = []
    detail_schema = None
    if detail_rec is not None:
        detail_schema = regs[detail_rec.register].collect_schema()  # type: ignore[attr-defined]
        detail_exprs = audit_exprs(plan, detail_schema, True)

    def nulls_checks(frame_schema: pl.Schema, phase_detail: bool) -> list[Any]:
        """Per audited step: when it has nulls, is one missing though its inputs are
        present, or is a statistic taken over no value? (as in the audit)"""
        out = []
        for s in audit_module.audited_steps(plan, frame_schema, phase_detail):
            present: str | None = None
            if not audit_module._may_be_missing(s.expr):
                reads = [c for c in ir.free_names(s.expr) if c in frame_schema]
                p = (
                    pl.all_horizontal([pl.col(c).is_not_null() for c in reads])
                    if reads
                    else pl.lit(True)
                )
                if s.periods and period is not None:
                    p = p & pl.col(period).is_in(list(s.periods))
                present = plancache.expr_to_json((pl.col(s.column).is_null() & p).any())
            stats = [
                [
                    list(st.keys),
                    plancache.expr_to_json(
                        to_polars(st.operand, Context({}, m.layout.unit, period)).count()
                    ),
                ]
                for st in audit_module._statistics(s.expr)
            ]
            out.append([s.column, present, stats])
        return out

    markers = []  # the markers the query leaves out, for the rare path (see _undefined)
    for s in audit_module.audited_steps(plan, schema, False):
        if undefined_column(s.column) in schema or present_inputs(plan, s) is None:
            continue
        compiled = step_columns(plan, s, periods <= 1)
        if len(compiled.columns) > 1:
            markers.append(
                [
                    s.column,
                    [[plancache.expr_to_json(e) for e in level] for level in compiled.temps],
                    plancache.expr_to_json(compiled.columns[1]),
                ]
            )
    checks = []
    for c in m.checks:
        levels, shown = check_sides(c, m, set(schema.names()))
        checks.append(
            [
                c.name,
                str(c.severity),
                c.formula.text,
                [plancache.expr_to_json(e) for e in shown],
                [[plancache.expr_to_json(e) for e in level] for level in levels],
                unit_only(c, m),
            ]
        )
    weights = None
    if result.weights is not None and not any(g.weighting for g in m.groups):
        w = result.weights
        if w.height and "period" in w.columns:
            first = w.get_column("period").head(1)
            w = w.filter(pl.col("period").is_in(first.implode(), nulls_equal=True))
        weights = w.drop("period", strict=False).to_dicts() if w.height else []
    variant = {
        "ops": ops,
        "unit": unit_rec.register,  # type: ignore[attr-defined]
        "detail": detail_rec.register if detail_rec is not None else None,  # type: ignore[attr-defined]
        "summary": [plancache.expr_to_json(e) for e in exprs],
        "detail_summary": [plancache.expr_to_json(e) for e in detail_exprs],
        "nulls": nulls_checks(schema, False),
        "detail_nulls": nulls_checks(detail_schema, True) if detail_schema is not None else [],
        "checks": checks,
        "markers": markers,
    }
    from engine.report.terminal import ResultLayout

    plancache.write_entry(
        path,
        {
            "shape": _shape_to_json(m),
            "layout": ResultLayout.of(m).to_json(),
            "validate": [
                validated_line(path, validated),
                [plancache.diagnostic_to_json(w) for w in validated.warnings],
            ],
            "output": list(plan.output),
            "index": m.index is not None,
            "classes": m.classes is not None,
            "indicators": [i.name for i in m.indicators],
            "weights": weights,
            "variants": {_variant(data, periods, ints): variant},
        },
    )


# -- replaying -----------------------------------------------------------------------------

#: what the replay adds to the recorded aggregates (not names the audit or checks use)
_ROWS, _INDEX_NULLS, _CLASS_NULLS = "fastrun:rows", "fastrun:index", "fastrun:class"


def run_cached(
    path: Path,
    paths: Sequence[str | Path],
    options: read.ReadOptions,
    *,
    sink: PendingSink | None = None,
) -> CachedResult | runner.Data | None:
    """A run from the cache: the result when the fast path settles it; the data read
    when the full path must take over; None when there is no usable entry.

    With `sink`, the results table is not collected: the query writes it into the
    pending file in the same pass that computes the report (the caller commits it when
    it writes the results, or discards it when the full path takes over)."""
    entry = plancache.load(path)
    if entry is None or "shape" not in entry.data:
        return None
    try:
        shape = _shape_from_json(entry.data["shape"])
    except (KeyError, TypeError, ValueError):
        return None
    data = runner.read_data(shape, paths, options)
    runner.no_empty_inputs(shape, data)
    periods = runner.count_periods(shape, data)
    variant = entry.variant(_variant(data, periods, runner.integer_keys(shape, data)))
    if variant is None or entry.data.get("weights") is None or "layout" not in entry.data:
        return data
    try:
        done = _replay(entry, variant, shape, data, sink)
    except (pl.exceptions.PolarsError, KeyError, TypeError, ValueError, OSError):
        # an entry that does not fit, or a sink that could not write: the full path
        # decides (and names a write's failure as it always does)
        return data
    return done if done is not None else data


def _replay(
    entry: plancache.Entry,
    variant: dict[str, Any],
    shape: _Shape,
    data: runner.Data,
    sink: PendingSink | None,
) -> CachedResult | None:
    """Replay the recorded query and settle the run, or None for the full path.

    The result query is collected first; everything the report needs of its rows is then
    one query each on that frame, all collected together with the results table (or the
    sink that writes it): the audit and check aggregates, the tests of the columns with
    missing values and the adjusted points; then the failing rows of the checks that
    have some (:func:`_failures`), also on the frame. (Sharing the
    result query through ``.cache()`` instead made polars' streaming engine take 0.45 s
    and 440 MB for ASEM's 51 rows of 662 columns, against 0.05 s; at 1M unit-years
    collecting first costs 3 % more time and 40 MB.)"""
    inputs = {}
    if data.units is not None:
        inputs[0] = data.units.lazy()
    if data.detail is not None:
        inputs[1] = data.detail.lazy()
    regs = plancache.replay(variant["ops"], inputs)
    unit_lf = regs[int(variant["unit"])].collect(engine=ENGINE).lazy()
    names = set(unit_lf.collect_schema().names())
    summary_exprs = [plancache.expr_from_json(e) for e in variant["summary"]]
    summary_exprs.append(pl.len().alias(_ROWS))
    if entry.data["index"]:
        summary_exprs.append(pl.col("index").null_count().alias(_INDEX_NULLS))
    if entry.data["classes"]:
        summary_exprs.append(pl.col("class").null_count().alias(_CLASS_NULLS))
    table = unit_lf.select(entry.data["output"])
    null_queries, null_owner = _null_tests(unit_lf, variant["nulls"])
    keys = shape.layout.keys
    adjusted = _adjusted(unit_lf, names, shape, entry.data["indicators"])
    frames = [
        sink.sink(table) if sink is not None else table,
        unit_lf.select(summary_exprs),
        *null_queries,
        *([adjusted] if adjusted is not None else []),
    ]
    detail_lf = regs[int(variant["detail"])] if variant["detail"] is not None else None
    if detail_lf is not None:
        d_exprs = [plancache.expr_from_json(e) for e in variant["detail_summary"]]
        frames += [detail_lf, detail_lf.select(d_exprs or [pl.len().alias("rows")])]
    got = pl.collect_all(frames, engine=ENGINE)
    output, summary = got[0], got[1].row(0, named=True)
    at = 2 + len(null_queries)
    flags = got[2:at]
    adjustments = got[at] if adjusted is not None else pl.DataFrame()
    if not _clean(summary, flags, null_owner):
        return None
    if _undefined(unit_lf, summary, variant.get("markers", [])):
        return None  # an undefined value hidden by a missing one: the full path names it
    if detail_lf is not None:
        detail_frame, detail_summary = got[-2], got[-1].row(0, named=True)
        d_queries, d_owner = _null_tests(detail_frame.lazy(), variant["detail_nulls"])
        if not _clean(detail_summary, pl.collect_all(d_queries), d_owner):
            return None
        if runner.missing_detail(shape, data):
            return None
    index_nulls = summary.get(_INDEX_NULLS, 0)
    if index_nulls or summary.get(_CLASS_NULLS, 0) > index_nulls:
        return None  # units without an index or class: the full path names them
    failures = _failures(unit_lf, variant["checks"], summary, keys)
    checks = tuple(_check(summary, spec, f) for spec, f in zip(variant["checks"], failures))
    if any(not c.passed and c.check.severity == "error" for c in checks):
        return None
    periods = summary.get("periods")
    _, validate_warnings = entry.data["validate"]
    warnings = data.warnings + tuple(plancache.diagnostic_from_json(w) for w in validate_warnings)
    return CachedResult(
        output if sink is None else None,
        checks,
        warnings,
        shape,
        entry.data["layout"],
        _weights(entry.data["weights"], periods),
        adjustments,
        rows=int(summary[_ROWS]),
        pending=sink,
    )


def _null_tests(lf: pl.LazyFrame, nulls: list[Any]) -> tuple[list[pl.LazyFrame], dict[str, str]]:
    """The audit's tests of the columns with missing values, as queries of one row of
    flags each (a flag is true where the full path must look: a value missing although
    its inputs are present, a statistic over no value in some group), and the column
    each flag tests. They are made for every audited column, so that they run in the
    same pass as the result; only the flags of columns with missing values count."""
    scalar: list[pl.Expr] = []
    grouped: dict[tuple[str, ...], list[str]] = {}
    counts: dict[tuple[str, ...], list[pl.Expr]] = {}
    owner: dict[str, str] = {}
    for column, present, stats in nulls:
        if present is not None:
            name = f"n{len(owner)}"
            owner[name] = column
            scalar.append(plancache.expr_from_json(present).alias(name))
        for keys, count in stats:
            name = f"n{len(owner)}"
            owner[name] = column
            n = plancache.expr_from_json(count)
            if keys:
                grouped.setdefault(tuple(keys), []).append(name)
                counts.setdefault(tuple(keys), []).append(n.alias(name))
            else:
                scalar.append((n == 0).alias(name))
    queries = [lf.select(scalar)] if scalar else []
    queries += [
        lf.group_by(list(k)).agg(counts[k]).select((pl.col(n) == 0).any() for n in grouped[k])
        for k in grouped
    ]
    return queries, owner


def _clean(summary: dict[str, Any], flags: Sequence[pl.DataFrame], owner: dict[str, str]) -> bool:
    """The audit's verdict when it is "nothing undefined"; False when the full path must
    look (it then names the cause): an undefined value, or a flag of :func:`_null_tests`
    raised in a column that has missing values."""
    if any(k.startswith("undefined:") and v for k, v in summary.items()):
        return False  # an undefined value: the full path names it
    raised = {owner[k] for frame in flags for k, v in frame.row(0, named=True).items() if v}
    return not any(summary.get("nulls:" + column) for column in raised)


def _undefined(lf: pl.LazyFrame, summary: dict[str, Any], markers: list[Any]) -> bool:
    """Whether a step whose marker the query left out has an undefined value where its
    value is missing because an input is (``unsure:<column>`` is not zero): its marker,
    computed on the result (the rare path of :mod:`engine.backends.polars.markers`)."""
    chosen = [spec for spec in markers if summary.get("unsure:" + spec[0])]
    if not chosen:
        return False
    for _, levels, _ in chosen:
        for level in levels:
            lf = lf.with_columns([plancache.expr_from_json(e) for e in level])
    marked = [plancache.expr_from_json(marker).any() for _, _, marker in chosen]
    return any(lf.select(marked).collect(engine=ENGINE).row(0))


def _failures(
    lf: pl.LazyFrame, specs: list[Any], summary: dict[str, Any], keys: Sequence[str]
) -> list[pl.DataFrame]:
    """Every check's failing rows with both sides, computed on the collected result `lf`
    only for the checks the summary counts failing rows of (a side with at() or a
    statistic is computed on every row: 0.11 CPU-s at 1M for the paper's
    population_stable); a passing check's table is empty, with the same columns."""
    failing = [bool(summary["f:" + spec[0]]) for spec in specs]
    queries = [_failing(lf if f else lf.head(0), spec, keys) for spec, f in zip(specs, failing)]
    return pl.collect_all(queries, engine=ENGINE) if queries else []


def _failing(lf: pl.LazyFrame, spec: list[Any], keys: Sequence[str]) -> pl.LazyFrame:
    """A check's failing rows with both sides (as report.failures.failing_rows)."""
    from engine.report.failures import failing_query

    name, _, _, shown_json, levels_json = spec[:5]
    within = spec[5] if len(spec) > 5 else None  # entries before the unit-only test
    shown = [plancache.expr_from_json(e) for e in shown_json]
    levels = [[plancache.expr_from_json(e) for e in level] for level in levels_json]
    return failing_query(lf, levels, shown, name, keys, within)


def _check(summary: dict[str, Any], spec: list[Any], failures: pl.DataFrame) -> _CheckResult:
    name, severity, formula, *_ = spec
    return _CheckResult(_Check(name, severity, _Formula(formula)), summary["t:" + name], failures)


def _weights(rows: list[dict[str, Any]], periods: object) -> pl.DataFrame:
    """The constant weights of every period (as report.summary.effective_weights)."""
    if not rows:
        return pl.DataFrame()
    values = list(periods) if isinstance(periods, list) else [None]
    out = [{"period": p, **r} for p in values for r in rows]
    return pl.DataFrame(
        out, schema_overrides={"weight": pl.Float64, "effective_weight": pl.Float64}, strict=False
    )


def _adjusted(
    lf: pl.LazyFrame, names: set[str], shape: _Shape, indicators: list[str]
) -> pl.LazyFrame | None:
    """Every imputed or treated point (as report.summary.adjustments), as one query; None
    when no indicator is imputed or treated."""
    keys = list(shape.layout.keys)
    parts = []
    for name in indicators:
        before = name
        for suffix, action in ((".imputed", "imputed"), (".treated", "treated")):
            column = name + suffix
            if column not in names:
                continue
            parts.append(
                lf.filter(pl.col(before).ne_missing(pl.col(column))).select(
                    *keys,
                    pl.lit(name).alias("indicator"),
                    pl.col(before).alias("before"),
                    pl.col(column).alias("after"),
                    pl.lit(action).alias("action"),
                )
            )
            before = column
    return pl.concat(parts) if parts else None
