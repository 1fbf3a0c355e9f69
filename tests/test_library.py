"""The method library (issue 4), through the public API only.

Every test writes a small YAML methodology and a small CSV, runs ``engine.api.run`` and
compares output columns with an independent computation written here in plain Python
(loops over the textbook formula; ``fractions``/``decimal`` where exactness matters), and,
where the method comes from a package (COINr, Compind, pymcdm), with that package's
documented behaviour or printed results, cited at the test.

Deliberate deviations from the anchors, each asserted below:
* leader share with "lower is better" never negates x (COINr's n_fracmax with direction -1
  gives x / min(x) and rewards the worst unit; see test_methods.py for the worked example);
* VIKOR returns 1 - Q (pymcdm's Q is lower-is-better);
* MPI uses the population SD of the members (De Muro, Mazziotta & Pareto 2011); Compind's
  ci_mpi uses the sample variance;
* Copeland is the documented COINr rule, sum of sign(O_pq - 1/2); COINr 1.1.14's code
  returns rowSums of O itself (R/aggregate.R, a_copeland), which the docs contradict.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import Code
from tests.undefined import reported

LIBRARY = Path(__file__).resolve().parent / "data" / "library"
REL = 1e-12

# -- a small panel: 6 regions, 2 years, 3 positive inputs ------------------------------------

REGIONS = ["N", "S", "E", "W", "C", "X"]
YEARS = [2010, 2014]
PANEL: dict[tuple[str, int], dict[str, float]] = {
    ("N", 2010): {"a": 12.0, "b": 4.2, "c": 110.0},
    ("N", 2014): {"a": 15.0, "b": 3.9, "c": 115.0},
    ("S", 2010): {"a": 30.0, "b": 1.1, "c": 95.0},
    ("S", 2014): {"a": 28.0, "b": 1.5, "c": 99.0},
    ("E", 2010): {"a": 7.5, "b": 3.3, "c": 130.0},
    ("E", 2014): {"a": 9.0, "b": 4.4, "c": 125.0},
    ("W", 2010): {"a": 18.0, "b": 2.7, "c": 87.0},
    ("W", 2014): {"a": 40.0, "b": 2.2, "c": 90.0},
    ("C", 2010): {"a": 25.0, "b": 5.9, "c": 101.0},
    ("C", 2014): {"a": 22.0, "b": 6.1, "c": 108.0},
    ("X", 2010): {"a": 3.0, "b": 0.8, "c": 120.0},
    ("X", 2014): {"a": 6.0, "b": 1.2, "c": 118.0},
}
KEYS = [(r, y) for y in YEARS for r in REGIONS]


def panel_csv(columns: Iterable[str] = ("a", "b", "c"), data: dict | None = None) -> str:
    data = PANEL if data is None else data
    cols = list(columns)
    lines = ["region,year," + ",".join(cols)]
    for (r, y), row in data.items():
        lines.append(
            f"{r},{y}," + ",".join("" if row.get(c) is None else repr(row[c]) for c in cols)
        )
    return "\n".join(lines) + "\n"


def run(tmp_path: Path, yaml_text: str, csv_text: str, name: str = "m") -> api.RunResult:
    m, d = tmp_path / f"{name}.yaml", tmp_path / f"{name}.csv"
    m.write_text(yaml_text, encoding="utf-8")
    d.write_text(csv_text, encoding="utf-8")
    return api.run(m, [d])


def column(result: api.RunResult, name: str, unit: str = "region", period: str = "year") -> dict:
    f = result.frame
    return {(u, p): v for u, p, v in zip(f[unit], f[period], f[name])}


def close(got: dict, want: dict, rel: float = REL, abs_: float = 1e-12) -> None:
    assert set(got) == set(want), (sorted(got), sorted(want))
    bad = {
        k: (got[k], want[k])
        for k in want
        if not (got[k] is None and want[k] is None)
        and (
            got[k] is None
            or want[k] is None
            or not math.isclose(got[k], want[k], rel_tol=rel, abs_tol=abs_)
        )
    }
    assert not bad, f"(got, expected) differ at {bad}"


HEADER = """\
indexlab: 1
id: library-test
title: library test
data: {unit: region, period: year}
inputs:
  a: {}
  b: {}
  c: {}
"""


def norm_methodology(spec: str, direction: str = "higher") -> str:
    """A normalises a (direction given), B normalises b (higher); index = mean of the two."""
    return (
        HEADER
        + f"""\
indicators:
  A: {{formula: a, direction: {direction}}}
  B: {{formula: b}}
normalisation:
  default: {spec}
groups:
  G: {{members: [A, B]}}
index: {{group: G}}
"""
    )


def by_period(var: str, scope: object = "period") -> dict[tuple[str, int], list[float]]:
    """The values each row's statistics are taken over."""
    out = {}
    for r, y in KEYS:
        if scope == "pooled":
            xs = [PANEL[k][var] for k in KEYS]
        elif isinstance(scope, int):
            xs = [PANEL[(u, scope)][var] for u in REGIONS]
        else:
            xs = [PANEL[(u, y)][var] for u in REGIONS]
        out[(r, y)] = xs
    return out


def hand(var: str, f: Callable[[float, list[float]], float], scope: object = "period") -> dict:
    xs = by_period(var, scope)
    return {k: f(PANEL[k][var], xs[k]) for k in KEYS}


def sample_sd(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def pop_sd(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def quantile7(xs: list[float], p: float) -> float:
    """R type 7 / numpy linear: h = (n - 1) p."""
    s = sorted(xs)
    h = (len(s) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


# == 1. normalisation ===========================================================================


def leader_share(x, xs):
    return x / max(xs) * 100


def min_max_1_7(x, xs):
    return (x - min(xs)) / (max(xs) - min(xs)) * (7 - 1) + 1


def min_max_1_7_lower(x, xs):
    return (max(xs) - x) / (max(xs) - min(xs)) * (7 - 1) + 1


NORMALISATIONS: list[tuple[str, str, Callable[[float, list[float]], float]]] = [
    # (YAML spec, direction of A, textbook formula for A)
    ("{method: leader_share}", "higher", leader_share),
    ("{method: leader_share, scale: 1, cost: min_over_x}", "lower", lambda x, xs: min(xs) / x),
    (
        "{method: leader_share, cost: one_minus_share}",
        "lower",
        lambda x, xs: (1 - x / max(xs)) * 100,
    ),
    ("{method: min_max}", "higher", lambda x, xs: (x - min(xs)) / (max(xs) - min(xs)) * 100),
    ("{method: min_max, range: [1, 7]}", "higher", min_max_1_7),
    ("{method: min_max, range: [1, 7]}", "lower", min_max_1_7_lower),
    ("{method: z_score}", "higher", lambda x, xs: (x - statistics.fmean(xs)) / sample_sd(xs)),
    ("{method: z_score}", "lower", lambda x, xs: (statistics.fmean(xs) - x) / sample_sd(xs)),
    (
        "{method: z_score, ddof: 0, mean: 100, sd: 10}",
        "higher",
        lambda x, xs: (x - statistics.fmean(xs)) / pop_sd(xs) * 10 + 100,
    ),
    (
        "{method: goalposts, lower: 5, upper: 35}",
        "higher",
        lambda x, xs: min(max((x - 5) / 30, 0.0), 1.0),
    ),
    (
        "{method: goalposts, lower: 5, upper: 35, scale: 100}",
        "lower",
        lambda x, xs: min(max((35 - x) / 30, 0.0), 1.0) * 100,
    ),
    (
        "{method: goalposts, lower: 5, upper: 35, truncate: false}",
        "higher",
        lambda x, xs: (x - 5) / 30,
    ),
    (
        "{method: distance_to_target, target: 25}",
        "higher",
        lambda x, xs: min((x - min(xs)) / (25 - min(xs)), 1.0),
    ),
    (
        "{method: distance_to_target, target: 25, cap: false}",
        "higher",
        lambda x, xs: (x - min(xs)) / (25 - min(xs)),
    ),
    (
        "{method: distance_to_target, target: 10}",
        "lower",
        lambda x, xs: min((max(xs) - x) / (max(xs) - 10), 1.0),
    ),
    ("{method: vector}", "higher", lambda x, xs: x / math.sqrt(sum(v * v for v in xs))),
    (
        "{method: vector, scale: 10}",
        "lower",
        lambda x, xs: (1 - x / math.sqrt(sum(v * v for v in xs))) * 10,
    ),
    ("{method: share}", "higher", lambda x, xs: x / sum(xs)),
    ("{method: share, scale: 100}", "lower", lambda x, xs: (1 / x) / sum(1 / v for v in xs) * 100),
    (
        "{method: formula, formula: '(x - min(x)) / (max(x) - min(x)) * 100'}",
        "higher",
        lambda x, xs: (x - min(xs)) / (max(xs) - min(xs)) * 100,
    ),
    ("{method: none}", "higher", lambda x, xs: x),
]


@pytest.mark.parametrize(
    "spec,direction,formula", NORMALISATIONS, ids=[f"{s} {d}" for s, d, _ in NORMALISATIONS]
)
def test_normalisation_matches_textbook_formula(
    tmp_path: Path, spec: str, direction: str, formula: Callable
) -> None:
    result = run(tmp_path, norm_methodology(spec, direction), panel_csv())
    close(column(result, "A.norm"), hand("a", formula))


def test_distance_to_reference_unit(tmp_path: Path) -> None:
    # COINr n_dist2ref: y = 1 - (x_r - x) / (x_r - min x); the reference's value in the same period
    for direction in ("higher", "lower"):
        spec = "{method: distance_to_reference, unit: C}"
        result = run(tmp_path, norm_methodology(spec, direction), panel_csv(), name=direction)

        def f(x, xs, k, direction=direction):
            ref = PANEL[("C", k[1])]["a"]
            if direction == "higher":
                return 1 - (ref - x) / (ref - min(xs))
            return 1 - (x - ref) / (max(xs) - ref)

        xs = by_period("a")
        want = {k: f(PANEL[k]["a"], xs[k], k) for k in KEYS}
        close(column(result, "A.norm"), want)
        assert all(
            v == pytest.approx(1.0) for (r, _), v in column(result, "A.norm").items() if r == "C"
        )


def test_distance_to_reference_cap(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        norm_methodology("{method: distance_to_reference, unit: C, cap: true, scale: 100}"),
        panel_csv(),
    )
    xs = by_period("a")
    want = {
        k: min(
            1 - (PANEL[("C", k[1])]["a"] - PANEL[k]["a"]) / (PANEL[("C", k[1])]["a"] - min(xs[k])),
            1,
        )
        * 100
        for k in KEYS
    }
    close(column(result, "A.norm"), want)


# ranks: ties and a missing value (n counts units with a value)
TIES = {
    ("N", 1): 5.0,
    ("S", 1): 3.0,
    ("E", 1): 5.0,
    ("W", 1): 1.0,
    ("C", 1): 4.0,
    ("X", 1): 3.0,
    ("Y", 1): None,
}


def rank_min(x: float, xs: list[float], lower: bool) -> int:
    """1 + number of values strictly worse; the best unit gets the highest rank (COINr n_rank)."""
    return 1 + sum(1 for v in xs if (v > x if lower else v < x))


@pytest.mark.parametrize("direction", ["higher", "lower"])
@pytest.mark.parametrize("method", ["rank", "percentile_rank", "borda"])
def test_rank_family_with_ties_and_a_missing_value(
    tmp_path: Path, method: str, direction: str
) -> None:
    # COINr n_rank = rank(x, ties = "min"); n_prank = (rank - 1) / (n - 1); n_borda = rank - 1
    data = {k: {"a": v, "b": 1.0 + i, "c": 1.0} for i, (k, v) in enumerate(TIES.items())}
    result = run(
        tmp_path, norm_methodology(f"{{method: {method}}}", direction), panel_csv(data=data)
    )
    present = [v for v in TIES.values() if v is not None]
    n = len(present)
    lower = direction == "lower"
    want = {}
    for k, v in TIES.items():
        if v is None:
            want[k] = None
            continue
        r = rank_min(v, present, lower)
        want[k] = {"rank": r, "percentile_rank": (r - 1) / (n - 1), "borda": r - 1}[method]
    close(column(result, "A.norm"), want)
    # worked example: 5 and 5 share the top rank 5 of 6 when higher is better
    if method == "rank" and direction == "higher":
        got = column(result, "A.norm")
        assert got[("N", 1)] == got[("E", 1)] == 5.0 and got[("W", 1)] == 1.0


def test_percentile_rank_scale(tmp_path: Path) -> None:
    result = run(tmp_path, norm_methodology("{method: percentile_rank, scale: 100}"), panel_csv())
    xs = by_period("a")
    close(
        column(result, "A.norm"),
        {k: (rank_min(PANEL[k]["a"], xs[k], False) - 1) / 5 * 100 for k in KEYS},
    )


def categorical_hand(
    x: float, xs: list[float], cuts: list[float], scores: list[float], lower: bool
) -> float:
    qs = [quantile7(xs, p / 100) for p in cuts]
    ss = scores[::-1] if lower else scores
    k = sum(1 for q in qs if x >= q)  # a value on a percentile goes to the upper interval
    return ss[k]


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_categorical_default_percentiles(tmp_path: Path, direction: str) -> None:
    # OECD/JRC Handbook Table 3: 0 < P15 <= 20 < P25 <= 40 < P65 <= 60 < P85 <= 80 < P95 <= 100
    values = [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
        6.0,
        7.0,
        8.0,
        9.0,
        10.0,
        11.0,
        12.0,
        13.0,
        14.0,
        15.0,
        16.0,
        17.0,
        18.0,
        19.0,
        20.0,
        21.0,
    ]  # n = 21: every default percentile falls on a value (h = 20 p)
    data = {(f"u{i:02d}", 1): {"a": v, "b": 1.0, "c": 1.0} for i, v in enumerate(values)}
    result = run(
        tmp_path, norm_methodology("{method: categorical}", direction), panel_csv(data=data)
    )
    want = {
        k: categorical_hand(
            row["a"], values, [15, 25, 65, 85, 95], [0, 20, 40, 60, 80, 100], direction == "lower"
        )
        for k, row in data.items()
    }
    close(column(result, "A.norm"), want)
    got = column(result, "A.norm")
    # P15 = 4 exactly: 4 is in the second interval, 3 in the first
    assert got[("u03", 1)] == (20 if direction == "higher" else 80)
    assert got[("u02", 1)] == (0 if direction == "higher" else 100)


def test_categorical_custom(tmp_path: Path) -> None:
    spec = "{method: categorical, percentiles: [25, 50, 75], scores: [1, 2, 3, 4]}"
    result = run(tmp_path, norm_methodology(spec), panel_csv())
    xs = by_period("a")
    close(
        column(result, "A.norm"),
        {
            k: categorical_hand(PANEL[k]["a"], xs[k], [25, 50, 75], [1, 2, 3, 4], False)
            for k in KEYS
        },
    )


# -- transforms ------------------------------------------------------------------------------


def log_ct(x: float, xs: list[float]) -> float:
    return math.log(x - min(xs) + 0.01 * (max(xs) - min(xs)))


def log_plus1(x: float, xs: list[float]) -> float:
    return math.log(x - min(xs) + 1)


def box_cox(lam: float) -> Callable[[float, list[float]], float]:
    return lambda x, xs: math.log(x) if lam == 0 else (x**lam - 1) / lam


TRANSFORMS = {
    "log": lambda x, xs: math.log(x),
    "log_ct": log_ct,
    "log_plus1": log_plus1,
    "{box_cox: 0.5}": box_cox(0.5),
    "{box_cox: 0}": box_cox(0),
    "{box_cox: -1}": box_cox(-1),
}


@pytest.mark.parametrize("scope", ["period", "pooled", 2010])
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_transform_then_min_max(tmp_path: Path, transform: str, scope: object) -> None:
    # the transform's own statistics (log_ct, log_plus1) use the normalisation's scope too
    scope_yaml = f"{{period: {scope}}}" if isinstance(scope, int) else scope
    spec = f"{{method: min_max, transform: {transform}, scope: {scope_yaml}}}"
    result = run(tmp_path, norm_methodology(spec), panel_csv())
    t = TRANSFORMS[transform]
    xs = by_period("a", scope)
    want = {}
    for k in KEYS:
        ts = [t(v, xs[k]) for v in xs[k]]
        tx = t(PANEL[k]["a"], xs[k])
        want[k] = (tx - min(ts)) / (max(ts) - min(ts)) * 100
    close(column(result, "A.norm"), want, rel=1e-11)


def test_goalposts_move_through_the_log_transform(tmp_path: Path) -> None:
    # UNDP income index: (ln x - ln 100) / (ln 75000 - ln 100); here goalposts 2 and 50
    result = run(
        tmp_path,
        norm_methodology("{method: goalposts, lower: 2, upper: 50, transform: log}"),
        panel_csv(),
    )
    close(
        column(result, "A.norm"),
        {
            k: min(
                max((math.log(PANEL[k]["a"]) - math.log(2)) / (math.log(50) - math.log(2)), 0), 1
            )
            for k in KEYS
        },
    )


# -- scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["period", "pooled", 2010, 2014])
@pytest.mark.parametrize("method", ["min_max", "z_score", "leader_share"])
def test_scope(tmp_path: Path, method: str, scope: object) -> None:
    scope_yaml = f"{{period: {scope}}}" if isinstance(scope, int) else scope
    result = run(
        tmp_path, norm_methodology(f"{{method: {method}, scope: {scope_yaml}}}"), panel_csv()
    )
    f = {
        "min_max": lambda x, xs: (x - min(xs)) / (max(xs) - min(xs)) * 100,
        "z_score": lambda x, xs: (x - statistics.fmean(xs)) / sample_sd(xs),
        "leader_share": leader_share,
    }[method]
    close(column(result, "A.norm"), hand("a", f, scope))
    if scope == 2010 and method == "min_max":
        # the reference period's statistics applied to 2014: W (40 > max 2010 = 30) exceeds 100
        assert column(result, "A.norm")[("W", 2014)] == pytest.approx((40 - 3) / (30 - 3) * 100)


def test_scope_per_indicator_override(tmp_path: Path) -> None:
    yaml_text = (
        HEADER
        + """\
indicators:
  A: {formula: a}
  B: {formula: b}
normalisation:
  default: {method: min_max}
  overrides:
    B: {method: z_score, scope: pooled}
groups:
  G: {members: [A, B]}
index: {group: G}
"""
    )
    result = run(tmp_path, yaml_text, panel_csv())
    close(
        column(result, "A.norm"), hand("a", lambda x, xs: (x - min(xs)) / (max(xs) - min(xs)) * 100)
    )
    close(
        column(result, "B.norm"),
        hand("b", lambda x, xs: (x - statistics.fmean(xs)) / sample_sd(xs), "pooled"),
    )


# == 3. aggregation ============================================================================


def agg_methodology(
    aggregation: str,
    weights: str = "",
    members: str = "[A, B, C]",
    normalisation: str = "{method: none}",
    extra: str = "",
) -> str:
    w = f", weights: {weights}" if weights else ""
    return (
        HEADER
        + f"""\
indicators:
  A: {{formula: a}}
  B: {{formula: b}}
  C: {{formula: c}}
normalisation:
  default: {normalisation}
groups:
  G: {{members: {members}, aggregation: {aggregation}{w}{extra}}}
index: {{group: G}}
"""
    )


W3 = [2.0, 1.0, 3.0]
W3_YAML = "{A: 2, B: 1, C: 3}"


def rows(k: tuple[str, int]) -> list[float]:
    return [PANEL[k][v] for v in "abc"]


def w_arith(ys, ws):
    return sum(w * y for w, y in zip(ws, ys)) / sum(ws)


def w_geo(ys, ws):
    return math.exp(sum(w * math.log(y) for w, y in zip(ws, ys)) / sum(ws))


def w_harm(ys, ws):
    return sum(ws) / sum(w / y for w, y in zip(ws, ys))


def w_power(p):
    return lambda ys, ws: (sum(w * y**p for w, y in zip(ws, ys)) / sum(ws)) ** (1 / p)


AGGREGATIONS = [
    ("{method: arithmetic}", "", lambda ys: w_arith(ys, [1, 1, 1])),
    ("{method: arithmetic}", W3_YAML, lambda ys: w_arith(ys, W3)),
    ("{method: geometric}", "", lambda ys: w_geo(ys, [1, 1, 1])),
    ("{method: geometric}", W3_YAML, lambda ys: w_geo(ys, W3)),
    ("{method: harmonic}", "", lambda ys: w_harm(ys, [1, 1, 1])),
    ("{method: harmonic}", W3_YAML, lambda ys: w_harm(ys, W3)),
    ("{method: power, p: 2}", W3_YAML, lambda ys: w_power(2)(ys, W3)),
    ("{method: power, p: 0.5}", "", lambda ys: w_power(0.5)(ys, [1, 1, 1])),
    ("{method: power, p: 1}", W3_YAML, lambda ys: w_arith(ys, W3)),  # p = 1 is the arithmetic mean
    ("{method: power, p: -1}", W3_YAML, lambda ys: w_harm(ys, W3)),  # p = -1 is the harmonic mean
    ("{method: minimum}", "", min),
]


@pytest.mark.parametrize(
    "aggregation,weights,formula", AGGREGATIONS, ids=[f"{a} {w}" for a, w, _ in AGGREGATIONS]
)
def test_aggregation_matches_textbook_formula(
    tmp_path: Path, aggregation: str, weights: str, formula: Callable
) -> None:
    result = run(tmp_path, agg_methodology(aggregation, weights), panel_csv())
    close(column(result, "G"), {k: formula(rows(k)) for k in KEYS})


def test_power_mean_limits_agree_with_the_named_means(tmp_path: Path) -> None:
    got = {}
    for name, agg in (
        ("p1", "{method: power, p: 1}"),
        ("ar", "{method: arithmetic}"),
        ("pm1", "{method: power, p: -1}"),
        ("ha", "{method: harmonic}"),
    ):
        got[name] = column(
            run(tmp_path, agg_methodology(agg, W3_YAML), panel_csv(), name=name), "G"
        )
    close(got["p1"], got["ar"])
    close(got["pm1"], got["ha"])


@pytest.mark.parametrize("value", [0.0, -1.0])
@pytest.mark.parametrize("aggregation", ["geometric", "harmonic"])
def test_zero_member_is_a_domain_error_naming_the_unit(
    tmp_path: Path, aggregation: str, value: float
) -> None:
    # COINr a_gmean stops on x <= 0, a_hmean on x == 0; the schema asks members > 0 for both
    data = {k: dict(v) for k, v in PANEL.items()}
    data[("E", 2014)]["b"] = value
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(agg_methodology(f"{{method: {aggregation}}}"), encoding="utf-8")
    d.write_text(panel_csv(data=data), encoding="utf-8")
    err = reported(result := api.run(m, [d]))
    domain = [p for p in err.diagnostics if p.code == Code.DOMAIN]
    assert domain, err.render()
    group = result.frame.filter(pl.col("region") == "E", pl.col("year") == 2014)["G"]
    assert group.to_list() == [None]
    assert "E" in domain[0].message and "2014" in domain[0].message
    for other in ("N ", "S ", "W ", "C ", "X "):
        assert other not in domain[0].message


def weighted_median(ys: list[float], ws: list[Fraction]) -> float:
    """COINr's definition: the smallest value whose cumulative (sorted) weight reaches half."""
    total = sum(ws)
    cum = Fraction(0)
    for y, w in sorted(zip(ys, ws)):
        cum += w
        if cum >= total / 2:
            return y
    raise AssertionError


def test_weighted_median_with_ties_in_cumulative_weight(tmp_path: Path) -> None:
    # four members, weights 1, 2, 2, 5: the cumulative weight of the three smallest is
    # exactly half when D is the largest; 0.1 + 0.2 + 0.2 is 0.5000000000000001 in floats
    yaml_text = (
        HEADER.replace("  c: {}\n", "  c: {}\n  d: {}\n")
        + """\
indicators:
  A: {formula: a}
  B: {formula: b}
  C: {formula: c}
  D: {formula: d}
normalisation:
  default: {method: none}
groups:
  G: {members: [A, B, C, D], aggregation: {method: median}, weights: {A: 1, B: 2, C: 2, D: 5}}
index: {group: G}
"""
    )
    values = {
        ("p", 1): [1.0, 2.0, 3.0, 10.0],  # cum 0.1, 0.3, 0.5 at 3 -> 3 (not 10, not the mean)
        ("q", 1): [4.0, 3.0, 2.0, 1.0],  # sorted 1(D,.5) -> reaches half at once -> 1
        ("r", 1): [5.0, 5.0, 1.0, 9.0],  # sorted 1(.2) 5(.1) 5(.2) 9(.5): half at the second 5
        ("s", 1): [2.0, 8.0, 8.0, 3.0],
    }  # sorted 2(.1) 3(.5) -> cum .6 at 3
    data = {k: dict(zip("abcd", v)) for k, v in values.items()}
    result = run(tmp_path, yaml_text, panel_csv("abcd", data))
    ws = [Fraction(1), Fraction(2), Fraction(2), Fraction(5)]
    want = {k: weighted_median(v, ws) for k, v in values.items()}
    assert want == {("p", 1): 3.0, ("q", 1): 1.0, ("r", 1): 5.0, ("s", 1): 3.0}
    close(column(result, "G"), want)


def test_weighted_median_equal_weights_even_count_is_the_lower_median(tmp_path: Path) -> None:
    result = run(tmp_path, agg_methodology("{method: median}", members="[A, B]"), panel_csv())
    close(column(result, "G"), {k: min(PANEL[k]["a"], PANEL[k]["b"]) for k in KEYS})


# -- Mazziotta-Pareto ----------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", ["positive", "negative"])
def test_mpi_on_z_scores_100_10(tmp_path: Path, penalty: str) -> None:
    # Compind: normalise_ci(method = 1, z.mean = 100, z.std = 10) (sample SD of each
    # indicator), then ci_mpi: M_i (1 -/+ cv_i^2). The per-unit SD here is the population SD
    # of the published MPI (De Muro, Mazziotta & Pareto 2011); Compind's ci_mpi uses var(),
    # the sample variance: a deliberate deviation, asserted below.
    agg = f"{{method: mpi, penalty: {penalty}}}"
    result = run(
        tmp_path,
        agg_methodology(agg, normalisation="{method: z_score, mean: 100, sd: 10}"),
        panel_csv(),
    )
    z = {
        v: hand(v, lambda x, xs: (x - statistics.fmean(xs)) / sample_sd(xs) * 10 + 100)
        for v in "abc"
    }
    want, compind = {}, {}
    for k in KEYS:
        ys = [z[v][k] for v in "abc"]
        m, s = sum(ys) / 3, pop_sd(ys)
        cv = s / m
        want[k] = m * (1 - cv**2) if penalty == "positive" else m * (1 + cv**2)
        cv_s = sample_sd(ys) / m
        compind[k] = m * (1 - cv_s**2) if penalty == "positive" else m * (1 + cv_s**2)
    got = column(result, "G")
    close(got, want)
    assert any(not math.isclose(got[k], compind[k], rel_tol=1e-9) for k in KEYS)
    # the z-scores have mean 100 and SD 10 within each year
    for y in YEARS:
        zs = [column(result, "A.norm")[(r, y)] for r in REGIONS]
        assert statistics.fmean(zs) == pytest.approx(100) and statistics.stdev(zs) == pytest.approx(
            10
        )


# -- TOPSIS ------------------------------------------------------------------------------------


def topsis_hand(matrix: list[list[float]], weights: list[float]) -> list[float]:
    """Hwang & Yoon closeness on an already-normalised matrix: v = w y, ideal = max v."""
    total = sum(weights)
    v = [[w / total * y for w, y in zip(weights, row)] for row in matrix]
    best = [max(col) for col in zip(*v)]
    worst = [min(col) for col in zip(*v)]
    out = []
    for row in v:
        dp = math.sqrt(sum((a - b) ** 2 for a, b in zip(row, best)))
        dm = math.sqrt(sum((a - b) ** 2 for a, b in zip(row, worst)))
        out.append(dm / (dp + dm))
    return out


def pair_methodology(aggregation: str) -> str:
    """The Opricovic & Tzeng (2004) example: a cost criterion and a benefit criterion."""
    return f"""\
indexlab: 1
id: opricovic-tzeng
title: Opricovic and Tzeng 2004
data: {{unit: alt, period: year}}
inputs:
  cost: {{}}
  benefit: {{}}
indicators:
  COST: {{formula: cost, direction: lower}}
  BENEFIT: {{formula: benefit}}
normalisation:
  default: {{method: min_max, range: [0, 1]}}
groups:
  G: {{members: [COST, BENEFIT], aggregation: {aggregation}}}
index: {{group: G}}
"""


def test_topsis_reproduces_pymcdm_printed_example(tmp_path: Path) -> None:
    # pymcdm tests/test_methods.py TestTOPSIS.test_output (Opricovic & Tzeng 2004):
    # TOPSIS() (min-max normalisation), weights 0.5/0.5, types [-1, 1] -> [0.500, 0.617, 0.500]
    m = tmp_path / "m.yaml"
    m.write_text(pair_methodology("{method: topsis}"), encoding="utf-8")
    result = api.run(m, [LIBRARY / "opricovic_tzeng_2004.csv"])
    got = column(result, "G", unit="alt")
    assert [round(got[(a, 1)], 3) for a in ("A1", "A2", "A3")] == [0.500, 0.617, 0.500]
    # and the hand computation on the min-max matrix (cost reversed)
    matrix = [[1.0, 0.0], [0.75, 0.5], [0.0, 1.0]]
    close(got, dict(zip([("A1", 1), ("A2", 1), ("A3", 1)], topsis_hand(matrix, [0.5, 0.5]))))


def test_topsis_weighted_by_period(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        agg_methodology("{method: topsis}", W3_YAML, normalisation="{method: vector}"),
        panel_csv(),
    )
    want = {}
    for y in YEARS:
        units = [(r, y) for r in REGIONS]
        norms = {v: math.sqrt(sum(PANEL[u][v] ** 2 for u in units)) for v in "abc"}
        matrix = [[PANEL[u][v] / norms[v] for v in "abc"] for u in units]
        want.update(dict(zip(units, topsis_hand(matrix, W3))))
    close(column(result, "G"), want)


# -- VIKOR -------------------------------------------------------------------------------------


def vikor_q(matrix: list[list[float]], weights: list[float], v: float = 0.5) -> list[float]:
    total = sum(weights)
    ws = [w / total for w in weights]
    best = [max(col) for col in zip(*matrix)]
    worst = [min(col) for col in zip(*matrix)]
    terms = [[w * (b - y) / (b - c) for w, y, b, c in zip(ws, row, best, worst)] for row in matrix]
    s = [sum(t) for t in terms]
    r = [max(t) for t in terms]
    return [
        v * (si - min(s)) / (max(s) - min(s)) + (1 - v) * (ri - min(r)) / (max(r) - min(r))
        for si, ri in zip(s, r)
    ]


def test_vikor_reproduces_pymcdm_yang_wu_example(tmp_path: Path) -> None:
    # pymcdm tests/test_methods.py TestVIKOR.test_output_yang (Yang & Wu 2020): four benefit
    # criteria, equal weights, v = 0.5 -> Q = [0.5679, 0.7667, 1, 0.7493, 0].
    # Deliberate deviation: indexlab returns 1 - Q so that higher is better.
    yaml_text = """\
indexlab: 1
id: yang-wu
title: Yang and Wu 2020
data: {unit: alt, period: year}
inputs: {c1: {}, c2: {}, c3: {}, c4: {}}
indicators: {C1: {formula: c1}, C2: {formula: c2}, C3: {formula: c3}, C4: {formula: c4}}
normalisation: {default: {method: none}}
groups:
  G: {members: [C1, C2, C3, C4], aggregation: {method: vikor, v: 0.5}}
index: {group: G}
"""
    m = tmp_path / "m.yaml"
    m.write_text(yaml_text, encoding="utf-8")
    got = column(api.run(m, [LIBRARY / "yang_wu_2020.csv"]), "G", unit="alt")
    alts = ["A1", "A2", "A3", "A4", "A5"]
    q_printed = [0.5679, 0.7667, 1, 0.7493, 0]
    assert [round(1 - got[(a, 1)], 4) for a in alts] == q_printed
    matrix = [[78, 56, 34, 6], [4, 45, 3, 97], [18, 2, 50, 63], [9, 14, 11, 92], [85, 9, 100, 29]]
    close(got, {(a, 1): 1 - q for a, q in zip(alts, vikor_q(matrix, [1, 1, 1, 1]))})


def test_vikor_reproduces_pymcdm_opricovic_example(tmp_path: Path) -> None:
    # pymcdm TestVIKOR.test_output_opricovic: types [-1, 1], weights 0.5/0.5 -> Q = [1, 0, 1]
    m = tmp_path / "m.yaml"
    m.write_text(pair_methodology("{method: vikor}"), encoding="utf-8")
    got = column(api.run(m, [LIBRARY / "opricovic_tzeng_2004.csv"]), "G", unit="alt")
    assert [got[(a, 1)] for a in ("A1", "A2", "A3")] == pytest.approx([0.0, 1.0, 0.0], abs=1e-12)


def test_vikor_weighted_v(tmp_path: Path) -> None:
    result = run(tmp_path, agg_methodology("{method: vikor, v: 0.3}", W3_YAML), panel_csv())
    want = {}
    for y in YEARS:
        units = [(r, y) for r in REGIONS]
        want.update({u: 1 - q for u, q in zip(units, vikor_q([rows(u) for u in units], W3, 0.3))})
    close(column(result, "G"), want)


# -- Copeland ----------------------------------------------------------------------------------


def copeland_hand(matrix: list[list[float]], weights: list[float]) -> list[float]:
    """COINr's documented rule: O_pq = sum w [y_p > y_q] + 1/2 sum w [y_p = y_q] (w summing
    to 1); score_p = sum over q != p of +1 if O_pq > 1/2, -1 if < 1/2, 0 if = 1/2."""
    total = sum(Fraction(w) for w in weights)
    ws = [Fraction(w) / total for w in weights]
    out = []
    for p, yp in enumerate(matrix):
        score = 0
        for q, yq in enumerate(matrix):
            if p == q:
                continue
            o = sum((w if a > b else w / 2 if a == b else 0) for w, a, b in zip(ws, yp, yq))
            score += 1 if o > Fraction(1, 2) else -1 if o < Fraction(1, 2) else 0
        out.append(float(score))
    return out


def test_copeland_with_ties(tmp_path: Path) -> None:
    # ties within a criterion (1/2 of its weight each) and a pairwise tie (O = 1/2 -> 0)
    values = {
        ("p", 1): [3.0, 1.0, 2.0],
        ("q", 1): [1.0, 3.0, 2.0],
        ("r", 1): [2.0, 2.0, 2.0],
        ("s", 1): [3.0, 3.0, 1.0],
        ("t", 1): [0.5, 0.5, 0.5],
    }
    data = {k: dict(zip("abc", v)) for k, v in values.items()}
    result = run(tmp_path, agg_methodology("{method: copeland}"), panel_csv(data=data))
    want = dict(zip(values, copeland_hand(list(values.values()), [1, 1, 1])))
    # by hand: p vs q: O = 1/3 + 0 + 1/6 = 1/2 -> 0; p, q, r tie pairwise; s beats p, q, r; t loses all
    # by hand: p vs q: O = 1/3 + 0 + 1/6 = 1/2 -> 0 (likewise p-r, p-s, q-r, q-s); r vs s:
    # O = 1/3 -> -1; everyone beats t on every member -> +1
    assert want == {("p", 1): 1.0, ("q", 1): 1.0, ("r", 1): 0.0, ("s", 1): 2.0, ("t", 1): -4.0}
    close(column(result, "G"), want)
    # COINr 1.1.14's code (rowSums of O, not of the signs) would give s = 1/2 + 1/2 + 2/3 + 1: not used
    assert column(result, "G")[("s", 1)] != pytest.approx(1 / 2 + 1 / 2 + 2 / 3 + 1)


def test_copeland_weighted_per_period(tmp_path: Path) -> None:
    result = run(tmp_path, agg_methodology("{method: copeland}", W3_YAML), panel_csv())
    want = {}
    for y in YEARS:
        units = [(r, y) for r in REGIONS]
        want.update(dict(zip(units, copeland_hand([rows(u) for u in units], W3))))
    close(column(result, "G"), want)


# -- a mixed hierarchy -----------------------------------------------------------------------------


def test_mixed_hierarchy_any_depth(tmp_path: Path) -> None:
    yaml_text = (
        HEADER
        + """\
indicators:
  A: {formula: a}
  B: {formula: b}
  C: {formula: c}
  D: {formula: b + c}
normalisation:
  default: {method: min_max, range: [1, 100]}
groups:
  G1: {members: [A, B], aggregation: {method: geometric}, weights: {A: 3, B: 1}}
  G2: {members: [G1, C], aggregation: {method: harmonic}}
  TOP: {members: [G2, D], aggregation: {method: power, p: 3}, weights: {G2: 1, D: 4}}
index: {group: TOP}
"""
    )
    result = run(tmp_path, yaml_text, panel_csv())
    n = {v: hand(v, lambda x, xs: (x - min(xs)) / (max(xs) - min(xs)) * 99 + 1) for v in "abc"}
    d = {k: PANEL[k]["b"] + PANEL[k]["c"] for k in KEYS}
    for k in KEYS:
        ds = [d[(r, k[1])] for r in REGIONS]
        n.setdefault("d", {})[k] = (d[k] - min(ds)) / (max(ds) - min(ds)) * 99 + 1
    want = {}
    for k in KEYS:
        g1 = w_geo([n["a"][k], n["b"][k]], [3, 1])
        g2 = w_harm([g1, n["c"][k]], [1, 1])
        want[k] = w_power(3)([g2, n["d"][k]], [1, 4])
    close(column(result, "index"), want, rel=1e-11)


# == 4. weights =================================================================================


def weights_frame(result: api.RunResult) -> dict[tuple[object, str, str], tuple[float, float]]:
    w = result.weights
    assert w is not None
    return {
        (p, g, m): (wt, eff)
        for p, g, m, wt, eff in zip(
            w["period"], w["group"], w["member"], w["weight"], w["effective_weight"]
        )
    }


def entropy_hand(cols: list[list[float]]) -> list[float]:
    n = len(cols[0])
    d = []
    for ys in cols:
        total = sum(ys)
        e = -sum((y / total) * math.log(y / total) for y in ys if y > 0) / math.log(n)  # 0 ln 0 = 0
        d.append(1 - e)
    return [x / sum(d) for x in d]


def critic_hand(cols: list[list[float]]) -> list[float]:
    def pearson(xs, ys):
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        num = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        return num / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))

    c = [
        sample_sd(a) * sum(1 - pearson(a, b) for k, b in enumerate(cols) if k != j)
        for j, a in enumerate(cols)
    ]
    return [x / sum(c) for x in c]


def sd_hand(cols: list[list[float]]) -> list[float]:
    s = [sample_sd(c) for c in cols]
    return [x / sum(s) for x in s]


@pytest.mark.parametrize(
    "weighting,formula",
    [
        ("entropy", entropy_hand),
        ("critic", critic_hand),
        ("sd", sd_hand),
        ("equal", lambda cols: [1 / 3] * 3),
    ],
)
def test_data_driven_weights_per_period(tmp_path: Path, weighting: str, formula: Callable) -> None:
    # members: min-max scores (entropy meets zeros: 0 ln 0 = 0)
    result = run(
        tmp_path,
        agg_methodology(
            "{method: arithmetic}",
            normalisation="{method: min_max}",
            extra=f", weighting: {weighting}",
        ),
        panel_csv(),
    )
    n = {v: hand(v, lambda x, xs: (x - min(xs)) / (max(xs) - min(xs)) * 100) for v in "abc"}
    got = weights_frame(result)
    want_index = {}
    for y in YEARS:
        units = [(r, y) for r in REGIONS]
        ws = formula([[n[v][u] for u in units] for v in "abc"])
        for member, w in zip("ABC", ws):
            wt, eff = got[(y, "G", member)]
            assert wt == pytest.approx(w, rel=1e-12), (y, member, wt, w)
            assert eff == pytest.approx(w, rel=1e-12)
        for u in units:
            want_index[u] = sum(w * n[v][u] for w, v in zip(ws, "abc"))
    close(column(result, "index"), want_index, rel=1e-11)


def test_effective_weights_product_along_the_path_and_index_formula_factor(tmp_path: Path) -> None:
    # COINr get_eff_weights: product of within-group normalised weights up to the root;
    # an index formula (P + Q) / 2 multiplies by its constant derivative 1/2
    yaml_text = (
        HEADER
        + """\
indicators:
  A: {formula: a}
  B: {formula: b}
  C: {formula: c}
normalisation:
  default: {method: min_max}
groups:
  P: {members: [A, B], weights: {A: 1, B: 3}}
  R: {members: [C]}
  Q: {members: [R, A2]}
  S: {members: [P, Q], weights: {P: 2, Q: 3}}
index: {formula: (S + Q) / 2}
""".replace(
            "  C: {formula: c}\nnormalisation",
            "  C: {formula: c}\n  A2: {formula: a * 2}\nnormalisation",
        )
    )
    result = run(tmp_path, yaml_text, panel_csv())
    got = weights_frame(result)
    for y in YEARS:
        assert got[(y, "P", "A")] == pytest.approx((0.25, 0.25 * 0.4 * 0.5))
        assert got[(y, "P", "B")] == pytest.approx((0.75, 0.75 * 0.4 * 0.5))
        assert got[(y, "S", "P")] == pytest.approx((0.4, 0.4 * 0.5))
        # Q is read by S (weight 3/5, then 1/2) and by the index directly (1/2): d index / d C
        # sums both paths, (0.6 * 0.5 + 0.5) * 1/2 (R in Q) * 1 (C in R) = 0.4
        assert got[(y, "Q", "R")][0] == pytest.approx(0.5)
        assert got[(y, "R", "C")] == pytest.approx((1.0, 0.4))
        assert got[(y, "Q", "A2")] == pytest.approx((0.5, 0.4))


def test_effective_weights_simple_index_formula(tmp_path: Path) -> None:
    yaml_text = (
        HEADER
        + """\
indicators:
  A: {formula: a}
  B: {formula: b}
  C: {formula: c}
normalisation:
  default: {method: min_max}
groups:
  P: {members: [A, B], weights: {A: 1, B: 3}}
  Q: {members: [C]}
index: {formula: (P + Q) / 2}
"""
    )
    got = weights_frame(run(tmp_path, yaml_text, panel_csv()))
    for y in YEARS:
        assert got[(y, "P", "A")] == pytest.approx((0.25, 0.125))
        assert got[(y, "P", "B")] == pytest.approx((0.75, 0.375))
        assert got[(y, "Q", "C")] == pytest.approx((1.0, 0.5))
    assert sum(eff for (p, _g, _m), (_w, eff) in got.items() if p == 2010) == pytest.approx(1.0)


# == 2. coverage and imputation =================================================================


def coverage_methodology(
    aggregation: str = "arithmetic",
    coverage: str = "0.6",
    weights: str = "weights: {A: 1, B: 2, C: 3}, ",
) -> str:
    return (
        HEADER
        + f"""\
indicators:
  A: {{formula: a}}
  B: {{formula: b}}
  C: {{formula: c}}
normalisation:
  default: {{method: none}}
groups:
  G: {{members: [A, B, C], {weights}coverage: {coverage},
      aggregation: {{method: {aggregation}}}}}
index: {{group: G}}
"""
    )


@pytest.mark.parametrize(
    "aggregation,formula", [("arithmetic", w_arith), ("geometric", w_geo), ("harmonic", w_harm)]
)
def test_coverage_renormalises_present_members_and_withholds_below_share(
    tmp_path: Path, aggregation: str, formula: Callable
) -> None:
    data = {k: dict(v) for k, v in PANEL.items()}
    data[("S", 2010)]["b"] = None  # 2 of 3 present: 0.67 >= 0.6 -> mean of a and c, weights 1 and 3
    data[("E", 2014)]["a"] = None  # 1 of 3 present: below 0.6 -> no score
    data[("E", 2014)]["c"] = None
    result = run(tmp_path, coverage_methodology(aggregation), panel_csv(data=data))
    want = {}
    for k in KEYS:
        present = [(w, data[k][v]) for w, v in zip(W3_1_2_3, "abc") if data[k][v] is not None]
        want[k] = (
            formula([y for _, y in present], [w for w, _ in present]) if len(present) >= 2 else None
        )
    close(column(result, "G"), want)
    assert (
        column(result, "index")[("E", 2014)] is None and column(result, "rank")[("E", 2014)] is None
    )
    messages = [d.message for d in result.warnings]
    hit = [msg for msg in messages if "E 2014" in msg]
    assert hit, messages
    assert "'G'" in hit[0] and "1 of 3" in hit[0] and "0.6" in hit[0], hit[0]
    assert not [msg for msg in messages if "S 2010" in msg]


W3_1_2_3 = [1.0, 2.0, 3.0]


@pytest.mark.parametrize("aggregation", ["power", "minimum"])
def test_coverage_is_allowed_for_power_and_minimum_as_the_schema_says(
    tmp_path: Path, aggregation: str
) -> None:
    # schema: coverage is "only for arithmetic, geometric, harmonic, power and minimum aggregation"
    data = {k: dict(v) for k, v in PANEL.items()}
    data[("S", 2010)]["b"] = None
    agg = "power, p: 2" if aggregation == "power" else "minimum"
    weights = "weights: {A: 1, B: 2, C: 3}, " if aggregation == "power" else ""
    result = run(tmp_path, coverage_methodology(agg, weights=weights), panel_csv(data=data))
    got = column(result, "G")
    present = [(1.0, data[("S", 2010)]["a"]), (3.0, data[("S", 2010)]["c"])]
    want = (
        w_power(2)([y for _, y in present], [w for w, _ in present])
        if aggregation == "power"
        else min(y for _, y in present)
    )
    assert got[("S", 2010)] == pytest.approx(want)


def imputation_methodology(spec: str, labels: bool = False) -> str:
    head = (
        HEADER.replace(
            "data: {unit: region, period: year}",
            "data: {unit: region, period: year, labels: [macro]}",
        )
        if labels
        else HEADER
    )
    return (
        head
        + f"""\
indicators:
  A: {{formula: a}}
  B: {{formula: b}}
normalisation:
  default: {{method: min_max}}
imputation:
  default: {spec}
groups:
  G: {{members: [A, B]}}
index: {{group: G}}
"""
    )


def adjustments_of(result: api.RunResult) -> dict[tuple[str, int, str], tuple[object, float, str]]:
    adj = result.adjustments
    assert adj is not None and adj.height > 0
    return {
        (r, y, i): (b, a, act)
        for r, y, i, b, a, act in zip(
            adj["region"], adj["year"], adj["indicator"], adj["before"], adj["after"], adj["action"]
        )
    }


MISSING = {("S", 2010): "a", ("W", 2014): "a", ("C", 2014): "b"}


def with_gaps() -> dict:
    data = {k: dict(v) for k, v in PANEL.items()}
    for k, var in MISSING.items():
        data[k][var] = None
    return data


@pytest.mark.parametrize("method", ["mean", "median"])
def test_imputation_mean_median_within_period(tmp_path: Path, method: str) -> None:
    data = with_gaps()
    result = run(tmp_path, imputation_methodology(f"{{method: {method}}}"), panel_csv(data=data))
    stat = statistics.fmean if method == "mean" else statistics.median
    want_adj = {}
    for (r, y), var in MISSING.items():
        fill = stat([data[(u, y)][var] for u in REGIONS if data[(u, y)][var] is not None])
        want_adj[(r, y, var.upper())] = (None, fill, "imputed")
    got = adjustments_of(result)
    assert set(got) == set(want_adj)  # exactly the imputed points
    for k, (_b, a, act) in want_adj.items():
        assert got[k][0] is None and got[k][1] == pytest.approx(a) and got[k][2] == act
    # the normalisation sees the imputed value
    filled = {k: dict(v) for k, v in data.items()}
    for (r, y, var), (_, a, _) in want_adj.items():
        filled[(r, y)][var.lower()] = a
    for y in YEARS:
        xs = [filled[(u, y)]["a"] for u in REGIONS]
        for u in REGIONS:
            assert column(result, "A.norm")[(u, y)] == pytest.approx(
                (filled[(u, y)]["a"] - min(xs)) / (max(xs) - min(xs)) * 100
            )


def test_imputation_by_label_group(tmp_path: Path) -> None:
    macro = {"N": "north", "S": "north", "E": "north", "W": "south", "C": "south", "X": "south"}
    data = with_gaps()
    lines = ["region,year,macro,a,b,c"]
    for (r, y), row in data.items():
        lines.append(
            f"{r},{y},{macro[r]}," + ",".join("" if row[v] is None else repr(row[v]) for v in "abc")
        )
    result = run(
        tmp_path,
        imputation_methodology("{method: mean, by: [macro]}", labels=True),
        "\n".join(lines) + "\n",
    )
    want = {}
    for (r, y), var in MISSING.items():
        same = [
            data[(u, y)][var]
            for u in REGIONS
            if macro[u] == macro[r] and data[(u, y)][var] is not None
        ]
        want[(r, y, var.upper())] = sum(same) / len(same)
    got = adjustments_of(result)
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k][1] == pytest.approx(v)


def test_imputation_locf(tmp_path: Path) -> None:
    # a three-year panel: W misses a in 2014 and 2018 (carried from 2010); S misses b in 2018
    # (carried from 2014); N misses a in 2010 (nothing earlier: stays missing)
    data = {}
    for (r, y), row in PANEL.items():
        data[(r, y)] = dict(row)
    for r in REGIONS:
        data[(r, 2018)] = {v: PANEL[(r, 2014)][v] + 1.0 for v in "abc"}
    data[("W", 2014)]["a"] = None
    data[("W", 2018)]["a"] = None
    data[("S", 2018)]["b"] = None
    data[("N", 2010)]["a"] = None
    ordered = dict(
        sorted(data.items(), key=lambda kv: (-kv[0][1], kv[0][0]))
    )  # rows out of period order
    result = run(tmp_path, imputation_methodology("{method: locf}"), panel_csv(data=ordered))
    got = adjustments_of(result)
    want = {
        ("W", 2014, "A"): PANEL[("W", 2010)]["a"],
        ("W", 2018, "A"): PANEL[("W", 2010)]["a"],
        ("S", 2018, "B"): PANEL[("S", 2014)]["b"],
    }
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k][0] is None and got[k][1] == v and got[k][2] == "imputed"
    assert column(result, "A.norm")[("N", 2010)] is None


def test_imputation_override_per_indicator(tmp_path: Path) -> None:
    yaml_text = imputation_methodology("{method: none}").replace(
        "imputation:\n  default: {method: none}\n",
        "imputation:\n  default: {method: none}\n  overrides:\n    B: {method: median}\n",
    )
    data = with_gaps()
    result = run(tmp_path, yaml_text, panel_csv(data=data))
    got = adjustments_of(result)
    fill = statistics.median(
        [data[(u, 2014)]["b"] for u in REGIONS if data[(u, 2014)]["b"] is not None]
    )
    assert set(got) == {("C", 2014, "B")} and got[("C", 2014, "B")][1] == pytest.approx(fill)
    assert column(result, "A.norm")[("S", 2010)] is None


# == 5. rounding, ranking, classes ================================================================


def decimal_round(x: float, digits: int, mode: str) -> float:
    """Round the decimal value of x taken to 12 places (the schema's rule)."""
    d = Decimal(x).quantize(Decimal(1).scaleb(-12), rounding=ROUND_HALF_EVEN)
    rule = (
        ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN
    )  # ROUND_HALF_UP: ties away from 0
    return float(d.quantize(Decimal(1).scaleb(-digits), rounding=rule))


ROUND_VALUES = {
    ("p", 1): 2.675,
    ("q", 1): 2.665,
    ("r", 1): 1.005,
    ("s", 1): 0.125,
    ("t", 1): -2.675,
    ("u", 1): 2.5,
    ("v", 1): 3.5,
    ("w", 1): 2.674999999,
}


@pytest.mark.parametrize("mode", ["half_up", "half_even"])
@pytest.mark.parametrize("level", ["indicator", "normalisation", "group", "index"])
def test_rounding_at_every_level(tmp_path: Path, level: str, mode: str) -> None:
    digits = 0 if level == "index" else 2
    r = f"{{digits: {digits}, mode: {mode}}}"
    ind = f"A: {{formula: a, round: {r}}}" if level == "indicator" else "A: {formula: a}"
    norm = (
        f"{{method: formula, formula: x, round: {r}}}"
        if level == "normalisation"
        else "{method: none}"
    )
    grp = f", round: {r}" if level == "group" else ""
    idx = f", round: {r}" if level == "index" else ""
    yaml_text = (
        HEADER
        + f"""\
indicators:
  {ind}
normalisation:
  default: {norm}
groups:
  G: {{members: [A]{grp}}}
index: {{group: G{idx}}}
"""
    )
    values = dict(ROUND_VALUES)
    if level == "index":  # ties at 0 digits
        values = {
            ("p", 1): 2.5,
            ("q", 1): 3.5,
            ("r", 1): -2.5,
            ("s", 1): 0.5,
            ("t", 1): 1.4999999999999,
        }
    data = {k: {"a": v, "b": 1.0, "c": 1.0} for k, v in values.items()}
    result = run(tmp_path, yaml_text, panel_csv(data=data))
    col = {"indicator": "A", "normalisation": "A.norm", "group": "G", "index": "index"}[level]
    got = column(result, col)
    want = {k: decimal_round(v, digits, mode) for k, v in values.items()}
    assert got == want
    if level != "index":
        assert (
            got[("p", 1)] == 2.68
        )  # 2.675 is 2.67499999999999982236431605997495353221893310546875
        assert got[("q", 1)] == (2.67 if mode == "half_up" else 2.66)
        assert got[("t", 1)] == -2.68
    else:
        assert got[("p", 1)] == (3.0 if mode == "half_up" else 2.0)
        assert got[("r", 1)] == (-3.0 if mode == "half_up" else -2.0)
        assert column(result, "index_unrounded") == values


def test_rounding_before_ranking_shares_ranks(tmp_path: Path) -> None:
    yaml_text = (
        HEADER
        + """\
indicators:
  A: {formula: a}
normalisation:
  default: {method: none}
groups:
  G: {members: [A]}
index: {group: G, round: {digits: 1, mode: half_up}}
ranking: {order: descending, ties: min}
"""
    )
    values = {("p", 1): 7.26, ("q", 1): 7.34, ("r", 1): 7.25, ("s", 1): 9.0}
    data = {k: {"a": v, "b": 1.0, "c": 1.0} for k, v in values.items()}
    result = run(tmp_path, yaml_text, panel_csv(data=data))
    assert column(result, "index") == {("p", 1): 7.3, ("q", 1): 7.3, ("r", 1): 7.3, ("s", 1): 9.0}
    assert column(result, "rank") == {("p", 1): 2, ("q", 1): 2, ("r", 1): 2, ("s", 1): 1}


def rank_hand(values: dict, descending: bool, ties: str) -> dict:
    present = [v for v in values.values() if v is not None]
    out = {}
    for k, v in values.items():
        if v is None:
            out[k] = None
            continue
        better = sum(1 for x in present if (x > v if descending else x < v))
        equal = sum(1 for x in present if x == v)
        if ties == "min":
            out[k] = better + 1
        elif ties == "max":
            out[k] = better + equal
        elif ties == "average":
            out[k] = better + (equal + 1) / 2
        else:  # dense: 1 + number of distinct better values
            out[k] = len({x for x in present if (x > v if descending else x < v)}) + 1
    return out


@pytest.mark.parametrize("ties", ["min", "dense", "average", "max"])
@pytest.mark.parametrize("order", ["descending", "ascending"])
def test_ranking_order_and_ties(tmp_path: Path, order: str, ties: str) -> None:
    yaml_text = (
        HEADER
        + f"""\
indicators:
  A: {{formula: a}}
normalisation:
  default: {{method: none}}
groups:
  G: {{members: [A]}}
index: {{group: G}}
ranking: {{order: {order}, ties: {ties}}}
"""
    )
    values = {
        ("p", 1): 5.0,
        ("q", 1): 3.0,
        ("r", 1): 5.0,
        ("s", 1): 1.0,
        ("t", 1): 3.0,
        ("u", 1): 5.0,
        ("v", 1): None,
        ("p", 2): 1.0,
        ("q", 2): 2.0,
        ("r", 2): 2.0,
    }
    data = {k: {"a": v, "b": 1.0, "c": 1.0} for k, v in values.items()}
    result = run(tmp_path, yaml_text, panel_csv(data=data))
    want = {}
    for y in (1, 2):
        want.update(
            rank_hand({k: v for k, v in values.items() if k[1] == y}, order == "descending", ties)
        )
    close(column(result, "rank"), want)
    if order == "descending" and ties == "min":
        assert [column(result, "rank")[(u, 1)] for u in "pqrstu"] == [1, 4, 1, 6, 4, 1]
    if order == "descending" and ties == "dense":
        assert [column(result, "rank")[(u, 1)] for u in "pqrstu"] == [1, 2, 1, 3, 2, 1]
    if order == "descending" and ties == "average":
        assert [column(result, "rank")[(u, 1)] for u in "pqrstu"] == [2, 4.5, 2, 6, 4.5, 2]


QUINTILES = ["Q1", "Q2", "Q3", "Q4", "Q5"]


def quantile_classes(values: dict, labels: list[str]) -> dict:
    xs = [v for v in values.values()]
    k = len(labels)
    cuts = [quantile7(xs, j / k) for j in range(1, k)]
    return {u: labels[k - 1 - sum(1 for c in cuts if v >= c)] for u, v in values.items()}


def classes_methodology() -> str:
    return (
        HEADER
        + """\
indicators:
  A: {formula: a}
normalisation:
  default: {method: none}
groups:
  G: {members: [A]}
index: {group: G}
classes:
  quantiles: [Q1, Q2, Q3, Q4, Q5]
"""
    )


def test_quintiles_of_ten_units_two_per_class(tmp_path: Path) -> None:
    values = {
        (f"u{i}", 1): v for i, v in enumerate([3.1, 9.4, 0.2, 7.7, 5.5, 1.8, 6.6, 8.8, 4.4, 2.9])
    }
    data = {k: {"a": v, "b": 1.0, "c": 1.0} for k, v in values.items()}
    got = column(run(tmp_path, classes_methodology(), panel_csv(data=data)), "class")
    assert got == quantile_classes(values, QUINTILES)
    assert sorted(got.values()) == sorted(QUINTILES * 2)
    assert got[("u1", 1)] == "Q1" and got[("u2", 1)] == "Q5"


def test_quintiles_value_on_a_cut_goes_to_the_upper_class(tmp_path: Path) -> None:
    # six units 0..5: the j/5 quantiles (h = 5 j / 5 = j) are exactly 1, 2, 3, 4
    values = {(f"u{i}", 1): float(i) for i in range(6)}
    data = {k: {"a": v, "b": 1.0, "c": 1.0} for k, v in values.items()}
    got = column(run(tmp_path, classes_methodology(), panel_csv(data=data)), "class")
    assert got == {
        ("u0", 1): "Q5",
        ("u1", 1): "Q4",
        ("u2", 1): "Q3",
        ("u3", 1): "Q2",
        ("u4", 1): "Q1",
        ("u5", 1): "Q1",
    }
    assert got == quantile_classes(values, QUINTILES)


def test_quintiles_within_each_period(tmp_path: Path) -> None:
    result = run(tmp_path, classes_methodology(), panel_csv())
    got = column(result, "class")
    for y in YEARS:
        vals = {(r, y): PANEL[(r, y)]["a"] for r in REGIONS}
        assert {k: got[k] for k in vals} == quantile_classes(vals, QUINTILES)
