"""A validated methodology: every check passed, its plan built, before any data is read.

The first half of the pipeline behind :func:`engine.api.validate`: the YAML loaded with
source positions (:mod:`engine.format.yamlsource`), bases merged and the JSON Schema
checked (:mod:`engine.format.extends`), the model built with its semantic rules
(:mod:`engine.format.build`), then the plan (:mod:`engine.plan`). After this, a bad
methodology can no longer cause a failure. The analyses that run a methodology
(compare, explain) take a :class:`Validated` from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, MethodologyError
from engine.format.build import build_methodology, position
from engine.format.build_weights import weight_problems
from engine.format.extends import resolve_document
from engine.format.given import bad_methodology, is_yaml_text, methodology_text
from engine.format.model import Methodology
from engine.format.schema import methodology_schema
from engine.format.yamlsource import load_yaml
from engine.plan import Plan, build_plan

__all__ = ["MethodologyLike", "Validated", "load_methodology", "schema", "validate"]


def schema() -> dict[str, Any]:
    """The JSON Schema of the methodology format (generated from the package; the same as
    schema/methodology.schema.json)."""
    return methodology_schema()


@dataclass(frozen=True)
class Validated:
    """A methodology that passed every check, its plan, and its warnings; `source` is the
    file it was read from (None for text, a dict or a loaded object)."""

    methodology: Methodology
    plan: Plan
    warnings: tuple[Diagnostic, ...]
    source: Path | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        m = self.methodology
        return (
            f"Validated({m.meta.id!r}: {len(m.inputs)} inputs, {len(m.indicators)} indicators, "
            f"{len(m.groups)} groups, {len(m.checks)} checks)"
        )


#: what the API accepts as a methodology (see :mod:`engine.format.given`)
MethodologyLike = str | Path | Mapping[str, Any] | Methodology | Validated


def validate(methodology: MethodologyLike) -> Validated:
    """Check a methodology completely, before any data is read.

    `methodology` is a path, YAML text, a dict, a :class:`Methodology` or a
    :class:`Validated` (returned as it is). Raises :class:`MethodologyError` with every
    problem found.

    >>> validate("methodologies/kireeva.yaml").methodology.meta.id
    'kireeva-innovation'
    """
    if isinstance(methodology, Validated):
        return methodology
    if isinstance(methodology, Methodology):
        return Validated(methodology, build_plan(methodology), ())
    source = None
    if isinstance(methodology, Mapping):
        doc = load_yaml("<dict>", text=methodology_text(methodology))
    elif isinstance(methodology, str) and is_yaml_text(methodology):
        doc = load_yaml("<string>", text=methodology)
    elif isinstance(methodology, (str, Path)):
        doc = load_yaml(methodology)
        source = Path(methodology)
    else:
        raise bad_methodology(methodology)
    try:  # bases merged (extends:), JSON Schema checked
        resolved = resolve_document(doc, schema())
    except MethodologyError as err:
        # with every weight that does not match its members, wherever the errors are
        extra = [p for p in weight_problems(doc) if p not in err.diagnostics]
        if not extra:
            raise
        raise MethodologyError(sorted([*err.diagnostics, *extra], key=position)) from None
    built, warnings = build_methodology(resolved)
    return Validated(built, build_plan(built), warnings, source)


def load_methodology(methodology: MethodologyLike) -> Methodology:
    """The checked methodology of a YAML file (or text, dict)."""
    return validate(methodology).methodology


def validated_line(path: Path, validated: Validated) -> str:
    """The line ``indexlab validate`` prints for a valid methodology."""
    m = validated.methodology
    return (
        f"{path}: ok: '{m.meta.title}': {len(m.inputs)} inputs, "
        f"{len(m.indicators)} indicators, {len(m.groups)} groups, {len(m.checks)} checks"
    )
