"""Imputation as a few vectorised passes (issue 10 item 3): the windows and the min-max
scaling an imputation reads are parts, each computed once as a column of its own.

* the plan holds each part once, and the imputed steps hold no statistic or window of
  their own: ``row_mean`` reads two statistics per indicator (not per indicator and
  sibling), ``linear`` four windows per indicator (not up to three copies of each);
* the values are those of the formula as written, computed here with numpy in the same
  order of operations (so equal to the last bit), on a single period too (where polars
  keeps a statistic's column as one value and would divide by its reciprocal);
* the audit names the cause as before: the written-out formula, not the part's column;
* DuckDB prints the parts as polars computes them (the same values and warnings), and
  refuses by name what it has no rule for (linear's next value); the JavaScript printer
  is checked on ``tests/data/js/imputation.yaml`` (tests/test_js_printer.py).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from engine import api
from engine.diagnostics import MethodologyError
from engine.formula import ir
from engine.plan import StepKind


def _methodology(method: str, period: bool = True, name: str = "{}", **extra: object) -> dict:
    """Indicators A-D (`name` formats the upper-case letter) of inputs a-d, B lower is
    better, all in one group, imputed by `method`."""
    names = {c: name.format(c.upper()) for c in "abcd"}
    return {
        "indexlab": 1,
        "id": "parts",
        "title": "parts",
        "data": {"unit": "u", **({"period": "t"} if period else {})},
        "inputs": {c: {} for c in "abcd"},
        "indicators": {
            names[c]: {"formula": c, **({"direction": "lower"} if c == "b" else {})} for c in "abcd"
        },
        "imputation": {"default": {"method": method, **extra}},
        "groups": {"G": {"members": list(names.values())}},
    }


def _windows(expr: object) -> int:
    """The statistics and fills in `expr`."""
    if not hasattr(expr, "args"):
        return 0
    own = isinstance(expr, ir.Stat | ir.FillForward | ir.FillBackward)
    return int(own) + sum(_windows(a) for a in expr.args)


def test_each_part_is_computed_once() -> None:
    # row_mean: min, max (the windows), numerator and width of each indicator's scaling;
    # linear: the previous and next value and their periods; constant: the two values
    for method, per_indicator, windows in (
        ("row_mean", 4, 2),
        ("linear", 4, 4),
        ("constant", 2, 2),
    ):
        plan = api.validate(_methodology(method)).plan
        steps = [s for stage in plan.stages for s in stage]
        parts = [s for s in steps if s.kind == StepKind.PART]
        assert len(parts) == len({s.column for s in parts}) == 4 * per_indicator, method
        assert sum(_windows(s.expr) for s in parts) == 4 * windows, method
        for s in steps:
            if s.kind == StepKind.IMPUTED:
                assert _windows(s.expr) == 0, (method, s.column)


def _frame(periods: int) -> pl.DataFrame:
    rng = np.random.Generator(np.random.PCG64(5))
    n = 40 * periods
    data = {c: rng.normal(50, 10, n) for c in "abcd"}
    for c in "abcd":
        data[c] = np.where(rng.random(n) < 0.2, np.nan, data[c])
    data["a"][0] = data["b"][0] = data["c"][0] = np.nan  # only d: a mean of one
    data["d"][0] = np.nan  # and a unit with nothing of the group in the first period
    return pl.DataFrame(
        {
            "u": [f"U{i % 40:02d}" for i in range(n)],
            "t": np.repeat(np.arange(2000, 2000 + periods), 40),
            **{c: pl.Series(v, nan_to_null=True) for c, v in data.items()},
        }
    )


def _row_mean(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """COINr's row mean by numpy, period by period, in the engine's order of operations."""
    out = {c: frame[c].to_numpy().astype(float).copy() for c in "abcd"}
    period = frame["t"].to_numpy()
    for p in np.unique(period):
        rows = period == p
        x = {c: frame[c].to_numpy().astype(float)[rows] for c in "abcd"}
        lo = {c: np.nanmin(v) for c, v in x.items()}
        hi = {c: np.nanmax(v) for c, v in x.items()}
        for y in "abcd":
            total = np.zeros(rows.sum())
            count = np.zeros(rows.sum())
            for s in "abcd":
                if s == y:
                    continue
                top = hi[s] - x[s] if s == "b" else x[s] - lo[s]
                term = top / (hi[s] - lo[s])
                total = total + np.where(np.isnan(term), 0.0, term)
                count = count + ~np.isnan(x[s])
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            width = hi[y] - lo[y]
            back = hi[y] - mean * width if y == "b" else lo[y] + mean * width
            filled = np.where(np.isnan(x[y]) & (count > 0), back, x[y])
            out[y][rows] = filled
    return out


def test_row_mean_is_the_formula_to_the_last_bit() -> None:
    for periods in (1, 3):
        frame = _frame(periods)
        m = _methodology("row_mean", period=periods > 1)
        if periods == 1:
            frame = frame.drop("t")
        got = api.run(m, frame).frame
        want = _row_mean(frame if periods > 1 else frame.with_columns(t=pl.lit(0)))
        for c in "abcd":
            mine = got[f"{c.upper()}.imputed"].to_numpy().astype(float)
            np.testing.assert_array_equal(mine, want[c], err_msg=f"{c}, {periods} period(s)")


def _linear(frame: pl.DataFrame, column: str) -> np.ndarray:
    """R's approx(rule = 2) per unit, in the engine's order of operations."""
    out = np.full(frame.height, np.nan)
    t = frame["t"].to_numpy().astype(float)
    x = frame[column].to_numpy().astype(float)
    units = frame["u"].to_numpy()
    for unit in np.unique(units):
        rows = np.flatnonzero(units == unit)
        rows = rows[np.argsort(t[rows])]
        present = [r for r in rows if not np.isnan(x[r])]
        for r in rows:
            if not np.isnan(x[r]):
                out[r] = x[r]
                continue
            before = [q for q in present if t[q] < t[r]]
            after = [q for q in present if t[q] > t[r]]
            if before and after:
                b, a = before[-1], after[0]
                out[r] = x[b] + (x[a] - x[b]) / (t[a] - t[b]) * (t[r] - t[b])
            elif before or after:  # the nearest value at the ends
                out[r] = x[before[-1]] if before else x[after[0]]
    return out


def test_linear_is_the_formula_to_the_last_bit() -> None:
    frame = _frame(6).sample(fraction=1.0, shuffle=True, seed=3)  # any row order
    got = api.run(_methodology("linear"), frame).frame
    for c in "abcd":
        mine = got[f"{c.upper()}.imputed"].to_numpy().astype(float)
        np.testing.assert_array_equal(mine, _linear(frame, c), err_msg=c)


def test_the_audit_names_the_formula_not_the_part() -> None:
    frame = pl.DataFrame(
        {
            "u": ["p", "q", "r", "s"],
            "a": [1.0, None, 3.0, 4.0],
            "b": [5.0, 2.0, 5.0, None],
            "c": [7.0, 7.0, 7.0, 7.0],  # no spread: its scaled value is undefined
            "d": [2.0, 1.0, None, 3.0],
        }
    )
    result = api.run(_methodology("row_mean", period=False), frame)
    messages = [d.message for d in result.warnings]
    assert (
        "division by zero: max(C, by=[]) - min(C, by=[]) is 0 in the imputation of 'A' (row_mean "
        "imputation), 4 rows: p, q, r, s"
    ) in messages
    assert not any(".impute." in text for text in messages)
    # the constant sibling adds 0 and counts as present, as before: q's A from B and D
    a = result.frame["A.imputed"].to_list()
    b_scaled = (5.0 - 2.0) / (5.0 - 2.0)  # lower is better: (max - x) / (max - min)
    d_scaled = (1.0 - 1.0) / (3.0 - 1.0)
    assert a[1] == 1.0 + (b_scaled + 0.0 + d_scaled) / 3 * (4.0 - 1.0)


def test_duckdb_computes_the_parts_as_polars() -> None:
    frame = _frame(4).with_columns(c=pl.when(pl.col("t") == 2001).then(7.0).otherwise("c"))
    for method, extra in (("row_mean", {}), ("row_mean", {"normalise": False})):
        m = _methodology(method, name="i{}", **extra)  # duckdb: names differ by more than case
        want, got = api.run(m, frame), api.run(m, frame, engine="duckdb")
        keys = ["u", "t"]
        a, b = want.frame.sort(keys), got.frame.sort(keys)
        assert a.columns == b.columns, method
        for c in a.columns:
            if a[c].dtype.is_float():
                x, y = a[c].to_numpy(), b[c].to_numpy()
                assert (np.isnan(x) == np.isnan(y)).all(), (method, c)
                gap = np.abs(x - y) / np.maximum(np.abs(x), 1e-300)
                assert np.nanmax(gap, initial=0.0) <= 1e-12, (method, c)
            else:
                assert a[c].to_list() == b[c].to_list(), (method, c)
        # the same undefined values (c has no spread in 2001), named as polars names them
        assert [d.message for d in want.warnings] == [d.message for d in got.warnings], method
        if method == "row_mean" and not extra:
            assert any("max(iC, by=[t]) - min(iC, by=[t]) is 0" in d.message for d in got.warnings)

    # linear's later value has no SQL rule yet: refused by name, before any data is read
    with pytest.raises(MethodologyError, match="next observation carried backward"):
        api.run(_methodology("linear", name="i{}"), frame, engine="duckdb")
