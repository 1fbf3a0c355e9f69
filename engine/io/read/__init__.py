"""Reading data: one row per unit and period from CSV, Parquet, IPC, Excel and JSON files.

Every file goes through the same three steps, and every problem found on the way is kept
as a :class:`~engine.diagnostics.Diagnostic` so that one :class:`DataError` reports them
all at once.

1. **Read** with polars' own readers (:mod:`.csv`, :mod:`.columnar`, :mod:`.excel`,
   :mod:`.jsonfile`): the header as written (from the file's metadata or its first
   line), the cells, and a way to tell where a row is in the file (lines as in a text
   editor, header = line 1; Excel rows as in the sheet; Parquet, IPC and JSON records
   from 1). Only the columns a methodology needs are read from columnar files.
2. **Check and type the cells** (:mod:`.cells`): polars expressions, failures counted
   first and located only when there are some; key and text checks on distinct values.
3. **Combine** (:mod:`.combine`): files with the same columns are stacked, duplicate keys
   reported, the stacks full-joined on the keys.

Only the required columns are kept (keys, then text, then numeric). A key column whose
values are all plain integers (``2020``, not ``01``) comes back as Int64, else String.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import (
    Code,
    DataError,
    Diagnostic,
    UsageError,
    did_you_mean,
    truncate,
)
from engine.io.read import cells
from engine.io.read.combine import combine, integer_keys
from engine.io.read.memory import InMemory, read_memory
from engine.io.read.options import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    IPC_SUFFIXES,
    JSON_SUFFIXES,
    SUFFIXES,
    IdSpaces,
    Loaded,
    ReadOptions,
)
from engine.io.read.source import Source, problem

DEFAULT = ReadOptions()

__all__ = ["SUFFIXES", "IdSpaces", "InMemory", "Loaded", "ReadOptions", "header_of", "load_data"]


def load_data(
    paths: Sequence[str | Path | InMemory],
    *,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str] = (),
    period: str | None = None,
    options: ReadOptions = DEFAULT,
) -> Loaded:
    """Read, check and combine data files into one frame: keys, text, numeric columns.

    Missing cells are the tokens in ``options.missing`` (compared after stripping spaces);
    they become null in text and numeric columns. In key columns only an empty cell is
    missing, and that is an error ("NA" is Namibia). `period`, one of the keys, may be
    written as whole floats ("2010.0"). Numbers follow ``options.decimal`` and
    ``options.thousands``. All problems in all files are raised together as one
    :class:`DataError`; warnings come back in ``Loaded.warnings``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("region;year;gdp\\nA;2020;1 234,5\\n", encoding="utf-8")
    >>> opts = ReadOptions(decimal=",", thousands=" ")
    >>> load_data([p], keys=["region", "year"], numeric=["gdp"], options=opts).frame.row(0)
    ('A', 2020, 1234.5)
    """
    if not paths:
        raise UsageError([Diagnostic(Code.USAGE, "no data files given")])
    required = list(dict.fromkeys([*keys, *text, *numeric]))
    problems: list[Diagnostic] = []
    sources = [
        s for p in paths if (s := _read_file(_path(p), numeric, required, options, problems))
    ]
    _check_columns(sources, keys, required, problems)
    if problems:
        raise DataError(problems)

    warnings: list[Diagnostic] = []
    frames = [_typed(s, keys, numeric, text, period, options, problems, warnings) for s in sources]
    if not any(d.code in (Code.MISSING_KEY, Code.BAD_PERIOD) for d in problems):
        frames, mixed = _same_key_types(frames, keys)
        combined = integer_keys(combine(frames, sources, keys, required, problems), mixed)
    if problems:
        raise DataError(problems)
    if combined.height == 0:
        names = ", ".join(s.file for s in sources)
        raise DataError([Diagnostic(Code.DATA_FILE, f"no data rows in {names}")])
    return Loaded(combined.select(required), tuple(warnings))


def header_of(path: str | Path | InMemory, options: ReadOptions = DEFAULT) -> tuple[str, ...]:
    """The column names of a data file (to tell files of different grains apart), from
    the file's metadata or its header line. An unreadable file gives no names;
    :func:`load_data` then reports why."""
    if isinstance(path, InMemory):
        return tuple(path.frame.columns)
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet" or suffix in IPC_SUFFIXES:
            from engine.io.read.columnar import columnar_header

            return columnar_header(p)
        if suffix in CSV_SUFFIXES:
            from engine.io.read.csv import header_line

            return header_line(p, options)
    except (OSError, pl.exceptions.PolarsError, ValueError, UsageError):
        return ()
    source = _read_file(p, (), (), options, [])
    return source.header if source is not None else ()


def _reader(suffix: str):  # type: ignore[no-untyped-def]
    if suffix in CSV_SUFFIXES:
        from engine.io.read.csv import read_csv

        return read_csv
    if suffix == ".parquet" or suffix in IPC_SUFFIXES:
        from engine.io.read.columnar import read_columnar

        return read_columnar
    if suffix in EXCEL_SUFFIXES:
        from engine.io.read.excel import read_excel

        return read_excel
    if suffix in JSON_SUFFIXES:
        from engine.io.read.jsonfile import read_json

        return read_json
    return None


def _path(p: str | Path | InMemory) -> Path | InMemory:
    return p if isinstance(p, InMemory) else Path(p)


def _read_file(
    path: Path | InMemory,
    numeric: Sequence[str],
    required: Sequence[str],
    options: ReadOptions,
    problems: list[Diagnostic],
) -> Source | None:
    """Read one file by its extension; problems are appended, None when unusable."""
    if isinstance(path, InMemory):  # a frame from the Python API
        before = len(problems)
        source = read_memory(path, required)
        _check_header(source, problems)
        if source.frame.height == 0:
            problems.append(problem(Code.DATA_FILE, path.name, "has columns but no rows"))
        return None if len(problems) > before else source
    file = str(path)
    suffix = path.suffix.lower()
    reader = _reader(suffix)
    if reader is None:
        what = f"unknown data file type '{suffix or path.name}'"
        problems.append(problem(Code.DATA_FILE, file, what, expected=", ".join(SUFFIXES)))
        return None
    if not path.is_file():
        problems.append(problem(Code.DATA_FILE, file, "data file not found"))
        return None
    before = len(problems)
    try:
        if suffix == ".parquet" or suffix in IPC_SUFFIXES:
            source = reader(path, file, numeric, options, problems, required)
        else:
            source = reader(path, file, numeric, options, problems)
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        problems.append(problem(Code.DATA_FILE, file, f"cannot read: {truncate(first, 200)}"))
        return None
    if source is None or len(problems) > before:
        return None
    _check_header(source, problems)
    if source.frame.height == 0:
        problems.append(problem(Code.DATA_FILE, file, "has a header but no data rows"))
    return None if len(problems) > before else source


def _check_header(source: Source, problems: list[Diagnostic]) -> None:
    """Reject empty, repeated and Excel-invented ('__UNNAMED__n') column names."""
    header, file = source.header, source.file
    empty = [i for i, name in enumerate(header, start=1) if not name]
    if empty:
        problems.append(
            problem(
                Code.DATA_FILE,
                file,
                f"empty column name in column {', '.join(map(str, empty))}",
                hint="name every column (or remove a trailing delimiter)",
            )
        )
    counts = {n: header.count(n) for n in header if n}
    for name in (n for n, k in counts.items() if k > 1):
        problems.append(
            problem(
                Code.DATA_FILE,
                file,
                f"column name '{name}' appears {counts[name]} times",
                hint="rename the columns so every name is unique",
            )
        )
    for name in header:
        if re.search(r"[\x00-\x1f\x7f]", name):
            problems.append(
                problem(Code.DATA_FILE, file, f"column name {name!r} has control characters")
            )
        if name.startswith(("__UNNAMED__", "Unnamed:")):
            problems.append(
                problem(
                    Code.DATA_FILE,
                    file,
                    f"column name '{name}' was made up by a spreadsheet reader",
                    hint="use exactly one header row with a name in every column "
                    "(merged header cells are not supported; skip title rows with skip_rows)",
                )
            )


def _check_columns(
    sources: Sequence[Source],
    keys: Sequence[str],
    required: Sequence[str],
    problems: list[Diagnostic],
) -> None:
    """Every file needs every key; every other required column must be in some file."""
    everywhere = {n for s in sources for n in s.header}
    for s in sources:
        present = ", ".join(n for n in s.header if n) or "none"
        problems.extend(
            problem(
                Code.MISSING_COLUMN,
                s.file,
                f"key column '{k}' is missing (columns present: {truncate(present, 200)})",
                hint=did_you_mean(k, s.header),
            )
            for k in keys
            if k not in s.header
        )
    if not sources:
        return
    first = sources[0]
    others = ", ".join(s.file for s in sources[1:])
    for name in required:
        if name in keys or name in everywhere:
            continue
        if others:
            message = f"column '{name}' is missing from {first.file} or any of {others}"
        else:
            present = ", ".join(n for n in first.header if n) or "none"
            message = f"column '{name}' is missing (columns present: {truncate(present, 200)})"
        problems.append(
            problem(Code.MISSING_COLUMN, first.file, message, hint=did_you_mean(name, everywhere))
        )


def _typed(
    source: Source,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    period: str | None,
    options: ReadOptions,
    problems: list[Diagnostic],
    warnings: list[Diagnostic],
) -> pl.DataFrame:
    """The file's required columns as keys, text and Float64 numbers."""
    columns: list[pl.Series] = []
    numbers = [n for n in numeric if n not in keys and n not in text]
    clean = cells.clean_columns(source, [k for k in keys if k != period], numbers)
    for name in dict.fromkeys([*keys, *text, *numeric]):
        if name not in source.header:
            continue
        if name in keys:
            column = cells.key_column(
                source, name, options, name == period, problems, warnings, name in clean
            )
        elif name in text:
            column = cells.text_column(source, name, options)
        else:
            column = cells.numeric_column(source, name, options, problems, name in clean)
        columns.append(column.alias(name))
    return pl.DataFrame(columns)


def _same_key_types(
    frames: list[pl.DataFrame], keys: Sequence[str]
) -> tuple[list[pl.DataFrame], list[str]]:
    """Key columns as text in every frame when the files disagree on their type (one
    file's ids are all integers, another's not); returns the frames and those keys."""
    mixed = [k for k in keys if len({f.schema[k] for f in frames if k in f.columns}) > 1]
    if not mixed:
        return frames, mixed
    frames = [
        f.with_columns(pl.col(k).cast(pl.String) for k in mixed if k in f.columns) for f in frames
    ]
    return frames, mixed
