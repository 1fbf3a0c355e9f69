"""The JSON Schema of the methodology format, put together at run time.

The schema is the one definition of the YAML's shape (editors use it too). It has two
sources: the format's own sections, written once in ``schema_format.json`` (shipped
with the package; shared parts such as ``rounding`` and ``scope`` are ``$defs``), and the
method parts, generated from the method declarations (:mod:`engine.format.schema_methods`).
:func:`methodology_schema` joins them once per process; ``indexlab schema`` prints
:func:`schema_text`, and ``schema/methodology.schema.json`` in the repository is that
text, kept identical by a test.

>>> methodology_schema()["$defs"]["normalisation"]["properties"]["method"]["enum"][:3]
['leader_share', 'min_max', 'z_score']
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from engine.format import schema_methods

__all__ = ["methodology_schema", "schema_text"]

_FORMAT = "schema_format.json"


@functools.cache
def methodology_schema() -> dict[str, Any]:
    """The whole schema (cached: treat it as read-only)."""
    text = resources.files("engine.format").joinpath(_FORMAT).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    defs = schema.pop("$defs")
    schema["$defs"] = defs | schema_methods.method_defs()
    return schema


def schema_text() -> str:
    """The schema as the committed file and ``indexlab schema`` write it."""
    return json.dumps(methodology_schema(), indent=2, ensure_ascii=False) + "\n"
