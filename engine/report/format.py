"""Numbers as text for people: one number of decimals per kind of value, per column.

Every table the terminal or a notebook shows formats a column as a whole, so a column
never mixes ``12.5`` with ``3.127``:

======================  ===========  ==================================================
kind                    decimals     columns
======================  ===========  ==================================================
score                   2            ``index``, groups, ``*.norm``, ``index_<id>``
rank                    0 (or 1)     ``rank``, ``*_rank``, ``rank_<id>``, ``shift_<id>``
weight                  3            ``weight``, ``effective_weight``
share                   3            probabilities, shares (values in [0, 1])
statistic               3            ρ, τ, Sobol indices, derivatives
raw                     by column    inputs and anything else: as many decimals as the
                                     column's median magnitude needs for 4 significant
                                     digits (``1,234.6`` next to ``0.5``), at most 6;
                                     none for whole numbers
======================  ===========  ==================================================

A rank column keeps one decimal only when it holds averaged ranks (ties "average" or
replication means). Missing values print as ``—``; booleans as ``yes``/``no``. Rounding
is Python's: half to even on the binary value.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable

import polars as pl

__all__ = ["Kind", "column_texts", "decimals_of", "formatter", "kind_of"]

MISSING = "—"


class Kind(enum.StrEnum):
    SCORE = "score"
    RANK = "rank"
    WEIGHT = "weight"
    SHARE = "share"
    STATISTIC = "statistic"
    RAW = "raw"


DECIMALS = {Kind.SCORE: 2, Kind.WEIGHT: 3, Kind.SHARE: 3, Kind.STATISTIC: 3}
_STATISTICS = {"spearman", "kendall_tau_b", "S1", "ST", "derivative", "elasticity"}


def kind_of(column: str, scores: Iterable[str] = ()) -> Kind:
    """The kind of a column by its name; `scores` names further score columns (groups).

    >>> kind_of("SD.norm"), kind_of("rank_kireeva"), kind_of("weight"), kind_of("grp")
    (<Kind.SCORE: 'score'>, <Kind.RANK: 'rank'>, <Kind.WEIGHT: 'weight'>, <Kind.RAW: 'raw'>)
    """
    base = column.split(".")[-1]
    if column in _STATISTICS or base in _STATISTICS or column.startswith(("S1_", "ST_")):
        return Kind.STATISTIC
    if "rank" in column or column.startswith("shift"):
        return Kind.RANK
    if "weight" in column:
        return Kind.WEIGHT
    if column in ("probability", "share") or column.startswith(("p_", "share")):
        return Kind.SHARE
    if column == "index" or column.startswith("index_") or base == "norm" or column in scores:
        return Kind.SCORE
    return Kind.RAW


def _raw_decimals(median: float | None, significant: int = 4) -> int:
    typical = float(median) if median else 1.0
    return min(6, max(0, significant - 1 - math.floor(math.log10(typical))))


def decimals_of(series: pl.Series, kind: Kind | None = None, *, significant: int = 4) -> int | None:
    """The number of decimals :func:`formatter` gives `series`; None when its values print
    as they are (text, integer counts and years). Its values are summed up in one query:
    whether they are whole (a rank: its non-NaN values; raw: its finite ones) and, raw,
    the median size of the finite non-zero ones; the logarithm is Python's."""
    kind = kind or kind_of(series.name)
    if not series.dtype.is_numeric() or (series.dtype.is_integer() and kind is Kind.RAW):
        return None
    if kind not in (Kind.RANK, Kind.RAW):
        return DECIMALS[kind]
    x = pl.col("v").cast(pl.Float64)
    kept = x.filter(x.is_not_nan() if kind is Kind.RANK else x.is_finite())  # nulls too
    whole, median = (
        series.to_frame("v")
        .select(
            (kept == kept.round(0)).all().alias("whole"),
            kept.abs().filter(kept != 0).median().alias("median"),
        )
        .row(0)
    )
    if whole:
        return 0
    return 1 if kind is Kind.RANK else _raw_decimals(median, significant)


def formatter(
    series: pl.Series,
    kind: Kind | None = None,
    *,
    significant: int = 4,
    decimals: int | None = None,
) -> Callable[[object], str]:
    """A function formatting every value of `series` alike (see the module docstring);
    raw values get `significant` digits at the column's median magnitude, unless
    `decimals` is given. Integer columns print as they are (years, counts)."""
    kind = kind or kind_of(series.name)
    own = decimals_of(series, kind, significant=significant)
    if own is None:
        return _plain
    decimals = own if decimals is None else decimals
    signed = kind is Kind.RANK and series.name.startswith("shift")

    def text(value: object) -> str:
        if value is None:
            return MISSING
        if isinstance(value, bool):
            return "yes" if value else "no"
        if not isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        out = f"{value:,.{decimals}f}"
        return f"+{out}" if signed and value > 0 else out

    return text


def _plain(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def column_texts(series: pl.Series, kind: Kind | None = None, *, significant: int = 4) -> list[str]:
    """Every value of `series` as text, formatted alike."""
    text = formatter(series, kind, significant=significant)
    return [text(v) for v in series.to_list()]
