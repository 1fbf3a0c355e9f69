"""``indexlab diff``: what differs in meaning between two methodologies."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import DebugOpt, FormatOpt, OutputFormat, app, guard


@app.command()
def diff(
    first: Annotated[Path, typer.Argument(help="The methodology compared from (e.g. a base).")],
    second: Annotated[Path, typer.Argument(help="The methodology compared to.")],
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """What differs in meaning from FIRST to SECOND, read from the checked models (no data).

    Inputs, indicator formulas, normalisation, groups (members, weights, aggregation), the
    index, ranking, classes, derived outputs, checks and screening rules are compared;
    comments, key order, labels and descriptions are not. For a methodology and its base
    (extends:) the list is what the extension changes.
    """
    from engine import api
    from engine.analysis.diff import diff as semantic_diff
    from engine.analysis.diff import relation, render_changes

    a = guard(fmt, debug, lambda: api.load_methodology(first))
    b = guard(fmt, debug, lambda: api.load_methodology(second))
    changes = semantic_diff(a, b)
    if fmt == OutputFormat.json:
        report = {
            "from": {"id": a.meta.id, "file": str(first)},
            "to": {"id": b.meta.id, "file": str(second)},
            "relation": relation(a, b),
            "changes": [asdict(c) for c in changes],
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    link = relation(a, b)
    print(f"{a.meta.id} ({first}) → {b.meta.id} ({second})" + (f": {link}" if link else ""))
    lines = render_changes(changes)
    for line in lines:
        print(f"  {line}")
    if not lines:
        print("  no difference in meaning (labels and descriptions are not compared)")
