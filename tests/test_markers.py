"""Undefined markers counted from the values (engine/backends/polars/markers.py).

A run's query leaves out the marker of a step whose undefined rows are its missing
values where its inputs are present; the audit computes the marker on the result only
when a count says it may be needed (data with missing values, an undefined result).
The report must be the one a query with every marker gives, and the rows it names must
be those a plain-Python reading of the data finds, including an undefined part hidden
in a row whose value is missing anyway because another input is.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_plancache import PROBE  # runs the CLI in-process, says whether sympy was imported

from engine import api
from engine.backends.polars import markers, steps
from engine.backends.polars.compile import Context, compile_step
from engine.diagnostics import Code, DataError
from engine.formula.parser import Formula, Scope, parse_formula
from engine.plan import Plan

ROOT = Path(__file__).resolve().parent.parent

#: four regions, two years: y is 0 in three rows (one with x missing, one with z
#: missing), x is negative once and missing once, z missing twice
ROWS = [
    ("A", 2010, 4.0, 2.0, 1.0),
    ("B", 2010, 3.0, 0.0, None),  # x / y undefined, hidden: z is missing
    ("C", 2010, None, 0.0, 2.0),  # x missing: x / y is missing, not undefined
    ("D", 2010, 1.0, 5.0, 3.0),
    ("A", 2014, 2.0, 1.0, None),
    ("B", 2014, -3.0, 4.0, 1.0),
    ("C", 2014, 5.0, 0.0, 1.0),  # x / y undefined
    ("D", 2014, 0.0, 2.0, 2.0),
]

BODY = """\
indicators:
  r: {formula: x / y + z}
  s: {formula: log(x) * 2}
  t: {formula: x * 2}
normalisation:
  default: {method: leader_share, scale: 100}
groups:
  g: {members: [r, s, t]}
checks:
  c:
    assert: x == y * 2
    tolerance: {absolute: 0.5}
"""


def methodology(body: str, policy: str = "report") -> str:
    head = textwrap.dedent(
        f"""\
        indexlab: 1
        id: t
        title: markers
        data: {{unit: region, period: year}}
        undefined: {policy}
        inputs:
          x: {{}}
          y: {{}}
          z: {{}}
        """
    )
    return head + body


def files(tmp_path: Path, body: str = BODY, policy: str = "report") -> tuple[Path, Path]:
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(methodology(body, policy), encoding="utf-8")
    pl.DataFrame(ROWS, schema=["region", "year", "x", "y", "z"], orient="row").write_csv(d)
    return m, d


def every_marker_in_the_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """The query as it was: every step's marker computed in it."""
    monkeypatch.setattr(steps, "present_inputs", lambda plan, step: None)


def undefined(result: api.RunResult) -> list[str]:
    codes = (Code.DIVISION_BY_ZERO, Code.DOMAIN, Code.ALL_MISSING, Code.NOT_FINITE)
    return [w.message for w in result.warnings if w.code in codes]


def test_the_rows_named_are_those_plain_python_finds(tmp_path: Path) -> None:
    result = api.run(*files(tmp_path))
    messages = undefined(result)
    # x / y is undefined where x is present and y is 0, whether or not z is present
    zero = [f"{u} {p}" for u, p, x, y, _ in ROWS if x is not None and y == 0]
    assert zero == ["B 2010", "C 2014"]
    (division,) = [m for m in messages if "division by zero" in m and "'r'" in m]
    assert division.endswith(f"{len(zero)} rows: " + ", ".join(zero))
    # log(x) is undefined where x <= 0
    logs = [f"{u} {p}" for u, p, x, _, _ in ROWS if x is not None and x <= 0]
    (log,) = [m for m in messages if "logarithm" in m]
    assert log.endswith(f"{len(logs)} rows: " + ", ".join(logs))
    # the leader share of t requires t >= 0: the row with a negative x
    negative = [f"{u} {p}" for u, p, x, _, _ in ROWS if x is not None and x * 2 < 0]
    (domain,) = [m for m in messages if "'t.norm'" in m or "of 't'" in m]
    assert domain.endswith("1 row: " + ", ".join(negative))
    frame = result.frame
    r = dict(zip(zip(frame["region"], frame["year"]), frame["r"]))
    for u, p, x, y, z in ROWS:
        want = None if x is None or z is None or y == 0 else x / y + z
        got = r[(u, p)]
        assert (got is None and want is None) or math.isclose(got, want)


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        "indicators:\n  r: {formula: x / y}\n",  # every undefined row visible
        "indicators:\n  r: {formula: (x + z) / y}\n",  # hidden where z is missing
        "indicators:\n  r: {formula: x / max(x) + y / z}\n",
        "indicators:\n  r: {formula: x * 2}\nderived:\n  d: {formula: r / y}\n",
        "indicators:\n  r: {formula: sqrt(x) + z}\n",
        "indicators:\n  r: {formula: x + y}\n",  # nothing undefined, inputs missing
    ],
)
@pytest.mark.parametrize("policy", ["report", "error"])
def test_the_report_is_that_of_a_query_with_every_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, policy: str
) -> None:
    m, d = files(tmp_path, body, policy)

    def outcome() -> object:
        try:
            result = api.run(m, [d])
        except DataError as e:
            return [x.render() for x in e.diagnostics]
        checks = [(c.tested, c.failures.rows()) for c in result.checks]
        return result.frame.rows(), [w.render() for w in result.warnings], checks

    now = outcome()
    every_marker_in_the_query(monkeypatch)
    assert outcome() == now


def test_which_steps_keep_their_marker_in_the_query() -> None:
    plan = api.validate(ROOT / "methodologies" / "kireeva.yaml").plan
    kept = {
        s.column
        for stage in plan.stages
        for s in stage
        if markers.present_inputs(plan, s) is None and markers.may_be_undefined(s)
    }
    # at() reads another row: its marker stays in the query
    assert kept == {"check.population_stable", "change_2014_vs_2010_pct"}
    by_column = {s.column: s for stage in plan.stages for s in stage}
    assert markers.present_inputs(plan, by_column["SD.norm"]) == ("SD",)
    assert markers.present_inputs(plan, by_column["SD"]) == ("employed", "grp")


def test_a_cached_run_takes_the_rare_path_only_for_a_hidden_undefined_value(
    tmp_path: Path,
) -> None:
    m, d = files(tmp_path, "indicators:\n  r: {formula: x / y + z}\n")
    table = pl.read_csv(d)
    clean = tmp_path / "clean.csv"  # no missing value, nothing undefined: recorded
    table.fill_null(1.0).with_columns(pl.lit(1.0).alias("y")).write_csv(clean)
    missing = tmp_path / "missing.csv"  # missing values, nothing undefined
    table.with_columns(pl.lit(1.0).alias("y")).write_csv(missing)
    hidden = tmp_path / "hidden.csv"  # the only undefined value is where z is missing
    table.with_columns(
        pl.when((pl.col("region") == "C") & (pl.col("year") == 2014))
        .then(1.0)
        .otherwise(pl.col("y"))
        .alias("y")
    ).write_csv(hidden)
    env = {**os.environ, "INDEXLAB_PLAN_CACHE": str(tmp_path / "cache")}

    def cli(data: Path, *flags: str) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, "-c", PROBE, "run", str(m), str(data), "-q", *flags]
        return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)

    first = cli(clean)
    assert first.returncode == 0, first.stderr
    for data, settled in ((missing, True), (hidden, False), (d, False)):
        cached, fresh = cli(data), cli(data, "--no-plan-cache")
        assert cached.returncode == fresh.returncode == 0, cached.stderr
        assert cached.stderr.endswith("NO-SYMPY\n" if settled else "\nSYMPY\n")
        assert cached.stderr.replace("NO-SYMPY", "SYMPY") == fresh.stderr
    hidden_only = cli(hidden, "--no-plan-cache").stderr
    assert "division by zero: y is 0" in hidden_only and "1 row: B 2010" in hidden_only


# -- merged guards: the same values ---------------------------------------------------------

SPECIAL = [0.0, -0.0, 1.0, -2.5, 3.0, 1e308, -1e308, 1e-308, math.inf, -math.inf, math.nan, None]
FORMULA_SCOPE = Scope({c: "input" for c in "xyzw"}, ("year",), frozenset({"u", "year"}), "year")


def formulas() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["x", "y", "z", "w", "0", "2", "1e308", "max(x)", "mean(y)"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        unary = st.tuples(st.sampled_from(["log", "exp", "sqrt", "abs", "-"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        )
        return binary | unary

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(formulas(), st.data())
def test_merged_guards_give_the_values_of_separate_guards(text: str, data: st.DataObject) -> None:
    """compile_step(fuse=True) leaves a guard to the operation that reads its result where
    that gives the same value: checked on every special value (zeros of both signs,
    overflowing magnitudes, infinities, NaN, missing) in every position."""
    expr, problems = parse_formula(Formula(text), FORMULA_SCOPE, want=None)
    assume(problems == ())
    n = 24
    columns = {
        c: data.draw(st.lists(st.sampled_from(SPECIAL), min_size=n, max_size=n)) for c in "xyzw"
    }
    frame = pl.DataFrame(
        {
            "u": [f"u{i % 6}" for i in range(n)],
            "year": [2010 + i // 6 for i in range(n)],
            **columns,
        },
        schema_overrides={c: pl.Float64 for c in "xyzw"},
    )
    ctx = Context({}, "u", "year", single_group=False)
    values = []
    for fuse in (False, True):
        compiled = compile_step(expr, ctx, "out", fuse=fuse)
        lf = frame.lazy()
        for level in compiled.temps:
            lf = lf.with_columns(level)
        values.append(lf.select(compiled.value.alias("out")).collect()["out"])
    separate, merged = values
    assert merged.equals(separate), (text, frame.with_columns(separate=separate, merged=merged))


def _plans() -> list[Plan]:
    paths = sorted(ROOT.glob("methodologies/*.yaml")) + sorted(ROOT.glob("examples/**/*.yaml"))
    plans: list[Plan] = []
    for path in paths:
        try:
            plans.append(api.validate(path).plan)
        except Exception:  # not a methodology, or one that extends another
            continue
    return plans


def test_a_step_is_counted_exactly_when_it_has_a_marker() -> None:
    """may_be_undefined says which steps the query leaves a marker out of: exactly those
    the compiler gives a marker (a count for a step without one would send runs with
    missing values down the rare path for nothing; a streamed run computes them all)."""
    seen = 0
    for plan in _plans():
        for stage in plan.stages:
            for s in stage:
                if markers.present_inputs(plan, s) is None:
                    continue
                seen += 1
                has_marker = len(steps.step_columns(plan, s).columns) > 1
                assert markers.may_be_undefined(s) == has_marker, (s.column, s.expr)
    assert seen > 50
