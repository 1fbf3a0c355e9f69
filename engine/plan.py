"""The plan: every output column as a sympy expression over columns, in stages.

The methodology's names are rewritten to the columns they read (an indicator inside a
group means its normalised column ``SD.norm``), so every step's expression is over
column names only. Steps are grouped into stages by dependency depth; each stage
becomes one ``with_columns`` of the lazy query, so the methodology runs as one query.

Columns written (in output order): the key and label columns; per indicator its raw
value ``SD`` and its normalised value ``SD.norm``; every group; ``index`` (and
``index_unrounded`` when the index is rounded); ``rank``; ``class`` and
``class_group``; derived outputs. Check results are extra boolean columns
``check.<name>`` that are reported, not written.

After a plan is built the methodology can no longer cause a failure: what fails later
is the data (or an engine bug).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from engine import ir, methods
from engine.model import ClassScheme, Methodology

NORM_SUFFIX = ".norm"


def norm_column(indicator: str) -> str:
    return indicator + NORM_SUFFIX


@dataclass(frozen=True)
class Step:
    """One output column: `expr` over column names."""

    column: str
    expr: sympy.Basic
    kind: str  # indicator | normalised | group | index | rank | derived | check
    name: str  # the methodology name it implements
    formula: str | None = None  # as the author wrote it (for messages)
    periods: tuple[object, ...] = ()


@dataclass(frozen=True)
class Plan:
    methodology: Methodology
    stages: tuple[tuple[Step, ...], ...]
    output: tuple[str, ...]
    classes: ClassScheme | None = None
    steps: dict[str, Step] = field(default_factory=dict, compare=False)


def _rename(expr: sympy.Basic, mapping: dict[str, str]) -> sympy.Basic:
    return ir.rename(expr, {a: sympy.Symbol(b) for a, b in mapping.items()})


def _stages(steps: list[Step], base: set[str]) -> tuple[tuple[Step, ...], ...]:
    depth: dict[str, int] = {c: 0 for c in base}
    for step in steps:  # steps come in dependency order
        reads = ir.free_names(step.expr)
        depth[step.column] = 1 + max((depth.get(c, 0) for c in reads), default=0)
    levels: dict[int, list[Step]] = {}
    for step in steps:
        levels.setdefault(depth[step.column], []).append(step)
    return tuple(tuple(levels[d]) for d in sorted(levels))


def build_plan(m: Methodology) -> Plan:
    """Lay out the computation of `m` as stages of column expressions."""
    period_keys = (m.layout.period,) if m.layout.period else ()
    normed = {i.name: norm_column(i.name) for i in m.indicators}
    steps: list[Step] = []
    for ind in m.indicators:
        steps.append(Step(ind.name, ind.expr, "indicator", ind.name, ind.formula.text))
    for ind in m.indicators:
        expr = ir.rename(ind.normalisation.expr, {methods.X.name: sympy.Symbol(ind.name)})
        text = ind.normalisation.formula.text if ind.normalisation.formula else ind.normalisation.method
        steps.append(Step(norm_column(ind.name), expr, "normalised", ind.name, text))
    for g in m.groups:
        text = g.formula.text if g.formula else f"{g.aggregation} mean of " + ", ".join(g.members)
        steps.append(Step(g.name, _rename(g.expr, normed), "group", g.name, text))
    index_expr = _rename(m.index.expr, normed)
    index_text = m.index.formula.text if m.index.formula else m.index.group
    if m.index.rounding:
        r = m.index.rounding
        steps.append(Step("index_unrounded", index_expr, "index", "index", index_text))
        index_expr = ir.Round(sympy.Symbol("index_unrounded"), sympy.Integer(r.digits), ir.Str(r.mode),
                              evaluate=False)
        index_text = f"round(index_unrounded, {r.digits}, mode='{r.mode}')"
    steps.append(Step("index", index_expr, "index", "index", index_text))
    rank = ir.stat(ir.ColRank, sympy.Symbol("index"), period_keys,
                   sympy.Integer(int(m.ranking.descending)), ir.Str(m.ranking.ties))
    steps.append(Step("rank", rank, "rank", "rank", "rank(index)"))
    for d in m.derived:
        steps.append(Step(d.name, d.expr, "derived", d.name, d.formula.text, d.periods))
    for c in m.checks:
        steps.append(Step("check." + c.name, c.expr, "check", c.name, c.formula.text))

    base = set(m.layout.keys) | {i.name for i in m.inputs}
    output = list(m.layout.keys + m.layout.labels)
    for ind in m.indicators:
        output += [ind.name, norm_column(ind.name)]
    output += [g.name for g in m.groups]
    output += ["index"] + (["index_unrounded"] if m.index.rounding else []) + ["rank"]
    if m.classes:
        output += ["class"] + (["class_group"] if m.classes.groups else [])
    output += [d.name for d in m.derived]
    return Plan(m, _stages(steps, base), tuple(output), m.classes, {s.column: s for s in steps})
