"""Checking a loaded methodology against its JSON Schema, in words a researcher can act on.

Mechanism
---------
``Draft202012Validator(schema).iter_errors`` yields every violation. Each one becomes a
:class:`~engine.diagnostics.Diagnostic` with code ``schema``, placed with
:meth:`LoadedYaml.locate` at the error's ``absolute_path``. The message is written per
JSON Schema keyword (``type``, ``enum``, ``required``, ``additionalProperties``,
``minimum`` …; the wording is :mod:`engine.format.schemacheck_words`), never from
jsonschema's own text, which embeds ``repr(instance)`` of the whole offending value.
Values are quoted through :func:`~engine.diagnostics.truncate`.

Special cases:

* ``additionalProperties: false`` gives one diagnostic per unknown key, at the key,
  with a "did you mean" hint from the allowed property names.
* ``required`` says which key is missing and points at the object (at its key when the
  object is itself a mapping entry).
* ``oneOf``/``anyOf``: the alternatives that reject the value's type outright, or whose
  discriminator (a ``const``/``enum`` on a direct property) does not match, are set aside;
  if one alternative remains (or one has fewer errors than all others), its errors are
  reported as if it were the only schema. Otherwise the message lists the allowed forms.

``expected=`` comes from the failing subschema: its ``description`` if it has one, else
its ``enum`` ("one of: higher, lower"), ``const`` or ``type``. A part of the format
defined once under ``$defs`` is described where it is used (``{"description": ...,
"$ref": ...}``); an error inside it takes that description (:func:`_referrer`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.diagnostics import Code, Diagnostic, did_you_mean, truncate
from engine.format.schemacheck_words import (
    Problem,
    expectation,
    message,
    name,
    path_text,
)
from engine.format.yamlsource import LoadedYaml

__all__ = ["check_schema", "load_schema"]


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read a JSON Schema file (cached per resolved path; treat the result as read-only).

    The schema itself is checked against Draft 2020-12; a broken schema is a bug in
    indexlab and raises ``jsonschema.exceptions.SchemaError``.

    >>> load_schema("schema/methodology.schema.json")["type"]  # doctest: +SKIP
    'object'
    """
    return _load_schema(str(Path(path).resolve()))


@functools.lru_cache(maxsize=16)
def _load_schema(resolved: str) -> dict[str, Any]:
    with open(resolved, encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    Draft202012Validator.check_schema(schema)
    return schema


def check_schema(loaded: LoadedYaml, schema: dict[str, Any]) -> tuple[Diagnostic, ...]:
    """Every way `loaded.data` breaks `schema`, as diagnostics ordered by position.

    >>> from engine.format.yamlsource import load_yaml
    >>> doc = load_yaml("m.yaml", text="direction: upward\\n")
    >>> schema = {"properties": {"direction": {"enum": ["higher", "lower"]}}}
    >>> [d.message for d in check_schema(doc, schema)]
    ["'direction' must be one of the allowed values, not the text 'upward'"]
    """
    validator = Draft202012Validator(schema)
    errors = list(validator.iter_errors(loaded.data))
    # a value that breaks both `type` and `enum` is one mistake: the enum's message (it
    # lists the values) says all of it
    enums = {tuple(e.absolute_path) for e in errors if e.validator == "enum"}
    found: list[Diagnostic] = []
    for error in errors:
        if error.validator == "type" and tuple(error.absolute_path) in enums:
            continue
        found.extend(_diagnose(error, loaded, schema))
    unique = list(dict.fromkeys(found))  # a oneOf may report the same thing twice

    def position(d: Diagnostic) -> tuple[int, int]:
        loc = d.location
        return (loc.line or 0, loc.column or 0) if loc else (0, 0)

    return tuple(sorted(unique, key=position))


# --------------------------------------------------------------------------- per error


def _diagnose(error: ValidationError, loaded: LoadedYaml, root: dict[str, Any]) -> list[Diagnostic]:
    keyword = error.validator
    path = tuple(error.absolute_path)
    what, loc = name(path), loaded.locate(path)
    # A key rejected by propertyNames: the instance is the key, the path its object.
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        parent = _value_at(loaded.data, path)
        if isinstance(parent, dict) and error.instance in parent:
            what = f"the key '{truncate(error.instance, 60)}'"
            loc = loaded.locate_key((*path, error.instance))
    if keyword in ("oneOf", "anyOf"):
        chosen = _choose_alternative(error)
        if chosen is not None:
            return [d for sub in chosen for d in _diagnose(sub, loaded, root)]
    if keyword == "required":
        return _missing(error, loaded, path, what)
    closed = keyword in ("additionalProperties", "unevaluatedProperties")
    if closed and error.validator_value is False:
        unknown = _unknown_keys(error, loaded, path)
        if unknown:
            return unknown
    if keyword is None:  # a `false` subschema
        return _forbidden(error, loaded, root, path, what)
    schema = _described(error, root)
    several = keyword == "oneOf" and not error.context
    problem = Problem(what, error.instance, error.validator_value, schema, error.message, several)
    said = message(keyword, problem)
    wanted = said.expected if said.expected is not None else expectation(schema)
    return [Diagnostic(Code.SCHEMA, said.text, loc, wanted, said.hint)]


def _described(error: ValidationError, root: dict[str, Any]) -> dict[str, Any]:
    """The failing subschema, with the description of the ``$ref`` that led to it."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "description" not in schema:
        described = _referrer(root, error.absolute_schema_path)
        if described is not None:
            schema = {**schema, "description": described}
    return schema


def _missing(
    error: ValidationError, loaded: LoadedYaml, path: tuple[str | int, ...], what: str
) -> list[Diagnostic]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    required: Any = error.validator_value
    missing = [p for p in required if p not in instance]
    # jsonschema yields one error per missing key with the text "'name' is a required …"
    key = next((p for p in missing if error.message.startswith(f"{p!r} ")), None)
    if key is None:
        key = missing[0] if missing else "?"
    properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    wanted = expectation(properties.get(key)) if isinstance(properties, dict) else None
    where = loaded.locate_key(path) if path and isinstance(path[-1], str) else loaded.locate(path)
    return [
        Diagnostic(
            Code.SCHEMA,
            f"{what} is missing the required key '{truncate(key, 60)}'",
            where,
            wanted,
        )
    ]


def _unknown_keys(
    error: ValidationError, loaded: LoadedYaml, path: tuple[str | int, ...]
) -> list[Diagnostic]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance if isinstance(error.instance, dict) else {}
    properties = schema.get("properties", {})
    allowed = [str(p) for p in properties] if isinstance(properties, dict) else []
    patterns = schema.get("patternProperties", {}) or {}
    where = f"in '{path_text(path)}'" if path else "at the top level"
    result = []
    for key in instance:
        if key in allowed or any(re.search(p, key) for p in patterns):
            continue
        expected = f"one of: {', '.join(allowed)}" if allowed else "no other keys"
        result.append(
            Diagnostic(
                Code.SCHEMA,
                f"unknown key '{truncate(key, 60)}' {where}",
                loaded.locate_key((*path, key)),
                truncate(expected, 200),
                did_you_mean(key, allowed),
            )
        )
    return result


def _forbidden(
    error: ValidationError,
    loaded: LoadedYaml,
    root: dict[str, Any],
    path: tuple[str | int, ...],
    what: str,
) -> list[Diagnostic]:
    """A value rejected by a `false` subschema, e.g. ``properties: {legacy: false}``."""
    # jsonschema 4.26 leaves the property name out of such an error's path; find it
    # through the schema: the `properties` entries that are `false` and present here.
    schema_path = list(error.absolute_schema_path)
    parent = _value_at(loaded.data, path)
    if schema_path and schema_path[-1] == "properties" and isinstance(parent, dict):
        properties = _schema_at(root, schema_path)
        if isinstance(properties, dict):
            keys = [k for k, s in properties.items() if s is False and k in parent]
            if keys:
                return [
                    Diagnostic(
                        Code.SCHEMA,
                        f"{name((*path, k))} is not allowed here",
                        loaded.locate_key((*path, k)),
                    )
                    for k in keys
                ]
    where = loaded.locate_key(path) if path and isinstance(path[-1], str) else loaded.locate(path)
    return [Diagnostic(Code.SCHEMA, f"{what} is not allowed here", where)]


def _choose_alternative(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the oneOf/anyOf alternative the author most likely meant, if clear."""
    groups: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        key = sub.relative_schema_path[0] if sub.relative_schema_path else None
        groups.setdefault(key, []).append(sub)
    candidates = [errs for errs in groups.values() if not _rejects_type(errs)]
    if not candidates:
        return None
    matching_tag = [errs for errs in candidates if not _rejects_discriminator(errs)]
    if matching_tag:
        candidates = matching_tag
    if len(candidates) == 1:
        return candidates[0]
    candidates.sort(key=len)
    if len(candidates[0]) < len(candidates[1]):
        return candidates[0]
    return None


def _rejects_type(errors: Iterable[ValidationError]) -> bool:
    return any(e.validator == "type" and not e.relative_path for e in errors)


def _rejects_discriminator(errors: Iterable[ValidationError]) -> bool:
    return any(e.validator in ("const", "enum") and len(e.relative_path) == 1 for e in errors)


# --------------------------------------------------------------------------- the schema


def _schema_at(root: dict[str, Any], path: Sequence[str | int]) -> Any:
    """The subschema at a jsonschema schema path, which passes through ``$ref`` silently."""
    node: Any = root
    for part in path:
        while isinstance(node, dict) and part not in node and "$ref" in node:
            node = _resolve(root, node["$ref"])
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _resolve(root: dict[str, Any], ref: Any) -> Any:
    """A local reference ``#/$defs/name`` (the only kind the format uses)."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return None
    return _value_at(root, ref[2:].split("/"))


def _referrer(root: dict[str, Any], schema_path: Sequence[str | int]) -> str | None:
    """The description of the ``$ref`` that led to the failing subschema, if any."""
    node = _schema_at(root, list(schema_path)[:-1])
    if isinstance(node, dict) and "$ref" in node and isinstance(node.get("description"), str):
        return str(node["description"])
    return None


def _value_at(data: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
