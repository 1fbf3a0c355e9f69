"""Readable terminal output of a run: the result table and the checks' report (rich)."""

from __future__ import annotations

import json
import sys

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.api import RunResult
from engine.plan import build_plan
from engine.report.summary import conventions

MAX_PERIODS = 3
MAX_ROWS = 60


def _fmt(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) >= 10 or v == 0 else f"{v:.4g}"
    return str(v)


def print_result(result: RunResult, console: Console | None = None) -> None:
    """Per period, the units by rank with index, class and groups; then the conventions."""
    console = console or Console(soft_wrap=False)
    m = result.methodology
    lay = m.layout
    if m.index is not None:
        body = [g.name for g in m.groups] + ["index", "rank", "class"]
    else:  # indicators only: the first few unit-level ones
        body = [i.name for i in m.indicators if i.grain == "unit"][:8]
    shown = [
        c
        for c in ([lay.unit] + body + [d.name for d in m.derived] + [s.name for s in m.screening])
        if c in result.frame.columns
    ]
    order = ["rank", lay.unit] if m.index is not None else [lay.unit]
    periods = (
        result.frame[lay.period].unique(maintain_order=True).to_list() if lay.period else [None]
    )
    if len(periods) > MAX_PERIODS:
        console.print(
            f"[dim]{len(periods)} periods: showing the last {MAX_PERIODS}; every period is in the "
            "output file (-o)[/dim]"
        )
        periods = periods[-MAX_PERIODS:]
    for p in periods:
        part = result.frame if p is None else result.frame.filter(pl.col(lay.period) == p)
        part = part.sort(order, nulls_last=True)
        title = m.meta.title + (f" — {lay.period} {p}" if p is not None else "")
        table = Table(title=title, title_justify="left")
        for c in shown:
            table.add_column(c, justify="left" if c in (lay.unit, "class") else "right")
        for row in part.select(shown).head(MAX_ROWS).iter_rows():
            table.add_row(*(_fmt(v) for v in row))
        if part.height > MAX_ROWS:
            table.caption = (
                f"first {MAX_ROWS} of {part.height} units; all are in the output file (-o)"
            )
        console.print(table)
    if result.adjustments is not None and result.adjustments.height:
        console.print(_table("Imputed and treated points", result.adjustments))
    if result.weights is not None and result.weights.height and any(g.weighting for g in m.groups):
        console.print(_table("Weights (data-driven weights per period)", result.weights))
    for line in conventions(build_plan(m)):
        console.print(f"[dim]convention: {escape(line)}[/dim]")


def _table(title: str, frame: pl.DataFrame) -> Table:
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(col, justify="left" if frame[col].dtype == pl.String else "right")
    for row in frame.iter_rows():
        table.add_row(*(_fmt(v) for v in row))
    return table


def print_checks(result: RunResult, *, json_format: bool = False) -> None:
    """The checks' report on stderr: each check, and every failing unit and period."""
    if not result.checks:
        return
    if json_format:
        payload = [
            {
                "check": c.check.name,
                "severity": str(c.check.severity),
                "formula": c.check.formula.text,
                "tested": c.tested,
                "failures": c.failures.to_dicts(),
            }
            for c in result.checks
        ]
        sys.stderr.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    console = Console(stderr=True, soft_wrap=False)
    for c in result.checks:
        style = "green" if c.passed else ("red" if c.check.severity == "error" else "yellow")
        console.print(f"[{style}]{escape(c.describe())}[/{style}]")
        if c.passed:
            continue
        table = Table(show_edge=False, pad_edge=False)
        for col in c.failures.columns:
            table.add_column(col, justify="left" if c.failures[col].dtype == pl.String else "right")
        for row in c.failures.iter_rows():
            table.add_row(*(_fmt(v) if not isinstance(v, float) else f"{v:.6g}" for v in row))
        console.print(table)


def print_sensitivity(
    result: object, analytic: object, m: object, console: Console | None = None
) -> None:
    """Rank intervals, class probabilities, Sobol indices and tipping points."""
    console = console or Console(soft_wrap=False)
    console.print(
        f"[bold]{m.meta.title}[/bold]: {result.replications} replications per sample, "  # type: ignore[attr-defined]
        f"{result.runs} runs; uncertain choices: {', '.join(result.factors)}"
    )  # type: ignore[attr-defined]
    console.print(_table("Ranks: nominal, and over the replications", result.ranks))  # type: ignore[attr-defined]
    if result.classes.height:  # type: ignore[attr-defined]
        console.print(_table("Probability of each class", result.classes))  # type: ignore[attr-defined]
    if result.sobol.height:  # type: ignore[attr-defined]
        console.print(
            _table("Sobol indices of the mean absolute rank shift (5-95 % bootstrap)", result.sobol)
        )  # type: ignore[attr-defined]
    if analytic.tipping.height:  # type: ignore[attr-defined]
        console.print(
            _table("Smallest change of one weight that changes a rank or a class", analytic.tipping)
        )  # type: ignore[attr-defined]
    if analytic.note:  # type: ignore[attr-defined]
        console.print(f"[dim]analytic sensitivities: {escape(analytic.note)}[/dim]")  # type: ignore[attr-defined]
