"""How data files are read: the reader's options and what it returns.

Every option is explicit; nothing about a cell is guessed. Numbers follow ``decimal``
and ``thousands``; ``missing`` lists the tokens that mean "no value"; unit ids and other
key values have surrounding spaces trimmed (and the rows where that happened reported as
a warning) or kept, as ``id_spaces`` says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError

__all__ = [
    "CSV_SUFFIXES",
    "DELIMITERS",
    "EXCEL_SUFFIXES",
    "IPC_SUFFIXES",
    "JSON_SUFFIXES",
    "SPACES",
    "SUFFIXES",
    "THOUSANDS",
    "IdSpaces",
    "Loaded",
    "ReadOptions",
]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
IPC_SUFFIXES = (".arrow", ".feather", ".ipc")
EXCEL_SUFFIXES = (".xlsx",)
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
SUFFIXES = (*CSV_SUFFIXES, ".parquet", *IPC_SUFFIXES, *EXCEL_SUFFIXES, *JSON_SUFFIXES)
DELIMITERS = (",", ";", "\t", "|")
THOUSANDS = (None, " ", ",", ".", "'")
SPACES = (" ", "\u00a0", "\u202f", "\u2009")  # space, no-break, narrow no-break, thin space


class IdSpaces(enum.StrEnum):
    """What happens to spaces around a key value (unit id, period, detail key)."""

    TRIM = "trim"  # removed; the rows where it happened are named in a warning
    KEEP = "keep"  # kept: ' Almaty' and 'Almaty' are two units


@dataclass(frozen=True)
class ReadOptions:
    """How to read the cells of data files.

    ``unicode_minus``: the minus sign U+2212 ("−5", as spreadsheets and yearbooks print
    it) reads as "-". ``None`` accepts it when a yearbook number convention is declared
    (``decimal=","`` or a ``thousands`` separator) and reports it otherwise.

    >>> ReadOptions(delimiter=";", decimal=",", thousands=" ").decimal
    ','
    """

    delimiter: str | None = None  # None: sniffed from the header line among , ; TAB |
    decimal: str = "."  # "." or ","
    thousands: str | None = None  # None, " ", ",", ".", "'"; " " also means NBSP, U+202F, U+2009
    encoding: str = "utf-8"  # CSV without a BOM (JSON is always UTF-8); strict, never lossy
    sheet: str | int | None = None  # Excel sheet: name, or 0-based index; None: the first
    missing: tuple[str, ...] = ("", "NA", "N/A", "..", "…")  # read as null (not in keys)
    skip_rows: int = 0  # title lines (CSV) or rows (Excel) above the header
    id_spaces: IdSpaces = IdSpaces.TRIM
    unicode_minus: bool | None = None

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
        if isinstance(self.sheet, int) and self.sheet < 0:
            problems.append(f"sheet index must be 0 or more, not {self.sheet}")
        if self.skip_rows < 0:
            problems.append(f"skip_rows must be 0 or more, not {self.skip_rows}")
        if self.id_spaces not in tuple(IdSpaces):
            problems.append(f"id_spaces must be 'trim' or 'keep', not {self.id_spaces!r}")
        if problems:
            raise UsageError(Diagnostic(Code.USAGE, p) for p in problems)

    @property
    def accepts_unicode_minus(self) -> bool:
        if self.unicode_minus is not None:
            return self.unicode_minus
        return self.decimal == "," or self.thousands is not None


@dataclass(frozen=True)
class Loaded:
    """The combined data and the warnings found while reading it."""

    frame: pl.DataFrame
    warnings: tuple[Diagnostic, ...] = ()
