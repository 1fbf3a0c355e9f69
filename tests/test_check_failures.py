"""A failing check's rows and sides when the sides read only the unit's own rows.

Such a check (row-wise operations and at() of another period) has its sides computed on
the failing units' rows alone (report.summary.unit_only); the rows and values shown must
be those of the sides computed by hand from the data, in a full run and a cached one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.report.summary import unit_only

ROOT = Path(__file__).resolve().parent.parent

#: x per unit and year; B and D jump in 2014, E has no 2010 row
ROWS = [
    ("A", 2010, 10.0),
    ("A", 2014, 11.0),
    ("B", 2010, 4.0),
    ("B", 2014, 12.0),
    ("C", 2010, 8.0),
    ("C", 2014, 7.0),
    ("D", 2010, 1.0),
    ("D", 2014, 5.0),
    ("E", 2014, 9.0),
]

METHODOLOGY = textwrap.dedent(
    """\
    indexlab: 1
    id: t
    title: failing sides
    data: {unit: region, period: year}
    inputs:
      x: {}
    indicators:
      i: {formula: x}
    checks:
      stable:
        assert: x / at(x, 2010) <= 1.5
      near_mean:
        assert: x <= 1.5 * mean(x)
    """
)


def files(tmp_path: Path) -> tuple[Path, Path]:
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(METHODOLOGY, encoding="utf-8")
    pl.DataFrame(ROWS, schema=["region", "year", "x"], orient="row").write_csv(d)
    return m, d


def test_only_a_check_that_reads_its_own_unit_is_narrowed() -> None:
    m = api.validate(METHODOLOGY).methodology
    by_name = {c.name: c for c in m.checks}
    assert unit_only(by_name["stable"], m) == "region"
    assert unit_only(by_name["near_mean"], m) is None


def test_failing_sides_equal_the_hand_computation(tmp_path: Path) -> None:
    result = api.run(*files(tmp_path))
    base = {u: x for u, y, x in ROWS if y == 2010}
    want = sorted(
        (u, y, x / base[u], 1.5, x / base[u] - 1.5)
        for u, y, x in ROWS
        if u in base and x / base[u] > 1.5
    )
    assert [r[:2] for r in want] == [("B", 2014), ("D", 2014)]
    stable = next(c for c in result.checks if c.check.name == "stable")
    assert stable.tested == 8  # E 2014 has no 2010 value: not tested
    assert stable.failures.rows() == want
    # the statistic's side is over every unit: mean(x) per year, by hand
    means = {
        y: sum(x for _, yy, x in ROWS if yy == y) / sum(1 for r in ROWS if r[1] == y)
        for y in (2010, 2014)
    }
    near = next(c for c in result.checks if c.check.name == "near_mean")
    expected = sorted(
        (u, y, x, 1.5 * means[y], x - 1.5 * means[y]) for u, y, x in ROWS if x > 1.5 * means[y]
    )
    assert near.failures.rows() == expected


def test_a_cached_run_shows_the_same_failing_sides(tmp_path: Path) -> None:
    m, d = files(tmp_path)
    env = {**os.environ, "INDEXLAB_PLAN_CACHE": str(tmp_path / "cache")}

    def cli(*flags: str) -> subprocess.CompletedProcess[str]:
        main = "from engine.cli import main; main()"
        args = [sys.executable, "-c", main, "run", str(m), str(d), *flags]
        return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)

    fresh = cli("--no-plan-cache")
    first, cached = cli(), cli()
    assert fresh.returncode == first.returncode == cached.returncode == 0, fresh.stderr
    assert "stable' (x / at(x, 2010) <= 1.5) fails for 2 of 8" in fresh.stderr
    assert cached.stderr == fresh.stderr and cached.stdout == fresh.stdout


def test_a_streamed_query_is_not_narrowed_to_the_failing_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a lazy (streamed) query, finding the failing units first would hold the whole
    query in memory (30M unit-years: 1.4 -> 2.6 GB): the sides are computed on every row
    there, and the failing rows are the same as on the collected result."""
    from engine.report import summary

    m, d = files(tmp_path)
    from engine.backends.polars.execute import build_query
    from engine.io.read import ReadOptions

    validated = api.validate(m)
    data = api.read_data(validated.methodology, [d], ReadOptions())
    assert data.units is not None
    query, _ = build_query(validated.plan, data.units.lazy(), periods=2)
    frame = query.collect()  # every column of the run: inputs, checks
    seen: list[object] = []
    real = summary.failing_rows

    def spy(*args: object, **kwargs: object) -> pl.DataFrame:
        seen.append(kwargs["within"])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(summary, "failing_rows", spy)
    collected = summary.evaluate_checks(validated.plan, frame)
    assert seen == ["region", None]
    seen.clear()
    streamed = summary.evaluate_checks(validated.plan, frame.lazy())
    assert seen == [None, None]
    for a, b in zip(collected, streamed):
        assert a.failures.equals(b.failures) and a.tested == b.tested


def test_a_terminal_shows_the_first_rows_of_a_long_failure_and_json_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A check failing on thousands of rows (9,987 at 100M unit-years) prints its first
    MAX_ROWS rows in key order and says how many there are; --format json has every one."""
    import json

    from engine.io.read import ReadOptions
    from engine.report.check_lines import checks_json
    from engine.report.terminal import MAX_ROWS, print_checks

    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(METHODOLOGY.split("  near_mean:")[0], encoding="utf-8")
    units = [f"U{k:03d}" for k in range(150)]
    # every unit triples from 2010 to 2014: `stable` fails on each unit's 2014 row
    rows = [
        (u, y, (1.0 + k) * (3 if y == 2014 else 1))
        for k, u in enumerate(units)
        for y in (2010, 2014)
    ]
    pl.DataFrame(rows, schema=["region", "year", "x"], orient="row").write_csv(d)
    validated = api.validate(m)
    result = api.execute(validated, api.read_data(validated.methodology, [d], ReadOptions()))
    print_checks(result)
    text = " ".join(capsys.readouterr().err.split())  # as one line, however rich wraps it
    assert "fails for 150 of 300 rows" in text
    assert f"first {MAX_ROWS} of 150 failing rows (all of them: --format json)" in text
    shown = [u for u in units if f" {u} " in text]
    assert shown == units[:MAX_ROWS]  # the first rows in key order, no others
    payload = json.loads(checks_json(result.checks))
    assert [p["check"] for p in payload] == ["stable"]
    assert [f["region"] for f in payload[0]["failures"]] == units
