"""Composing and building YAML nodes: the strict reader's two passes over a file.

Composing
---------
:class:`StrictComposer` is the scanner, parser and composer of the pure-Python
``yaml.SafeLoader`` (``CSafeLoader`` composes in C, so the hook below would never run).
Its ``compose_node`` hook sees every node before it is built and

* rejects anchors (``&a``) and aliases (``*a``), so an alias bomb is never expanded;
* rejects every explicit tag (``!!python/object/apply:…``, ``!foo``, even ``!!str``);
* counts collection nesting and raises :class:`TooDeep` past :data:`MAX_DEPTH`.

Its implicit resolvers implement the restricted YAML 1.2 core schema described in
:mod:`engine.format.yamlsource`.

Building
--------
PyYAML's constructors are never called. :class:`NodeBuilder` walks the composed tree,
turning scalars into ``str``/``int``/``float``/``bool``/``None`` and collections into
``dict``/``list``, and records for every JSON path (``("indicators", 0, "formula")``)
where its key and value sit in the text (a :data:`Span`). The same walk finds duplicate
keys (all of them), merge keys (``<<``), keys that are not scalars and numbers that are
not finite; each becomes a diagnostic in the shared ``problems`` list.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.diagnostics import Code, Diagnostic, Location, truncate
from engine.format.yamlsource_text import Source, mark_location

__all__ = ["MAX_DEPTH", "NodeBuilder", "PathKey", "Span", "StrictComposer", "TooDeep"]

MAX_DEPTH = 64
"""Deepest allowed nesting of mappings and lists (the top-level mapping is depth 1)."""

ALIAS_MESSAGE = "anchors and aliases are not allowed in a methodology"

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

_NOT_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_MAX_INT_DIGITS = 400  # far above float range, far below Python's int-parsing limit

PathKey = tuple[str | int, ...]
"""A JSON path into the data: ``("indicators", "SD", "formula")``."""

# A span is (key_line, key_col, key_len, line, col, len, text_line, text_col); key_* are
# 0 for entries that have no key (list items, the top level). Plain tuples keep a
# 1 MiB file with 500k scalars affordable.
Span = tuple[int, int, int, int, int, int, int, int]


# --------------------------------------------------------------------------- composing


class TooDeep(Exception):
    def __init__(self, mark: yaml.Mark):
        super().__init__("too deep")
        self.mark = mark


class StrictComposer(yaml.SafeLoader):
    """Scanner, parser and composer of SafeLoader with our checks and scalar rules."""

    # A fresh table: add_implicit_resolver would otherwise copy SafeLoader's YAML 1.1 one.
    yaml_implicit_resolvers = {}  # noqa: RUF012  (PyYAML reads this class table)

    def __init__(self, text: str, source: Source, problems: list[Diagnostic]):
        super().__init__(text)
        self._source = source
        self._problems = problems
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            self._problems.append(
                Diagnostic(
                    Code.YAML_ALIAS,
                    f"{ALIAS_MESSAGE} (alias '*{event.anchor}')",
                    mark_location(self._source, event.start_mark, len(event.anchor) + 1),
                    hint="write the value out in full here",
                )
            )
            # Stand-in so composition can go on and find further problems.
            return ScalarNode(_NULL, "", event.start_mark, event.end_mark)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if event.anchor is not None:
            self._problems.append(
                Diagnostic(
                    Code.YAML_ALIAS,
                    f"{ALIAS_MESSAGE} (anchor '&{event.anchor}')",
                    mark_location(self._source, event.start_mark, len(event.anchor) + 1),
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
                    mark_location(self._source, event.start_mark, len(written)),
                    hint="remove the tag; write plain text, numbers, true/false, lists "
                    "and mappings",
                )
            )
            event.tag = None  # the node is then resolved like an untagged one
        nested = isinstance(event, CollectionStartEvent)
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise TooDeep(event.start_mark)
        try:
            node = super().compose_node(parent, index)
            assert node is not None  # an event was peeked above, so a node follows
            return node
        finally:
            if nested:
                self._depth -= 1


def _resolver(tag: str, pattern: str, first: Iterable[str]) -> None:
    StrictComposer.add_implicit_resolver(tag, re.compile(pattern), list(first))


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


class NodeBuilder:
    """Turns composed nodes into plain data and records each path's position."""

    def __init__(self, source: Source, problems: list[Diagnostic]):
        self.source = source
        self.problems = problems
        self.spans: dict[PathKey, Span] = {}

    def build(self, node: Node | None) -> Any:
        if node is None:  # an empty file
            return None
        return self._value(node, (), None)

    def _value(self, node: Node, path: PathKey, key: Node | None) -> Any:
        self.spans[path] = self._span(node, key)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self._value(item, (*path, i), None) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)  # aliases were replaced by stand-in scalars
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    Diagnostic(
                        Code.YAML_SYNTAX,
                        "a mapping key must be a single value (text or a number), "
                        "not a list or a mapping",
                        mark_location(self.source, key_node.start_mark),
                    )
                )
                continue
            key = key_node.value
            if key == "<<" and key_node.style is None:
                self.problems.append(
                    Diagnostic(
                        Code.YAML_ALIAS,
                        f"{ALIAS_MESSAGE} (merge key '<<')",
                        mark_location(self.source, key_node.start_mark, 2),
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
                real = float(text)
                if math.isfinite(real):
                    return real
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

    def _span(self, node: Node, key: Node | None) -> Span:
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
