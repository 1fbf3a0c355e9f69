"""How ``explain`` states a unit's rank and class: the tie rule, its neighbours, its band or
quantile cut, with the numbers the query computed.

A mixin of the explainer (:mod:`engine.analysis.explain`): it reads the unit's computed
row and its period's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import sympy

from engine.analysis.explain_data import key_equals
from engine.analysis.explanation import ExplainedStep
from engine.backends.polars.compile import to_polars
from engine.backends.polars.steps import step_context as _context
from engine.format.model import Band, ClassScheme, Methodology
from engine.formula import ir
from engine.plan import Plan

_TIES = {
    "min": "equal values share the smallest rank (1, 1, 3)",
    "max": "equal values share the largest rank (2, 2, 3)",
    "dense": "equal values share a rank and the next rank follows (1, 1, 2)",
    "average": "equal values share the mean of their ranks (1.5, 1.5, 3)",
}


class RankAndClassNotes:
    """The rank's and the class's explanation for one unit and period."""

    plan: Plan
    m: Methodology
    unit: str
    period: object
    frame: pl.DataFrame
    row: dict[str, Any]

    def num(self, value: object) -> str:  # pragma: no cover - provided by the explainer
        raise NotImplementedError

    def _rows(
        self, frame: pl.DataFrame
    ) -> pl.DataFrame:  # pragma: no cover - provided by the explainer
        raise NotImplementedError

    def _period_frame(self) -> pl.DataFrame:  # pragma: no cover - provided by the explainer
        raise NotImplementedError

    def _rank_note(self, rank: float | None) -> str:
        r = self.m.ranking
        order = (
            "descending: the highest index is rank 1"
            if r.descending
            else "ascending: the lowest index is rank 1"
        )
        where = f" in {self.m.layout.period} {self.period}" if self.m.layout.period else ""
        part = self._period_frame().filter(pl.col("rank").is_not_null())
        ties = _TIES.get(r.ties, r.ties)
        note = f"{order}; ties '{r.ties}': {ties}; {part.height} ranked units{where}"
        if rank is None:
            return note + "; no rank: the index is missing"
        unit = self.m.layout.unit

        def who(rows: pl.DataFrame) -> str:
            return ", ".join(
                f"{row[unit]} (index {self.num(row['index'])}, rank {self.num(row['rank'])})"
                for row in rows.iter_rows(named=True)
            )

        others = part.filter(~key_equals(unit, self.unit))
        tied = others.filter(pl.col("rank") == rank)
        above = others.filter(pl.col("rank") < rank)
        below = others.filter(pl.col("rank") > rank)
        if tied.height:
            note += "; tied with " + who(tied)
        if above.height:
            note += "; next above: " + who(above.filter(pl.col("rank") == above["rank"].max()))
        if below.height:
            note += "; next below: " + who(below.filter(pl.col("rank") == below["rank"].min()))
        return note

    def classification(self) -> ExplainedStep:
        scheme = self.plan.classes
        assert scheme is not None
        value = self.row.get(scheme.column)
        label = self.row.get("class")
        name = "index" if scheme.on is None else scheme.what
        group = self.row.get("class_group")
        if getattr(scheme, "quantiles", ()):
            return self._quantile_class(scheme, value, label)
        band = next((b for b in scheme.bands if b.label == label), None)
        lower_closed = scheme.closed == "lower"
        bound = "lower" if lower_closed else "upper"
        if band is None:
            why = (
                f"no class: {scheme.what} is missing"
                if value is None
                else f"no class: {scheme.what} {self.num(value)} is outside every band"
            )
            return ExplainedStep(
                "class", "class", "class", "class", None, f"class({name})", None, None, None, why
            )
        symbolic = _band_text(scheme, band, name, self.num)
        substituted = _band_text(scheme, band, self.num(value), self.num)
        note = f"{label} because {substituted} (bands include their {bound} bound)"
        if not _inside(scheme, band, value):
            note += f", within the tolerance {scheme.tolerance:g} of the bound"
        if group is not None:
            key = band.group
            note += f"; class group: {group}" + (f" ({key})" if key and key != group else "")
        return ExplainedStep(
            "class", "class", "class", "class", None, symbolic, substituted, label, None, note
        )

    def _quantile_class(self, scheme: ClassScheme, value: object, label: object) -> ExplainedStep:
        labels = scheme.quantiles
        k = len(labels)
        keys = (self.m.layout.period,) if self.m.layout.period else ()
        cuts = {}
        ctx = _context(self.plan)
        for j in range(k - 1, 0, -1):  # the cuts classify_quantiles uses, evaluated the same way
            node = ir.stat(ir.ColQuantile, sympy.Symbol(scheme.column), keys, sympy.Float(j / k))
            cuts[j] = self._rows(
                self.frame.select(
                    [pl.col(c) for c in self.m.layout.keys] + [to_polars(node, ctx).alias("cut")]
                )
            )["cut"][0]
        if label is None:
            return ExplainedStep(
                "class",
                "class",
                "class",
                "class",
                None,
                f"class({scheme.what})",
                None,
                None,
                None,
                f"no class: {scheme.what} is missing",
            )
        pos = labels.index(label)  # label i lies between cut k-1-i (below) and cut k-i (above)
        lo, hi = k - 1 - pos, k - pos
        parts_sym, parts_val = ["index" if scheme.on is None else scheme.what], [self.num(value)]
        if lo >= 1:
            parts_sym.insert(0, f"q{lo}/{k} <=")
            parts_val.insert(0, f"{self.num(cuts[lo])} <=")
        if hi <= k - 1:
            parts_sym.append(f"< q{hi}/{k}")
            parts_val.append(f"< {self.num(cuts[hi])}")
        symbolic, substituted = " ".join(parts_sym), " ".join(parts_val)
        where = f" in {self.m.layout.period} {self.period}" if self.m.layout.period else ""
        note = (
            f"{label} because {substituted}: the {k} classes are cut at the quantiles of "
            f"{scheme.what}{where} "
            "(linear interpolation); a value on a cut goes to the upper class"
        )
        return ExplainedStep(
            "class", "class", "class", "class", None, symbolic, substituted, label, None, note
        )


def _band_text(scheme: ClassScheme, band: Band, value: str, num: Callable[[object], str]) -> str:
    i = scheme.bands.index(band)
    top, bottom = i == 0, i == len(scheme.bands) - 1
    lo, hi = num(band.lower), num(band.upper)
    if scheme.closed == "lower":
        return f"{lo} <= {value} {'<=' if top else '<'} {hi}"
    return f"{lo} {'<=' if bottom else '<'} {value} <= {hi}"


def _inside(scheme: ClassScheme, band: Band, value: object) -> bool:
    assert isinstance(value, (int, float))
    i = scheme.bands.index(band)
    top, bottom = i == 0, i == len(scheme.bands) - 1
    if scheme.closed == "lower":
        return band.lower <= value and (value <= band.upper if top else value < band.upper)
    return (band.lower <= value if bottom else band.lower < value) and value <= band.upper
