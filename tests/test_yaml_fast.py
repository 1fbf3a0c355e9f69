"""libyaml's composition (engine.format.yamlsource_fast) gives the strict composer's
nodes, marks included, whenever it answers; and load_yaml's data, positions and messages
are those of the strict composer alone, on generated YAML of every kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, Node, ScalarNode

from engine.diagnostics import MethodologyError
from engine.format import yamlsource_fast
from engine.format.yamlsource import load_yaml
from engine.format.yamlsource_nodes import StrictComposer
from engine.format.yamlsource_text import Source

ROOT = Path(__file__).resolve().parent.parent

INDENTS = ["", "", " ", "  ", "    ", "\t", "  \t"]
KEYS = ["a", "b", "id", "'q k'", '"d\\tq"', "1", "01", "true", "<<", "a b", "é", "? a", "[a]"]
VALUES = [
    "1",
    "-3",
    "010",
    "1.5e3",
    "+.5",
    "1e999",
    ".nan",
    "-.Inf",
    "~",
    "null",
    "",
    "x y",
    "yes",
    "'it''s'",
    '"esc \\u00e9 \\x41 \\/ \\N \\t"',
    '"bad \\q"',
    "[1, a, {b: c}]",
    "{a: 1, b: [x, 'y']}",
    "[a:b, c: d]",
    "text # comment",
    "a:b",
    "é ü 中",
    "\t1",
    "'multi",
    "line'",
    "&anchor x",
    "*alias",
    "!!str 1",
    "!tag x",
    "|",
    ">-",
    "|2+",
    "[",
    "{a: [}",
    "- x",
    "@x",
    "`x",
]


def _line(indent: str, kind: int, key: str, value: str) -> str:
    return (
        indent
        + [
            f"{key}: {value}",
            f"- {value}",
            f"- {key}: {value}",
            f"{key}:",
            value,
            "# a comment",
            "",
            "---",
            "...",
            f"{key}:\t{value}",
            f"{key}: {value}  ",
        ][kind]
    )


LINES = st.builds(
    _line,
    st.sampled_from(INDENTS),
    st.integers(0, 10),
    st.sampled_from(KEYS),
    st.sampled_from(VALUES),
)
DOCUMENTS = st.builds(
    lambda lines, eol, final: eol.join(lines) + (eol if final else ""),
    st.lists(LINES, max_size=14),
    st.sampled_from(["\n", "\n", "\r\n", "\r"]),
    st.sampled_from([True, True, True, False]),
)
# without tabs and with a final line break: what libyaml composes (see yamlsource_fast)
CLEAN = st.builds(
    lambda lines, eol: "".join(line.replace("\t", " ") + eol for line in lines),
    st.lists(LINES, max_size=14),
    st.sampled_from(["\n", "\n", "\r\n", "\r"]),
)
# valid YAML in every style PyYAML's emitter writes (quoting, escapes, folding, flow)
WORDS = st.text(alphabet=st.sampled_from(list("ab :#-'\"\\é中\n")), max_size=12)
DATA = st.recursive(
    st.one_of(WORDS, st.integers(), st.floats(), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(WORDS, inner, max_size=4)),
    max_leaves=12,
)
DUMPED = st.builds(
    lambda data, flow, style, unicode, width, indent, start: yaml.safe_dump(
        data,
        default_flow_style=flow,
        default_style=style,
        allow_unicode=unicode,
        width=width,
        indent=indent,
        explicit_start=start,
    ),
    DATA,
    st.sampled_from([None, True, False]),
    st.sampled_from([None, None, '"', "'", "|", ">"]),
    st.booleans(),
    st.sampled_from([8, 20, 80]),
    st.sampled_from([2, 3, 4]),
    st.booleans(),
)
SOUP = st.text(alphabet=st.sampled_from(list("ab01.~:-[]{}&*!|>'\"#,?<%@`\n\r\t \\é")))
TEXTS = st.one_of(
    DUMPED,
    CLEAN,
    DOCUMENTS,
    SOUP.map(lambda t: t.replace("\t", " ") + "\n"),
    SOUP,
    st.text(max_size=40),
)
EXAMPLES = [
    "a: 1\nb:\n  - x\n  - {c: [1, 2]}\n",
    "a: |\n  one\n\n  two\n\nb: >-\n  folded\n  text\n",
    "a: 'x\n  y'\nb: \"p\n\n  q\"\n",
    "a: plain\n  continued\nb: 2\n",
    "a:\n- 1\n- 2\n",
    "? a\n: 1\n",
    "a: 1\na: 2\n",
    "a: b\n\tc: d\n",
    "a:\tb\n",
    "--- a\n",
    "---\n",
    "# only a comment\n",
    "",
    "[1, 2]\n",
    "x\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\r\nb: [x,\r\n  y]\r\n",
    "a: 'x'  # c\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: \u00e9\u4e2d\U0001f600 x\n",
    # where the two parsers differ: each is left to the strict composer
    "0\t\n",  # libyaml accepts a tab after a value
    "?",  # without a final line break libyaml puts the empty value on a line of its own
    "? a",
    "a:\n- 1",
    "|#\n",  # libyaml accepts a comment right after a block scalar's header
    "a: >-#\n  x\n",
    "a: 1\ufeffb: 2\n",
]


def nodes(node: Node | None) -> Any:
    """A node tree as plain data: class, tag, value, style and marks (line, column).

    Where a *block* list or mapping ends is left out: at the end of a file without a final
    line break libyaml puts it on a line of its own, PyYAML after the last character, and
    the reader never looks (a block collection is located by its first character only).
    A block list not indented under its key (``a:\n- 1``) is ``flow_style`` None to PyYAML
    and False to libyaml: both are "block" (the reader asks ``not node.flow_style``).
    """
    if node is None:
        return None
    marks: tuple[int, ...] = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, ScalarNode) or node.flow_style:
        marks += (node.end_mark.line, node.end_mark.column)
    if isinstance(node, ScalarNode):
        return ("scalar", node.tag, node.value, node.style, marks)
    if isinstance(node, MappingNode):
        items = [(nodes(k), nodes(v)) for k, v in node.value]
        return ("map", node.tag, bool(node.flow_style), marks, items)
    return ("seq", node.tag, bool(node.flow_style), marks, [nodes(v) for v in node.value])


def strict_load(text: str) -> Any:
    """:func:`outcome` with the strict composer alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlsource_fast, "CParser", None)
        return outcome(text)


def outcome(text: str) -> Any:
    """What load_yaml makes of `text`: data (with types) and every span, or the messages."""
    try:
        doc = load_yaml("m.yaml", text=text)
    except MethodologyError as exc:
        return ("error", str(exc), [d.render() for d in exc.diagnostics])
    return ("ok", repr(doc.data), sorted(doc._spans.items(), key=repr))


def check_tree(text: str) -> None:
    try:
        fast = yamlsource_fast.compose(text)
    except yamlsource_fast.NotComposed:
        return
    problems: list[Any] = []
    composer = StrictComposer(text, Source("m.yaml", text), problems)
    try:
        strict = composer.get_single_node()
    finally:
        composer.dispose()
    assert problems == []
    assert nodes(fast) == nodes(strict)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_libyaml_composes_the_strict_composers_nodes(text: str) -> None:
    check_tree(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_load_yaml_is_the_strict_readers(text: str) -> None:
    assert outcome(text) == strict_load(text)


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples(text: str) -> None:
    check_tree(text)
    assert outcome(text) == strict_load(text)


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in ROOT.glob("**/*.yaml")
        if ".venv" not in p.parts and "build" not in p.parts and p.stat().st_size < 200_000
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_yaml_file_of_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    check_tree(text)
    assert outcome(text) == strict_load(text)


def test_a_clean_methodology_is_composed_by_libyaml() -> None:
    text = (ROOT / "examples/coinr-asem/asem.yaml").read_text(encoding="utf-8")
    assert yamlsource_fast.compose(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\n",
        "a: *x\n",
        "a: !!str 1\n",
        "a: 1\n---\nb: 2\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: [" * 70 + "\n",
        "a: \u2028b\n",
        "a: 1\x85",
        "a: [\n",
    ],
)
def test_what_the_strict_composer_words_is_left_to_it(text: str) -> None:
    with pytest.raises(yamlsource_fast.NotComposed):
        yamlsource_fast.compose(text)
