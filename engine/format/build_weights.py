"""Fixed weights must name exactly the members of their group: every mismatch, at once.

Used by the group rules and, when the schema check has already failed, on its own: a
negative weight in one group (a schema error) must not hide a member without a weight
in another, so every wrong weight of the file is reported in one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.diagnostics import Code, Diagnostic, did_you_mean
from engine.format.yamlsource import LoadedYaml


def member_weight_problems(
    doc: LoadedYaml, group: str, members: Sequence[str], weights: Mapping[str, Any]
) -> list[Diagnostic]:
    """A member without a weight, and a weight for a name that is not a member."""
    out = []
    listed = ", ".join(members)
    for m in members:
        if m not in weights:
            out.append(
                Diagnostic(
                    Code.WEIGHTS,
                    f"group '{group}' gives no weight to member '{m}'",
                    doc.locate(("groups", group, "weights")),
                    "one weight per member: " + listed,
                )
            )
    for w in weights:
        if w not in members:
            out.append(
                Diagnostic(
                    Code.WEIGHTS,
                    f"group '{group}' weights '{w}', which is not a member",
                    doc.locate_key(("groups", group, "weights", w)),
                    "weights only for members: " + listed,
                    did_you_mean(str(w), members),
                )
            )
    return out


def weight_problems(doc: LoadedYaml) -> list[Diagnostic]:
    """Every weight/member mismatch of every group whose members and weights are well formed
    (whatever else is wrong with the file)."""
    groups = doc.data.get("groups") if isinstance(doc.data, dict) else None
    if not isinstance(groups, dict):
        return []
    out = []
    for name, spec in groups.items():
        if not isinstance(spec, dict):
            continue
        members, weights = spec.get("members"), spec.get("weights")
        if isinstance(members, list) and isinstance(weights, dict) and "weighting" not in spec:
            names = [m for m in members if isinstance(m, str)]
            out += member_weight_problems(doc, str(name), names, weights)
    return out
