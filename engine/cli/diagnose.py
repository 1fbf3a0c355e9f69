"""``indexlab diagnose``: statistics, availability, correlations, Cronbach's alpha and PCA of
a methodology's data at one stage (see :mod:`engine.analysis.diagnose`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.analysis.stage import Stage
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
    show_diagnostics,
)


@app.command()
def diagnose(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Folder to write statistics.csv, availability.csv, correlations.csv, "
            "cronbach.csv and pca.csv to (created if needed).",
        ),
    ] = None,
    stage: Annotated[
        Stage,
        typer.Option(
            "--stage",
            help="The columns to diagnose: the raw inputs, the indicators, their normalised "
            "values, or the groups' scores.",
        ),
    ] = Stage.NORMALISED,
    excel: Annotated[
        bool, typer.Option("--excel", help="Also write every table as a sheet of diagnostics.xlsx.")
    ] = False,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    thousands: ThousandsOpt = None,
    encoding: EncodingOpt = "utf-8",
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Diagnose the data of a methodology at one stage: COINr's statistics (sample SD,
    Excel's SKEW and KURT, outliers), data availability, Pearson and Spearman correlations
    with p-values, Cronbach's alpha and principal components, per period."""
    from engine import api
    from engine.analysis.diagnose import Diagnosis, diagnose_result, write_diagnosis
    from engine.report.diagnosis import print_diagnosis

    protect = [methodology, *data]

    def go() -> tuple[api.RunResult, Diagnosis]:
        options = read_options(delimiter, decimal, thousands, encoding, sheet)
        if output is not None and output.exists() and not output.is_dir():
            from engine.diagnostics import Code, Diagnostic, UsageError

            raise UsageError(
                [Diagnostic(Code.USAGE, f"-o '{output}' is a file; diagnose writes a folder")]
            )
        validated = api.validate(methodology)
        typed = api.read_data(validated.methodology, data, options)
        result = api.execute(validated, typed)
        return result, diagnose_result(result, stage, typed.units)

    result, diagnosis = guard(fmt, debug, go)
    show_diagnostics(result.warnings, fmt)
    if output is None:
        lay = result.methodology.layout
        print_diagnosis(diagnosis, lay.period, lay.unit)
        return
    written = guard(
        fmt, debug, lambda: write_diagnosis(diagnosis, output, excel=excel, protect=protect)
    )
    for path in written:
        say(f"wrote {path}")
