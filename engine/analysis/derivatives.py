"""Analytic sensitivities from the sympy expressions: derivatives and tipping points.

The index is composed symbolically from its groups down to the normalised indicators,
with every weight as a symbol. sympy differentiates it with respect to each weight and
each normalised indicator; the derivatives compile to polars like any formula and are
evaluated per unit and period at the nominal weights. Cross-unit statistics (TOPSIS,
VIKOR, data-driven weights) make the index depend on other units; such derivatives are
not taken (the report says so) rather than approximated.

Tipping points, for hierarchies of weighted arithmetic means under an index that is
affine in its groups: changing one weight w of a group with weight total W by d makes
every unit's index a linear-fractional function (a + b d) / (W + d). Two units then
swap where their difference is zero, and a unit crosses a class bound where its index
minus the bound is zero; both follow from the value and the first derivative at d = 0:
d* = -W g / (W g' + g). A change is admissible when the weight stays >= 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sympy

from engine.backends.polars.compile import Context, to_polars
from engine.format.model import Band, Methodology
from engine.formula import ir
from engine.formula.fold import fold_constants
from engine.methods import catalogue
from engine.plan import norm_column


def weight_symbol(group: str, member: str) -> sympy.Symbol:
    return sympy.Symbol(f"w.{group}.{member}")


@dataclass(frozen=True)
class Analytic:
    derivatives: pl.DataFrame  # unit, period, variable, kind (weight | indicator), derivative
    tipping: pl.DataFrame  # unit, period, event, weight, change, new weight
    note: str  # what could not be differentiated, if anything


def composed_index(m: Methodology, keep: str | None = None) -> sympy.Expr | None:
    """The index in terms of normalised indicator columns and weight symbols (the group
    `keep`, if given, stays a symbol)."""
    if m.index is None:
        return None
    keys = (m.layout.period,) if m.layout.period else ()
    normed = {i.name: sympy.Symbol(norm_column(i.name)) for i in m.indicators}
    exprs: dict[str, sympy.Basic] = {}
    for g in m.groups:  # children first
        weights = [weight_symbol(g.name, mem) for mem in g.members]
        if g.aggregation == "formula":
            body = g.expr
        else:
            body = catalogue.aggregate(
                g.aggregation, g.members, weights, keys, dict(g.params), g.cost
            )
        if g.name != keep:
            exprs[g.name] = ir.rename(body, {**{k: v for k, v in normed.items()}, **exprs})
    # constants as floats: sympy differentiates this, and would work huge exact numbers out
    return fold_constants(ir.rename(m.index.expr, {**normed, **exprs}))


def effective_weight(m: Methodology, node: str) -> float | None:
    """d index / d node at the nominal weights, summed over every path by which the index
    reads the node; None when that is not a constant (the index is not linear in it)."""
    index = composed_index(m, keep=node if node in {g.name for g in m.groups} else None)
    if index is None or _has_statistic(index):
        return None
    symbol = sympy.Symbol(node if node in {g.name for g in m.groups} else norm_column(node))
    d = fold_constants(ir.rename(sympy.diff(index, symbol), _nominal(m)))
    return float(d) if d.is_Number else None


def _nominal(m: Methodology) -> dict[str, sympy.Basic]:
    return {
        str(weight_symbol(g.name, mem)): w for g in m.groups for mem, w in zip(g.members, g.weights)
    }


def _has_statistic(expr: sympy.Basic) -> bool:
    return isinstance(expr, (ir.Stat, *ir.PAIRWISE)) or any(
        _has_statistic(a) for a in expr.args if isinstance(a, sympy.Basic)
    )


def analyse(m: Methodology, frame: pl.DataFrame) -> Analytic:
    """Derivatives of the index per unit and period, and tipping points, on `frame`
    (the nominal run with every computed column, e.g. ``RunResult.frame``)."""
    keys = list(m.layout.keys)
    index = composed_index(m)
    empty = pl.DataFrame()
    if index is None:
        return Analytic(empty, empty, "the methodology has no index")
    nominal = _nominal(m)
    if _has_statistic(index) or any(not w.is_Number for w in nominal.values()):
        return Analytic(
            empty,
            empty,
            "the index depends on other units (cross-unit statistics or data-driven "
            "weights): no per-unit derivatives are taken",
        )
    ctx = Context({}, m.layout.unit, m.layout.period)
    variables = [(str(weight_symbol(g.name, mem)), "weight") for g in m.groups for mem in g.members]
    variables += [
        (norm_column(i.name), "indicator")
        for i in m.indicators
        if norm_column(i.name) in frame.columns
    ]
    columns = {}
    for name, _kind in variables:
        d = sympy.diff(index, sympy.Symbol(name))  # index's constants are floats already
        columns[name] = to_polars(ir.rename(d, nominal), ctx)
    values = frame.select(*keys, "index", *[e.alias(n) for n, e in columns.items()])
    derivatives = values.unpivot(
        index=keys, on=list(columns), variable_name="variable", value_name="derivative"
    ).with_columns(
        pl.col("variable").replace_strict(dict(variables), return_dtype=pl.String).alias("kind")
    )
    return Analytic(derivatives.sort([*keys, "variable"]), _tipping(m, index, values, nominal), "")


def _tipping(
    m: Methodology, index: sympy.Expr, values: pl.DataFrame, nominal: dict[str, sympy.Basic]
) -> pl.DataFrame:
    """Smallest single-weight change that swaps a unit with the next one or moves it across
    a class bound (arithmetic hierarchies under an affine index only)."""
    if not _affine_hierarchy(m):
        return pl.DataFrame()
    keys = list(m.layout.keys)
    period = m.layout.period
    totals = {g.name: float(sum(g.weights)) for g in m.groups}
    weights = [
        (g.name, mem, str(weight_symbol(g.name, mem))) for g in m.groups for mem in g.members
    ]
    rows = []
    order = values.filter(pl.col("index").is_not_null()).sort(  # no index: no tipping point
        ([period] if period else []) + ["index"], descending=[False, True] if period else [True]
    )
    by_period = order.partition_by(period, maintain_order=True) if period else [order]
    # class tipping points are on the index; classes cut on another value have none here
    bands = (
        sorted(m.classes.bands, key=lambda b: b.lower)
        if m.classes and m.classes.bands and m.classes.on is None
        else []
    )
    for part in by_period:
        records = part.to_dicts()
        for pos, a in enumerate(records):
            after = records[pos + 1] if pos + 1 < len(records) else None
            for label, gap in _events(a, after, bands, m.layout.unit):
                best = _smallest_change(gap, weights, totals, nominal)
                if best is not None:
                    group, member, change, new = best
                    rows.append(
                        {
                            **{k: a[k] for k in keys},
                            "event": label,
                            "group": group,
                            "weight": member,
                            "change": change,
                            "new_weight": new,
                            "nominal_weight": float(nominal[str(weight_symbol(group, member))]),
                        }
                    )
    return pl.DataFrame(rows)


def _affine_hierarchy(m: Methodology) -> bool:
    """Whether every group is an arithmetic mean over all members and the index formula is
    affine in what it reads (groups or indicators): then tipping points are exact."""
    if m.index is None or _has_statistic(m.index.expr):
        return False
    if not all(g.aggregation == "arithmetic" and g.coverage == "all" for g in m.groups):
        return False
    folded = fold_constants(m.index.expr)
    return all(sympy.diff(folded, sympy.Symbol(n), 2) == 0 for n in ir.free_names(m.index.expr))


#: the gap an event closes, as a function of a weight: (its size in index points, the
#: change of the gap per unit of that weight's share)
Gap = Callable[[str], tuple[Any, Any]]


def _events(
    a: dict[str, Any], after: dict[str, Any] | None, bands: Sequence[Band], unit: str
) -> list[tuple[str, Gap]]:
    """What can happen to unit row `a`: it swaps with the next unit (`after`), drops below
    its class band or reaches the next one."""
    events: list[tuple[str, Gap]] = []
    if after is not None:
        b = after
        events.append((f"swaps with {b[unit]}", lambda w: (a["index"] - b["index"], a[w] - b[w])))
    if a["index"] is not None:
        band = next((bd for bd in bands if bd.lower <= a["index"] < bd.upper), None)
        if band is not None:
            lower, upper = band.lower, band.upper
            events.append(
                (f"drops below {band.label} ({lower:g})", lambda w: (a["index"] - lower, a[w]))
            )
            events.append(
                (f"reaches {upper:g} (next class up)", lambda w: (a["index"] - upper, a[w]))
            )
    return events


def _smallest_change(
    gap: Gap,
    weights: Sequence[tuple[str, str, str]],
    totals: dict[str, float],
    nominal: dict[str, sympy.Basic],
) -> tuple[str, str, float, float] | None:
    """The single weight whose smallest change closes `gap` (group, member, change, new
    weight), keeping every weight and group total positive; None if none can."""
    best = None
    for group, member, w in weights:
        g0, g1 = gap(w)
        if g0 is None or g1 is None:
            continue
        total = totals[group]
        denominator = total * g1 + g0
        if denominator == 0:
            continue
        change = -total * g0 / denominator
        new = float(nominal[w]) + change
        if new < 0 or total + change <= 0:
            continue
        if best is None or abs(change) < abs(best[2]):
            best = (group, member, change, new)
    return best
