"""Benefit of the doubt (issue 14) against Compind 3.4's own outputs (tests/data/compind,
see its README), on Compind's own examples (examples/benefit-of-the-doubt).

Scores are compared everywhere. Weights are compared where the optimum is unique; for a
unit whose optimal weights are not unique (a frontier unit), the test checks that the
engine's weights are optimal (feasible, and reaching the score). Uniqueness is decided
here, independently of the engine, by minimising and maximising each weight over the
optimal face with scipy's HiGHS. The robust (order-m) score is checked against an
enumeration of every draw on a small matrix, and against Compind's Monte Carlo estimate
within its standard error.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from engine import api
from engine.diagnostics import Code, DataError, MethodologyError
from engine.methods import bod_solve, catalogue

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "data" / "compind"
EXAMPLE = ROOT / "examples" / "benefit-of-the-doubt"
NUTS = EXAMPLE / "eu_nuts1_transport_2012.csv"
LP_TOL = 1e-9  # lp_solve's and HiGHS' optima agree to ~5e-13 here


def _normalised_nuts() -> np.ndarray:
    return (
        pl.read_csv(REF / "nuts1_input_and_minmax.csv")
        .select("roads_norm", "trains_norm")
        .to_numpy()
    )


def _weight_ranges(y: np.ndarray, i: int, score: float, low: float = 0, up: float = 1):
    """min and max of each weight of unit i over its optimal face (independent of the engine)."""
    n, m = y.shape
    rows, bounds = [y], [np.ones(n)]
    if low > 0 or up < 1:
        own = np.tile(y[i], (m, 1))
        rows += [np.diag(y[i]) - up * own, low * own - np.diag(y[i])]
        bounds += [np.zeros(m), np.zeros(m)]
    a = np.vstack([*rows, -y[i][None, :]])
    b = np.concatenate([*bounds, [-(score - 1e-11)]])
    out = []
    for j in range(m):
        c = np.zeros(m)
        c[j] = 1
        lo = linprog(c, A_ub=a, b_ub=b, bounds=[(0, None)] * m, method="highs")
        hi = linprog(-c, A_ub=a, b_ub=b, bounds=[(0, None)] * m, method="highs")
        out.append((lo.x[j], hi.x[j] if hi.status == 0 else np.inf))
    return out


def _run(path: Path, data: Path) -> api.RunResult:
    return api.run(path, [data], keep_detail=True)


def _wide_weights(detail: pl.DataFrame, unit: str, column: str) -> pl.DataFrame:
    return detail.pivot(on="member", index=unit, values=column)


def test_bod_reproduces_compind_ci_bod_on_eu_nuts1() -> None:
    result = _run(EXAMPLE / "bod.yaml", NUTS)
    ref = pl.read_csv(REF / "nuts1_ci_bod.csv")
    got = result.frame.join(ref, on="NUTS1", how="inner", maintain_order="left")
    assert got.height == 34
    assert (got["index"] - got["ci_bod"]).abs().max() < LP_TOL
    # the index is the weighted sum of the unit's normalised members, with its own weights
    detail = result.detail
    assert detail is not None
    assert detail.columns == ["NUTS1", "group", "score", "member", "value", "weight", "share"]
    wide = _wide_weights(detail, "NUTS1", "weight").join(ref, on="NUTS1")
    y = _normalised_nuts()
    unique, frontier = 0, []
    for i, row in enumerate(wide.iter_rows(named=True)):
        ranges = _weight_ranges(y, i, row["ci_bod"])
        w = np.array([row["road"], row["rail"]])
        if all(hi - lo <= 1e-6 for lo, hi in ranges):
            unique += 1
            assert abs(row["road"] - row["w_roads"]) < LP_TOL, row["NUTS1"]
            assert abs(row["rail"] - row["w_trains"]) < LP_TOL, row["NUTS1"]
        else:
            frontier.append(row["NUTS1"])
            # optimal: no unit above 1 with these weights, and the unit reaches its score
            assert (y @ w).max() <= 1 + 1e-12
            assert abs(float(y[i] @ w) - row["ci_bod"]) < LP_TOL
            assert all(lo - 1e-9 <= wj <= hi + 1e-9 for wj, (lo, hi) in zip(w, ranges))
    assert sorted(frontier) == ["Berlin", "Ile de France"] and unique == 32
    shares = detail.group_by("NUTS1").agg(pl.col("share").sum())
    assert (shares["share"] - 1).abs().max() < 1e-12  # each unit's shares add up to 1


def test_bod_constrained_reproduces_compind_ci_bod_constr_on_eu_nuts1() -> None:
    result = _run(EXAMPLE / "bod-constrained.yaml", NUTS)
    ref = pl.read_csv(REF / "nuts1_ci_bod_constr_up1_low0.05.csv")
    got = result.frame.join(ref, on="NUTS1", maintain_order="left")
    assert (got["index"] - got["ci_bod_constr"]).abs().max() < LP_TOL
    detail = result.detail
    assert detail is not None
    shares = _wide_weights(detail, "NUTS1", "share").join(ref, on="NUTS1")
    y = _normalised_nuts()
    for i, row in enumerate(shares.iter_rows(named=True)):
        if row["NUTS1"] in ("Bremen", "Sur (ES)"):
            # a zero member under low_w > 0 forces the score to 0; the shares are undefined
            assert row["ci_bod_constr"] == 0 and row["road"] is None and row["rail"] is None
            continue
        ranges = _weight_ranges(y, i, row["ci_bod_constr"], 0.05, 1)
        if all(hi - lo <= 1e-6 for lo, hi in ranges):
            assert abs(row["road"] - row["share_roads"]) < LP_TOL, row["NUTS1"]
            assert abs(row["rail"] - row["share_trains"]) < LP_TOL, row["NUTS1"]
        else:
            assert row["NUTS1"] == "Ile de France"
            assert 0.05 - 1e-12 <= row["road"] <= 1 and 0.05 - 1e-12 <= row["rail"] <= 1


EU2020 = """\
indexlab: 1
id: eu2020-bod
title: BoD on Compind's EU_2020
data: {unit: geo}
inputs: {employ_2012: {}, percGDP_2012: {}, tertiary_2012: {}, earlyl_2012: {}, gasemiss_2011: {}}
indicators:
  employ: {formula: employ_2012}
  rd: {formula: percGDP_2012}
  tertiary: {formula: tertiary_2012}
  early_leavers: {formula: earlyl_2012, direction: lower}
  emissions: {formula: gasemiss_2011, direction: lower}
normalisation: {default: {method: min_max, range: [0, 1]}}
groups:
  CI:
    members: [employ, rd, tertiary, early_leavers, emissions]
    aggregation: {method: bod{shares}}
index: {group: CI}
"""
EU_MEMBERS = ["employ", "rd", "tertiary", "early_leavers", "emissions"]
EU_REF = ["employ_2012", "percGDP_2012", "tertiary_2012", "earlyl_2012", "gasemiss_2011"]


@pytest.mark.parametrize(
    ("shares", "reference", "prefix", "column"),
    [
        ("", "eu2020_ci_bod_minmax.csv", "w_", "weight"),
        (", min_share: 0.05", "eu2020_ci_bod_constr_up1_low0.05_minmax.csv", "share_", "share"),
    ],
)
def test_bod_on_five_members_with_cost_indicators(
    tmp_path: Path, shares: str, reference: str, prefix: str, column: str
) -> None:
    path = tmp_path / "eu.yaml"
    path.write_text(EU2020.replace("{shares}", shares), encoding="utf-8")
    result = _run(path, REF / "eu2020_input.csv")
    ref = pl.read_csv(REF / reference)
    score = "ci_bod" if not shares else "ci_bod_constr"
    got = result.frame.join(ref, on="geo", maintain_order="left")
    assert got.height == 27
    assert (got["index"] - got[score]).abs().max() < LP_TOL
    # the members are Compind's min-max (NEG: (max - x) / (max - min))
    norm = pl.read_csv(REF / "eu2020_norm_minmax.csv")
    mine = result.frame.select("geo", *(f"{m}.norm" for m in EU_MEMBERS)).join(norm, on="geo")
    for m, r in zip(EU_MEMBERS, EU_REF):
        assert (mine[f"{m}.norm"] - mine[r]).abs().max() < 1e-15
    y = norm.select(EU_REF).to_numpy()
    low = 0.05 if shares else 0
    assert result.detail is not None
    wide = _wide_weights(result.detail, "geo", column).join(ref, on="geo", maintain_order="left")
    compared = 0
    for i, row in enumerate(wide.iter_rows(named=True)):
        if row[score] == 0:
            continue
        ranges = _weight_ranges(y, i, row[score], low, 1)
        if all(hi - lo <= 1e-6 for lo, hi in ranges):
            compared += 1
            for m, r in zip(EU_MEMBERS, EU_REF):
                assert abs(row[m] - row[prefix + r]) < 1e-8, (row["geo"], m)
    assert compared >= 15  # most units have unique weights


@pytest.mark.parametrize(
    ("direction", "column"), [([1, 1], "ci_bod_dir_1_1"), ([1, 0.5], "ci_bod_dir_1_0.5")]
)
def test_directional_bod_reproduces_compind_ci_bod_dir(
    tmp_path: Path, direction: list[float], column: str
) -> None:
    text = (EXAMPLE / "bod.yaml").read_text(encoding="utf-8")
    path = tmp_path / "dir.yaml"
    path.write_text(
        text.replace("{method: bod}", f"{{method: bod_directional, direction: {direction}}}"),
        encoding="utf-8",
    )
    result = _run(path, NUTS)
    ref = pl.read_csv(REF / "nuts1_ci_bod_dir.csv")
    got = result.frame.join(ref, on="NUTS1", maintain_order="left")
    assert (got["index"] - got[column]).abs().max() < LP_TOL
    assert result.detail is not None and result.detail.height == 0  # no weights


def _order_m_by_enumeration(y: np.ndarray, m: int) -> list[float]:
    """1 / E[max over m peers drawn with replacement of min_j y_kj / y_ij], every draw
    enumerated (the definition, no closed form)."""
    n = y.shape[0]
    out = []
    for i in range(n):
        bounded = y[i] > 0
        v = [min(y[k, j] / y[i, j] for j in range(y.shape[1]) if bounded[j]) for k in range(n)]
        draws = list(itertools.product(range(n), repeat=m))
        out.append(1 / (sum(max(v[k] for k in d) for d in draws) / len(draws)))
    return out


def test_robust_bod_is_the_exact_order_m_expectation(tmp_path: Path) -> None:
    rows = [("a", 0.2, 0.9), ("b", 0.6, 0.4), ("c", 1.0, 0.0), ("d", 0.5, 0.5), ("e", 0.1, 0.2)]
    data = tmp_path / "d.csv"
    pl.DataFrame(rows, schema=["NUTS1", "roads", "trains"], orient="row").write_csv(data)
    text = (EXAMPLE / "bod.yaml").read_text(encoding="utf-8").replace("  labels: [NUTS_CODE]\n", "")
    path = tmp_path / "robust.yaml"
    path.write_text(
        text.replace(
            "default: {method: min_max, range: [0, 1]}", "default: {method: none}"
        ).replace("{method: bod}", "{method: bod_robust, m: 3}"),
        encoding="utf-8",
    )
    got = _run(path, data).frame["index"].to_list()
    y = np.array([[r[1], r[2]] for r in rows])
    assert got == pytest.approx(_order_m_by_enumeration(y, 3), rel=1e-12)


@pytest.mark.parametrize(
    ("column", "m", "draws"),
    [
        ("ci_rbod_seed123_M25_B5000", 25, 5000),
        ("ci_rbod_seed123_M25_B500_ordermdefaults", 25, 500),
        ("ci_rbod_seed123_Momitted_B500", None, 500),
        ("ci_rbod_seed123_M10_B20", 10, 20),
    ],
)
def test_robust_bod_agrees_with_compind_within_its_monte_carlo_error(
    tmp_path: Path, column: str, m: int | None, draws: int
) -> None:
    text = (EXAMPLE / "bod.yaml").read_text(encoding="utf-8")
    method = "{method: bod_robust" + (f", m: {m}" if m else "") + "}"
    path = tmp_path / "robust.yaml"
    path.write_text(text.replace("{method: bod}", method), encoding="utf-8")
    result = _run(path, NUTS)
    ref = pl.read_csv(REF / "nuts1_ci_rbod.csv")
    got = result.frame.join(ref, on="NUTS1", maintain_order="left")
    # Compind's score is 1 / mean of B draws of the maximum: its standard error, by the
    # delta method, is sd(max) / sqrt(B) / E^2, with the moments of the maximum exact
    y = _normalised_nuts()
    n, peers = y.shape[0], m or y.shape[0]
    p = np.diff((np.arange(n + 1) / n) ** peers)
    for i, row in enumerate(got.iter_rows(named=True)):
        if np.isnan(row[column]):  # Compind gives NaN where it divides 0 by 0 (Bremen, Sur)
            assert row["NUTS1"] in ("Bremen", "Sur (ES)")
            continue
        v = np.sort(np.min(y[:, y[i] > 0] / y[i, y[i] > 0], axis=1))
        mean, second = v @ p, (v**2) @ p
        se = np.sqrt(second - mean**2) / np.sqrt(draws) / mean**2
        assert abs(row["index"] - 1 / mean) < 1e-12
        assert abs(row[column] - row["index"]) <= 4.5 * se, row["NUTS1"]


def _validate(tmp_path: Path, aggregation: str, weights: str = "") -> MethodologyError:
    text = (EXAMPLE / "bod.yaml").read_text(encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(
        text.replace("aggregation: {method: bod}", f"aggregation: {aggregation}{weights}"),
        encoding="utf-8",
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(path)
    return err.value


@pytest.mark.parametrize(
    ("aggregation", "message"),
    [
        ("{method: bod, min_share: 0.6, max_share: 0.5}", "min_share 0.6 is above max_share 0.5"),
        ("{method: bod, min_share: 0.6}", "2 shares between 0.6 and 1 cannot add up to 1"),
        ("{method: bod_directional, direction: [1]}", "direction has 1 values for 2 members"),
        ("{method: bod_directional, direction: [0, 0]}", "the direction has no positive value"),
        ("{method: bod}\n    weights: {road: 2, rail: 1}", "bod aggregation uses equal weights"),
    ],
)
def test_bad_bod_settings_are_refused_before_data_is_read(
    tmp_path: Path, aggregation: str, message: str
) -> None:
    err = _validate(tmp_path, aggregation)
    assert any(message in d.message for d in err.diagnostics), err.render()


def test_bod_is_a_procedure_only_the_polars_backend_runs() -> None:
    m = api.validate(EXAMPLE / "bod.yaml").methodology
    assert catalogue.backend_problems(m, "polars") == []
    problems = catalogue.backend_problems(m, "sql")
    assert [p.code for p in problems] == [Code.UNKNOWN_METHOD]
    assert "cannot run on the sql engine" in problems[0].message


def test_a_unit_with_a_missing_member_has_no_score_and_is_no_peer(tmp_path: Path) -> None:
    frame = pl.read_csv(NUTS)
    gap = tmp_path / "gap.csv"
    frame.with_columns(
        pl.when(pl.col("NUTS1") == "Berlin").then(None).otherwise(pl.col("trains")).alias("trains")
    ).write_csv(gap)
    without = tmp_path / "without.csv"
    frame.filter(pl.col("NUTS1") != "Berlin").write_csv(without)
    a = api.run(EXAMPLE / "bod.yaml", [gap]).frame.filter(pl.col("NUTS1") != "Berlin")
    b = api.run(EXAMPLE / "bod.yaml", [without]).frame
    assert a["index"].to_list() == pytest.approx(b["index"].to_list(), rel=1e-12)
    got = api.run(EXAMPLE / "bod.yaml", [gap]).frame.filter(pl.col("NUTS1") == "Berlin")
    assert got["index"].to_list() == [None]


def test_a_negative_member_is_a_data_error(tmp_path: Path) -> None:
    text = (EXAMPLE / "bod.yaml").read_text(encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(
        text.replace("default: {method: min_max, range: [0, 1]}", "default: {method: z_score}"),
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        api.run(path, [NUTS])
    assert err.value.diagnostics[0].code == Code.DOMAIN
    assert "a member is negative for" in err.value.diagnostics[0].message


def test_explain_shows_the_units_own_weights() -> None:
    from engine.analysis.explain import explain

    e = explain(str(EXAMPLE / "bod.yaml"), [NUTS], "Bayern")
    step = e.step("CI")
    assert step.symbolic == "CI.bod.road * road.norm + CI.bod.rail * rail.norm"
    ref = pl.read_csv(REF / "nuts1_ci_bod.csv").filter(pl.col("NUTS1") == "Bayern")
    assert step.value == pytest.approx(ref["ci_bod"][0], abs=LP_TOL)


def test_sensitivity_analysis_refuses_bod(tmp_path: Path) -> None:
    text = (EXAMPLE / "bod.yaml").read_text(encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(
        text + "uncertainty: {replications: 10, weights: {perturb: 0.2}}\n", encoding="utf-8"
    )
    with pytest.raises(MethodologyError) as err:
        api.sensitivity(path, [NUTS])
    assert "benefit of the doubt" in err.value.render()


def test_the_cli_writes_the_weights_as_the_detail_output(tmp_path: Path) -> None:
    import subprocess
    import sys

    out, weights = tmp_path / "out.csv", tmp_path / "weights.csv"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "indexlab"), "run", str(EXAMPLE / "bod.yaml"),
         str(NUTS), "-q", "-o", str(out), "--detail-output", str(weights)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    w = pl.read_csv(weights)
    assert w.height == 68 and set(w["member"]) == {"road", "rail"}
    assert pl.read_csv(out)["index"].max() == pytest.approx(1.0, abs=1e-12)


matrices = st.integers(2, 6).flatmap(
    lambda m: st.lists(
        # subnormal values excluded: a weight of 1 / 5e-324 overflows (the scores stay right)
        st.lists(st.floats(0, 100, allow_subnormal=False), min_size=m, max_size=m),
        min_size=2,
        max_size=12,
    )
)


@settings(max_examples=40, deadline=None)
@given(matrices, st.floats(0.1, 1000))
def test_bod_properties(rows: list[list[float]], factor: float) -> None:
    """Scores lie in [0, 1]; a unit on the frontier scores 1 unless every value is 0; the
    weights attain the score and keep every unit at most 1; scaling one member changes no
    score (constant returns: the weights absorb units of measurement)."""
    y = np.array(rows)
    solution = bod_solve.benefit_of_the_doubt(y)
    assert np.all(solution.score >= 0) and np.all(solution.score <= 1 + 1e-9)
    if y.any():
        assert solution.score.max() == pytest.approx(1.0, abs=1e-9)
    for i in range(len(y)):
        assert float(y[i] @ solution.weights[i]) == pytest.approx(solution.score[i], abs=1e-9)
        assert (y @ solution.weights[i]).max() <= 1 + 1e-9
    scaled = y.copy()
    scaled[:, 0] *= factor
    again = bod_solve.benefit_of_the_doubt(scaled)
    assert again.score == pytest.approx(solution.score, abs=1e-7)


@pytest.mark.parametrize("unit", [1.0, 1e-10, 1e-200, 1e150])
def test_bod_scores_do_not_depend_on_a_members_unit_of_measurement(unit: float) -> None:
    """HiGHS drops matrix entries below 1e-9: a member in small units (1e-10) read as 0 and
    its frontier unit scored 0. Solved on each member's values over its maximum, the scores
    are those of the same data in unit 1 (by hand: units 1 and 2 are on the frontier; unit
    3 = (0.5, 0.5) is best at the vertex w = (2/3, 2/3), where both constraints
    w1 + w2 / 2 <= 1 and w1 / 2 + w2 <= 1 bind: 0.5 * 4/3 = 2/3)."""
    y = np.array([[1.0, 0.5], [0.5, 1.0], [0.5, 0.5]])
    y[:, 1] *= unit
    solution = bod_solve.benefit_of_the_doubt(y)
    assert solution.score == pytest.approx([1.0, 1.0, 2 / 3], rel=1e-12)
    for i in range(3):
        assert float(y[i] @ solution.weights[i]) == pytest.approx(solution.score[i], rel=1e-9)
