"""``indexlab compare``: methodologies side by side on the same data."""

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
    IdSpacesOpt,
    MissingOpt,
    OutputFormat,
    SheetIndexOpt,
    SheetOpt,
    SkipRowsOpt,
    ThousandsOpt,
    UnicodeMinusOpt,
    app,
    guard,
    read_options,
    say,
    show_diagnostics,
)
from engine.diagnostics import Code, Diagnostic, UsageError
from engine.extras import Extra, require


@app.command()
def compare(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more methodology files (.yaml, .yml), then the data files (CSV, "
            "Parquet, XLSX, JSON); told apart by extension. The first methodology is the "
            "reference."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the side-by-side table here (unit, period, then per "
            "methodology index_<id>, rank_<id>, class_<id>, and "
            "shift_<id>); format by extension: .csv, .parquet, .json; "
            ".xlsx writes one workbook with the table, agreement, "
            "transitions, differences and each methodology.",
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Write the rank-shift (bump) chart: to PATH if it ends with .png or .svg, "
            "otherwise to both PATH.png and PATH.svg.",
        ),
    ] = None,
    highlight: Annotated[
        list[str] | None,
        typer.Option(
            "--highlight",
            help="A unit to colour and name in the chart (repeat the option for several).",
        ),
    ] = None,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            min=0,
            help="With more than 20 units, the chart colours the top and bottom N by rank.",
        ),
    ] = 5,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    thousands: ThousandsOpt = None,
    encoding: EncodingOpt = "utf-8",
    sheet: SheetOpt = None,
    sheet_index: SheetIndexOpt = None,
    skip_rows: SkipRowsOpt = 0,
    missing: MissingOpt = None,
    id_spaces: IdSpacesOpt = "trim",
    unicode_minus: UnicodeMinusOpt = None,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Also list every difference in meaning (printed last)."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not print the comparison tables.")
    ] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Compare methodologies on the same data: scores, ranks and classes side by side, rank
    shifts, class transitions, Spearman and Kendall agreement, and what differs between them."""
    from engine.analysis.compare import Comparison
    from engine.analysis.compare import compare as compare_methodologies
    from engine.io import read, write
    from engine.report.charts import Highlight, chart_targets, write_bump_chart
    from engine.report.terminal import print_comparison, progress

    methodologies = [f for f in files if f.suffix.lower() in (".yaml", ".yml")]
    data = [f for f in files if f not in methodologies]

    def go() -> Comparison:
        unknown = [f for f in data if f.suffix.lower() not in read.SUFFIXES]
        if unknown:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        f"'{f}' is neither a methodology nor a data file",
                        expected=".yaml or .yml (methodology); "
                        + ", ".join(read.SUFFIXES)
                        + " (data)",
                    )
                    for f in unknown
                ]
            )
        if len(methodologies) < 2 or not data:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        f"compare needs two or more methodologies and at least one "
                        f"data file; got {len(methodologies)} and {len(data)}",
                        expected="indexlab compare M1.yaml M2.yaml [M3.yaml ...] DATA...",
                    )
                ]
            )
        options = read_options(
            delimiter,
            decimal,
            thousands,
            encoding,
            sheet,
            sheet_index=sheet_index,
            skip_rows=skip_rows,
            missing=missing,
            id_spaces=id_spaces,
            unicode_minus=unicode_minus,
        )
        protect = [*methodologies, *data]
        if output is not None:
            write.check_target(output, protect=protect)
        if chart is not None:
            chart_targets(chart, protect=protect)
            require("matplotlib", Extra.CHARTS, "--chart")  # before the work, not after
        with progress("running the methodologies", quiet=quiet or fmt == OutputFormat.json):
            return compare_methodologies(methodologies, data, options)

    def report(c: Comparison) -> None:
        show_diagnostics(c.warnings, fmt)
        if fmt == OutputFormat.text:
            for r in c.results:
                failed = [x for x in r.checks if not x.passed]
                if failed:
                    say(
                        f"warning[check-failed]: {r.methodology.meta.id}: {len(failed)} of "
                        f"{len(r.checks)} checks fail (`indexlab run` lists the rows)"
                    )
        protect = [*methodologies, *data]
        if output is not None:
            c.write(output, protect=protect)
            what = "every table" if output.suffix.lower() == ".xlsx" else f"{c.table.height} rows"
            say(f"wrote {what} to {output}")
        if chart is not None:
            marked = Highlight(top, top, tuple(highlight or ()))
            for path in write_bump_chart(c, chart, protect=protect, highlight=marked):
                say(f"wrote the rank-shift chart to {path}")
        if not quiet:
            print_comparison(c, diff=diff)

    result = guard(fmt, debug, go)
    guard(fmt, debug, lambda: report(result))
