"""Compind's non-compensatory and ordered aggregations (and the power mean) against Compind 3.4,
COINr 1.1.14 and their definitions.

Recorded values: tests/data/peers/mcda/results (``owa``, ``ogwa``, ``wroclaw``, ``genmean``:
numpy re-derivations beside Compind's / COINr's output) and tests/data/peers/compind
(Compind's own ``ci_mpi``, ``ci_ampi`` and ``ci_generalized_mean`` output on EU_2020); see
the READMEs there. R is not needed to run these tests.

Where Compind is wrong the engine follows the definition and the test shows the
difference: ``ci_generalized_mean`` (returns 1, or mean(x^p)/p), ``ci_ampi`` (rounds to 3
decimals and ignores its ``penalty`` argument), ``ci_mpi`` (sample instead of population
SD; a formula aggregation reproduces it).
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import numpy as np
import peer_cases as pc
import polars as pl
import pytest

from engine import api
from engine.diagnostics import MethodologyError

COMPIND = Path(__file__).resolve().parent / "data" / "peers" / "compind"
MINMAX = {"method": "min_max", "range": [0, 1]}  # Compind's normalise_ci(method = 2)
TOL = 1e-13


def _compind(name: str) -> list[dict[str, str]]:
    with (COMPIND / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- OWA and OGWA ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "j"),
    [("A_kazakhstan_2014", 2), ("B_eu2020", 2), ("B_eu2020", 3), ("C_ties", 3), ("D_transport", 1)],
)
def test_owa_mean_of_the_largest_and_smallest(name: str, j: int) -> None:
    ds = pc.data_set(name)
    for key, recorded in (("largest", "CI_OWA_p"), ("smallest", "CI_OWA_n")):
        got = pc.run(ds, pc.methodology(ds, {"method": "owa", key: j}, MINMAX, weighted=False))
        assert pc.max_difference(got, pc.column(f"owa_j{j}", name, f"compind_{recorded}")) < TOL
        numpy_col = "score" if key == "largest" else "CI_OWA_n"
        assert pc.max_difference(got, pc.column(f"owa_j{j}", name, numpy_col)) < TOL


def test_owa_with_order_weights_and_ties() -> None:
    # Yager's quantifier Q(r) = r^2 ("most"): v_k = Q(k/m) - Q((k-1)/m); computed here by
    # sorting each unit's values. C has units with tied members (U1: c3 = 5 = ...).
    ds = pc.data_set("C_ties")
    m = len(ds.criteria)
    v = [(k / m) ** 2 - ((k - 1) / m) ** 2 for k in range(1, m + 1)]
    got = pc.run(
        ds,
        pc.methodology(ds, {"method": "owa", "order_weights": v}, MINMAX, weighted=False),
    )
    lo, hi = ds.matrix.min(axis=0), ds.matrix.max(axis=0)
    y = np.where(
        np.array(ds.directions) > 0, (ds.matrix - lo) / (hi - lo), (hi - ds.matrix) / (hi - lo)
    )
    want = {u: float(np.sort(row)[::-1] @ np.array(v)) for u, row in zip(ds.units, y)}
    assert pc.max_difference(got, want) < TOL
    # ties between a unit's members: they share their places' weights, which changes nothing
    flat = pc.DataSet("flat", ds.criteria, ds.weights, (1, 1, 1, 1), ("a", "b"), ds.matrix[:2], {})
    tied = pl.DataFrame(
        {"unit": ["a", "b"], "c1": [3.0, 1.0], "c2": [3.0, 2.0], "c3": [1.0, 3.0], "c4": [2.0, 1.0]}
    )
    m = pc.methodology(flat, {"method": "owa", "order_weights": [4, 3, 2, 1]}, weighted=False)
    frame = api.run(m, tied).frame
    # a: 3, 3, 2, 1 from the largest; b: 3, 2, 1, 1
    assert frame["G"].to_list() == pytest.approx([(12 + 9 + 4 + 1) / 10, (12 + 6 + 2 + 1) / 10])


@pytest.mark.parametrize(
    ("bandwidth", "recorded"), [(22.700981203695363, "ogwa_j1"), (5.0, "ogwa_j1_bw5")]
)
def test_ogwa_on_the_nuts1_transport_data(tmp_path: Path, bandwidth: float, recorded: str) -> None:
    # 22.700981203695363 is the bandwidth Compind picks (GWmodel's cross-validation); Compind
    # ignores a bandwidth passed to it, so bw = 5 is only in the numpy reference
    ds = pc.data_set("D_transport")
    lines = ds.path.read_text(encoding="utf-8").splitlines()
    rows = [lines[0] + ",long,lat"] + [
        f"{line},{c[0]!r},{c[1]!r}" for line, c in zip(lines[1:], ds.coords)
    ]
    data = tmp_path / "nuts1.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for key, col in (("largest", "p"), ("smallest", "n")):
        agg = {"method": "ogwa", "coordinates": ["long", "lat"], "bandwidth": bandwidth, key: 1}
        got = pc.run(
            ds, pc.methodology(ds, agg, MINMAX, weighted=False, inputs=("long", "lat")), data
        )
        numpy_col = "score" if col == "p" else "CI_OGWA_n"
        assert pc.max_difference(got, pc.column(recorded, "D_transport", numpy_col)) < TOL
        if recorded == "ogwa_j1":
            compind = pc.column(recorded, "D_transport", f"compind_CI_OGWA_{col}")
            assert pc.max_difference(got, compind) < TOL


def test_ogwa_coordinates_must_be_inputs() -> None:
    ds = pc.data_set("D_transport")
    agg = {"method": "ogwa", "coordinates": ["long", "lat"], "bandwidth": 5, "largest": 1}
    with pytest.raises(MethodologyError) as err:
        api.validate(pc.methodology(ds, agg, MINMAX, weighted=False))
    assert [d.message for d in err.value.diagnostics] == [
        "group 'G': coordinate 'long' is not an input",
        "group 'G': coordinate 'lat' is not an input",
    ]


# -- Wrocław taxonomy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["A_kazakhstan_2014", "B_eu2020", "C_ties", "C_missing", "D_transport"]
)
def test_wroclaw_is_one_minus_compind(name: str) -> None:
    # Compind is given z-scores (normalise_ci method 1, sample SD), as its manual does
    ds = pc.data_set(name)
    got = pc.run(
        ds, pc.methodology(ds, {"method": "wroclaw"}, {"method": "z_score"}, weighted=False)
    )
    for col in ("score", "compind"):
        want = {u: 1 - v for u, v in pc.column("wroclaw", name, col).items()}
        assert pc.max_difference(got, want) < TOL, col


# -- Mazziotta-Pareto ---------------------------------------------------------------------------

EU = ["employ_2012", "percGDP_2012", "tertiary_2012", "earlyl_2012", "gasemiss_2011"]
EU_LOWER = {"earlyl_2012", "gasemiss_2011"}


def _eu_methodology(aggregation: dict[str, object], normalisation: dict[str, object]) -> dict:
    return {
        "indexlab": 1,
        "id": "eu2020",
        "title": "EU 2020",
        "data": {"unit": "geo"},
        "inputs": {c: {} for c in EU},
        "indicators": {
            f"I_{c}": {"formula": c, "direction": "lower" if c in EU_LOWER else "higher"}
            for c in EU
        },
        "normalisation": {"default": normalisation},
        "groups": {"G": {"members": [f"I_{c}" for c in EU], "aggregation": aggregation}},
        "index": {"group": "G"},
    }


def _column(frame: pl.DataFrame, unit: str, name: str) -> dict[str, float]:
    return dict(zip(frame[unit], frame[name]))


@pytest.mark.parametrize(
    ("penalty", "compind_col"), [("positive", "mpi_penalty_POS"), ("negative", "mpi_penalty_NEG")]
)
def test_mpi_population_sd_and_the_formula_that_reproduces_compind(
    penalty: str, compind_col: str
) -> None:
    z = {"method": "z_score", "mean": 100, "sd": 10}  # normalise_ci(method = 1, 100, 10)
    data = COMPIND / "eu2020_input.csv"
    got = _column(
        api.run(_eu_methodology({"method": "mpi", "penalty": penalty}, z), data).frame, "geo", "G"
    )
    members = [f"I_{c}" for c in EU]
    mean = "(" + " + ".join(members) + ") / 5"
    variance = "(" + " + ".join(f"({m} - {mean})**2" for m in members) + ")"
    sign = "-" if penalty == "positive" else "+"
    # Compind's ci_mpi in one line: M -/+ S^2 / M with the sample variance (divide by 4)
    formula = f"{mean} {sign} {variance} / 4 / ({mean})"
    compind_like = _column(
        api.run(_eu_methodology({"method": "formula", "formula": formula}, z), data).frame,
        "geo",
        "G",
    )
    compind = {r["geo"]: float(r[compind_col]) for r in _compind("eu2020_ci_mpi.csv")}
    assert pc.max_difference(compind_like, compind) < 1e-12
    for r in _compind("eu2020_ci_mpi.csv"):
        m, s_sample = float(r["row_mean"]), float(r["row_sd_n1"])
        s_pop2 = s_sample**2 * 4 / 5  # population variance of the 5 members
        want = m - s_pop2 / m if penalty == "positive" else m + s_pop2 / m
        assert got[r["geo"]] == pytest.approx(want, rel=1e-13)
        assert got[r["geo"]] != pytest.approx(compind[r["geo"]], rel=1e-9)


def _ampi_run(penalty: str) -> pl.DataFrame:
    m = {
        "indexlab": 1,
        "id": "ampi",
        "title": "AMPI",
        "data": {"unit": "geo", "period": "time"},
        "inputs": {c: {} for c in ("employ", "percGDP", "tertiary", "earlyl", "gasemiss")},
        "indicators": {
            f"I_{c}": {
                "formula": c,
                "direction": "lower" if c in ("earlyl", "gasemiss") else "higher",
            }
            for c in ("employ", "percGDP", "tertiary", "earlyl", "gasemiss")
        },
        "normalisation": {"default": {"method": "ampi", "base": 2011}},
        "groups": {
            "G": {
                "members": [
                    f"I_{c}" for c in ("employ", "percGDP", "tertiary", "earlyl", "gasemiss")
                ],
                "aggregation": {"method": "ampi", "penalty": penalty},
            }
        },
        "index": {"group": "G"},
    }
    return api.run(m, COMPIND / "eu2020_ampi_input_long.csv").frame


def test_ampi_matches_compind_to_its_three_decimals_and_penalises_both_ways() -> None:
    # goalposts: the 2011 means (Compind's gp argument); ranges pooled over 2011 and 2012
    positive, negative = _ampi_run("positive"), _ampi_run("negative")
    compind = _compind("eu2020_ci_ampi.csv")
    for year in (2011, 2012):
        ours = {
            u: v for u, t, v in zip(positive["geo"], positive["time"], positive["G"]) if t == year
        }
        for r in compind:
            # Compind rounds to 3 decimals, and its penalty argument changes nothing
            assert abs(ours[r["geo"]] - float(r[f"ampi_{year}"])) <= 0.0005 + 1e-12
            assert r[f"ampi_{year}"] == r[f"ampi_{year}_argPOS"]
    norm_cols = [f"I_{c}.norm" for c in ("employ", "percGDP", "tertiary", "earlyl", "gasemiss")]
    for row_p, row_n in zip(positive.iter_rows(named=True), negative.iter_rows(named=True)):
        r = [row_p[c] for c in norm_cols]
        mean, sd = statistics.fmean(r), statistics.pstdev(r)
        assert row_p["G"] == pytest.approx(mean - sd * sd / mean, rel=1e-13)
        assert row_n["G"] == pytest.approx(mean + sd * sd / mean, rel=1e-13)


# -- the generalised (power) mean ---------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 0.5, -1])
@pytest.mark.parametrize("name", ["A_kazakhstan_2014", "B_eu2020", "C_ties", "D_transport"])
def test_power_mean_is_the_textbook_one(name: str, p: float) -> None:
    # on leader shares (x/max x 100, min x/x 100 for cost criteria); COINr's a_genmean agrees,
    # Compind's ci_generalized_mean returns 1 (its default) or mean(x^p)/p
    ds = pc.data_set(name)
    norm = {"method": "leader_share", "scale": 100, "cost": "min_over_x"}
    got = pc.run(ds, pc.methodology(ds, {"method": "power", "p": p}, norm))
    recorded = f"genmean_p{p:g}"
    assert pc.max_difference(got, pc.column(recorded, name)) < 1e-12
    assert pc.max_difference(got, pc.column(recorded, name, "coinr_a_genmean")) < 1e-12
    assert set(pc.column(recorded, name, "compind_default").values()) == {1.0}


def test_power_mean_over_present_members() -> None:
    # coverage: the weights renormalised over the present members (COINr returns NA here)
    ds = pc.data_set("C_missing")
    norm = {"method": "leader_share", "scale": 100, "cost": "min_over_x"}
    got = pc.run(ds, pc.methodology(ds, {"method": "power", "p": 2}, norm, coverage=0.5))
    assert pc.max_difference(got, pc.column("genmean_p2", "C_missing")) < 1e-12
    assert math.isnan(pc.column("genmean_p2", "C_missing", "coinr_a_genmean")["U4"])


def test_compind_generalized_mean_is_not_a_power_mean() -> None:
    # Compind 3.4 on min-max data: na.rm = FALSE gives (1/n sum x^p)^1/p = mean(x^p) / p
    for r in _compind("eu2020_ci_generalized_mean_minmax.csv"):
        assert float(r["p2_naRmTRUE_default"]) == 1.0
        textbook, wrong = float(r["textbook_powermean_p2"]), float(r["p2_naRmFALSE"])
        assert wrong == pytest.approx(textbook**2 / 2, rel=1e-12)
