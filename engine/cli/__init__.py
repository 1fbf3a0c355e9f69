"""The ``indexlab`` command: one module per group of subcommands, registered on one typer app.

Results go to stdout (or the file given with ``-o``), diagnostics to stderr. Exit codes:
0 ok, 1 bad methodology or data (or a failing error-severity check), 2 usage. A
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

from engine.cli import (  # noqa: F401  (each registers its commands)
    compare,
    diagnose,
    diff,
    doc,
    explain,
    init,
    methods,
    report,
    run,
    sensitivity,
    show,
    sql,
)
from engine.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app()
