"""The ``indexlab`` command: one module per group of subcommands, registered on one typer app.

Results go to stdout (or the file given with ``-o``), diagnostics to stderr. Exit codes:
0 ok, 1 bad methodology or data (or a failing error-severity check), 2 usage. A
traceback is shown only with ``--debug``.

A command's module registers it on import. :func:`main` imports only the module of the
command named on the command line (``indexlab run ...`` builds the ``run`` module's
commands, not all fifteen: a start-up cost paid on every run); anything else (no command,
``--help``, a misspelt name) imports them all, so the list and typer's messages are the
same as ever. ``engine.cli.app`` (the typer app, for typer's CliRunner) has every command.

The console script is :func:`entry`: :func:`main`, then an exit without the interpreter's
teardown (see there).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

__all__ = ["MODULES", "app", "entry", "main"]

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


def entry() -> None:
    """The ``indexlab`` console script: :func:`main`, then the process ends without the
    interpreter's teardown (freeing every module and object, and polars' runtime), which
    takes about 0.045 s, an eighth of the paper's 32-row run: the output files are
    complete and closed by then, the streams are flushed and the atexit handlers run
    (logging, weakref finalizers such as temporary folders, Spark's). With Python threads
    still running, or streams that cannot be flushed, the ordinary exit is taken."""
    from engine.cli import common

    common.WHOLE_PROCESS = True
    try:
        main()
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    if not isinstance(code, int) or threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return _register(MODULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
