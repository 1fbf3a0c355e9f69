"""Proof by generation: formulas from the grammar, in every spot a formula can go.

Every generated formula (well or ill typed, nested, with extreme constants) on data with
zeros, negatives, missing values and ties is either rejected with located diagnostics,
or runs and equals the independent plain-Python evaluator of tests/formulagen.py in
every row (1e-12 relative; missing where the reference is missing or undefined). A
well-typed formula without a constant-only part, within the limits, is never rejected.
The long run of the same generator is bench/fuzz_formulas.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import api
from engine.diagnostics import Code, MethodologyError
from engine.formula import limits
from tests import formulagen as gen

#: codes a rejected formula may carry
FORMULA_CODES = {
    Code.TYPE,
    Code.FORMULA_SYNTAX,
    Code.FORMULA_LIMIT,
    Code.BAD_ARGUMENTS,
    Code.UNKNOWN_NAME,
    Code.GRAIN,
}

cases = st.tuples(
    st.randoms(use_true_random=False),
    st.sampled_from([s for s, _ in gen.SPOTS]),
    st.floats(min_value=0.0, max_value=0.3),
)


def check_case(rng: random.Random, spot: str, typo: float, tmp_path: Path) -> str:
    """Generate, place, run and compare one formula; the outcome ("rejected", "equal")."""
    want = dict(gen.SPOTS)[spot]
    node = gen.generate(rng, want, budget=rng.randint(1, 6), typo=typo)
    placed = gen.place(lambda names: gen.render(node, names), spot)
    keys, rows = gen.data(rng)
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(placed.yaml, encoding="utf-8")
    d.write_text(gen.csv_text(keys, rows), encoding="utf-8")
    text = gen.render(node)
    try:
        validated = api.validate(m)
    except MethodologyError as err:
        for diag in err.diagnostics:
            assert diag.code in FORMULA_CODES, (text, diag.render())
            assert diag.location is not None and diag.location.line is not None, diag.render()
            assert diag.location.column is not None, diag.render()
        typed = gen.kind(node) == want
        plain = not gen.has_constant_part(node)
        within = (
            gen.statistics_depth(node) <= limits.MAX_NESTED_STATISTICS
            and gen.depth(node) <= 20
            and len(text) < 1500
        )
        assert not (typed and plain and within), (
            f"a well-typed formula was rejected: {text}\n{err.render()}"
        )
        return "rejected"
    result = api.run(validated, [d])
    want_values = gen.reference(node, placed, keys, rows)
    if placed.output.startswith("check:"):
        (check,) = result.checks
        failing = {(r["unit"], r["year"]) for r in check.failures.iter_rows(named=True)}
        expected = {k for k, v in zip(keys, want_values) if v is False}
        assert failing == expected, (text, failing, expected)
        assert check.tested == sum(v is not None for v in want_values), text
        return "equal"
    frame = result.frame
    got = {(u, y): v for u, y, v in zip(frame["unit"], frame["year"], frame[placed.output])}
    for k, w in zip(keys, want_values):
        assert gen.close(got[k], w), f"{spot}: {text} at {k}: engine {got[k]!r}, reference {w!r}"
    return "equal"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases)
def test_every_formula_is_rejected_with_a_location_or_equals_the_reference(
    case: tuple[random.Random, str, float], tmp_path: Path
) -> None:
    rng, spot, typo = case
    check_case(rng, spot, typo, tmp_path)


@pytest.mark.parametrize("spot", [s for s, _ in gen.SPOTS])
def test_each_spot_runs_well_typed_formulas(spot: str, tmp_path: Path) -> None:
    """A fixed sample per spot, so every spot is exercised on every run of the suite."""
    outcomes = [check_case(random.Random(1000 + i), spot, 0.0, tmp_path) for i in range(6)]
    assert "equal" in outcomes, outcomes


def test_the_reference_agrees_with_hand_values() -> None:
    """The evaluator itself, on cases worked out by hand."""
    keys = [("a", 2010), ("b", 2010)]
    rows = [{"v0": 4.0, "v1": 0.0, "v2": None}, {"v0": -1.0, "v1": 2.0, "v2": 1.0}]
    x, y, z = (gen.Node("name", (), f"v{i}") for i in range(3))
    assert gen.evaluate(gen.Node("/", (x, y)), rows, keys) == [None, -0.5]
    assert gen.evaluate(gen.Node("unary_fn", (x,), "log"), rows, keys) == [1.3862943611198906, None]
    mean = gen.Node("stat", (gen.Node("unary_fn", (x,), "log"),), "mean")
    assert gen.evaluate(mean, rows, keys) == [1.3862943611198906] * 2  # log(-1) skipped
    cond = gen.Node("compare", (x, y), ("<",))
    anded = gen.Node("and", (cond, gen.Node("compare", (z, y), ("<",))))
    assert gen.evaluate(anded, rows, keys) == [False, True]  # False and missing is False
    assert gen.evaluate(gen.Node("minmax", (x, z), "max"), rows, keys) == [None, 1.0]
