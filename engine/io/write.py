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

__all__ = [
    "SUPPORTED",
    "PendingSink",
    "check_target",
    "escaped",
    "pending_sink",
    "sink_table",
    "write_table",
    "write_workbook",
]

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
    temporary: Path | None = None
    try:
        temporary = _temporary(target)
        writer(temporary)
        _commit(temporary, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from exc
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return target


def _temporary(target: Path) -> Path:
    """A new empty file beside `target`, to be written and then renamed over it."""
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # Created here (not by the writer) so the file gets the umask's usual permissions.
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return temporary


def _commit(temporary: Path, target: Path) -> None:
    """Flush the written temporary file to disk, then rename it over `target` (atomic)."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def _cannot_write(target: Path, exc: OSError) -> UsageError:
    return UsageError([Diagnostic(Code.USAGE, f"cannot write '{target}': {exc.strerror or exc}")])


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


#: the lazy sinks of the formats a query can be streamed into: a lazy frame that writes
#: the file when collected (alone, or with other queries in one ``pl.collect_all``)
_LAZY_SINKS: dict[str, Callable[[pl.LazyFrame, Path], pl.LazyFrame]] = {
    ".parquet": lambda lf, out: lf.sink_parquet(out, lazy=True),
    ".csv": lambda lf, out: lf.with_columns(_escapes(lf.collect_schema())).sink_csv(
        out, include_bom=False, lazy=True
    ),
    ".arrow": lambda lf, out: lf.sink_ipc(out, lazy=True),
    ".ipc": lambda lf, out: lf.sink_ipc(out, lazy=True),
    ".feather": lambda lf, out: lf.sink_ipc(out, lazy=True),
}


def sink_table(lf: pl.LazyFrame, path: str | Path, *, protect: Sequence[Path] = ()) -> Path:
    """Stream the rows of `lf` into `path` (Parquet, CSV or Arrow IPC by the extension)
    atomically, as :func:`write_table` writes a frame: memory does not grow with the rows."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _LAZY_SINKS:
        expected = ", ".join(_LAZY_SINKS)
        raise UsageError(
            [Diagnostic(Code.USAGE, f"cannot stream to '{target}'", expected=expected)]
        )
    check_target(target, protect=protect)
    sink = _LAZY_SINKS[suffix]

    def stream(out: Path) -> None:
        sink(lf, out).collect(engine="streaming")

    return _write_atomically(target, stream)


class PendingSink:
    """An output file written by a query that is still to be collected: the query sinks
    into a temporary file beside the target (:meth:`sink`); :meth:`commit` flushes it and
    renames it over the target, :meth:`discard` deletes it (the target is untouched).

    It lets a run write its results in the same pass that computes its report, and still
    decide afterwards whether they may be written at all (an error-severity check that
    fails writes nothing). Use it as a context manager: leaving the block without a
    commit discards the file.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> with pending_sink(out) as pending:
    ...     _ = pl.collect_all([pending.sink(pl.LazyFrame({"unit": ["=A"]}))])
    ...     _ = pending.commit()
    >>> out.read_text()
    "unit\\n'=A\\n"
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            self.temporary: Path | None = _temporary(target)
        except OSError as exc:
            raise _cannot_write(target, exc) from exc

    def sink(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """The lazy query that writes the rows of `lf` into the temporary file."""
        assert self.temporary is not None, "already committed or discarded"
        return _LAZY_SINKS[self.target.suffix.lower()](lf, self.temporary)

    def commit(self) -> Path:
        """The written file, flushed to disk, renamed over the target."""
        assert self.temporary is not None, "already committed or discarded"
        try:
            _commit(self.temporary, self.target)
        except OSError as exc:
            self.discard()
            raise _cannot_write(self.target, exc) from exc
        self.temporary = None
        return self.target

    def discard(self) -> None:
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None

    def __enter__(self) -> PendingSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def pending_sink(path: str | Path, *, protect: Sequence[Path] = ()) -> PendingSink | None:
    """A :class:`PendingSink` for `path` when its format can be streamed into (Parquet,
    CSV, Arrow IPC; None for JSON and Excel, which are written from a frame)."""
    target = check_target(path, protect=protect)
    if target.suffix.lower() not in _LAZY_SINKS:
        return None
    return PendingSink(target)
