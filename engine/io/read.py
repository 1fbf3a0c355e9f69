"""Reading data: one row per unit and period from CSV, Parquet, Excel and JSON files.

Every file goes through the same three steps, and every problem found on the way is kept as
a :class:`~engine.diagnostics.Diagnostic` so that one :class:`DataError` reports them all.

1. **Read raw.** Each file becomes a frame with its header names exactly as written and a
   ``line`` number per row, so messages can say "a.csv lines 5, 9". CSV is decoded by us
   (strict, never lossy: a UTF-8 BOM is stripped, a UTF-16/32 BOM is honoured and decoded,
   anything else uses ``ReadOptions.encoding``), its field counts are checked against the
   header (polars would pad short lines silently), and then polars reads every cell as a
   string (``infer_schema=False``). Lines are numbered as in a text editor (header = line 1);
   Excel rows as in the sheet (header = row 1); Parquet and JSON records from 1.
   Excel is read twice: once as text (headers, tokens) and once with the numeric columns
   as floats, because calamine's float-to-text conversion keeps only 9 digits.
2. **Normalise** (vectorised polars expressions, no loops over cells). Numbers: strip
   surrounding spaces, drop the declared thousands separator (checking the 3-digit
   grouping, so "1,5" is never read as 15), map U+2212 to "-", turn a decimal comma into
   a point, then a strict cast to Float64: whatever fails is ``not-numeric``; NaN and
   infinities are ``not-finite``; declared missing tokens become null. Keys and text:
   strip, NFC, no control characters; keys must not be empty.
3. **Combine.** Files with the same set of required columns are stacked; the stacks are
   full-joined on the keys. Duplicate keys are reported with their files and lines.

Only the required columns are kept (keys, then text, then numeric). A key column whose
values are all plain integers (``2020``, not ``01``) comes back as Int64, else String.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from engine.diagnostics import (
    Code,
    DataError,
    Diagnostic,
    Location,
    Severity,
    UsageError,
    did_you_mean,
    truncate,
)

__all__ = ["Loaded", "ReadOptions", "header_of", "load_data"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
SUFFIXES = (*CSV_SUFFIXES, ".parquet", ".xlsx", ".json", ".ndjson", ".jsonl")
DELIMITERS = (",", ";", "\t", "|")
THOUSANDS = (None, " ", ",", ".", "'")
SPACES = (" ", "\u00a0", "\u202f")  # space, no-break space, narrow no-break space
MAX_LISTED = 10  # line numbers and tokens shown per problem

# Mixed-script unit ids have no code of their own yet; this picks one up once it exists.
MIXED_SCRIPT = Code.MIXED_SCRIPT

# Internal columns; a header name cannot start with NUL (it is a control character).
_LINE = "\x00line"
_FILE = "\x00file"
_TYPED = "\x00float:"


@dataclass(frozen=True)
class ReadOptions:
    """How to read the cells of text files (CSV) and text cells elsewhere.

    >>> ReadOptions(delimiter=";", decimal=",", thousands=" ").decimal
    ','
    """

    delimiter: str | None = None  # None: sniffed from the header line among , ; TAB |
    decimal: str = "."  # "." or ","
    thousands: str | None = None  # None, " ", ",", ".", "'"; " " also means NBSP, U+202F
    encoding: str = "utf-8"  # CSV without a BOM (JSON is always UTF-8); strict, never lossy
    sheet: str | None = None  # Excel sheet name; None: the first sheet
    missing: tuple[str, ...] = ("", "NA", "N/A", "..", "…")  # read as null (not in keys)

    def __post_init__(self) -> None:
        problems = []
        if self.delimiter is not None and len(self.delimiter) != 1:
            problems.append(f"delimiter must be one character, not {self.delimiter!r}")
        if self.decimal not in (".", ","):
            problems.append(f"decimal must be '.' or ',', not {self.decimal!r}")
        if self.thousands not in THOUSANDS:
            problems.append(f"thousands must be one of {THOUSANDS}, not {self.thousands!r}")
        elif self.thousands == self.decimal:
            problems.append("thousands separator and decimal mark must differ")
        if problems:
            raise UsageError(Diagnostic(Code.USAGE, p) for p in problems)


@dataclass(frozen=True)
class Loaded:
    """The combined data and the warnings found while reading it."""

    frame: pl.DataFrame
    warnings: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class _Raw:
    """One file as read: its header as written (stripped), cells, a line number per row.

    Frame columns are the header names, made unique for polars (a duplicate or empty name
    gets a placeholder; both are reported). Excel numeric columns read as floats ride
    along under ``_TYPED + name``.
    """

    file: str
    kind: str  # what the _LINE column counts: "line", "row" or "record"
    header: tuple[str, ...]
    frame: pl.DataFrame


def load_data(
    paths: Sequence[str | Path],
    *,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str] = (),
    options: ReadOptions = ReadOptions(),
) -> Loaded:
    """Read, check and combine data files into one frame: keys, text, numeric columns.

    Missing cells are the tokens in ``options.missing`` (compared after stripping spaces);
    they become null in text and numeric columns. In key columns only an empty cell is
    missing, and that is an error ("NA" is Namibia). Numbers follow ``options.decimal``
    and ``options.thousands`` (see the module docstring). All problems in all files are
    raised together as one :class:`DataError`; warnings come back in ``Loaded.warnings``.

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
    raws = [raw for p in paths if (raw := _read_file(Path(p), numeric, options, problems))]
    _check_columns(raws, keys, required, problems)
    if problems:
        raise DataError(problems)

    warnings: list[Diagnostic] = []
    frames = [_normalise(raw, keys, numeric, text, options, problems, warnings) for raw in raws]
    combined = pl.DataFrame()
    if not any(d.code == Code.MISSING_KEY for d in problems):  # keys must be sound to join
        combined = _combine(frames, raws, keys, required, problems)
    if problems:
        raise DataError(problems)
    if combined.height == 0:
        names = ", ".join(r.file for r in raws)
        raise DataError([Diagnostic(Code.DATA_FILE, f"no data rows in {names}")])
    return Loaded(_integer_keys(combined.select(required), keys), tuple(warnings))


def header_of(path: str | Path, options: ReadOptions = ReadOptions()) -> tuple[str, ...]:
    """The column names of a data file (to tell files of different grains apart).

    An unreadable file gives no names; :func:`load_data` then reports why.
    """
    raw = _read_file(Path(path), (), options, [])
    return raw.header if raw is not None else ()


# ---------------------------------------------------------------- reading files


def _read_file(
    path: Path, numeric: Sequence[str], options: ReadOptions, problems: list[Diagnostic]
) -> _Raw | None:
    """Read one file by its extension; problems are appended, None when unusable."""
    file = str(path)
    suffix = path.suffix.lower()
    reader = {
        **dict.fromkeys(CSV_SUFFIXES, _read_csv),
        ".parquet": _read_parquet,
        ".xlsx": _read_excel,
        **dict.fromkeys((".json", ".ndjson", ".jsonl"), _read_json),
    }.get(suffix)
    if reader is None:
        what = f"unknown data file type '{suffix or path.name}'"
        problems.append(_problem(Code.DATA_FILE, file, what, expected=", ".join(SUFFIXES)))
        return None
    if not path.is_file():
        problems.append(_problem(Code.DATA_FILE, file, "data file not found"))
        return None
    before = len(problems)
    try:
        raw = reader(path, file, numeric, options, problems)
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        problems.append(_problem(Code.DATA_FILE, file, f"cannot read: {truncate(first, 200)}"))
        return None
    if raw is None or len(problems) > before:
        return None
    _check_header(raw, problems)
    if raw.frame.height == 0:
        problems.append(_problem(Code.DATA_FILE, file, "has a header but no data rows"))
    return None if len(problems) > before else raw


def _read_csv(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list
) -> _Raw | None:
    """CSV: decode strictly, sniff the delimiter, check field counts, read all as strings."""
    text = _decode(path.read_bytes(), file, options.encoding, problems)
    if text is None:
        return None
    if not text.strip():
        problems.append(_problem(Code.DATA_FILE, file, "is empty (no header line)"))
        return None
    delimiter = options.delimiter or _sniff_delimiter(text, file, problems)
    if delimiter is None or not _check_field_counts(text, delimiter, file, problems):
        return None
    cells = pl.read_csv(
        text.encode("utf-8"),
        has_header=False,
        separator=delimiter,
        infer_schema=False,
        empty_string_is_null=False,
        raise_if_empty=False,
    )
    # A quoted field may span lines: count its newlines so the rows after it keep their line.
    newlines = pl.sum_horizontal(pl.all().str.count_matches("\n", literal=True).fill_null(0))
    line = pl.int_range(pl.len(), dtype=pl.Int64) + 1 + newlines.cum_sum() - newlines
    cells = cells.with_columns(line.cast(pl.Int64).alias(_LINE))
    header = tuple((v or "").strip() for v in cells.row(0)[:-1])
    body = cells.slice(1).rename(dict(zip(cells.columns[:-1], _frame_names(header))))
    blank = pl.all_horizontal(pl.exclude(_LINE) == "")
    return _Raw(file, "line", header, body.filter(~blank))


def _read_parquet(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list
) -> _Raw:
    frame = pl.read_parquet(path)
    header = tuple(frame.columns)
    frame = frame.rename(dict(zip(frame.columns, _frame_names(header))))
    return _Raw(file, "record", header, _with_line(frame))


def _read_excel(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list
) -> _Raw | None:
    """Excel: the sheet as text (names, tokens) plus its numeric columns as exact floats."""
    sheets = fastexcel.read_excel(path).sheet_names
    if options.sheet is not None and options.sheet not in sheets:
        problems.append(
            _problem(
                Code.DATA_FILE,
                file,
                f"no sheet named '{options.sheet}' (sheets: {', '.join(sheets)})",
                hint=did_you_mean(options.sheet, sheets),
            )
        )
        return None
    sheet = options.sheet if options.sheet is not None else sheets[0]
    common: dict = dict(
        sheet_name=sheet, has_header=False, drop_empty_rows=False, drop_empty_cols=False
    )
    cells = pl.read_excel(path, infer_schema_length=0, **common)
    cells = _with_line(cells.select(pl.all().cast(pl.String)))
    header = tuple((v or "").strip() for v in cells.row(0)[:-1])
    index = {name: i for i, name in enumerate(header) if header.count(name) == 1}
    floats = {index[c]: "float" for c in numeric if c in index}
    body = cells.rename(dict(zip(cells.columns[:-1], _frame_names(header))))
    if floats:
        typed = pl.read_excel(path, read_options={"dtypes": floats}, **common)
        if typed.height != body.height:
            raise ValueError("the sheet reads with different row counts as text and as numbers")
        body = body.with_columns(
            typed.get_column(typed.columns[i]).alias(_TYPED + header[i]) for i in floats
        )
    cells_only = pl.exclude(_LINE, f"^{re.escape(_TYPED)}.*$")
    blank = pl.all_horizontal(cells_only.is_null() | (cells_only.str.strip_chars() == ""))
    return _Raw(file, "row", header, body.slice(1).filter(~blank))


def _read_json(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list
) -> _Raw | None:
    """JSON records, column-oriented JSON, or one record per line (.ndjson/.jsonl).

    Python's parser checks the text first, for what polars lets through: duplicate keys
    in an object (polars keeps one silently), NaN/Infinity (not JSON) and true/false in a
    numeric column (polars turns ``true`` into 1 next to numbers).
    """
    text = _decode(path.read_bytes(), file, "utf-8", problems)
    if text is None:
        return None
    booleans: set[str] = set()
    per_line = path.suffix.lower() in (".ndjson", ".jsonl")
    chunks = [c for c in text.splitlines() if c.strip()] if per_line else [text]
    try:
        hook = _json_object(booleans)
        docs = [json.loads(c, object_pairs_hook=hook, parse_constant=_no_nan) for c in chunks]
    except ValueError as exc:
        problems.append(_problem(Code.DATA_FILE, file, f"not valid JSON: {truncate(str(exc))}"))
        return None
    data = text.encode("utf-8")
    top = docs[0] if docs else None
    if per_line:
        frame = pl.read_ndjson(data, infer_schema_length=None)
    elif isinstance(top, list) and all(isinstance(r, dict) for r in top):
        frame = pl.read_json(data, infer_schema_length=None)
    elif isinstance(top, dict) and all(isinstance(v, list) for v in top.values()):
        frame = pl.read_json(data, infer_schema_length=None).explode(pl.all())
    else:
        what = "must be a list of records or an object of equal-length column lists"
        problems.append(_problem(Code.DATA_FILE, file, what))
        return None
    for name in sorted(booleans & set(numeric) & set(frame.columns)):
        problems.append(_problem(Code.NOT_NUMERIC, file, f"column '{name}' holds true/false"))
    for name, dtype in frame.schema.items():
        if dtype.is_nested():
            problems.append(_problem(Code.DATA_FILE, file, f"column '{name}' holds nested values"))
    header = tuple(frame.columns)
    frame = frame.rename(dict(zip(frame.columns, _frame_names(header))))
    return _Raw(file, "record", header, _with_line(frame))


def _json_object(booleans: set[str]) -> Callable[[list[tuple[str, object]]], dict]:
    def build(pairs: list[tuple[str, object]]) -> dict:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {truncate(key)!r} in an object")
            if isinstance(value, bool):
                booleans.add(key)
            seen[key] = value
        return seen

    return build


def _no_nan(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _with_line(frame: pl.DataFrame) -> pl.DataFrame:
    """Number the rows from 1 (the header, when read as a row, is 1)."""
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(_LINE))


# ---------------------------------------------------------------- text files


def _decode(data: bytes, file: str, encoding: str, problems: list) -> str | None:
    """Bytes to text, strictly. A BOM decides the encoding (UTF-8, or UTF-16/32, which
    is decoded, not rejected); otherwise `encoding` does."""
    boms = (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    )
    codec = next((c for bom, c in boms if data.startswith(bom)), encoding)
    try:
        return data.decode(codec)
    except LookupError:
        raise UsageError([Diagnostic(Code.USAGE, f"unknown encoding {encoding!r}")]) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            Diagnostic(
                Code.DATA_FILE,
                f"not valid {codec} text: byte {data[exc.start]:#04x} on line {line}",
                Location(file, line),
                hint="give the file's encoding (for example cp1251) or re-save it as UTF-8",
            )
        )
        return None


def _sniff_delimiter(text: str, file: str, problems: list) -> str | None:
    """The one delimiter among , ; TAB | in the header line (outside quotes), else ','."""
    first = text.split("\n", 1)[0]
    found = {d: n for d in DELIMITERS if (n := re.sub(r'"[^"]*"', "", first).count(d))}
    if len(found) <= 1:
        return next(iter(found), ",")
    shown = ", ".join(f"{d!r} ×{n}" for d, n in found.items())
    problems.append(
        Diagnostic(
            Code.DATA_FILE,
            f"cannot tell the delimiter: the header line has {shown}",
            Location(file, 1, source_line=truncate(first, 120)),
            hint="set the delimiter explicitly",
        )
    )
    return None


def _check_field_counts(text: str, delimiter: str, file: str, problems: list) -> bool:
    """Every line must have as many fields as the header (polars pads short lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    ragged: list[tuple[int, int]] = []
    width, previous = -1, 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if width < 0:
                width = len(row)
            elif row and len(row) != width:
                ragged.append((start, len(row)))
    except csv.Error as exc:
        where = Location(file, reader.line_num)
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


# ---------------------------------------------------------------- headers and columns


def _frame_names(header: Sequence[str]) -> list[str]:
    """Header names usable as polars columns: an empty or repeated name gets a placeholder
    (both are reported by `_check_header`)."""
    out: list[str] = []
    for i, name in enumerate(header):
        out.append(name if name and name not in out else f"\x00{i}")
    return out


def _check_header(raw: _Raw, problems: list) -> None:
    """Reject empty, repeated and Excel-invented ('__UNNAMED__n') column names."""
    empty = [i for i, name in enumerate(raw.header, start=1) if not name]
    if empty:
        problems.append(
            _problem(
                Code.DATA_FILE,
                raw.file,
                f"empty column name in column {', '.join(map(str, empty))}",
                hint="name every column (or remove a trailing delimiter)",
            )
        )
    counts = {n: raw.header.count(n) for n in raw.header if n}
    for name in (n for n, k in counts.items() if k > 1):
        problems.append(
            _problem(
                Code.DATA_FILE,
                raw.file,
                f"column name '{name}' appears {counts[name]} times",
                hint="rename the columns so every name is unique",
            )
        )
    for name in raw.header:
        if re.search(r"[\x00-\x1f\x7f]", name):
            problems.append(
                _problem(Code.DATA_FILE, raw.file, f"column name {name!r} has control characters")
            )
        if name.startswith(("__UNNAMED__", "Unnamed:")):
            problems.append(
                _problem(
                    Code.DATA_FILE,
                    raw.file,
                    f"column name '{name}' was made up by a spreadsheet reader",
                    hint="use exactly one header row with a name in every column "
                    "(merged header cells are not supported)",
                )
            )


def _check_columns(
    raws: Sequence[_Raw], keys: Sequence[str], required: Sequence[str], problems: list
) -> None:
    """Every file needs every key; every other required column must be in some file."""
    everywhere = {n for raw in raws for n in raw.header}

    def missing(raw: _Raw, name: str, what: str, candidates: Iterable[str]) -> Diagnostic:
        present = ", ".join(n for n in raw.header if n) or "none"
        return _problem(
            Code.MISSING_COLUMN,
            raw.file,
            f"{what} '{name}' is missing (columns present: {truncate(present, 200)})",
            hint=did_you_mean(name, candidates),
        )

    for raw in raws:
        problems.extend(
            missing(raw, k, "key column", raw.header) for k in keys if k not in raw.header
        )
    if not raws:
        return
    others = f" or any of {', '.join(r.file for r in raws[1:])}" if len(raws) > 1 else ""
    problems.extend(
        missing(raws[0], name, "column", everywhere)
        if not others
        else _problem(
            Code.MISSING_COLUMN,
            raws[0].file,
            f"column '{name}' is missing from {raws[0].file}{others}",
            hint=did_you_mean(name, everywhere),
        )
        for name in required
        if name not in keys and name not in everywhere
    )


# ---------------------------------------------------------------- cells


def _normalise(
    raw: _Raw,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    options: ReadOptions,
    problems: list,
    warnings: list,
) -> pl.DataFrame:
    """The file's required columns as String keys/text and Float64 numbers, plus origin."""
    frame = raw.frame
    columns: list[pl.Series] = []
    for name in dict.fromkeys([*keys, *text, *numeric]):
        if name not in raw.header:
            continue
        if name in keys:
            columns.append(_key_column(raw, name, problems, warnings))
        elif name in text:
            columns.append(_text_column(raw, name, options))
        else:
            columns.append(_numeric_column(raw, name, options, problems))
    return pl.DataFrame(columns).with_columns(
        frame.get_column(_LINE), pl.lit(raw.file, pl.String).alias(_FILE)
    )


def _as_text(series: pl.Series) -> pl.Series:
    """Any column as strings; whole floats (Excel's 2020.0) as integers first."""
    if series.dtype.is_float():
        finite = series.drop_nulls()
        if finite.is_finite().all() and (finite == finite.round(0)).all():
            series = series.cast(pl.Int64)
    return series.cast(pl.String)


def _clean(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.normalize("NFC")


def _key_column(raw: _Raw, name: str, problems: list, warnings: list) -> pl.Series:
    """Strip and NFC-normalise a key; it must not be empty or hold control characters."""
    frame = raw.frame.select(
        _clean(pl.lit(_as_text(raw.frame.get_column(name)))).alias(name), pl.col(_LINE)
    )
    value = pl.col(name)
    empty = frame.filter(value.is_null() | (value == ""))
    if empty.height:
        problems.append(
            _cells_problem(raw, Code.MISSING_KEY, f"key column '{name}' is empty", empty, None)
        )
    control = frame.filter(value.str.contains(r"\p{Cc}"))
    if control.height:
        what = f"key column '{name}' has control characters (tab, newline, …)"
        problems.append(_cells_problem(raw, Code.MISSING_KEY, what, control, name))
    scripts = sum(
        value.str.contains(rf"\p{{{s}}}").fill_null(False).cast(pl.Int8)
        for s in ("Latin", "Cyrillic", "Greek")
    )
    mixed = frame.filter(scripts > 1)
    if mixed.height:
        what = f"key column '{name}' mixes Latin, Cyrillic or Greek letters in one value"
        warnings.append(
            _cells_problem(
                raw,
                MIXED_SCRIPT,
                what,
                mixed,
                name,
                severity=Severity.WARNING,
                hint="look-alike letters make two different ids (Cyrillic 'А' is not 'A')",
            )
        )
    return frame.get_column(name)


def _text_column(raw: _Raw, name: str, options: ReadOptions) -> pl.Series:
    """A label: stripped, NFC; a missing token becomes null."""
    value = _clean(pl.lit(_as_text(raw.frame.get_column(name))))
    missing = value.is_null() | value.is_in(list(options.missing))
    return raw.frame.select(pl.when(~missing).then(value).alias(name)).get_column(name)


def _numeric_column(raw: _Raw, name: str, options: ReadOptions, problems: list) -> pl.Series:
    """Float64 values; every cell that is not a finite number or missing is reported."""
    series = raw.frame.get_column(name)
    if series.dtype.is_numeric() or series.dtype == pl.Null:
        # the cell as text is only needed to report a bad value: made for those rows only
        frame = raw.frame.select(pl.col(name).cast(pl.Float64), _LINE).with_columns(
            pl.col(name).alias("token")
        )
    elif series.dtype == pl.String:
        value, bad = _parse_numbers(pl.col(name), options)
        typed = _TYPED + name
        if typed in raw.frame.columns:  # Excel: keep the exact float of a number cell
            is_bool = pl.col(name).str.to_lowercase().is_in(["true", "false"])
            exact = pl.when(~is_bool).then(pl.col(typed))
            value, bad = pl.coalesce(exact, value), bad & exact.is_null()
        frame = raw.frame.select(
            value.alias(name), bad.alias("bad"), pl.col(name).alias("token"), pl.col(_LINE)
        )
        rows = frame.filter("bad")
        if rows.height:
            what = f"column '{name}' has text where a number is expected"
            hint = _number_hint(rows.get_column("token"), options)
            problems.append(_cells_problem(raw, Code.NOT_NUMERIC, what, rows, "token", hint=hint))
    else:
        problems.append(
            _problem(Code.NOT_NUMERIC, raw.file, f"column '{name}' has type {series.dtype}")
        )
        return pl.Series(name, [None] * series.len(), pl.Float64)
    x = pl.col(name)
    odd = (
        frame.filter(x.is_nan() | x.is_infinite())
        if not frame.select(x.is_finite().all()).item()
        else (frame.head(0))
    )
    if odd.height:
        odd = odd.with_columns(pl.col("token").cast(pl.String))
        what = f"column '{name}' has NaN or infinite values"
        problems.append(_cells_problem(raw, Code.NOT_FINITE, what, odd, "token"))
    return frame.get_column(name)


def _parse_numbers(token: pl.Expr, options: ReadOptions) -> tuple[pl.Expr, pl.Expr]:
    """(value, bad) for strings: missing tokens give null; anything unparsable is bad.

    A thousands separator is only accepted in 3-digit groups ("1 234 567,5"); with a
    decimal comma a point is rejected rather than guessed at ("1.234" could be 1234).
    """
    s = token.str.strip_chars()
    missing = s.is_null() | s.is_in(list(options.missing))
    s = s.str.replace_all("\u2212", "-", literal=True)
    ok = pl.lit(True)
    if options.thousands is not None:
        seps = SPACES if options.thousands == " " else (options.thousands,)
        group = "[" + "".join(re.escape(c) for c in seps) + "]"
        point = re.escape(options.decimal)
        grouped = rf"^[+-]?[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?:{point}[0-9]*)?$"
        ok = ~s.str.contains(group) | s.str.contains(grouped)
        s = s.str.replace_all(group, "")
    if options.decimal == ",":
        ok = ok & ~s.str.contains(".", literal=True)
        s = s.str.replace_all(",", ".", literal=True)
    value = pl.when(ok & ~missing).then(s.cast(pl.Float64, strict=False))
    return value, ~missing & value.is_null()


def _number_hint(tokens: pl.Series, options: ReadOptions) -> str | None:
    sample = tokens.drop_nulls().str.strip_chars()
    if options.decimal == "." and sample.str.contains(r"^[+\-\u2212]?[0-9]+,[0-9]+$").any():
        return "is ',' the decimal mark? set decimal=','"
    if options.thousands is None and sample.str.contains(r"[0-9][ \u00a0\u202f][0-9]").any():
        return "are spaces thousands separators? set thousands=' '"
    return "add the token to the missing markers if it means 'no data'"


# ---------------------------------------------------------------- combining files


def _combine(
    frames: Sequence[pl.DataFrame],
    raws: Sequence[_Raw],
    keys: Sequence[str],
    required: Sequence[str],
    problems: list,
) -> pl.DataFrame:
    """Stack files with the same columns, check duplicate keys, full-join the stacks."""
    kinds = {raw.file: raw.kind for raw in raws}
    groups: dict[tuple[str, ...], list[pl.DataFrame]] = {}
    for frame in frames:
        names = tuple(c for c in required if c in frame.columns)
        groups.setdefault(names, []).append(frame.select(*names, _FILE, _LINE))
    stacks = {names: pl.concat(parts) for names, parts in groups.items()}
    for stack in stacks.values():
        _check_duplicates(stack, keys, kinds, problems)
    owner: dict[str, pl.DataFrame] = {}
    for names, stack in stacks.items():
        for name in names:
            if name in keys:
                continue
            if name in owner:
                a, b = owner[name].item(0, _FILE), stack.item(0, _FILE)
                problems.append(
                    _problem(
                        Code.DATA_FILE,
                        b,
                        f"column '{name}' is in both {a} and {b}, which have different "
                        "columns: which one counts is ambiguous",
                        hint="give the files the same columns (to stack them) or drop "
                        "the column from one of them",
                    )
                )
            owner[name] = stack
    joined: pl.DataFrame | None = None
    for stack in stacks.values():
        stack = stack.drop(_FILE, _LINE)
        joined = (
            stack
            if joined is None
            else joined.join(stack, on=list(keys), how="full", coalesce=True)
        )
    assert joined is not None
    return joined


def _check_duplicates(
    stack: pl.DataFrame, keys: Sequence[str], kinds: dict[str, str], problems: list
) -> None:
    dupes = stack.filter(pl.struct(keys).is_duplicated())
    if not dupes.height:
        return
    for group in dupes.group_by(keys, maintain_order=True).agg(_FILE, _LINE).iter_rows(named=True):
        ident = ", ".join(f"{k}={group[k]!r}" for k in keys)
        places: dict[str, list[int]] = {}
        for file, line in zip(group[_FILE], group[_LINE]):
            places.setdefault(file, []).append(line)
        where = "; ".join(f"{f} {_lines(kinds[f], ls)}" for f, ls in places.items())
        first = group[_FILE][0]
        problems.append(
            Diagnostic(
                Code.DUPLICATE_ROW,
                f"{len(group[_LINE])} rows for {ident}: {where}",
                Location(first, group[_LINE][0]),
                hint="keep one row per " + " and ".join(keys),
            )
        )


def _integer_keys(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Key columns whose every value is a plain integer ('2020', not '01') become Int64."""
    plain = r"^-?(?:0|[1-9][0-9]{0,17})$"
    ints = [k for k in keys if frame.get_column(k).str.contains(plain).all()]
    return frame.with_columns(pl.col(ints).cast(pl.Int64))


# ---------------------------------------------------------------- messages


def _problem(code: Code, file: str, message: str, **extra: object) -> Diagnostic:
    return Diagnostic(code, message, Location(file), **extra)  # type: ignore[arg-type]


def _lines(kind: str, numbers: Sequence[int]) -> str:
    """'line 5', 'lines 5, 9' or 'lines 1, 2, …, 10 and 7 more'."""
    shown = ", ".join(map(str, numbers[:MAX_LISTED]))
    more = f" and {len(numbers) - MAX_LISTED} more" if len(numbers) > MAX_LISTED else ""
    return f"{kind}{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _cells_problem(
    raw: _Raw,
    code: Code,
    what: str,
    rows: pl.DataFrame,
    token_column: str | None,
    *,
    severity: Severity = Severity.ERROR,
    hint: str | None = None,
) -> Diagnostic:
    """One diagnostic for all offending cells of a column: lines, then distinct tokens."""
    lines = rows.get_column(_LINE).to_list()
    message = f"{what} at {_lines(raw.kind, lines)}"
    if token_column is not None:
        counts = rows.get_column(token_column).value_counts(sort=True, name="n")
        shown = [
            f"{truncate(str(t) if t is not None else '')!r}" + (f" ×{n}" if n > 1 else "")
            for t, n in counts.head(5).iter_rows()
        ]
        extra = f" and {counts.height - 5} more" if counts.height > 5 else ""
        message += f": {', '.join(shown)}{extra}"
    return Diagnostic(code, message, Location(raw.file, lines[0]), hint=hint, severity=severity)
