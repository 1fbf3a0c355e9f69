"""Grain: whether an expression has one value per unit and period, or per detail row.

Data may come at a finer grain than the scored unit (one row per region × industry ×
year, with ``data.detail: [industry]``). An expression's grain follows from its parts:

* a name has the grain of its input or indicator;
* a statistic grouped by keys that include a detail key (``sum(emp, by=[industry,
  year])``, an industry's national total) varies by detail row: grain ``detail``;
* a statistic grouped only by unit and period keys (``sum(emp, by=[region, year])``, a
  region's total; ``sum(emp)`` the national total) is one value per unit and period:
  it *reduces* detail rows, grain ``unit``;
* ``at(x, industry='J')`` fixing every detail key reduces too; ``rank`` and ``cumsum``
  keep the grain of what they rank or add up; anything else is ``detail`` when any
  part is.

Two rules keep the numbers right (checked before data is read):

* a statistic over a unit-level value cannot be grouped by a detail key;
* a unit-level expression that reads detail rows is computed on the detail rows, so it
  may not take a cross-unit statistic of a unit-level value there (each unit would be
  counted once per detail row): that statistic belongs in an indicator of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from engine.formula import ir

UNIT, DETAIL = "unit", "detail"


def grain_of(expr: sympy.Basic, grains: Mapping[str, str], detail_keys: frozenset[str]) -> str:
    """``unit`` or ``detail``; names missing from `grains` are unit-level."""
    if isinstance(expr, sympy.Symbol):
        return grains.get(expr.name, UNIT)
    if isinstance(expr, ir.ROW_WISE):
        parts = [
            grain_of(a, grains, detail_keys)
            for a in (expr.operand, *expr.args[2:])
            if isinstance(a, sympy.Expr)
        ]
        return DETAIL if DETAIL in parts else UNIT
    if isinstance(expr, ir.Stat):
        return DETAIL if set(expr.keys) & detail_keys else UNIT
    if isinstance(expr, ir.At):
        inner = grain_of(expr.args[0], grains, detail_keys)
        fixed = {k for k, _ in expr.fixed}
        return UNIT if inner == DETAIL and detail_keys <= fixed else inner
    parts = [grain_of(a, grains, detail_keys) for a in expr.args if isinstance(a, sympy.Basic)]
    return DETAIL if DETAIL in parts else UNIT


def reads_detail(expr: sympy.Basic, grains: Mapping[str, str]) -> bool:
    """Whether computing `expr` reads detail rows (even if it reduces them)."""
    return any(grains.get(n) == DETAIL for n in ir.free_names(expr))


def grain_problems(
    expr: sympy.Basic,
    grains: Mapping[str, str],
    unit_keys: frozenset[str],
    detail_keys: frozenset[str],
) -> list[str]:
    """Why `expr` does not fit the grains (empty when it does)."""
    problems: list[str] = []
    on_detail_rows = reads_detail(expr, grains)

    def walk(e: sympy.Basic) -> None:
        if isinstance(e, ir.Stat):
            operand = grain_of(e.operand, grains, detail_keys)
            keys = set(e.keys)
            if operand == UNIT and keys & detail_keys:
                problems.append(
                    f"{e.label}() of a value that is one per unit and period cannot be "
                    f"grouped by the detail key(s) {', '.join(sorted(keys & detail_keys))}"
                )
            elif (
                operand == UNIT
                and on_detail_rows
                and (
                    not unit_keys <= keys
                    or isinstance(
                        e, ir.ColSum | ir.ColCount | ir.ColStd | ir.ColRank | ir.ColCumSum
                    )
                )
            ):
                problems.append(
                    f"{e.label}() of a unit-level value inside a formula that reads detail "
                    "rows would count each unit once per detail row; compute it in an "
                    "indicator of its own"
                )
        for a in e.args:
            if isinstance(a, sympy.Basic):
                walk(a)

    walk(expr)
    return problems
