"""Cronbach's alpha of each group's members, per period: COINr's ``get_cronbach``.

With k members and C their covariance matrix (sample covariances, n - 1), COINr takes
alpha = k^2 * mean(off-diagonal C) / sum(C) = k / (k - 1) * (1 - trace(C) / sum(C)).
``alpha`` uses COINr's default convention: each covariance over the units where both
members are present (pairwise-complete observations, R's ``cov(use =
"pairwise.complete.obs")``), each variance over the units where that member is present.
``alpha_complete`` uses only the units where every member is present (``use =
"complete.obs"``). ``k`` is the number of members, ``n`` the units with at least one
member present, ``n_complete`` those with all. Groups of one member get no row.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl


def _alpha(columns: tuple[str, ...], complete: pl.Expr | None) -> pl.Expr:
    def c(name: str) -> pl.Expr:
        return pl.col(name) if complete is None else pl.when(complete).then(pl.col(name))

    k = len(columns)
    total = pl.sum_horizontal([pl.cov(c(a), c(b), ddof=1) for a in columns for b in columns])
    trace = pl.sum_horizontal([c(a).var(ddof=1) for a in columns])
    return k * k * ((total - trace) / (k * (k - 1))) / total


def cronbach(
    data: pl.DataFrame, members: Mapping[str, tuple[str, ...]], period: str | None
) -> pl.DataFrame:
    """One row per group with two or more members (and period), ``group`` first.

    >>> frame = pl.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 4.0]})
    >>> round(cronbach(frame, {"g": ("a", "b")}, None)["alpha"][0], 6)
    0.947368
    """
    by = [period] if period else []
    parts = []
    for g, mem in members.items():
        if len(mem) < 2:
            continue
        complete = pl.all_horizontal([pl.col(m).is_not_null() for m in mem])
        exprs = [
            pl.lit(g).alias("group"),
            pl.lit(len(mem)).alias("k"),
            pl.any_horizontal([pl.col(m).is_not_null() for m in mem]).sum().alias("n"),
            complete.sum().alias("n_complete"),
            _alpha(mem, None).alias("alpha"),
            _alpha(mem, complete).alias("alpha_complete"),
        ]
        got = data.group_by(by, maintain_order=True).agg(exprs) if by else data.select(exprs)
        parts.append(got.select("group", *by, "k", "n", "n_complete", "alpha", "alpha_complete"))
    if not parts:
        return pl.DataFrame(
            schema={"group": pl.String}
            | {p: data.schema[p] for p in by}
            | {"k": pl.Int32, "n": pl.UInt32, "n_complete": pl.UInt32}
            | {"alpha": pl.Float64, "alpha_complete": pl.Float64}
        )
    out = pl.concat(parts, how="vertical_relaxed")
    return out.sort(by, maintain_order=True) if by else out
