"""What the report page shows, gathered from a run as plain JSON-able values.

The rows are sorted by unit and period (the order in which the engine adds within a
group, which the page's program relies on). Columns are kept at full precision: the
values the live program reads come from a polars run of the *parametric* plan (see
:mod:`engine.report.html.live`) at the methodology's own weights, and the engine's own
index, rank and class are kept beside them (``nominal``) so that the page can show
that its recomputation at those weights gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import polars as pl
import sympy

from engine import runner
from engine.analysis.diagnose import INDEX, Diagnosis, framework, stage_frame, tree
from engine.format.model import Methodology
from engine.formula import grain
from engine.plan import norm_column
from engine.report.html import live as live_mod
from engine.report.html.mathml import equation, to_mathml
from engine.report.summary import methodology_conventions

if TYPE_CHECKING:
    from engine.api_results import RunResult

#: correlations in the heatmap (variables and aggregates) at most
HEATMAP_LIMIT = 80


def _values(series: pl.Series) -> list[object]:
    if series.dtype.is_float():
        return [None if v is None or not math.isfinite(v) else v for v in series.to_list()]
    if series.dtype.is_numeric() or series.dtype == pl.Boolean:
        return series.to_list()
    return [None if v is None else str(v) for v in series.cast(pl.String).to_list()]


def _records(frame: pl.DataFrame) -> list[dict[str, object]]:
    return [{c: v for c, v in zip(frame.columns, row)} for row in frame.iter_rows()]


def nominal_parameters(live: live_mod.Live) -> dict[str, float]:
    """The parameters' values at the methodology's own settings (exact sums and shares)."""
    out: dict[str, float] = {s.parameter: 0.0 for s in live.switches}
    for s in live.sliders:
        weights = [Fraction(t) for t in s.nominal]
        whole = sum(weights, Fraction(0))
        out[live_mod.total(s.group)] = float(whole)
        for member, w in zip(s.members, weights):
            out[live_mod.weight(s.group, member)] = float(w)
            out[live_mod.share(s.group, member)] = float(w / whole)
    return out


def live_inputs(live: live_mod.Live, data: runner.Data) -> pl.DataFrame:
    """The columns the page's program reads, as the parametric plan computes them at the
    methodology's own settings (none of them depends on a parameter), in key order."""
    m = live.plan.methodology
    params = nominal_parameters(live)
    units = data.units
    assert units is not None, "the report needs unit-level data"
    units = units.with_columns(pl.lit(v, dtype=pl.Float64).alias(k) for k, v in params.items())
    frame = runner.compute(live.plan, runner.Data(units, data.detail))[0]
    wanted = [c for c in live.program.reads if c in frame.columns]
    return frame.select(*m.layout.keys, *[c for c in wanted if c not in m.layout.keys]).sort(
        list(m.layout.keys)
    )


def _tree(m: Methodology, weights: pl.DataFrame | None, period: object) -> dict[str, object]:
    """The framework as nested nodes with nominal shares and effective weights."""
    direct = tree(m)
    labels = {g.name: g.label for g in m.groups} | {i.name: i.label for i in m.indicators}
    share: dict[tuple[str, str], float | None] = {}
    effective: dict[str, float | None] = {}
    if weights is not None and weights.height:
        rows = weights
        if "period" in weights.columns and period is not None:
            rows = weights.filter(pl.col("period") == period)
        for r in rows.iter_rows(named=True):
            share[(r["group"], r["member"])] = r["weight"]
            effective[r["member"]] = r.get("effective_weight")
    top = m.index.group if m.index is not None and m.index.group else INDEX
    if top not in direct:  # no index: every group without a parent is a root
        parents = {x for mem in direct.values() for x in mem}
        roots = [g for g in direct if g not in parents]
        direct = {**direct, INDEX: tuple(roots)}
        top = INDEX

    def node(name: str, parent: str | None) -> dict[str, object]:
        out: dict[str, object] = {
            "name": name,
            "label": labels.get(name) or ("index" if name == INDEX else name),
            "kind": "group" if name in direct else "indicator",
            "share": share.get((parent, name)) if parent else 1.0,
            "effective": effective.get(name, 1.0 if parent is None else None),
        }
        if name in direct:
            out["children"] = [node(c, name) for c in direct[name]]
        return out

    return node(top, None)


def _formulas(m: Methodology) -> list[dict[str, str]]:
    """Every formula of the methodology, printed from its IR, with what it defines."""
    out: list[dict[str, str]] = []

    def add(section: str, name: str, expr: sympy.Basic, note: str = "") -> None:
        out.append({"section": section, "name": name, "mathml": equation(name, expr), "note": note})

    for ind in m.indicators:
        add("indicators", ind.name, ind.expr, ind.label or "")
    for ind in m.indicators:
        if ind.grain != grain.UNIT or ind.normalisation.method == "none":
            continue
        n = ind.normalisation
        what = n.method + (f", direction {ind.direction}" if n.method != "formula" else "")
        out.append(
            {
                "section": "normalisation",
                "name": norm_column(ind.name),
                "mathml": to_mathml(n.expr),
                "note": f"{what}; x is {ind.name}"
                + (" after treatment" if ind.treatment else "")
                + (" after imputation" if ind.imputation else ""),
            }
        )
    for g in m.groups:
        note = f"{g.aggregation} aggregation" + (
            f", weighting {g.weighting}" if g.weighting else ""
        )
        if g.coverage != "all":
            note += f", coverage {g.coverage}"
        add("groups", g.name, g.expr, note)
    if m.index is not None:
        add("index", "index", m.index.expr, m.index.label or "")
    for d in m.derived:
        add("derived", d.name, d.expr, d.label or "")
    for s in m.screening:
        add("screening", s.name, s.expr, s.label or "")
    return out


def _heatmap(d: Diagnosis, data: pl.DataFrame, period: str | None) -> dict[str, object]:
    """Pearson correlations of the variables and aggregates, latest period."""
    names = [c for c in data.columns if c != period and data.schema[c].is_float()]
    names = names[:HEATMAP_LIMIT]
    part = data
    if period is not None:
        part = data.filter(pl.col(period) == pl.col(period).max())
    exprs = [
        pl.corr(a, b).alias(f"{i}:{j}")
        for i, a in enumerate(names)
        for j, b in enumerate(names)
        if i < j
    ]
    got = part.select(exprs).row(0, named=True) if exprs else {}
    matrix: list[list[float | None]] = [[None] * len(names) for _ in names]
    for i in range(len(names)):
        matrix[i][i] = 1.0
        for j in range(i + 1, len(names)):
            r = got.get(f"{i}:{j}")
            value = None if r is None or not math.isfinite(r) else round(float(r), 4)
            matrix[i][j] = matrix[j][i] = value
    return {"names": names, "r": matrix}


def _diagnostics(d: Diagnosis, m: Methodology, frame: pl.DataFrame) -> dict[str, object]:
    fw = framework(m, d.stage)
    data = stage_frame(fw, frame)
    period = m.layout.period
    first = d.pca.filter(pl.col("component") == 1)
    return {
        "stage": str(d.stage),
        "statistics": _records(d.statistics),
        "cronbach": _records(d.cronbach),
        "pca": _records(first.select([c for c in first.columns if c != "component"])),
        "heatmap": _heatmap(d, data.drop(list(fw.keys)), None)
        if period is None
        else _heatmap(d, data.drop([k for k in fw.keys if k != period]), period),
        "availability": _records(d.availability.filter(pl.col("available") < 1).head(200)),
    }


def page_data(
    result: RunResult,
    data: runner.Data,
    live: live_mod.Live,
    diagnosis: Diagnosis,
    others: Sequence[RunResult] = (),
) -> dict[str, object]:
    """Everything the page shows, as JSON-able values."""
    m: Methodology = result.methodology
    lay = m.layout
    keys = list(lay.keys)
    frame: pl.DataFrame = result.frame.sort(keys)
    inputs = live_inputs(live, data)
    columns: dict[str, list[object]] = {}
    for c in frame.columns:
        columns[c] = _values(frame[c])
    for c in inputs.columns:
        if c not in columns:
            columns[c] = _values(inputs[c])
    compared = []
    for other in others:
        om: Methodology = other.methodology
        joined = frame.select(keys).join(
            other.frame.select(*keys, "index", "rank"),
            on=keys,
            how="left",
            maintain_order="left",
        )
        columns[f"rank@{om.meta.id}"] = _values(joined["rank"])
        columns[f"index@{om.meta.id}"] = _values(joined["index"])
        compared.append({"id": om.meta.id, "title": om.meta.title})
    periods = frame[lay.period].unique(maintain_order=False).sort().to_list() if lay.period else []
    latest = periods[-1] if periods else None
    unit_inds = [
        i for i in m.indicators if i.grain == grain.UNIT and norm_column(i.name) in frame.columns
    ]
    checks = [
        {
            "name": c.check.name,
            "label": c.check.label or "",
            "severity": str(c.check.severity),
            "mathml": to_mathml(c.check.expr),
            "tested": c.tested,
            "failed": c.failures.height,
            "rows": [" ".join(str(v) for v in row) for row in c.failures.head(10).iter_rows()],
        }
        for c in result.checks
    ]
    return {
        "title": m.meta.title,
        "id": m.meta.id,
        "version": m.meta.version,
        "description": m.meta.description,
        "authors": list(m.meta.authors),
        "references": [r.cite for r in m.meta.references],
        "unit": lay.unit,
        "period": lay.period,
        "labels": list(lay.labels),
        "n": frame.height,
        "periods": periods,
        "columns": columns,
        "nominal": {c: columns[c] for c in live.program.writes if c in columns},
        "indicators": [
            {
                "name": i.name,
                "label": i.label or i.name,
                "unit": i.unit,
                "direction": str(i.direction),
                "norm": norm_column(i.name),
            }
            for i in unit_inds
        ],
        "groups": [
            {
                "name": g.name,
                "label": g.label or g.name,
                "members": list(g.members),
                "aggregation": g.aggregation,
                "weighting": g.weighting,
            }
            for g in m.groups
        ],
        "index": None
        if m.index is None
        else {
            "label": m.index.label or "index",
            "group": m.index.group,
            "rounding": None
            if m.index.rounding is None
            else {"digits": m.index.rounding.digits, "mode": m.index.rounding.mode},
        },
        "ranking": {"descending": m.ranking.descending, "ties": m.ranking.ties},
        "classes": None
        if m.classes is None
        else {
            "labels": list(m.classes.labels),
            "bands": [
                {"label": b.label, "min": b.lower, "max": b.upper, "group": b.group}
                for b in m.classes.bands
            ],
            "closed": m.classes.closed,
            "quantiles": bool(m.classes.quantiles),
        },
        "tree": _tree(m, result.weights, latest),
        "weights": _records(result.weights) if result.weights is not None else [],
        "sliders": [
            {"group": s.group, "members": list(s.members), "nominal": list(s.nominal)}
            for s in live.sliders
        ],
        "switches": [
            {"parameter": s.parameter, "label": s.label, "options": list(s.options)}
            for s in live.switches
        ],
        "writes": list(live.program.writes),
        "formulas": _formulas(m),
        "checks": checks,
        "warnings": [d.message for d in result.warnings],
        "conventions": methodology_conventions(m),
        "diagnostics": _diagnostics(diagnosis, m, result.frame),
        "compared": compared,
    }
