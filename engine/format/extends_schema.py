"""The JSON Schema of an extending file, derived from the methodology schema.

An extending file is partial: it states what it changes, so it cannot be checked against
``schema/methodology.schema.json`` (every required key would be missing). Both are
checked instead: the extending file on its own against the schema derived here (errors
in that file), then the merged methodology against the full schema (errors where each
value was written). The derived schema is also shipped as
``schema/extension.schema.json`` for editors (``indexlab schema --extension`` prints it).

Derivation, applied to every mapping a merge walks into (lists' items stay whole):

* ``required``, ``minProperties`` are dropped: the base supplies what is not stated;
* every property (and ``additionalProperties``/``patternProperties`` entry) may also be
  ``null``, which deletes the inherited entry;
* a list may also be written as an edit ``{add: [...], remove: [...]}`` (the list's item
  schema is shared through ``$defs/items_N`` rather than copied three times);
* ``oneOf`` becomes ``anyOf`` (a partial value may fit several forms), and an ``if``
  that tests a discriminator (``properties: {method: {const: ...}}``) also requires it,
  so a method's own rules apply only where the file names the method;
* ``$ref: #/$defs/X`` points at a derived ``#/$defs/partial_X``.

At the top level ``indexlab``, ``extends``, ``id``, ``title`` and ``version`` are
required and cannot be deleted: every extension names itself.
"""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = ["EXTENDS_PROPERTY", "OWN_KEYS", "derive_extension_schema", "extension_schema_text"]

OWN_KEYS = ("indexlab", "id", "title", "version")
"""Top-level keys every extending file states itself (never inherited)."""

EXTENDS_PROPERTY: dict[str, Any] = {
    "description": (
        "The base methodology this file changes: a path relative to this file "
        "(ending in .yaml or .yml), or the id of a methodology shipped with indexlab. "
        "This file states only what differs; see docs/format.md, 'Extending a methodology'."
    ),
    "type": "string",
    "minLength": 1,
    "maxLength": 500,
}

_DELETE = {"type": "null", "description": "~ (null) deletes the inherited entry."}
_PARTIAL_PREFIX = "partial_"


def derive_extension_schema(full: dict[str, Any]) -> dict[str, Any]:
    """The schema of an extending file, from the methodology schema `full`.

    >>> full = {"type": "object", "required": ["id", "inputs"], "properties": {
    ...     "id": {"type": "string"}, "inputs": {"type": "object", "minProperties": 1}}}
    >>> derived = derive_extension_schema(full)
    >>> derived["required"]
    ['indexlab', 'extends', 'id', 'title', 'version']
    >>> derived["properties"]["inputs"]["anyOf"][0]["type"]
    'null'
    """
    out = {k: copy.deepcopy(v) for k, v in full.items() if k not in ("properties", "$defs")}
    if isinstance(full.get("$id"), str):
        out["$id"] = full["$id"].replace("methodology.schema.json", "extension.schema.json")
    out["title"] = "indexlab methodology extension"
    out["description"] = (
        "A methodology that extends a base (extends:) and states only what it changes. "
        "Mappings merge by key, '~' deletes an inherited entry, a list replaces the "
        "inherited one or changes it with {add: [...], remove: [...]}. "
        "See docs/format.md, 'Extending a methodology'."
    )
    deriver = _Deriver()
    properties: dict[str, Any] = {}
    for name, sub in full.get("properties", {}).items():
        if name in OWN_KEYS:
            properties[name] = copy.deepcopy(sub)
        else:
            properties[name] = _deletable(deriver.partial(sub))
        if name == "indexlab":
            properties["extends"] = dict(EXTENDS_PROPERTY)
    properties.setdefault("extends", dict(EXTENDS_PROPERTY))
    out["properties"] = properties
    out["required"] = ["indexlab", "extends", *OWN_KEYS[1:]]
    defs = full.get("$defs")
    if isinstance(defs, dict):
        partial_defs = {_PARTIAL_PREFIX + name: deriver.partial(sub) for name, sub in defs.items()}
        deriver.defs |= copy.deepcopy(defs) | partial_defs
    if deriver.defs:
        out["$defs"] = deriver.defs
    return out


def _deletable(schema: Any) -> Any:
    """`schema`, or null (delete); the description stays on top for editors."""
    if schema is True:
        return True
    lifted: dict[str, Any] = {"anyOf": [_DELETE, schema]}
    if isinstance(schema, dict) and isinstance(schema.get("description"), str):
        lifted = {"description": schema["description"], **lifted}
    return lifted


class _Deriver:
    """The derivation's walk; item schemas of lists are collected in ``defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def partial(self, schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        if schema.get("type") == "array":
            return self.list_or_edit(schema)
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in ("required", "minProperties"):
                continue
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                out[key] = {k: _deletable(self.partial(v)) for k, v in value.items()}
            elif key == "additionalProperties" and isinstance(value, dict):
                out[key] = _deletable(self.partial(value))
            elif key in ("oneOf", "anyOf") and isinstance(value, list):
                alternatives = [self.partial(v) for v in value]
                if any(a not in ({}, True) for a in alternatives):
                    out["anyOf"] = alternatives
            elif key == "allOf" and isinstance(value, list):
                out[key] = [self.partial(v) for v in value]
            elif key == "if" and isinstance(value, dict):
                out[key] = _requiring_discriminator(value)
            elif key in ("then", "else"):
                out[key] = self.partial(value)
            elif key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = "#/$defs/" + _PARTIAL_PREFIX + value.removeprefix("#/$defs/")
            else:
                out[key] = copy.deepcopy(value)
        return out

    def list_or_edit(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A whole list (as in the full schema), or an edit of the inherited one."""
        whole = copy.deepcopy(schema)
        items: Any = {}
        if "items" in whole:
            name = f"items_{len(self.defs) + 1}"
            self.defs[name] = whole.pop("items")
            items = {"$ref": f"#/$defs/{name}"}
            whole["items"] = items
        edit = {
            "description": "Change the inherited list: 'remove' takes items out (each must "
            "be there), 'add' appends items (none may be there already).",
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "add": {
                    "description": "Items appended to the inherited list.",
                    "type": "array",
                    "items": items,
                    "minItems": 1,
                },
                "remove": {
                    "description": "Items taken out of the inherited list.",
                    "type": "array",
                    "items": items,
                    "minItems": 1,
                },
            },
        }
        lifted: dict[str, Any] = {"anyOf": [whole, edit]}
        if isinstance(schema.get("description"), str):
            lifted = {"description": schema["description"], **lifted}
        return lifted


def _requiring_discriminator(condition: dict[str, Any]) -> dict[str, Any]:
    """``if: {properties: {method: {const: x}}}`` holds only where `method` is stated."""
    out = copy.deepcopy(condition)
    names = list(condition.get("properties", {}))
    if names:
        out["required"] = sorted(set(out.get("required", [])) | set(names))
    return out


def extension_schema_text() -> str:
    """``schema/extension.schema.json`` as ``indexlab schema --extension`` prints it."""
    from engine.format.schema import methodology_schema

    derived = derive_extension_schema(methodology_schema())
    return json.dumps(derived, indent=2, ensure_ascii=False) + "\n"
