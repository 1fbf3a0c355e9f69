"""Typed derived outputs (issue 14): counts as integers, true/false flags and text labels,
and label columns read as text in formulas. Expected values are worked out here in plain
Python from the data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import Code, DataError, MethodologyError
from engine.formula import ir
from engine.formula.parser import Formula, Scope, parse_formula
from engine.formula.types import Kind, kind_of

HEAD = """\
indexlab: 1
id: typed
title: typed outputs
data: {unit: c, labels: [region]}
inputs: {a: {}}
indicators: {A: {formula: a}}
normalisation: {default: {method: min_max}}
groups: {G: {members: [A]}}
index: {group: G}
"""
ROWS = [("p", "North", 1.0), ("q", "North", 3.0), ("r", "South", 2.0), ("s", "South", 5.0),
        ("t", "South", 4.0), ("u", None, 0.0)]  # fmt: skip


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    pl.DataFrame(ROWS, schema=["c", "region", "a"], orient="row").write_csv(path)
    return path


def _run(tmp_path: Path, data: Path, derived: str) -> pl.DataFrame:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + "derived:\n" + derived, encoding="utf-8")
    return api.run(path, [data]).frame


def test_integer_condition_and_text_outputs(tmp_path: Path, data: Path) -> None:
    frame = _run(
        tmp_path,
        data,
        """\
  n_region: {formula: "count(a, by=[region])", type: integer}
  above_5: {formula: "sum(where(a >= 2, 1, 0))", type: integer}
  north: {formula: "region == 'North'", type: condition}
  tier: {formula: "where(rank <= 2, 'top two', 'others')", type: text}
  place: {formula: "'the north' if region == 'North' else region", type: text}
""",
    )
    assert frame.schema["n_region"] == pl.Int64 and frame.schema["above_5"] == pl.Int64
    assert frame.schema["north"] == pl.Boolean
    assert frame.schema["tier"] == pl.String and frame.schema["place"] == pl.String
    regions = [r for _, r, _ in ROWS]
    counts = {r: regions.count(r) for r in set(regions) if r is not None}
    got = {row["c"]: row for row in frame.iter_rows(named=True)}
    ranks = {c: 1 + sum(b > a for _, _, b in ROWS) for c, _, a in ROWS}
    for c, region, _ in ROWS:
        row = got[c]
        assert row["n_region"] == (counts[region] if region else None)  # no label: no group
        assert row["above_5"] == sum(1 for _, _, b in ROWS if b >= 2)
        assert row["north"] == (region == "North" if region else None)
        assert row["tier"] == ("top two" if ranks[c] <= 2 else "others")
        assert row["place"] == ("the north" if region == "North" else region)


def test_an_integer_output_that_is_not_whole_is_undefined_and_reported(
    tmp_path: Path, data: Path
) -> None:
    odd = [c for c, _, a in ROWS if a % 2 == 1]  # a / 2 is not whole for odd a
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + "derived:\n" + '  half: {formula: "a / 2", type: integer}\n')
    result = api.run(path, [data])
    got = dict(zip(result.frame["c"], result.frame["half"], strict=True))
    assert got == {c: (None if c in odd else int(a / 2)) for c, _, a in ROWS}
    (w,) = [w for w in result.warnings if w.code == Code.DOMAIN]
    assert "must be a whole number" in w.message and w.message.endswith(", ".join(odd)), w.message
    # the methodology's policy for undefined values may stop the run instead
    path.write_text(
        HEAD + "undefined: error\nderived:\n" + '  half: {formula: "a / 2", type: integer}\n'
    )
    with pytest.raises(DataError) as err:
        api.run(path, [data])
    d = err.value.diagnostics[0]
    assert d.code == Code.DOMAIN and "must be a whole number" in d.message


def test_an_integer_output_rounded_first_is_accepted(tmp_path: Path, data: Path) -> None:
    frame = _run(tmp_path, data, '  half: {formula: "round(a / 2, 0)", type: integer}\n')
    want = [int(a / 2 + 0.5) for _, _, a in ROWS]  # half up
    assert frame["half"].to_list() == want


@pytest.mark.parametrize(
    ("derived", "message"),
    [
        ('  x: {formula: "region", type: number}\n', "is text, but a number is needed"),
        ('  x: {formula: "a + 1", type: text}\n', "is a number, but text is needed"),
        ('  x: {formula: "region + 1"}\n', "'+' needs numbers, but its left operand"),
        ("  x: {formula: \"region > 'A'\", type: condition}\n", "'>' compares numbers"),
        ("  x: {formula: \"where(a > 1, 'a', 1)\", type: text}\n", "takes text as its third"),
        ('  x: {formula: "a > 1"}\n', "is a condition, but a number is needed"),
    ],
)
def test_kinds_that_do_not_fit_are_refused(
    tmp_path: Path, data: Path, derived: str, message: str
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + "derived:\n" + derived, encoding="utf-8")
    with pytest.raises(MethodologyError) as err:
        api.validate(path)
    assert any(message in d.message for d in err.value.diagnostics), err.value.render()


def test_label_text_in_the_ir_is_typed_as_text() -> None:
    scope = Scope({"x": "input"}, (), frozenset({"region"}), text_names=frozenset({"region"}))
    expr, problems = parse_formula(Formula("where(x > 1, region, 'none')"), scope, want=Kind.TEXT)
    assert problems == ()
    assert kind_of(expr) is Kind.TEXT
    assert "region" in ir.free_names(expr)  # a label is a column the value reads


def test_labels_as_text_in_a_check_and_a_screening_rule(tmp_path: Path, data: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        HEAD
        + "checks:\n  known_region: {assert: \"region == 'North' or region == 'South'\"}\n"
        + "screening:\n  southern_leader: {rule: \"region == 'South' and rank == 1\"}\n",
        encoding="utf-8",
    )
    result = api.run(path, [data])
    assert dict(result.frame.select("c", "southern_leader").iter_rows())["s"] is True
    check = result.checks[0]
    assert check.passed and check.tested == 5  # the unit without a region is not tested
