"""at() on key columns held as integers: compared as numbers, the same rows as text.

A run that knows a key column holds integers (``Context.integer_keys``, from the data's
types: :func:`engine.runner.integer_keys`) compares at()'s value with the number instead
of printing every row's key; the rows picked must be those of the text comparison, which
is checked here against a plain-Python lookup, for every integer type and for values
that are not an integer as it prints (those still compare as text and match nothing).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from engine import api, runner
from engine.backends.polars.compile import Context, to_polars
from engine.formula.parser import Formula, Scope, parse_formula

SCOPE = Scope({"x": "input"}, ("year",), frozenset({"u", "year"}), period="year")
CTX = Context({}, "u", "year")
INTEGER = dataclasses.replace(CTX, integer_keys=frozenset({"u", "year"}))


def _frame(dtype: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "u": ["b", "a", "c", "a", "b", "d", "c"],
            "year": pl.Series([14, 14, 10, 10, 10, 14, -3], dtype=dtype),
            "x": [20.0, 10.0, 3.0, 1.0, 2.0, 40.0, 7.0],
        }
    )


def _run(text: str, frame: pl.DataFrame, ctx: Context) -> list[object]:
    expr, problems = parse_formula(Formula(text), SCOPE, want=None)
    assert problems == (), [p.render() for p in problems]
    return frame.select(to_polars(expr, ctx).alias("out"))["out"].to_list()


def _expected(frame: pl.DataFrame, value: str) -> list[object]:
    """at(x, value) by hand: the unit's x in the row whose year prints as `value`."""
    rows = frame.rows(named=True)
    picked = {r["u"]: r["x"] for r in rows if str(r["year"]) == value}
    return [picked.get(r["u"]) for r in rows]


@pytest.mark.parametrize(
    "dtype", [pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32]
)
@pytest.mark.parametrize(
    ("formula", "value"),
    [
        ("at(x, 10)", "10"),
        ("at(x, 14)", "14"),
        ("at(x, year='-3')", "-3"),
        ("at(x, 2010)", "2010"),  # beyond Int8 and UInt8: no row
        ("at(x, year='10')", "10"),
        ("at(x, year='010')", "010"),  # not an integer as it prints: no row
        ("at(x, year='+10')", "+10"),
    ],
)
def test_integer_keys_pick_the_rows_text_picks(
    dtype: pl.DataType, formula: str, value: str
) -> None:
    if dtype in (pl.UInt8, pl.UInt16, pl.UInt32):
        frame = _frame(pl.Int64).filter(pl.col("year") >= 0).cast({"year": dtype})
    else:
        frame = _frame(dtype)
    want = _expected(frame, value)
    assert _run(formula, frame, INTEGER) == want
    assert _run(formula, frame, CTX) == want


def test_only_integer_types_count_as_integer_keys() -> None:
    m = api.validate(Path("methodologies/kireeva.yaml")).methodology
    frame = pl.DataFrame({"region": ["a"], "year": [2010], "grp": [1.0]})
    assert runner.integer_keys(m, runner.Data(frame)) == {"year"}
    for dtype in (pl.String, pl.Float64, pl.UInt64):
        other = frame.cast({"year": dtype})
        assert runner.integer_keys(m, runner.Data(other)) == frozenset()


def test_a_run_gives_the_same_result_with_and_without_integer_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validated = api.validate(Path("methodologies/kireeva.yaml"))
    data = runner.read_data(validated.methodology, ["examples/kazakhstan/regions.csv"])
    assert runner.integer_keys(validated.methodology, data) == {"year"}
    typed = api.execute(validated, data)
    monkeypatch.setattr(runner, "integer_keys", lambda m, d: frozenset())
    text = api.execute(validated, data)
    assert typed.frame.equals(text.frame)
    assert typed.frame["change_2014_vs_2010_pct"].drop_nulls().len() > 0
    assert [c.failures.rows() for c in typed.checks] == [c.failures.rows() for c in text.checks]
