"""``indexlab show``: a methodology as YAML, as written or merged with its bases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import DebugOpt, FormatOpt, OutputFormat, app, guard


@app.command()
def show(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    resolved: Annotated[
        bool,
        typer.Option(
            "--resolved",
            help="Merge the bases named by 'extends:' and print the whole methodology "
            "(checked against the schema); it runs as the file itself does.",
        ),
    ] = False,
    origin: Annotated[
        bool,
        typer.Option(
            "--origin", help="Follow every value with '# file:line' of where it was written."
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Print a methodology as YAML: as written, or --resolved with its bases merged."""
    from engine.format.show import show_methodology

    text = guard(fmt, debug, lambda: show_methodology(methodology, resolved, origin))
    print(text, end="")
