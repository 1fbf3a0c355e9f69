"""``indexlab doc``: the methods section of a methodology, as Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import DebugOpt, FormatOpt, OutputFormat, app, guard


@app.command()
def doc(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Print the methods text of a methodology as Markdown (data, indicators, normalisation,
    aggregation, classes, checks, references), naming its base and what it changes."""
    from engine import api
    from engine.report.methods_text import render_methods

    text = guard(fmt, debug, lambda: render_methods(api.load_methodology(methodology)))
    print(text, end="")
