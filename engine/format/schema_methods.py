"""The JSON Schema's method parts, generated from the method declarations.

For each stage with a ``{method: ..., <parameters>}`` mapping (normalisation,
aggregation, imputation, treatment) this makes

* a ``$defs`` entry per method, ``"<stage>.<method>"``: its description, ``method`` as a
  ``const``, its parameters (:func:`param_schema`) and no other keys;
* the stage's entry ``"<stage>"``: the ``method`` key with the enum of names, and one
  ``if method == name then $ref <stage>.<name>`` per method (so a wrong key is reported
  against the method the author chose);
* ``"<stage>.alternative"``: what ``uncertainty.<stage>.alternatives`` accepts.

Weighting is a name (``"weighting"``: an enum), transforms are a normalisation's
``transform`` key (``"transform"``). The rest of the format is
``engine/format/schema_format.json``; :mod:`engine.format.schema` puts them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.methods import catalogue
from engine.methods.registry import NAME_PATTERN, Listing, Method, Param, ParamType, Stage
from engine.methods.transform import Transform

__all__ = ["method_defs", "param_schema"]

#: the stages written as a mapping with a `method` key
OBJECT_STAGES = (Stage.NORMALISE, Stage.AGGREGATE, Stage.IMPUTE, Stage.TREAT)

_TYPES: dict[ParamType, dict[str, Any]] = {
    ParamType.NUMBER: {"type": "number"},
    ParamType.INTEGER: {"type": "integer"},
    ParamType.BOOLEAN: {"type": "boolean"},
    ParamType.CHOICE: {"type": "string"},
    ParamType.NUMBERS: {"type": "array"},
    ParamType.PERIOD: {"type": ["integer", "string"]},
    ParamType.UNIT: {"type": ["string", "integer"]},
    ParamType.COLUMNS: {
        "type": "array",
        "items": {"type": "string", "pattern": NAME_PATTERN},
        "uniqueItems": True,
    },
    ParamType.FORMULA: {"type": "string", "minLength": 1, "maxLength": 2000},
    ParamType.NAME: {"type": "string", "pattern": NAME_PATTERN},
}


def _json(value: Any) -> Any:
    return [_json(v) for v in value] if isinstance(value, list | tuple) else value


def _bounds(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (
        ("minimum", p.minimum),
        ("maximum", p.maximum),
        ("exclusiveMinimum", p.exclusive_minimum),
        ("exclusiveMaximum", p.exclusive_maximum),
    ):
        if value is not None:
            out[key] = value
    return out


def param_schema(p: Param) -> dict[str, Any]:
    """The JSON Schema of one parameter's value, with its description and default."""
    out: dict[str, Any] = {"description": p.description}
    if p.type is ParamType.SHARED:
        out["$ref"] = f"#/$defs/{p.ref}"
    else:
        out.update(_TYPES[p.type])
    if p.choices:
        out["enum"] = list(p.choices)
    if p.type is ParamType.NUMBERS:
        out["items"] = {"type": "number", **_bounds(p)}
        if p.min_items is not None:
            out["minItems"] = p.min_items
        if p.max_items is not None:
            out["maxItems"] = p.max_items
    else:
        out.update(_bounds(p))
    if p.default is not None:
        out["default"] = _json(p.default)
    return out


def _method_def(m: Method) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "method": {"description": f"{m.stage.value.capitalize()} method.", "const": m.name}
    }
    properties.update({p.name: param_schema(p) for p in m.params})
    return {
        "description": m.description,
        "type": "object",
        "additionalProperties": False,
        "required": ["method", *(p.name for p in m.params if p.required)],
        "properties": properties,
    }


def _listed(methods: Sequence[Method], default: str | None) -> str:
    parts = []
    for m in methods:
        tag = f"'{m.name}' (default)" if m.name == default else f"'{m.name}'"
        parts.append(f"{tag}: {m.description}" if m.description else f"{tag}.")
    return " ".join(parts)


def _stage_object(stage: Stage, methods: Sequence[Method]) -> dict[str, Any]:
    text = catalogue.STAGES[stage]
    listed = _listed(methods, text.default)
    description, method = text.description, text.method
    if text.listing is Listing.IN_OBJECT:
        description = " ".join(part for part in (description, listed, text.outro) if part)
    elif text.listing is Listing.IN_METHOD:
        method = " ".join(part for part in (method, listed, text.outro) if part)
    key: dict[str, Any] = {"description": method, "type": "string"}
    key["enum"] = [m.name for m in methods]
    if text.default is not None:
        key["default"] = text.default
    return {
        "description": description,
        "type": "object",
        "required": ["method"],
        "properties": {"method": key},
        "allOf": [
            {
                "if": {"properties": {"method": {"const": m.name}}},
                "then": {"$ref": f"#/$defs/{stage.value}.{m.name}"},
            }
            for m in methods
        ],
    }


def _weighting() -> dict[str, Any]:
    text = catalogue.STAGES[Stage.WEIGHT]
    methods = catalogue.methods(Stage.WEIGHT)
    listed = "; ".join(f"'{m.name}' ({m.description})" for m in methods)
    return {
        "description": f"{text.description} {listed}. {text.outro}",
        "type": "string",
        "enum": [m.name for m in methods],
    }


def _transform() -> dict[str, Any]:
    transforms = [t for t in catalogue.methods(Stage.TRANSFORM) if isinstance(t, Transform)]
    forms: list[dict[str, Any]] = [
        {"type": "string", "enum": [t.name for t in transforms if not t.params]}
    ]
    for t in transforms:
        if t.params:
            forms.append(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": [t.name],
                    "properties": {t.name: param_schema(t.params[0])},
                }
            )
    return {"oneOf": forms}


def method_defs() -> dict[str, Any]:
    """Every generated ``$defs`` entry, by name, in pipeline order."""
    defs: dict[str, Any] = {}
    for stage in catalogue.STAGES:
        if stage is Stage.WEIGHT:
            defs["weighting"] = _weighting()
            continue
        if stage is Stage.NORMALISE:
            defs["transform"] = _transform()
        methods = catalogue.methods(stage)
        defs[stage.value] = _stage_object(stage, methods)
        sampleable = [m for m in methods if m.sampleable]
        if stage is Stage.AGGREGATE:
            defs["aggregation.alternative"] = {
                "type": "string",
                "enum": [m.name for m in sampleable],
            }
        elif len(sampleable) == len(methods):
            defs[f"{stage.value}.alternative"] = {"$ref": f"#/$defs/{stage.value}"}
        else:
            defs[f"{stage.value}.alternative"] = _stage_object(stage, sampleable)
        for m in methods:
            defs[f"{stage.value}.{m.name}"] = _method_def(m)
    return defs
