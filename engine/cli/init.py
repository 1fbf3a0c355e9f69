"""``indexlab init``: a first methodology from a data file, valid at once."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import (
    DebugOpt,
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
)
from engine.diagnostics import Code, Diagnostic, UsageError


def _interactive() -> bool:
    """Ask for a column only when a person is at the keyboard (never in scripts or CI)."""
    return sys.stdin.isatty()


@app.command()
def init(
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="The methodology to write (never replaced)."),
    ] = Path("methodology.yaml"),
    unit: Annotated[
        str | None, typer.Option(help="The column naming the units (header as written).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="The column naming the periods (header as written).")
    ] = None,
    delimiter: DelimiterOpt = None,
    decimal: Annotated[
        str | None,
        typer.Option(help="Decimal mark in CSV: '.' or ','. Default: guessed from the cells."),
    ] = None,
    thousands: ThousandsOpt = None,
    encoding: EncodingOpt = "utf-8",
    sheet: SheetOpt = None,
    sheet_index: SheetIndexOpt = None,
    skip_rows: SkipRowsOpt = 0,
    missing: MissingOpt = None,
    id_spaces: IdSpacesOpt = "trim",
    unicode_minus: UnicodeMinusOpt = None,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Write a first methodology from data: unit and period columns found (asked for when
    unclear), every numeric column an input and an indicator, min-max normalisation, one
    equal-weight group, the index, ranks, quintile classes and checks for missing and
    non-positive values. It is run on the data before it is written, so `indexlab run`
    works at once; an existing file is never replaced."""
    from engine.format.scaffold import Started, start_methodology
    from engine.format.scaffold_detect import Ambiguous

    def go() -> Started:
        options = read_options(
            delimiter,
            decimal or ".",
            thousands,
            encoding,
            sheet,
            sheet_index=sheet_index,
            skip_rows=skip_rows,
            missing=missing,
            id_spaces=id_spaces,
            unicode_minus=unicode_minus,
        )
        if output.suffix.lower() not in (".yaml", ".yml"):
            raise UsageError(
                [Diagnostic(Code.USAGE, f"-o '{output}': a methodology file ends in .yaml")]
            )
        chosen = {"unit": unit, "period": period}
        while True:
            try:
                return start_methodology(
                    data,
                    output,
                    options,
                    numbers_fixed=decimal is not None or thousands is not None,
                    unit=chosen["unit"],
                    period=chosen["period"],
                )
            except Ambiguous as err:
                if not _interactive() or chosen[err.role] is not None:
                    raise
                say(err.diagnostics[0].message)
                answer = ""
                while answer not in err.candidates:
                    answer = typer.prompt(f"{err.role} column", err=True).strip()
                chosen[err.role] = answer

    started = guard(fmt, debug, go)
    left = "".join(f"\n  not in the index: {n} ({why})" for n, why in started.left_out)
    run = shlex.join(["indexlab", "run", str(output), *map(str, data), *started.run_options])
    say(f"wrote {output}{left}\nnext: {run}")
