"""Factor weights with varimax rotation (issue 14; OECD/JRC Handbook 2008, section 6.1).

The rotation is checked against its definition, independently of the engine's iterative
algorithm: with two factors, the varimax rotation is the angle that maximises the varimax
criterion of the Kaiser-normalised loadings, found here by a fine search over the angle.
The weights are then recomputed from the Handbook's steps in plain numpy."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine import api
from engine.methods import pca_rotated

METHODOLOGY = """\
indexlab: 1
id: factors
title: factors
data: {unit: c}
inputs: {a1: {}, a2: {}, a3: {}, b1: {}, b2: {}, b3: {}}
indicators: {A1: {formula: a1}, A2: {formula: a2}, A3: {formula: a3},
             B1: {formula: b1}, B2: {formula: b2}, B3: {formula: b3}}
normalisation: {default: {method: z_score}}
groups: {G: {members: [A1, A2, A3, B1, B2, B3], weighting: WEIGHTING}}
index: {group: G}
"""


def _two_blocks(n: int = 60, seed: int = 3) -> np.ndarray:
    """Two latent factors, three indicators each, with unequal loadings and noise."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        f, g = rng.gauss(0, 1), rng.gauss(0, 1)
        rows.append(
            [0.9 * f + 0.3 * rng.gauss(0, 1), 0.7 * f + 0.6 * rng.gauss(0, 1),
             0.5 * f + 0.2 * g + 0.8 * rng.gauss(0, 1), 0.8 * g + 0.4 * rng.gauss(0, 1),
             0.6 * g + 0.7 * rng.gauss(0, 1), 0.3 * g + 0.2 * f + 0.9 * rng.gauss(0, 1)]
        )  # fmt: skip
    return np.array(rows)


def _varimax_by_angle(loadings: np.ndarray) -> np.ndarray:
    """The varimax rotation of two factors: the angle maximising sum_k var_j(l_jk^2) of the
    Kaiser-normalised loadings, by a grid then golden-section search."""
    h = np.sqrt((loadings**2).sum(axis=1))
    x = loadings / h[:, None]

    def rotate(t: float) -> np.ndarray:
        return x @ np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])

    def criterion(t: float) -> float:
        z = rotate(t) ** 2
        return float(((z - z.mean(axis=0)) ** 2).sum())

    grid = np.linspace(0, math.pi / 2, 20001)
    best = grid[int(np.argmax([criterion(t) for t in grid]))]
    lo, hi = best - 1e-4, best + 1e-4
    g = (math.sqrt(5) - 1) / 2
    for _ in range(100):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if criterion(a) > criterion(b):
            hi = b
        else:
            lo = a
    return rotate((lo + hi) / 2) * h[:, None]


def _handbook(values: np.ndarray) -> tuple[list[float], int]:
    corr = np.corrcoef(values, rowvar=False)
    lam, vec = np.linalg.eigh(corr)
    lam, vec = lam[::-1], vec[:, ::-1]
    keep = [k for k in range(len(lam)) if lam[k] > 1 and lam[k] / lam.sum() > 0.1]
    assert keep == list(range(len(keep)))  # the leading ones
    loadings = vec[:, keep] * np.sqrt(lam[keep])
    rotated = _varimax_by_angle(loadings) if len(keep) == 2 else loadings
    sq = rotated**2
    scaled = sq / sq.sum(axis=0)
    share = sq.sum(axis=0) / sq.sum()
    raw = [scaled[j].max() * share[int(np.argmax(scaled[j]))] for j in range(values.shape[1])]
    return [w / sum(raw) for w in raw], len(keep)


def _run(tmp_path: Path, values: np.ndarray, weighting: str) -> api.RunResult:
    cols = ["a1", "a2", "a3", "b1", "b2", "b3"]
    data = tmp_path / "d.csv"
    frame = pl.DataFrame(values, schema=cols, orient="row")
    frame.with_columns(pl.Series("c", [f"u{i}" for i in range(len(values))])).write_csv(data)
    path = tmp_path / "m.yaml"
    path.write_text(METHODOLOGY.replace("WEIGHTING", weighting), encoding="utf-8")
    return api.run(path, [data])


def test_the_rotation_is_the_varimax_optimum() -> None:
    values = _two_blocks()
    corr = np.corrcoef(values, rowvar=False)
    lam, vec = np.linalg.eigh(corr)
    loadings = vec[:, ::-1][:, :2] * np.sqrt(lam[::-1][:2])
    engine = pca_rotated.varimax(loadings)
    reference = _varimax_by_angle(loadings)
    # the same up to the order and signs of the factors
    for k in range(2):
        match = min(np.abs(np.abs(engine[:, k]) - np.abs(reference[:, j])).max() for j in range(2))
        assert match < 1e-6  # the angle search finds a flat optimum to ~1e-8


def test_factor_weights_on_two_factors(tmp_path: Path) -> None:
    values = _two_blocks()
    want, factors = _handbook(values)
    assert factors == 2
    result = _run(tmp_path, values, "pca_rotated")
    w = result.weights
    assert w is not None
    got = w.sort("member")["data_driven"].to_list()
    order = sorted(range(6), key=lambda j: ["A1", "A2", "A3", "B1", "B2", "B3"][j])
    assert got == pytest.approx([want[j] for j in order], abs=1e-7)
    assert set(w["weighting"]) == {"pca_rotated"}


def test_with_one_factor_it_is_the_first_principal_component(tmp_path: Path) -> None:
    rng = random.Random(8)
    rows = []
    for _ in range(40):
        f = rng.gauss(0, 1)
        rows.append([f * (0.5 + 0.1 * j) + rng.gauss(0, 0.4) for j in range(6)])
    values = np.array(rows)
    corr = np.corrcoef(values, rowvar=False)
    assert (np.linalg.eigvalsh(corr) > 1).sum() == 1
    rotated = _run(tmp_path, values, "pca_rotated").weights
    first = _run(tmp_path, values, "pca").weights
    assert rotated is not None and first is not None
    assert rotated["data_driven"].to_list() == pytest.approx(first["data_driven"].to_list())
