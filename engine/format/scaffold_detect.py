"""What ``indexlab init`` learns from a data file: the unit, period, label and input columns.

Detection looks at every cell as text. Those cells come from polars directly (a CSV is
decoded with the chosen encoding and its delimiter sniffed as the reader does; Parquet,
Excel and JSON columns are cast to text), because :func:`engine.io.read.load_data` needs
the key columns this module is looking for. What is found is then confirmed by reading
the data for real with ``load_data`` (see :mod:`engine.format.scaffold`).

Rules, in order:

* **numbers**: a column is numeric when every cell that is not a missing marker is a
  number. Unless ``--decimal``/``--thousands`` are given, a decimal comma is assumed when
  numbers are written ``1,5`` and never ``1.5``, and a space as thousands separator when
  ``1 234`` occurs.
* **period**: a column named like one (``year``, ``period``, ``date``, ``год``, ``Jahr``
  …) or whose values all look like periods (``2010``, ``2010Q1``, ``2010-03``) and repeat
  (at most half as many distinct values as rows). Several candidates: ambiguous.
* **unit**: a text column that identifies the rows within each period (no empty cell,
  no repeat). Several: the one named like an identifier (``region``, ``country``,
  ``iso3``, ``id`` …), else the file's first column; otherwise ambiguous.
* **labels**: the other text columns; **inputs**: the other numeric columns, except row
  numbers (whole numbers 1, 2, …, n in file order).

Ambiguity raises :class:`Ambiguous` naming the candidates, so the command line can ask
or tell the user to choose with ``--unit``/``--period``.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.diagnostics import Code, DataError, Diagnostic, Location, UsageError
from engine.io.read import ReadOptions
from engine.io.read.options import CSV_SUFFIXES

__all__ = ["Ambiguous", "Columns", "detect_columns", "read_text"]

_DELIMITERS = (",", ";", "\t", "|")
_PERIOD_WORDS = {
    "year", "years", "yr", "period", "date", "time", "fy", "jahr", "annee", "année",
    "anno", "año", "ano", "rok", "год", "годы", "жыл", "quarter", "month",
}  # fmt: skip
_ID_WORDS = {
    "unit", "id", "code", "iso", "iso2", "iso3", "region", "country", "name", "town", "city",
    "district", "municipality", "province", "state", "county", "land", "nuts", "geo",
    "регион", "область", "район", "страна", "город", "name_en",
}  # fmt: skip
_PERIOD_VALUE = re.compile(r"(1[89]|2[01])\d\d(?:[-/ ]?(?:[QqHh][1-4]|[Mm]?(?:0?[1-9]|1[0-2])))?")
_NUMBER_POINT = re.compile(r"[+\-\u2212]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_COMMA = re.compile(r"[+\-\u2212]?\d+,\d+")
_GROUPED = re.compile(r"[+\-\u2212]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d*)?")


class Ambiguous(UsageError):
    """Several columns could be the unit (or the period); the user must choose."""

    def __init__(self, role: str, candidates: Sequence[str], why: str):
        self.role = role
        self.candidates = tuple(candidates)
        names = ", ".join(f"'{c}'" for c in candidates)
        super().__init__(
            [
                Diagnostic(
                    Code.USAGE,
                    f"which column is the {role}? {why}: {names}",
                    expected=f"--{role} NAME, one of: {names}",
                )
            ]
        )


@dataclass(frozen=True)
class Columns:
    """The roles of a data file's columns (headers as written)."""

    unit: str
    period: str | None
    labels: tuple[str, ...]
    inputs: tuple[str, ...]
    row_numbers: tuple[str, ...]
    options: ReadOptions


def read_text(path: Path, options: ReadOptions) -> pl.DataFrame:
    """Every cell of a data file as stripped text (null when empty), headers as written."""
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            frame = _read_csv(path, options)
        elif suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix in (".ipc", ".arrow", ".feather"):
            frame = pl.read_ipc(path)
        elif suffix == ".xlsx":
            frame = _read_excel(path, options)
        elif suffix == ".json":
            frame = pl.read_json(path)
        elif suffix in (".ndjson", ".jsonl"):
            frame = pl.read_ndjson(path)
        else:
            raise UsageError([Diagnostic(Code.USAGE, f"'{path}' is not a data file I can read")])
    except (OSError, pl.exceptions.PolarsError, UnicodeDecodeError, ValueError) as err:
        raise DataError(
            [Diagnostic(Code.DATA_FILE, f"cannot read the file: {err}", Location(str(path)))]
        ) from None
    whole = [  # a year read from Excel as 2010.0 is the text 2010
        c
        for c, dtype in frame.schema.items()
        if dtype.is_float() and frame.select((pl.col(c).drop_nulls() % 1 == 0).all()).item()
    ]
    frame = frame.with_columns(pl.col(whole).cast(pl.Int64))
    text = frame.select(pl.all().cast(pl.String).str.strip_chars())
    return text.select(pl.when(pl.all() != "").then(pl.all()).name.keep())


def _read_excel(path: Path, options: ReadOptions) -> pl.DataFrame:
    sheet = options.sheet
    header = {"header_row": options.skip_rows} if options.skip_rows else None
    if isinstance(sheet, str):
        return pl.read_excel(path, sheet_name=sheet, read_options=header)
    return pl.read_excel(path, sheet_id=(sheet or 0) + 1, read_options=header)


def _read_csv(path: Path, options: ReadOptions) -> pl.DataFrame:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8")
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        text = raw.decode(options.encoding)
    if options.skip_rows:  # title lines above the header
        text = text.split("\n", options.skip_rows)[-1]
    header = text.split("\n", 1)[0]
    delimiter = options.delimiter or max(_DELIMITERS, key=header.count)
    return pl.read_csv(
        io.StringIO(text), separator=delimiter, infer_schema=False, truncate_ragged_lines=False
    )


# --------------------------------------------------------------------------- numbers


def numbers_options(frame: pl.DataFrame, options: ReadOptions, fixed: bool) -> ReadOptions:
    """`options`, or with a decimal comma / space thousands when the cells say so."""
    if fixed:
        return options
    cells = [c for col in frame.columns for c in frame.get_column(col).drop_nulls().to_list()]
    grouped = any(_GROUPED.fullmatch(c) and not _NUMBER_POINT.fullmatch(c) for c in cells)
    bare = [re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d{3})", "", c) for c in cells] if grouped else cells
    comma = sum(1 for c in bare if _NUMBER_COMMA.fullmatch(c))
    point = sum(1 for c in bare if re.fullmatch(r"[+\-\u2212]?\d+\.\d+", c))
    decimal = "," if comma and not point else options.decimal
    thousands = " " if grouped else options.thousands
    if thousands == decimal:
        thousands = None
    return dataclasses.replace(options, decimal=decimal, thousands=thousands)


def _is_number(cell: str, options: ReadOptions) -> bool:
    s = cell.replace("\u2212", "-")
    if options.thousands is not None:
        seps = " \u00a0\u202f" if options.thousands == " " else options.thousands
        if any(sep in s for sep in seps):
            if not _GROUPED.fullmatch(s) and options.thousands == " ":
                return False
            s = "".join(ch for ch in s if ch not in seps)
    if options.decimal == ",":
        if "." in s:
            return False
        s = s.replace(",", ".")
    return _NUMBER_POINT.fullmatch(s) is not None


def _numeric(series: pl.Series, options: ReadOptions) -> bool:
    cells = [c for c in series.drop_nulls().to_list() if c not in options.missing]
    return bool(cells) and all(_is_number(c, options) for c in cells)


# --------------------------------------------------------------------------- roles


def _words(header: str) -> set[str]:
    return set(re.split(r"[^\w]+|_", header.lower())) - {""}


def _looks_like_period(series: pl.Series) -> bool:
    values = series.drop_nulls()
    if values.len() == 0 or values.len() != series.len():
        return False
    if not all(_PERIOD_VALUE.fullmatch(v) for v in values.to_list()):
        return False
    return values.n_unique() * 2 <= values.len()


def _row_numbers(series: pl.Series) -> bool:
    values = series.to_list()
    return bool(values) and values == [str(i) for i in range(1, len(values) + 1)]


def _identifies(frame: pl.DataFrame, column: str, period: str | None) -> bool:
    col = frame.get_column(column)
    if col.null_count():
        return False
    keys = [column, period] if period else [column]
    return frame.select(pl.struct(keys).is_unique().all()).item() is True


def detect_columns(
    frame: pl.DataFrame,
    options: ReadOptions,
    *,
    numbers_fixed: bool = False,
    unit: str | None = None,
    period: str | None = None,
) -> Columns:
    """The role of each column of `frame` (from :func:`read_text`); see the module rules.

    `unit` and `period` (headers as written) override detection; raises
    :class:`Ambiguous` or :class:`UsageError` when the roles cannot be told.
    """
    opts = numbers_options(frame, options, numbers_fixed)
    columns = frame.columns
    for given, role in ((unit, "unit"), (period, "period")):
        if given is not None and given not in columns:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        f"--{role} '{given}' is not a column of the data",
                        expected="one of: " + ", ".join(f"'{c}'" for c in columns),
                    )
                ]
            )
    numeric = {c for c in columns if _numeric(frame.get_column(c), opts)}
    if period is None:
        period = _detect_period(frame, columns)
    rows = tuple(c for c in columns if c in numeric and c != unit and _row_numbers(frame[c]))
    if unit is None:
        unit = _detect_unit(
            frame,
            [c for c in columns if c not in numeric and c != period],
            [c for c in columns if c in numeric and c not in rows],
            period,
        )
    elif not _identifies(frame, unit, period):
        per = f" within a {period}" if period else ""
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"--unit '{unit}' does not identify the rows{per}: a value repeats or is empty",
                    hint="init writes one row per unit and period; long-form data "
                    "(several rows per unit) needs data.detail: see docs/specialisation.md",
                )
            ]
        )
    taken = {unit, period}
    labels = tuple(c for c in columns if c not in numeric and c not in taken)
    inputs = tuple(c for c in columns if c in numeric and c not in taken and c not in rows)
    return Columns(unit, period, labels, inputs, rows, opts)


def _detect_period(frame: pl.DataFrame, columns: Sequence[str]) -> str | None:
    by_value = [c for c in columns if _looks_like_period(frame.get_column(c))]
    named = [c for c in columns if _words(c) & _PERIOD_WORDS and frame[c].null_count() == 0]
    both = [c for c in by_value if c in named]
    for found in (both, by_value, named):
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise Ambiguous("period", found, "several columns look like periods")
    return None


def _detect_unit(
    frame: pl.DataFrame, text: Sequence[str], numbers: Sequence[str], period: str | None
) -> str:
    candidates = [c for c in text if _identifies(frame, c, period)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        named = [c for c in candidates if _words(c) & _ID_WORDS]
        if len(named) == 1:
            return named[0]
        if frame.columns[0] in candidates:
            return frame.columns[0]
        raise Ambiguous("unit", candidates, "several text columns identify the rows")
    codes = [c for c in numbers if c != period and _identifies(frame, c, period)]
    if codes:
        raise Ambiguous("unit", codes, "no text column identifies the rows; these codes do")
    per = f" within a '{period}'" if period else ""
    raise UsageError(
        [
            Diagnostic(
                Code.USAGE,
                f"no column identifies the rows{per}: every text column repeats a value "
                "or has an empty cell",
                expected="one row per unit (and period), with a column naming the unit",
                hint="long-form data (several rows per unit, e.g. per industry) needs "
                "data.detail, which init does not write: see docs/specialisation.md",
            )
        ]
    )
