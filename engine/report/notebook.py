"""HTML for Jupyter (``_repr_html_``): a result's summary, its top units and its warnings.

Kept short on purpose: a heading, one line of counts, the first :data:`TOP` units of the
last period by rank, the checks that fail and the first :data:`SHOWN` warnings. The full
tables are a call away (``to_polars()``). Every value is HTML-escaped.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

import polars as pl

from engine.report.format import column_texts

if TYPE_CHECKING:
    from engine.analysis.compare import Comparison
    from engine.api import ExplainResult, RunResult, SensitivityResult
    from engine.diagnostics import Diagnostic

__all__ = ["comparison_html", "explain_html", "html_table", "run_html", "sensitivity_html"]

TOP = 10
SHOWN = 5


def html_table(frame: pl.DataFrame, caption: str = "") -> str:
    """`frame` as an HTML table, each column formatted as a whole (as the terminal does:
    :mod:`engine.report.format`), numbers right-aligned."""
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    align = ["right" if frame.schema[c].is_numeric() else "left" for c in frame.columns]
    columns = [column_texts(frame.get_column(c)) for c in frame.columns]
    body = "".join(
        "<tr>"
        + "".join(f"<td style='text-align:{a}'>{escape(text)}</td>" for a, text in zip(align, row))
        + "</tr>"
        for row in zip(*columns)
    )
    cap = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _warnings(diagnostics: Sequence[Diagnostic]) -> str:
    if not diagnostics:
        return "<p>No warnings.</p>"
    items = "".join(f"<li>{escape(d.message)}</li>" for d in diagnostics[:SHOWN])
    more = f"<li>… and {len(diagnostics) - SHOWN} more</li>" if len(diagnostics) > SHOWN else ""
    return (
        f"<details><summary>{len(diagnostics)} warning(s)</summary><ul>{items}{more}</ul></details>"
    )


def _last_period(frame: pl.DataFrame, period: str | None) -> tuple[pl.DataFrame, str]:
    if not period or period not in frame.columns or frame.height == 0:
        return frame, ""
    last = frame[period].max()
    return frame.filter(pl.col(period) == last), f"{period} {last!s}"


def run_html(r: RunResult) -> str:
    from engine.report.results import describe_run

    m = r.methodology
    lay = m.layout
    part, when = _last_period(r.frame, lay.period)
    if "rank" in part.columns:
        part = part.sort("rank", lay.unit, nulls_last=True)
    shown = [c for c in (lay.unit, *lay.labels[:1], "index", "rank", "class") if c in part.columns]
    failing = [c for c in r.checks if not c.passed]
    checks = (
        "<ul>" + "".join(f"<li>{escape(c.describe())}</li>" for c in failing) + "</ul>"
        if failing
        else ""
    )
    caption = f"Top {min(TOP, part.height)} of {part.height}" + (f", {when}" if when else "")
    return (
        f"<div><strong>{escape(m.meta.title)}</strong>"
        f"<p><code>{escape(describe_run(r))}</code></p>"
        f"{html_table(part.select(shown).head(TOP), caption)}{checks}{_warnings(r.warnings)}</div>"
    )


def comparison_html(c: Comparison) -> str:
    part, when = _last_period(c.table, c.period)
    columns = [c.unit, *(f"rank_{i}" for i in c.ids), *(f"shift_{i}" for i in c.ids[1:])]
    caption = f"Top {min(TOP, part.height)} by the reference's rank" + (f", {when}" if when else "")
    agreement = c.agreement
    return (
        f"<div><strong>{escape(' vs '.join(c.ids))}</strong> "
        f"(reference: {escape(c.reference)})"
        f"{html_table(agreement, 'Rank agreement')}"
        f"{html_table(part.select(columns).head(TOP), caption)}{_warnings(c.warnings)}</div>"
    )


def sensitivity_html(s: SensitivityResult) -> str:
    a = s.analysis
    m = s.nominal.methodology
    part, when = _last_period(a.ranks, m.layout.period)
    part = part.sort("nominal_rank", nulls_last=True)
    caption = f"Rank intervals, top {min(TOP, part.height)}" + (f", {when}" if when else "")
    sobol = html_table(a.sobol, "Sobol indices") if a.sobol.height else ""
    return (
        f"<div><strong>{escape(m.meta.title)}</strong>: {a.replications} replications, "
        f"{a.runs} runs; uncertain: {escape(', '.join(a.factors))}"
        f"{html_table(part.head(TOP), caption)}{sobol}</div>"
    )


def explain_html(e: ExplainResult) -> str:
    from rich.console import Console

    from engine.report.explanation import print_explanation

    console = Console(record=True, width=100, file=io.StringIO(), soft_wrap=True)
    for x in e.explanations:
        print_explanation(x, e.title, console)
    return f"<pre>{escape(console.export_text())}</pre>"
