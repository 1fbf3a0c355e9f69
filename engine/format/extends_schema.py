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
* a list may also be written as an edit ``{add: [...], remove: [...]}``;
* ``oneOf`` becomes ``anyOf`` (a partial value may fit several forms), and an ``if``
  that tests a discriminator (``properties: {method: {const: ...}}``) also requires it,
  so a method's own rules apply only where the file names the method;
* ``$ref: #/$defs/X`` points at a derived ``#/$defs/partial_X``.

At the top level ``indexlab``, ``extends``, ``id``, ``title`` and ``version`` are
required and cannot be deleted: every extension names itself.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["EXTENDS_PROPERTY", "OWN_KEYS", "derive_extension_schema"]

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
    properties: dict[str, Any] = {}
    for name, sub in full.get("properties", {}).items():
        if name in OWN_KEYS:
            properties[name] = copy.deepcopy(sub)
        else:
            properties[name] = _deletable(_partial(sub))
        if name == "indexlab":
            properties["extends"] = dict(EXTENDS_PROPERTY)
    properties.setdefault("extends", dict(EXTENDS_PROPERTY))
    out["properties"] = properties
    out["required"] = ["indexlab", "extends", *OWN_KEYS[1:]]
    defs = full.get("$defs")
    if isinstance(defs, dict):
        out["$defs"] = copy.deepcopy(defs) | {
            _PARTIAL_PREFIX + name: _partial(sub) for name, sub in defs.items()
        }
    return out


def _deletable(schema: Any) -> Any:
    """`schema`, or null (delete); the description stays on top for editors."""
    if schema is True:
        return True
    lifted: dict[str, Any] = {"anyOf": [_DELETE, schema]}
    if isinstance(schema, dict) and isinstance(schema.get("description"), str):
        lifted = {"description": schema["description"], **lifted}
    return lifted


def _partial(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    if _is_array(schema):
        return _list_or_edit(schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("required", "minProperties"):
            continue
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {k: _deletable(_partial(v)) for k, v in value.items()}
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _deletable(_partial(value))
        elif key in ("oneOf", "anyOf") and isinstance(value, list):
            alternatives = [_partial(v) for v in value]
            if any(a not in ({}, True) for a in alternatives):
                out["anyOf"] = alternatives
        elif key == "allOf" and isinstance(value, list):
            out[key] = [_partial(v) for v in value]
        elif key == "if" and isinstance(value, dict):
            out[key] = _requiring_discriminator(value)
        elif key in ("then", "else"):
            out[key] = _partial(value)
        elif key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            out[key] = "#/$defs/" + _PARTIAL_PREFIX + value.removeprefix("#/$defs/")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_array(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "array" or (isinstance(kind, list) and kind == ["array"])


def _list_or_edit(schema: dict[str, Any]) -> dict[str, Any]:
    """A whole list (as in the full schema), or an edit of the inherited one."""
    items = copy.deepcopy(schema.get("items", {}))
    edit = {
        "description": "Change the inherited list: 'remove' takes items out (each must be "
        "there), 'add' appends items (none may be there already).",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "add": {"description": "Items appended to the inherited list.", "type": "array",
                    "items": items, "minItems": 1},
            "remove": {"description": "Items taken out of the inherited list.",
                       "type": "array", "items": items, "minItems": 1},
        },
    }
    lifted: dict[str, Any] = {"anyOf": [copy.deepcopy(schema), edit]}
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
