"""``indexlab sensitivity``: Monte Carlo, Sobol indices and analytic sensitivities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import (
    DebugOpt,
    FormatOpt,
    OutputFormat,
    app,
    guard,
    say,
    show_diagnostics,
)


@app.command()
def sensitivity(
    methodology: Annotated[
        Path, typer.Argument(help="Methodology YAML file with an 'uncertainty' section.")
    ],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the results: OUT.json or OUT.xlsx (one workbook) holds every table; "
            "with .csv or .parquet the tables go to OUT.ranks.csv, OUT.classes.csv, "
            "OUT.sobol.csv, OUT.derivatives.csv and OUT.tipping.csv.",
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Rank intervals and Sobol indices: PATH.png or PATH.svg, or both when PATH has "
            "another extension.",
        ),
    ] = None,
    replications: Annotated[int | None, typer.Option(help="N (overrides the design).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the design).")] = None,
    sobol: Annotated[
        bool,
        typer.Option(
            "--sobol/--no-sobol",
            help="Sobol indices (N (d + 2) runs) or only the rank distribution (N runs).",
        ),
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the tables.")] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Monte Carlo uncertainty analysis, Sobol indices and analytic sensitivities."""
    from engine import api
    from engine.analysis import sensitivity as sa
    from engine.extras import Extra, require
    from engine.io import write
    from engine.report.terminal import print_sensitivity, progress

    protect = [methodology, *data]

    def go() -> api.SensitivityResult:
        for target in (output, chart):
            if target is not None and (
                target.suffix.lower() not in (".png", ".svg") or target == output
            ):
                write.check_target(
                    target if target.suffix else target.with_suffix(".json"), protect=protect
                )
        if chart is not None:
            require("matplotlib", Extra.CHARTS, "--chart")  # before the work, not after
        if output is not None and output.suffix.lower() == ".xlsx":
            require("xlsxwriter", Extra.EXCEL, "writing Excel files")
        with progress("replications", quiet=quiet or fmt == OutputFormat.json) as update:
            return api.sensitivity(
                methodology,
                data,
                replications=replications,
                seed=seed,
                sobol=sobol,
                progress=update,
            )

    found = guard(fmt, debug, go)
    result, analytic, nominal = found.analysis, found.analytic, found.nominal
    show_diagnostics(nominal.warnings + result.warnings, fmt)
    tables = {
        "ranks": result.ranks,
        "undefined": result.undefined,
        "classes": result.classes,
        "sobol": result.sobol,
        "derivatives": analytic.derivatives,
        "tipping": analytic.tipping,
    }

    def save() -> None:
        if output is not None:
            suffix = output.suffix.lower()
            if suffix == ".json":
                payload = {k: v.to_dicts() for k, v in tables.items()} | {
                    "factors": list(result.factors),
                    "replications": result.replications,
                    "runs": result.runs,
                    "note": analytic.note,
                }
                target = write.check_target(output, protect=protect)
                target.write_text(
                    json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
                )
            elif suffix == ".xlsx":
                found.write(output, protect=protect)
                say(f"wrote every table to {output}")
            else:
                for name, table in tables.items():
                    if table.height:
                        write.write_table(
                            table,
                            output.with_name(f"{output.stem}.{name}{output.suffix}"),
                            protect=protect,
                        )
        if chart is not None:
            for path in sa.write_charts(result, nominal.methodology, chart):
                say(f"wrote {path}")

    guard(fmt, debug, save)
    if not quiet:
        print_sensitivity(result, analytic, nominal.methodology)
