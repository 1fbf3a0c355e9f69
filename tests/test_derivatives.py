"""Analytic sensitivities (engine.analysis.derivatives) against independent computations on the
paper's methodology and data.

* d index / d weight: central finite differences of re-runs with the weight changed by
  ±h in a rewritten YAML;
* d index / d normalised indicator: central finite differences of re-runs of the same
  hierarchy with normalisation ``none`` on the nominal normalised values, one column
  shifted by ±h (each unit's index reads only its own row, so all units move at once);
* tipping points: a re-run at the proposed weight puts the two units level or the unit on
  the class bound, and a closed form written here from the group sums (not from the
  derivatives) over every single-weight change finds no smaller admissible change.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from engine import api
from engine.analysis import derivatives as dv

ROOT = Path(__file__).resolve().parents[1]
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
TOPSIS = ROOT / "methodologies" / "kireeva-topsis.yaml"
KZ = ROOT / "examples" / "kazakhstan" / "regions.csv"
GROUPS = {"RIS": ["SD", "SE", "SF"], "RIA": ["SA", "SB", "SC"]}
KEYS = ["region", "year"]


@pytest.fixture(scope="module")
def nominal() -> api.RunResult:
    return api.run(KIREEVA, [KZ])


@pytest.fixture(scope="module")
def analytic(nominal: api.RunResult) -> dv.Analytic:
    return dv.analyse(nominal.methodology, nominal.frame)


def kireeva_doc() -> dict[str, Any]:
    return yaml.safe_load(KIREEVA.read_text(encoding="utf-8"))


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    doc = json.loads(json.dumps(doc))  # no shared objects, so no YAML anchors
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def with_weights(weights: dict[str, dict[str, float]]) -> dict[str, Any]:
    doc = kireeva_doc()
    for g, ws in weights.items():
        doc["groups"][g]["weights"] = ws
    return doc


def nominal_weights() -> dict[str, dict[str, float]]:
    return {g: {m: 1.0 for m in members} for g, members in GROUPS.items()}


def indices(frame: pl.DataFrame) -> dict[tuple[str, int], float]:
    return {(r["region"], r["year"]): r["index"] for r in frame.iter_rows(named=True)}


def derivative_table(analytic: dv.Analytic) -> dict[tuple[str, int, str], float]:
    return {
        (r["region"], r["year"], r["variable"]): r["derivative"]
        for r in analytic.derivatives.iter_rows(named=True)
    }


def test_derivative_table_shape(nominal: api.RunResult, analytic: dv.Analytic) -> None:
    d = analytic.derivatives
    assert analytic.note == ""
    assert set(d.columns) >= {"region", "year", "variable", "kind", "derivative"}
    variables = {f"w.{g}.{m}": "weight" for g, ms in GROUPS.items() for m in ms}
    variables |= {f"{m}.norm": "indicator" for ms in GROUPS.values() for m in ms}
    assert dict(zip(d["variable"], d["kind"])) == variables
    assert d.height == nominal.frame.height * len(variables)
    assert d["derivative"].null_count() == 0


def test_weight_derivatives_equal_central_differences(
    tmp_path: Path, nominal: api.RunResult, analytic: dv.Analytic
) -> None:
    h = 1e-4
    table = derivative_table(analytic)
    worst = 0.0
    for g, members in GROUPS.items():
        for m in members:
            runs = []
            for sign in (1, -1):
                ws = nominal_weights()
                ws[g][m] = 1.0 + sign * h
                path = write_doc(tmp_path / f"w_{g}_{m}_{sign}.yaml", with_weights(ws))
                runs.append(indices(api.run(path, [KZ]).frame))
            plus, minus = runs
            for key in plus:
                fd = (plus[key] - minus[key]) / (2 * h)
                got = table[(*key, f"w.{g}.{m}")]
                # truncation h^2/6 f''' ~ 1e-9 |f'| and rounding 1e-16 * 100 / h ~ 1e-10
                assert got == pytest.approx(fd, rel=1e-6, abs=1e-7), (key, g, m, got, fd)
                worst = max(worst, abs(got - fd) / max(abs(fd), 1e-3))
    assert worst < 1e-6


def test_weight_derivative_closed_form(nominal: api.RunResult, analytic: dv.Analytic) -> None:
    """d/dw_k [sum(w y) / sum(w)] / 2 = (y_k - mean of the group) / (2 W)."""
    table = derivative_table(analytic)
    for r in nominal.frame.iter_rows(named=True):
        for g, members in GROUPS.items():
            mean = sum(r[f"{m}.norm"] for m in members) / 3
            assert math.isclose(mean, r[g], rel_tol=1e-12)
            for m in members:
                want = (r[f"{m}.norm"] - mean) / 3 / 2
                assert table[(r["region"], r["year"], f"w.{g}.{m}")] == pytest.approx(
                    want, rel=1e-12, abs=1e-13
                )


def test_indicator_derivatives_equal_central_differences(
    tmp_path: Path, nominal: api.RunResult, analytic: dv.Analytic
) -> None:
    """Re-run the hierarchy with normalisation `none` on the nominal normalised values."""
    members = [m for ms in GROUPS.values() for m in ms]
    base = nominal.frame.select(
        *KEYS, *[pl.col(f"{m}.norm").alias(f"{m.lower()}_n") for m in members]
    )
    doc = kireeva_doc()
    for key in ("derived", "checks", "screening"):
        doc.pop(key, None)
    doc["data"] = {"unit": "region", "period": "year"}
    doc["inputs"] = {f"{m.lower()}_n": {} for m in members}
    doc["indicators"] = {m: {"formula": f"{m.lower()}_n"} for m in members}
    doc["normalisation"] = {"default": {"method": "none"}}
    path = write_doc(tmp_path / "none.yaml", doc)
    data = tmp_path / "normalised.parquet"
    base.write_parquet(data)
    assert indices(api.run(path, [data]).frame) == pytest.approx(indices(nominal.frame), rel=1e-12)
    table = derivative_table(analytic)
    h = 1e-3
    for m in members:
        runs = []
        for sign in (1, -1):
            shifted = base.with_columns(pl.col(f"{m.lower()}_n") + sign * h)
            p = tmp_path / f"{m}_{sign}.parquet"
            shifted.write_parquet(p)
            runs.append(indices(api.run(path, [p]).frame))
        for key in runs[0]:
            fd = (runs[0][key] - runs[1][key]) / (2 * h)
            assert table[(*key, f"{m}.norm")] == pytest.approx(fd, rel=1e-6), (key, m)
            assert fd == pytest.approx(1 / 6, rel=1e-6)  # equal weights: 1/3 within, 1/2 between


# --------------------------------------------------------------------------- tipping points


def independent_events(
    frame: pl.DataFrame, bands: list[tuple[str, float, float]]
) -> dict[tuple[str, int, str], tuple[float, str, str] | None]:
    """Every event the engine considers, solved here in closed form for each single-weight
    change d: the changed group is (S + d x_k) / (W + d), the other group and the index
    formula (RIS + RIA) / 2 unchanged. Returns the smallest admissible |d| per event."""
    out: dict[tuple[str, int, str], tuple[float, str, str] | None] = {}
    for (year,), part in frame.sort("index", descending=True).group_by("year", maintain_order=True):
        rows = part.to_dicts()
        for pos, a in enumerate(rows):
            events: list[tuple[str, Any]] = []
            if pos + 1 < len(rows):
                b = rows[pos + 1]
                events.append((f"swaps with {b['region']}", ("swap", b)))
            band = next((bd for bd in bands if bd[1] <= a["index"] < bd[2]), None)
            if band is not None:
                events.append((f"drops below {band[0]} ({band[1]:g})", ("bound", band[1])))
                events.append((f"reaches {band[2]:g} (next class up)", ("bound", band[2])))
            for label, (kind, other) in events:
                best = None
                for g, members in GROUPS.items():
                    rest = next(x for x in GROUPS if x != g)
                    W = float(len(members))
                    for k in members:

                        def parts(
                            r: dict[str, Any],
                            members: list[str] = members,
                            k: str = k,
                            rest: str = rest,
                        ) -> tuple[float, float, float]:
                            return sum(r[f"{m}.norm"] for m in members), r[f"{k}.norm"], r[rest]

                        S, x, Oth = parts(a)
                        if kind == "swap":
                            Sb, xb, Ob = parts(other)
                            # (S - Sb) + d (x - xb) + (W + d)(O - Ob) = 0
                            num, den = (S - Sb) + W * (Oth - Ob), (x - xb) + (Oth - Ob)
                        else:
                            # (S + d x) / (W + d) + O = 2 c
                            num, den = S + W * (Oth - 2 * other), x + Oth - 2 * other
                        if den == 0:
                            continue
                        d = -num / den
                        if 1.0 + d < 0 or W + d <= 0:
                            continue
                        if best is None or abs(d) < abs(best[0]):
                            best = (d, g, k)
                out[(a["region"], year, label)] = best
    return out


def kireeva_bands(nominal: api.RunResult) -> list[tuple[str, float, float]]:
    return [(b.label, b.lower, b.upper) for b in nominal.methodology.classes.bands]


def test_tipping_changes_are_the_smallest_single_weight_changes(
    nominal: api.RunResult, analytic: dv.Analytic
) -> None:
    tipping = analytic.tipping
    assert tipping.height > 0
    want = independent_events(nominal.frame, kireeva_bands(nominal))
    got = {(r["region"], r["year"], r["event"]): r for r in tipping.iter_rows(named=True)}
    # the same events, and an event is listed exactly when some admissible change exists
    assert set(got) == {k for k, v in want.items() if v is not None}
    for key, r in got.items():
        d, g, k = want[key]  # type: ignore[misc]
        assert r["change"] == pytest.approx(d, rel=1e-9, abs=1e-12), (key, r, d)
        assert (r["group"], r["weight"]) == (g, k), (key, r, g, k)
        assert r["nominal_weight"] == 1.0
        assert r["new_weight"] == pytest.approx(1.0 + d, rel=1e-12) and r["new_weight"] >= 0


def target_of(event: str, nominal: api.RunResult) -> tuple[str, Any]:
    if m := re.fullmatch(r"swaps with (.+)", event):
        return "swap", m.group(1)
    if m := re.fullmatch(r"drops below (.+) \(([-0-9.e+]+)\)", event):
        return "bound", float(m.group(2))
    if m := re.fullmatch(r"reaches ([-0-9.e+]+) \(next class up\)", event):
        return "bound", float(m.group(1))
    raise AssertionError(event)


def test_tipping_points_hold_when_rerun(
    tmp_path: Path, nominal: api.RunResult, analytic: dv.Analytic
) -> None:
    rows = analytic.tipping.to_dicts()
    picked: list[dict[str, Any]] = []
    for prefix in ("swaps", "drops", "reaches"):
        picked += [r for r in rows if r["event"].startswith(prefix)][:4]
    picked += [r for r in rows if r["region"] == "Almaty"]
    assert len(picked) >= 12
    for n, r in enumerate(picked):
        ws = nominal_weights()
        ws[r["group"]][r["weight"]] = r["new_weight"]
        frame = api.run(write_doc(tmp_path / f"tip{n}.yaml", with_weights(ws)), [KZ]).frame
        idx = indices(frame)
        kind, target = target_of(r["event"], nominal)
        mine = idx[(r["region"], r["year"])]
        if kind == "swap":
            assert mine == pytest.approx(idx[(target, r["year"])], abs=1e-9), r
        else:
            assert mine == pytest.approx(target, abs=1e-9), r
        # and the change is a real one: the nominal run is not already at the event
        before = indices(nominal.frame)[(r["region"], r["year"])]
        other = indices(nominal.frame)[(target, r["year"])] if kind == "swap" else target
        assert abs(before - other) > 1e-6


def test_topsis_has_no_derivatives_and_says_why() -> None:
    result = api.run(TOPSIS, [KZ])
    a = dv.analyse(result.methodology, result.frame)
    assert a.derivatives.height == 0 and a.tipping.height == 0
    assert "other units" in a.note
