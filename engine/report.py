"""What a run reports besides its table: check results and warnings.

A check is a condition per unit and period; the engine computed it as the boolean
column ``check.<name>`` in the same query. A row fails when the condition is false; a
row where a side is missing is not tested. For a comparison (``a == b``) both sides are
shown for every failing row so that a reader sees printed and recomputed values.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sympy

from engine import ir
from engine.compile import Context, to_polars
from engine.diagnostics import Code, Diagnostic, Severity
from engine.model import Check
from engine.plan import Plan
from engine.render import show


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


def evaluate_checks(plan: Plan, frame: pl.DataFrame) -> tuple[CheckResult, ...]:
    m = plan.methodology
    keys = list(m.layout.keys)
    out = []
    for c in m.checks:
        col = pl.col("check." + c.name)
        tested = frame.select(col.is_not_null().sum()).item()
        cols = [pl.col(k) for k in keys]
        if isinstance(c.expr, sympy.core.relational.Relational) and ir.free_names(c.expr) <= set(frame.columns):
            ctx = Context({}, m.layout.unit, m.layout.period)
            lhs, rhs = to_polars(c.expr.lhs, ctx), to_polars(c.expr.rhs, ctx)
            cols += [lhs.alias(show(c.expr.lhs)), rhs.alias(show(c.expr.rhs))]
            cols += [(lhs - rhs).alias("difference")]
        # sides are computed on the whole frame: at() reads other periods' rows
        failures = frame.select(cols + [col.alias("__ok")]).filter(pl.col("__ok").not_()).drop("__ok")
        out.append(CheckResult(c, tested, failures))
    return tuple(out)


def missing_index_warnings(plan: Plan, frame: pl.DataFrame) -> tuple[Diagnostic, ...]:
    """One warning per unit and period without an index, naming the missing inputs."""
    m = plan.methodology
    if m.index is None:
        return ()
    keys = list(m.layout.keys)
    inputs = [i.name for i in m.inputs if i.name in frame.columns]
    rows = frame.filter(pl.col("index").is_null()).select(keys + inputs)
    out = []
    for row in rows.iter_rows(named=True):
        unit = " ".join(str(row[k]) for k in keys)
        gaps = [n for n in inputs if row[n] is None]
        why = "missing input: " + ", ".join(gaps) if gaps else "a member is missing"
        out.append(Diagnostic(Code.MISSING_VALUE, f"no index for {unit} ({why}); it gets no rank and no class",
                              severity=Severity.WARNING))
    if m.classes is not None and "class" in frame.columns:
        outside = frame.filter(pl.col("index").is_not_null() & pl.col("class").is_null())
        for row in outside.select(keys + ["index"]).iter_rows(named=True):
            unit = " ".join(str(row[k]) for k in keys)
            out.append(Diagnostic(Code.CLASS_BANDS, f"index {row['index']} of {unit} is outside every class band",
                                  severity=Severity.WARNING))
    return tuple(out)


def conventions(plan: Plan) -> list[str]:
    """The conventions this run used, stated with its output."""
    m = plan.methodology
    lines = []
    scope = "within each period" if m.layout.period else "over all units"
    lines.append(f"statistics (max, min, mean, sd) are taken {scope} unless pooled, skipping missing values")
    r = m.ranking
    if m.index is not None:
        lines.append(f"rank: {'descending' if r.descending else 'ascending'} on the index, ties '{r.ties}'")
    if m.index is not None and m.index.rounding:
        rd = m.index.rounding
        lines.append(f"index rounded to {rd.digits} decimals ({rd.mode.replace('_', '-')}) before ranking "
                     "and classing")
    if m.classes:
        if m.classes.closed == "lower":
            lines.append("class bands include their lower bound ([min, max); the top band [min, max])"
                         f", tolerance {m.classes.tolerance:g}")
        else:
            lines.append("class bands include their upper bound ((min, max]; the bottom band [min, max])"
                         f", tolerance {m.classes.tolerance:g}")
    return lines
