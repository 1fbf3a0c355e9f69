"""Properties of a whole run on random positive data (hypothesis).

A small methodology (3-5 indicators in 2 groups, leader share or min-max) is generated
as YAML, validated by the API and executed on random frames of 1-3 periods and 2-12
units. The properties hold whatever the data: row order does not matter, only weight
ratios matter, the leader scores exactly the scale, runs are reproducible bit for bit,
min-max spans its range, and class bands treat their bounds as documented.
"""

from __future__ import annotations

import atexit
import itertools
import math
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import api
from engine.backends.polars.execute import classify
from engine.format.model import Band, ClassScheme

SETTINGS = settings(max_examples=80, deadline=None)
_TMP = Path(tempfile.mkdtemp(prefix="indexlab-props-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def methodology_yaml(
    n: int,
    norm: str,
    weights: tuple[float, ...] | None = None,
    rng: tuple[float, float] | None = None,
) -> str:
    names = [f"I{i}" for i in range(n)]
    half = n // 2
    g1, g2 = names[:half], names[half:]
    if norm == "leader_share":
        norm_spec = "{method: leader_share, scale: 100}"
    else:
        lo, hi = rng or (0, 100)
        norm_spec = f"{{method: min_max, range: [{lo!r}, {hi!r}]}}"

    def group(members: list[str]) -> str:
        text = f"{{members: [{', '.join(members)}]"
        if weights is not None:
            text += (
                ", weights: {"
                + ", ".join(f"{m}: {weights[names.index(m)]!r}" for m in members)
                + "}"
            )
        return text + "}"

    inputs = "\n".join(f"  i{i}: {{}}" for i in range(n))
    indicators = "\n".join(f"  I{i}: {{formula: i{i}}}" for i in range(n))
    return f"""\
indexlab: 1
id: props
title: property test
data: {{unit: region, period: year}}
inputs:
{inputs}
indicators:
{indicators}
normalisation:
  default: {norm_spec}
groups:
  G1: {group(g1)}
  G2: {group(g2)}
index: {{formula: (G1 + G2) / 2}}
classes:
  bands:
    - {{label: high, min: 50, max: 100}}
    - {{label: low, min: 0, max: 50}}
"""


@lru_cache(maxsize=512)
def validated(text: str) -> api.Validated:
    path = _TMP / f"m{abs(hash(text))}.yaml"
    path.write_text(text, encoding="utf-8")
    return api.validate(path)


positive = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def panels(draw: st.DrawFn) -> tuple[int, pl.DataFrame]:
    """(number of indicators, frame): distinct positive values per indicator and period."""
    n = draw(st.integers(3, 5))
    periods = draw(st.integers(1, 3))
    units = draw(st.integers(2, 12))
    cols: dict[str, list] = {"region": [], "year": []}
    for p in range(periods):
        cols["region"] += [f"u{u:02d}" for u in range(units)]
        cols["year"] += [2010 + p] * units
    for i in range(n):
        values: list[float] = []
        for _ in range(periods):
            values += draw(st.lists(positive, min_size=units, max_size=units, unique=True))
        cols[f"i{i}"] = values
    return n, pl.DataFrame(cols, schema_overrides={"year": pl.Int64})


def run(text: str, frame: pl.DataFrame) -> pl.DataFrame:
    return api.execute(validated(text), frame).frame


# (1) row order --------------------------------------------------------------------------------


@SETTINGS
@given(panels(), st.sampled_from(["leader_share", "min_max"]), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(panel, norm, rnd) -> None:  # type: ignore[no-untyped-def]
    n, frame = panel
    text = methodology_yaml(n, norm)
    order = list(range(frame.height))
    rnd.shuffle(order)
    shuffled = frame[order]
    a = run(text, frame).sort("region", "year")
    b = run(text, shuffled).sort("region", "year")
    assert a.equals(b)


# (2) only weight ratios matter ------------------------------------------------------------------


@SETTINGS
@given(
    panels(),
    st.sampled_from(["leader_share", "min_max"]),
    st.lists(st.sampled_from([0.5, 1, 2, 3, 0.25, 1.5, 7]), min_size=5, max_size=5),
    st.sampled_from([0.001, 0.1, 0.3, 2, 3, 10, 1000, 7.5]),
)
def test_scaling_the_weights_of_a_group_changes_nothing(panel, norm, weights, k) -> None:  # type: ignore[no-untyped-def]
    n, frame = panel
    w = tuple(float(x) for x in weights[:n])
    half = n // 2
    scaled = tuple(x * k if i < half else x for i, x in enumerate(w))  # every weight of G1 times k
    a = run(methodology_yaml(n, norm, w), frame)
    b = run(methodology_yaml(n, norm, scaled), frame)
    for col in ("G1", "G2", "index"):
        for x, y in zip(a[col], b[col]):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (col, x, y)


# (3) the leader scores exactly 100 -------------------------------------------------------------------


@SETTINGS
@given(panels())
def test_the_leader_scores_exactly_100(panel) -> None:  # type: ignore[no-untyped-def]
    n, frame = panel
    out = run(methodology_yaml(n, "leader_share"), frame)
    for (year,), part in out.group_by(["year"]):
        for i in range(n):
            raw, norm = part[f"I{i}"], part[f"I{i}.norm"]
            top = raw.max()
            leaders = [s for r, s in zip(raw, norm) if r == top]
            assert leaders == [100.0], (year, i)
            assert norm.max() == 100.0
            assert all(0 < s <= 100.0 for s in norm)
            # and every share is x / max(x) * 100 by hand
            for r, s in zip(raw, norm):
                assert math.isclose(s, r / top * 100, rel_tol=1e-15)


def test_the_leader_scores_exactly_100_in_a_single_period() -> None:
    # 43.7578125 * (1 / 43.7578125) is 0.9999999999999999: the share must be a true division
    leader = 43.7578125
    assert leader * (1 / leader) != 1.0
    frame = pl.DataFrame(
        {
            "region": ["u0", "u1", "u2"],
            "year": [2010] * 3,
            "i0": [1.0, leader, 2.0],
            "i1": [1.0, 2.0, 3.0],
            "i2": [5.0, 4.0, 3.0],
        }
    )
    out = run(methodology_yaml(3, "leader_share"), frame)
    assert out["I0.norm"].to_list() == [1.0 / leader * 100, 100.0, 2.0 / leader * 100]


def test_min_max_hits_the_upper_end_exactly() -> None:
    # (0.03 - -0.02) + -0.02 is 0.030000000000000002 in floating point: outside [l, u]
    assert (0.03 - -0.02) + -0.02 != 0.03
    frame = pl.DataFrame(
        {
            "region": ["u0", "u1"],
            "year": [2010] * 2,
            "i0": [1.0, 2.0],
            "i1": [1.0, 2.0],
            "i2": [2.0, 1.0],
        }
    )
    out = run(methodology_yaml(3, "min_max", rng=(-0.02, 0.03)), frame)
    assert out["I0.norm"].to_list() == [-0.02, 0.03]
    assert out["I2.norm"].to_list() == [0.03, -0.02]


def test_min_max_of_a_single_period_divides_exactly() -> None:
    # max - min is 999998, and 999998 * (1 / 999998) is 0.9999999999999999: the best unit
    # must still get exactly the top of the range (found by the property below)
    assert 999998.0 * (1 / 999998.0) != 1.0
    frame = pl.DataFrame(
        {
            "region": ["u0", "u1", "u2"],
            "year": [2010] * 3,
            "i0": [1.0, 999999.0, 2.0],
            "i1": [1.0, 2.0, 3.0],
            "i2": [2.0, 1.0, 3.0],
        }
    )
    out = run(methodology_yaml(3, "min_max", rng=(0, 1)), frame)
    assert out["I0.norm"].to_list() == [0.0, 1.0, 1.0 / 999998.0]


# (4) reproducible ------------------------------------------------------------------------------------


@SETTINGS
@given(panels(), st.sampled_from(["leader_share", "min_max"]))
def test_two_runs_are_bit_identical(panel, norm) -> None:  # type: ignore[no-untyped-def]
    n, frame = panel
    text = methodology_yaml(n, norm)
    first = run(text, frame)
    second = api.execute(validated(text), frame.clone()).frame
    assert first.equals(second)
    # bit for bit, not just ==: the exact binary value of every float
    for col in first.columns:
        if first[col].dtype == pl.Float64:
            assert [v.hex() for v in first[col]] == [v.hex() for v in second[col]]


# (5) min-max spans its range ----------------------------------------------------------------------------

ranges = st.tuples(st.integers(-1000, 1000), st.integers(1, 1000)).map(
    lambda t: (t[0], t[0] + t[1])
) | st.tuples(st.decimals(-100, 100, places=2), st.decimals("0.01", 100, places=2)).map(
    lambda t: (float(t[0]), float(t[0] + t[1]))
)


@settings(max_examples=80, deadline=None, report_multiple_bugs=False)
@given(panels(), ranges)
def test_min_max_lands_in_the_range_and_hits_both_ends(panel, rng) -> None:  # type: ignore[no-untyped-def]
    n, frame = panel
    lo, hi = rng
    assume(lo < hi)
    out = run(methodology_yaml(n, "min_max", rng=(lo, hi)), frame)
    for (year,), part in out.group_by(["year"]):
        for i in range(n):
            raw, norm = part[f"I{i}"].to_list(), part[f"I{i}.norm"].to_list()
            assert all(lo <= s <= hi for s in norm), (year, i, lo, hi, norm)
            assert norm[raw.index(min(raw))] == lo
            assert norm[raw.index(max(raw))] == hi


# (6) class bands ----------------------------------------------------------------------------------------


@st.composite
def schemes(draw: st.DrawFn) -> ClassScheme:
    bounds = sorted(draw(st.lists(st.integers(-50, 150), min_size=2, max_size=7, unique=True)))
    bands = [
        Band(f"b{i}", float(lo), float(hi)) for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]
    return ClassScheme(tuple(reversed(bands)), "lower", 1e-9)


def classes_of(scheme: ClassScheme, values: list[float]) -> list[str | None]:
    frame = pl.DataFrame({"index": values}, schema={"index": pl.Float64})
    label, _ = classify(scheme, pl.col("index"))
    return frame.select(label.alias("c"))["c"].to_list()


def hand_class(scheme: ClassScheme, v: float) -> str | None:
    """[min, max) for every band, [min, max] for the top one, written out."""
    top = scheme.bands[0]
    for b in scheme.bands:
        if b.lower <= v < b.upper or (b is top and v == b.upper):
            return b.label
    return None


@SETTINGS
@given(schemes(), st.data())
def test_a_value_on_a_bound_goes_to_the_band_it_opens(scheme, data) -> None:  # type: ignore[no-untyped-def]
    bounds = sorted({b.lower for b in scheme.bands} | {scheme.bands[0].upper})
    values = list(bounds)
    # just below a bound by floating-point error counts as on it
    values += [math.nextafter(v, -math.inf) for v in bounds]
    values += [math.nextafter(math.nextafter(v, -math.inf), -math.inf) for v in bounds]
    # clearly inside a band, and clearly outside all bands
    values += [data.draw(st.floats(bounds[0], bounds[-1])) for _ in range(5)]
    values += [bounds[0] - 1.0, bounds[-1] + 1.0]
    got = classes_of(scheme, values)
    for v, g in zip(values, got):
        near = [b for b in bounds if abs(v - b) <= 1e-9]
        want = hand_class(scheme, near[0] if near else v)
        assert g == want, (v, g, want)


def test_classes_worked_example_through_the_api() -> None:
    text = """\
indexlab: 1
id: classes
title: classes
data: {unit: region, period: year}
inputs:
  a: {}
indicators:
  A: {formula: a}
normalisation:
  default: {method: none}
index: {formula: A}
classes:
  bands:
    - {label: A++, min: 90, max: 100}
    - {label: A+, min: 80, max: 90}
    - {label: C++, min: 30, max: 40}
    - {label: C+, min: 20, max: 30}
    - {label: D, min: 0, max: 20}
    - {label: B, min: 40, max: 80}
"""
    cases = {
        0.0: "D",
        20.0: "C+",
        30.0: "C++",
        90.0: "A++",
        100.0: "A++",
        99.99: "A++",
        29.999999999999996: "C++",  # 10 * 3 * 0.1 * 10 style error: on the bound
        0.1 * 3 * 100: "C++",  # 30.000000000000004
        89.99999999999999: "A++",
        29.9999: "C+",
        39.99: "C++",
        80.0: "A+",
        40.0: "B",
        79.99999: "B",
        100.00000000000001: "A++",
        100.5: None,
        -0.5: None,
    }
    assert 0.1 * 3 * 100 != 30.0 and 29.999999999999996 != 30.0
    frame = pl.DataFrame(
        {
            "region": [f"r{i}" for i in range(len(cases))],
            "year": [2010] * len(cases),
            "a": list(cases),
        }
    )
    out = run(text, frame)
    got = dict(zip(out["A"], out["class"]))
    assert got == cases
