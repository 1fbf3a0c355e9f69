"""What the Python API accepts as a methodology, before it is loaded: a path, YAML text or
a dict (:mod:`engine.validation` takes it from there; data is :mod:`engine.inputs`).

Kept apart from the data side so that validating a methodology imports no polars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.diagnostics import Code, Diagnostic, UsageError

__all__ = ["bad_methodology", "is_yaml_text", "methodology_text"]

_METHODOLOGY_EXPECTED = (
    "a path to a YAML file, YAML text, a dict, a Methodology or a Validated methodology"
)


def is_yaml_text(value: str) -> bool:
    """A string is YAML text rather than a path when it has a line break or is a flow
    mapping (``{...}``); a one-line string is a path."""
    return "\n" in value or value.lstrip().startswith("{")


def methodology_text(doc: Mapping[str, Any]) -> str:
    """A dict as YAML text, with every repeated object written out (the strict loader
    rejects anchors and aliases)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    try:
        return yaml.dump(dict(doc), Dumper=Dumper, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as err:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"the methodology dict holds a value YAML cannot write: {err}",
                    expected="text, numbers, booleans, None, lists and dicts",
                )
            ]
        ) from None


def bad_methodology(value: object) -> UsageError:
    return UsageError(
        [
            Diagnostic(
                Code.USAGE,
                f"a methodology cannot be a {type(value).__name__}",
                expected=_METHODOLOGY_EXPECTED,
            )
        ]
    )
