"""What every command shares: the typer app, output format and debug options, the data
options, and the guard that turns errors into messages and exit codes.

Results go to stdout (or the file given with ``-o``), diagnostics to stderr. Exit codes:
0 ok, 1 bad methodology or data (or a failing error-severity check), 2 usage. A
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from engine.cli.coerce import install
from engine.diagnostics import Code, Diagnostic, IndexlabError, UsageError

if TYPE_CHECKING:
    from engine.io.read import ReadOptions

install()  # plainly valid option values need no pydantic (see engine.cli.coerce)
app = typer.Typer(
    name="indexlab",
    help="Composite indices from YAML methodologies: validate, run and inspect them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"indexlab {version('indexlab')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            print("indexlab (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Composite indices from YAML methodologies: validate, run and inspect them."""


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback on errors.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Diagnostics as text or JSON.")]


def say(text: str) -> None:
    sys.stderr.write(text + ("\n" if not text.endswith("\n") else ""))


def show_diagnostics(diags: tuple[Diagnostic, ...] | list[Diagnostic], fmt: OutputFormat) -> None:
    if not diags:
        return
    if fmt == OutputFormat.json:
        say(json.dumps([d.as_dict() for d in diags], ensure_ascii=False, indent=2))
    else:
        say("\n".join(d.render() for d in diags))


#: set by the console script (:func:`engine.cli.entry`), whose process is the command's:
#: only then may :func:`imported` freeze (not under typer's CliRunner, not in a notebook)
WHOLE_PROCESS = False


def imported() -> None:
    """Say that a command's heavy modules (sympy, polars, the engine) are imported. In the
    console script's process what exists now lives until the process ends, so it is frozen
    out of the garbage collector's reach (``gc.freeze``) and the collector's full passes
    scan only what the command builds: without it a full pass over the imports (about
    0.03 s) fell inside building ASEM's plan on a first run. Never done by the library or
    in a process the command does not own: freezing is a choice for a whole process."""
    if WHOLE_PROCESS:
        gc.freeze()


def guard(fmt: OutputFormat, debug: bool, action: Callable[[], T]) -> T:
    """Run `action`; turn our errors into messages and exit codes."""
    from engine.extras import MissingExtra

    try:
        return action()
    except MissingExtra as err:  # one line: what needed it and how to install it
        say(f"error[{Code.MISSING_EXTRA}]: {err}")
        raise typer.Exit(1) from None
    except UsageError as err:
        show_diagnostics(err.diagnostics, fmt)
        raise typer.Exit(2) from None
    except IndexlabError as err:
        if debug:
            raise
        show_diagnostics(err.diagnostics, fmt)
        if fmt == OutputFormat.text:
            n = err.total
            say(f"{n} problem{'s' if n != 1 else ''} found.")
        raise typer.Exit(1) from None
    except OSError as err:
        if debug:
            raise
        say(f"error[{Code.DATA_FILE}]: {err}")
        raise typer.Exit(1) from None
    except Exception as err:  # an engine bug: say so, without a traceback unless asked
        if debug:
            raise
        say(
            f"internal error: {type(err).__name__}: {err}\n"
            "This is a bug in indexlab; run again with --debug for the traceback and report it."
        )
        raise typer.Exit(1) from None


DelimiterOpt = Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")]
DecimalOpt = Annotated[str, typer.Option(help="Decimal mark in CSV: '.' or ','.")]
ThousandsOpt = Annotated[str | None, typer.Option(help="Thousands separator in CSV, e.g. ' '.")]
EncodingOpt = Annotated[str, typer.Option(help="Text encoding of CSV files.")]
SheetOpt = Annotated[str | None, typer.Option(help="Excel sheet name (default: the first).")]
SheetIndexOpt = Annotated[
    int | None, typer.Option("--sheet-index", help="Excel sheet by position, 0 = the first.")
]
SkipRowsOpt = Annotated[
    int, typer.Option("--skip-rows", help="Title lines (CSV) or rows (Excel) above the header.")
]
MissingOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--missing",
        help="A token that means 'no value' (repeatable), e.g. --missing - --missing n/a; "
        "added to: empty, NA, N/A, .., …",
    ),
]
IdSpacesOpt = Annotated[
    str,
    typer.Option(
        "--id-spaces",
        help="Spaces around unit ids and other keys: 'trim' (named in a warning) or 'keep'.",
    ),
]
UnicodeMinusOpt = Annotated[
    bool | None,
    typer.Option(
        "--unicode-minus/--no-unicode-minus",
        help="Read U+2212 (−) as a minus sign (default: when --decimal , or --thousands is given).",
    ),
]


PlanCacheOpt = Annotated[
    bool,
    typer.Option(
        "--plan-cache/--no-plan-cache",
        help="Reuse the compiled plan of an unchanged methodology (skips sympy); "
        "also off with INDEXLAB_PLAN_CACHE=off.",
    ),
]


def read_options(
    delimiter: str | None,
    decimal: str,
    thousands: str | None,
    encoding: str,
    sheet: str | None,
    *,
    sheet_index: int | None = None,
    skip_rows: int = 0,
    missing: list[str] | None = None,
    id_spaces: str = "trim",
    unicode_minus: bool | None = None,
) -> ReadOptions:
    """The reader's options from the command line's data options (a bad one is a usage error)."""
    from engine.io.read import IdSpaces, ReadOptions

    if sheet is not None and sheet_index is not None:
        raise UsageError([Diagnostic(Code.USAGE, "give --sheet or --sheet-index, not both")])
    if id_spaces not in tuple(IdSpaces):
        raise UsageError(
            [Diagnostic(Code.USAGE, f"--id-spaces must be 'trim' or 'keep', not {id_spaces!r}")]
        )
    defaults = ReadOptions().missing
    try:
        return ReadOptions(
            delimiter=delimiter,
            decimal=decimal,
            thousands=thousands,
            encoding=encoding,
            sheet=sheet if sheet_index is None else sheet_index,
            missing=defaults + tuple(t for t in missing or () if t not in defaults),
            skip_rows=skip_rows,
            id_spaces=IdSpaces(id_spaces),
            unicode_minus=unicode_minus,
        )
    except ValueError as err:
        raise UsageError([Diagnostic(Code.USAGE, str(err))]) from None
