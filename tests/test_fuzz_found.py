"""What the long fuzz run (bench/fuzz_formulas.py) found, one regression test per class.

Each expected value is worked out here by hand from the small panel below, never taken
from the engine's output:

* a statistic inside ``at()`` inside ``at()`` was computed within the unit's rows (polars
  evaluates a window inside a window in the outer window's groups);
* sympy's ``And``/``Or`` turned two complementary comparisons into ``false``/``true`` as
  the formula was read, which is wrong where a value is missing (both are missing);
* a division by a constant was a multiplication by its reciprocal (polars' way with a
  scalar) when the data had several periods: not correctly rounded, so ``log10(1e100)``
  was 99.99999999999999 and ``(-1) ** log10(x)`` undefined;
* ``round`` took a value to 12 decimals with polars' cast to a Decimal, which multiplies
  by 1e12 in floats: from about 9,000 on the digits were lost (61728394.5 read as
  61728394.499999997952, so ``round(123456789 / 2, 0)`` was 61728394); main's fix
  (15 significant digits) then failed on values too large for any decimal place;
* a failing check whose two sides print alike (``z < z``) crashed with a duplicate column
  name, and a statistic in a shown side was taken over the failing units only.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from engine import api

#: four units, two years; d has no x in 2014, b has x = 0 in 2010
CSV = textwrap.dedent(
    """\
    unit,year,x,region
    a,2010,100,North
    a,2014,,North
    b,2010,0,South
    b,2014,0.25,South
    c,2010,7,North
    c,2014,1,North
    d,2010,2,South
    d,2014,-5,South
    """
)
X = {
    ("a", 2010): 100.0,
    ("a", 2014): None,
    ("b", 2010): 0.0,
    ("b", 2014): 0.25,
    ("c", 2010): 7.0,
    ("c", 2014): 1.0,
    ("d", 2010): 2.0,
    ("d", 2014): -5.0,
}
SUM_2010 = 100.0 + 0.0 + 7.0 + 2.0
MAX_2010 = 100.0


def run(tmp_path: Path, body: str) -> api.RunResult:
    head = textwrap.dedent(
        """\
        indexlab: 1
        id: found
        title: fuzz regressions
        data: {unit: unit, period: year, labels: [region]}
        inputs: {x: {}}
        """
    )
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(head + textwrap.dedent(body), encoding="utf-8")
    d.write_text(CSV, encoding="utf-8")
    return api.run(m, [d])


def column(result: api.RunResult, name: str) -> dict[tuple[str, int], object]:
    f = result.frame
    return dict(zip(zip(f["unit"], f["year"]), f[name]))


# -- statistics inside at() inside at() ----------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "value"),
    [
        ("at(at(sum(x), 2010), 2014)", SUM_2010),
        ("at(at(round(sum(x), 1), 2010), 2014)", SUM_2010),
        ("min(at(max(x), 2010))", MAX_2010),
        ("quantile(at(count(x), 2010), q=0.0)", 4.0),
    ],
)
def test_a_statistic_nested_in_at_is_taken_over_its_own_groups(
    tmp_path: Path, formula: str, value: float
) -> None:
    """Every unit of either year gets the statistic of 2010's four units."""
    as_indicator = run(tmp_path, f'indicators: {{F: {{formula: "{formula}"}}}}\n')
    assert set(column(as_indicator, "F").values()) == {value}
    as_normalisation = run(
        tmp_path,
        f"""\
        indicators: {{A: {{formula: x}}}}
        normalisation: {{default: {{method: formula, formula: "{formula}"}}}}
        groups: {{G: {{members: [A]}}}}
        index: {{group: G}}
        """,
    )
    assert set(column(as_normalisation, "A.norm").values()) == {value}


def test_at_of_a_statistic_times_a_row_value_summed(tmp_path: Path) -> None:
    """sum(x * at(max(x), 2014)) in each year: 2014's largest x is 1 (c)."""
    got = column(run(tmp_path, 'indicators: {F: {formula: "sum(x * at(max(x), 2014))"}}\n'), "F")
    # a has no x in 2014, so at(max(x), 2014) is 1 for every unit (a statistic of 2014)
    by_year = {
        year: sum(v * 1.0 for (u, y), v in X.items() if y == year and v is not None)
        for year in (2010, 2014)
    }
    assert got == {k: by_year[k[1]] for k in X}


# -- and / or in three-valued logic ----------------------------------------------------------


def kleene(value: float | None, test: bool) -> float | None:
    """where(c, 1, 2) with c missing where x is."""
    if value is None:
        return None
    return 1.0 if test else 2.0


@pytest.mark.parametrize(
    ("formula", "holds"),
    [
        ("where(x < 3 and x >= 3, 1, 2)", lambda v: False),
        ("where(x < 3 or x >= 3, 1, 2)", lambda v: True),
        ("where((x != 1) and (1 == x), 1, 2)", lambda v: False),
        ("where(x > 1 or not (x > 1), 1, 2)", lambda v: True),
    ],
)
def test_complementary_comparisons_are_missing_where_a_value_is(
    tmp_path: Path, formula: str, holds: object
) -> None:
    got = column(run(tmp_path, f'indicators: {{F: {{formula: "{formula}"}}}}\n'), "F")
    assert got == {k: kleene(v, holds(v)) for k, v in X.items()}  # type: ignore[operator]


def test_a_chain_of_complementary_comparisons_with_an_undefined_side(tmp_path: Path) -> None:
    """x != a == x with a = x where 1/x is defined: missing where x is 0 or missing."""
    formula = "where(x != (x if 1 / x > -1000 else 5) == x, 1, 2)"
    got = column(run(tmp_path, f'indicators: {{F: {{formula: "{formula}"}}}}\n'), "F")
    want = {}
    for k, v in X.items():
        if v is None or v == 0:
            want[k] = None
        else:
            a = v if 1 / v > -1000 else 5.0
            want[k] = 1.0 if (v != a and a == v) else 2.0
    assert got == want


# -- the sides of a failing check ----------------------------------------------------------


def test_a_check_whose_sides_print_alike_shows_both(tmp_path: Path) -> None:
    result = run(tmp_path, 'indicators: {A: {formula: x}}\nchecks: {C: {assert: "x < x"}}\n')
    (check,) = result.checks
    assert check.tested == 7 and check.failures.height == 7
    assert check.failures.columns == ["unit", "year", "x", "x (right side)", "difference"]
    assert check.failures["difference"].to_list() == [0.0] * 7


def test_a_statistic_in_a_shown_side_is_taken_over_every_unit(tmp_path: Path) -> None:
    """x <= mean(x) fails for a in 2010 (100 > 27.25), b and c in 2014 (> -1.25); the
    mean shown is over all four units, not over the failing ones."""
    body = 'indicators: {A: {formula: x}}\nchecks: {C: {assert: "x <= mean(x)"}}\n'
    result = run(tmp_path, body)
    (check,) = result.checks
    mean_2010 = SUM_2010 / 4
    mean_2014 = (0.25 + 1.0 - 5.0) / 3
    failing = {
        (u, y)
        for (u, y), v in X.items()
        if v is not None and v > (mean_2010 if y == 2010 else mean_2014)
    }
    assert {(r["unit"], r["year"]) for r in check.failures.iter_rows(named=True)} == failing
    shown = {
        (r["unit"], r["year"]): r["mean(x, by=[year])"]
        for r in check.failures.iter_rows(named=True)
    }
    assert shown == {k: (mean_2010 if k[1] == 2010 else mean_2014) for k in failing}


def test_a_failing_text_check_shows_both_sides_without_a_difference(tmp_path: Path) -> None:
    result = run(
        tmp_path, "indicators: {A: {formula: x}}\nchecks: {C: {assert: \"region == 'North'\"}}\n"
    )
    (check,) = result.checks
    assert {r["unit"] for r in check.failures.iter_rows(named=True)} == {"b", "d"}
    assert "difference" not in check.failures.columns


# -- division by a constant -------------------------------------------------------------------


def test_division_by_a_constant_is_correctly_rounded_in_every_period(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
        indicators:
          third: {formula: x / 3}
          digits: {formula: log10(x)}
          sign: {formula: (-1) ** log10(x)}
        """,
    )
    present = {k: v for k, v in X.items() if v is not None}
    assert column(result, "third") == {k: None if v is None else v / 3 for k, v in X.items()}
    logs = {k: math.log(v) / math.log(10) for k, v in present.items() if v > 0}
    assert {k: v for k, v in column(result, "digits").items() if k in logs} == logs
    assert column(result, "digits")[("a", 2010)] == 2.0  # log10(100), not 1.9999999999999998
    signs = {k: (-1.0) ** v for k, v in logs.items() if v.is_integer()}
    assert signs and {k: column(result, "sign")[k] for k in signs} == signs


# -- rounding large values ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["half_up", "half_even"])
def test_rounding_reads_large_values_as_their_decimal(tmp_path: Path, mode: str) -> None:
    """round() of values beyond 9,000 (where x * 1e12 is inexact) and of values too large
    for any decimal place (1e300: planning it once failed on the cast to an integer),
    against Python's decimal module and docs/formulas.md's rule: 15 significant digits,
    at most 12 places, never fewer than asked; a float coarser than that stays as it is."""
    from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

    body = f"""\
    indicators:
      r0: {{formula: "round(123456789 / x, 0, mode='{mode}')"}}
      r1: {{formula: "round(x * 123456.25, 1, mode='{mode}')"}}
      r3: {{formula: "round(x * 1e6 + 0.0005, 3, mode='{mode}')"}}
      big: {{formula: "round(x * 1e298, 2, mode='{mode}')"}}
    """
    result = run(tmp_path, body)
    rule = ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN

    def rounded(v: float, digits: int) -> float:
        if abs(v) >= 2.0**53 / 10**digits:
            return v
        exact = Decimal(v)
        places = max(digits, min(12, 15 - max(exact.adjusted() + 1 if v else 1, 0)))
        read = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
        return float(read.quantize(Decimal(1).scaleb(-digits), rule))

    for name, value, digits in (
        ("r0", lambda v: 123456789 / v, 0),
        ("r1", lambda v: v * 123456.25, 1),
        ("r3", lambda v: v * 1e6 + 0.0005, 3),
        ("big", lambda v: v * 1e298, 2),
    ):
        want = {
            k: None if v is None or (v == 0 and name == "r0") else rounded(value(v), digits)
            for k, v in X.items()
        }
        want = {k: None if w is not None and abs(w) == float("inf") else w for k, w in want.items()}
        assert column(result, name) == want, name
    assert column(result, "r0")[("d", 2010)] == (61728395.0 if mode == "half_up" else 61728394.0)


def test_a_failing_check_with_nested_rounds_is_shown_quickly(tmp_path: Path) -> None:
    """A side with rounds nested six deep: shown as the run computed it. Printed as one
    polars expression it repeated x 12**6 times (900 MB, seconds, for a fuzz case)."""
    import time

    side = "x"
    for digits in (3, 2, 1, 2, 1, 0):
        side = f"round({side}, {digits})"
    start = time.perf_counter()
    result = run(
        tmp_path, f'indicators: {{A: {{formula: x}}}}\nchecks: {{C: {{assert: "{side} < 1"}}}}\n'
    )
    assert time.perf_counter() - start < 20
    (check,) = result.checks
    failing = {k: v for k, v in X.items() if v is not None and round(v) >= 1}  # whole values
    got = {
        (r["unit"], r["year"]): r[check.failures.columns[2]]
        for r in check.failures.iter_rows(named=True)
    }
    assert got == {k: float(int(v + 0.5)) for k, v in failing.items()}


def test_an_undefined_value_under_nested_rounds_is_diagnosed_quickly(tmp_path: Path) -> None:
    """The audit names the cause of an undefined value by testing each part of the
    formula; with rounds nested six deep each part was one polars expression repeating x
    12**6 times (a fuzz case took 39 s and 1.8 GB). Now: the logarithm of b's 0."""
    import time

    inner = "x"
    for digits in (3, 2, 1, 2, 1, 0):
        inner = f"round({inner}, {digits})"
    start = time.perf_counter()
    result = run(tmp_path, f'indicators: {{F: {{formula: "log({inner})"}}}}\n')
    assert time.perf_counter() - start < 20
    got = column(result, "F")
    assert got[("b", 2010)] is None and got[("d", 2014)] is None  # log(0), log(-5)
    assert got[("c", 2010)] == math.log(7.0)
    messages = [w.message for w in result.warnings if w.code.value == "domain"]
    assert any("logarithm of a value <= 0" in m and "b 2010" in m for m in messages), messages
