"""One Excel workbook with several tables, one per sheet (like COINr's ``export_to_excel``).

Each sheet has a bold header row frozen at the top, an autofilter, and columns sized to
their content (at most :data:`MAX_WIDTH` characters wide; longer text wraps). Numbers are
written as numbers with 16 significant digits (xlsxwriter's ``%.16G``; the cell format
shows :data:`DECIMALS` decimals), missing and non-finite values as empty cells. Sheet
names are cut to Excel's 31 characters and made unique.

The safety rules of :mod:`engine.io.write` hold here too: text that a spreadsheet would
run as a formula is written with a leading apostrophe, strings are never turned into
formulas, numbers or links, and the file is written atomically, never over an input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError
from engine.extras import Extra, require
from engine.io.write import escaped

__all__ = ["fill_workbook"]

MAX_WIDTH = 60  # characters
MAX_ROWS = 1_048_575  # an Excel sheet's rows below the header
DECIMALS = 6
_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_names(names: Sequence[str]) -> list[str]:
    """Excel-safe, unique sheet names (at most 31 characters, none of []:*?/\\)."""
    out: list[str] = []
    for name in names:
        base = (name.translate(_FORBIDDEN).strip("'") or "sheet")[:31]
        candidate, k = base, 2
        while candidate.lower() in (o.lower() for o in out):
            suffix = f" ({k})"
            candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
        out.append(candidate)
    return out


def _width(frame: pl.DataFrame, column: str) -> int:
    """Characters needed by the header and the longest cell (sampled), within MAX_WIDTH."""
    sample = frame.get_column(column).head(2000)
    longest = sample.cast(pl.String).str.len_chars().max() if sample.len() else 0
    return min(MAX_WIDTH, max(len(column), int(str(longest or 0))) + 2)


def fill_workbook(sheets: Mapping[str, pl.DataFrame], path: Path) -> None:
    """Write the sheets into the new file `path` (the caller makes the write atomic)."""
    too_long = [name for name, frame in sheets.items() if frame.height > MAX_ROWS]
    if too_long:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"the table '{name}' has more rows than an Excel sheet holds "
                    f"({MAX_ROWS:,} below the header)",
                    hint="write .parquet or .csv instead",
                )
                for name in too_long
            ]
        )
    xlsxwriter = require("xlsxwriter", Extra.EXCEL, "writing Excel files")
    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(str(path), options) as book:
        header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True})
        formats = {
            "float": book.add_format({"num_format": "0." + "0" * DECIMALS}),
            "int": book.add_format({"num_format": "0"}),
            "text": book.add_format({"text_wrap": True, "valign": "top"}),
        }
        for name, frame in zip(_sheet_names(list(sheets)), sheets.values()):
            sheet = book.add_worksheet(name)
            frame = escaped(frame)
            for j, column in enumerate(frame.columns):
                dtype = frame.schema[column]
                kind = (
                    "float"
                    if dtype.is_float()
                    else "int"
                    if dtype.is_integer()
                    else "text"
                    if dtype == pl.String
                    else None
                )
                sheet.write_string(0, j, column, header)
                sheet.set_column(j, j, _width(frame, column), formats.get(kind or ""))
                for i, v in enumerate(frame.get_column(column).to_list(), start=1):
                    if v is None:
                        continue
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        sheet.write_string(i, j, _cell(v))
                    elif math.isfinite(v):
                        sheet.write_number(i, j, v)
            sheet.freeze_panes(1, 0)
            if frame.width:
                sheet.autofilter(0, 0, max(frame.height, 1), frame.width - 1)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
