"""Correlations between the variables and the groups, per period: COINr's ``get_corr``.

Pairs (the ``relation`` column):

* ``parent``: a variable and the group it is a direct member of;
* ``ancestor``: a variable and a group further up that holds it;
* ``other``: a variable and any other group (each unordered pair once; two groups that
  are members of the same group come as ``within``);
* ``within``: two members of the same group (each unordered pair once, in member order).

Each pair gets Pearson's r and Spearman's rho (``method``), over the units where both
values are present (pairwise-complete observations, R's ``use = "pairwise.complete.obs"``),
with ``n``, the number of those units, and a two-sided p-value from Student's t with
n - 2 degrees of freedom, t = r sqrt((n - 2) / (1 - r^2)) (R's ``cor.test`` for Pearson;
for Spearman the same t approximation, as scipy's ``spearmanr`` and R's ``cor.test`` with
ties or ``exact = FALSE``). r is missing for a constant variable; p below 3 units.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl


class Relation(enum.StrEnum):
    PARENT = "parent"
    ANCESTOR = "ancestor"
    OTHER = "other"
    WITHIN = "within"


METHODS: tuple[Literal["pearson"], Literal["spearman"]] = ("pearson", "spearman")


@dataclass(frozen=True)
class Pair:
    x: str
    y: str
    relation: Relation
    group: str


def pairs(
    variables: tuple[str, ...],
    members: Mapping[str, tuple[str, ...]],
    below: Mapping[str, tuple[str, ...]],
    aggregates: tuple[str, ...],
) -> list[Pair]:
    """Every pair to correlate: variables against aggregates, then members within groups."""

    def related(low: str, high: str) -> Relation | None:
        if low in members.get(high, ()):
            return Relation.PARENT
        if low in below.get(high, ()):
            return Relation.ANCESTOR
        return None

    out: list[Pair] = []
    seen: set[frozenset[str]] = set()
    for v in variables:
        for a in aggregates:
            if a == v or frozenset((v, a)) in seen:
                continue
            seen.add(frozenset((v, a)))
            up = related(v, a)
            if up is not None:
                out.append(Pair(v, a, up, a))
                continue
            down = related(a, v)
            if down is not None:
                out.append(Pair(a, v, down, v))
            elif not any(v in mem and a in mem for mem in members.values()):
                out.append(Pair(v, a, Relation.OTHER, a))  # siblings come as "within" below
    for g, mem in members.items():
        for i, x in enumerate(mem):
            for y in mem[i + 1 :]:
                out.append(Pair(x, y, Relation.WITHIN, g))
    return out


def p_values(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided p-values of correlations `r` over `n` units (t test, n - 2 df); NaN
    where undefined (n < 3 or r missing).

    >>> p_values(np.array([0.5]), np.array([30])).round(6).tolist()
    [0.0049]
    """
    from engine.extras import Extra, require

    special = require("scipy.special", Extra.REPORT, "p-values of correlations")

    df = n.astype(float) - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(r) * np.sqrt(df / (1 - r * r))
        p = 2 * special.stdtr(df, -t)
    p[np.abs(r) >= 1] = 0.0
    p[(df < 1) | np.isnan(r)] = np.nan
    return np.asarray(p)


def correlations(
    data: pl.DataFrame,
    variables: tuple[str, ...],
    members: Mapping[str, tuple[str, ...]],
    below: Mapping[str, tuple[str, ...]],
    aggregates: tuple[str, ...],
    period: str | None,
) -> pl.DataFrame:
    """One row per pair, method (and period): x, y, relation, group, method, (period), r,
    p_value, n."""
    present = [a for a in aggregates if a in data.columns]
    todo = pairs(variables, members, below, tuple(present))
    exprs = []
    for i, p in enumerate(todo):
        both = pl.col(p.x).is_not_null() & pl.col(p.y).is_not_null()
        exprs.append(both.sum().alias(f"n{i}"))
        for method in METHODS:
            exprs.append(pl.corr(p.x, p.y, method=method).alias(f"{method}{i}"))
    by = [period] if period else []
    columns = ["x", "y", "relation", "group", "method", *by, "r", "p_value", "n"]
    if not todo:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String)).with_columns(
            pl.col("r", "p_value").cast(pl.Float64), pl.col("n").cast(pl.Int64)
        )
    wide = data.group_by(by, maintain_order=True).agg(exprs).sort(by) if by else data.select(exprs)
    rows: dict[str, list[object]] = {c: [] for c in columns}
    for record in wide.iter_rows(named=True):
        for i, p in enumerate(todo):
            for method in METHODS:
                rows["x"].append(p.x)
                rows["y"].append(p.y)
                rows["relation"].append(str(p.relation))
                rows["group"].append(p.group)
                rows["method"].append(method)
                if period:
                    rows[period].append(record[period])
                r = record[f"{method}{i}"]
                rows["r"].append(None if r is None or not np.isfinite(r) else float(r))
                rows["n"].append(int(record[f"n{i}"]))
    r_arr = np.array([np.nan if r is None else r for r in rows["r"]], dtype=float)
    p_arr = p_values(r_arr, np.array(rows["n"], dtype=float))
    rows["p_value"] = [None if np.isnan(v) else float(v) for v in p_arr]
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "r": pl.Float64,
        "p_value": pl.Float64,
        "n": pl.Int64,
    }
    schema.update({c: pl.String for c in ("x", "y", "relation", "group", "method")})
    if period:
        schema[period] = data.schema[period]
    return pl.DataFrame(rows, schema={c: schema[c] for c in columns})
