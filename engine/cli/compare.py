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


@app.command()
def compare(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more methodology files (.yaml, .yml), then the data files (CSV, Parquet, XLSX, JSON); "
            "told apart by extension. The first methodology is the reference."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the side-by-side table here (unit, period, then per "
            "methodology index_<id>, rank_<id>, class_<id>, and "
            "shift_<id>); format by extension: .csv, .parquet, "
            ".xlsx, .json.",
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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not print the comparison tables.")
    ] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Compare methodologies on the same data: scores, ranks and classes side by side, rank
    shifts, class transitions, Spearman and Kendall agreement, and what differs between them."""
    from engine.analysis.compare import Comparison, print_comparison
    from engine.analysis.compare import compare as compare_methodologies
    from engine.io import read, write
    from engine.report.charts import chart_targets, write_bump_chart

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
        return compare_methodologies(methodologies, data, options)

    def report(c: Comparison) -> None:
        show_diagnostics(c.warnings, fmt)
        if fmt == OutputFormat.text:
            for r in c.results:
                failed = [x for x in r.checks if not x.passed]
                if failed:
                    say(
                        f"{r.methodology.meta.id}: {len(failed)} of {len(r.checks)} warning checks fail "
                        "(see `indexlab run` for the rows)"
                    )
        protect = [*methodologies, *data]
        if output is not None:
            write.write_table(c.table, output, protect=protect)
            say(f"wrote {c.table.height} rows to {output}")
        if chart is not None:
            for path in write_bump_chart(c, chart, protect=protect):
                say(f"wrote the rank-shift chart to {path}")
        if not quiet:
            print_comparison(c)

    result = guard(fmt, debug, go)
    guard(fmt, debug, lambda: report(result))
