"""Listings of the declared methods: for ``indexlab methods`` and for ``docs/methods.md``.

Three renderings of the same declarations:

* :func:`as_text`: name, title, parameters with their types and defaults, package
  equivalents, grouped by stage, for the terminal;
* :func:`as_records`: the same as plain data (``--format json``);
* :func:`as_markdown`: one stage's table and its "conventions and deviations" notes, the
  generated part of ``docs/methods.md`` (between ``<!-- methods:<stage> -->`` markers,
  rewritten by :func:`update_docs`).

>>> print(as_text([catalogue.normalisation("min_max")]).splitlines()[1])
  min_max  Min-max to a range
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from engine.methods import catalogue
from engine.methods.registry import Kind, Method, Param, ParamType, Stage, literal

__all__ = ["as_markdown", "as_records", "as_text", "param_type", "update_docs"]


def param_type(p: Param) -> str:
    """A parameter's type in words: ``number > 0``, ``integer in [0, 20]``, ``a | b``."""
    if p.type is ParamType.SHARED:
        return str(p.ref)
    if p.choices:
        return " | ".join(literal(c) for c in p.choices)
    base = {
        ParamType.NUMBER: "number",
        ParamType.INTEGER: "integer",
        ParamType.BOOLEAN: "true | false",
        ParamType.CHOICE: "text",
        ParamType.NUMBERS: "list of numbers",
        ParamType.PERIOD: "a period",
        ParamType.UNIT: "a unit",
        ParamType.COLUMNS: "list of columns",
        ParamType.FORMULA: "formula",
        ParamType.NAME: "a group name",
    }[p.type]
    low = (">", p.exclusive_minimum) if p.exclusive_minimum is not None else (">=", p.minimum)
    high = ("<", p.exclusive_maximum) if p.exclusive_maximum is not None else ("<=", p.maximum)
    bounds = [f"{sign} {literal(v)}" for sign, v in (low, high) if v is not None]
    if p.type is ParamType.NUMBERS:
        if p.min_items is not None and p.min_items == p.max_items:
            base = f"{p.min_items} numbers"
        return base + (f", each {' and '.join(bounds)}" if bounds else "")
    return base + (" " + " and ".join(bounds) if bounds else "")


def _plain(markdown: str) -> str:
    return markdown.replace("`", "").replace("**", "")


def _record(m: Method) -> dict[str, Any]:
    return {
        "name": m.name,
        "stage": m.stage.value,
        "title": m.title,
        "kind": m.kind.value,
        "backends": sorted(m.backends) if m.kind is Kind.PROCEDURE else None,
        "description": m.description,
        "parameters": [
            {
                "name": p.name,
                "type": param_type(p),
                "default": list(p.default) if isinstance(p.default, tuple) else p.default,
                "required": p.required,
                "description": p.description,
            }
            for p in m.params
        ],
        "equivalents": [_plain(e) for e in m.equivalents],
        "references": list(m.references),
    }


def as_records(methods: Iterable[Method]) -> list[dict[str, Any]]:
    """Each method as a plain dict (JSON-ready)."""
    return [_record(m) for m in methods]


def as_text(methods: Sequence[Method]) -> str:
    """The methods grouped by stage, each with its parameters and package equivalents."""
    lines: list[str] = []
    width = max((len(m.name) for m in methods), default=0)
    stage: Stage | None = None
    for m in methods:
        if m.stage is not stage:
            if stage is not None:
                lines.append("")
            stage = m.stage
            lines.append(stage.value + _shared(catalogue.methods(stage)))
        kind = "" if m.kind is Kind.TEMPLATE else f" [{m.kind.value}]"
        lines.append(f"  {m.name:<{width}}  {m.title}{kind}")
        pad = " " * (width + 4)
        for p in m.params:
            if p.type is ParamType.SHARED:
                continue
            default = f" = {literal(p.default)}" if p.default is not None else ""
            needed = " (required)" if p.required else ""
            lines.append(f"{pad}{p.name}: {param_type(p)}{default}{needed}")
        if m.equivalents:
            lines.append(f"{pad}like: {_plain('; '.join(m.equivalents))}")
    return "\n".join(lines)


def _shared(methods: Sequence[Method]) -> str:
    """``(every method but none also takes scope = period, transform, round)``."""
    shared: dict[str, Param] = {}
    for m in methods:
        shared.update({p.name: p for p in m.params if p.type is ParamType.SHARED})
    if not shared:
        return ""
    without = [m.name for m in methods if not any(p.name in shared for p in m.params)]
    names = ", ".join(
        p.name + (f" = {literal(p.default)}" if p.default is not None else "")
        for p in shared.values()
    )
    but = f" but {', '.join(without)}" if without else ""
    return f" (every method{but} also takes {names})"


# -- docs/methods.md --------------------------------------------------------------------

_COLUMNS: dict[Stage, tuple[tuple[str, str], ...]] = {
    Stage.NORMALISE: (
        ("method", "name"),
        ("higher is better", "formula"),
        ("lower is better", "lower"),
        ("parameters", "params"),
        ("package", "equivalents"),
    ),
    Stage.TRANSFORM: (
        ("transform", "form"),
        ("formula", "formula"),
        ("domain", "conventions"),
    ),
    Stage.AGGREGATE: (
        ("method", "name"),
        ("formula", "formula"),
        ("parameters", "params"),
        ("raw lower-is-better member", "cost"),
        ("conventions", "conventions"),
        ("package", "equivalents"),
    ),
    Stage.WEIGHT: (
        ("`weighting`", "name"),
        ("weight of member j", "formula"),
        ("conventions", "conventions"),
        ("package", "equivalents"),
    ),
    Stage.IMPUTE: (
        ("method", "name"),
        ("missing value replaced by", "formula"),
        ("parameters", "params"),
        ("package", "equivalents"),
    ),
    Stage.TREAT: (
        ("method", "name"),
        ("what it does", "formula"),
        ("parameters", "params"),
        ("package", "equivalents"),
    ),
}


def _cell(m: Method, field: str) -> str:
    if field == "name":
        default = catalogue.STAGES[m.stage].default if m.stage in catalogue.STAGES else None
        return f"`{m.name}`" + (" (default)" if m.name == default else "")
    if field == "form":
        return f"`{m.name}`" if not m.params else f"`{{{m.name}: {m.params[0].description}}}`"
    if field == "params":
        shown = [p for p in m.params if p.type is not ParamType.SHARED]
        text = ", ".join(
            f"`{p.name}`" + (f" ({literal(p.default)})" if p.default is not None else "")
            for p in shown
        )
        return text or "—"
    if field == "equivalents":
        return "; ".join(m.equivalents) or "—"
    if field == "cost":  # what an aggregation does with a "lower is better" member left raw
        rule = getattr(m, "lower_members", None)
        told = {"as given": "used as it is", "refused": "an error (normalise it first)"}
        return m.lower or (told.get(rule.value, "—") if rule is not None else "—")
    value = getattr(m, field)
    return str(value) if value else "—"


def as_markdown(stage: Stage) -> str:
    """One stage's table, then a note per method that has conventions or deviations."""
    methods = catalogue.methods(stage)
    columns = _COLUMNS[stage]
    lines = [
        "| " + " | ".join(title for title, _ in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(_cell(m, f) for _, f in columns) + " |" for m in methods]
    if stage is Stage.AGGREGATE:
        present = ", ".join(f"`{name}`" for name in catalogue.with_coverage())
        lines += ["", f"With a form over the present members (`coverage`): {present}."]
    notes = [m for m in methods if m.notes or m.references]
    if notes:
        lines.append("")
        for m in notes:
            text = m.notes
            if m.references:
                text += (" " if text else "") + "References: " + "; ".join(m.references) + "."
            lines.append(f"* **`{m.name}`** — {text}")
    return "\n".join(lines)


_MARKED = re.compile(r"(<!-- methods:(\w+) -->\n)(.*?)(<!-- /methods:\2 -->)", re.DOTALL)


def update_docs(text: str) -> str:
    """`text` (docs/methods.md) with every marked block regenerated from the declarations."""

    def block(match: re.Match[str]) -> str:
        generated = as_markdown(Stage(match.group(2)))
        return f"{match.group(1)}{generated}\n{match.group(4)}"

    return _MARKED.sub(block, text)
