"""Reading a methodology file: strict YAML in, plain data plus source positions out.

Mechanism
---------
The text is *composed* once with :class:`_StrictComposer`, a subclass of the pure-Python
``yaml.SafeLoader`` (``CSafeLoader`` composes in C, so the hook below would never run).
Its ``compose_node`` hook sees every node before it is built and

* rejects anchors (``&a``) and aliases (``*a``), so an alias bomb is never expanded;
* rejects every explicit tag (``!!python/object/apply:…``, ``!foo``, even ``!!str``);
* counts collection nesting and stops past :data:`MAX_DEPTH`.

PyYAML's constructors are never called. :func:`_Builder` walks the composed node tree
itself, turning scalars into ``str``/``int``/``float``/``bool``/``None`` and collections
into ``dict``/``list``, and records for every JSON path (a tuple such as
``("indicators", 0, "formula")``) where its key and value sit in the text. The same walk
finds duplicate keys (all of them, not just the first), merge keys (``<<``) and numbers
that are not finite. Every problem is collected; :func:`load_yaml` raises one
:class:`~engine.diagnostics.MethodologyError` carrying all of them, ordered by position.
Reading never executes anything and touches no file but the one given.

Scalars (YAML 1.2 core schema, restricted)
------------------------------------------
Only *plain* (unquoted) scalars are interpreted; quoted and block scalars are always text.

=====================================  =================================================
plain scalar                           value
=====================================  =================================================
``true``, ``False``, ``TRUE`` (any case)  ``bool``
``yes``, ``no``, ``on``, ``off``, ``y``   text (YAML 1.1 booleans are *not* recognised)
``~``, ``null``, ``Null``, ``NULL``, empty  ``None``
``10``, ``-3``, ``010``                ``int`` (decimal only: ``010`` is 10, not octal 8)
``0x1F``, ``0o17``, ``1_000``          text
``1.5``, ``1e3``, ``1.5e-3``, ``+1.0``, ``.5``  ``float``
``.nan``, ``.inf``, ``-.Inf``, ``1e999``  rejected (``yaml-not-finite``)
``12:30``, ``2020-01-01``              text (no sexagesimal numbers, no timestamps)
=====================================  =================================================

Integers beyond the float range (about 1.8e308) are rejected as not finite too: every
number ends up in a float column.

**Mapping keys are always text**: a key is the scalar's text exactly as written, so
``2010: x`` gives the key ``"2010"`` and ``true: x`` the key ``"true"``. That keeps the
data JSON-shaped for JSON Schema and makes ``1: a`` and ``01: b`` two different keys.
A list or mapping used as a key (``? [a, b]``) is rejected.

Positions
---------
All positions are 1-based; columns count characters (a tab is one column).

* :meth:`LoadedYaml.locate` points at a value. For a plain scalar: its first character,
  length = the token's length. For a quoted scalar: the first character *after* the
  opening quote, length = the text between the quotes (so ``locate(p).shifted(offset, n)``
  lands inside a single-line formula). For a block scalar (``|``, ``>``): the indicator,
  length = the header (``|-``). For a collection: its first character (the ``-`` of a
  block sequence, the first key of a block mapping, the bracket of a flow collection).
  An empty value (``key:``) points just after the colon. A value spanning lines gets the
  length of its part on the first line.
* :meth:`LoadedYaml.locate_key` points at the key of a mapping entry.
* :meth:`LoadedYaml.locate_text` / :meth:`LoadedYaml.value_column` give where a scalar's
  *text* starts, so an offset inside a formula can be added. Exact for single-line plain
  and quoted scalars without escapes. Approximate otherwise: escapes in double-quoted
  text (``\\t`` is two columns but one character), multi-line flow scalars (folded
  line breaks), and block scalars, for which the first non-blank content line and its
  first non-space column are returned.
"""

from __future__ import annotations

import math
import re
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.diagnostics import Code, Diagnostic, Location, MethodologyError, truncate

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "LoadedYaml",
    "Source",
    "load_yaml",
]

MAX_BYTES = 1024 * 1024
"""A methodology file may hold at most 1 MiB."""

MAX_DEPTH = 64
"""Deepest allowed nesting of mappings and lists (the top-level mapping is depth 1)."""

_MAX_PER_CODE = 20
"""At most this many diagnostics of one code are shown; the rest are counted."""

_ALIAS_MESSAGE = "anchors and aliases are not allowed in a methodology"

# PyYAML's line breaks, so that Source.line(n) is the line PyYAML's marks count.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"

_NOT_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_MAX_INT_DIGITS = 400  # far above float range, far below Python's int-parsing limit


# --------------------------------------------------------------------------- source


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


# --------------------------------------------------------------------------- result

# A span is (key_line, key_col, key_len, line, col, len, text_line, text_col); key_* are
# 0 for entries that have no key (list items, the top level). Plain tuples keep a
# 1 MiB file with 500k scalars affordable.
_Span = tuple[int, int, int, int, int, int, int, int]
JsonPath = Sequence[str | int]


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed methodology: plain data plus where each value sits in the source.

    >>> doc = load_yaml("m.yaml", text="indicators:\\n  - name: gdp\\n    formula: 'a / b'\\n")
    >>> doc.data["indicators"][0]["formula"]
    'a / b'
    >>> loc = doc.locate(["indicators", 0, "formula"])
    >>> (loc.line, loc.column, loc.length)
    (3, 15, 5)
    >>> doc.locate_key(["indicators", 0, "formula"]).column
    5
    """

    data: Any
    source: Source
    _spans: Mapping[tuple[str | int, ...], _Span] = field(
        default_factory=dict, repr=False, compare=False
    )

    def _find(self, path: JsonPath) -> tuple[_Span | None, bool]:
        """The span of `path` or of its nearest recorded ancestor; True if exact."""
        p = tuple(path)
        for end in range(len(p), -1, -1):
            span = self._spans.get(p[:end])
            if span is not None:
                return span, end == len(p)
        return None, False

    def locate(self, path: JsonPath) -> Location:
        """Where the value at `path` is (nearest existing ancestor if there is none)."""
        span, _ = self._find(path)
        if span is None:
            return Location(self.source.path)
        return self.source.location(span[3], span[4], span[5])

    def locate_key(self, path: JsonPath) -> Location:
        """Where the key of the mapping entry at `path` is; falls back to :meth:`locate`."""
        span, exact = self._find(path)
        if span is None:
            return Location(self.source.path)
        if exact and span[0]:
            return self.source.location(span[0], span[1], span[2])
        return self.source.location(span[3], span[4], span[5])

    def locate_text(self, path: JsonPath) -> Location:
        """Where the text of the scalar at `path` starts (see the module docstring).

        ``locate_text(p).shifted(offset, n)`` marks characters inside a formula; exact
        for single-line plain and quoted scalars, approximate for block scalars.
        """
        span, _ = self._find(path)
        if span is None:
            return Location(self.source.path)
        return self.source.location(span[6], span[7], span[5])

    def value_column(self, path: JsonPath) -> int:
        """The 1-based column where the scalar's text starts (after an opening quote).

        For a block scalar (``|``/``>``) it is the column of the first non-blank
        content line; that line is ``locate_text(path).line``.
        """
        return self.locate_text(path).column or 1


# --------------------------------------------------------------------------- loading


def load_yaml(path: str | Path, *, text: str | None = None) -> LoadedYaml:
    """Read a methodology file strictly; raise MethodologyError listing every problem.

    `path` is used in messages; when `text` is given the file is not read at all.

    >>> load_yaml("m.yaml", text="id: no\\nweight: 1e3\\ncode: 010\\n").data
    {'id': 'no', 'weight': 1000.0, 'code': 10}
    """
    shown = str(path)
    if text is None:
        text = _read_file(Path(path), shown)
    elif len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise MethodologyError([_too_large(shown, len(text.encode("utf-8", "surrogatepass")))])
    if text.startswith("\ufeff"):  # PyYAML does not count a BOM as a column either
        text = text[1:]
    source = Source(shown, text)
    problems: list[Diagnostic] = []
    try:
        composer = _StrictComposer(text, source, problems)
        try:
            node = composer.get_single_node()
        finally:
            composer.dispose()
        builder = _Builder(source, problems)
        data = builder.build(node)
    except _TooDeep as exc:
        problems.append(
            Diagnostic(
                Code.YAML_TOO_DEEP,
                f"the file nests lists and mappings more than {MAX_DEPTH} levels deep",
                _mark_location(source, exc.mark),
                hint="a methodology needs only a few levels; look for a runaway '[' or '{'",
            )
        )
        raise MethodologyError(_ordered(problems), total=len(problems)) from None
    except RecursionError:
        problems.append(
            Diagnostic(
                Code.YAML_TOO_DEEP,
                "the file is nested too deeply to be read",
                Location(shown),
            )
        )
        raise MethodologyError(_ordered(problems), total=len(problems)) from None
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_diagnostic(exc, source))
        raise MethodologyError(_ordered(problems), total=len(problems)) from None
    except yaml.reader.ReaderError as exc:
        problems.append(_reader_diagnostic(exc, source))
        raise MethodologyError(_ordered(problems), total=len(problems)) from None
    except yaml.YAMLError as exc:  # any other PyYAML complaint, without a position
        problems.append(
            Diagnostic(
                Code.YAML_SYNTAX, f"not valid YAML: {truncate(str(exc), 200)}", Location(shown)
            )
        )
        raise MethodologyError(_ordered(problems), total=len(problems)) from None

    if problems:
        raise MethodologyError(_ordered(problems), total=len(problems))
    if not isinstance(data, dict):
        what = "empty" if data is None else f"{_kind(data)}, not a mapping"
        top = source.location(1, 1) if node is None else _mark_location(source, node.start_mark)
        raise MethodologyError(
            [
                Diagnostic(
                    Code.SCHEMA,
                    f"the methodology is {what}",
                    top,
                    expected="a mapping of keys to values at the top level (e.g. 'name: ...')",
                )
            ]
        )
    return LoadedYaml(data, source, builder.spans)


def _read_file(path: Path, shown: str) -> str:
    """The file's text, after checking it exists, is a regular file and is ≤ 1 MiB."""

    def fail(message: str, code: Code = Code.FILE_NOT_FOUND) -> MethodologyError:
        return MethodologyError([Diagnostic(code, message, Location(shown))])

    try:
        info = path.stat()
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("this is a directory, not a methodology file")
    if not stat.S_ISREG(info.st_mode):
        raise fail("this is not a regular file")
    if info.st_size > MAX_BYTES:
        raise MethodologyError([_too_large(shown, info.st_size)])
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise MethodologyError([_too_large(shown, len(raw))])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        source = Source(shown, raw.decode("utf-8", "replace"))
        raise MethodologyError(
            [
                Diagnostic(
                    Code.YAML_SYNTAX,
                    f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    source.location(line, column),
                    hint="save the file with UTF-8 encoding",
                )
            ]
        ) from None


def _too_large(shown: str, size: int) -> Diagnostic:
    return Diagnostic(
        Code.FILE_TOO_LARGE,
        f"the file is {size / MAX_BYTES:.1f} MiB ({size} bytes); a methodology may be at "
        f"most 1 MiB",
        Location(shown),
    )


# --------------------------------------------------------------------------- composing


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark):
        super().__init__("too deep")
        self.mark = mark


class _StrictComposer(yaml.SafeLoader):
    """Scanner, parser and composer of SafeLoader with our checks and scalar rules."""

    # A fresh table: add_implicit_resolver would otherwise copy SafeLoader's YAML 1.1 one.
    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def __init__(self, text: str, source: Source, problems: list[Diagnostic]):
        super().__init__(text)
        self._source = source
        self._problems = problems
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.get_event()
            self._problems.append(
                Diagnostic(
                    Code.YAML_ALIAS,
                    f"{_ALIAS_MESSAGE} (alias '*{event.anchor}')",
                    _mark_location(self._source, event.start_mark, len(event.anchor) + 1),
                    hint="write the value out in full here",
                )
            )
            # Stand-in so composition can go on and find further problems.
            return ScalarNode(_NULL, "", event.start_mark, event.end_mark)
        event = self.peek_event()
        if event.anchor is not None:
            self._problems.append(
                Diagnostic(
                    Code.YAML_ALIAS,
                    f"{_ALIAS_MESSAGE} (anchor '&{event.anchor}')",
                    _mark_location(self._source, event.start_mark, len(event.anchor) + 1),
                    hint="remove the anchor and repeat the value where it is needed",
                )
            )
            event.anchor = None
        tag = getattr(event, "tag", None)
        if tag is not None:
            written = _tag_as_written(self._source, event.start_mark) or tag
            self._problems.append(
                Diagnostic(
                    Code.YAML_TAG,
                    f"tags are not allowed in a methodology: '{truncate(written, 60)}'",
                    _mark_location(self._source, event.start_mark, len(written)),
                    hint="remove the tag; write plain text, numbers, true/false, lists "
                    "and mappings",
                )
            )
            event.tag = None  # the node is then resolved like an untagged one
        nested = isinstance(event, CollectionStartEvent)
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1


def _resolver(tag: str, pattern: str, first: Iterable[str]) -> None:
    _StrictComposer.add_implicit_resolver(tag, re.compile(pattern), list(first))


_resolver(_BOOL, r"(?i:true|false)\Z", "tTfF")
_resolver(_NULL, r"(?:~|null|Null|NULL|)\Z", ["~", "n", "N", ""])
# int before float: the first matching resolver wins and "10" matches both patterns.
_resolver(_INT, r"[-+]?[0-9]+\Z", "-+0123456789")
_resolver(
    _FLOAT,
    r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z"
    r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z",
    "-+0123456789.",
)


def _tag_as_written(source: Source, mark: yaml.Mark) -> str | None:
    """The tag's text in the source (``!!python/object``), if it can be found."""
    line = source.line(mark.line + 1)
    if line is None:
        return None
    found = re.compile(r"!\S*").search(line, mark.column)
    return found.group(0) if found else None


# --------------------------------------------------------------------------- building


class _Builder:
    """Turns composed nodes into plain data and records each path's position."""

    def __init__(self, source: Source, problems: list[Diagnostic]):
        self.source = source
        self.problems = problems
        self.spans: dict[tuple[str | int, ...], _Span] = {}

    def build(self, node: Node | None) -> Any:
        if node is None:  # an empty file
            return None
        return self._value(node, (), None)

    def _value(self, node: Node, path: tuple[str | int, ...], key: Node | None) -> Any:
        self.spans[path] = self._span(node, key)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self._value(item, (*path, i), None) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: tuple[str | int, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    Diagnostic(
                        Code.YAML_SYNTAX,
                        "a mapping key must be a single value (text or a number), "
                        "not a list or a mapping",
                        _mark_location(self.source, key_node.start_mark),
                    )
                )
                continue
            key = key_node.value
            if key == "<<" and key_node.style is None:
                self.problems.append(
                    Diagnostic(
                        Code.YAML_ALIAS,
                        f"{_ALIAS_MESSAGE} (merge key '<<')",
                        _mark_location(self.source, key_node.start_mark, 2),
                        hint="write the merged keys out in full",
                    )
                )
                continue
            if key in first_seen:
                first = first_seen[key].start_mark
                self.problems.append(
                    Diagnostic(
                        Code.YAML_DUPLICATE_KEY,
                        f"duplicate key '{truncate(key, 60)}' (first at line {first.line + 1}, "
                        f"column {first.column + 1})",
                        self._scalar_location(key_node),
                        hint="a second value would silently replace the first; keep one",
                    )
                )
                continue
            first_seen[key] = key_node
            result[key] = self._value(value_node, (*path, key), key_node)
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _INT:
            digits = text.lstrip("+-").lstrip("0")
            if len(digits) <= _MAX_INT_DIGITS:
                number = int(text)
                if abs(number) <= sys.float_info.max:
                    return number
            self._not_finite(node, "is too large to be a finite number")
            return None
        if tag == _FLOAT:
            if not _NOT_FINITE.match(text):
                number = float(text)
                if math.isfinite(number):
                    return number
                self._not_finite(node, "is too large to be a finite number")
            else:
                self._not_finite(node, "is not a finite number")
            return None
        return text

    def _not_finite(self, node: ScalarNode, what: str) -> None:
        self.problems.append(
            Diagnostic(
                Code.YAML_NOT_FINITE,
                f"'{truncate(node.value, 40)}' {what}",
                self._scalar_location(node),
                expected="a finite number",
                hint="leave the value empty (null) for 'missing', or quote it to make it text",
            )
        )

    # positions ----------------------------------------------------------------------

    def _scalar_location(self, node: Node) -> Location:
        _, _, _, line, col, length, _, _ = self._span(node, None)
        return self.source.location(line, col, length)

    def _span(self, node: Node, key: Node | None) -> _Span:
        line, col, length, text_line, text_col = self._extent(node)
        if key is None:
            return (0, 0, 0, line, col, length, text_line, text_col)
        kline, kcol, klen, _, _ = self._extent(key)
        return (kline, kcol, klen, line, col, length, text_line, text_col)

    def _extent(self, node: Node) -> tuple[int, int, int, int, int]:
        """(line, column, length, text line, text column), 1-based, for one node."""
        start, end = node.start_mark, node.end_mark
        line, col = start.line + 1, start.column + 1
        style = getattr(node, "style", None)
        if isinstance(node, ScalarNode) and style in ("|", ">"):
            header = re.compile(r"[|>][-+0-9]*").match(self.source.line(line) or "", col - 1)
            text_line, text_col = self._block_text_start(start, end, line, col)
            return line, col, len(header.group(0)) if header else 1, text_line, text_col
        quoted = isinstance(node, ScalarNode) and style in ('"', "'")
        if quoted:
            col += 1
        if start.line == end.line:
            length = end.column - start.column - (2 if quoted else 0)
        elif isinstance(node, ScalarNode):  # a multi-line flow scalar: its first line
            length = len((self.source.line(line) or "").rstrip()) - (col - 1)
        else:
            length = 1
        if isinstance(node, MappingNode | SequenceNode) and not node.flow_style:
            length = 1
        return line, col, max(1, length), line, col

    def _block_text_start(
        self, start: yaml.Mark, end: yaml.Mark, line: int, col: int
    ) -> tuple[int, int]:
        """First non-blank content line of a block scalar and its first non-space column."""
        last = end.line + 1 if end.column > 0 else end.line  # 1-based, inclusive
        for n in range(start.line + 2, last + 1):
            text = self.source.line(n) or ""
            stripped = text.lstrip(" ")
            if stripped.strip():
                return n, len(text) - len(stripped) + 1
        return line, col


# --------------------------------------------------------------------------- messages


def _mark_location(source: Source, mark: yaml.Mark | None, length: int = 1) -> Location:
    if mark is None:
        return Location(source.path)
    return source.location(mark.line + 1, mark.column + 1, length)


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, source: Source) -> Diagnostic:
    problem = exc.problem or exc.context or "not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    context, cmark = exc.context, exc.context_mark
    hint = None
    if context and "expected a single document" in context:
        return Diagnostic(
            Code.YAML_SYNTAX,
            "the file holds more than one YAML document; a second one starts here",
            _mark_location(source, mark),
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
    return Diagnostic(Code.YAML_SYNTAX, message, _mark_location(source, mark), hint=hint)


def _reader_diagnostic(exc: yaml.reader.ReaderError, source: Source) -> Diagnostic:
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


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


def _ordered(problems: list[Diagnostic]) -> list[Diagnostic]:
    """Problems by position; past _MAX_PER_CODE of one code, a count stands for the rest."""

    def position(d: Diagnostic) -> tuple[int, int]:
        loc = d.location
        return (loc.line or 0, loc.column or 0) if loc else (0, 0)

    shown: list[Diagnostic] = []
    hidden: dict[Code, int] = {}
    per_code: dict[Code, int] = {}
    for d in sorted(problems, key=position):
        per_code[d.code] = per_code.get(d.code, 0) + 1
        if per_code[d.code] <= _MAX_PER_CODE:
            shown.append(d)
        else:
            hidden[d.code] = hidden.get(d.code, 0) + 1
    for code, count in hidden.items():
        path = next((d.location.file for d in problems if d.location), None)
        shown.append(
            Diagnostic(code, f"{count} more problems of this kind are not shown", Location(path))
        )
    return shown
