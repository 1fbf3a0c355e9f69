"""Composing a clean methodology file with libyaml's parser, a dozen times faster.

The strict reader (:class:`~engine.format.yamlsource_nodes.StrictComposer`) scans and
parses in pure Python: about 20 ms for a 300-line methodology such as COINr's ASEM
example, most of a validation's reading. PyYAML's C extension parses the same text in
under a millisecond, but its composer is C too, so the strict composer's checks (no
anchors, aliases or tags, at most :data:`~engine.format.yamlsource_nodes.MAX_DEPTH`
levels) could not run in it.

:func:`compose` takes libyaml's *events* instead and composes them here, as PyYAML's
composer does (same node classes, tags resolved by the strict composer's own resolvers,
the same marks), into the tree :class:`~engine.format.yamlsource_nodes.NodeBuilder`
walks. It only ever answers for a file the strict reader would compose without a word:
whenever libyaml fails, or the events hold an anchor, an alias, a tag, a directive,
a second document or too deep a nesting, or the text holds a character the two parsers
read differently (a tab, a control character, a byte order mark, one of the line
breaks NEL, LS, PS, or ``|#``), or it does not end with a line break, it
raises :class:`NotComposed` and the file is read by the strict composer, which then
finds and words every problem as before. So a message never depends on which parser
read the file; ``tests/test_yaml_fast.py`` checks that both give the same trees.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.format.yamlsource_nodes import MAX_DEPTH, StrictComposer


def _c_parser() -> Any:
    """libyaml's parser; None when PyYAML was built without libyaml (every file then
    takes the strict composer)."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        return None
    return CParser


CParser: Any = _c_parser()

__all__ = ["NotComposed", "compose"]

# Characters PyYAML's reader rejects, the line breaks other than CR and LF, a byte
# order mark (libyaml skips one at the start of any line, PyYAML only at the start of
# the file) and tabs (libyaml accepts some that PyYAML rejects, e.g. after a value): a
# file holding any of them is left to the strict composer (rare in a methodology).
_LEFT_TO_PYTHON = re.compile(
    "[^\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    "|[\u2028\u2029\ufeff]"
    # and a comment right after a block scalar's header ('|#'), which libyaml reads
    "|[|>][-+0-9]*#"
)

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class NotComposed(Exception):
    """libyaml did not compose the file cleanly: read it with the strict composer."""


class _Resolver(yaml.resolver.BaseResolver):
    """The strict composer's implicit resolvers (YAML 1.2 core, restricted)."""

    yaml_implicit_resolvers = StrictComposer.yaml_implicit_resolvers


_RESOLVER = _Resolver()


def compose(text: str) -> Node | None:
    """The node tree of `text` (None for an empty file), as the strict composer would
    compose it; raises :class:`NotComposed` when the strict composer must read it."""
    # without a final line break libyaml ends the file on a line of its own (where an
    # empty value at the end then sits), PyYAML after its last character
    if CParser is None or not text.endswith(("\n", "\r")) or _LEFT_TO_PYTHON.search(text):
        raise NotComposed
    parser = CParser(text)
    try:
        return _Composer(parser).document()
    except NotComposed:
        raise
    except Exception:  # any complaint of libyaml: the strict composer words it
        raise NotComposed from None
    finally:
        parser.dispose()


class _Composer:
    """PyYAML's composer over libyaml's events (taken one at a time, as the strict
    composer takes its own), refusing what the strict one reports."""

    def __init__(self, parser: Any):
        self.parser = parser
        self.depth = 0

    def next(self) -> Any:
        return self.parser.get_event()

    def document(self) -> Node | None:
        if not isinstance(self.next(), StreamStartEvent):
            raise NotComposed
        event = self.next()
        if isinstance(event, StreamEndEvent):
            return None
        if not isinstance(event, DocumentStartEvent) or event.version or event.tags:
            raise NotComposed
        node = self.node()
        if not isinstance(self.next(), DocumentEndEvent):
            raise NotComposed
        if not isinstance(self.next(), StreamEndEvent):
            raise NotComposed  # a second document: the strict composer says so
        return node

    def node(self) -> Node:
        event = self.next()  # a libyaml event; its marks are libyaml's (line, column)
        if getattr(event, "anchor", None) is not None or getattr(event, "tag", None) is not None:
            raise NotComposed
        start: Any = event.start_mark
        if isinstance(event, ScalarEvent):
            tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
            # libyaml marks a plain scalar's style '', PyYAML None
            style = event.style or None
            end: Any = event.end_mark
            return ScalarNode(tag, event.value, start, end, style=style)
        if isinstance(event, SequenceStartEvent):
            return self.collection(SequenceNode(_SEQ, [], start, None, event.flow_style))
        if isinstance(event, MappingStartEvent):
            return self.collection(MappingNode(_MAP, [], start, None, event.flow_style))
        raise NotComposed  # an alias

    def collection(self, node: SequenceNode | MappingNode) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotComposed
        end = SequenceEndEvent if isinstance(node, SequenceNode) else MappingEndEvent
        items: list[Any] = node.value
        while not isinstance(self.parser.peek_event(), end):
            if isinstance(node, MappingNode):
                key = self.node()
                items.append((key, self.node()))
            else:
                items.append(self.node())
        node.end_mark = self.next().end_mark
        self.depth -= 1
        return node
