"""Tests for engine.format.yamlsource: strict loading, scalar rules and source positions.

Bad files live in tests/data/yaml/bad/; each one names the diagnostics it must produce
in ``# expect: <code> <line>:<column>`` comments, so a new case is a new file.
"""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagnostics import Code, MethodologyError
from engine.format.yamlsource import MAX_BYTES, MAX_DEPTH, LoadedYaml, Source, load_yaml

DATA = Path(__file__).parent / "data" / "yaml"
BAD = sorted((DATA / "bad").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\S+) (\d+):(\d+)$", re.MULTILINE)


def errors_of(text: str) -> tuple:
    with pytest.raises(MethodologyError) as info:
        load_yaml("t.yaml", text=text)
    return info.value.diagnostics


def codes(text: str) -> list[Code]:
    return [d.code for d in errors_of(text)]


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_gives_exactly_the_expected_diagnostics(path: Path) -> None:
    expected = [(c, int(line), int(col)) for c, line, col in EXPECT.findall(path.read_text())]
    assert expected, f"{path.name} has no '# expect:' lines"
    with pytest.raises(MethodologyError) as info:
        load_yaml(path)
    got = [(str(d.code), d.location.line, d.location.column) for d in info.value.diagnostics]
    assert got == expected
    for d in info.value.diagnostics:
        assert d.location.file == str(path)
        assert d.location.source_line is not None
        assert str(path) in d.render()


# --------------------------------------------------------------------------- hazards


def test_billion_laughs_is_rejected_fast_with_a_position() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    text = "\n".join(lines) + "\nformula: *a9\n"
    start = time.perf_counter()
    diagnostics = errors_of(text)
    assert time.perf_counter() - start < 2.0
    assert {d.code for d in diagnostics} == {Code.YAML_ALIAS}
    first = diagnostics[0]
    assert (first.location.line, first.location.column) == (1, 5)
    assert first.message.startswith("anchors and aliases are not allowed in a methodology")
    # 10 anchors + 82 aliases: 20 shown, then one line counting the rest
    assert len(diagnostics) == 21
    assert diagnostics[-1].message.startswith("72 more problems")


def test_merge_key_with_alias_is_rejected() -> None:
    text = "base: &b {weight: 1}\nind:\n  <<: *b\n  formula: x\n"
    diagnostics = errors_of(text)
    # the anchor, the merge key and the alias
    assert [d.code for d in diagnostics] == [Code.YAML_ALIAS] * 3
    assert [(d.location.line, d.location.column) for d in diagnostics] == [(1, 7), (3, 3), (3, 7)]
    assert "merge key" in diagnostics[1].message


def test_quoted_double_angle_key_is_just_a_key() -> None:
    assert load_yaml("t.yaml", text="'<<': 1\n").data == {"<<": 1}


def test_all_duplicate_keys_are_reported_with_both_positions() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    diagnostics = errors_of(text)
    assert [d.code for d in diagnostics] == [Code.YAML_DUPLICATE_KEY] * 2
    inner, outer = diagnostics
    assert (inner.location.line, inner.location.column) == (4, 3)
    assert "'c'" in inner.message and "line 3, column 3" in inner.message
    assert (outer.location.line, outer.location.column) == (5, 1)
    assert "'a'" in outer.message and "line 1, column 1" in outer.message


@pytest.mark.parametrize(
    "tagged",
    [
        '!!python/object/apply:os.system ["touch PWNED"]',
        "!!python/object/new:os.system [touch PWNED]",
        "!!python/name:os.system",
        "!!str 5",
        "!foo bar",
        "!<tag:yaml.org,2002:python/object/apply:os.system> [touch PWNED]",
    ],
)
def test_every_explicit_tag_is_rejected_and_nothing_runs(
    tagged: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    diagnostics = errors_of(f"name: {tagged}\n")
    assert [d.code for d in diagnostics] == [Code.YAML_TAG]
    assert (diagnostics[0].location.line, diagnostics[0].location.column) == (1, 7)
    assert list(tmp_path.iterdir()) == []


def test_nesting_deeper_than_the_limit_is_rejected() -> None:
    diagnostics = errors_of("a: " + "[" * 99 + "]" * 99 + "\n")
    assert [d.code for d in diagnostics] == [Code.YAML_TOO_DEEP]
    # the top-level mapping is depth 1, so the 64th '[' (column 3 + 64) is depth 65
    assert (diagnostics[0].location.line, diagnostics[0].location.column) == (1, 3 + MAX_DEPTH)


def test_nesting_at_the_limit_is_accepted() -> None:
    doc = load_yaml("t.yaml", text="a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    expected: list = []
    for _ in range(MAX_DEPTH - 2):
        expected = [expected]
    assert doc.data["a"] == expected


def test_deep_block_nesting_is_rejected() -> None:
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(100)) + "  " * 100 + "x: 1\n"
    assert codes(text) == [Code.YAML_TOO_DEEP]


def test_pathological_nesting_does_not_hit_the_recursion_limit() -> None:
    assert codes("[" * 20000) == [Code.YAML_TOO_DEEP]


def test_file_over_one_mib_is_rejected_without_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: [" + "1, " * (2 * MAX_BYTES // 3) + "1]\n")
    start = time.perf_counter()
    with pytest.raises(MethodologyError) as info:
        load_yaml(big)
    assert time.perf_counter() - start < 0.5
    (d,) = info.value.diagnostics
    assert d.code == Code.FILE_TOO_LARGE and d.location.file == str(big)


def test_file_one_byte_over_the_limit_is_rejected(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(MethodologyError) as info:
        load_yaml(big)
    assert info.value.diagnostics[0].code == Code.FILE_TOO_LARGE


def test_text_over_one_mib_is_rejected() -> None:
    assert codes("#" + "é" * (MAX_BYTES // 2)) == [Code.FILE_TOO_LARGE]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.yaml", tmp_path):
        with pytest.raises(MethodologyError) as info:
            load_yaml(path)
        (d,) = info.value.diagnostics
        assert d.code == Code.FILE_NOT_FOUND and d.location.file == str(path)


def test_non_utf8_file_gives_a_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: ok\nplace: Almaty\nlabel: Qara\xe9andy\n")
    with pytest.raises(MethodologyError) as info:
        load_yaml(path)
    (d,) = info.value.diagnostics
    assert d.code == Code.YAML_SYNTAX and d.location.line == 3


def test_syntax_error_message_names_the_context_position() -> None:
    (d,) = errors_of('name: demo\nformula: "grp / employed\nweight: 1\n')
    assert d.code == Code.YAML_SYNTAX
    assert "line 2, column 10" in d.message


def test_tab_indentation_gives_line_and_column() -> None:
    (d,) = errors_of("weights:\n  a: 1\n\tb: 2\n")
    assert (d.code, d.location.line, d.location.column) == (Code.YAML_SYNTAX, 3, 1)
    assert d.hint and "tab" in d.hint


def test_control_character_gives_a_position() -> None:
    (d,) = errors_of("a: 1\nb: x\x07y\n")
    assert (d.code, d.location.line, d.location.column) == (Code.YAML_SYNTAX, 2, 5)


def test_multiple_documents_are_rejected_but_one_marked_document_is_fine() -> None:
    assert codes("a: 1\n---\nb: 2\n") == [Code.YAML_SYNTAX]
    assert load_yaml("t.yaml", text="---\na: 1\n...\n").data == {"a": 1}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "just text\n", "42\n", "- a\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    assert codes(text) == [Code.SCHEMA]


def test_problems_of_different_kinds_are_collected_together() -> None:
    text = "a: &x 1\nb: !!str 2\nc: .nan\nd: 1\nd: 2\n"
    assert codes(text) == [
        Code.YAML_ALIAS,
        Code.YAML_TAG,
        Code.YAML_NOT_FINITE,
        Code.YAML_DUPLICATE_KEY,
    ]


# --------------------------------------------------------------------------- scalars


@pytest.fixture(scope="module")
def nested() -> LoadedYaml:
    return load_yaml(DATA / "good" / "nested.yaml")


def test_yaml_1_1_booleans_stay_text(nested: LoadedYaml) -> None:
    assert nested.data["answers"] == ["yes", "no", "on", "off", "y", "n", True, False]


def test_numbers_follow_yaml_1_2(nested: LoadedYaml) -> None:
    got = nested.data["numbers"]
    assert got == [1000.0, 0.0015, 1.0, 10, 0.5, -7, "0x1F", "1_000", "12:30", "2020-01-01"]
    assert [type(v) for v in got[:6]] == [float, float, float, int, float, int]
    assert nested.data["empties"] == [None, None, None]


def test_keys_are_always_text(nested: LoadedYaml) -> None:
    assert nested.data["2010"] == "year key"
    assert load_yaml("t.yaml", text="1: a\n01: b\ntrue: c\n").data == {
        "1": "a",
        "01": "b",
        "true": "c",
    }


def test_block_scalars_are_text(nested: LoadedYaml) -> None:
    assert nested.data["notes"] == "Free text that spans\ntwo lines.\n"
    assert nested.data["folded"] == "folded text"


def test_huge_integer_is_not_finite() -> None:
    assert codes("a: " + "9" * 5000 + "\n") == [Code.YAML_NOT_FINITE]
    assert load_yaml("t.yaml", text="a: " + "9" * 300).data["a"] == int("9" * 300)


# --------------------------------------------------------------------------- positions


def where(loc) -> tuple[int | None, int | None, int]:
    return (loc.line, loc.column, loc.length)


def test_locate_nested_value_in_list_in_mapping(nested: LoadedYaml) -> None:
    path = ("pillars", 0, "indicators", 0, "formula")
    assert where(nested.locate(path)) == (7, 18, len("grp / employed"))
    assert nested.locate(path).source_line == "        formula: grp / employed"
    assert where(nested.locate_key(path)) == (7, 9, len("formula"))
    assert nested.value_column(path) == 18


def test_locate_quoted_scalars_points_after_the_quote(nested: LoadedYaml) -> None:
    formula = ("pillars", 0, "indicators", 1, "formula")
    text = "unemployed / (employed + unemployed)"
    assert where(nested.locate(formula)) == (10, 19, len(text))
    assert nested.value_column(formula) == 19
    line = nested.locate(formula).source_line
    assert line[18 : 18 + len(text)] == text
    # an offset inside the formula lands on the right character
    at = nested.locate(formula).shifted(text.index("employed"), len("employed"))
    assert line[at.column - 1 : at.column - 1 + at.length] == "employed"
    single = ("pillars", 0, "indicators", 1, "id")
    assert where(nested.locate(single)) == (9, 14, len("unemployment"))
    assert where(nested.locate(("name",))) == (2, 8, len("Regional index"))


def test_locate_inside_flow_collections(nested: LoadedYaml) -> None:
    weights = ("pillars", 0, "indicators", 1, "weights")
    assert where(nested.locate(weights)) == (12, 18, len("{a: 1, b: 2.5}"))
    assert where(nested.locate((*weights, "b"))) == (12, 28, 3)
    assert where(nested.locate_key((*weights, "b"))) == (12, 25, 1)
    assert where(nested.locate(("numbers", 3))) == (19, 30, 3)


def test_locate_collections_lists_and_the_root(nested: LoadedYaml) -> None:
    assert where(nested.locate(())) == (2, 1, 1)
    assert where(nested.locate(("pillars",))) == (4, 3, 1)
    assert where(nested.locate(("pillars", 0))) == (4, 5, 1)
    assert where(nested.locate_key(("pillars",))) == (3, 1, len("pillars"))
    # a list item has no key: locate_key falls back to the value
    assert where(nested.locate_key(("pillars", 0))) == (4, 5, 1)


def test_locate_missing_path_gives_nearest_ancestor(nested: LoadedYaml) -> None:
    ancestor = nested.locate(("pillars", 0, "indicators", 0))
    assert nested.locate(("pillars", 0, "indicators", 0, "nope", 3)) == ancestor
    assert nested.locate_key(("pillars", 0, "indicators", 0, "nope")) == ancestor
    assert nested.locate(("pillars", 7)) == nested.locate(("pillars",))


def test_locate_accepts_a_jsonschema_deque(nested: LoadedYaml) -> None:
    path = collections.deque(["pillars", 0, "indicators", 1, "direction"])
    assert where(nested.locate(path)) == (11, 20, len("lower"))


def test_block_scalar_positions(nested: LoadedYaml) -> None:
    assert where(nested.locate(("notes",))) == (13, 8, 1)
    assert where(nested.locate_text(("notes",)))[:2] == (14, 3)
    assert nested.value_column(("notes",)) == 3
    assert where(nested.locate(("folded",))) == (16, 9, 2)
    assert where(nested.locate_text(("folded",)))[:2] == (17, 5)


def test_empty_value_points_after_the_colon() -> None:
    doc = load_yaml("t.yaml", text="a:\nb: 1\n")
    assert doc.data == {"a": None, "b": 1}
    assert where(doc.locate(("a",)))[:2] == (1, 3)


def test_crlf_and_bom_positions() -> None:
    doc = load_yaml("t.yaml", text="\ufeffa: 1\r\nb: 'x y'\r\n")
    assert where(doc.locate(("b",))) == (2, 5, 3)
    assert doc.locate(("b",)).source_line == "b: 'x y'"
    assert where(doc.locate(("a",))) == (1, 4, 1)


def test_source_lines() -> None:
    src = Source("s.yaml", "one\r\ntwo\nthree")
    assert [src.line(n) for n in range(0, 5)] == [None, "one", "two", "three", None]
    loc = src.location(2, 3, 0)
    assert (loc.file, loc.line, loc.column, loc.source_line, loc.length) == (
        "s.yaml",
        2,
        3,
        "two",
        1,
    )


# --------------------------------------------------------------------------- properties

YAMLISH = st.text(alphabet=st.sampled_from(list("ab01.~:-[]{}&*!|>'\"#,?<%@`\n\t \\")))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), YAMLISH))
def test_arbitrary_text_raises_only_methodology_error(text: str) -> None:
    try:
        doc = load_yaml("fuzz.yaml", text=text)
    except MethodologyError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            d.render()
        return
    assert isinstance(doc.data, dict)
    for path in _paths(doc.data):
        loc = doc.locate(path)
        assert loc.line is not None and loc.line >= 1 and loc.column >= 1
        doc.locate_key(path)
        doc.value_column(path)
