"""CSV and other delimited text, read by polars' own CSV reader.

Python only looks at the first lines (the header, to sniff the delimiter and to name
the columns as written) and at files whose bytes polars cannot take as they are: a
UTF-16/32 file or a declared single-byte encoding such as cp1251 is decoded strictly
(never lossily) and handed to polars as UTF-8. Everything else is polars:

* the line structure: polars rejects a line with too many fields; a short line it pads
  with empty cells, which always leaves the last column empty. Only when polars fails,
  or the last column has empty cells, does a one-column pass count the delimiters of
  every line (outside quoted fields); only when a line is off does a Python scan name
  the lines and their field counts;
* the cells: numeric columns are parsed straight to Float64 when the number convention
  is polars' own (decimal point, no thousands separator); when that parse meets a cell
  it cannot read (a missing marker, a decimal comma, text), or another convention is
  declared, the cells are read as text and parsed by :mod:`.cells`.

Lines are numbered as in a text editor (the header line is ``skip_rows + 1``); a quoted
field that spans lines is counted when a row is reported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import Code, Diagnostic, Location, UsageError, truncate
from engine.io.read.options import DELIMITERS, ReadOptions
from engine.io.read.source import MAX_LISTED, ROW, Source, frame_names, problem

__all__ = ["header_line", "read_csv"]

HEAD_BYTES = 1 << 20  # enough for any header line
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def read_csv(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list[Diagnostic]
) -> Source | None:
    """Read one delimited text file; problems are appended, None when unusable."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    codec = _codec(head, options.encoding)
    data: Path | bytes = path
    if codec not in ("utf-8", "utf-8-sig"):
        text = _decode(path.read_bytes(), file, codec, problems)
        if text is None:
            return None
        data = text.encode("utf-8")
        head = data[:HEAD_BYTES]
    head_text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = head_text.splitlines()[options.skip_rows :]
    if not "".join(lines).strip():
        problems.append(problem(Code.DATA_FILE, file, "is empty (no header line)"))
        return None
    delimiter = options.delimiter or _sniff_delimiter(lines[0], file, options, problems)
    if delimiter is None:
        return None
    header_text = "\n".join(lines[:50])
    record = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), [])
    header = tuple(v.strip() for v in record)
    header_lines = 1 + sum(v.count("\n") for v in record)
    names = frame_names(header)
    width = len(header)
    try:
        frame = _read_cells(data, names, numeric, delimiter, options)
    except pl.exceptions.PolarsError as exc:
        # polars reads UTF-8 strictly; Python names the line of the first bad byte
        bad_text = "utf" in str(exc).lower() and isinstance(data, Path)
        if bad_text and _decode(path.read_bytes(), file, codec, problems) is None:
            return None
        # a line with too many fields, or broken quoting: name the lines
        if not _fields_match(data, file, codec, delimiter, width, options, problems):
            return None
        raise
    # polars pads a short line with empty cells; a short line leaves the last column
    # empty, so the lines are only counted when it has empty cells
    last = frame.get_column(names[-1])
    padded = (last == "").any() if last.dtype == pl.String else last.null_count() > 0
    if padded and not _fields_match(data, file, codec, delimiter, width, options, problems):
        return None
    first = options.skip_rows + header_lines + 1
    return Source(file, "line", header, _drop_blank(frame), _locator(first))


def header_line(path: Path, options: ReadOptions) -> tuple[str, ...]:
    """The header of a delimited file from its first lines only (empty if there is none)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    codec = _codec(head, options.encoding)
    try:
        head_text = head.decode(codec, errors="ignore").removeprefix("\ufeff")
    except LookupError:
        return ()
    lines = head_text.splitlines()[options.skip_rows :]
    if not lines:
        return ()
    delimiter = options.delimiter or _sniff_delimiter(lines[0], str(path), options, [])
    if delimiter is None:
        return ()
    reader = csv.reader(io.StringIO("\n".join(lines[:50]), newline=""), delimiter=delimiter)
    return tuple(v.strip() for v in next(reader, []))


def _codec(head: bytes, encoding: str) -> str:
    """A BOM decides the encoding; otherwise the declared one (checked to exist)."""
    bom = next((c for b, c in BOMS if head.startswith(b)), None)
    if bom is not None:
        return bom
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError([Diagnostic(Code.USAGE, f"unknown encoding {encoding!r}")]) from None


def _decode(data: bytes, file: str, codec: str, problems: list[Diagnostic]) -> str | None:
    """Bytes to text, strictly; an undecodable byte is reported with its line."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = "utf-8" if codec in ("utf-8", "utf-8-sig") else codec
        problems.append(
            Diagnostic(
                Code.DATA_FILE,
                f"not valid {name} text: byte {data[exc.start]:#04x} on line {line}",
                Location(file, line),
                hint="give the file's encoding (for example cp1251) or re-save it as UTF-8",
            )
        )
        return None


def _sniff_delimiter(
    first: str, file: str, options: ReadOptions, problems: list[Diagnostic]
) -> str | None:
    """The one delimiter among , ; TAB | in the header line (outside quotes), else ','."""
    found = {d: n for d in DELIMITERS if (n := re.sub(r'"[^"]*"', "", first).count(d))}
    if len(found) <= 1:
        return next(iter(found), ",")
    shown = ", ".join(f"{d!r} ×{n}" for d, n in found.items())
    problems.append(
        Diagnostic(
            Code.DATA_FILE,
            f"cannot tell the delimiter: the header line has {shown}",
            Location(file, options.skip_rows + 1, source_line=truncate(first, 120)),
            hint="set the delimiter explicitly",
        )
    )
    return None


def _fields_match(
    data: Path | bytes,
    file: str,
    codec: str,
    delimiter: str,
    width: int,
    options: ReadOptions,
    problems: list[Diagnostic],
) -> bool:
    """Every line has as many fields as the header (polars pads short lines silently).

    polars reads each line as one string and counts its delimiters outside quoted
    fields; only when a line is off (or a quoted field spans lines) does Python scan the
    text to name the lines.
    """
    lines = pl.scan_csv(
        data,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        skip_lines=options.skip_rows,
        schema={"line": pl.String},
        truncate_ragged_lines=True,
        encoding="utf8",
    )
    line = pl.col("line").fill_null("").str.strip_suffix("\r")
    quoted = line.str.contains('"', literal=True)
    bare = pl.when(quoted).then(line.str.replace_all(r'"[^"]*"', "")).otherwise(line)
    off = (bare.str.count_matches(delimiter, literal=True) != width - 1) & (line != "")
    odd = quoted & (line.str.count_matches('"', literal=True) % 2 == 1)
    suspect = lines.select((off | odd).any()).collect().item()
    if not suspect:
        return True
    text = data.decode("utf-8") if isinstance(data, bytes) else Path(data).read_text(codec)
    text = text.removeprefix("\ufeff")
    return _scan_fields(text, delimiter, file, options.skip_rows, problems)


def _scan_fields(
    text: str, delimiter: str, file: str, skip: int, problems: list[Diagnostic]
) -> bool:
    """Python's csv module names the lines whose field count differs from the header's."""
    body = "".join(text.splitlines(keepends=True)[skip:])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=True)
    ragged: list[tuple[int, int]] = []
    width, previous = -1, 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if width < 0:
                width = len(row)
            elif row and len(row) != width:
                ragged.append((start + skip, len(row)))
    except csv.Error as exc:
        where = Location(file, reader.line_num + skip)
        problems.append(Diagnostic(Code.DATA_FILE, f"malformed CSV: {exc}", where))
        return False
    if not ragged:
        return True
    shown = ", ".join(f"{line} ({n} fields)" for line, n in ragged[:MAX_LISTED])
    more = f" and {len(ragged) - MAX_LISTED} more" if len(ragged) > MAX_LISTED else ""
    problems.append(
        Diagnostic(
            Code.DATA_FILE,
            f"{'line' if len(ragged) == 1 else 'lines'} {shown}{more}: the header has "
            f"{width} fields",
            Location(file, ragged[0][0]),
            hint=f"the delimiter is {delimiter!r}; a value containing it (such as a decimal "
            "comma) must be quoted",
        )
    )
    return False


def _read_cells(
    data: Path | bytes,
    names: list[str],
    numeric: Sequence[str],
    delimiter: str,
    options: ReadOptions,
) -> pl.DataFrame:
    """The cells: numbers as Float64 when polars' own parse reads every one, else text."""

    def read(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        return pl.read_csv(
            data,
            has_header=False,
            separator=delimiter,
            skip_rows=options.skip_rows + 1,  # title rows, then the header row
            schema=dict(schema),
            empty_string_is_null=False,
            raise_if_empty=False,
            encoding="utf8",
        )

    text: dict[str, pl.DataType] = {n: pl.String() for n in names}
    fast = options.decimal == "." and options.thousands is None
    typed: dict[str, pl.DataType] = {
        n: pl.Float64() if n in numeric and fast else t for n, t in text.items()
    }
    if typed == text:
        return read(text)
    try:
        return read(typed)
    except pl.exceptions.ComputeError as exc:
        if "could not parse" not in str(exc):
            raise
        return read(text)  # a cell polars cannot parse: the cell parser reports it


def _drop_blank(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop lines with no value in any field, keeping each row's position."""
    if frame.width == 0 or frame.height == 0:
        return frame
    # a blank line is empty in every column: most files have no empty cell in the first
    first, dtype = next(iter(frame.schema.items()))
    first_empty = pl.col(first).is_null()
    if dtype == pl.String:
        first_empty = first_empty | (pl.col(first) == "")
    if not frame.select(first_empty.any()).item():
        return frame
    empty = [
        (pl.col(n) == "") if dtype == pl.String else pl.col(n).is_null()
        for n, dtype in frame.schema.items()
    ]
    blank = frame.select(pl.all_horizontal(empty).alias("blank")).get_column("blank")
    if not blank.any():
        return frame
    return frame.with_row_index(ROW).filter(~blank)


def _locator(first: int) -> Callable[[pl.DataFrame, pl.Series], list[int]]:
    """Line numbers of data rows: `first` plus the position plus the newlines inside
    quoted fields of the rows before (counted only when a row is reported)."""

    def locate(frame: pl.DataFrame, positions: pl.Series) -> list[int]:
        texts = [n for n, t in frame.schema.items() if t == pl.String and n != ROW]
        base = positions.cast(pl.Int64) + first
        if not texts or positions.len() == 0:
            return base.to_list()
        newlines = frame.select(
            pl.sum_horizontal(pl.col(texts).str.count_matches("\n", literal=True))
            .cast(pl.Int64)
            .alias("n")
        ).get_column("n")
        if not (newlines > 0).any():
            return base.to_list()
        rows = (
            frame.get_column(ROW).cast(pl.Int64)
            if ROW in frame.columns
            else pl.int_range(0, frame.height, dtype=pl.Int64, eager=True)
        )
        before = pl.DataFrame({"row": rows, "before": newlines.cum_sum() - newlines})
        wanted = pl.DataFrame({"row": positions.cast(pl.Int64)})
        got = wanted.join(before, on="row", how="left", maintain_order="left")
        return (got.get_column("row") + first + got.get_column("before").fill_null(0)).to_list()

    return locate
