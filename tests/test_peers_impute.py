"""Imputation against COINr 1.1.14 and the EM algorithm's definition.

* imputation (and treatment) of an indicator that is not normalised (issue 17 item 2: the
  run stopped with "A.imputed not found");
* ``row_mean``: COINr's ``Impute(impute_by = "row", group_level = 2)`` on the raw ASEM data,
  with and without ``normalise_first`` (tests/data/peers/coinr, see the README there);
* ``constant`` / ``linear`` / ``locf``: COINr's ``impute_panel`` on ASEM's 2018-2022 panel with
  cells removed in a fixed pattern (``panel_holes.csv``, R script beside it);
* ``em``: the maximum-likelihood estimates of a multivariate normal from incomplete data
  (Dempster, Laird & Rubin 1977), checked against an EM written here independently, and
  against the closed form for a bivariate monotone pattern (Little & Rubin 2002, §7.2: the
  imputation is then the complete-case least-squares prediction).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine import api
from engine.diagnostics import Code, MethodologyError

ROOT = Path(__file__).resolve().parents[1]
COINR = ROOT / "tests" / "data" / "peers" / "coinr"
ASEM = ROOT / "examples" / "coinr-asem"


# -- item 2: imputing or treating without normalising ---------------------------------------------


def _plain(imputation: dict | None, treatment: dict | None) -> dict:
    m: dict = {
        "indexlab": 1,
        "id": "t",
        "title": "t",
        "data": {"unit": "region"},
        "inputs": {"a": {}, "b": {}},
        "indicators": {"A": {"formula": "a"}, "B": {"formula": "b"}},
        "normalisation": {"default": {"method": "none"}},
    }
    if imputation:
        m["imputation"] = {"default": imputation}
    if treatment:
        m["treatment"] = {"default": treatment}
    return m


def test_imputation_without_normalisation() -> None:
    data = pl.DataFrame({"region": ["N", "S", "E"], "a": [1.0, None, 4.0], "b": [2.0, 3.0, None]})
    result = api.run(_plain({"method": "mean"}, None), data)
    assert result.frame["A.imputed"].to_list() == [1.0, 2.5, 4.0]
    assert result.frame["B.imputed"].to_list() == [2.0, 3.0, 2.5]
    assert result.adjustments is not None and result.adjustments.height == 2


def test_treatment_without_normalisation() -> None:
    a = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 50.0]
    data = pl.DataFrame({"region": [f"r{i}" for i in range(10)], "a": a, "b": a[::-1]})
    result = api.run(_plain(None, {"method": "winsorise_log"}), data)
    assert result.frame["A.treated"].to_list()[-1] == 1.8  # the outlier winsorised
    assert "A.norm" not in result.frame.columns


# -- row_mean ------------------------------------------------------------------------------------


def _asem_meta() -> tuple[dict[str, list[str]], dict[str, int]]:
    children: dict[str, list[str]] = {}
    direction: dict[str, int] = {}
    with (ASEM / "asem_meta.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["Type"] == "Indicator":
                children.setdefault(r["Parent"], []).append(r["iCode"])
                direction[r["iCode"]] = int(r["Direction"])
    return children, direction


def _asem_row_mean(imputation: dict) -> dict:
    children, direction = _asem_meta()
    return {
        "indexlab": 1,
        "id": "asem-row",
        "title": "ASEM, row-wise imputation",
        "data": {"unit": "uCode", "period": "Time"},
        "inputs": {c: {} for c in direction},
        "indicators": {
            f"i_{c}": {"formula": c, "direction": "higher" if d > 0 else "lower"}
            for c, d in direction.items()
        },
        "imputation": {"default": imputation},
        "groups": {p: {"members": [f"i_{c}" for c in cs]} for p, cs in children.items()},
    }


@pytest.mark.parametrize(
    ("normalise", "recorded"),
    [
        (True, "impute_row_mean_grouplevel2_normfirst.csv"),
        (False, "impute_row_mean_grouplevel2_nonorm.csv"),
    ],
)
def test_row_mean_matches_coinr_by_row(normalise: bool, recorded: str) -> None:
    m = _asem_row_mean({"method": "row_mean", "normalise": normalise})
    frame = api.run(m, ASEM / "asem.csv").frame
    with (COINR / recorded).open(encoding="utf-8") as fh:
        coinr = {r["uCode"]: r for r in csv.DictReader(fh)}
    _, direction = _asem_meta()
    worst, imputed = 0.0, 0
    for row in frame.iter_rows(named=True):
        for c in direction:
            want = coinr[row["uCode"]][c]
            got = row[f"i_{c}.imputed"]
            if want in ("", "NA"):
                assert got is None, (row["uCode"], c)
                continue
            worst = max(worst, abs(got - float(want)) / max(1.0, abs(float(want))))
            imputed += row[f"i_{c}"] is None
    assert worst < 1e-12
    assert imputed > 40  # most of ASEM's 64 holes are filled (some units miss a whole pillar)


def test_row_mean_needs_a_group() -> None:
    m = _plain({"method": "row_mean"}, None)
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert err.value.diagnostics[0].code is Code.BAD_ARGUMENTS
    assert "is in no group" in err.value.diagnostics[0].message
    m = _asem_row_mean({"method": "row_mean", "group": "Physicall"})
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert "which does not contain it" in err.value.diagnostics[0].message


# -- panel imputation ------------------------------------------------------------------------------


def _panel(method: str) -> dict:
    with (COINR / "panel_holes.csv").open(encoding="utf-8") as fh:
        columns = next(csv.reader(fh))[2:]
    return {
        "indexlab": 1,
        "id": "panel",
        "title": "panel",
        "data": {"unit": "uCode", "period": "Time"},
        "inputs": {c: {} for c in columns},
        "indicators": {f"i_{c}": {"formula": c} for c in columns},
        "imputation": {"default": {"method": method}},
    }


@pytest.mark.parametrize(
    ("method", "coinr"), [("constant", "constant"), ("linear", "linear"), ("locf", "latest")]
)
def test_panel_imputation_matches_coinr_impute_panel(method: str, coinr: str) -> None:
    result = api.run(_panel(method), COINR / "panel_holes.csv")
    frame = result.frame
    # nothing undefined: a present value is kept as it is (linear: its t0 = t1 is no
    # division by zero of the result)
    assert not [w for w in result.warnings if "imputation" in w.message], result.warnings
    got = {(r["uCode"], r["Time"]): r for r in frame.iter_rows(named=True)}
    with (COINR / f"impute_panel_holes_{coinr}.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    filled = 0
    for r in rows:
        ours = got[(r["uCode"], int(r["Time"]))]
        for c, v in r.items():
            if c in ("uCode", "Time"):
                continue
            value = ours[f"i_{c}.imputed"]
            if v == "":
                assert value is None, (r["uCode"], r["Time"], c)
            else:
                assert value == pytest.approx(float(v), rel=1e-14, abs=1e-12), (r["uCode"], c)
                filled += ours[f"i_{c}"] is None
    assert filled > 100


def test_linear_with_a_single_value_carries_it() -> None:
    # R's approx (COINr) stops on a single value; the engine carries it, as at the ends
    data = pl.DataFrame(
        {
            "uCode": ["A"] * 3 + ["B"] * 3,
            "Time": [2018, 2019, 2020] * 2,
            "LPI": [None, 2.0, None, 1.0, 1.0, 1.0],
        }
    )
    m = _panel("linear")
    m["inputs"], m["indicators"] = {"LPI": {}}, {"i_LPI": {"formula": "LPI"}}
    frame = api.run(m, data).frame.sort("uCode", "Time")
    assert frame["i_LPI.imputed"].to_list()[:3] == [2.0, 2.0, 2.0]


def test_panel_imputation_needs_a_period() -> None:
    with pytest.raises(MethodologyError) as err:
        api.validate(_plain({"method": "linear"}, None))
    assert "needs a period column" in err.value.diagnostics[0].message


# -- EM ---------------------------------------------------------------------------------------


def em_reference(
    x: np.ndarray, tol: float = 1e-13, steps: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """EM for a multivariate normal, written from Little & Rubin (2002, §11.2.1) with the
    sweep-free formulas and explicit inverses, pattern by pattern."""
    x = x[~np.isnan(x).all(axis=1)]
    n, p = x.shape
    mu = np.array([np.mean(col[~np.isnan(col)]) for col in x.T])
    sigma = np.diag([np.var(col[~np.isnan(col)]) for col in x.T])
    patterns = {tuple(~np.isnan(r)) for r in x}
    for _ in range(steps):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for pattern in patterns:
            obs = np.array(pattern)
            rows = x[(~np.isnan(x) == obs).all(axis=1)]
            mis = ~obs
            inv = np.linalg.inv(sigma[obs][:, obs]) if obs.any() else np.zeros((0, 0))
            b = sigma[mis][:, obs] @ inv
            c = sigma[mis][:, mis] - b @ sigma[obs][:, mis]
            for r in rows:
                full = r.copy()
                full[mis] = mu[mis] + b @ (r[obs] - mu[obs])
                t1 += full
                t2 += np.outer(full, full)
                t2[np.ix_(mis, mis)] += c
        new_mu, new_sigma = t1 / n, t2 / n - np.outer(t1 / n, t1 / n)
        scale = max(1.0, abs(new_mu).max(), abs(new_sigma).max())
        done = max(abs(new_mu - mu).max(), abs(new_sigma - sigma).max()) < tol * scale
        mu, sigma = new_mu, new_sigma
        if done:
            break
    return mu, sigma


def _em_methodology(names: list[str], period: bool = False) -> dict:
    return {
        "indexlab": 1,
        "id": "em",
        "title": "em",
        "data": {"unit": "u", **({"period": "t"} if period else {})},
        "inputs": {n: {} for n in names},
        "indicators": {f"I_{n}": {"formula": n} for n in names},
        "imputation": {"default": {"method": "em"}},
        "groups": {"G": {"members": [f"I_{n}" for n in names]}},
    }


def _conditional_means(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    out = x.copy()
    for i, r in enumerate(x):
        mis = np.isnan(r)
        if mis.any() and not mis.all():
            obs = ~mis
            out[i, mis] = mu[mis] + sigma[mis][:, obs] @ np.linalg.inv(sigma[obs][:, obs]) @ (
                r[obs] - mu[obs]
            )
        elif mis.all():
            out[i] = mu
    return out


def test_em_matches_an_independent_implementation() -> None:
    rng = np.random.default_rng(17)
    cov = np.array(
        [[1.0, 0.6, 0.3, 0.1], [0.6, 2.0, 0.4, 0.2], [0.3, 0.4, 1.5, 0.5], [0.1, 0.2, 0.5, 1.0]]
    )
    x = rng.multivariate_normal([10, 20, 30, 40], cov, size=60)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[5] = np.nan  # a unit with no value at all gets the mean
    names = ["a", "b", "c", "d"]
    data = pl.DataFrame(
        {
            "u": [f"u{i}" for i in range(len(x))],
            **{
                n: [None if math.isnan(v) else float(v) for v in x[:, j]]
                for j, n in enumerate(names)
            },
        }
    )
    frame = api.run(_em_methodology(names), data).frame
    mu, sigma = em_reference(x)
    want = _conditional_means(x, mu, sigma)
    got = frame.select([f"I_{n}.imputed" for n in names]).to_numpy().astype(float)
    assert np.abs(got - want).max() < 1e-7
    assert np.abs(got[5] - mu).max() < 1e-7
    assert np.array_equal(got[~np.isnan(x)], x[~np.isnan(x)])  # present values kept


def test_em_bivariate_monotone_is_the_complete_case_regression() -> None:
    # x1 complete, x2 missing for some units: the ML imputation of x2 is the least-squares
    # prediction from the complete cases (Anderson 1957; Little & Rubin 2002, §7.2)
    rng = np.random.default_rng(3)
    x1 = rng.normal(5, 2, size=40)
    x2 = 1.5 + 0.8 * x1 + rng.normal(0, 1, size=40)
    missing = rng.random(40) < 0.3
    x2_obs = np.where(missing, np.nan, x2)
    slope, intercept = np.polyfit(x1[~missing], x2[~missing], 1)
    data = pl.DataFrame(
        {
            "u": [f"u{i}" for i in range(40)],
            "a": x1,
            "b": [None if m else v for m, v in zip(missing, x2)],
        }
    )
    frame = api.run(_em_methodology(["a", "b"]), data).frame
    got = np.array(frame["I_b.imputed"].to_list())
    assert np.abs(got[missing] - (intercept + slope * x1[missing])).max() < 1e-7
    assert np.array_equal(got[~missing], x2_obs[~missing])


def test_em_per_period_and_explained_as_a_regression() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for t in (2020, 2021):
        x = rng.multivariate_normal(
            [1, 2, 3], [[1, 0.5, 0.2], [0.5, 1, 0.3], [0.2, 0.3, 1]], size=25
        )
        x[rng.random(x.shape) < 0.2] = np.nan
        rows.append((t, x))
    data = pl.DataFrame(
        {
            "u": [f"u{i}" for _ in rows for i in range(25)],
            "t": [t for t, x in rows for _ in range(len(x))],
            **{
                n: [None if math.isnan(v) else float(v) for _, x in rows for v in x[:, j]]
                for j, n in enumerate("abc")
            },
        }
    )
    frame = api.run(_em_methodology(["a", "b", "c"], period=True), data).frame
    for t, x in rows:
        mu, sigma = em_reference(x)
        want = _conditional_means(x, mu, sigma)
        got = (
            frame.filter(pl.col("t") == t)
            .select(["I_a.imputed", "I_b.imputed", "I_c.imputed"])
            .to_numpy()
            .astype(float)
        )
        assert np.nanmax(np.abs(got - want)) < 1e-8
