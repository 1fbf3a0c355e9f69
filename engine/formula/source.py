"""Where a node of a formula's syntax tree is in the methodology file.

:mod:`ast` gives positions as line numbers and *UTF-8 byte* offsets within the formula
text; a diagnostic needs the file, line and *character* column of the YAML file. A
:class:`Source` converts one to the other, finds the column of an operator (which the
syntax tree does not record: it lies between its operands) and cuts excerpts of the
formula for messages and hints.

A formula written on one YAML line is located exactly; a multi-line (block) formula
is located at its start.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from engine.diagnostics import Location, truncate


@dataclass(frozen=True)
class Span:
    """Character offsets into the formula's first line: start, and length (at least 1)."""

    start: int
    length: int = 1


class Source:
    """A formula's text and its place in the file."""

    def __init__(self, text: str, location: Location | None):
        self.text = text
        self.location = location
        #: the text ast.parse sees (a multi-line formula is stripped of outer blanks)
        self.parsed = text.strip() if "\n" in text else text
        self._lines = self.parsed.split("\n")

    # -- offsets -------------------------------------------------------------------
    def char_offset(self, line: int, byte_offset: int) -> int:
        """The character offset of a byte offset on 1-based `line` of the parsed text."""
        if not 1 <= line <= len(self._lines):
            return 0
        raw = self._lines[line - 1].encode("utf-8", "surrogatepass")
        return len(raw[: max(0, byte_offset)].decode("utf-8", "replace"))

    def node_span(self, node: ast.AST) -> Span | None:
        """The characters `node` covers on the first line, or None for a later line."""
        line = getattr(node, "lineno", None)
        if line != 1:
            return None
        start = self.char_offset(1, getattr(node, "col_offset", 0))
        end_line = getattr(node, "end_lineno", None)
        end_byte = getattr(node, "end_col_offset", None)
        if end_line == 1 and end_byte is not None:
            return Span(start, max(1, self.char_offset(1, end_byte) - start))
        return Span(start, 1)

    def operator_span(self, left: ast.AST, right: ast.AST, symbol: str) -> Span | None:
        """Where the operator `symbol` between the nodes `left` and `right` is."""
        if getattr(left, "end_lineno", None) != 1 or getattr(right, "lineno", None) != 1:
            return None
        first = self.char_offset(1, getattr(left, "end_col_offset", 0) or 0)
        last = self.char_offset(1, getattr(right, "col_offset", 0))
        found = self._lines[0].find(symbol, first, last)
        return Span(found, len(symbol)) if found >= 0 else Span(first, max(1, last - first))

    # -- locations -----------------------------------------------------------------
    def locate(self, span: Span | None) -> Location | None:
        loc = self.location
        if loc is None or span is None:
            return loc
        return loc.shifted(span.start, span.length)

    def at(self, node: ast.AST | None) -> Location | None:
        """The location of `node` (the formula's start when it cannot be told)."""
        return self.locate(self.node_span(node)) if node is not None else self.location

    def at_offset(self, offset: int, length: int = 1) -> Location | None:
        return self.locate(Span(max(0, offset), length))

    # -- excerpts ------------------------------------------------------------------
    def excerpt(self, node: ast.AST, limit: int = 40) -> str:
        """The formula text of `node`, cut to `limit` characters."""
        segment = ast.get_source_segment(self.parsed, node)
        if segment is None:
            segment = ast.unparse(node)
        return truncate(" ".join(segment.split()), limit)
