"""Writing result tables: CSV, Parquet, Arrow IPC (.arrow, .ipc, .feather), Excel (.xlsx)
or JSON, chosen by the extension; a streamed run's query is sunk (:func:`sink_table`).

A write never harms what was there: the table goes to a temporary file in the target's
directory, is flushed to disk and only then renamed over the target (``os.replace`` is
atomic on one file system), so a failure leaves the old file whole. Inputs named in
``protect`` (the methodology and the data files) are never overwritten, even through
another spelling of their path or a symlink.

Spreadsheets run formulas: a text cell starting with ``= + - @``, TAB or CR is written
with a leading apostrophe in CSV and XLSX (OWASP "CSV injection"). Only String columns
are escaped, so the number -1.5 stays a number. CSV floats are written in the shortest
form that reads back to the same double; XLSX keeps 16 significant digits (xlsxwriter).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError

__all__ = ["SUPPORTED", "check_target", "escaped", "write_table", "write_workbook"]

SUPPORTED = (".csv", ".parquet", ".xlsx", ".json", ".arrow", ".ipc", ".feather")
_FORMULA_START = r"^[=+\-@\t\r]"


def write_table(frame: pl.DataFrame, path: str | Path, *, protect: Sequence[Path] = ()) -> Path:
    """Write `frame` to `path` atomically; return the path written.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> write_table(pl.DataFrame({"unit": ["=A"], "score": [-1.5]}), out).read_text()
    "unit,score\\n'=A,-1.5\\n"
    """
    target = check_target(path, protect=protect)
    return _write_atomically(target, lambda out: _WRITERS[target.suffix.lower()](frame, out))


def write_workbook(
    sheets: Mapping[str, pl.DataFrame], path: str | Path, *, protect: Sequence[Path] = ()
) -> Path:
    """Write each frame as a sheet (named by its key) of one ``.xlsx`` workbook, atomically
    (formats, widths, safe text: :mod:`engine.io.workbook`).

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"
    >>> write_workbook({"results": pl.DataFrame({"unit": ["A"], "index": [1.5]})}, out).name
    'book.xlsx'
    """
    target = check_target(path, protect=protect)
    if target.suffix.lower() != ".xlsx":
        raise UsageError([Diagnostic(Code.USAGE, f"'{target}' is not an .xlsx file")])
    return _write_atomically(target, lambda out: _write_sheets(sheets, out))


def _write_atomically(target: Path, writer: Callable[[Path], None]) -> Path:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        # Created here (not by the writer) so the file gets the umask's usual permissions.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        writer(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        raise UsageError(
            [Diagnostic(Code.USAGE, f"cannot write '{target}': {exc.strerror or exc}")]
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    return target


def check_target(path: str | Path, *, protect: Sequence[Path] = ()) -> Path:
    """The output path, if it can be written: a known extension, not an input, not a folder."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _WRITERS:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"cannot write '{target}': unknown output type '{suffix or target.name}'",
                    expected=", ".join(SUPPORTED),
                )
            ]
        )
    resolved = target.resolve()
    if any(resolved == Path(p).resolve() for p in protect):
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"refusing to overwrite the input file '{target}'",
                    hint="choose another output path",
                )
            ]
        )
    if target.is_dir():
        raise UsageError([Diagnostic(Code.USAGE, f"'{target}' is a directory")])
    return target


def escaped(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    return frame.with_columns(_escapes(frame.schema))


def _escapes(schema: pl.Schema) -> list[pl.Expr]:
    text = [name for name, dtype in schema.items() if dtype == pl.String]
    return [
        pl.when(pl.col(name).str.contains(_FORMULA_START))
        .then(pl.concat_str(pl.lit("'"), pl.col(name)))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    ]


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    escaped(frame).write_csv(path, include_bom=False)


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path)


def _write_ipc(frame: pl.DataFrame, path: Path) -> None:
    frame.write_ipc(path)


def _write_json(frame: pl.DataFrame, path: Path) -> None:
    frame.write_json(path)  # a list of records


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    _write_sheets({"results": frame}, path)


def _write_sheets(sheets: Mapping[str, pl.DataFrame], path: Path) -> None:
    from engine.io.workbook import fill_workbook

    fill_workbook(sheets, path)


_WRITERS: dict[str, Callable[[pl.DataFrame, Path], None]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".xlsx": _write_xlsx,
    ".json": _write_json,
    ".arrow": _write_ipc,
    ".ipc": _write_ipc,
    ".feather": _write_ipc,
}


#: a streamed run's outputs: the lazy query sunk by polars' streaming engine
_SINKS: dict[str, Callable[[pl.LazyFrame, Path], None]] = {
    ".parquet": lambda lf, out: lf.sink_parquet(out, engine="streaming"),
    ".csv": lambda lf, out: lf.with_columns(_escapes(lf.collect_schema())).sink_csv(
        out, include_bom=False, engine="streaming"
    ),
    ".arrow": lambda lf, out: lf.sink_ipc(out, engine="streaming"),
    ".ipc": lambda lf, out: lf.sink_ipc(out, engine="streaming"),
    ".feather": lambda lf, out: lf.sink_ipc(out, engine="streaming"),
}


def sink_table(lf: pl.LazyFrame, path: str | Path, *, protect: Sequence[Path] = ()) -> Path:
    """Stream the rows of `lf` into `path` (Parquet, CSV or Arrow IPC by the extension)
    atomically, as :func:`write_table` writes a frame: memory does not grow with the rows."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _SINKS:
        expected = ", ".join(_SINKS)
        raise UsageError(
            [Diagnostic(Code.USAGE, f"cannot stream to '{target}'", expected=expected)]
        )
    check_target(target, protect=protect)
    return _write_atomically(target, lambda out: _SINKS[suffix](lf, out))
