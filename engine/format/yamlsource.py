"""Reading a methodology file: strict YAML in, plain data plus source positions out.

Mechanism
---------
The text is *composed* once by :class:`~engine.format.yamlsource_nodes.StrictComposer`
(anchors, aliases, tags and runaway nesting are rejected before any value is built; a
clean file is composed from libyaml's events instead, to the same nodes, by
:mod:`engine.format.yamlsource_fast`), and
:class:`~engine.format.yamlsource_nodes.NodeBuilder` walks the node tree itself, turning
scalars into ``str``/``int``/``float``/``bool``/``None`` by the table below and recording
for every JSON path (a tuple such as ``("indicators", 0, "formula")``) where its key and
value sit in the text. Duplicate keys (all of them), merge keys (``<<``) and numbers that
are not finite are found on the same walk. Every problem is collected; :func:`load_yaml`
raises one :class:`~engine.diagnostics.MethodologyError` carrying all of them, ordered
by position. Reading never executes anything and touches no file but the one given.

A document merged from several files (``extends:``, see :mod:`engine.format.extends`)
is a :class:`LoadedYaml` too: its ``locate*`` methods answer with the file and line where
each value was written, and the files that inherit it (``Location.via``).

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

import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from engine.diagnostics import Code, Diagnostic, Location, MethodologyError, truncate
from engine.format import yamlsource_fast
from engine.format.yamlsource_nodes import (
    MAX_DEPTH,
    NodeBuilder,
    PathKey,
    Span,
    StrictComposer,
    TooDeep,
)
from engine.format.yamlsource_text import (
    Source,
    kind_of,
    mark_location,
    ordered,
    reader_diagnostic,
    syntax_diagnostic,
)

if TYPE_CHECKING:
    from engine.format.model import Base

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "JsonPath",
    "LoadedYaml",
    "PathKey",
    "Source",
    "load_yaml",
]

MAX_BYTES = 1024 * 1024
"""A methodology file may hold at most 1 MiB."""

JsonPath = Sequence[str | int]

# --------------------------------------------------------------------------- result


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
    _spans: Mapping[PathKey, Span] = field(default_factory=dict, repr=False, compare=False)

    @property
    def bases(self) -> tuple[Base, ...]:
        """The methodologies this document was merged from, nearest first (a single file
        has none; see :class:`engine.format.extends.MergedYaml`)."""
        return ()

    def _find(self, path: JsonPath) -> tuple[Span | None, bool]:
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
        try:  # libyaml when the file is clean, else the strict composer's words
            node = yamlsource_fast.compose(text)
        except yamlsource_fast.NotComposed:
            composer = StrictComposer(text, source, problems)
            try:
                node = composer.get_single_node()
            finally:
                composer.dispose()
        builder = NodeBuilder(source, problems)
        data = builder.build(node)
    except TooDeep as exc:
        problems.append(
            Diagnostic(
                Code.YAML_TOO_DEEP,
                f"the file nests lists and mappings more than {MAX_DEPTH} levels deep",
                mark_location(source, exc.mark),
                hint="a methodology needs only a few levels; look for a runaway '[' or '{'",
            )
        )
        raise MethodologyError(ordered(problems), total=len(problems)) from None
    except RecursionError:
        problems.append(
            Diagnostic(
                Code.YAML_TOO_DEEP,
                "the file is nested too deeply to be read",
                Location(shown),
            )
        )
        raise MethodologyError(ordered(problems), total=len(problems)) from None
    except yaml.MarkedYAMLError as exc:
        problems.append(syntax_diagnostic(exc, source))
        raise MethodologyError(ordered(problems), total=len(problems)) from None
    except yaml.reader.ReaderError as exc:
        problems.append(reader_diagnostic(exc, source))
        raise MethodologyError(ordered(problems), total=len(problems)) from None
    except yaml.YAMLError as exc:  # any other PyYAML complaint, without a position
        problems.append(
            Diagnostic(
                Code.YAML_SYNTAX, f"not valid YAML: {truncate(str(exc), 200)}", Location(shown)
            )
        )
        raise MethodologyError(ordered(problems), total=len(problems)) from None

    if problems:
        raise MethodologyError(ordered(problems), total=len(problems))
    if not isinstance(data, dict):
        what = "empty" if data is None else f"{kind_of(data)}, not a mapping"
        top = source.location(1, 1) if node is None else mark_location(source, node.start_mark)
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
