"""Unit screening by data availability (COINr's ``Screen``), before anything else is computed.

With an ``availability`` section a unit is kept in a period only if enough of its
indicators have a value there (COINr's ``dat_thresh``, ``unit_screen = "byNA"``), if
asked within every group too, and if enough of its present values are not zero (COINr's
``nonzero_thresh``, ``"byNZ"``). Availability is measured on the raw indicator values,
before imputation; the indicators counted are those of the index (see
:func:`counted_indicators`). A dropped unit's rows leave the data before any statistic
across units is taken, so it changes no other unit's normalisation, weights or rank, and
it is reported: a warning per dropped unit and period, and a table of every unit and
period (:func:`screen`), as COINr's ``DataSummary``:

* ``indicators``, ``present``, ``zero``: counts over the counted indicators;
* ``available`` = present / indicators; ``nonzero`` = (present − zero) / present (empty
  when nothing is present, which fails a ``nonzero`` threshold);
* ``lowest_group``, ``lowest_group_available``: the group with the smallest share present;
* ``kept`` and ``reason``.

Shares are compared with the thresholds with a 1e-12 tolerance, so 2/3 written as
0.6666666666666666 keeps a unit with 2 of 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.diagnostics import Code, Diagnostic, Severity
from engine.format.model import Availability, Methodology
from engine.formula import grain

__all__ = ["Screened", "counted_indicators", "screen"]

TOLERANCE = 1e-12


def counted_indicators(m: Methodology) -> list[str]:
    """The indicators availability is counted over: the indicators that are members of a
    group (in the order of the indicators section), or every unit-level indicator when the
    methodology has no groups."""
    members = {x for g in m.groups for x in g.members}
    unit_level = [i.name for i in m.indicators if i.grain == grain.UNIT]
    return [x for x in unit_level if x in members] if m.groups else unit_level


def _beneath(m: Methodology, group: str, counted: set[str]) -> list[str]:
    """The counted indicators under `group`, at any depth."""
    out: list[str] = []
    for x in m.group(group).members:
        if x in counted:
            out.append(x)
        elif any(g.name == x for g in m.groups):
            out += _beneath(m, x, counted)
    return out


@dataclass(frozen=True)
class Screened:
    """The rows kept (unit-level and detail), every unit's availability, and the warnings."""

    units: pl.DataFrame | None
    detail: pl.DataFrame | None
    table: pl.DataFrame
    warnings: tuple[Diagnostic, ...]


def _percent(x: float) -> str:
    return f"{100 * x:.1f} %"


def _reason(row: dict[str, object], rule: Availability) -> str | None:
    """Why a unit is dropped (None when it is kept)."""
    why = []
    n, present = int(str(row["indicators"])), int(str(row["present"]))
    available = float(str(row["available"]))
    if rule.minimum is not None and available < rule.minimum - TOLERANCE:
        why.append(
            f"{present} of {n} indicators present ({_percent(available)}), "
            f"below the minimum {_percent(rule.minimum)}"
        )
    lowest = row["lowest_group_available"]
    if (
        rule.per_group
        and rule.minimum is not None
        and lowest is not None
        and float(str(lowest)) < rule.minimum - TOLERANCE
        and not why
    ):
        why.append(
            f"group '{row['lowest_group']}' has {_percent(float(str(lowest)))} of its "
            f"indicators present, below the minimum {_percent(rule.minimum)}"
        )
    nonzero = row["nonzero"]
    if rule.nonzero is not None and (
        nonzero is None or float(str(nonzero)) < rule.nonzero - TOLERANCE
    ):
        zero = int(str(row["zero"]))
        share = "no value present" if nonzero is None else _percent(float(str(nonzero)))
        why.append(
            f"{present - zero} of {present} present values non-zero ({share}), below "
            f"{_percent(rule.nonzero)}"
        )
    return "; ".join(why) or None


def screen(
    m: Methodology, frame: pl.DataFrame, units: pl.DataFrame | None, detail: pl.DataFrame | None
) -> Screened:
    """Screen the data's units by `m.availability`; `frame` holds the raw indicator values
    of every unit and period (a first pass of the methodology over all the data)."""
    rule = m.availability
    assert rule is not None
    keys = list(m.layout.keys)
    counted = counted_indicators(m)
    present = [pl.col(x).is_not_null().cast(pl.Int64) for x in counted]
    zero = [(pl.col(x) == 0).fill_null(False).cast(pl.Int64) for x in counted]
    groups = [g.name for g in m.groups]
    group_shares = {
        g: pl.sum_horizontal(pl.col(x).is_not_null().cast(pl.Int64) for x in beneath) / len(beneath)
        for g in groups
        if (beneath := _beneath(m, g, set(counted)))
    }
    table = frame.select(
        *keys,
        pl.lit(len(counted), dtype=pl.Int64).alias("indicators"),
        pl.sum_horizontal(present).alias("present"),
        pl.sum_horizontal(zero).alias("zero"),
        *(share.alias(f"__g.{g}") for g, share in group_shares.items()),
    ).with_columns(
        (pl.col("present") / pl.col("indicators")).alias("available"),
        pl.when(pl.col("present") > 0)
        .then((pl.col("present") - pl.col("zero")) / pl.col("present"))
        .alias("nonzero"),
    )
    shares = [f"__g.{g}" for g in group_shares]
    if shares:
        lowest = pl.min_horizontal(shares)
        # the first group (in the groups' order) with the smallest share
        name = pl.coalesce(
            [pl.when(pl.col(c) == lowest).then(pl.lit(c.removeprefix("__g."))) for c in shares]
        )
        table = table.with_columns(
            name.alias("lowest_group"), lowest.alias("lowest_group_available")
        )
    else:
        table = table.with_columns(
            pl.lit(None, dtype=pl.String).alias("lowest_group"),
            pl.lit(None, dtype=pl.Float64).alias("lowest_group_available"),
        )
    table = table.drop(shares)
    reasons = [_reason(row, rule) for row in table.iter_rows(named=True)]
    table = table.with_columns(
        pl.Series("kept", [r is None for r in reasons], dtype=pl.Boolean),
        pl.Series("reason", reasons, dtype=pl.String),
    )
    dropped = table.filter(~pl.col("kept")).select(keys)
    warnings = tuple(
        Diagnostic(
            Code.MISSING_VALUE,
            f"{' '.join(str(v) for v in row[: len(keys)])} dropped by data availability: {row[-1]}",
            severity=Severity.WARNING,
        )
        for row in table.filter(~pl.col("kept")).select(*keys, "reason").iter_rows()
    )
    kept_units = (
        units.join(dropped, on=keys, how="anti", maintain_order="left")
        if units is not None
        else None
    )
    kept_detail = (
        detail.join(dropped, on=keys, how="anti", maintain_order="left")
        if detail is not None
        else None
    )
    return Screened(kept_units, kept_detail, table, warnings)
