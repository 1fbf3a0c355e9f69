"""What every API result shares (tables out, pandas, files) and the tables of a workbook.

A result is a frozen dataclass that also derives from :class:`TableResult`: it names its
main table (``to_polars``) and its sheets (``sheets``: name -> DataFrame, in order), and
gets ``to_pandas()`` and ``write(path)``. ``write`` to ``.xlsx`` gives one workbook with
every sheet (:mod:`engine.io.workbook`); any other extension writes the main table.

The sheets of a run follow COINr's ``export_to_excel``: the results, the detail rows, the
checks and their failing rows, the warnings, weights and effective weights, imputed and
treated points, and the methodology itself (every input, indicator, group, weight, the
index, classes, derived outputs, checks, screening rules and the conventions used).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.extras import Extra, require

if TYPE_CHECKING:
    from engine.analysis.compare import Comparison
    from engine.api import ExplainResult, RunResult, SensitivityResult
    from engine.diagnostics import Diagnostic
    from engine.format.model import Methodology

__all__ = [
    "TableResult",
    "comparison_sheets",
    "describe_run",
    "diagnostics_table",
    "explain_table",
    "methodology_table",
    "run_sheets",
    "sensitivity_sheets",
]


class TableResult:
    """``to_pandas()`` and ``write(path)`` from a result's ``to_polars()`` and ``sheets()``."""

    def to_polars(self) -> pl.DataFrame:
        raise NotImplementedError

    def sheets(self) -> dict[str, pl.DataFrame]:
        """The tables of the result, by sheet name, in workbook order."""
        return {"results": self.to_polars()}

    def source_files(self) -> tuple[Path, ...]:
        """The files the result was computed from (its methodology and data files):
        ``write`` never overwrites them."""
        return ()

    def to_pandas(self) -> Any:
        """The main table as a pandas DataFrame (needs the ``pandas`` extra)."""
        require("pandas", Extra.PANDAS, "to_pandas()")
        require("pyarrow", Extra.PANDAS, "to_pandas()")
        return self.to_polars().to_pandas()

    def write(self, path: str | Path, *, protect: Sequence[str | Path] = ()) -> Path:
        """Write to `path` by its extension: ``.xlsx`` one workbook with every sheet;
        ``.csv``, ``.parquet``, ``.json`` the main table. Atomic; never over the result's
        own input files (:meth:`source_files`) nor those in `protect`."""
        from engine.io import write

        paths = [*self.source_files(), *(Path(p) for p in protect)]
        target = write.check_target(path, protect=paths)
        if target.suffix.lower() == ".xlsx":
            return write.write_workbook(self.sheets(), target, protect=paths)
        return write.write_table(self.to_polars(), target, protect=paths)


# --------------------------------------------------------------------------- text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe_run(r: RunResult) -> str:
    """One line: the methodology, rows, periods, checks and warnings."""
    lay = r.methodology.layout
    parts = [_plural(r.frame.height, "row")]
    if lay.period and lay.period in r.frame.columns:
        parts.append(_plural(r.frame[lay.period].n_unique(), "period"))
    if r.checks:
        failing = sum(not c.passed for c in r.checks)
        parts.append(_plural(len(r.checks), "check") + (f" ({failing} fail)" if failing else ""))
    parts.append(_plural(len(r.warnings), "warning"))
    return f"RunResult({r.methodology.meta.id!r}: {', '.join(parts)})"


# --------------------------------------------------------------------------- tables


def diagnostics_table(diagnostics: Sequence[Diagnostic]) -> pl.DataFrame:
    """One row per warning or problem: severity, code, message, where, expected, hint."""
    rows = [
        {
            "severity": str(d.severity),
            "code": str(d.code),
            "message": d.message,
            "where": str(d.location) if d.location else None,
            "expected": d.expected,
            "hint": d.hint,
        }
        for d in diagnostics
    ]
    schema = dict.fromkeys(("severity", "code", "message", "where", "expected", "hint"), pl.String)
    return pl.DataFrame(rows, schema=schema)


def _checks_tables(r: RunResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each check's outcome, and every failing row (keys, both sides, difference)."""
    keys = list(r.methodology.layout.keys)
    summary = pl.DataFrame(
        [
            {
                "check": c.check.name,
                "severity": str(c.check.severity),
                "formula": c.check.formula.text,
                "tested": c.tested,
                "failing": c.failures.height,
                "status": "ok" if c.passed else "fails",
            }
            for c in r.checks
        ],
        schema={
            "check": pl.String,
            "severity": pl.String,
            "formula": pl.String,
            "tested": pl.Int64,
            "failing": pl.Int64,
            "status": pl.String,
        },
    )
    parts = []
    for c in r.checks:
        if c.passed:
            continue
        f = c.failures
        sides = [col for col in f.columns if col not in keys and col != "difference"]
        parts.append(
            f.select(
                pl.lit(c.check.name).alias("check"),
                *keys,
                (
                    pl.col(sides[0]).cast(pl.Float64)
                    if len(sides) > 0
                    else pl.lit(None, pl.Float64)
                ).alias("left"),
                (
                    pl.col(sides[1]).cast(pl.Float64)
                    if len(sides) > 1
                    else pl.lit(None, pl.Float64)
                ).alias("right"),
                (
                    pl.col("difference") if "difference" in f.columns else pl.lit(None, pl.Float64)
                ).alias("difference"),
                pl.lit(sides[0] if sides else None, pl.String).alias("left is"),
                pl.lit(sides[1] if len(sides) > 1 else None, pl.String).alias("right is"),
            )
        )
    failures = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
    return summary, failures


def methodology_table(m: Methodology) -> pl.DataFrame:
    """The methodology as rows: section, name, label, formula or method, weight, unit."""
    from engine.formula.render import show
    from engine.report.summary import methodology_conventions

    rows: list[dict[str, object]] = []

    def add(section: str, name: str, definition: object = None, **more: object) -> None:
        rows.append({"section": section, "name": name, "definition": definition, **more})

    add("methodology", m.meta.id, m.meta.title, label=m.meta.description)
    if m.meta.version:
        add("methodology", "version", m.meta.version)
    for ref in m.meta.references:
        add("reference", ref.cite, ref.url or ref.doi, label=ref.note)
    lay = m.layout
    add("data", "unit", lay.unit)
    if lay.period:
        add("data", "period", lay.period)
    if lay.detail:
        add("data", "detail", ", ".join(lay.detail))
    for i in m.inputs:
        add("input", i.name, "optional" if i.optional else None, label=i.label, unit=i.unit)
    for ind in m.indicators:
        n = ind.normalisation
        params = ", ".join(f"{k}={v}" for k, v in n.params)
        add(
            "indicator",
            ind.name,
            ind.formula.text,
            label=ind.label,
            unit=ind.unit,
            direction=str(ind.direction),
            normalisation=f"{n.method}({params})" if params else n.method,
            imputation=", ".join(f"{k}={v}" for k, v in ind.imputation) or None,
            treatment=", ".join(f"{k}={v}" for k, v in ind.treatment) or None,
        )
    for g in m.groups:
        total = sum(float(w) for w in g.weights) if all(w.is_Number for w in g.weights) else None
        for member, w in zip(g.members, g.weights):
            weight = float(w) / total if total else None
            add(
                "group member",
                f"{g.name} / {member}",
                g.formula.text if g.formula else g.aggregation,
                label=g.label,
                weight=weight,
                weight_as_written=show(w),
            )
    if m.index is not None:
        add("index", "index", m.index.formula.text if m.index.formula else show(m.index.expr))
    if m.classes is not None:
        for b in m.classes.bands:
            add("class", b.label, f"[{b.lower:g}, {b.upper:g}]", label=b.group)
        for q in m.classes.quantiles:
            add("class", q, "quantile class")
    for d in m.derived:
        add("derived", d.name, d.formula.text, label=d.label)
    for c in m.checks:
        add("check", c.name, c.formula.text, label=c.label or c.description)
    for s in m.screening:
        add("screening", s.name, s.formula.text, label=s.label or s.description)
    for line in methodology_conventions(m):
        add("convention", "", line)
    columns = ("section", "name", "label", "definition", "unit", "direction", "normalisation")
    more = ("imputation", "treatment", "weight", "weight_as_written")
    schema: dict[str, Any] = {c: pl.String for c in (*columns, *more)}
    schema["weight"] = pl.Float64
    return pl.DataFrame(
        [{c: (r.get(c) if c == "weight" else _text(r.get(c))) for c in schema} for r in rows],
        schema=schema,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def run_sheets(r: RunResult) -> dict[str, pl.DataFrame]:
    checks, failures = _checks_tables(r)
    sheets = {"results": r.frame}
    if r.detail is not None:
        sheets["detail"] = r.detail
    sheets["checks"] = checks
    if failures.height:
        sheets["check failures"] = failures
    sheets["warnings"] = diagnostics_table(r.warnings)
    if r.weights is not None and r.weights.height:
        sheets["weights"] = r.weights
    if r.adjustments is not None and r.adjustments.height:
        sheets["adjustments"] = r.adjustments
    if r.availability is not None:
        sheets["availability"] = r.availability
    sheets["methodology"] = methodology_table(r.methodology)
    return sheets


def comparison_sheets(c: Comparison) -> dict[str, pl.DataFrame]:
    """The side-by-side table, agreement, class transitions (stacked) and the diff."""
    from engine.analysis.diff import render_changes

    sheets = {"comparison": c.table, "agreement": c.agreement}
    parts = []
    for t in c.transitions:
        label = t.matrix.columns[0]
        parts.append(
            t.matrix.rename({label: "from \\ to"}).select(
                pl.lit(t.other).alias("methodology"),
                pl.lit("all" if t.period is None else str(t.period)).alias("period"),
                pl.all(),
            )
        )
    if parts:
        sheets["transitions"] = pl.concat(parts, how="diagonal_relaxed")
    diff_rows = [
        {"reference": c.reference, "methodology": other, "difference": line}
        for other, changes in c.diff.items()
        for line in render_changes(changes)
    ]
    sheets["differences"] = pl.DataFrame(
        diff_rows, schema=dict.fromkeys(("reference", "methodology", "difference"), pl.String)
    )
    sheets["warnings"] = diagnostics_table(c.warnings)
    for r in c.results:
        sheets[f"methodology {r.methodology.meta.id}"] = methodology_table(r.methodology)
    return sheets


def sensitivity_sheets(s: SensitivityResult) -> dict[str, pl.DataFrame]:
    a = s.analysis
    sheets = {"ranks": a.ranks}
    if a.classes.height:
        sheets["classes"] = a.classes
    if a.sobol.height:
        sheets["sobol"] = a.sobol
    if s.analytic.derivatives.height:
        sheets["derivatives"] = s.analytic.derivatives
    if s.analytic.tipping.height:
        sheets["tipping points"] = s.analytic.tipping
    sheets["design"] = pl.DataFrame(
        {
            "item": ["replications (N)", "runs", "factors", "analytic note"],
            "value": [str(a.replications), str(a.runs), ", ".join(a.factors), s.analytic.note],
        }
    )
    sheets["methodology"] = methodology_table(s.nominal.methodology)
    return sheets


def explain_table(e: ExplainResult) -> pl.DataFrame:
    """One row per period and step."""
    rows = [
        {
            "unit": x.unit,
            "period": _text(x.period),
            "column": st.column,
            "kind": st.kind,
            "formula": st.formula_text,
            "computed as": st.symbolic,
            "with values": st.substituted,
            "value": _text(st.value),
            "note": st.note or None,
        }
        for x in e.explanations
        for st in x.steps
    ]
    names = ("unit", "period", "column", "kind", "formula", "computed as", "with values")
    return pl.DataFrame(rows, schema=dict.fromkeys((*names, "value", "note"), pl.String))
