"""The plan cache: a repeated run skips sympy, gives the same bytes, is never stale, and
never deserialises anything but polars' own expressions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine import plancache

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
REGIONS = ROOT / "examples" / "kazakhstan" / "regions.csv"
HDI = ROOT / "methodologies" / "undp-hdi.yaml"
HDI_DATA = ROOT / "examples" / "undp-hdi" / "input.csv"
GUIDE = ROOT / "examples" / "guide" / "guide.yaml"
TOWNS = ROOT / "examples" / "guide" / "towns.csv"

#: runs the CLI in this process and prints whether sympy was imported
PROBE = (
    "import sys\n"
    "from engine.cli import main\n"
    "code = 0\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "print('SYMPY' if 'sympy' in sys.modules else 'NO-SYMPY', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def cli(cache: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, plancache.ENV: str(cache)}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("methodology", "data"), [(KIREEVA, REGIONS), (HDI, HDI_DATA), (GUIDE, TOWNS)]
)
def test_second_run_skips_sympy_and_writes_the_same_bytes(
    tmp_path: Path, methodology: Path, data: Path
) -> None:
    cache = tmp_path / "cache"
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}.csv"
        got = cli(cache, "run", str(methodology), str(data), "-q", "-o", str(out))
        assert got.returncode == 0, got.stderr
        outs.append((out.read_bytes(), got.stderr.replace(str(out), "OUT")))
    first, second = outs
    assert first[0] == second[0]
    assert first[1].replace("\nSYMPY", "") == second[1].replace("\nNO-SYMPY", "")
    assert first[1].endswith("SYMPY\n") and second[1].endswith("NO-SYMPY\n")


def test_parquet_output_identical_and_disabled_cache_writes_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for i in range(2):
        cli(cache, "run", str(KIREEVA), str(REGIONS), "-q", "-o", str(tmp_path / f"o{i}.parquet"))
    a, b = (pl.read_parquet(tmp_path / f"o{i}.parquet") for i in range(2))
    assert a.equals(b) and a.schema == b.schema
    off = cli("off", "run", str(KIREEVA), str(REGIONS), "-q", "-o", str(tmp_path / "x.csv"))
    assert off.returncode == 0 and off.stderr.endswith("SYMPY\n")
    flag = tmp_path / "flagged"
    for _ in range(2):
        got = cli(flag, "run", str(KIREEVA), str(REGIONS), "-q", "--no-plan-cache")
        assert got.stderr.endswith("\nSYMPY\n")
    assert not flag.exists()


def test_validate_twice_skips_sympy(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, second = (cli(cache, "validate", str(KIREEVA)) for _ in range(2))
    assert first.stdout == second.stdout and "ok:" in first.stdout
    assert second.stderr.endswith("NO-SYMPY\n")


def test_an_edited_methodology_is_never_served_a_stale_plan(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    yaml = tmp_path / "m.yaml"
    text = GUIDE.read_text(encoding="utf-8")
    yaml.write_text(text, encoding="utf-8")
    out = tmp_path / "a.csv"
    for _ in range(2):
        cli(cache, "run", str(yaml), str(TOWNS), "-q", "-o", str(out))
    before = pl.read_csv(out)
    # the same file, one weight changed: a different key, a full run, different scores
    assert "{economy: 3, access: 2}" in text
    yaml.write_text(text.replace("{economy: 3, access: 2}", "{economy: 1, access: 2}"), "utf-8")
    got = cli(cache, "run", str(yaml), str(TOWNS), "-q", "-o", str(out))
    assert got.stderr.endswith("\nSYMPY\n")
    assert not pl.read_csv(out).get_column("index").equals(before.get_column("index"))


def test_a_tampered_entry_is_not_deserialised(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cli(cache, "run", str(KIREEVA), str(REGIONS), "-q")
    (entry,) = cache.glob("*.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    variant = next(iter(data["variants"].values()))
    variant["summary"][0] = '{"PythonUdf": "gASV..."}'
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert plancache.load(KIREEVA) is None or os.environ.get(plancache.ENV) != str(cache)
    got = cli(cache, "run", str(KIREEVA), str(REGIONS), "-q")
    assert got.returncode == 0 and got.stderr.endswith("\nSYMPY\n")  # the full path ran


def test_bad_data_on_the_fast_path_gets_the_full_diagnosis(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    towns = pl.read_csv(TOWNS)
    good = tmp_path / "good.csv"
    towns.write_csv(good)
    cli(cache, "run", str(GUIDE), str(good), "-q")
    # every town's households equal: min-max of a constant has a zero range
    bad = tmp_path / "bad.csv"
    towns.with_columns(pl.lit(100).alias("households")).with_columns(
        pl.lit(50).alias("broadband_households")
    ).write_csv(bad)
    cached = cli(cache, "run", str(GUIDE), str(bad), "-q")
    fresh = cli("off", "run", str(GUIDE), str(bad), "-q")
    # undefined: report (the default): the run succeeds with the full path's warning
    assert cached.returncode == fresh.returncode == 0
    assert "warning[division-by-zero]" in fresh.stderr
    assert cached.stderr.replace("NO-SYMPY", "SYMPY") == fresh.stderr


def test_cache_location_and_switch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(plancache.ENV, "off")
    assert plancache.cache_dir() is None and plancache.entry_path(KIREEVA) is None
    monkeypatch.setenv(plancache.ENV, str(tmp_path))
    where = plancache.entry_path(KIREEVA)
    assert where is not None and where[0].parent == tmp_path
    monkeypatch.delenv(plancache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert plancache.cache_dir() == tmp_path / "xdg" / "indexlab" / "plans"


def test_extends_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plancache.ENV, str(tmp_path))
    yaml = tmp_path / "m.yaml"
    shutil.copy(GUIDE, yaml)
    yaml.write_text("extends: base.yaml\n" + yaml.read_text(encoding="utf-8"), encoding="utf-8")
    assert plancache.entry_path(yaml) is None


SAME_SIDES = """\
indexlab: 1
id: same-sides
title: a check with the same formula on both sides
data: {unit: unit, period: year}
inputs: {x: {}}
indicators: {X: {formula: x}, difference: {formula: x}}
checks:
  same: {assert: "x > x", severity: warning}
  named: {assert: "difference > 1", severity: warning}
"""


def test_failing_check_whose_sides_share_a_name(tmp_path: Path) -> None:
    """`x > x` (found by the generated-formula test) used to stop the run with polars'
    DuplicateError: both sides were columns named `x`; a side named like the difference
    column too. The failures show `x` and `x (right side)`, in a full run and from the
    cache."""
    from engine import api

    m = tmp_path / "m.yaml"
    m.write_text(SAME_SIDES, encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text("unit,year,x\na,2020,1\nb,2020,2\n", encoding="utf-8")
    same, named = api.run(m, [data]).checks
    assert same.failures.columns == ["unit", "year", "x", "x (right side)", "difference"]
    assert same.failures.rows() == [("a", 2020, 1.0, 1.0, 0.0), ("b", 2020, 2.0, 2.0, 0.0)]
    assert named.failures.columns == ["unit", "year", "difference (left side)", "1", "difference"]
    assert named.failures.rows() == [("a", 2020, 1.0, 1.0, 0.0)]
    book = tmp_path / "out.xlsx"
    got = cli("off", "run", str(m), str(data), "-o", str(book))
    assert got.returncode == 0 and "check 'same' (x > x) fails" in got.stderr, got.stderr
    failures = pl.read_excel(book, sheet_name="check failures")
    assert failures["left is"].to_list() == ["x", "x", "difference (left side)"]
    assert failures["right is"].to_list() == ["x (right side)"] * 2 + ["1"]
    cache = tmp_path / "cache"
    outs = []
    for i in range(2):  # the second run takes the cached plan
        out = tmp_path / f"out{i}.csv"
        got = cli(cache, "run", str(m), str(data), "-q", "-o", str(out))
        assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr
        outs.append(out.read_bytes())
    assert got.stderr.endswith("NO-SYMPY\n") and outs[0] == outs[1]


ASEM = ROOT / "examples" / "coinr-asem" / "asem.yaml"
ASEM_DATA = ROOT / "examples" / "coinr-asem" / "asem.csv"


def test_missing_values_and_treatment_on_the_fast_path(tmp_path: Path) -> None:
    """COINr's ASEM example (missing values, winsorisation): the cached run settles it
    (the missing-value tests of every column at once find nothing undefined) and writes
    the bytes the full path writes."""
    cache = tmp_path / "cache"
    runs = []
    for name, where in (("fresh", "off"), ("first", cache), ("cached", cache)):
        out = tmp_path / f"{name}.csv"
        got = cli(where, "run", str(ASEM), str(ASEM_DATA), "-q", "-o", str(out))
        assert got.returncode == 0, got.stderr
        runs.append((out.read_bytes(), got.stderr.replace(str(out), "OUT")))
    (fresh, fresh_err), _, (cached, cached_err) = runs
    assert cached == fresh
    assert cached_err.endswith("NO-SYMPY\n")
    assert cached_err.replace("NO-SYMPY", "SYMPY") == fresh_err


def test_a_statistic_over_no_value_on_the_fast_path_gets_the_full_diagnosis(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    towns = pl.read_csv(TOWNS)
    good = tmp_path / "good.csv"
    towns.write_csv(good)
    cli(cache, "run", str(GUIDE), str(good), "-q")
    # in the first year every town lacks one of broadband's two inputs: broadband has no
    # value there, so its min-max statistics are over no value
    first = towns.get_column("year").min()
    first_year, odd = pl.col("year") == first, pl.int_range(pl.len()) % 2 == 1
    bad = tmp_path / "bad.csv"
    towns.with_columns(
        pl.when(first_year & ~odd).then(None).otherwise("households").alias("households"),
        pl.when(first_year & odd)
        .then(None)
        .otherwise("broadband_households")
        .alias("broadband_households"),
    ).write_csv(bad)
    cached = cli(cache, "run", str(GUIDE), str(bad), "-q")
    fresh = cli("off", "run", str(GUIDE), str(bad), "-q")
    assert cached.returncode == fresh.returncode
    assert "min() over no present value" in fresh.stderr
    assert cached.stderr.replace("NO-SYMPY", "SYMPY") == fresh.stderr


@pytest.mark.parametrize(
    ("methodology", "data"), [(KIREEVA, REGIONS), (ASEM, ASEM_DATA), (GUIDE, TOWNS)]
)
def test_the_printed_report_of_a_cached_run_is_the_full_runs(
    tmp_path: Path, methodology: Path, data: Path
) -> None:
    """Without -q the cached run prints the same result table, adjustments, conventions
    and checks as the full run (the table's layout is kept in the entry)."""
    cache = tmp_path / "cache"
    runs = []
    for name in ("first", "cached"):
        out = tmp_path / f"{name}.csv"
        got = cli(cache, "run", str(methodology), str(data), "-o", str(out))
        assert got.returncode == 0, got.stderr
        runs.append((got.stdout, got.stderr.replace(str(out), "OUT"), out.read_bytes()))
    (out1, err1, bytes1), (out2, err2, bytes2) = runs
    assert out1 == out2 and bytes1 == bytes2
    assert err1.endswith("\nSYMPY\n") and err2.endswith("\nNO-SYMPY\n")
    assert err1.replace("\nSYMPY\n", "") == err2.replace("\nNO-SYMPY\n", "")


SIDE_STATISTIC = """\
indexlab: 1
id: side-statistic
title: a failing check whose right side is a statistic over all units
data: {unit: unit, period: year}
inputs: {x: {}}
indicators: {X: {formula: x}}
checks:
  near_mean: {assert: "x <= 1.5 * mean(x)", severity: warning}
  nested: {assert: "round(round(round(x / 3, 4), 3), 2) < 1", severity: warning}
"""


def _side_statistic(tmp_path: Path) -> tuple[Path, Path, Path]:
    """SIDE_STATISTIC, four units' data and a cache folder, in `tmp_path`."""
    m = tmp_path / "m.yaml"
    m.write_text(SIDE_STATISTIC, encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text("unit,year,x\na,2020,0\nb,2020,1\nc,2020,3\nd,2020,6\n", encoding="utf-8")
    return m, data, tmp_path / "cache"


def test_failing_check_sides_from_the_cache_are_the_full_runs(tmp_path: Path) -> None:
    """A failing check's sides are shown as computed on every row: from the cache too.
    `mean(x)` is the mean over all four units (2.5, so the right side is 3.75), not over
    the failing unit's rows only (which would show 6)."""
    m, data, cache = _side_statistic(tmp_path)
    runs = []
    for name in ("fresh", "first", "cached"):
        out = tmp_path / f"{name}.csv"
        got = cli("off" if name == "fresh" else cache, "run", str(m), str(data), "-o", str(out))
        assert got.returncode == 0, got.stderr
        runs.append(got.stderr.replace(str(out), "OUT"))
    fresh, _, cached = runs
    assert cached.endswith("NO-SYMPY\n")
    assert cached.replace("NO-SYMPY", "SYMPY") == fresh
    assert "near_mean' (x <= 1.5 * mean(x)) fails for 1 of 4" in fresh
    assert "│ 6.00000 │                  3.75000 │" in fresh  # x, then 1.5 * the mean of all


def test_failing_check_sides_of_a_quiet_cached_run(tmp_path: Path) -> None:
    """With -q the cached run writes its results from the query (a pending file) and
    computes the failing rows in the same pass: the sides are still over every row
    (shown by ``--format json``; a quiet text report has a line per failing check)."""
    m, data, cache = _side_statistic(tmp_path)
    runs = []
    for name in ("fresh", "first", "cached"):
        out = tmp_path / f"{name}.parquet"
        where = "off" if name == "fresh" else cache
        got = cli(where, "run", str(m), str(data), "-q", "--format", "json", "-o", str(out))
        assert got.returncode == 0, got.stderr
        runs.append((got.stderr.replace(str(out), "OUT"), pl.read_parquet(out)))
    (fresh, fresh_frame), _, (cached, cached_frame) = runs
    assert cached.endswith("NO-SYMPY\n") and cached.replace("NO-SYMPY", "SYMPY") == fresh
    report = json.loads(cached[: cached.rindex("]") + 1])
    near_mean = next(c for c in report if c["check"] == "near_mean")
    assert [list(row.values())[-3:] for row in near_mean["failures"]] == [[6.0, 3.75, 2.25]]
    assert cached_frame.equals(fresh_frame) and cached_frame.schema == fresh_frame.schema
    lines = cli(cache, "run", str(m), str(data), "-q", "-o", str(tmp_path / "lines.parquet"))
    assert "warning[check-failed]: check 'near_mean' (x <= 1.5 * mean(x)) fails for 1 of 4" in (
        lines.stderr
    )
    assert "│" not in lines.stderr and "run without -q" in lines.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_quiet_cached_run_that_fails_an_error_check_writes_nothing(tmp_path: Path) -> None:
    """An error-severity check that fails: the file the query wrote is discarded, the
    full path reports the check and the old output stays as it was."""
    cache = tmp_path / "cache"
    out = tmp_path / "out.csv"
    got = cli(cache, "run", str(GUIDE), str(TOWNS), "-q", "-o", str(out))
    assert got.returncode == 0, got.stderr
    before = out.read_bytes()
    bad = tmp_path / "bad.csv"
    towns = pl.read_csv(TOWNS)
    towns.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("households") + 1)
        .otherwise("broadband_households")
        .alias("broadband_households")
    ).write_csv(bad)
    cached = cli(cache, "run", str(GUIDE), str(bad), "-q", "-o", str(out))
    fresh = cli("off", "run", str(GUIDE), str(bad), "-q", "-o", str(out))
    assert cached.returncode == fresh.returncode == 1
    assert "error-severity checks failed: nothing written" in fresh.stderr
    assert cached.stderr.replace("NO-SYMPY", "SYMPY") == fresh.stderr
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_quiet_cached_run_the_full_path_settles_writes_its_results(tmp_path: Path) -> None:
    """Data the fast path cannot settle (an undefined value): the pending file is
    discarded and the full path writes the results, as without the cache."""
    cache = tmp_path / "cache"
    towns = pl.read_csv(TOWNS)
    good = tmp_path / "good.csv"
    towns.write_csv(good)
    cli(cache, "run", str(GUIDE), str(good), "-q", "-o", str(tmp_path / "first.parquet"))
    bad = tmp_path / "bad.csv"
    towns.with_columns(pl.lit(100).alias("households")).with_columns(
        pl.lit(50).alias("broadband_households")
    ).write_csv(bad)
    outs = {}
    for name, where in (("cached", cache), ("fresh", "off")):
        out = tmp_path / f"{name}.parquet"
        got = cli(where, "run", str(GUIDE), str(bad), "-q", "-o", str(out))
        assert got.returncode == 0 and "warning[division-by-zero]" in got.stderr, got.stderr
        outs[name] = pl.read_parquet(out)
    assert outs["cached"].equals(outs["fresh"])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
