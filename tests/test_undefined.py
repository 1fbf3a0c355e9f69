"""Undefined values are reported, never silent: missing in the result with a warning
naming the formula, the rows and how many (``undefined: report``, the default), or a
data error (``undefined: error``), wherever a formula can go.

Expected values are worked out by hand from the small panel below.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import Code, DataError, Severity

#: three regions, two years; South has x = 0 in 2010 and a negative y in 2014
CSV = textwrap.dedent(
    """\
    region,year,x,y
    North,2010,4,2
    South,2010,0,3
    East,2010,1,5
    North,2014,2,1
    South,2014,3,-2
    East,2014,5,4
    """
)


def methodology(body: str, extra: str = "") -> str:
    return (
        textwrap.dedent(
            """\
            indexlab: 1
            id: t
            title: undefined values
            data: {unit: region, period: year}
            inputs:
              x: {}
              y: {}
            """
        )
        + textwrap.dedent(body)
        + extra
    )


def run(tmp_path: Path, body: str, extra: str = "") -> api.RunResult:
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(methodology(body, extra), encoding="utf-8")
    d.write_text(CSV, encoding="utf-8")
    return api.run(m, [d])


def values(result: api.RunResult, column: str) -> dict[tuple[str, int], object]:
    f = result.frame
    return {(r, y): v for r, y, v in zip(f["region"], f["year"], f[column])}


def undefined(result: api.RunResult) -> list[str]:
    return [
        w.message
        for w in result.warnings
        if w.code in (Code.DIVISION_BY_ZERO, Code.DOMAIN, Code.ALL_MISSING, Code.NOT_FINITE)
    ]


def test_division_by_zero_is_missing_and_reported_with_rows_and_count(tmp_path: Path) -> None:
    result = run(tmp_path, "indicators:\n  r: {formula: y / x}\n")
    got = values(result, "r")
    assert got[("South", 2010)] is None
    assert got[("North", 2010)] == 0.5 and got[("East", 2014)] == 0.8
    (message,) = undefined(result)
    assert "division by zero: x is 0" in message and "indicator 'r' (y / x)" in message
    assert "1 row: South 2010" in message
    warning = next(w for w in result.warnings if w.code == Code.DIVISION_BY_ZERO)
    assert warning.severity == Severity.WARNING and "undefined: error" in (warning.hint or "")


def test_undefined_error_stops_the_run_with_the_same_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        run(tmp_path, "indicators:\n  r: {formula: y / x}\n", "undefined: error\n")
    (d,) = err.value.diagnostics
    assert d.code == Code.DIVISION_BY_ZERO and d.severity == Severity.ERROR
    assert "South 2010" in d.message


def test_every_row_is_counted(tmp_path: Path) -> None:
    result = run(tmp_path, "indicators:\n  r: {formula: log(y) + sqrt(y)}\n")
    (message,) = [m for m in undefined(result) if "logarithm" in m]
    assert "1 row: South 2014" in message
    assert any("power 1/2 of a negative value" in m for m in undefined(result))


def test_a_branch_that_is_not_taken_is_not_undefined(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
        indicators:
          a: {formula: "where(x > 0, log(x), 0)"}
          b: {formula: "log(y) if y > 0 else -1"}
        """,
    )
    assert undefined(result) == []
    assert values(result, "a")[("South", 2010)] == 0.0
    assert values(result, "b")[("South", 2014)] == -1.0
    assert values(result, "a")[("North", 2010)] == pytest.approx(math.log(4), rel=1e-15)


def test_a_decided_condition_does_not_count_its_other_side(tmp_path: Path) -> None:
    # x > 0 is false for South 2010: log(x) > 1 does not matter there, in either order
    result = run(
        tmp_path,
        """\
        indicators:
          a: {formula: x}
        checks:
          first: {assert: x > 0 and log(x) > -10}
          second: {assert: log(x) > -10 and x > 0}
          either: {assert: x <= 0 or log(x) > -10}
        """,
    )
    assert undefined(result) == []


def test_checks_and_screening_rules_are_audited(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
        indicators:
          a: {formula: x + y}
        normalisation:
          default: {method: none}
        groups:
          G: {members: [a]}
        index: {group: G}
        checks:
          positive_log: {assert: log(y) >= 0}
        screening:
          promising: {rule: sqrt(y) > 1}
        """,
    )
    messages = undefined(result)
    assert any("check 'positive_log'" in m and "South 2014" in m for m in messages), messages
    assert any("screening rule 'promising'" in m and "South 2014" in m for m in messages)
    assert values(result, "promising")[("South", 2014)] is None


def test_an_overflow_is_undefined(tmp_path: Path) -> None:
    result = run(tmp_path, "indicators:\n  big: {formula: x * 1e300 * 1e300}\n")
    assert values(result, "big")[("South", 2010)] == 0.0
    assert values(result, "big")[("North", 2010)] is None
    (message,) = undefined(result)
    assert "overflow" in message and "5 rows" in message


def test_statistics_skip_an_undefined_value_and_say_so(tmp_path: Path) -> None:
    # log(0) for South 2010 is undefined: the 2010 mean is that of North and East
    result = run(tmp_path, "indicators:\n  m: {formula: mean(log(x))}\n")
    expected = (math.log(4) + math.log(1)) / 2
    assert values(result, "m")[("East", 2010)] == pytest.approx(expected, rel=1e-15)
    (message,) = undefined(result)
    assert "logarithm of a value <= 0: x" in message and "South 2010" in message


def test_at_takes_a_period_written_as_text_or_number(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
        indicators:
          a: {formula: x}
        derived:
          base_number: {formula: "at(x, 2010)"}
          base_text: {formula: "at(x, '2010')"}
          constant: {formula: "at(9, '2010')"}
        """,
    )
    assert values(result, "base_number") == values(result, "base_text")
    assert values(result, "base_number")[("North", 2014)] == 4.0
    assert set(values(result, "constant").values()) == {9.0}


def test_rounding_a_huge_value_keeps_it(tmp_path: Path) -> None:
    result = run(tmp_path, 'indicators:\n  r: {formula: "round(x * 1e300, 12)"}\n')
    assert values(result, "r")[("North", 2010)] == 4e300
    assert undefined(result) == []


def test_a_condition_is_never_an_indicator(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text(methodology("indicators:\n  r: {formula: x < y}\n"), encoding="utf-8")
    with pytest.raises(Exception) as err:
        api.validate(m)
    assert "indicator 'r' is a condition, but a number is needed" in str(err.value)
    assert "where(x < y, 1, 0)" in str(err.value)


def test_output_has_no_nan_or_infinity(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """\
        indicators:
          a: {formula: y / x}
          b: {formula: log(y)}
          c: {formula: exp(x * 300)}
        """,
    )
    for column in ("a", "b", "c"):
        s = result.frame[column].drop_nulls()
        assert s.is_finite().all(), column
    assert result.frame.select(pl.col("a", "b", "c").null_count()).row(0) == (1, 1, 3)


# -- sensitivity: a replication that leaves a unit without a score ---------------------------

SENSITIVITY = """\
indicators:
  A: {formula: x}
  B: {formula: y}
normalisation:
  default: {method: min_max}
groups:
  G: {members: [A, B]}
index: {group: G}
uncertainty:
  replications: 30
  seed: 5
  normalisation:
    alternatives: [{method: min_max}, {method: z_score}]
  aggregation:
    alternatives: [arithmetic, geometric]
"""


def test_sensitivity_never_ranks_a_missing_score_and_names_the_choices(tmp_path: Path) -> None:
    from engine.analysis import sensitivity as sa

    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(methodology(SENSITIVITY), encoding="utf-8")
    d.write_text(CSV.replace("South,2010,0,3", "South,2010,1,3"), encoding="utf-8")
    validated = api.validate(m)
    units = api.read_data(validated.methodology, [d]).units
    assert units is not None
    nominal = api.run(validated, [d]).frame
    result = sa.analyse(validated.methodology, units, nominal, sobol=False)
    params, _ = sa.design_table(
        validated.methodology, validated.methodology.uncertainty, 30, 5, False
    )
    runs = sa.run_replications(validated.methodology, units, params).join(params, on=sa.REP)
    # z-scores below 0 make the geometric mean undefined (min-max gives 0: also undefined)
    geometric = runs.filter(pl.col(sa.AGG_CHOICE) == 1)
    assert geometric["index"].null_count() > 0
    assert (
        geometric.filter(pl.col("index").is_null())["rank"].null_count()
        == geometric["index"].null_count()
    )  # no rank for a missing score
    arithmetic = runs.filter(pl.col(sa.AGG_CHOICE) == 0)
    assert arithmetic["index"].null_count() == 0
    # the rank statistics are those of the replications with a score
    for row in result.ranks.iter_rows(named=True):
        key = (pl.col("region") == row["region"]) & (pl.col("year") == row["year"])
        ranks = runs.filter(key)["rank"].drop_nulls()
        assert row["mean_rank"] == pytest.approx(ranks.mean(), rel=1e-12)
    table = result.undefined
    assert table.height > 0 and set(table.columns) >= {"region", "year", "replications", "of"}
    for row in table.iter_rows(named=True):
        key = (pl.col("region") == row["region"]) & (pl.col("year") == row["year"])
        assert row["replications"] == runs.filter(key)["index"].null_count()
        assert "aggregation=geometric" in row["choices"]
        assert "aggregation=arithmetic" not in row["choices"]
    (warning,) = result.warnings
    assert warning.code == Code.UNDEFINED and "no score in some replications" in warning.message


def test_sensitivity_undefined_scores_follow_an_independent_computation(tmp_path: Path) -> None:
    """The issue's case (Monte Carlo, z-scores and a geometric mean) worked out by hand:
    each replication's normalisation and aggregation applied to the panel in plain
    Python; a geometric mean with a member <= 0 has no score and no rank. The undefined
    table counts exactly those replications per unit, and the rank statistics are those
    of the replications with a score (ties 'min', descending)."""
    from engine.analysis import sensitivity as sa

    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(methodology(SENSITIVITY), encoding="utf-8")
    text = CSV.replace("South,2010,0,3", "South,2010,1,3")
    d.write_text(text, encoding="utf-8")
    validated = api.validate(m)
    units = api.read_data(validated.methodology, [d]).units
    assert units is not None
    nominal = api.run(validated, [d]).frame
    result = sa.analyse(validated.methodology, units, nominal, sobol=False)
    params, _ = sa.design_table(
        validated.methodology, validated.methodology.uncertainty, 30, 5, False
    )
    rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    panel = {(r, int(y)): (float(x), float(v)) for r, y, x, v in rows}

    def normalised(method: int, year: int, member: int) -> dict[str, float]:
        values = {r: xy[member] for (r, y), xy in panel.items() if y == year}
        xs = list(values.values())
        if method == 0:  # min_max to [0, 100]
            lo, hi = min(xs), max(xs)
            return {r: (v - lo) / (hi - lo) * 100 for r, v in values.items()}
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum((v - mean) ** 2 for v in xs) / (len(xs) - 1))
        return {r: (v - mean) / sd for r, v in values.items()}

    ranks: dict[tuple[str, int], list[int]] = {k: [] for k in panel}
    undefined_in: dict[tuple[str, int], list[tuple[int, int]]] = {k: [] for k in panel}
    for rep in params.iter_rows(named=True):
        norm, agg = rep[sa.NORM_CHOICE], rep[sa.AGG_CHOICE]
        for year in (2010, 2014):
            a, b = normalised(norm, year, 0), normalised(norm, year, 1)
            scores = {}
            for r in a:
                if agg == 0:
                    scores[r] = (a[r] + b[r]) / 2
                elif a[r] > 0 and b[r] > 0:
                    scores[r] = math.exp((math.log(a[r]) + math.log(b[r])) / 2)
                else:
                    undefined_in[(r, year)].append((norm, agg))
            for r, s in scores.items():
                ranks[(r, year)].append(1 + sum(1 for t in scores.values() if t > s + 1e-9))
    table = {(row["region"], row["year"]): row for row in result.undefined.iter_rows(named=True)}
    assert set(table) == {k for k, v in undefined_in.items() if v}
    names = {0: "min_max", 1: "z_score"}
    for k, row in table.items():
        assert row["replications"] == len(undefined_in[k]) and row["of"] == 30
        for norm in {n for n, _ in undefined_in[k]}:
            count = sum(1 for n, _ in undefined_in[k] if n == norm)
            part = f"normalisation={names[norm]}, aggregation=geometric ({count})"
            assert part in row["choices"], (k, row["choices"])
    for row in result.ranks.iter_rows(named=True):
        mine = ranks[(row["region"], row["year"])]
        assert len(mine) + len(undefined_in[(row["region"], row["year"])]) == 30
        assert row["mean_rank"] == pytest.approx(sum(mine) / len(mine), rel=1e-12)
        assert row["p05_rank"] >= 1 and row["p95_rank"] <= 3  # never a missing score's rank


def test_sensitivity_cli_reports_undefined_scores_and_sobol_indices(tmp_path: Path) -> None:
    """The output of `indexlab sensitivity` names the units without a score, how many
    replications and the choices; Sobol indices that cannot be computed are missing
    (null in strict JSON, never NaN) with a warning saying why, per period."""
    import json

    from typer.testing import CliRunner

    from engine.cli import app

    m, d, out = tmp_path / "m.yaml", tmp_path / "d.csv", tmp_path / "sa.json"
    m.write_text(methodology(SENSITIVITY), encoding="utf-8")
    d.write_text(CSV.replace("South,2010,0,3", "South,2010,1,3"), encoding="utf-8")
    result = CliRunner().invoke(app, ["sensitivity", str(m), str(d), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "have no score in some replications (undefined, not ranked)" in text
    assert "aggregation=geometric" in text
    assert (
        "Sobol indices are undefined (missing) for year 2010: in some replications no unit" in text
    )

    def no_nan(token: str) -> object:
        raise AssertionError(f"{token} in the JSON output")

    payload = json.loads(out.read_text(encoding="utf-8"), parse_constant=no_nan)
    assert {(r["region"], r["year"]) for r in payload["undefined"]} >= {("South", 2010)}
    assert all(r["replications"] > 0 and "geometric" in r["choices"] for r in payload["undefined"])
    assert any(r["S1"] is None and r["year"] == 2010 for r in payload["sobol"])
