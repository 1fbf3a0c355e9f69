"""``indexlab explain``: one unit's result, every step with its numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import (
    DebugOpt,
    DecimalOpt,
    DelimiterOpt,
    EncodingOpt,
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
    show_diagnostics,
)
from engine.diagnostics import Code, Diagnostic, UsageError


@app.command()
def explain(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    unit: Annotated[
        str,
        typer.Option(
            "--unit",
            help="The unit to explain, as written in the data's unit column "
            "(or a label naming one unit).",
        ),
    ],
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="The period to explain (default: every period of the unit, one section each).",
        ),
    ] = None,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="Also list, row by row, the values of the steps computed "
            "on detail rows (methodologies with data.detail).",
        ),
    ] = False,
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
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="The explanation (stdout) and diagnostics (stderr) as text or JSON."
        ),
    ] = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Explain one unit's result: every step from raw inputs to class, with its numbers."""
    from engine import api
    from engine.analysis.explain import explain_all
    from engine.analysis.explanation import Explanation
    from engine.report.explanation import print_explanation

    def go() -> tuple[api.Validated, tuple[Explanation, ...]]:
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
        validated = api.validate(methodology)
        if detail and not validated.plan.has_detail:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        "--detail: this methodology has no detail data",
                        expected="data.detail and inputs with grain: detail",
                    )
                ]
            )
        digits = 6 if fmt == OutputFormat.text else None  # JSON keeps full precision
        return validated, explain_all(
            validated, data, unit, period, options=options, detail=detail, digits=digits
        )

    validated, explanations = guard(fmt, debug, go)
    show_diagnostics(validated.warnings, fmt)
    if fmt == OutputFormat.json:
        print(
            json.dumps(
                [e.as_dict() for e in explanations], ensure_ascii=False, indent=2, default=str
            )
        )
        return
    for e in explanations:
        print_explanation(e, validated.methodology.meta.title)
