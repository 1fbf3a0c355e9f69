"""Uncertainty and sensitivity analysis: Monte Carlo over the methodology's uncertain choices.

Replications are rows, not loops. The unit-level data is cross-joined with a table of
replications (one row per replication: a multiplicative factor per weight, the index of
the normalisation and of the aggregation alternative, the dropped indicator) and the
whole methodology runs once over the stacked frame, every cross-unit statistic grouped
by the period *and the replication*. The same compiler and plan serve the nominal run and
the replications, so a replication computes exactly what a run of that variant would.

Sampling follows Saltelli (2010): two matrices A and B of N uniform draws per uncertain
choice ("factor"), and for each factor i the matrix A_B^(i) (A with column i from B):
N (d + 2) replications. A factor's draw u in [0, 1) picks an alternative by cumulative
probability, a weight set (from N sets drawn once), or the dropped indicator. The output
of a replication is the mean absolute rank shift against the nominal ranks (COINr's and
the Handbook's R̄_S), per period; first-order and total Sobol indices use Saltelli's
and Jansen's estimators, with bootstrap 5-95 % intervals. The rank distribution of each
unit is taken over the independent replications: the N of A (an uncertainty analysis
without Sobol indices runs only these) and, with Sobol indices, the N of B too.

Everything is drawn from ``random.Random(seed)``: the same seed gives bit-identical
results.

A replication can leave a unit without a score (a geometric mean of a z-score that is
<= 0, a division by a zero spread): the value is undefined, missing like in a run (see
:mod:`engine.backends.polars.audit`), and never ranked. Rank statistics are taken over
the replications in which the unit has a score, and :attr:`Sensitivity.undefined` says,
per unit and period, in how many replications it had none and under which design
choices; a warning summarises it.

The replicated plan is built in :mod:`engine.analysis.sensitivity_plan`, the table of
replications in :mod:`engine.analysis.sensitivity_design`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.analysis import sensitivity_prepare as prepare
from engine.analysis.sensitivity_design import _weight_sets, design_table
from engine.analysis.sensitivity_plan import (
    AGG_CHOICE,
    IMP_CHOICE,
    NORM_CHOICE,
    REP,
    TREAT_CHOICE,
    factor_column,
    replicated_plan,
)
from engine.backends.polars.execute import classify, classify_quantiles, collect
from engine.diagnostics import Code, Diagnostic, MethodologyError, Severity
from engine.format.model import Methodology, Uncertainty
from engine.formula import ir
from engine.plan import Plan

__all__ = [
    "AGG_CHOICE",
    "IMP_CHOICE",
    "NORM_CHOICE",
    "REP",
    "TREAT_CHOICE",
    "Sensitivity",
    "_weight_sets",
    "analyse",
    "design_table",
    "factor_column",
    "run_replications",
    "write_charts",
]

#: the choices of the stages before aggregation: the work they select is done once per
#: combination (see :mod:`engine.analysis.sensitivity_prepare`)
BEFORE_AGGREGATION = (IMP_CHOICE, TREAT_CHOICE, NORM_CHOICE)

#: the design choices that are alternatives (a column of the replication table each)
CHOICES = {
    NORM_CHOICE: "normalisation",
    AGG_CHOICE: "aggregation",
    IMP_CHOICE: "imputation",
    TREAT_CHOICE: "treatment",
}


@dataclass(frozen=True)
class Sensitivity:
    """Results of a sensitivity run."""

    nominal: pl.DataFrame  # unit, period, index, rank, class
    ranks: pl.DataFrame  # per unit and period: nominal, mean, median, p05, p95 rank
    classes: pl.DataFrame  # per unit and period: probability of each class (columns by label)
    sobol: pl.DataFrame  # per period and factor: S1, ST and their 5 % / 95 % bounds
    factors: tuple[str, ...]
    replications: int  # N
    runs: int  # N (d + 2)
    #: per unit and period without a score in some replications: how many, and the design
    #: choices of those replications
    undefined: pl.DataFrame = field(default_factory=pl.DataFrame)
    warnings: tuple[Diagnostic, ...] = ()


# -- running ---------------------------------------------------------------------------------


def _run_batch(
    plan: Plan, stages: prepare.Compiled, prepared: pl.DataFrame, params: pl.DataFrame
) -> pl.DataFrame:
    """The replications of `params`: the prepared rows of their choices, then the steps
    computed per replication."""
    m = plan.methodology
    keys = list(m.layout.keys)
    lf = prepared.lazy().join(params.lazy(), on=list(BEFORE_AGGREGATION), how="inner")
    lf = prepare.run_stages(lf, stages)
    cols = [*keys, REP, "index", "rank"]
    if plan.classes and plan.classes.quantiles:
        lf = lf.with_columns(
            classify_quantiles(
                plan.classes, pl.col(plan.classes.column), [k for k in (m.layout.period, REP) if k]
            ).alias("class")
        )
        cols.append("class")
    elif plan.classes:
        lf = lf.with_columns(classify(plan.classes, pl.col(plan.classes.column))[0].alias("class"))
        cols.append("class")
    return collect(lf.select(cols))[0]


def run_replications(
    m: Methodology,
    data: pl.DataFrame,
    params: pl.DataFrame,
    *,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Every replication's index, rank and class, in batches of `batch` replications
    (by default as many as make about two million stacked rows). An undefined index is
    missing, and has no rank and no class."""
    design = m.uncertainty or Uncertainty()
    plan = replicated_plan(m, design)
    choices = list(BEFORE_AGGREGATION)
    per_replication = [c for c in params.columns if c not in choices]
    steps = prepare.split(plan, per_replication)
    # what no replication changes, once per combination of the choices drawn
    varying = tuple(c for c in choices if params.get_column(c).n_unique() > 1)
    reads = {n for s in steps.each for n in ir.free_names(s.expr)}
    prepared = prepare.prepare(
        plan, steps.once, data, params.select(choices).unique(maintain_order=True), varying, reads
    )
    stages = prepare.compile_stages(plan, steps.each, (REP,))  # once for every batch
    keep = [c for c in params.columns if not c.startswith("__matrix") and c != "__sample"]
    rows = prepared.height // max(1, params.select(choices).n_unique())
    batch = batch or max(1, 2_000_000 // max(1, rows))
    out = []
    total = params.height
    for start in range(0, total, batch):
        part = params.slice(start, batch).select(keep)
        out.append(_run_batch(plan, stages, prepared, part))
        if progress:
            progress(min(start + batch, total), total)
    return pl.concat(out)


def _choice_names(m: Methodology, design: Uncertainty) -> dict[str, list[str]]:
    """For each alternative column, the name of each alternative (for the report)."""

    def described(spec: object, k: int) -> str:
        if isinstance(spec, tuple | list):
            method = dict(spec).get("method") if spec and isinstance(spec[0], tuple) else None
            return str(method or k)
        return str(spec)

    names = {
        AGG_CHOICE: [str(a) for a in design.aggregations],
        IMP_CHOICE: [described(s, k) for k, s in enumerate(design.imputations)],
        TREAT_CHOICE: [described(s, k) for k, s in enumerate(design.treatments)],
    }
    norms = []
    for k, alt in enumerate(design.normalisations):
        methods = {n.method for _, n in alt}
        norms.append(methods.pop() if len(methods) == 1 else f"alternative {k + 1}")
    names[NORM_CHOICE] = norms
    return names


def undefined_scores(
    m: Methodology, runs: pl.DataFrame, params: pl.DataFrame
) -> tuple[pl.DataFrame, tuple[Diagnostic, ...]]:
    """Per unit and period with a nominal score, the replications that left it without
    one: how many, of how many, and the design choices they made (with counts)."""
    keys = list(m.layout.keys)
    design = m.uncertainty or Uncertainty()
    missing = runs.filter(pl.col("index").is_null() & pl.col("nominal_index").is_not_null())
    if missing.height == 0:
        return pl.DataFrame(), ()
    names = _choice_names(m, design)
    choices = [c for c in CHOICES if c in params.columns and len(names.get(c, [])) > 1]
    dropped = [c for c in params.columns if c.startswith("__w.")]
    joined = missing.join(params.select(REP, *choices, *dropped), on=REP, how="left")

    def label(row: dict[str, object]) -> str:
        parts = [f"{CHOICES[c]}={names[c][int(str(row[c]))]}" for c in choices]
        zero = [c.removeprefix("__w.") for c in dropped if row[c] == 0.0]
        return ", ".join(parts + [f"dropped {z}" for z in zero]) or "weights only"

    joined = joined.with_columns(
        pl.Series("choices", [label(r) for r in joined.iter_rows(named=True)], dtype=pl.String)
    )
    per_choice = joined.group_by([*keys, "choices"]).len().sort([*keys, "len"], descending=False)
    total = runs.group_by(keys).agg(pl.col(REP).n_unique().alias("of"))
    table = (
        per_choice.group_by(keys, maintain_order=True)
        .agg(
            pl.col("len").sum().alias("replications"),
            pl.format("{} ({})", "choices", "len").str.join("; ").alias("choices"),
        )
        .join(total, on=keys, how="left")
        .select(*keys, "replications", "of", "choices")
        .sort(keys)
    )
    units = table.select(pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator=" "))
    shown = ", ".join(units.to_series().head(10).to_list())
    more = f" and {table.height - 10} more" if table.height > 10 else ""
    worst = table.sort("replications", descending=True).row(0, named=True)
    warning = Diagnostic(
        Code.UNDEFINED,
        f"{table.height} unit(s) have no score in some replications (undefined, not ranked): "
        f"{shown}{more}; e.g. {' '.join(str(worst[k]) for k in keys)} in "
        f"{worst['replications']} of {worst['of']} replications, under {worst['choices']}",
        expected="rank intervals over the replications in which the unit has a score",
        hint="the 'undefined' table lists every unit with the design choices that caused it",
        severity=Severity.WARNING,
    )
    return table, (warning,)


def _sobol(
    y: dict[str, list[float]], factors: Sequence[str], n: int, seed: int, boots: int = 500
) -> list[dict[str, object]]:
    """First-order (Saltelli 2010, with y_B centred) and total (Jansen) indices, and
    bootstrap 5-95 % intervals from `boots` resamples of the N samples (vectorised)."""
    import numpy as np

    ya, yb = np.asarray(y["A"], dtype=float), np.asarray(y["B"], dtype=float)
    yab = {f: np.asarray(y[f"AB:{f}"], dtype=float) for f in factors}
    rng = np.random.default_rng(seed + 1)
    samples = np.vstack(
        [np.arange(n), rng.integers(0, n, size=(boots, n))]
    )  # row 0: the point estimate

    a, b = ya[samples], yb[samples]
    both = np.concatenate([a, b], axis=1)
    var = both.var(axis=1)
    centred = b - both.mean(axis=1, keepdims=True)
    rows: list[dict[str, object]] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for f in factors:
            c = yab[f][samples]
            s1 = np.where(var > 0, (centred * (c - a)).mean(axis=1) / var, np.nan)
            st = np.where(var > 0, ((a - c) ** 2).mean(axis=1) / (2 * var), np.nan)

            def bounds(v: np.ndarray) -> tuple[float | None, float | None]:
                v = v[1:][~np.isnan(v[1:])]
                return (
                    (float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95)))
                    if v.size
                    else (None, None)
                )

            (s1_lo, s1_hi), (st_lo, st_hi) = bounds(s1), bounds(st)
            rows.append(
                {
                    "factor": f,
                    "S1": None if np.isnan(s1[0]) else float(s1[0]),
                    "S1_p05": s1_lo,
                    "S1_p95": s1_hi,
                    "ST": None if np.isnan(st[0]) else float(st[0]),
                    "ST_p05": st_lo,
                    "ST_p95": st_hi,
                }
            )
    return rows


SOBOL_COLUMNS = ("S1", "S1_p05", "S1_p95", "ST", "ST_p05", "ST_p95")
NO_SHIFT = "in some replications no unit has a score, so there is no rank shift to apportion"
NO_VARIANCE = (
    "the mean absolute rank shift is the same in every replication, so there is no "
    "variance to apportion"
)


def _sobol_undefined(reasons: dict[str, list[str]], period: str | None) -> tuple[Diagnostic, ...]:
    """A warning per reason the Sobol indices of some periods are undefined (missing)."""
    out = []
    for reason, periods in reasons.items():
        at = f" for {period} {', '.join(periods)}" if period else ""
        out.append(
            Diagnostic(
                Code.UNDEFINED,
                f"the Sobol indices are undefined (missing){at}: {reason}",
                expected="a mean absolute rank shift in every replication, varying between them",
                hint="the rank intervals still hold (over the replications with a score)",
                severity=Severity.WARNING,
            )
        )
    return tuple(out)


def analyse(
    m: Methodology,
    data: pl.DataFrame,
    nominal: pl.DataFrame,
    *,
    replications: int | None = None,
    seed: int | None = None,
    sobol: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Sensitivity:
    """Monte Carlo uncertainty analysis and Sobol sensitivity indices of `m` on `data`.

    `nominal` is the nominal run's frame (unit, period, index, rank, class).
    """
    design = m.uncertainty
    if design is None:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.SCHEMA,
                    "the methodology declares no uncertainty design",
                    expected="an 'uncertainty' section",
                )
            ]
        )
    n = replications or design.replications
    s = design.seed if seed is None else seed
    params, factors = design_table(m, design, n, s, sobol)
    runs = run_replications(m, data, params, progress=progress)
    keys = list(m.layout.keys)
    period = m.layout.period
    runs = runs.join(params.select(REP, "__matrix", "__sample"), on=REP)
    nominal_scores = nominal.select(
        *keys,
        pl.col("index").alias("nominal_index"),
        pl.col("rank").alias("nominal_rank"),
        *([pl.col("class").alias("nominal_class")] if "class" in nominal.columns else []),
    )
    runs = runs.join(nominal_scores, on=keys, how="left")
    undefined, warnings = undefined_scores(m, runs, params)
    independent = runs.filter(pl.col("__matrix").is_in(["A", "B"]))
    ranks = (
        independent.group_by(keys)
        .agg(
            pl.col("nominal_rank").first(),
            pl.col("rank").mean().alias("mean_rank"),
            pl.col("rank").median().alias("median_rank"),
            pl.col("rank").quantile(0.05, interpolation="linear").alias("p05_rank"),
            pl.col("rank").quantile(0.95, interpolation="linear").alias("p95_rank"),
        )
        .sort(keys)
    )
    classes = pl.DataFrame()
    if "class" in independent.columns:
        counts = independent.group_by([*keys, "class"]).len()
        total = independent.group_by(keys).len().rename({"len": "total"})
        wide = (
            counts.join(total, on=keys)
            .with_columns((pl.col("len") / pl.col("total")).alias("p"))
            .pivot(on="class", index=keys, values="p")
        )
        labels = [lab for lab in (m.classes.labels if m.classes else ()) if lab in wide.columns]
        others = [
            c for c in wide.columns if c not in keys and c not in labels
        ]  # e.g. "null": no class
        classes = wide.select(*keys, *[pl.col(c).fill_null(0.0) for c in labels + others]).sort(
            keys
        )
    shift = (pl.col("rank") - pl.col("nominal_rank")).abs()
    by = ([period] if period else []) + ["__matrix", "__sample"]
    outputs = runs.group_by(by).agg(shift.mean().alias("y"))
    rows: list[dict[str, object]] = []
    reasons: dict[str, list[str]] = {}
    if sobol:
        periods = outputs[period].unique().sort().to_list() if period else [None]
        for p in periods:
            part = outputs.filter(pl.col(period) == p) if period else outputs
            y: dict[str, list[float]] = {}
            for label in ["A", "B"] + [f"AB:{f}" for f in factors]:
                sub = part.filter(pl.col("__matrix") == label).sort("__sample")
                y[label] = sub["y"].to_list()
            found = _sobol(y, factors, n, s)
            rows += [{**({period: p} if period else {}), **r} for r in found]
            if any(v is None or v != v for ys in y.values() for v in ys):
                reasons.setdefault(NO_SHIFT, []).append(str(p))
            elif any(r["S1"] is None for r in found):
                reasons.setdefault(NO_VARIANCE, []).append(str(p))
        warnings += _sobol_undefined(reasons, period)
    sobol_table = pl.DataFrame(rows, schema_overrides=dict.fromkeys(SOBOL_COLUMNS, pl.Float64))
    return Sensitivity(
        nominal,
        ranks,
        classes,
        sobol_table,
        tuple(factors),
        n,
        params.height,
        undefined,
        warnings,
    )


def write_charts(result: Sensitivity, m: Methodology, path: Path) -> list[Path]:
    """Rank intervals per unit and the Sobol indices, as PATH.png and PATH.svg (or PATH
    alone when it ends with .png or .svg); see :func:`engine.report.charts.sensitivity_chart`."""
    from engine.report.charts import render, sensitivity_chart

    figure = sensitivity_chart(result, m)
    targets = (
        [path]
        if path.suffix in (".png", ".svg")
        else [path.with_suffix(".png"), path.with_suffix(".svg")]
    )
    for target in targets:
        target.write_bytes(render(figure, target.suffix.lstrip(".")))
    return targets
