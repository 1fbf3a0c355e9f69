"""The weights as an output table (issue 17 item 5, issue 14): nominal, data-driven, used and
effective weights per period, in the API result and written by ``--weights-output``.
Entropy weights are recomputed here with numpy from their definition."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app

METHODOLOGY = """\
indexlab: 1
id: weights
title: weights
data: {unit: c, period: year}
inputs: {a: {}, b: {}, d: {}}
indicators: {A: {formula: a}, B: {formula: b}, D: {formula: d}}
normalisation: {default: {method: min_max, range: [1, 100]}}
groups:
  E: {members: [A, B], weighting: entropy}
  T: {members: [E, D], weights: {E: 3, D: 1}}
index: {group: T}
"""
ROWS = [
    ("p", 2020, 1.0, 7.0, 3.0), ("q", 2020, 4.0, 2.0, 8.0), ("r", 2020, 9.0, 5.0, 1.0),
    ("s", 2020, 6.0, 1.0, 6.0), ("p", 2021, 2.0, 9.0, 2.0), ("q", 2021, 5.0, 4.0, 7.0),
    ("r", 2021, 3.0, 3.0, 9.0), ("s", 2021, 8.0, 6.0, 4.0),
]  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    m = tmp_path / "m.yaml"
    m.write_text(METHODOLOGY, encoding="utf-8")
    d = tmp_path / "d.csv"
    pl.DataFrame(ROWS, schema=["c", "year", "a", "b", "d"], orient="row").write_csv(d)
    return m, d


def _entropy_weights(columns: np.ndarray) -> np.ndarray:
    p = columns / columns.sum(axis=0)
    e = -(p * np.log(p)).sum(axis=0) / math.log(columns.shape[0])
    return (1 - e) / (1 - e).sum()


def test_the_weights_table_has_nominal_data_driven_and_effective_weights(
    files: tuple[Path, Path],
) -> None:
    result = api.run(files[0], [files[1]])
    w = result.weights
    assert w is not None
    assert w.columns == [
        "period", "group", "member", "weighting", "nominal", "data_driven", "weight",
        "effective_weight",
    ]  # fmt: skip
    for year in (2020, 2021):
        part = [r for r in ROWS if r[1] == year]
        norm = []
        for j in (2, 3):  # min-max to [1, 100], as the methodology normalises
            x = np.array([r[j] for r in part])
            norm.append(1 + (x - x.min()) / (x.max() - x.min()) * 99)
        want = _entropy_weights(np.column_stack(norm))
        rows = {r["member"]: r for r in w.filter(pl.col("period") == year).iter_rows(named=True)}
        for member, value in zip(("A", "B"), want):
            r = rows[member]
            assert r["weighting"] == "entropy" and r["nominal"] is None
            assert r["data_driven"] == pytest.approx(value, rel=1e-12)
            assert r["weight"] == r["data_driven"]
            assert r["effective_weight"] == pytest.approx(0.75 * value, rel=1e-12)
        for member, value in (("E", 0.75), ("D", 0.25)):
            r = rows[member]
            assert (r["weighting"], r["data_driven"]) == ("fixed", None)
            assert r["nominal"] == r["weight"] == pytest.approx(value)
        assert rows["D"]["effective_weight"] == pytest.approx(0.25)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx"])
def test_the_cli_writes_the_weights_table(
    files: tuple[Path, Path], tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"weights{suffix}"
    done = CliRunner().invoke(
        app, ["run", str(files[0]), str(files[1]), "-q", "--weights-output", str(target)]
    )
    assert done.exit_code == 0, done.output
    if suffix == ".csv":
        table = pl.read_csv(target)
    elif suffix == ".json":
        table = pl.DataFrame(json.loads(target.read_text(encoding="utf-8")))
    else:
        table = pl.read_excel(target)
    assert table.height == 8 and set(table["member"]) == {"A", "B", "E", "D"}
    assert table.filter(pl.col("member") == "D")["effective_weight"].to_list() == [0.25] * 2
