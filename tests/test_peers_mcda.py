"""The multi-criteria aggregations against their papers and pymcdm / scikit-criteria.

Each case runs one methodology (the data set's criteria in one group, see
``peer_cases.methodology``) and compares the group with the recorded values of
tests/data/peers/mcda (README there): ``score`` is a plain-numpy re-derivation of the
method from its original paper, the other columns what pymcdm 1.4.0 and scikit-criteria
0.10 returned on the same matrix. Data sets: A (16 regions, 6 benefit criteria), B (Compind's
EU 2020: 28 states, 3 benefit and 2 cost criteria, unequal weights), C (5 × 4 with exact
ties, some differences exactly on the PROMETHEE thresholds, a cost criterion).

The members are left raw (normalisation ``none``): a "lower is better" criterion is then a
cost criterion that the method reverses by its own rule, as the papers do.
"""

from __future__ import annotations

import math

import peer_cases as pc
import pytest

from engine import api
from engine.diagnostics import Code, MethodologyError

CASES = ("A_kazakhstan_2014", "B_eu2020", "C_ties")
TOL = 1e-13  # the engine and numpy add in different orders
PREFERENCES = {  # engine name: recorded name
    "usual": "usual",
    "u_shape": "ushape",
    "v_shape": "vshape",
    "level": "level",
    "linear": "linear",
    "gaussian": "gaussian",
}
NEEDS = {"u_shape": "q", "v_shape": "p", "level": "qp", "linear": "qp", "gaussian": "s"}


def _promethee(ds: pc.DataSet, preference: str) -> dict[str, object]:
    agg: dict[str, object] = {"method": "promethee_ii", "preference": preference}
    for t in NEEDS.get(preference, ""):
        agg[t] = list(ds.thresholds[t])
    return agg


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("preference", PREFERENCES)
def test_promethee_ii_net_flow(name: str, preference: str) -> None:
    ds = pc.data_set(name)
    got = pc.run(ds, pc.methodology(ds, _promethee(ds, preference)))
    recorded = f"promethee_ii_{PREFERENCES[preference]}"
    assert pc.max_difference(got, pc.column(recorded, name)) < TOL
    if preference != "gaussian":  # pymcdm has no Gaussian preference function
        assert pc.max_difference(got, pc.column(recorded, name, "pymcdm")) < TOL


def test_promethee_thresholds_are_strict_for_q_and_inclusive_for_p() -> None:
    # C's thresholds put differences exactly on q (c1: 10 - 8 = 2) and on p (c1: 8 - 4 = 4,
    # c4: 2): q gives no preference, p full preference (level: half). By hand for level:
    ds = pc.data_set("C_ties")
    got = pc.run(ds, pc.methodology(ds, _promethee(ds, "level")))
    assert got == pc.column("promethee_ii_level", "C_ties")
    assert got["U1"] == got["U2"]  # identical units


def test_promethee_missing_cell_gives_no_preference_either_way() -> None:
    # C with U4's c3 missing: the pairs with U4 are compared on c1, c2, c4 only (pymcdm does
    # the same: its comparisons with NaN are False). By hand from C's usual flows:
    ds = pc.data_set("C_missing")
    m = pc.methodology(ds, _promethee(ds, "usual"), coverage=0.5)
    got = pc.run(ds, m)
    full = pc.data_set("C_ties")
    w = [x / sum(full.weights) for x in full.weights]
    want = {}
    for p, up in enumerate(full.units):
        total = 0.0
        for q in range(len(full.units)):
            for j in range(4):
                if j == 2 and 3 in (p, q):
                    continue
                d = float(full.matrix[p, j] - full.matrix[q, j]) * full.directions[j]
                total += w[j] * ((d > 0) - (d < 0))
        want[up] = total / 4
    assert pc.max_difference(got, want) < TOL
    default = pc.run(ds, pc.methodology(ds, _promethee(ds, "usual")))
    assert math.isnan(default["U4"]) and default["U1"] == pytest.approx(want["U1"], abs=TOL)


def test_promethee_refuses_missing_or_misplaced_thresholds() -> None:
    ds = pc.data_set("C_ties")
    for agg, text in (
        (
            {"method": "promethee_ii", "preference": "linear", "q": [1, 1, 1, 1]},
            "needs the threshold p",
        ),
        (
            {"method": "promethee_ii", "preference": "usual", "p": [1, 1, 1, 1]},
            "has no threshold p",
        ),
        ({"method": "promethee_ii", "preference": "v_shape", "p": [1, 1]}, "p has 2 numbers for 4"),
        (
            {"method": "promethee_ii", "preference": "level", "q": [3, 1, 1, 1], "p": [2, 3, 3, 3]},
            "q = 3 not below p = 2",
        ),
    ):
        with pytest.raises(MethodologyError) as err:
            api.validate(pc.methodology(ds, agg))
        assert any(
            d.code is Code.BAD_ARGUMENTS and text in d.message for d in err.value.diagnostics
        ), (text, [d.message for d in err.value.diagnostics])


@pytest.mark.parametrize("name", CASES)
def test_copras_follows_zavadskas_1994(name: str) -> None:
    ds = pc.data_set(name)
    got = pc.run(ds, pc.methodology(ds, {"method": "copras"}))
    assert pc.max_difference(got, pc.column("copras", name)) < 1e-12  # a utility in %
    if name != "A_kazakhstan_2014":  # both peers refuse data without a cost criterion
        assert pc.max_difference(got, pc.column("copras", name, "skcriteria")) < 1e-12
        # pymcdm 1.4 adds S- instead of weighing it inversely: not followed
        assert pc.max_difference(got, pc.column("copras", name, "pymcdm")) > 1
    if name == "B_eu2020":
        ranks = sorted(got, key=lambda u: -got[u])
        assert ranks.index("Czech Republic") + 1 == 9  # pymcdm: 27th


@pytest.mark.parametrize("name", CASES)
def test_moora_ratio_system(name: str) -> None:
    ds = pc.data_set(name)
    got = pc.run(ds, pc.methodology(ds, {"method": "moora"}))
    assert pc.max_difference(got, pc.column("moora_ratio", name)) < TOL
    assert pc.max_difference(got, pc.column("moora_ratio", name, "skcriteria")) < TOL
    if name != "A_kazakhstan_2014":  # pymcdm refuses data without a cost criterion
        assert pc.max_difference(got, pc.column("moora_ratio", name, "pymcdm")) < TOL


@pytest.mark.parametrize("name", CASES)
def test_edas(name: str) -> None:
    ds = pc.data_set(name)
    got = pc.run(ds, pc.methodology(ds, {"method": "edas"}))
    for col in ("score", "pymcdm", "skcriteria"):
        assert pc.max_difference(got, pc.column("edas", name, col)) < TOL, col


@pytest.mark.parametrize("name", CASES)
def test_vikor_orients_raw_cost_criteria(name: str) -> None:
    # issue 17 item 3: VIKOR on members that are not normalised used to ignore "lower is
    # better" (on B, 4 of 28 ranks agreed with pymcdm); now f* is a cost criterion's min
    ds = pc.data_set(name)
    got = pc.run(ds, pc.methodology(ds, {"method": "vikor"}))
    for col in ("score", "pymcdm", "skcriteria"):
        q = pc.column("vikor", name, col)
        assert pc.max_difference(got, {u: 1 - v for u, v in q.items()}) < TOL, col


@pytest.mark.parametrize("name", CASES)
def test_topsis_as_pymcdm_and_hwang_yoon(name: str) -> None:
    ds = pc.data_set(name)
    minmax = pc.run(
        ds, pc.methodology(ds, {"method": "topsis"}, {"method": "min_max", "range": [0, 1]})
    )
    assert pc.max_difference(minmax, pc.column("topsis_minmax", name, "pymcdm")) < TOL
    vector = pc.run(ds, pc.methodology(ds, {"method": "topsis"}, {"method": "vector"}))
    for col in ("score", "pymcdm", "skcriteria"):
        assert pc.max_difference(vector, pc.column("topsis_vector", name, col)) < TOL, col


def test_topsis_orients_raw_cost_criteria() -> None:
    # raw members (none): Hwang & Yoon's ideal of a cost criterion is its min; computed here
    ds = pc.data_set("B_eu2020")
    got = pc.run(ds, pc.methodology(ds, {"method": "topsis"}))
    w = [x / sum(ds.weights) for x in ds.weights]
    v = ds.matrix * w
    best = [v[:, j].max() if d > 0 else v[:, j].min() for j, d in enumerate(ds.directions)]
    worst = [v[:, j].min() if d > 0 else v[:, j].max() for j, d in enumerate(ds.directions)]
    want = {}
    for u, row in zip(ds.units, v):
        plus = math.dist(row, best)
        minus = math.dist(row, worst)
        want[u] = minus / (plus + minus)
    assert pc.max_difference(got, want) < TOL


@pytest.mark.parametrize("method", ["waspas", "owa", "mpi"])
def test_methods_reading_oriented_members_refuse_a_raw_cost_criterion(method: str) -> None:
    ds = pc.data_set("C_ties")
    agg: dict[str, object] = {"method": method}
    if method == "owa":
        agg["largest"] = 2
    with pytest.raises(MethodologyError) as err:
        api.validate(pc.methodology(ds, agg, weighted=method == "waspas"))
    (d,) = [d for d in err.value.diagnostics if "I_c4" in d.message]
    assert "'lower is better' and not normalised" in d.message
    assert d.location is not None and d.location.line is not None


def test_a_formula_normalisation_on_a_cost_criterion_is_ambiguous() -> None:
    ds = pc.data_set("C_ties")
    m = pc.methodology(ds, {"method": "vikor"}, {"method": "formula", "formula": "x"})
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    (d,) = err.value.diagnostics
    assert "cannot tell whether the formula already reverses it" in d.message
    assert d.expected is not None and "direction: higher" in d.expected


def test_waspas_on_the_sixteen_regions() -> None:
    # WASPAS is declared by the registry (tests/test_waspas.py covers B and C); data set A
    ds = pc.data_set("A_kazakhstan_2014")
    norm = {"method": "leader_share", "scale": 1, "cost": "min_over_x"}
    for lam in (0.5, 0.25):
        got = pc.run(ds, pc.methodology(ds, {"method": "waspas", "lambda": lam}, norm))
        for col in ("score", "pymcdm", "skcriteria"):
            assert (
                pc.max_difference(got, pc.column(f"waspas_l{lam}", "A_kazakhstan_2014", col)) < TOL
            )
