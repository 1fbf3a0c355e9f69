"""The ``indexlab`` command: one module per group of subcommands, registered on one typer app.

Results go to stdout (or the file given with ``-o``), diagnostics to stderr. Exit codes:
0 ok, 1 bad methodology or data (or a failing error-severity check), 2 usage. A
traceback is shown only with ``--debug``.

A command's module registers it on import. :func:`main` imports only the module of the
command named on the command line (``indexlab run ...`` builds the ``run`` module's
commands, not all fifteen: a start-up cost paid on every run); anything else (no command,
``--help``, a misspelt name) imports them all, so the list and typer's messages are the
same as ever. ``engine.cli.app`` (the typer app, for typer's CliRunner) has every command.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

__all__ = ["MODULES", "app", "main"]

#: every command module, in the order their commands are listed by ``indexlab --help``
MODULES = (
    "compare",
    "diagnose",
    "diff",
    "doc",
    "explain",
    "init",
    "methods",
    "report",
    "run",
    "sensitivity",
    "show",
    "sql",
)
#: the module that registers each command
COMMANDS = {
    "compare": "compare",
    "diagnose": "diagnose",
    "diff": "diff",
    "doc": "doc",
    "explain": "explain",
    "init": "init",
    "methods": "methods",
    "report": "report",
    "run": "run",
    "validate": "run",
    "schema": "run",
    "sensitivity": "sensitivity",
    "show": "show",
    "sql": "sql",
}


def _register(modules: tuple[str, ...]) -> typer.Typer:
    for name in modules:
        importlib.import_module(f"engine.cli.{name}")
    from engine.cli.common import app as typer_app

    return typer_app


def main() -> None:
    named = COMMANDS.get(sys.argv[1]) if len(sys.argv) > 1 else None
    _register((named,) if named is not None else MODULES)()


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return _register(MODULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
