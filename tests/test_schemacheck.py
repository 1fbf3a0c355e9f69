"""Tests for engine.format.schemacheck with small schemas of our own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema.exceptions import SchemaError

from engine.diagnostics import Code
from engine.format.schemacheck import check_schema, load_schema
from engine.format.yamlsource import load_yaml

NORMALISE = {
    "oneOf": [
        {"type": "string", "enum": ["minmax", "zscore"], "description": "a method name"},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["method"],
            "properties": {
                "method": {"const": "minmax"},
                "min": {"type": "number"},
                "max": {"type": "number"},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["method"],
            "properties": {
                "method": {"const": "goalpost"},
                "lower": {"type": "number"},
                "upper": {"type": "number"},
            },
        },
    ]
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "indicators"],
    "properties": {
        "name": {"type": "string", "description": "the index's name"},
        "indicators": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "formula"],
                "properties": {
                    "id": {
                        "type": "string",
                        "pattern": "^[a-z_][a-z0-9_]*$",
                        "description": "a lower-case identifier such as grp_per_worker",
                    },
                    "formula": {"type": "string", "maxLength": 200},
                    "direction": {"enum": ["higher", "lower"]},
                    "weight": {"type": "number", "minimum": 0},
                    "normalise": NORMALISE,
                },
            },
        },
    },
}

GOOD = """\
name: demo
indicators:
  - id: grp_per_worker
    formula: grp / employed
    direction: higher
    weight: 1
    normalise: minmax
  - id: unemployment
    formula: "unemployed / labour_force"
    direction: lower
    normalise: {method: goalpost, lower: 0, upper: 0.3}
"""


def check(text: str, schema: dict = SCHEMA):
    return check_schema(load_yaml("m.yaml", text=text), schema)


def pos(d) -> tuple[int | None, int | None]:
    return (d.location.line, d.location.column)


def test_valid_document_has_no_diagnostics() -> None:
    assert check(GOOD) == ()


def test_unknown_top_level_key_gets_a_hint_and_the_missing_key_is_named() -> None:
    text = "name: demo\nindicatrs:\n  - id: a\n    formula: b\n"
    missing, unknown = check(text)
    assert missing.code == unknown.code == Code.SCHEMA
    assert missing.message == "the top level is missing the required key 'indicators'"
    assert pos(missing) == (1, 1)
    assert unknown.message == "unknown key 'indicatrs' at the top level"
    assert pos(unknown) == (2, 1) and unknown.location.length == len("indicatrs")
    assert unknown.hint == "did you mean 'indicators'?"
    assert unknown.expected == "one of: name, indicators"


def test_unknown_nested_key_is_located_at_the_key() -> None:
    text = GOOD.replace("    weight: 1\n", "    weigth: 1\n")
    (d,) = check(text)
    assert d.message == "unknown key 'weigth' in 'indicators[0]'"
    assert pos(d) == (6, 5)
    assert d.hint == "did you mean 'weight'?"


def test_every_unknown_key_is_reported() -> None:
    text = GOOD.replace("    weight: 1\n", "    weigth: 1\n    colour: red\n")
    assert [d.message for d in check(text)] == [
        "unknown key 'weigth' in 'indicators[0]'",
        "unknown key 'colour' in 'indicators[0]'",
    ]


def test_enum_gives_the_allowed_values_and_a_hint() -> None:
    (d,) = check(GOOD.replace("direction: lower", 'direction: "lowr"'))
    assert d.message == (
        "'indicators[1].direction' must be one of the allowed values, not the text 'lowr'"
    )
    assert d.expected == "one of: higher, lower"
    assert d.hint == "did you mean 'lower'?"
    assert pos(d) == (10, 17)  # after the opening quote


def test_enum_with_a_description_still_lists_the_allowed_values() -> None:
    """A described enum (the format's ``method`` keys: "Normalisation method.") names the
    values, not only the description."""
    schema = {
        "properties": {
            "method": {"description": "Normalisation method.", "enum": ["leader_share", "min_max"]}
        }
    }
    (d,) = check("method: foo\n", schema)
    assert d.expected == "one of: leader_share, min_max"


def test_a_value_of_the_wrong_type_for_an_enum_is_one_problem() -> None:
    """``weighting: {method: pca}`` broke both ``type: string`` and the enum: one mistake,
    reported once, with the values to choose from."""
    schema = {"properties": {"w": {"type": "string", "enum": ["equal", "pca"]}}}
    (d,) = check("w: {method: pca}\n", schema)
    assert d.message == "'w' must be one of the allowed values, not a mapping with 1 key"
    assert d.expected == "one of: equal, pca"


def test_type_error_in_a_list_item_is_located_at_the_value() -> None:
    (d,) = check(GOOD.replace("weight: 1", "weight: heavy"))
    assert d.message == "'indicators[0].weight' must be a number, not the text 'heavy'"
    assert pos(d) == (6, 13) and d.location.length == 5
    assert d.expected == "a number"
    rendered = d.render()
    assert rendered.startswith("m.yaml:6:13: error[schema]:")
    assert "    weight: heavy" in rendered and "^^^^^" in rendered


def test_minimum() -> None:
    (d,) = check(GOOD.replace("weight: 1", "weight: -0.5"))
    assert d.message == "'indicators[0].weight' must be at least 0, not the number -0.5"


def test_required_key_in_a_list_item() -> None:
    text = "name: demo\nindicators:\n  - id: a\n    direction: higher\n"
    (d,) = check(text)
    assert d.message == "'indicators[0]' is missing the required key 'formula'"
    assert pos(d) == (3, 5)


def test_required_key_in_a_mapping_entry_points_at_its_key() -> None:
    text = GOOD.replace("{method: goalpost, lower: 0, upper: 0.3}", "{lower: 0}")
    (d,) = check(text)
    assert d.message == "'indicators[1].normalise' is missing the required key 'method'"
    assert pos(d) == (11, 5)


def test_pattern_uses_the_description() -> None:
    (d,) = check(GOOD.replace("id: unemployment", "id: Unemployment rate"))
    assert d.message.startswith("'indicators[1].id' does not have the expected form")
    assert d.expected == "a lower-case identifier such as grp_per_worker"


def test_one_of_picks_the_alternative_matching_the_discriminator() -> None:
    text = GOOD.replace("lower: 0, upper", "lowr: 0, upper")
    (d,) = check(text)
    assert d.message == "unknown key 'lowr' in 'indicators[1].normalise'"
    assert d.hint == "did you mean 'lower'?"
    assert pos(d) == (11, 35)


def test_one_of_reports_the_specific_nested_problem() -> None:
    text = GOOD.replace("normalise: minmax", "normalise: {method: minmax, min: low}")
    (d,) = check(text)
    assert d.message == "'indicators[0].normalise.min' must be a number, not the text 'low'"
    assert pos(d) == (7, 38)


def test_one_of_with_the_right_type_picks_that_alternative() -> None:
    (d,) = check(GOOD.replace("normalise: minmax", "normalise: minmaxx"))
    assert d.message.startswith("'indicators[0].normalise' must be one of the allowed values")
    assert d.hint == "did you mean 'minmax'?"


def test_one_of_with_no_plausible_alternative_lists_the_forms() -> None:
    (d,) = check(GOOD.replace("normalise: minmax", "normalise: 5"))
    assert "does not match any of the allowed forms" in d.message
    assert "is not valid under" not in d.message
    assert d.expected and "a method name" in d.expected and "a mapping" in d.expected


def test_one_of_matching_twice() -> None:
    schema = {"oneOf": [{"type": "object"}, {"required": ["a"]}]}
    (d,) = check("a: 1\n", schema)
    assert d.message == "the top level matches more than one of the allowed forms"


def test_any_of_picks_the_specific_problem() -> None:
    schema = {
        "properties": {
            "w": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": "^a"}]}
        }
    }
    (d,) = check("w: -3\n", schema)
    assert d.message == "'w' must be at least 0, not the number -3"


def test_diagnostics_are_ordered_by_position() -> None:
    text = (
        "name: 5\n"
        "indicators:\n"
        "  - id: A\n"
        "    formula: x\n"
        "    direction: up\n"
        "  - id: b\n"
        "    formula: 7\n"
    )
    got = [pos(d) for d in check(text)]
    assert got == [(1, 7), (3, 9), (5, 16), (7, 14)]


def test_a_huge_value_is_never_embedded() -> None:
    long_formula = "a + " * 400 + "b"
    (d,) = check(GOOD.replace("grp / employed", long_formula))
    assert d.message == "'indicators[0].formula' must have at most 200 characters (it has 1601)"
    big_list = "[" + ", ".join(["1"] * 5000) + "]"
    (d,) = check(GOOD.replace("grp / employed", big_list))
    assert d.message == "'indicators[0].formula' must be text, not a list of 5000 items"
    (d,) = check(GOOD.replace("grp / employed", '"' + "x" * 10000 + '"'))
    assert len(d.message) < 200  # only the excerpt (the source line) carries the value
    assert d.location.length == 10000


def test_property_names_are_located_at_the_key() -> None:
    schema = {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}
    (d,) = check("good: 1\nBad Key: 2\n", schema)
    assert d.message.startswith("the key 'Bad Key' does not have the expected form")
    assert pos(d) == (2, 1)


def test_false_subschema() -> None:
    schema = {"properties": {"legacy": False}}
    (d,) = check("legacy: 1\n", schema)
    assert d.message == "'legacy' is not allowed here"
    assert pos(d) == (1, 1)


def test_empty_value_is_reported_as_null() -> None:
    (d,) = check(GOOD.replace("weight: 1", "weight:"))
    assert d.message == "'indicators[0].weight' must be a number, not empty (null)"


def test_load_schema_reads_json_once(tmp_path: Path) -> None:
    path = tmp_path / "s.schema.json"
    path.write_text(json.dumps(SCHEMA))
    first = load_schema(path)
    assert first == SCHEMA
    assert load_schema(str(path)) is first


def test_load_schema_rejects_a_broken_schema(tmp_path: Path) -> None:
    path = tmp_path / "broken.schema.json"
    path.write_text(json.dumps({"type": "no-such-type"}))
    with pytest.raises(SchemaError):
        load_schema(path)
