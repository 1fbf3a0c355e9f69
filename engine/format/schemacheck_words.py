"""The words of a schema problem: the value as a reader sees it, and one message per keyword.

A JSON Schema keyword that a value breaks (``type``, ``enum``, ``minimum`` …) has one
message-maker in :data:`MESSAGES`, which says what is wrong with the value in plain words
(:func:`describe` shows "the text 'upward'", never a ``repr`` of a whole mapping), and
what was expected when the subschema says more than its description. Placing the problem
in the file, and the keywords that need the document (``required``, unknown keys,
``oneOf``), is :mod:`engine.format.schemacheck`'s part.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.diagnostics import did_you_mean, truncate

__all__ = ["MESSAGES", "Message", "Problem", "alternatives", "describe", "expectation", "name"]

TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "empty (null)",
}


@dataclass(frozen=True)
class Problem:
    """One broken keyword: `what` names the value (``'groups.g1.weights'``), `instance` is
    the value, `value` the keyword's own value (the allowed values of an ``enum``)."""

    what: str
    instance: Any
    value: Any
    schema: dict[str, Any]
    #: jsonschema's text, for keywords without a message of their own
    fallback: str
    #: a ``oneOf`` that more than one alternative fits
    several_fit: bool = False


@dataclass(frozen=True)
class Message:
    """What to tell the reader: the message, and what was expected (None: the
    subschema's description, see :func:`expected`) with a hint."""

    text: str
    expected: str | None = None
    hint: str | None = None


def _type(p: Problem) -> Message:
    return Message(f"{p.what} must be {types(p.value)}, not {describe(p.instance)}")


def _enum(p: Problem) -> Message:
    hint = None
    if isinstance(p.instance, str):
        hint = did_you_mean(p.instance, [str(v) for v in p.value])
    # the values themselves, even where the key has a description ("Normalisation
    # method."): they are what the reader has to choose from
    allowed = truncate("one of: " + ", ".join(str(v) for v in p.value), 200)
    return Message(
        f"{p.what} must be one of the allowed values, not {describe(p.instance)}", allowed, hint
    )


def _const(p: Problem) -> Message:
    return Message(f"{p.what} must be {literal(p.value)}, not {describe(p.instance)}")


def _forms(p: Problem) -> Message:
    forms = alternatives(p.value)
    if p.several_fit:
        return Message(f"{p.what} matches more than one of the allowed forms", forms)
    return Message(
        f"{p.what} does not match any of the allowed forms; it is {describe(p.instance)}", forms
    )


def _bound(words: str) -> Callable[[Problem], Message]:
    def message(p: Problem) -> Message:
        return Message(f"{p.what} must be {words} {p.value}, not {describe(p.instance)}")

    return message


def _multiple(p: Problem) -> Message:
    return Message(f"{p.what} must be a multiple of {p.value}, not {describe(p.instance)}")


def _size(bound: str, unit: str) -> Callable[[Problem], Message]:
    def message(p: Problem) -> Message:
        try:
            has = f" (it has {len(p.instance)})"
        except TypeError:
            has = ""
        return Message(f"{p.what} must have {bound} {p.value} {unit}{has}")

    return message


def _unique(p: Problem) -> Message:
    return Message(f"{p.what} lists the same item more than once")


def _pattern(p: Problem) -> Message:
    wanted = p.schema.get("description") or f"text matching the pattern {p.value}"
    return Message(
        f"{p.what} does not have the expected form: {describe(p.instance)}",
        truncate(wanted, 200),
    )


def _format(p: Problem) -> Message:
    return Message(f"{p.what} is not a valid {p.value}: {describe(p.instance)}")


def _not(p: Problem) -> Message:
    return Message(f"{p.what} has a value that is not allowed here: {describe(p.instance)}")


def _fallback(p: Problem) -> Message:
    """Anything else (contains, dependentRequired, if/then …): jsonschema's text, shortened."""
    return Message(f"{p.what}: {truncate(p.fallback, 160)}")


#: the message of each keyword; a keyword not listed gets jsonschema's own text, shortened
MESSAGES: dict[str, Callable[[Problem], Message]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "oneOf": _forms,
    "anyOf": _forms,
    "minimum": _bound("at least"),
    "maximum": _bound("at most"),
    "exclusiveMinimum": _bound("greater than"),
    "exclusiveMaximum": _bound("less than"),
    "multipleOf": _multiple,
    "minLength": _size("at least", "characters"),
    "maxLength": _size("at most", "characters"),
    "minItems": _size("at least", "items"),
    "maxItems": _size("at most", "items"),
    "minProperties": _size("at least", "keys"),
    "maxProperties": _size("at most", "keys"),
    "uniqueItems": _unique,
    "pattern": _pattern,
    "format": _format,
    "not": _not,
}


def message(keyword: object, problem: Problem) -> Message:
    """The message for `problem`, a broken `keyword`."""
    rule = MESSAGES.get(keyword, _fallback) if isinstance(keyword, str) else _fallback
    return rule(problem)


def path_text(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + truncate(part, 40)
    return text


def name(path: Sequence[str | int]) -> str:
    return f"'{path_text(path)}'" if path else "the top level"


def describe(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {truncate(value, 40)}"
    if isinstance(value, str):
        return f"the text {truncate(repr(value), 60)}" if value else "empty text"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"a mapping with {len(value)} key{'s' if len(value) != 1 else ''}"
    return truncate(value, 60)


def literal(value: Any) -> str:
    if isinstance(value, str):
        return f"'{truncate(value, 60)}'"
    return truncate(json.dumps(value), 60)


def types(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(value)
    return " or ".join(TYPE_WORDS.get(n, str(n)) for n in names)


def expectation(schema: Any) -> str | None:
    """What a subschema asks for, in words: its description, else its values or type."""
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("description"), str):
        return truncate(schema["description"], 200)
    if isinstance(schema.get("enum"), list):
        return truncate("one of: " + ", ".join(str(v) for v in schema["enum"]), 200)
    if "const" in schema:
        return literal(schema["const"])
    if "type" in schema:
        return types(schema["type"])
    return None


def alternatives(alternatives: Any) -> str | None:
    if not isinstance(alternatives, list):
        return None
    forms = [expectation(alt) or "another form" for alt in alternatives]
    return truncate(" | ".join(dict.fromkeys(forms)), 200)
