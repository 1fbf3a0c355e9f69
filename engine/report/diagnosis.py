"""The terminal summary of ``indexlab diagnose`` (without ``-o``): per group its alpha and
first principal component, the variables flagged as outliers or with little data, the
members that correlate negatively with their group, and the units with little data —
for the latest period; the full tables are written with ``-o``."""

from __future__ import annotations

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.analysis.diagnose import Diagnosis

#: COINr's get_stats default: a variable (or unit) with less data than this is flagged
LOW_AVAILABILITY = 0.65


def _latest(frame: pl.DataFrame, period: str | None) -> pl.DataFrame:
    if period is None or period not in frame.columns or frame.is_empty():
        return frame
    return frame.filter(pl.col(period) == pl.col(period).max())


def _num(v: object) -> str:
    return "—" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)


def print_diagnosis(
    d: Diagnosis, period: str | None, unit: str, console: Console | None = None
) -> None:
    """Print the summary of `d` (the latest `period`)."""
    console = console or Console(soft_wrap=False)
    stats = _latest(d.statistics, period)
    when = f" — {period} {stats[period][0]}" if period and stats.height else ""
    console.print(f"[bold]Diagnostics at the {d.stage} stage{escape(when)}[/bold]")
    groups = Table(title="groups", title_justify="left")
    for c in ("group", "k", "n", "alpha", "PC1 share"):
        groups.add_column(c)
    first = _latest(d.pca, period).filter(pl.col("component") == 1)
    share = dict(zip(first["group"], first["variance_share"]))
    for row in _latest(d.cronbach, period).iter_rows(named=True):
        groups.add_row(
            escape(row["group"]),
            str(row["k"]),
            str(row["n"]),
            _num(row["alpha"]),
            _num(share.get(row["group"])),
        )
    console.print(groups)
    outliers = stats.filter(pl.col("outlier"))["name"].to_list()
    sparse = stats.filter(pl.col("available") < LOW_AVAILABILITY)["name"].to_list()
    console.print(
        f"{stats.height} variables; outliers (|skewness| > 2 and kurtosis > 3.5): "
        + (escape(", ".join(outliers)) if outliers else "none")
    )
    if sparse:
        console.print(f"less than {LOW_AVAILABILITY:.0%} available: " + escape(", ".join(sparse)))
    negative = _latest(d.correlations, period).filter(
        (pl.col("relation") == "parent") & (pl.col("method") == "pearson") & (pl.col("r") < 0)
    )
    if negative.height:
        console.print(
            "negative Pearson correlation with the parent group: "
            + escape(
                ", ".join(
                    f"{x} ({y}: {r:.2f})" for x, y, r in negative.select("x", "y", "r").iter_rows()
                )
            )
        )
    low = _latest(d.availability, period).filter(pl.col("available") < LOW_AVAILABILITY)
    if low.height:
        console.print(
            f"units with less than {LOW_AVAILABILITY:.0%} of the variables: "
            + escape(", ".join(str(u) for u in low[unit].to_list()))
        )
    console.print("[dim]write every table with -o DIR (and --excel for one workbook)[/dim]")
