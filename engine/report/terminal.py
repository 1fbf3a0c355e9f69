"""What the command line prints: result tables, checks, comparisons, sensitivity (rich).

Rules every printer here follows:

* **Width.** Tables fit the console (80 columns when it is not a terminal): a table
  that would need more than its minimum readable width drops the columns that matter
  least (groups before index, rank and class) and says which, in its caption; long
  cells wrap or end in ``…`` inside their column. Rich never draws past the width.
* **Numbers.** A column is formatted as a whole, one number of decimals per kind of
  value (:mod:`engine.report.format`).
* **Levels.** Diagnostics and failing checks are one style, ``warning[code]: …`` or
  ``error[code]: …`` on stderr; passing checks are one dim summary line, never a
  "warning … ok".
* **Progress.** :func:`progress` shows a transient bar on stderr for long work, and
  nothing with ``-q`` or when stderr is not a terminal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.diagnostics import Code
from engine.report.check_lines import headline, passed_line
from engine.report.format import Kind, decimals_of, formatter, kind_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.analysis.compare import Comparison, Transition
    from engine.analysis.derivatives import Analytic
    from engine.analysis.diff import Change
    from engine.analysis.sensitivity import Sensitivity
    from engine.api import RunResult
    from engine.format.model import Methodology

__all__ = [
    "ResultLayout",
    "fit_columns",
    "frame_table",
    "print_checks",
    "print_comparison",
    "print_result",
    "print_sensitivity",
    "progress",
]

MAX_PERIODS = 3
MAX_ROWS = 60
MIN_CELL = 7  # the narrowest a numeric column may get before columns are dropped
MAX_HEADER = 12  # a longer header word folds over lines


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False, highlight=False)


def fit_columns(
    columns: Sequence[str], width: int, keep: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The columns that fit in `width` (each at least MIN_CELL wide, or its header's
    longest word up to MAX_HEADER: longer headers fold), dropping from the end of
    `columns` but never those in `keep`; and the columns dropped.

    >>> fit_columns(["unit", "a", "b", "c", "index"], 31, keep=["unit", "index"])
    (['unit', 'a', 'index'], ['b', 'c'])
    """
    shown = list(columns)
    dropped: list[str] = []

    def need(cols: Sequence[str]) -> int:
        # a cell: its text plus one space of padding each side, plus one border
        words = [max(MIN_CELL, min(MAX_HEADER, *(len(w) for w in c.split()))) for c in cols]
        return sum(w + 3 for w in words) + 1

    while need(shown) > width:
        candidates = [c for c in shown if c not in keep]
        if not candidates:
            break
        shown.remove(candidates[-1])
        dropped.insert(0, candidates[-1])
    return shown, dropped


def frame_table(
    frame: pl.DataFrame,
    title: str = "",
    *,
    kinds: dict[str, Kind] | None = None,
    left: Sequence[str] = (),
    significant: int = 4,
    together: Sequence[str] = (),
) -> Table:
    """A rich table of `frame`, each column formatted as a whole (raw values with
    `significant` digits); the columns in `together` (values of one kind, such as both
    sides of a check and their difference) share the most decimals any of them needs.
    Text columns and those in `left` align left, numbers right."""
    table = Table(title=title or None, title_justify="left")
    kinds = kinds or {}
    shared = [
        decimals_of(frame.get_column(c), kinds.get(c), significant=significant) for c in together
    ]
    common = max((d for d in shared if d is not None), default=None)
    columns = []
    for name in frame.columns:
        series = frame.get_column(name)
        numeric = series.dtype.is_numeric() and name not in left
        table.add_column(
            escape(name), justify="right" if numeric else "left", overflow="fold", min_width=3
        )
        decimals = common if name in together else None
        text = formatter(series, kinds.get(name), significant=significant, decimals=decimals)
        columns.append([escape(text(v)) for v in series.to_list()])
    for row in zip(*columns):
        table.add_row(*row)
    return table


# --------------------------------------------------------------------------- a run


@dataclasses.dataclass(frozen=True)
class ResultLayout:
    """What the result table shows of a methodology: its title, unit and period, the
    candidate columns in order (unit, groups and index, derived outputs, screening
    rules), which are scores (groups), whether weights are data-driven, and the
    conventions stated under the table. Plain data: the plan cache keeps it
    (:mod:`engine.fastrun`), so that printing needs neither sympy nor the plan."""

    title: str
    unit: str
    period: str | None
    columns: tuple[str, ...]
    scores: tuple[str, ...]
    data_weights: bool
    conventions: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultLayout:
        return cls(
            str(data["title"]),
            str(data["unit"]),
            data["period"],
            tuple(data["columns"]),
            tuple(data["scores"]),
            bool(data["data_weights"]),
            tuple(data["conventions"]),
        )

    @classmethod
    def of(cls, m: Methodology) -> ResultLayout:
        from engine.report.summary import methodology_conventions

        lay = m.layout
        if m.index is not None:
            body = [g.name for g in m.groups] + ["index", "rank", "class"]
        else:  # indicators only: the first few unit-level ones
            body = [i.name for i in m.indicators if i.grain == "unit"][:8]
        columns = (lay.unit, *body, *(d.name for d in m.derived), *(s.name for s in m.screening))
        return cls(
            m.meta.title,
            lay.unit,
            lay.period,
            columns,
            tuple(g.name for g in m.groups),
            any(g.weighting for g in m.groups),
            tuple(methodology_conventions(m)),
        )


def print_result(
    result: RunResult, console: Console | None = None, layout: ResultLayout | None = None
) -> None:
    """Per period, the units by rank with groups, index, rank and class; then weights,
    adjustments and the conventions used. `layout` is the methodology's
    (:meth:`ResultLayout.of`, the default)."""
    console = console or _console()
    view = layout or ResultLayout.of(result.methodology)
    scores = set(view.scores)
    wanted = [c for c in view.columns if c in result.frame.columns]
    # kept at any width: unit, index, rank, class; then derived outputs and screening
    # rules (results of their own); groups (intermediate scores) are dropped first
    keep = [c for c in (view.unit, "index", "rank", "class") if c in wanted]
    order = keep + [c for c in wanted if c not in keep and c not in scores]
    order += [c for c in wanted if c in scores and c not in keep]
    fitted, dropped = fit_columns(order, console.width, keep)
    shown = [c for c in wanted if c in fitted]
    kinds = {c: (Kind.SCORE if c in scores else kind_of(c, scores)) for c in shown}
    sort = ["rank", view.unit] if "rank" in result.frame.columns else [view.unit]
    period = view.period
    periods = result.frame[period].unique(maintain_order=True).to_list() if period else [None]
    if len(periods) > MAX_PERIODS:
        console.print(
            f"[dim]{len(periods)} periods: showing the last {MAX_PERIODS}; every period is in "
            "the output file (-o)[/dim]"
        )
        periods = periods[-MAX_PERIODS:]
    for p in periods:
        part = result.frame if period is None else result.frame.filter(pl.col(period) == p)
        part = part.sort(sort, nulls_last=True)
        title = view.title + (f" — {period} {p}" if p is not None else "")
        table = frame_table(part.select(shown).head(MAX_ROWS), title, kinds=kinds, left=["class"])
        notes = []
        if part.height > MAX_ROWS:
            notes.append(f"first {MAX_ROWS} of {part.height} units")
        if dropped:
            notes.append("not shown at this width: " + ", ".join(dropped))
        if notes:
            table.caption = escape("; ".join(notes) + " (all in the output file, -o)")
        console.print(table)
    if result.adjustments is not None and result.adjustments.height:
        console.print(frame_table(result.adjustments, "Imputed and treated points"))
    if result.weights is not None and result.weights.height and view.data_weights:
        console.print(frame_table(result.weights, "Weights (data-driven weights per period)"))
    for line in view.conventions:
        console.print(f"[dim]convention: {escape(line)}[/dim]")


def print_checks(result: RunResult) -> None:
    """The checks' report on stderr: each failing check in the diagnostics' style with its
    rows (the first ``MAX_ROWS`` of them in the data's key order; ``--format json`` has
    every one: :func:`engine.report.check_lines.checks_json`), then one line for the
    checks that pass."""
    if not result.checks:
        return
    console = _console(stderr=True)
    for c in result.checks:
        if c.passed:
            continue
        level = str(c.check.severity)
        colour = "red" if level == "error" else "yellow"
        console.print(f"[{colour}]{level}\\[{Code.CHECK_FAILED}][/{colour}]: {escape(headline(c))}")
        keys = list(result.methodology.layout.keys)
        # printed and recomputed values differ in the last digits: six significant digits,
        # and both sides as many decimals as their difference needs
        values = [col for col in c.failures.columns if col not in keys]
        table = frame_table(c.failures.head(MAX_ROWS), left=keys, significant=6, together=values)
        if c.failures.height > MAX_ROWS:  # a terminal is not the place for thousands of rows
            table.caption = (
                f"first {MAX_ROWS} of {c.failures.height:,} failing rows "
                "(all of them: --format json)"
            )
        console.print(table)
    passed = passed_line(result.checks)
    if passed is not None:
        console.print(f"[dim]{escape(passed)}[/dim]")


# --------------------------------------------------------------------------- compare


def print_comparison(c: Comparison, *, diff: bool = False, console: Console | None = None) -> None:
    """The summary first (legend, agreement, how many units move), then per period the
    side-by-side table, the class transitions in the methodologies' own class order, and
    the differences in meaning last, listed only when `diff` is true."""
    console = console or _console()
    number = {id_: str(k) for k, id_ in enumerate(c.ids, start=1)}
    for id_, path in zip(c.ids, c.paths):
        role = " (reference)" if id_ == c.reference else ""
        where = f": {escape(str(path))}" if path else ""
        console.print(f"[bold]{number[id_]}[/bold] = {escape(id_)}{role}{where}")
    _print_summary(c, number, console)
    periods = c.table[c.period].unique(maintain_order=True).to_list() if c.period else [None]
    for p in periods:
        part = c.table if c.period is None else c.table.filter(pl.col(c.period) == p)
        _print_side_by_side(c, part, number, p, console)
    console.print(
        "[dim]shift = rank under the methodology - rank under the reference "
        "(negative: moves up)[/dim]"
    )
    for t in c.transitions:
        console.print(_transition_table(t, c.period, number))
    for id_, changes in c.diff.items():
        _print_changes(c.reference, id_, changes, diff, console)


def _transition_table(t: Transition, period: str | None, number: dict[str, str]) -> Table:
    """The class transitions of one pair as a table: only the classes that occur, the
    units that keep their class in bold on the diagonal."""
    when = "all periods" if t.period is None else f"{period} {t.period}"
    m = t.matrix
    used_cols = [col for col in m.columns[1:] if m[col].sum() > 0]
    used = m.filter(pl.sum_horizontal(m.columns[1:]) > 0) if len(m.columns) > 1 else m
    table = Table(
        title=f"Class transitions, {escape(when)} ({t.total} units): "
        f"rows {number[t.reference]}, columns {number[t.other]}",
        title_justify="left",
    )
    table.add_column(f"{number[t.reference]} \\ {number[t.other]}")
    for col in used_cols:
        table.add_column(escape(col), justify="right")
    for label, *counts in used.select(m.columns[0], *used_cols).iter_rows():
        cells = [escape(str(label))]
        for col, n in zip(used_cols, counts):
            text = str(n) if n else "·"
            cells.append(f"[bold]{text}[/bold]" if col == label and n else text)
        table.add_row(*cells)
    return table


def _print_changes(
    reference: str, other: str, changes: Sequence[Change], listed: bool, console: Console
) -> None:
    """How many differences in meaning there are from `reference` to `other`; the
    differences themselves when `listed`."""
    from engine.analysis.diff import render_changes

    head = (
        f"[bold]{escape(reference)} → {escape(other)}[/bold]: {len(changes)} "
        f"difference{'s' if len(changes) != 1 else ''} in meaning"
    )
    if not listed:
        console.print(head + (" (--diff lists them)" if changes else ""))
        return
    console.print(head)
    for line in render_changes(changes):
        console.print("  " + escape(line))


def _print_summary(c: Comparison, number: dict[str, str], console: Console) -> None:
    rows = []
    keys = [c.period] if c.period else []
    for id_ in c.ids[1:]:
        shift = pl.col(f"shift_{id_}")
        moved = c.table.group_by(keys or pl.lit(0)).agg(
            (shift != 0).sum().alias("moved"),
            shift.abs().max().alias("largest"),
            shift.abs().mean().alias("mean"),
        )
        agree = c.agreement.filter(pl.col("a") == c.reference, pl.col("b") == id_)
        joined = agree.join(moved, on=keys) if keys else pl.concat([agree, moved], how="horizontal")
        for row in joined.iter_rows(named=True):
            rows.append(
                {
                    **({c.period: row[c.period]} if c.period else {}),
                    "vs": f"{number[id_]} vs 1",
                    "units": row["n"],
                    "Spearman ρ": row["spearman"],
                    "Kendall τ-b": row["kendall_tau_b"],
                    "units moved": row["moved"],
                    "mean |shift|": row["mean"],
                    "largest |shift|": row["largest"],
                }
            )
    if not rows:
        return
    frame = pl.DataFrame(rows)
    table = frame_table(
        frame,
        "Summary: agreement with the reference and units that move",
        kinds={
            "Spearman ρ": Kind.STATISTIC,
            "Kendall τ-b": Kind.STATISTIC,
            "mean |shift|": Kind.SCORE,
            "largest |shift|": Kind.RANK,
        },
        left=keys,
    )
    console.print(table)
    if len(c.ids) > 2:  # agreement between the other pairs too
        others = c.agreement.filter(pl.col("a") != c.reference)
        console.print(frame_table(others, "Agreement between the other methodologies", left=keys))


def _print_side_by_side(
    c: Comparison, part: pl.DataFrame, number: dict[str, str], p: object, console: Console
) -> None:
    columns = [c.unit]
    names = {c.unit: c.unit}
    for id_ in c.ids:
        for what in ("index", "rank", "class"):
            columns.append(f"{what}_{id_}")
            names[f"{what}_{id_}"] = f"{what} {number[id_]}"
    for id_ in c.ids[1:]:
        columns.append(f"shift_{id_}")
        names[f"shift_{id_}"] = f"shift {number[id_]}"
    keep = [c.unit, *(f"rank_{i}" for i in c.ids), *(f"shift_{i}" for i in c.ids[1:])]
    fitted, dropped = fit_columns(
        [names[x] for x in columns], console.width, [names[k] for k in keep]
    )
    shown = [x for x in columns if names[x] in fitted]
    frame = part.select(shown).rename({x: names[x] for x in shown})
    kinds = {names[x]: kind_of(x) for x in shown}
    title = "Index, rank and class by methodology" + (f" — {c.period} {p}" if p is not None else "")
    table = frame_table(frame, title, kinds=kinds, left=[names[x] for x in shown if "class" in x])
    if dropped:
        table.caption = escape(
            "not shown at this width: " + ", ".join(dropped) + " (-o writes all)"
        )
    console.print(table)


# --------------------------------------------------------------------------- sensitivity


def print_sensitivity(
    result: Sensitivity, analytic: Analytic, m: Methodology, console: Console | None = None
) -> None:
    """Rank intervals, class probabilities, Sobol indices and tipping points."""
    console = console or _console()
    console.print(
        f"[bold]{escape(m.meta.title)}[/bold]: {result.replications} replications per sample, "
        f"{result.runs} runs; uncertain choices: {escape(', '.join(result.factors))}"
    )
    keys = list(m.layout.keys)
    console.print(frame_table(result.ranks, "Ranks: nominal, and over the replications", left=keys))
    if result.classes.height:
        shares = {c: Kind.SHARE for c in result.classes.columns if c not in keys}
        console.print(
            frame_table(result.classes, "Probability of each class", kinds=shares, left=keys)
        )
    if result.sobol.height:
        stats = {c: Kind.STATISTIC for c in result.sobol.columns if c not in keys}
        console.print(
            frame_table(
                result.sobol,
                "Sobol indices of the mean absolute rank shift (5-95 % bootstrap)",
                kinds=stats,
                left=keys,
            )
        )
    if analytic.tipping.height:
        console.print(
            frame_table(
                analytic.tipping,
                "Smallest change of one weight that changes a rank or a class",
                kinds={"change": Kind.WEIGHT, "new weight": Kind.WEIGHT},
                left=keys,
            )
        )
    if analytic.note:
        console.print(f"[dim]analytic sensitivities: {escape(analytic.note)}[/dim]")


# --------------------------------------------------------------------------- progress


def _no_progress(done: int, total: int | None = None) -> None:
    """What a progress bar that shows nothing does with an update."""


@contextmanager
def progress(
    description: str, *, quiet: bool = False
) -> Iterator[Callable[[int, int | None], None]]:
    """A transient progress bar on stderr; yields ``update(done, total)``. Shows nothing
    when `quiet` or when stderr is not a terminal (a file, a pipe, CI)."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:  # nothing to show: rich.progress is not imported
        yield _no_progress
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None = None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
