"""The winsorisation procedure (engine/backends/polars/winsorise.py) against the plain-Python
transcription of COINr's Treat() in tests/test_treatment.py: many indicators and periods
in one pass, missing values, groups without values, the order of the rows, COINr's
force_win, the plan cache's replay, and the sensitivity analysis computing it once."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_treatment import heavy, left_skewed, outliers, passes, skew, symmetric, tied_top, treat

from engine import api
from engine.backends.polars import winsorise as w
from engine.methods import winsorise as template

#: every test runs on both implementations of the winsorisation bounds (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("winsorise_path")

GENERATORS = [outliers, symmetric, heavy, left_skewed, tied_top]
DEFAULT = {"skew": 2.0, "kurtosis": 3.5, "max_points": 5, "force": False, "second": True}


def reference_bounds(x: list[float], winmax: int = 5, force: bool = False) -> tuple:
    """(lower, upper, second) from the reference: the winsorised values' min and max, and
    whether the log is taken. With `force`, COINr's force_win: a series failing at first
    is winsorised until `winmax` points have changed."""
    failing = not passes(x)
    if force and failing:
        v = list(x)
        while sum(a != b for a, b in zip(v, x)) < winmax and len(set(v)) > 1:
            if skew(v) >= 0:
                hi = max(v)
                nxt = max(a for a in v if a < hi)
                v = [nxt if a == hi else a for a in v]
            else:
                lo = min(v)
                nxt = min(a for a in v if a > lo)
                v = [nxt if a == lo else a for a in v]
        return min(v), max(v), float(not passes(v))
    values, branch = treat(x, winmax)
    if branch == "log":
        from test_treatment import winsorise

        values = winsorise(x, winmax)[0]
    return min(values), max(values), float(branch == "log")


def frame_of(series: dict[tuple[str, int], list[float | None]]) -> pl.DataFrame:
    """One column per indicator name, rows (unit, year); missing where a series is short."""
    names = sorted({name for name, _ in series})
    years = sorted({year for _, year in series})
    rows = []
    for year in years:
        n = max(len(series.get((name, year), [])) for name in names)
        for i in range(n):
            row: dict[str, object] = {"unit": f"u{i:03d}", "year": year}
            for name in names:
                values = series.get((name, year), [])
                row[name] = values[i] if i < len(values) else None
            rows.append(row)
    return pl.DataFrame(
        rows, schema={"unit": pl.String, "year": pl.Int64} | dict.fromkeys(names, pl.Float64)
    )


def estimated(frame: pl.DataFrame, names: list[str], params: dict | None = None) -> dict:
    outputs = [(n, part, f"{n}.{part}") for n in names for part in ("lower", "upper", "second")]
    table = w.estimate_frame(frame, ["year"], outputs, params or DEFAULT)
    return {(r.pop("year")): r for r in table.iter_rows(named=True)}


def test_many_indicators_and_periods_in_one_pass() -> None:
    series: dict[tuple[str, int], list[float | None]] = {}
    for j, gen in enumerate(GENERATORS):
        for year, seed in ((2010, 1 + j), (2014, 7 + j), (2018, 13 + j)):
            series[(f"x{j}", year)] = gen(seed)
    got = estimated(frame_of(series), [f"x{j}" for j in range(len(GENERATORS))])
    for (name, year), x in series.items():
        lower, upper, second = reference_bounds([v for v in x if v is not None])
        row = got[year]
        assert (row[f"{name}.lower"], row[f"{name}.upper"], row[f"{name}.second"]) == (
            lower,
            upper,
            second,
        ), (name, year)


def test_missing_values_take_no_part_and_an_empty_group_has_no_bounds() -> None:
    x = heavy(2)
    with_gaps: list[float | None] = [None if i % 7 == 0 else v for i, v in enumerate(x)]
    series = {("a", 1): with_gaps, ("a", 2): [None] * 10, ("b", 2): symmetric(1)[:10]}
    got = estimated(frame_of(series), ["a", "b"])
    assert (got[1]["a.lower"], got[1]["a.upper"], got[1]["a.second"]) == reference_bounds(
        [v for v in with_gaps if v is not None]
    )
    assert got[2]["a.lower"] is None and got[2]["a.upper"] is None and got[2]["a.second"] is None
    assert got[1]["b.lower"] is None  # no value of b in year 1


@pytest.mark.parametrize("seed", [2, 5, 9])
@pytest.mark.parametrize("winmax", [1, 3, 5])
def test_force_win_matches_the_reference(seed: int, winmax: int) -> None:
    x = heavy(seed)
    params = {**DEFAULT, "force": True, "max_points": winmax}
    got = estimated(frame_of({("a", 1): x}), ["a"], params)[1]
    assert (got["a.lower"], got["a.upper"], got["a.second"]) == reference_bounds(
        x, winmax, force=True
    )


def test_no_second_step_never_flags() -> None:
    got = estimated(frame_of({("a", 1): heavy(2)}), ["a"], {**DEFAULT, "second": False})[1]
    assert got["a.second"] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=0,
        max_size=40,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_row_order_changes_nothing(values: list[float], seed: int) -> None:
    """The bounds are the same bits whatever the order of the rows (sums in value order)."""
    x = values + [v * 1e3 for v in values[:3]]  # some outliers
    frame = pl.DataFrame({"year": [1] * len(x), "a": x}, schema={"year": pl.Int64, "a": pl.Float64})
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    outputs = [("a", p, p) for p in ("lower", "upper", "second")]
    one = w.estimate_frame(frame, ["year"], outputs, DEFAULT)
    two = w.estimate_frame(shuffled, ["year"], outputs, DEFAULT)
    assert one.equals(two)
    if len(x) >= 1:
        # and the clip bounds are values of the data
        assert one["lower"][0] in x and one["upper"][0] in x


def test_the_plan_holds_three_procedure_steps_and_a_clip() -> None:
    steps = template.treatment_steps(
        "A", ("year",), "A", {"skew": 2, "kurtosis": 3.5, "max_points": 5}
    )
    names = [name for name, _ in steps]
    assert names == ["A.treat.lower", "A.treat.upper", "A.treat.second", "A.treated"]
    params = json.loads(str(steps[0][1].args[4]))
    assert params == {"force": False, "kurtosis": 3.5, "max_points": 5, "second": True, "skew": 2.0}


def test_the_rows_before_a_call_are_computed_once_and_keep_their_order() -> None:
    """A call reads the rows before it twice (the estimation and the join): they are
    computed once, and every row gets its group's bounds, in the rows' order."""
    from engine.backends.polars import procedures

    runs = []

    def upstream(frame: pl.DataFrame) -> pl.DataFrame:  # stands for an imputation
        runs.append(frame.height)
        return frame

    x = outliers(5)[:20]
    rows = pl.DataFrame({"year": [2001, 2000] * 10, "A": x}).lazy().map_batches(upstream)
    call = procedures.Call("winsorise", ("year",), json.dumps(DEFAULT), (("A", "upper", "hi"),))
    got = procedures.apply(rows, call).collect()
    assert runs == [20]
    assert got.columns == ["year", "A", "hi"]
    for year, hi in zip(got["year"], got["hi"]):
        mine = [v for v, y in zip(x, [2001, 2000] * 10) if y == year]
        assert hi == reference_bounds(mine)[1]


# -- through a run ----------------------------------------------------------------------------

METHODOLOGY = """\
indexlab: 1
id: treat-many
title: many treated indicators
data: {unit: unit, period: year}
inputs: {a: {}, b: {}, c: {}}
indicators: {A: {formula: a}, B: {formula: b}, C: {formula: c}}
imputation: {default: {method: mean}}
treatment: {default: {method: winsorise_log}}
normalisation: {default: {method: min_max}}
groups: {G: {members: [A, B, C]}}
index: {group: G}
"""


@pytest.fixture
def panel(tmp_path: Path) -> tuple[Path, Path, dict]:
    rng = random.Random(3)
    gens = {"a": heavy, "b": outliers, "c": symmetric}
    rows, expected = [], {}
    for year, seed in ((2010, 2), (2014, 4), (2018, 8)):
        columns = {k: g(seed)[:20] for k, g in gens.items()}
        for k in columns:
            columns[k][rng.randrange(20)] = None  # a gap, imputed by the mean
        for i in range(20):
            rows.append(
                {"unit": f"u{i:02d}", "year": year, **{k: v[i] for k, v in columns.items()}}
            )
        for k, v in columns.items():
            present = [x for x in v if x is not None]
            mean = math.fsum(present) / len(present)
            filled = [x if x is not None else mean for x in v]
            expected[(k.upper(), year)] = dict(
                zip((f"u{i:02d}" for i in range(20)), treat(filled)[0])
            )
    data = tmp_path / "d.csv"
    pl.DataFrame(rows).write_csv(data)
    yaml = tmp_path / "m.yaml"
    yaml.write_text(METHODOLOGY, encoding="utf-8")
    return yaml, data, expected


def _check(frame: pl.DataFrame, expected: dict) -> None:
    for (name, year), want in expected.items():
        part = frame.filter(pl.col("year") == year)
        got = dict(zip(part["unit"], part[f"{name}.treated"]))
        for unit, value in want.items():
            assert math.isclose(got[unit], value, rel_tol=1e-12, abs_tol=1e-12), (name, year, unit)


def test_a_run_treats_every_indicator_and_period(panel: tuple[Path, Path, dict]) -> None:
    yaml, data, expected = panel
    _check(api.run(yaml, [data]).frame, expected)


def test_the_plan_cache_replays_the_procedure(
    panel: tuple[Path, Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import fastrun
    from engine.io import read

    yaml, data, _ = panel
    monkeypatch.setenv("INDEXLAB_PLAN_CACHE", str(tmp_path / "plans"))
    from typer.testing import CliRunner

    from engine.cli import app

    out = tmp_path / "out.csv"
    first = CliRunner().invoke(app, ["run", str(yaml), str(data), "-q", "-o", str(out)])
    assert first.exit_code == 0, first.output
    cached = fastrun.run_cached(yaml, [data], read.ReadOptions())
    assert isinstance(cached, fastrun.CachedResult)
    full = api.run(yaml, [data])
    assert cached.frame.equals(full.frame)
    assert cached.adjustments is not None and full.adjustments is not None
    assert cached.adjustments.equals(full.adjustments)


def test_sensitivity_treats_once_per_choice(panel: tuple[Path, Path, dict]) -> None:
    """With normalisation alternatives only, the treatment is estimated once per
    normalisation choice, not per replication: the prepared table holds one copy of the
    data per choice."""
    from engine.analysis import sensitivity as sa
    from engine.analysis import sensitivity_prepare as prep
    from engine.analysis.sensitivity_plan import replicated_plan

    yaml, data, _ = panel
    text = METHODOLOGY + (
        "uncertainty:\n  replications: 30\n  seed: 2\n  normalisation:\n    alternatives:\n"
        "      - {method: min_max}\n      - {method: z_score}\n"
    )
    yaml.write_text(text, encoding="utf-8")
    validated = api.validate(yaml)
    m = validated.methodology
    units = api.read_data(m, [data]).units
    params, _ = sa.design_table(m, m.uncertainty, 30, 2, False)
    plan = replicated_plan(m, m.uncertainty)
    steps = prep.split(plan, [c for c in params.columns if c not in sa.BEFORE_AGGREGATION])
    once = {s.column for s in steps.once}
    assert {"A.treat.lower", "A.treated", "A.norm"} <= once
    assert "index" not in once and "G" not in once
    runs = sa.run_replications(m, units, params)
    nominal = api.run(yaml, [data]).frame.sort("unit", "year")
    rep = params.filter(pl.col(sa.NORM_CHOICE) == 0)[sa.REP][0]
    got = runs.filter(pl.col(sa.REP) == rep).sort("unit", "year")
    # no weight is perturbed: the replication with min-max is the nominal run
    assert np.allclose(got["index"].to_numpy(), nominal["index"].to_numpy(), rtol=1e-12, atol=0)
    assert got.height == nominal.height
