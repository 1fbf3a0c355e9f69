"""Weights optimised for equal influence (issue 14; COINr get_opt_weights, "balance"),
against COINr 1.1.14 on ASEM (tests/data/coinr_asem) and against numpy."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine import api
from engine.methods.optimised_weights import objective

ROOT = Path(__file__).resolve().parents[1]
ASEM = ROOT / "examples" / "coinr-asem"
REF = ROOT / "tests" / "data" / "coinr_asem"


def _corr(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    index = frame["index"].to_numpy()
    return np.array([np.corrcoef(frame[c].to_numpy(), index)[0, 1] for c in columns])


def test_asem_sub_indices_match_coinr_tight_optimum(tmp_path: Path) -> None:
    text = (ASEM / "asem.yaml").read_text(encoding="utf-8")
    text = text[: text.index("uncertainty:")].replace(
        "    members: [Conn, Sust]\n", "    members: [Conn, Sust]\n    weighting: optimised\n"
    )
    path = tmp_path / "asem.yaml"
    path.write_text(text, encoding="utf-8")
    result = api.run(path, [ASEM / "asem.csv"])
    ref = pl.read_csv(REF / "opt_weights_L3_tight.csv")
    w = result.weights
    assert w is not None
    got = dict(w.filter(pl.col("group") == "SustConn").select("member", "weight").iter_rows())
    want = dict(ref.select("iCode", "OptWeight").iter_rows())
    for member in ("Conn", "Sust"):
        assert got[member] == pytest.approx(want[member], abs=1e-6)
    # the aim, checked with numpy on the output: both correlate equally with the index
    r = _corr(result.frame, ["Conn", "Sust"])
    assert abs(r[0] - r[1]) < 1e-8
    assert r[0] == pytest.approx(ref["corr_at_opt"][0], abs=1e-6)
    # COINr's default tolerance stops near the start: (0.5, 0.5) was not moved much
    early = pl.read_csv(REF / "opt_weights_L3.csv")
    assert early["optim_fn_count"][0] < 10


def test_two_members_get_equal_correlations(tmp_path: Path) -> None:
    rng = random.Random(4)
    rows = [(f"u{i}", rng.uniform(0, 10), rng.gauss(5, 3), rng.uniform(0, 1)) for i in range(30)]
    data = tmp_path / "d.csv"
    pl.DataFrame(rows, schema=["c", "a", "b", "d"], orient="row").write_csv(data)
    path = tmp_path / "m.yaml"
    path.write_text(
        """\
indexlab: 1
id: opt
title: opt
data: {unit: c}
inputs: {a: {}, b: {}, d: {}}
indicators: {A: {formula: a}, B: {formula: b}, D: {formula: d}}
normalisation: {default: {method: min_max}}
groups:
  P: {members: [A, B]}
  T: {members: [P, D], weighting: optimised}
index: {group: T}
""",
        encoding="utf-8",
    )
    result = api.run(path, [data])
    r = _corr(result.frame, ["P", "D.norm"])
    assert abs(r[0] - r[1]) < 1e-7
    w = result.weights
    assert w is not None
    weights = w.filter(pl.col("group") == "T")["weight"].to_list()
    assert all(x >= 0 for x in weights) and sum(weights) == pytest.approx(1)
    assert objective(r, np.array([0.5, 0.5])) < -25


def test_the_objective_is_coinrs() -> None:
    # COINr's reported optimum on ASEM level 3: ln(mean((t - r / sum r)^2)) = -75.55
    ref = pl.read_csv(REF / "opt_weights_L3_tight.csv")
    r = ref["corr_at_opt"].to_numpy()
    value = objective(r, np.array([0.5, 0.5]))
    assert value < -60 and ref["optim_value"][0] < -60
    early = pl.read_csv(REF / "opt_weights_L2.csv")
    r2 = early["corr_at_opt"].to_numpy()
    assert objective(r2, np.full(8, 1 / 8)) == pytest.approx(early["optim_value"][0], abs=1e-9)
