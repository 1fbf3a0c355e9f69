"""The methods against pymcdm 1.4, called here (a test dependency, never a run-time one).

tests/test_peers_mcda.py compares with values recorded from pymcdm and scikit-criteria
(and with the papers' formulas in numpy); this file runs pymcdm itself on the same
decision matrices (tests/data/peers/mcda: A, 16 regions, benefit criteria; B, Compind's
EU 2020 with two cost criteria and unequal weights; C, exact ties and differences on the
PROMETHEE thresholds), so a change in either side shows. Where pymcdm is wrong (COPRAS,
see docs/methods.md) the test shows what it computes instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import peer_cases as pc
import pytest
from pymcdm import methods, normalizations, weights

from engine import api

CASES = ("A_kazakhstan_2014", "B_eu2020", "C_ties")
WITH_COST = ("B_eu2020", "C_ties")  # pymcdm's MOORA and COPRAS need a cost criterion
TOL = 1e-12


def _complete(name: str) -> tuple[pc.DataSet, np.ndarray, np.ndarray, np.ndarray]:
    ds = pc.data_set(name)
    w = np.array(ds.weights) / sum(ds.weights)
    return ds, ds.matrix, w, np.array(ds.directions)


def _engine(
    ds: pc.DataSet,
    aggregation: Mapping[str, Any],
    normalisation: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> np.ndarray:
    m = pc.methodology(ds, aggregation, normalisation)
    if overrides:
        m["normalisation"]["overrides"] = dict(overrides)
    got = pc.run(ds, m)
    return np.array([got[u] for u in ds.units])


def _cost_overrides(ds: pc.DataSet, normalisation: Mapping[str, Any]) -> dict[str, Any]:
    return {
        ds.indicator(c): dict(normalisation)
        for c, d in zip(ds.criteria, ds.directions, strict=True)
        if d < 0
    }


@pytest.mark.parametrize("name", CASES)
def test_topsis_with_pymcdm_default_min_max(name: str) -> None:
    ds, x, w, types = _complete(name)
    want = methods.TOPSIS()(x, w, types)
    got = _engine(ds, {"method": "topsis"}, {"method": "min_max", "range": [0, 1]})
    assert np.max(np.abs(got - want)) < TOL


@pytest.mark.parametrize("name", CASES)
def test_topsis_with_vector_normalisation(name: str) -> None:
    ds, x, w, types = _complete(name)
    want = methods.TOPSIS(normalizations.vector_normalization)(x, w, types)
    got = _engine(ds, {"method": "topsis"}, {"method": "vector"})
    assert np.max(np.abs(got - want)) < TOL


@pytest.mark.parametrize("name", CASES)
def test_vikor_is_one_minus_pymcdm_q(name: str) -> None:
    ds, x, w, types = _complete(name)
    q = methods.VIKOR()(x, w, types)
    got = _engine(ds, {"method": "vikor"})
    assert np.max(np.abs(got - (1 - q))) < TOL


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("lam", [0.0, 0.3, 0.5, 1.0])
def test_waspas_with_zavadskas_normalisation(name: str, lam: float) -> None:
    ds, x, w, types = _complete(name)
    want = methods.WASPAS(normalizations.linear_normalization, l=lam)(x, w, types)
    share = {"method": "leader_share", "scale": 1}
    got = _engine(
        ds,
        {"method": "waspas", "lambda": lam},
        share,
        _cost_overrides(ds, {**share, "cost": "min_over_x"}),
    )
    assert np.max(np.abs(got - want)) < TOL


@pytest.mark.parametrize("name", WITH_COST)
def test_moora_ratio_system(name: str) -> None:
    ds, x, w, types = _complete(name)
    want = methods.MOORA()(x, w, types)
    assert np.max(np.abs(_engine(ds, {"method": "moora"}) - want)) < TOL


@pytest.mark.parametrize("name", CASES)
def test_edas(name: str) -> None:
    ds, x, w, types = _complete(name)
    want = methods.EDAS()(x, w, types)
    assert np.max(np.abs(_engine(ds, {"method": "edas"}) - want)) < TOL


PREFERENCES = {  # engine name: pymcdm name, the thresholds it takes
    "usual": ("usual", ""),
    "u_shape": ("ushape", "q"),
    "v_shape": ("vshape", "p"),
    "level": ("level", "qp"),
    "linear": ("vshape_2", "qp"),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("preference", PREFERENCES)
def test_promethee_ii(name: str, preference: str) -> None:
    ds, x, w, types = _complete(name)
    theirs, needs = PREFERENCES[preference]
    thresholds = {t: np.array(ds.thresholds[t]) for t in needs}
    want = methods.PROMETHEE_II(theirs, **thresholds)(x, w, types)
    agg: dict[str, Any] = {"method": "promethee_ii", "preference": preference}
    agg.update({t: list(ds.thresholds[t]) for t in needs})
    assert np.max(np.abs(_engine(ds, agg) - want)) < TOL


@pytest.mark.parametrize("name", WITH_COST)
def test_pymcdm_copras_adds_the_cost_sum(name: str) -> None:
    """pymcdm's COPRAS is S⁺ + S⁻ (scaled to the best = 1); the engine subtracts the cost
    side as Zavadskas et al. (1994) do, so the two disagree wherever there is a cost."""
    ds, x, w, types = _complete(name)
    theirs = methods.COPRAS()(x, w, types)
    d = w * x / x.sum(axis=0)
    q = d[:, types > 0].sum(axis=1) + d[:, types < 0].sum(axis=1)
    assert np.max(np.abs(theirs - q / q.max())) < TOL
    s_minus = d[:, types < 0].sum(axis=1)
    paper = d[:, types > 0].sum(axis=1) + s_minus.min() * s_minus.sum() / (
        s_minus * (s_minus.min() / s_minus).sum()
    )
    got = _engine(ds, {"method": "copras"})
    assert np.max(np.abs(got - 100 * paper / paper.max())) < 1e-10
    assert np.max(np.abs(got / 100 - theirs)) > 1e-3


def _weights(ds: pc.DataSet, weighting: str, normalisation: Mapping[str, Any]) -> np.ndarray:
    m = pc.methodology(ds, {"method": "arithmetic"}, normalisation, weighted=False)
    m["groups"]["G"]["weighting"] = weighting
    table = api.run(m, ds.path).weights
    assert table is not None
    by_member = dict(table.select("member", "data_driven").iter_rows())
    return np.array([by_member[ds.indicator(c)] for c in ds.criteria])


@pytest.mark.parametrize("name", CASES)
def test_entropy_weights(name: str) -> None:
    ds, x, _, _ = _complete(name)
    got = _weights(ds, "entropy", {"method": "none"})
    assert np.max(np.abs(got - weights.entropy_weights(x))) < TOL


@pytest.mark.parametrize("name", CASES)
def test_standard_deviation_weights(name: str) -> None:
    ds, x, _, _ = _complete(name)
    got = _weights(ds, "sd", {"method": "none"})
    assert np.max(np.abs(got - weights.standard_deviation_weights(x))) < TOL


def test_critic_weights_on_benefit_criteria() -> None:
    """pymcdm's CRITIC min-max normalises every criterion as a benefit one; on the benefit
    matrix A that is the engine's CRITIC on min-max members."""
    ds, x, _, _ = _complete("A_kazakhstan_2014")
    got = _weights(ds, "critic", {"method": "min_max", "range": [0, 1]})
    assert np.max(np.abs(got - weights.critic_weights(x))) < TOL


NORMALISATIONS = {  # pymcdm function: the engine's normalisation (benefit, cost)
    "minmax_normalization": ({"method": "min_max", "range": [0, 1]}, None),
    "vector_normalization": ({"method": "vector"}, None),
    "sum_normalization": ({"method": "share"}, None),
    "max_normalization": (
        {"method": "leader_share", "scale": 1},
        {"method": "leader_share", "scale": 1, "cost": "one_minus_share"},
    ),
    "linear_normalization": (
        {"method": "leader_share", "scale": 1},
        {"method": "leader_share", "scale": 1, "cost": "min_over_x"},
    ),
}


@pytest.mark.parametrize("function", NORMALISATIONS)
@pytest.mark.parametrize("name", WITH_COST)
def test_normalisations(function: str, name: str) -> None:
    ds, x, _, types = _complete(name)
    benefit, cost = NORMALISATIONS[function]
    m = pc.methodology(ds, {"method": "arithmetic"}, benefit)
    if cost is not None:
        m["normalisation"]["overrides"] = _cost_overrides(ds, cost)
    frame = api.run(m, ds.path).frame
    normalise = getattr(normalizations, function)
    for j, (c, t) in enumerate(zip(ds.criteria, types, strict=True)):
        want = normalise(x[:, j], cost=bool(t < 0))
        got = frame[f"{ds.indicator(c)}.norm"].to_numpy()
        assert np.max(np.abs(got - want)) < TOL, (function, c)
