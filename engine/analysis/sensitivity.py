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
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import sympy

from engine.analysis import sensitivity_prepare as prepare
from engine.backends.polars.execute import classify, classify_quantiles, collect
from engine.diagnostics import Code, Diagnostic, MethodologyError
from engine.format.model import Derived, Methodology, Uncertainty
from engine.formula import ir
from engine.methods import catalogue
from engine.plan import Plan, Step, StepKind, build_plan, in_stages

REP = "__rep"
NORM_CHOICE, AGG_CHOICE, IMP_CHOICE, TREAT_CHOICE = "__norm", "__agg", "__imp", "__treat"
#: the choices of the stages before aggregation: the work they select is done once per
#: combination (see :mod:`engine.analysis.sensitivity_prepare`)
BEFORE_AGGREGATION = (IMP_CHOICE, TREAT_CHOICE, NORM_CHOICE)


def factor_column(group: str, member: str) -> str:
    return f"__w.{group}.{member}"


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


# -- the replicated plan ----------------------------------------------------------------


def _choice(alternatives: Sequence[sympy.Expr], column: str) -> sympy.Expr:
    if len(alternatives) == 1:
        return alternatives[0]
    branches = [
        (alt, sympy.Eq(sympy.Symbol(column), k, evaluate=False))
        for k, alt in enumerate(alternatives[:-1])
    ]
    return sympy.Piecewise(*branches, (alternatives[-1], True), evaluate=False)


def replicated_methodology(m: Methodology, design: Uncertainty) -> Methodology:
    """`m` with weights as factor columns and the alternatives as choices between branches."""
    indicators = []
    for ind in m.indicators:
        alts = [dict(alt)[ind.name] for alt in design.normalisations if ind.name in dict(alt)]
        if alts:
            expr = _choice([a.expr for a in alts], NORM_CHOICE)
            ind = dataclasses.replace(
                ind,
                normalisation=dataclasses.replace(
                    ind.normalisation, expr=expr, requires=None, formula=None, method="uncertain"
                ),
            )
        indicators.append(ind)
    period_keys = (m.layout.period,) if m.layout.period else ()
    groups = []
    for g in m.groups:
        if g.aggregation == "formula":
            groups.append(g)
            continue
        weights = [
            sympy.Mul(sympy.Symbol(factor_column(g.name, mem)), w, evaluate=False)
            for mem, w in zip(g.members, g.weights)
        ]
        spec = {"method": g.aggregation, **dict(g.params)}
        if design.aggregations:
            alts = [
                catalogue.aggregate(a, g.members, weights, period_keys, cost=g.cost)
                for a in design.aggregations
            ]
            expr = _choice(alts, AGG_CHOICE)
        elif g.coverage != "all":
            expr = catalogue.aggregate_present(
                g.aggregation,
                g.members,
                weights,
                float(g.coverage),  # type: ignore[arg-type]
                dict(g.params),
                period_keys,
                g.cost,
            )
        else:
            expr = catalogue.aggregate(g.aggregation, g.members, weights, period_keys, spec, g.cost)
        groups.append(dataclasses.replace(g, expr=expr))
    return dataclasses.replace(
        m,
        indicators=tuple(indicators),
        groups=tuple(groups),
        derived=_derived_for_classes(m),
        checks=(),
        screening=(),
    )


def _derived_for_classes(m: Methodology) -> tuple[Derived, ...]:
    """The derived outputs the classes read (directly or through one another), which every
    replication computes; the others are left out."""
    if m.classes is None or m.classes.on is None:
        return ()
    by_name = {d.name: d for d in m.derived}
    needed: set[str] = set()
    todo = list(ir.free_names(m.classes.on) & set(by_name))
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += list(ir.free_names(by_name[name].expr) & set(by_name))
    return tuple(d for d in m.derived if d.name in needed)


def _preparation_choices(
    m: Methodology, design: Uncertainty, planned: set[str]
) -> tuple[list[Step], dict[str, str]]:
    """Steps computing every imputation and treatment alternative of each indicator, and the
    column each indicator's normalisation then reads (a choice between them); `planned` are
    the columns the plan already computes (a declared imputation's ``X.imputed``)."""
    keys = (m.layout.period,) if m.layout.period else ()
    steps: list[Step] = []
    source: dict[str, str] = {}
    for ind in m.indicators:
        # a declared imputation that has no alternatives stays: treatments start from it
        current = ind.name + ".imputed" if ind.name + ".imputed" in planned else ind.name
        if design.imputations:
            options = []
            for k, spec in enumerate(design.imputations):
                expr = catalogue.impute(
                    dict(spec), ind.name, keys, m.layout.unit, m.layout.period, m
                )
                if expr is None:
                    options.append(sympy.Symbol(ind.name))
                    continue
                steps.append(Step(f"{ind.name}.imp~{k}", expr, StepKind.IMPUTED, ind.name))
                options.append(sympy.Symbol(f"{ind.name}.imp~{k}"))
            current = f"{ind.name}.imp*"
            steps.append(Step(current, _choice(options, IMP_CHOICE), StepKind.IMPUTED, ind.name))
        if design.treatments:
            options = []
            for k, spec in enumerate(design.treatments):
                treat = catalogue.treat(dict(spec), current, keys, f"{ind.name}.tr~{k}")
                steps += [Step(column, expr, StepKind.TREATED, ind.name) for column, expr in treat]
                options.append(sympy.Symbol(treat[-1][0]) if treat else sympy.Symbol(current))
            steps.append(
                Step(f"{ind.name}.tr*", _choice(options, TREAT_CHOICE), StepKind.TREATED, ind.name)
            )
            current = f"{ind.name}.tr*"
        if current != ind.name:
            source[ind.name] = current
    return steps, source


def _replicated_plan(m: Methodology, design: Uncertainty) -> Plan:
    replicated = replicated_methodology(m, design)
    # the alternatives of a stage replace the declared method of that stage only; the other
    # stage keeps what the methodology declares (and reads the chosen alternative)
    replicated = dataclasses.replace(
        replicated,
        indicators=tuple(
            dataclasses.replace(
                i,
                imputation=() if design.imputations else i.imputation,
                treatment=() if design.treatments else i.treatment,
            )
            for i in replicated.indicators
        ),
    )
    plan = build_plan(replicated)
    if plan.detail:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.GRAIN,
                    "sensitivity analysis needs unit-level data only",
                    expected="a methodology without data.detail",
                )
            ]
        )
    extra, source = _preparation_choices(replicated, design, set(plan.steps))

    def fix(step: Step, planned: bool = True) -> Step:
        expr, requires = step.expr, None
        reads_choice = step.kind in (StepKind.NORMALISED, StepKind.TREATED)
        if planned and reads_choice and step.name in source:
            # the declared treatment (or, without one, the normalisation) reads the chosen
            # alternative instead of the raw or declared-imputed column
            chosen = sympy.Symbol(source[step.name])
            expr = ir.rename(expr, {step.name: chosen, step.name + ".imputed": chosen})
        return dataclasses.replace(step, expr=expr, requires=requires)

    steps = [s for stage in plan.first for s in stage]
    # the alternatives read the indicators and any declared imputation: those come first
    first = [s for s in steps if s.kind in (StepKind.INDICATOR, StepKind.IMPUTED)]
    rest = [s for s in steps if s.kind not in (StepKind.INDICATOR, StepKind.IMPUTED)]
    ordered = [fix(s) for s in first] + [fix(s, False) for s in extra] + [fix(s) for s in rest]
    base = (
        set(m.layout.keys)
        | {i.name for i in m.inputs}
        | {NORM_CHOICE, AGG_CHOICE, IMP_CHOICE, TREAT_CHOICE}
    )
    base |= {factor_column(g.name, mem) for g in m.groups for mem in g.members}
    return dataclasses.replace(
        plan,
        first=in_stages(ordered, base),
        after=tuple(tuple(fix(s) for s in st) for st in plan.after),
    )


# -- sampling ---------------------------------------------------------------------------


def _factors(m: Methodology, design: Uncertainty) -> list[str]:
    out = []
    if design.weights:
        out.append("weights")
    if len(design.normalisations) > 1:
        out.append("normalisation")
    if len(design.aggregations) > 1:
        out.append("aggregation")
    if len(design.imputations) > 1:
        out.append("imputation")
    if len(design.treatments) > 1:
        out.append("treatment")
    if design.drop:
        out.append("drop")
    if not out:
        raise MethodologyError(
            [
                Diagnostic(
                    Code.BAD_ARGUMENTS,
                    "the uncertainty design has no uncertain choice",
                    expected="weights, two or more normalisation or aggregation "
                    "alternatives, or drop: indicators",
                )
            ]
        )
    return out


def _pick(u: float, probabilities: Sequence[float]) -> int:
    acc = 0.0
    for k, p in enumerate(probabilities):
        acc += p
        if u < acc:
            return k
    return len(probabilities) - 1


def _weight_sets(
    m: Methodology, design: Uncertainty, n: int, rng: random.Random
) -> list[dict[str, float]]:
    """n draws of the multiplicative weight factors of every group member."""
    sets = []
    for _ in range(n):
        factors: dict[str, float] = {}
        for g in m.groups:
            if design.weights is None:
                continue
            kind, value = design.weights
            if kind == "perturb":
                for mem in g.members:
                    factors[factor_column(g.name, mem)] = 1 + rng.uniform(-value, value)
            else:  # dirichlet around the nominal normalised weights (equal for data-driven weights)
                nominal = [float(w) if w.is_Number else 1.0 for w in g.weights]
                total = sum(nominal)
                shares = [w / total for w in nominal]
                draws = [rng.gammavariate(value * s, 1.0) if s > 0 else 0.0 for s in shares]
                norm = sum(draws) or 1.0
                for mem, d, s in zip(g.members, draws, shares):
                    factors[factor_column(g.name, mem)] = (d / norm) / s if s > 0 else 0.0
        sets.append(factors)
    return sets


def _droppable(m: Methodology, what: str | None) -> list[tuple[str, str]]:
    """(group, member) pairs that can be dropped (their group keeps a member): indicators,
    groups or both."""
    indicators = {i.name for i in m.indicators}
    wanted = {
        "indicators": lambda x: x in indicators,
        "groups": lambda x: x not in indicators,
        "both": lambda x: True,
    }.get(what or "", lambda x: False)
    return [
        (g.name, mem)
        for g in m.groups
        if g.aggregation != "formula" and len(g.members) > 1
        for mem in g.members
        if wanted(mem)
    ]


def design_table(
    m: Methodology, design: Uncertainty, n: int, seed: int, sobol: bool
) -> tuple[pl.DataFrame, list[str]]:
    """One row per replication: its id, the matrix it belongs to, and its parameters."""
    factors = _factors(m, design)
    rng = random.Random(seed)
    a = [[rng.random() for _ in factors] for _ in range(n)]
    b = [[rng.random() for _ in factors] for _ in range(n)]
    weight_sets = _weight_sets(m, design, n, rng)
    drops = _droppable(m, design.drop)
    matrices: list[tuple[str, list[list[float]]]] = [("A", a)] + ([("B", b)] if sobol else [])
    if sobol:
        for i, name in enumerate(factors):
            matrices.append(
                (
                    f"AB:{name}",
                    [[*row_a[:i], row_b[i], *row_a[i + 1 :]] for row_a, row_b in zip(a, b)],
                )
            )
    base = {factor_column(g.name, mem): 1.0 for g in m.groups for mem in g.members}
    rows = []
    for label, matrix in matrices:
        for j, u in enumerate(matrix):
            row: dict[str, object] = {
                REP: len(rows),
                "__matrix": label,
                "__sample": j,
                **base,
                NORM_CHOICE: 0,
                AGG_CHOICE: 0,
                IMP_CHOICE: 0,
                TREAT_CHOICE: 0,
            }
            for f, value in zip(factors, u):
                if f == "weights":
                    row.update(
                        weight_sets[min(int(value * len(weight_sets)), len(weight_sets) - 1)]
                    )
                elif f == "normalisation":
                    row[NORM_CHOICE] = _pick(value, design.normalisation_probabilities)
                elif f == "aggregation":
                    row[AGG_CHOICE] = _pick(value, design.aggregation_probabilities)
                elif f == "imputation":
                    row[IMP_CHOICE] = _pick(value, design.imputation_probabilities)
                elif f == "treatment":
                    row[TREAT_CHOICE] = _pick(value, design.treatment_probabilities)
                elif f == "drop":
                    k = min(int(value * (len(drops) + 1)), len(drops))
                    if k < len(drops):
                        row[factor_column(*drops[k])] = 0.0
            rows.append(row)
    return pl.DataFrame(rows), factors


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
    (by default as many as make about two million stacked rows)."""
    design = m.uncertainty or Uncertainty()
    plan = _replicated_plan(m, design)
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
    rows = []
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
                    "S1": float(s1[0]),
                    "S1_p05": s1_lo,
                    "S1_p95": s1_hi,
                    "ST": float(st[0]),
                    "ST_p05": st_lo,
                    "ST_p95": st_hi,
                }
            )
    return rows


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
    nominal = nominal.select(
        *keys,
        pl.col("rank").alias("nominal_rank"),
        *([pl.col("class").alias("nominal_class")] if "class" in nominal.columns else []),
    )
    runs = runs.join(nominal, on=keys, how="left")
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
    rows = []
    if sobol:
        periods = outputs[period].unique().sort().to_list() if period else [None]
        for p in periods:
            part = outputs.filter(pl.col(period) == p) if period else outputs
            y: dict[str, list[float]] = {}
            for label in ["A", "B"] + [f"AB:{f}" for f in factors]:
                sub = part.filter(pl.col("__matrix") == label).sort("__sample")
                y[label] = sub["y"].to_list()
            for r in _sobol(y, factors, n, s):
                rows.append({**({period: p} if period else {}), **r})
    return Sensitivity(
        nominal, ranks, classes, pl.DataFrame(rows), tuple(factors), n, params.height
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
