"""The JSON Schema is the one definition of the format: valid, documented everywhere, and
the committed ``schema/methodology.schema.json`` is exactly what the engine generates."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.format.schema import methodology_schema, schema_text

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schema" / "methodology.schema.json").read_text(encoding="utf-8"))
EXTENSION = json.loads((ROOT / "schema" / "extension.schema.json").read_text(encoding="utf-8"))


def _properties(node: object, path: str = "$"):
    """Every (path, subschema) that declares a property."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{path}.{name}", sub
        for key, sub in node.items():
            if key in ("properties",):
                for name, s in sub.items():
                    yield from _properties(s, f"{path}.{name}")
            elif isinstance(sub, dict | list):
                yield from _properties(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _properties(sub, f"{path}[{i}]")


def _described(sub: dict) -> bool:
    """A description of its own, or one on the $defs entry it refers to."""
    if sub.get("description") or "const" in sub:
        return True
    ref = sub.get("$ref")
    return isinstance(ref, str) and bool(SCHEMA["$defs"][ref.split("/")[-1]].get("description"))


def test_committed_schema_is_the_generated_one() -> None:
    committed = (ROOT / "schema" / "methodology.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "schema/methodology.schema.json is out of date: run "
        "`indexlab schema > schema/methodology.schema.json`"
    )
    assert methodology_schema() == SCHEMA


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_field_has_a_description() -> None:
    missing = sorted(
        {p for p, sub in _properties(SCHEMA) if isinstance(sub, dict) and not _described(sub)}
    )
    assert missing == [], f"fields without a description: {missing}"


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "methodologies").glob("*.yaml")) + sorted((ROOT / "examples").rglob("*.yaml")),
    ids=lambda p: p.name,
)
def test_every_shipped_methodology_is_valid_against_the_schema(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "extends" in document:  # a partial file: its own schema, then the merged result
        errors = list(jsonschema.Draft202012Validator(EXTENSION).iter_errors(document))
        assert errors == [], [e.message[:200] for e in errors]
        from engine.format.show import show_methodology

        document = yaml.safe_load(show_methodology(path, resolved=True))
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))
    assert errors == [], [e.message[:200] for e in errors]
