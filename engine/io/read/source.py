"""One data file as read, before its cells are checked, and the messages that point into it.

A :class:`Source` holds the file's header exactly as written, its cells as a polars
frame (numbers already typed where the format or a fast parse allowed it, text as
strings), and how to turn a row position into the number a person finds in the file:
a line in a text file (header = line 1, title rows above it counted), a row in a sheet,
a record in Parquet, IPC or JSON. Line numbers are only worked out for rows that are
reported, so a clean file never pays for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from engine.diagnostics import Code, Diagnostic, Location, Severity, truncate

__all__ = [
    "MAX_LISTED",
    "ROW",
    "TYPED",
    "Source",
    "cells_problem",
    "frame_names",
    "lines_text",
    "problem",
]

MAX_LISTED = 10  # line numbers and tokens shown per problem

#: the row's position in the file's data rows, kept only when blank rows were dropped
ROW = "\x00row"
#: Excel numeric cells read as exact floats ride along under this prefix
TYPED = "\x00float:"


@dataclass(frozen=True)
class Source:
    """One file: its header as written (stripped), its cells, and where each row is.

    Frame columns are the header names, made unique for polars (a duplicate or empty
    name gets a placeholder; both are reported). ``locate`` maps data-row positions
    (0-based, before blank rows were dropped) to the numbers shown to a person.
    """

    file: str
    kind: str  # what a position counts: "line", "row" or "record"
    header: tuple[str, ...]
    frame: pl.DataFrame
    locate: Callable[[pl.DataFrame, pl.Series], list[int]] = field(compare=False)

    def positions(self, mask: pl.Series) -> pl.Series:
        """The data-row positions of the rows where `mask` is true."""
        rows = (
            self.frame.get_column(ROW)
            if ROW in self.frame.columns
            else pl.int_range(0, self.frame.height, dtype=pl.UInt32, eager=True)
        )
        return rows.filter(mask)

    def lines(self, mask: pl.Series) -> list[int]:
        """The numbers a person finds in the file for the rows where `mask` is true."""
        return self.locate(self.frame, self.positions(mask))


def offset_locator(first: int) -> Callable[[pl.DataFrame, pl.Series], list[int]]:
    """Positions counted from `first` (no row spans several lines)."""

    def locate(frame: pl.DataFrame, positions: pl.Series) -> list[int]:
        return (positions.cast(pl.Int64) + first).to_list()

    return locate


def frame_names(header: Sequence[str]) -> list[str]:
    """Header names usable as polars columns: an empty or repeated name gets a placeholder
    (both are reported by the header check)."""
    out: list[str] = []
    for i, name in enumerate(header):
        out.append(name if name and name not in out else f"\x00{i}")
    return out


def problem(code: Code, file: str, message: str, **extra: str | None) -> Diagnostic:
    """A problem with a whole file (no line)."""
    return Diagnostic(code, message, Location(file), **extra)  # type: ignore[arg-type]


def lines_text(kind: str, numbers: Sequence[int], total: int | None = None) -> str:
    """'line 5', 'lines 5, 9' or 'lines 1, 2, …, 10 and 7 more'."""
    total = len(numbers) if total is None else total
    shown = ", ".join(map(str, numbers[:MAX_LISTED]))
    more = f" and {total - MAX_LISTED} more" if total > MAX_LISTED else ""
    return f"{kind}{'s' if total > 1 else ''} {shown}{more}"


def cells_problem(
    source: Source,
    code: Code,
    what: str,
    mask: pl.Series,
    tokens: pl.Series | None,
    *,
    severity: Severity = Severity.ERROR,
    hint: str | None = None,
) -> Diagnostic:
    """One diagnostic for all offending cells of a column: where, then distinct tokens.

    `mask` marks the offending rows of ``source.frame``; `tokens` (same length) holds
    the cells as written. Only the first rows are located.
    """
    total = int(mask.sum())
    positions = source.positions(mask)
    lines = source.locate(source.frame, positions.head(MAX_LISTED))
    message = f"{what} at {lines_text(source.kind, lines, total)}"
    if tokens is not None:
        counts = tokens.filter(mask).value_counts(sort=True, name="n")
        shown = [
            f"{truncate(str(t) if t is not None else '')!r}" + (f" ×{n}" if n > 1 else "")
            for t, n in counts.head(5).iter_rows()
        ]
        extra = f" and {counts.height - 5} more" if counts.height > 5 else ""
        message += f": {', '.join(shown)}{extra}"
    return Diagnostic(code, message, Location(source.file, lines[0]), hint=hint, severity=severity)
