"""The two implementations of COINr's winsorisation bounds give the same bits.

engine/backends/polars/winsorise.py estimates a small frame in plain Python
(winsorise_python.py: a run of COINr's ASEM example never imports numpy) and a large one
with numpy (winsorise_numpy.py). The choice must never show in a result: the bounds and
second-step flags are compared bit for bit (a -0.0 is not a 0.0) on segments with ties,
all-equal values, fewer than 4 values, infinities, magnitudes from subnormal to 1e300,
segments longer than numpy's 128-value summation block, every max_points from 0 to 6,
COINr's force_win and without the second step; then whole frames with groups, missing
values, NaN and zeros of both signs in any row order. The existing treatment tests run on
both implementations too (the ``winsorise_path`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import math
import random
import struct
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_cli_startup import ROOT, cli

from engine.backends.polars import winsorise as w
from engine.backends.polars import winsorise_numpy, winsorise_python
from engine.backends.polars.winsorise import Settings


def bits(values: list[float | None]) -> list[bytes | None]:
    return [None if v is None else struct.pack("<d", v) for v in values]


def _segment(seed: int, n: int, scale: float) -> list[float]:
    """Heavy-tailed values from a seed (often failing COINr's test), rounded to 1/8 of
    `scale` half the time so that they tie."""
    rng = random.Random(seed)
    x = [rng.lognormvariate(0, 2) * scale * rng.choice((-1, 1, 1, 1)) for _ in range(n)]
    if seed % 2:
        x = [round(v * 8 / scale) * scale / 8 for v in x]
    return x


special = st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 2.2e-308, 1e300, -1e300, math.inf, -math.inf]
)
value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
    st.integers(-5, 5).map(float),  # ties
    special,
)
drawn = st.lists(value, min_size=1, max_size=40)
seeded = st.builds(
    _segment,
    st.integers(0, 10_000),
    st.integers(1, 400),
    st.sampled_from([1e-300, 1e-5, 1.0, 1e5, 1e150]),
)
equal = st.builds(lambda v, n: [v] * n, value, st.integers(1, 12))
segments = st.lists(st.one_of(drawn, seeded, equal), min_size=1, max_size=12)
settings_ = st.builds(
    Settings,
    skew=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]),
    kurtosis=st.sampled_from([-3.0, 0.0, 1.0, 3.5, 10.0]),
    max_points=st.integers(0, 6),
    force=st.booleans(),
    second=st.booleans(),
)


def both(segs: list[list[float]], s: Settings) -> None:
    x = [v for seg in segs for v in sorted(seg)]
    starts = [0]
    for seg in segs[:-1]:
        starts.append(starts[-1] + len(seg))
    by_numpy = winsorise_numpy.estimate(np.array(x), np.array(starts, dtype=np.intp), s)
    by_python = winsorise_python.estimate(x, starts, s)
    by_numpy_parts = (by_numpy.lower, by_numpy.upper, by_numpy.second)
    for part, a, b in zip(("lower", "upper", "second"), by_python, by_numpy_parts):
        assert bits(a) == bits(b.tolist()), part


@settings(max_examples=300, deadline=None)
@given(segs=segments, s=settings_)
@example(segs=[[-0.0, 0.0, 0.0, 0.0, 7.0]], s=Settings(0.0, -3.0, 3, force=True))
@example(segs=[[5e-324, 0.0, 0.0, 0.0, 0.0]], s=Settings(0.0, -3.0, 2))  # m2 underflows
@example(segs=[[1e300, -1e300, 0.0, 1.0, 2.0]], s=Settings(0.0, -3.0, 4))  # overflows
@example(segs=[[math.inf, 1.0, 2.0, 3.0, -math.inf]], s=Settings(0.0, -3.0, 4, force=True))
def test_the_bounds_are_the_same_bits(segs: list[list[float]], s: Settings) -> None:
    both(segs, s)


def test_many_long_segments() -> None:
    """600 segments of up to 1,000 values (numpy's summation splits past 128)."""
    rng = random.Random(5)
    segs = [
        _segment(rng.randrange(10**6), rng.choice([4, 9, 51, 129, 300, 1000]), 1.0)
        for _ in range(600)
    ]
    for force in (False, True):
        both(segs, Settings(2.0, 3.5, 5, force=force))


def test_the_sums_are_numpys_reduceat() -> None:
    """A segment's sum is the first value plus numpy's pairwise sum of the others, not a
    running sum: the two differ for most of these."""
    rng = random.Random(1)
    for n in [*range(1, 300), 1023, 1024, 1025, 8193, 20_000]:
        x = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(n)]
        want = np.add.reduceat(np.array([0.5, *x]), [0, 1])[1]
        assert winsorise_python._total(x).hex() == float(want).hex(), n


cell = st.one_of(st.none(), st.just(math.nan), value.filter(math.isfinite))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from([None, 1, 2, 3]), cell, cell), min_size=0, max_size=60),
    seed=st.integers(0, 2**32 - 1),
    s=settings_,
    keyed=st.booleans(),
)
def test_whole_frames_are_the_same_bits_in_any_row_order(
    rows: list[tuple[int | None, float | None, float | None]],
    seed: int,
    s: Settings,
    keyed: bool,
) -> None:
    frame = pl.DataFrame(
        rows, schema={"g": pl.Int64, "a": pl.Float64, "b": pl.Float64}, orient="row"
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    keys = ["g"] if keyed else []
    outputs = [(c, p, f"{c}.{p}") for c in ("a", "b") for p in ("lower", "upper", "second")]
    params = s.__dict__
    got = {}
    with pytest.MonkeyPatch.context() as m:
        for name in ("python", "numpy"):
            m.setattr(w, "_plain", lambda cells, name=name: name == "python")
            for order, data in (("rows", frame), ("shuffled", shuffled)):
                table = w.estimate_frame(data, keys, outputs, params)
                table = table.sort("g", nulls_last=True) if keyed else table
                got[(name, order)] = {c: bits(table[c].to_list()) for c in table.columns}
    first = got[("python", "rows")]
    for k, v in got.items():
        assert v == first, k


def test_missing_and_nan_take_no_part(winsorise_path: str) -> None:
    frame = pl.DataFrame({"a": [1.0, None, math.nan, 2.0, 3.0, 4.0, 100.0]})
    params = {"skew": 1.0, "kurtosis": 1.0, "max_points": 1}
    got = w.estimate_frame(frame, [], [("a", "upper", "hi"), ("a", "lower", "lo")], params)
    assert got.rows() == [(4.0, 1.0)]


def test_plain_python_only_below_the_threshold_and_before_numpy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not w._plain(10)  # numpy is imported here: it is the faster at any size
    monkeypatch.delitem(sys.modules, "numpy")
    assert w._plain(w.PYTHON_BELOW - 1)
    assert not w._plain(w.PYTHON_BELOW)


def test_coinr_asem_first_run_imports_no_numpy(tmp_path: Path) -> None:
    """COINr's ASEM example (51 units x 49 indicators, winsorise_log) runs without numpy,
    whose import would cost about 0.045 s of its whole process."""
    asem = ROOT / "examples" / "coinr-asem"
    args = ("run", str(asem / "asem.yaml"), str(asem / "asem.csv"), "-q")
    first = cli(*args, "-o", str(tmp_path / "out.csv"))
    assert first.returncode == 0, first.stderr
    assert "numpy" not in first.stderr.splitlines()[-1]
