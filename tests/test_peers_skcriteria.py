"""The methods against scikit-criteria 0.10, called here (a test dependency only).

The same decision matrices as tests/test_peers_pymcdm.py (tests/data/peers/mcda). Where
scikit-criteria is right the engine equals it; where it is not the textbook (its scalers
never orient a cost criterion) the test shows the difference docs/methods.md states.
scikit-criteria warns about its own deprecated modules on import, hence the filter.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import peer_cases as pc
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # scikit-criteria's own deprecations, not ours
    import skcriteria as skc
    from skcriteria.agg.copras import COPRAS
    from skcriteria.agg.edas import EDAS
    from skcriteria.agg.moora import RatioMOORA
    from skcriteria.agg.topsis import TOPSIS
    from skcriteria.agg.vikor import VIKOR
    from skcriteria.agg.waspas import WASPAS
    from skcriteria.preprocessing.scalers import (
        MaxAbsScaler,
        MinMaxScaler,
        SumScaler,
        VectorScaler,
    )

from engine import api

CASES = ("A_kazakhstan_2014", "B_eu2020", "C_ties")
WITH_COST = ("B_eu2020", "C_ties")  # scikit-criteria's COPRAS needs a cost criterion
TOL = 1e-12


def _decision(name: str) -> tuple[pc.DataSet, Any]:
    ds = pc.data_set(name)
    weights = np.array(ds.weights) / sum(ds.weights)
    return ds, skc.mkdm(ds.matrix, objectives=list(ds.directions), weights=weights)


def _engine(
    ds: pc.DataSet, aggregation: Mapping[str, Any], normalisation: Mapping[str, Any] | None = None
) -> np.ndarray:
    got = pc.run(ds, pc.methodology(ds, aggregation, normalisation))
    return np.array([got[u] for u in ds.units])


@pytest.mark.parametrize("name", WITH_COST)
def test_copras_after_the_sum_scaler(name: str) -> None:
    ds, dm = _decision(name)
    want = COPRAS().evaluate(SumScaler(target="matrix").transform(dm)).e_.score
    assert np.max(np.abs(_engine(ds, {"method": "copras"}) - want)) < 1e-10  # a 0-100 scale


@pytest.mark.parametrize("name", CASES)
def test_ratio_moora_after_the_vector_scaler(name: str) -> None:
    ds, dm = _decision(name)
    want = RatioMOORA().evaluate(VectorScaler(target="matrix").transform(dm)).e_.score
    assert np.max(np.abs(_engine(ds, {"method": "moora"}) - want)) < TOL


@pytest.mark.parametrize("name", CASES)
def test_edas(name: str) -> None:
    ds, dm = _decision(name)
    want = EDAS().evaluate(dm).e_.score
    assert np.max(np.abs(_engine(ds, {"method": "edas"}) - want)) < TOL


@pytest.mark.parametrize("name", CASES)
def test_topsis_after_the_vector_scaler(name: str) -> None:
    ds, dm = _decision(name)
    with warnings.catch_warnings():
        # it advises against cost criteria, then handles them as Hwang & Yoon do
        warnings.filterwarnings("ignore", "Although TOPSIS can operate with minimization")
        want = TOPSIS().evaluate(VectorScaler(target="matrix").transform(dm)).e_.similarity
    got = _engine(ds, {"method": "topsis"}, {"method": "vector"})
    assert np.max(np.abs(got - want)) < TOL


@pytest.mark.parametrize("name", CASES)
def test_vikor_is_one_minus_q(name: str) -> None:
    ds, dm = _decision(name)
    q = VIKOR(v=0.5).evaluate(dm).e_.q_k
    assert np.max(np.abs(_engine(ds, {"method": "vikor"}) - (1 - q))) < TOL


@pytest.mark.parametrize("lam", [0.0, 0.25, 0.5, 1.0])
def test_waspas_after_the_max_scaler_on_benefit_criteria(lam: float) -> None:
    """scikit-criteria's WASPAS takes benefit criteria only (its product is a sum of log10s,
    hence the looser tolerance)."""
    ds, dm = _decision("A_kazakhstan_2014")
    scaled = MaxAbsScaler(target="matrix").transform(dm)  # x / max x: the data are positive
    want = WASPAS(lambda_value=lam).evaluate(scaled).e_.score
    got = _engine(ds, {"method": "waspas", "lambda": lam}, {"method": "leader_share", "scale": 1})
    assert np.max(np.abs(got - want)) < 1e-11


@pytest.mark.parametrize("name", WITH_COST)
def test_its_min_max_scaler_does_not_orient_a_cost_criterion(name: str) -> None:
    """The engine's min-max of a 'lower is better' indicator is 1 − scikit-criteria's."""
    ds, dm = _decision(name)
    theirs = MinMaxScaler(target="matrix").transform(dm).matrix.to_numpy()
    m = pc.methodology(ds, {"method": "arithmetic"}, {"method": "min_max", "range": [0, 1]})
    frame = api.run(m, ds.path).frame
    costs = 0
    for j, (c, d) in enumerate(zip(ds.criteria, ds.directions, strict=True)):
        ours = frame[f"{ds.indicator(c)}.norm"].to_numpy()
        want = theirs[:, j] if d > 0 else 1 - theirs[:, j]
        assert np.max(np.abs(ours - want)) < TOL, c
        if d < 0:
            costs += 1
            assert np.max(np.abs(ours - theirs[:, j])) > 0.1  # not oriented there
    assert costs > 0
