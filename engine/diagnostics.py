"""Diagnostics: every problem a researcher can act on, collected before reporting.

A methodology or a data file is checked completely and every problem found is kept as
a :class:`Diagnostic`; only then is an :class:`IndexlabError` raised carrying all of
them. Each diagnostic has a stable :class:`Code`, a position (``file:line:column``)
when one is known, the offending source line with a caret under it, what was expected
and, where one exists, a hint ("did you mean 'employed'?").

Positions are 1-based for humans. Rendering is plain text (``render``) or a dict
(``as_dict``) for ``--format json``.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(enum.StrEnum):
    """Stable reason codes; tests and machine readers match on these."""

    # reading the methodology file
    FILE_NOT_FOUND = "file-not-found"
    FILE_TOO_LARGE = "file-too-large"
    YAML_SYNTAX = "yaml-syntax"
    YAML_ALIAS = "yaml-alias"
    YAML_TAG = "yaml-tag"
    YAML_DUPLICATE_KEY = "yaml-duplicate-key"
    YAML_TOO_DEEP = "yaml-too-deep"
    YAML_NOT_FINITE = "yaml-not-finite"
    SCHEMA = "schema"
    # semantic rules
    DUPLICATE_NAME = "duplicate-name"
    FORMULA_SYNTAX = "formula-syntax"
    FORMULA_LIMIT = "formula-limit"
    TYPE = "type"
    UNKNOWN_NAME = "unknown-name"
    UNKNOWN_FUNCTION = "unknown-function"
    BAD_ARGUMENTS = "bad-arguments"
    CYCLE = "cycle"
    WEIGHTS = "weights"
    UNKNOWN_MEMBER = "unknown-member"
    MEMBER_TWICE = "member-twice"
    CLASS_BANDS = "class-bands"
    UNKNOWN_METHOD = "unknown-method"
    UNKNOWN_KEY = "unknown-key"
    GRAIN = "grain"
    INCOMPARABLE = "incomparable"
    # data
    DATA_FILE = "data-file"
    MISSING_COLUMN = "missing-column"
    NOT_NUMERIC = "not-numeric"
    DUPLICATE_ROW = "duplicate-row"
    MISSING_KEY = "missing-key"
    MIXED_SCRIPT = "mixed-script"
    MISSING_VALUE = "missing-value"
    DIVISION_BY_ZERO = "division-by-zero"
    ALL_MISSING = "all-missing"
    NOT_FINITE = "not-finite"
    DOMAIN = "domain"
    UNDEFINED = "undefined"
    BAD_PERIOD = "bad-period"
    ID_SPACES = "id-spaces"
    # results
    CHECK_FAILED = "check-failed"
    # extends: a methodology built on a base
    EXTENDS = "extends"
    # command line
    USAGE = "usage"
    MISSING_EXTRA = "missing-extra"  # an optional package (pip extra) is not installed
    # engines
    #: a feature the chosen engine cannot compute (refused, not approximated)
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and, when known, a 1-based line and column."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    source_line: str | None = field(default=None, compare=False)
    length: int = field(default=1, compare=False)
    #: files that inherit the value written here through ``extends``, nearest first
    via: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def shifted(self, offset: int, length: int) -> Location:
        """The same line, `offset` characters further right (used inside a formula)."""
        col = (self.column or 1) + offset
        return Location(self.file, self.line, col, self.source_line, max(1, length), self.via)

    def inherited(self, via: tuple[str, ...]) -> Location:
        """The same place, noting the files that inherit the value written here."""
        return Location(self.file, self.line, self.column, self.source_line, self.length, via)


@dataclass(frozen=True)
class Diagnostic:
    code: Code
    message: str
    location: Location | None = None
    expected: str | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def render(self) -> str:
        head = f"{self.location}: " if self.location else ""
        lines = [f"{head}{self.severity}[{self.code}]: {self.message}"]
        loc = self.location
        if loc and loc.source_line is not None and loc.line is not None:
            gutter = str(loc.line)
            lines.append(f"  {gutter} | {loc.source_line.rstrip()}")
            if loc.column is not None:
                pad = " " * (loc.column - 1)
                lines.append(f"  {' ' * len(gutter)} | {pad}{'^' * max(1, loc.length)}")
        if loc and loc.via:
            lines.append(f"  inherited by: {', then '.join(loc.via)}")
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "severity": str(self.severity),
            "code": str(self.code),
            "message": self.message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "inherited_by": list(loc.via) if loc else [],
            "expected": self.expected,
            "hint": self.hint,
        }


class IndexlabError(Exception):
    """Raised with every diagnostic found; the CLI prints them and exits with 1."""

    def __init__(self, diagnostics: Iterable[Diagnostic], *, total: int | None = None):
        self.diagnostics = tuple(diagnostics)
        #: problems found, including any summarised rather than shown
        self.total = total if total is not None else len(self.diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class MethodologyError(IndexlabError):
    """The methodology file is unreadable, malformed or inconsistent."""


class DataError(IndexlabError):
    """The data does not fit the methodology, or a computation on it is undefined."""


class UsageError(IndexlabError):
    """The command was called wrongly (exit code 2)."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def truncate(text: object, limit: int = 80) -> str:
    """repr-like text cut to `limit` characters (never echo a huge value)."""
    s = text if isinstance(text, str) else repr(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"
