"""``indexlab report``: one self-contained HTML page with the ranking, the unit profiles, the
framework and its weights, rank shifts, diagnostics, the methodology's formulas and its
checks, re-weighted live in the browser (see :mod:`engine.report.html.page`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import (
    DebugOpt,
    DecimalOpt,
    DelimiterOpt,
    EncodingOpt,
    FormatOpt,
    OutputFormat,
    SheetOpt,
    ThousandsOpt,
    app,
    guard,
    read_options,
    say,
)


@app.command()
def report(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The HTML file to write (e.g. report.html).")
    ],
    compare: Annotated[
        list[Path] | None,
        typer.Option(
            "--compare",
            help="Another methodology to run on the same data; its ranks appear in the "
            "rank-shift chart (repeatable).",
        ),
    ] = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    thousands: ThousandsOpt = None,
    encoding: EncodingOpt = "utf-8",
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Write a self-contained HTML report (no network needed to open it) whose weights
    and choices a reader can change, recomputing ranks and classes in the browser."""
    from engine.report.html.page import write_report

    def go() -> tuple[Path, tuple[str, ...]]:
        options = read_options(delimiter, decimal, thousands, encoding, sheet)
        return write_report(methodology, data, output, compare=compare or (), options=options)

    path, notes = guard(fmt, debug, go)
    for note in notes:
        say(f"note: {note}")
    say(f"wrote the report to {path} ({path.stat().st_size / 1e6:.1f} MB)")
