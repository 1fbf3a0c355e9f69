"""Ranks within a tolerance, as compiled for polars, against the definition written out.

The definition (docs/format.md, *ranking*; :class:`engine.formula.ir.ColRank`): in each
group the present values are sorted; a value is tied with the previous one when they
differ by at most tolerance x the larger magnitude, so a run of such values is one tie
group; ``min`` gives a tie group the position of its first value, ``max`` of its last,
``average`` their mean, ``dense`` the tie group's number, ``ordinal`` the positions in
the order of the rows' keys within a tie group. A missing value gets no rank and moves
no one. The values drawn here come in chains one or a few ulps apart and in exact
repeats, with missing values and several groups.
"""

from __future__ import annotations

import math

import polars as pl
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backends.polars.compile import Context, to_polars
from engine.formula import ir

TIES = ("min", "max", "average", "dense", "ordinal")


def by_definition(
    values: list[float | None],
    groups: list[int],
    keys: list[int],
    descending: bool,
    ties: str,
    tolerance: float,
) -> list[float | None]:
    """The ranks of the definition, in plain Python."""
    out: list[float | None] = [None] * len(values)
    for g in set(groups):
        rows = [i for i in range(len(values)) if groups[i] == g and values[i] is not None]
        score = {i: -values[i] if descending else values[i] for i in rows}  # type: ignore[operator]
        rows.sort(key=lambda i: score[i])
        tie: dict[int, int] = {}
        number = 0
        for j, i in enumerate(rows):
            prev = score[rows[j - 1]] if j else None
            if prev is None or abs(score[i] - prev) > tolerance * max(abs(score[i]), abs(prev)):
                number += 1
            tie[i] = number
        members: dict[int, list[int]] = {}
        for j, i in enumerate(rows, start=1):
            members.setdefault(tie[i], []).append(j)
        for i in rows:
            first, last = members[tie[i]][0], members[tie[i]][-1]
            if ties == "min":
                out[i] = float(first)
            elif ties == "max":
                out[i] = float(last)
            elif ties == "average":
                out[i] = (first + last) / 2
            elif ties == "dense":
                out[i] = float(tie[i])
        if ties == "ordinal":
            ordered = sorted(rows, key=lambda i: (tie[i], keys[i]))
            for j, i in enumerate(ordered, start=1):
                out[i] = float(j)
    return out


@st.composite
def panels(draw: st.DrawFn) -> tuple[list[float | None], list[int], list[int]]:
    """Values in near-tie chains (a few ulps apart), exact repeats and gaps; some missing."""
    n = draw(st.integers(1, 40))
    bases = draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, -2.5, 7.0, 1e6]), min_size=1, max_size=4))
    values: list[float | None] = []
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:
            values.append(None)
            continue
        v = draw(st.sampled_from(bases))
        for _ in range(draw(st.integers(0, 3))):
            v = math.nextafter(v, math.inf if draw(st.booleans()) else -math.inf)
        values.append(v)
    groups = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    keys = draw(st.permutations(list(range(n))))
    return values, groups, list(keys)


@settings(max_examples=150, deadline=None)
@given(
    panel=panels(),
    descending=st.booleans(),
    ties=st.sampled_from(TIES),
    tolerance=st.sampled_from([0.0, 1e-15, 1e-9]),
)
def test_ranks_within_a_tolerance_follow_the_definition(
    panel: tuple[list[float | None], list[int], list[int]],
    descending: bool,
    ties: str,
    tolerance: float,
) -> None:
    values, groups, keys = panel
    frame = pl.DataFrame(
        {"u": keys, "g": groups, "x": values},
        schema={"u": pl.Int64, "g": pl.Int64, "x": pl.Float64},
    )
    node = ir.stat(
        ir.ColRank,
        sympy.Symbol("x"),
        ("g",),
        sympy.Integer(int(descending)),
        ir.Str(ties),
        sympy.Float(tolerance),
    )
    expr = to_polars(node, Context({}, "u", None, order=("u",)))
    got = frame.with_columns(expr.alias("rank"))["rank"].to_list()
    want = by_definition(values, groups, keys, descending, ties, float(sympy.Float(tolerance)))
    assert got == want, (values, groups, got, want)
