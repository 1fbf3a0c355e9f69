"""The method catalogue: each template compiled and run against its formula written by hand.

Expected values come from plain Python (``statistics``, ``math``) on the same numbers;
the data errors are checked through the whole API on a small YAML methodology.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
import sympy

from engine import api
from engine.backends.polars.compile import Context, to_polars
from engine.diagnostics import Code, DataError, MethodologyError
from engine.methods import catalogue
from engine.methods.normalise_context import NormaliseContext
from tests.undefined import reported

# two periods; 2014 has a tie at the top and a different spread
UNITS = ["a", "b", "c", "d", "a", "b", "c", "d"]
YEARS = [2010, 2010, 2010, 2010, 2014, 2014, 2014, 2014]
V = [2.0, 5.0, 1.0, 4.0, 7.0, 3.0, 7.0, 0.5]
FRAME = pl.DataFrame({"u": UNITS, "year": YEARS, "v": V})


def normalise(
    method: str,
    params: dict,
    lower: bool = False,
    frame: pl.DataFrame = FRAME,
    keys: tuple[str, ...] = ("year",),
) -> list[float]:
    declared = catalogue.normalisation(method)
    assert declared.template is not None
    template = declared.template(NormaliseContext(declared.with_defaults(params), keys, lower))
    ctx = Context({"x": "v"}, "u", "year")
    return frame.with_columns(to_polars(template, ctx).alias("out"))["out"].to_list()


def per_year(frame: pl.DataFrame = FRAME) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for y, v in zip(frame["year"], frame["v"]):
        out.setdefault(y, []).append(v)
    return out


def close(got: Sequence[float], want: Sequence[float], rel: float = 1e-12) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert math.isclose(g, w, rel_tol=rel, abs_tol=1e-12), (list(got), list(want))


G = per_year()
ROWS = list(zip(FRAME["year"], FRAME["v"]))


# -- leader share ------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [100, 1, 10])
def test_leader_share_higher(scale: int) -> None:
    got = normalise("leader_share", {"scale": scale})
    close(got, [v / max(G[y]) * scale for y, v in ROWS])
    # the leader (and every unit tied with it) gets exactly the scale
    assert [g for g, (y, v) in zip(got, ROWS) if v == max(G[y])] == [scale] * 3


def test_leader_share_default_scale_is_100() -> None:
    close(normalise("leader_share", {}), [v / max(G[y]) * 100 for y, v in ROWS])


def test_leader_share_lower_min_over_x() -> None:
    got = normalise("leader_share", {"cost": "min_over_x"}, lower=True)
    close(got, [min(G[y]) / v * 100 for y, v in ROWS])


def test_leader_share_lower_one_minus_share() -> None:
    got = normalise("leader_share", {"cost": "one_minus_share", "scale": 10}, lower=True)
    close(got, [(1 - v / max(G[y])) * 10 for y, v in ROWS])


def test_leader_share_pooled() -> None:
    got = normalise("leader_share", {}, keys=())
    close(got, [v / max(V) * 100 for v in V])


@pytest.mark.parametrize("cost", ["min_over_x", "one_minus_share"])
def test_leader_share_lower_is_not_x_over_min_the_coinr_trap(cost: str) -> None:
    # worked example: x = (1, 2, 4), lower is better, so the unit with 1 is the best
    frame = pl.DataFrame({"u": ["best", "mid", "worst"], "year": [1, 1, 1], "v": [1.0, 2.0, 4.0]})
    got = normalise("leader_share", {"cost": cost}, lower=True, frame=frame)
    by_hand = {"min_over_x": [100.0, 50.0, 25.0], "one_minus_share": [75.0, 50.0, 0.0]}[cost]
    assert got == by_hand
    assert got.index(max(got)) == 0  # the best unit gets the top score
    assert got[0] > got[1] > got[2]
    # COINr's n_fracmax with direction -1 divides -x by max(-x) = -1, i.e. x / min(x):
    trap = [x / 1.0 * 100 for x in (1.0, 2.0, 4.0)]
    assert got != trap
    assert got.index(max(got)) != trap.index(max(trap))


# -- min-max ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rng", [None, [0, 100], [1, 7], [-1, 1], [0.5, 2.5]])
@pytest.mark.parametrize("lower", [False, True])
def test_min_max(rng: list[float] | None, lower: bool) -> None:
    params = {} if rng is None else {"range": rng}
    lo, hi = (0, 100) if rng is None else rng
    got = normalise("min_max", params, lower=lower)

    def hand(y: int, v: float) -> float:
        mn, mx = min(G[y]), max(G[y])
        top = (mx - v) if lower else (v - mn)
        return top / (mx - mn) * (hi - lo) + lo

    close(got, [hand(y, v) for y, v in ROWS])
    for y in G:
        scores = [g for g, (yy, _) in zip(got, ROWS) if yy == y]
        assert min(scores) == pytest.approx(lo, abs=1e-12) and max(scores) == pytest.approx(
            hi, abs=1e-12
        )
    best = [g for g, (y, v) in zip(got, ROWS) if v == (min(G[y]) if lower else max(G[y]))]
    assert best == pytest.approx([hi] * len(best))


# -- z-score ---------------------------------------------------------------------------------


def test_z_score_default_is_sample_sd() -> None:
    got = normalise("z_score", {})
    close(got, [(v - statistics.fmean(G[y])) / statistics.stdev(G[y]) for y, v in ROWS])
    # and it is not the population SD
    pop = [(v - statistics.fmean(G[y])) / statistics.pstdev(G[y]) for y, v in ROWS]
    assert not all(math.isclose(g, p) for g, p in zip(got, pop))


def test_z_score_population_sd() -> None:
    got = normalise("z_score", {"ddof": 0})
    close(got, [(v - statistics.fmean(G[y])) / statistics.pstdev(G[y]) for y, v in ROWS])


@pytest.mark.parametrize("lower", [False, True])
def test_z_score_targets_and_reversal(lower: bool) -> None:
    got = normalise("z_score", {"mean": 100, "sd": 10}, lower=lower)
    sign = -1 if lower else 1
    close(
        got,
        [sign * (v - statistics.fmean(G[y])) / statistics.stdev(G[y]) * 10 + 100 for y, v in ROWS],
    )
    for y in G:
        scores = [g for g, (yy, _) in zip(got, ROWS) if yy == y]
        assert statistics.fmean(scores) == pytest.approx(100)
        assert statistics.stdev(scores) == pytest.approx(10)


def test_none_is_identity() -> None:
    assert normalise("none", {}) == V


# -- aggregation -------------------------------------------------------------------------------

MEMBERS = {"p": [10.0, 20.0, 55.5], "q": [40.0, 5.0, 55.5], "r": [90.0, 2.5, 1.0]}


def aggregate(expr: sympy.Basic) -> list[float]:
    frame = pl.DataFrame({"u": ["a", "b", "c"], "year": [1, 1, 1], **MEMBERS})
    return frame.with_columns(to_polars(expr, Context({}, "u", "year")).alias("out"))[
        "out"
    ].to_list()


WEIGHTS = [
    [1, 1, 1],
    [2, 1, 1],
    [sympy.Rational(1, 2), sympy.Rational(1, 4), sympy.Rational(1, 4)],
    [3, 0, 1],
    [sympy.Rational(7, 10), sympy.Rational(2, 10), sympy.Rational(1, 10)],
]


@pytest.mark.parametrize("weights", WEIGHTS, ids=[str(w) for w in WEIGHTS])
def test_weighted_arithmetic(weights: list) -> None:
    ws = [sympy.Integer(w) if isinstance(w, int) else w for w in weights]
    got = aggregate(catalogue.aggregate("arithmetic", ["p", "q", "r"], ws))
    fw = [float(w) for w in ws]
    want = [sum(w * MEMBERS[m][i] for w, m in zip(fw, "pqr")) / sum(fw) for i in range(3)]
    close(got, want)


@pytest.mark.parametrize("weights", WEIGHTS, ids=[str(w) for w in WEIGHTS])
def test_weighted_geometric(weights: list) -> None:
    ws = [sympy.Integer(w) if isinstance(w, int) else w for w in weights]
    got = aggregate(catalogue.aggregate("geometric", ["p", "q", "r"], ws))
    fw = [float(w) for w in ws]
    total = sum(fw)
    want = [math.prod(MEMBERS[m][i] ** (w / total) for w, m in zip(fw, "pqr")) for i in range(3)]
    close(got, want, rel=1e-12)


def test_geometric_mean_is_at_most_arithmetic() -> None:
    ws = [sympy.Integer(1)] * 3
    geo = aggregate(catalogue.aggregate("geometric", ["p", "q", "r"], ws))
    ari = aggregate(catalogue.aggregate("arithmetic", ["p", "q", "r"], ws))
    assert all(g <= a for g, a in zip(geo, ari))
    assert geo[2] < ari[2]


def test_single_member_group_is_the_member() -> None:
    assert aggregate(catalogue.aggregate("arithmetic", ["p"], [sympy.Integer(3)])) == MEMBERS["p"]
    close(aggregate(catalogue.aggregate("geometric", ["p"], [sympy.Integer(1)])), MEMBERS["p"])


# -- through the API: data errors ------------------------------------------------------------------


def write(tmp_path: Path, yaml_text: str, csv_text: str) -> tuple[Path, Path]:
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(yaml_text, encoding="utf-8")
    d.write_text(csv_text, encoding="utf-8")
    return m, d


def methodology(
    normalisation: str, aggregation: str = "arithmetic", direction: str = "higher"
) -> str:
    return f"""\
indexlab: 1
id: unit-test
title: unit test
data: {{unit: region, period: year}}
inputs:
  a: {{}}
  b: {{}}
indicators:
  A: {{formula: a, direction: {direction}}}
  B: {{formula: b}}
normalisation:
  default: {normalisation}
groups:
  G: {{members: [A, B], aggregation: {{method: {aggregation}}}}}
index: {{group: G}}
"""


def data_error(tmp_path: Path, yaml_text: str, csv_text: str) -> DataError:
    """The undefined values reported by the run (as warnings, the values missing), and
    the same raised when the methodology says ``undefined: error``."""
    m, d = write(tmp_path, yaml_text, csv_text)
    found = reported(api.run(m, [d]))
    m.write_text(yaml_text + "\nundefined: error\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        api.run(m, [d])
    assert [p.message for p in info.value.diagnostics] == [p.message for p in found.diagnostics]
    return info.value


CSV = "region,year,a,b\nNorth,2010,1,2\nSouth,2010,3,4\nEast,2010,2,6\nNorth,2014,2,1\nSouth,2014,5,3\nEast,2014,4,2\n"


def test_api_run_matches_hand_computation(tmp_path: Path) -> None:
    m, d = write(tmp_path, methodology("{method: leader_share, scale: 100}"), CSV)
    frame = api.run(m, [d]).frame.sort("year", "region")
    rows = [r.split(",") for r in CSV.strip().splitlines()[1:]]
    want = {}
    for region, year, a, b in rows:
        ys = [r for r in rows if r[1] == year]
        sa = float(a) / max(float(r[2]) for r in ys) * 100
        sb = float(b) / max(float(r[3]) for r in ys) * 100
        want[(region, int(year))] = (sa + sb) / 2
    for r in frame.iter_rows(named=True):
        assert r["index"] == pytest.approx(want[(r["region"], r["year"])], rel=1e-12)


def test_api_coinr_trap_worked_example(tmp_path: Path) -> None:
    yaml_text = methodology("{method: leader_share, cost: min_over_x}", direction="lower")
    m, d = write(tmp_path, yaml_text, "region,year,a,b\nbest,1,1,1\nmid,1,2,1\nworst,1,4,1\n")
    frame = api.run(m, [d]).frame
    scores = dict(zip(frame["region"], frame["A.norm"]))
    assert scores == {"best": 100.0, "mid": 50.0, "worst": 25.0}


def test_api_leader_share_lower_without_cost_rule_is_rejected(tmp_path: Path) -> None:
    m, _ = write(tmp_path, methodology("{method: leader_share}", direction="lower"), CSV)
    with pytest.raises(MethodologyError) as info:
        api.validate(m)
    assert any(p.code == Code.UNKNOWN_METHOD for p in info.value.diagnostics)


def test_geometric_mean_with_a_zero_member_is_a_domain_error_naming_the_unit(
    tmp_path: Path,
) -> None:
    csv = "region,year,a,b\nNorth,2010,1,2\nSouth,2010,0,4\nEast,2010,2,6\n"
    err = data_error(tmp_path, methodology("{method: none}", aggregation="geometric"), csv)
    codes = [p.code for p in err.diagnostics]
    assert Code.DOMAIN in codes, err.render()
    domain = next(p for p in err.diagnostics if p.code == Code.DOMAIN)
    assert "South" in domain.message
    assert "North" not in domain.message and "East" not in domain.message


def test_min_max_with_zero_range_is_division_by_zero(tmp_path: Path) -> None:
    # a is 3 for every region in 2014: max - min = 0
    csv = "region,year,a,b\nNorth,2010,1,2\nSouth,2010,3,4\nNorth,2014,3,1\nSouth,2014,3,5\n"
    err = data_error(tmp_path, methodology("{method: min_max}"), csv)
    assert next(p.code for p in err.diagnostics) == Code.DIVISION_BY_ZERO, err.render()
    assert "2014" in err.diagnostics[0].message


def test_leader_share_with_zero_max_is_division_by_zero(tmp_path: Path) -> None:
    csv = "region,year,a,b\nNorth,2010,0,2\nSouth,2010,0,4\nNorth,2014,1,1\nSouth,2014,3,5\n"
    err = data_error(tmp_path, methodology("{method: leader_share}"), csv)
    assert err.diagnostics[0].code == Code.DIVISION_BY_ZERO, err.render()
    assert "2010" in err.diagnostics[0].message and "2014" not in err.diagnostics[0].message


def test_z_score_with_zero_sd_is_division_by_zero(tmp_path: Path) -> None:
    csv = "region,year,a,b\nNorth,2010,2,2\nSouth,2010,2,4\nEast,2010,2,5\n"
    err = data_error(tmp_path, methodology("{method: z_score}"), csv)
    assert err.diagnostics[0].code == Code.DIVISION_BY_ZERO, err.render()
