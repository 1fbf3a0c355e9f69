"""Data availability of each unit, per period: COINr's ``get_data_avail``.

Per unit and period: ``n_missing`` and ``n_zero`` among the stage's variables,
``available`` = 1 - n_missing / k (k variables), ``non_zero`` = 1 - n_zero / (k -
n_missing) (missing when every variable is), and for each group the share of the
variables below it (at every level, not only its direct members, as COINr counts
indicator-level availability) that are present.
A group column is named after the group.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

FIXED = ("n_missing", "n_zero", "available", "non_zero")


def _name(group: str, taken: set[str]) -> str:
    name = group
    while name in taken:  # a group called like a fixed column or a key
        name += "_group"
    taken.add(name)
    return name


def availability(
    data: pl.DataFrame,
    variables: tuple[str, ...],
    below: Mapping[str, tuple[str, ...]],
    keys: tuple[str, ...],
) -> pl.DataFrame:
    """One row per unit (and period), in key order.

    >>> frame = pl.DataFrame({"u": ["a", "b"], "x": [1.0, None], "y": [0.0, 2.0]})
    >>> availability(frame, ("x", "y"), {"g": ("x", "y")}, ("u",))["available"].to_list()
    [1.0, 0.5]
    """
    k = len(variables)
    missing = pl.sum_horizontal([pl.col(v).is_null() for v in variables])
    zeros = pl.sum_horizontal([(pl.col(v) == 0).fill_null(False) for v in variables])
    taken = set(keys) | set(FIXED)
    groups = [
        (1 - pl.mean_horizontal([pl.col(v).is_null().cast(pl.Float64) for v in under])).alias(
            _name(g, taken)
        )
        for g, under in below.items()
        if under
    ]
    return data.select(
        *keys,
        missing.alias("n_missing"),
        zeros.alias("n_zero"),
        (1 - missing / k).alias("available"),
        pl.when(missing < k).then(1 - zeros / (k - missing)).alias("non_zero"),
        *groups,
    ).sort(list(keys))
