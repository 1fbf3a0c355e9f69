"""The text of a methodology file, and the diagnostics PyYAML's own errors become.

:class:`Source` keeps a file's text for the excerpt under a diagnostic and counts lines
the way PyYAML's marks do. The functions below turn PyYAML's marks (0-based) and
exceptions into located :class:`~engine.diagnostics.Diagnostic` objects (1-based), and
:func:`ordered` sorts a file's problems by position, summarising past
:data:`MAX_PER_CODE` of one kind. Used by :mod:`engine.format.yamlsource` and
:mod:`engine.format.yamlsource_nodes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

from engine.diagnostics import Code, Diagnostic, Location

__all__ = [
    "MAX_PER_CODE",
    "Source",
    "kind_of",
    "mark_location",
    "ordered",
    "reader_diagnostic",
    "syntax_diagnostic",
]

MAX_PER_CODE = 20
"""At most this many diagnostics of one code are shown; the rest are counted."""

# PyYAML's line breaks, so that Source.line(n) is the line PyYAML's marks count.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@dataclass(frozen=True)
class Source:
    """The text of a file, for excerpts under diagnostics.

    >>> src = Source("m.yaml", "a: 1\\nb: 2\\n")
    >>> src.line(2), src.location(2, 4).column
    ('b: 2', 4)
    """

    path: str
    text: str

    @cached_property
    def _lines(self) -> tuple[str, ...]:
        return tuple(_LINE_BREAK.split(self.text))

    def line(self, n: int) -> str | None:
        """The text of line `n` (1-based) without its line break; None past the end."""
        lines = self._lines
        return lines[n - 1] if 1 <= n <= len(lines) else None

    def location(self, line: int, column: int, length: int = 1) -> Location:
        """A Location in this file (1-based line and column) with the line's text."""
        return Location(self.path, line, column, self.line(line), max(1, length))


def mark_location(source: Source, mark: yaml.Mark | None, length: int = 1) -> Location:
    if mark is None:
        return Location(source.path)
    return source.location(mark.line + 1, mark.column + 1, length)


def syntax_diagnostic(exc: yaml.MarkedYAMLError, source: Source) -> Diagnostic:
    problem = exc.problem or exc.context or "not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    context, cmark = exc.context, exc.context_mark
    hint = None
    if context and "expected a single document" in context:
        return Diagnostic(
            Code.YAML_SYNTAX,
            "the file holds more than one YAML document; a second one starts here",
            mark_location(source, mark),
            hint="a methodology is a single document: remove the '---' or '...' line",
        )
    message = problem
    if context and problem != context:
        where = f" at line {cmark.line + 1}, column {cmark.column + 1}" if cmark else ""
        message = f"{problem} ({context}{where})"
    if "'\\t'" in problem:
        hint = "YAML does not allow tabs for indentation; use spaces"
    elif "found unexpected end of stream" in problem or "found unexpected end" in message:
        hint = "a quote or bracket opened earlier is never closed"
    return Diagnostic(Code.YAML_SYNTAX, message, mark_location(source, mark), hint=hint)


def reader_diagnostic(exc: yaml.reader.ReaderError, source: Source) -> Diagnostic:
    before = source.text[: exc.position]
    line = len(_LINE_BREAK.findall(before)) + 1
    last_break = max((m.end() for m in _LINE_BREAK.finditer(before)), default=0)
    char = exc.character
    shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    return Diagnostic(
        Code.YAML_SYNTAX,
        f"the character {shown} is not allowed in a YAML file",
        source.location(line, exc.position - last_break + 1),
        hint="remove control characters (they often come from copying out of a PDF)",
    )


def kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


def ordered(problems: list[Diagnostic]) -> list[Diagnostic]:
    """Problems by position; past MAX_PER_CODE of one code, a count stands for the rest."""

    def position(d: Diagnostic) -> tuple[int, int]:
        loc = d.location
        return (loc.line or 0, loc.column or 0) if loc else (0, 0)

    shown: list[Diagnostic] = []
    hidden: dict[Code, int] = {}
    per_code: dict[Code, int] = {}
    for d in sorted(problems, key=position):
        per_code[d.code] = per_code.get(d.code, 0) + 1
        if per_code[d.code] <= MAX_PER_CODE:
            shown.append(d)
        else:
            hidden[d.code] = hidden.get(d.code, 0) + 1
    for code, count in hidden.items():
        path = next((d.location.file for d in problems if d.location), None)
        shown.append(
            Diagnostic(code, f"{count} more problems of this kind are not shown", Location(path))
        )
    return shown
