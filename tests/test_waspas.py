"""WASPAS aggregation (Zavadskas, Turskis, Antucheviciene & Zakarevičius 2012).

Q = λ Σ w y + (1 − λ) Π y^w, weights divided by their sum, on members already normalised.
Zavadskas normalises a benefit criterion by x / max x and a cost criterion by min x / x;
in a methodology that is ``leader_share`` with ``scale: 1`` and ``cost: min_over_x``.

Expected values: a plain numpy computation written here from the definition, and
pymcdm 1.4.0's ``WASPAS(l=λ)`` on the same matrices, recorded in
``tests/data/peers/waspas/`` (see its README; pymcdm is not a dependency).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from engine import api
from engine.diagnostics import Code, MethodologyError
from tests.undefined import reported

PEERS = Path(__file__).resolve().parent / "data" / "peers" / "waspas"

#: data set: criteria, weights, directions (+1 benefit, -1 cost)
DATA_SETS = {
    "B_eu2020": (
        ["employ_2012", "tertiary_2012", "shareren_2011", "earlyl_2012", "gasemiss_2011"],
        [0.3, 0.2, 0.2, 0.15, 0.15],
        [1, 1, 1, -1, -1],
    ),
    "C_ties": (["c1", "c2", "c3", "c4"], [0.375, 0.25, 0.25, 0.125], [1, 1, 1, -1]),
}


def methodology(
    criteria: list[str], weights: list[float], directions: list[int], lam: float
) -> str:
    lines = [
        "indexlab: 1",
        "id: waspas",
        "title: WASPAS",
        "data: {unit: unit}",
        "inputs: {" + ", ".join(f"{c}: {{}}" for c in criteria) + "}",
        "indicators:",
    ]
    for c, d in zip(criteria, directions):
        lines.append(
            f"  {c.upper()}: {{formula: {c}, direction: {'higher' if d > 0 else 'lower'}}}"
        )
    lines += [
        "normalisation:",
        "  default: {method: leader_share, scale: 1, cost: min_over_x}",
        "groups:",
        "  Q:",
        "    members: [" + ", ".join(c.upper() for c in criteria) + "]",
        "    weights: {"
        + ", ".join(f"{c.upper()}: {w!r}" for c, w in zip(criteria, weights))
        + "}",
        f"    aggregation: {{method: waspas, lambda: {lam!r}}}",
        "index: {group: Q}",
    ]
    return "\n".join(lines) + "\n"


def read_matrix(name: str) -> tuple[list[str], np.ndarray]:
    with (PEERS / f"{name}.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    criteria = DATA_SETS[name][0]
    return [r["unit"] for r in rows], np.array([[float(r[c]) for c in criteria] for r in rows])


def numpy_waspas(x: np.ndarray, w: list[float], directions: list[int], lam: float) -> np.ndarray:
    """Zavadskas et al. (2012), written from the paper."""
    weights = np.asarray(w) / np.sum(w)
    benefit = np.asarray(directions) > 0
    normalised = np.where(benefit, x / x.max(axis=0), x.min(axis=0) / x)
    wsm = (normalised * weights).sum(axis=1)
    wpm = np.prod(normalised**weights, axis=1)
    return lam * wsm + (1 - lam) * wpm


def run_index(tmp_path: Path, text: str, data: Path) -> dict[str, float]:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    frame = api.run(path, [data]).frame
    return dict(zip(frame["unit"].to_list(), frame["index"].to_list()))


@pytest.mark.parametrize("lam", [0.5, 0.25])
@pytest.mark.parametrize("name", sorted(DATA_SETS))
def test_waspas_matches_numpy_and_pymcdm(tmp_path: Path, name: str, lam: float) -> None:
    criteria, weights, directions = DATA_SETS[name]
    units, x = read_matrix(name)
    got = run_index(
        tmp_path, methodology(criteria, weights, directions, lam), PEERS / f"{name}.csv"
    )
    want = dict(zip(units, numpy_waspas(x, weights, directions, lam)))
    with (PEERS / f"waspas_l{lam}__{name}.csv").open(encoding="utf-8") as fh:
        pymcdm = {r["unit"]: float(r["pymcdm"]) for r in csv.DictReader(fh)}
    assert got.keys() == want.keys() == pymcdm.keys()
    for unit in units:
        assert got[unit] == pytest.approx(want[unit], rel=1e-15, abs=0), unit
        assert got[unit] == pytest.approx(pymcdm[unit], rel=1e-15, abs=0), unit


def test_lambda_one_is_the_arithmetic_mean_and_zero_the_weighted_product(tmp_path: Path) -> None:
    criteria, weights, directions = DATA_SETS["B_eu2020"]
    units, x = read_matrix("B_eu2020")
    data = PEERS / "B_eu2020.csv"
    arithmetic = methodology(criteria, weights, directions, 0.5).replace(
        "{method: waspas, lambda: 0.5}", "{method: arithmetic}"
    )
    one = run_index(tmp_path, methodology(criteria, weights, directions, 1.0), data)
    assert one == pytest.approx(run_index(tmp_path, arithmetic, data), rel=1e-15)
    zero = run_index(tmp_path, methodology(criteria, weights, directions, 0.0), data)
    product = numpy_waspas(x, weights, directions, 0.0)
    assert [zero[u] for u in units] == pytest.approx(list(product), rel=1e-15)


def test_lambda_defaults_to_one_half(tmp_path: Path) -> None:
    criteria, weights, directions = DATA_SETS["C_ties"]
    data = PEERS / "C_ties.csv"
    text = methodology(criteria, weights, directions, 0.5)
    default = text.replace("{method: waspas, lambda: 0.5}", "{method: waspas}")
    assert run_index(tmp_path, default, data) == run_index(tmp_path, text, data)


def test_a_negative_member_is_a_domain_error_naming_the_unit(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("unit,a,b\nNorth,1,2\nSouth,-1,4\nEast,2,6\n", encoding="utf-8")
    text = methodology(["a", "b"], [1.0, 1.0], [1, 1], 0.5).replace(
        "{method: leader_share, scale: 1, cost: min_over_x}", "{method: none}"
    )
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    err = reported(api.run(path, [data]))  # undefined: missing, and a warning names it
    (domain,) = [d for d in err.diagnostics if d.code == Code.DOMAIN]
    assert "South" in domain.message, err.render()
    assert "North" not in domain.message and "East" not in domain.message
    assert "WASPAS needs every member >= 0" in err.render()


@pytest.mark.parametrize(
    ("aggregation", "message"),
    [
        ("{method: waspas, lambda: 1.5}", "must be at most 1"),
        ("{method: waspas, l: 0.5}", "unknown key 'l'"),
    ],
)
def test_lambda_outside_zero_one_or_misspelt_is_rejected(
    tmp_path: Path, aggregation: str, message: str
) -> None:
    text = methodology(["a", "b"], [1.0, 1.0], [1, 1], 0.5).replace(
        "{method: waspas, lambda: 0.5}", aggregation
    )
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MethodologyError) as info:
        api.validate(path)
    assert message in info.value.render()
