"""Excel workbooks (.xlsx), read by polars through fastexcel (calamine).

The sheet is chosen by name or by 0-based index; a name or index that is not there is
reported with the list of sheets. ``skip_rows`` title rows above the header are
dropped. The sheet is read twice: once as text (header names, tokens such as ``-`` or
``n/a``) and once with the numeric columns as floats, because calamine's float-to-text
conversion keeps only 9 digits. Rows are numbered as in the sheet (row 1 is the first).
fastexcel is imported only when a workbook is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from engine.diagnostics import Code, Diagnostic, did_you_mean
from engine.io.read.options import ReadOptions
from engine.io.read.source import ROW, TYPED, Source, frame_names, offset_locator, problem

__all__ = ["read_excel", "sheet_names"]


def sheet_names(path: Path) -> list[str]:
    from engine.extras import Extra, require

    fastexcel = require("fastexcel", Extra.EXCEL, "reading Excel files")

    return list(fastexcel.read_excel(path).sheet_names)


def read_excel(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list[Diagnostic]
) -> Source | None:
    """The sheet as text (names, tokens) plus its numeric columns as exact floats."""
    sheets = sheet_names(path)
    sheet = _pick_sheet(sheets, options.sheet, file, problems)
    if sheet is None:
        return None
    common: dict[str, Any] = dict(
        sheet_name=sheet, has_header=False, drop_empty_rows=False, drop_empty_cols=False
    )
    cells = pl.read_excel(path, infer_schema_length=0, **common)
    cells = cells.select(pl.all().cast(pl.String)).slice(options.skip_rows)
    if cells.height == 0:
        problems.append(problem(Code.DATA_FILE, file, f"sheet '{sheet}' has no header row"))
        return None
    header = tuple((v or "").strip() for v in cells.row(0))
    index = {name: i for i, name in enumerate(header) if header.count(name) == 1}
    floats = {index[c]: "float" for c in numeric if c in index}
    body = cells.rename(dict(zip(cells.columns, frame_names(header)))).slice(1)
    if floats:
        typed = pl.read_excel(path, read_options={"dtypes": floats}, **common)
        typed = typed.slice(options.skip_rows + 1)
        if typed.height != body.height:
            raise ValueError("the sheet reads with different row counts as text and as numbers")
        body = body.with_columns(
            typed.get_column(typed.columns[i]).alias(TYPED + header[i]) for i in floats
        )
    cells_only = pl.exclude(f"^{re.escape(TYPED)}.*$", ROW)
    blank = pl.all_horizontal(cells_only.is_null() | (cells_only.str.strip_chars() == ""))
    body = body.with_row_index(ROW).filter(~blank)
    return Source(file, "row", header, body, offset_locator(options.skip_rows + 2))


def _pick_sheet(
    sheets: list[str], wanted: str | int | None, file: str, problems: list[Diagnostic]
) -> str | None:
    listed = ", ".join(f"{i}: '{s}'" for i, s in enumerate(sheets))
    if wanted is None:
        return sheets[0] if sheets else None
    if isinstance(wanted, int):
        if wanted < len(sheets):
            return sheets[wanted]
        problems.append(
            problem(Code.DATA_FILE, file, f"no sheet number {wanted} (sheets: {listed})")
        )
        return None
    if wanted in sheets:
        return wanted
    problems.append(
        problem(
            Code.DATA_FILE,
            file,
            f"no sheet named '{wanted}' (sheets: {listed})",
            hint=did_you_mean(wanted, sheets),
        )
    )
    return None
