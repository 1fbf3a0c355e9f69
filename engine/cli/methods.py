"""``indexlab methods``: the method catalogue, listed from the method declarations."""

from __future__ import annotations

import enum
import json
import sys
from typing import Annotated

import typer

from engine.cli.common import app
from engine.methods.registry import Stage


class ListFormat(enum.StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command("methods")
def list_methods(
    stage: Annotated[
        Stage | None, typer.Option("--stage", help="Only the methods of this stage.")
    ] = None,
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="text, json, or markdown (the docs' tables).")
    ] = ListFormat.text,
) -> None:
    """List every method: its stage, parameters with types and defaults, and the package
    functions it corresponds to."""
    from engine.methods import catalogue, listing

    methods = catalogue.methods(stage)
    if fmt is ListFormat.json:
        text = json.dumps(listing.as_records(methods), indent=2, ensure_ascii=False)
    elif fmt is ListFormat.markdown:
        stages = [stage] if stage is not None else list(Stage)
        text = "\n\n".join(f"## {s.value}\n\n{listing.as_markdown(s)}" for s in stages)
    else:
        text = listing.as_text(methods)
    sys.stdout.write(text + "\n")
