"""A streamed run (engine.streamrun, engine.backends.polars.stream) computes what the
in-memory run computes, reports what it reports, and is the path actually taken.

The in-memory run is the reference: it is itself tested against independent
computations elsewhere. Equal means bit for bit, except where a sum, mean or SD over a
group is involved: the streamed pass adds in the engine's order, the in-memory query in
key order, so those agree to a relative 1e-12.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from engine import api, streamrun
from engine.backends.polars.stream import PassKind
from engine.cli import app
from engine.io.read import ReadOptions

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ROOT / "examples/kazakhstan/regions.csv"

#: ranks within a label, z-scores (sums: within rounding), a geometric mean, quantile
#: classes, at() of another period, a statistic by a label, a check, a division by zero
PANEL_YAML = """\
indexlab: 1
id: stream-panel
title: Streamed panel
data: {unit: town, period: year, labels: [region]}
inputs: {a: {}, b: {}, c: {}}
indicators:
  ab: {formula: a / b}
  cc: {formula: c}
  aa: {formula: a, direction: lower}
normalisation:
  default: {method: min_max, range: [1, 100]}
  overrides:
    cc: {method: z_score, ddof: 1}
groups:
  g1: {members: [ab, aa]}
  g2: {members: [cc], aggregation: {method: arithmetic}}
index: {formula: "g1 * 0.7 + g2"}
ranking:
  order: descending
  ties: min
  within: {region_rank: [region]}
classes:
  quantiles: [Q1, Q2, Q3, Q4]
derived:
  growth: {formula: "index - at(index, 2020)", periods: [2021, 2022]}
  region_mean: {formula: "mean(a, by=[region, year])"}
checks:
  a_positive: {assert: a > 0}
"""


def _panel(seed: int, units: int = 60) -> pl.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for u in range(units):
        region = None if u == 7 else f"reg{u % 4}"
        for year in (2020, 2021, 2022):
            b = 0.0 if (u, year) == (3, 2021) else rnd.uniform(1, 5)  # a / 0: undefined
            a = None if (u, year) == (5, 2022) else rnd.uniform(-1, 50)
            rows.append(
                {
                    "town": f"T{u:03d}",
                    "year": year,
                    "region": region,
                    "a": a,
                    "b": b,
                    "c": rnd.uniform(0, 10),
                }
            )
    return pl.DataFrame(rows)


def _methodology(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _streamed(methodology: Path, data: Path) -> streamrun.StreamedRun:
    got = streamrun.prepare(api.validate(methodology), [data], ReadOptions())
    assert not isinstance(got, str), got
    return got


def _same(streamed: streamrun.StreamedRun, memory: api.RunResult, exact: bool) -> None:
    frame = streamed.query.collect()
    if exact:
        assert_frame_equal(frame, memory.frame, check_exact=True)
    else:
        assert_frame_equal(frame, memory.frame, rel_tol=1e-12, abs_tol=1e-12)
    assert [str(w) for w in streamed.warnings] == [str(w) for w in memory.warnings]
    assert [(c.check.name, c.tested) for c in streamed.checks] == [
        (c.check.name, c.tested) for c in memory.checks
    ]
    for s, m in zip(streamed.checks, memory.checks):
        assert_frame_equal(s.failures, m.failures)


@pytest.mark.parametrize(
    ("methodology", "exact"),
    [
        ("methodologies/kireeva.yaml", True),
        ("methodologies/kireeva-minmax.yaml", True),
        ("methodologies/kireeva-geometric.yaml", True),
        ("methodologies/kireeva-topsis.yaml", False),
        ("methodologies/kireeva-zscore.yaml", False),
        ("methodologies/kireeva-entropy.yaml", False),
    ],
)
def test_paper_methodologies_stream_to_the_in_memory_results(
    tmp_path: Path, methodology: str, exact: bool
) -> None:
    data = tmp_path / "regions.parquet"
    pl.read_csv(REGIONS).write_parquet(data)
    streamed = _streamed(ROOT / methodology, data)
    _same(streamed, api.run(ROOT / methodology, data), exact)
    kinds = {p.kind for p in streamed.passes}
    assert PassKind.GROUPS in kinds  # the leader's value (or mean, SD) per year
    assert PassKind.AT in kinds or "kireeva.yaml" not in methodology


def test_panel_with_labels_periods_classes_and_undefined_values(tmp_path: Path) -> None:
    data = tmp_path / "panel.parquet"
    _panel(1).write_parquet(data)
    m = _methodology(tmp_path, PANEL_YAML)
    streamed = _streamed(m, data)
    memory = api.run(m, data)
    _same(streamed, memory, exact=False)
    assert any("division by zero" in str(w) for w in streamed.warnings)
    assert any(p.kind is PassKind.ROWS for p in streamed.passes)  # ranks
    assert {("region", "year"), ("year",)} <= {p.keys for p in streamed.passes}
    frame = streamed.query.collect()
    assert frame["region_rank"].null_count() == memory.frame["region_rank"].null_count() > 0


def test_rows_in_any_order_give_the_same_results(tmp_path: Path) -> None:
    data = tmp_path / "panel.parquet"
    _panel(2).sample(fraction=1.0, shuffle=True, seed=3).write_parquet(data)
    m = _methodology(tmp_path, PANEL_YAML)
    _same(_streamed(m, data), api.run(m, data), exact=False)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".arrow"])
def test_cli_sinks_the_in_memory_results(tmp_path: Path, suffix: str) -> None:
    data = tmp_path / "regions.parquet"
    pl.read_csv(REGIONS).write_parquet(data)
    m = str(ROOT / "methodologies/kireeva.yaml")
    streamed, memory = tmp_path / f"s{suffix}", tmp_path / f"m{suffix}"
    code, out = _cli("run", m, str(data), "-o", str(streamed), "--stream", "on", "-q")
    assert code == 0, out
    assert "(streamed, 3 passes)" in out
    if suffix == ".arrow":
        expected = api.run(m, data).frame
        assert_frame_equal(pl.read_ipc(streamed), expected, check_exact=True)
        return
    code, out = _cli("run", m, str(data), "-o", str(memory), "--stream", "off", "-q")
    assert code == 0 and "streamed" not in out
    assert streamed.read_bytes() == memory.read_bytes()


def test_error_checks_failing_write_nothing(tmp_path: Path) -> None:
    data = tmp_path / "panel.parquet"
    _panel(4).write_parquet(data)
    m = _methodology(
        tmp_path, PANEL_YAML.replace("assert: a > 0}", "assert: a > 0, severity: error}")
    )
    out_path = tmp_path / "out.parquet"
    code, out = _cli("run", str(m), str(data), "-o", str(out_path), "--stream", "on", "-q")
    assert code == 1 and "nothing written" in out
    assert not out_path.exists() and not list(tmp_path.glob(".out.parquet*"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("csv", "only Parquet and IPC files are scanned"),
        ("duplicate", "duplicate keys"),
        ("spaces", "a key column needs the reader's messages"),
        ("nan", "a number is not finite"),
    ],
)
def test_data_the_reader_must_report_is_read_in_memory(
    tmp_path: Path, change: str, reason: str
) -> None:
    frame = pl.read_csv(REGIONS)
    if change == "duplicate":
        frame = pl.concat([frame, frame.head(1)])
    elif change == "spaces":
        frame = frame.with_columns(pl.col("region").str.replace("^Akmola$", " Akmola"))
    elif change == "nan":
        nan = pl.when(pl.int_range(pl.len()) == 3).then(float("nan")).otherwise(pl.col("grp"))
        frame = frame.with_columns(nan.alias("grp"))
    data = tmp_path / ("d.csv" if change == "csv" else "d.parquet")
    if change == "csv":
        frame.write_csv(data)
    else:
        frame.write_parquet(data)
    m = ROOT / "methodologies/kireeva.yaml"
    assert streamrun.prepare(api.validate(m), [data], ReadOptions()) == reason
    out = tmp_path / "out.parquet"
    code, text = _cli("run", str(m), str(data), "-o", str(out), "--stream", "on", "-q")
    assert f"not streamed ({reason})" in text
    memory_code, memory_text = _cli(
        "run", str(m), str(data), "-o", str(out), "--stream", "off", "-q"
    )
    assert code == memory_code
    assert text.replace(f"not streamed ({reason}): computing in memory\n", "") == memory_text


def test_auto_streams_large_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = tmp_path / "d.parquet"
    pl.read_csv(REGIONS).write_parquet(small)
    out = tmp_path / "o.parquet"
    assert not streamrun.wanted("auto", [small], out)
    size = small.stat().st_size
    # auto: the in-memory estimate (10x a Parquet file) against half the memory available
    monkeypatch.setattr(streamrun, "available_memory", lambda: 20 * size + 2)
    assert not streamrun.wanted("auto", [small], out)
    monkeypatch.setattr(streamrun, "available_memory", lambda: 20 * size - 2)
    assert streamrun.wanted("auto", [small], out)
    monkeypatch.setattr(streamrun, "available_memory", lambda: None)  # unknown: 256 MiB
    assert not streamrun.wanted("auto", [small], out)
    monkeypatch.setattr(streamrun, "AUTO_BYTES", size)
    assert streamrun.wanted("auto", [small], out)
    assert streamrun.wanted("on", [small], out)
    assert not streamrun.wanted("on", [small], tmp_path / "o.xlsx")
    assert not streamrun.wanted("off", [small], out)
    assert not streamrun.wanted("on", [small], None)


@pytest.mark.parametrize("ties", ["min", "max", "average", "dense"])
@pytest.mark.parametrize("descending", [0, 1])
@pytest.mark.parametrize("tolerance", [0.0, 1e-9])
@pytest.mark.parametrize("split", [None, "g"])
def test_sorted_ranks_equal_the_window(
    ties: str, descending: int, tolerance: float, split: str | None
) -> None:
    """The streamed pass ranks by one sort (stream._ranks), of every row or of one group
    of a key at a time (`split`); the in-memory query by a window. Exact ties, values
    within the tolerance of each other (a chain of them), missing values, a missing
    group label and a group of one value."""
    import sympy

    from engine.backends.polars.compile import Context, to_polars
    from engine.backends.polars.stream import _ranks
    from engine.formula import ir

    rnd = random.Random(f"{ties}{descending}{tolerance}{split}")
    values: list[float | None] = []
    for _ in range(300):
        base = rnd.choice([1.0, 2.5, 7.0, rnd.uniform(-5, 5)])
        values.append(rnd.choice([base, base * (1 + 5e-10), base * (1 + 1.5e-9), None]))
    groups = [rnd.choice(["a", "b", None]) for _ in values]
    values.append(3.0)
    groups.append("lonely")
    frame = pl.DataFrame({"x": values, "g": groups, "unit": [f"u{i}" for i in range(301)]})
    options = (sympy.Integer(descending), ir.Str(ties), sympy.Float(tolerance))
    node = ir.stat(ir.ColRank, sympy.Symbol("x"), ("g",), *options)
    assert isinstance(node, ir.ColRank)
    ctx = Context({}, "unit", None, order=("unit",))
    window = frame.select(to_polars(node, ctx).alias("x")).to_series()
    ranked = _ranks(frame.lazy(), pl.col("x"), node, split)
    assert ranked.dtype == (pl.Float64 if ties == "average" else pl.UInt32)
    # a row without its label is in no group: the step that reads the rank masks it
    streamed = frame.select(pl.when(pl.col("g").is_not_null()).then(ranked)).to_series()
    assert streamed.to_list() == window.to_list()
    assert window.drop_nulls().len() > 100


def test_a_failing_check_that_reads_at_is_shown_from_the_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing check whose side reads at() shows its rows from the column the at() pass
    computed, not from a window over the unit (polars runs a window in memory). The
    failing rows are those a self-join of the data on the unit finds."""
    data = tmp_path / "panel.parquet"
    panel = _panel(5)
    panel.write_parquet(data)
    yaml = PANEL_YAML.replace(
        "  a_positive: {assert: a > 0}",
        "  a_positive: {assert: a > 0}\n  a_stable: {assert: 'abs(a / at(a, 2020) - 1) <= 0.5'}",
    )
    m = _methodology(tmp_path, yaml)
    plans: list[str] = []
    collect = pl.LazyFrame.collect

    def recording(self: pl.LazyFrame, *args: object, **kwargs: object) -> pl.DataFrame:
        plans.append(self.explain())
        return collect(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.LazyFrame, "collect", recording)
    streamed = _streamed(m, data)
    monkeypatch.undo()
    _same(streamed, api.run(m, data), exact=False)
    assert not any(".over(" in p for p in plans)
    base = panel.filter(pl.col("year") == 2020).select("town", pl.col("a").alias("a0"))
    ratio = (pl.col("a") / pl.col("a0") - 1).abs()
    expected = (
        panel.join(base, on="town")
        .filter(ratio > 0.5)
        .select("town", "year", ratio.alias("side"))
        .sort("town", "year")
    )
    failures = next(c for c in streamed.checks if c.check.name == "a_stable").failures
    assert expected.height > 10
    assert failures.select("town", "year").equals(expected.select("town", "year"))
    assert failures.to_series(2).to_list() == pytest.approx(expected["side"].to_list(), rel=1e-12)


def test_at_looked_up_a_part_of_the_units_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """at() of many units is looked up in parts (a hash of the unit splits them): the
    results are those of one lookup and of the in-memory run."""
    from engine.backends.polars import stream

    data = tmp_path / "panel.parquet"
    _panel(6, units=200).sample(fraction=1.0, shuffle=True, seed=1).write_parquet(data)
    m = _methodology(tmp_path, PANEL_YAML)
    whole = _streamed(m, data).query.collect()
    monkeypatch.setattr(stream, "AT_PART_ROWS", 7)
    parted = _streamed(m, data)
    frame = parted.query.collect()
    assert_frame_equal(frame, whole, rel_tol=1e-12, abs_tol=1e-12)  # sums: any order
    _same(parted, api.run(m, data), exact=False)
    assert whole["growth"].drop_nulls().len() > 300


def test_results_are_sunk_in_small_morsels_and_the_setting_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last query is sunk in morsels of SINK_MORSEL_ROWS rows (here 7, so the 600
    rows stream in many): the file holds the in-memory results in their order, and the
    caller's own polars setting is back afterwards."""
    import os

    from engine.io import write

    data = tmp_path / "panel.parquet"
    _panel(7, units=200).sample(fraction=1.0, shuffle=True, seed=2).write_parquet(data)
    m = _methodology(tmp_path, PANEL_YAML)
    seen: list[str | None] = []
    sink = write.sink_table

    def spy(lf: pl.LazyFrame, path: Path, *, protect: object = ()) -> Path:
        seen.append(os.environ.get("POLARS_IDEAL_MORSEL_SIZE"))
        return sink(lf, path)

    monkeypatch.setattr(streamrun, "SINK_MORSEL_ROWS", 7)
    monkeypatch.setattr(write, "sink_table", spy)
    monkeypatch.setenv("POLARS_IDEAL_MORSEL_SIZE", "12345")
    out = _streamed(m, data).write(tmp_path / "out.parquet")
    assert seen == ["7"]
    assert os.environ["POLARS_IDEAL_MORSEL_SIZE"] == "12345"
    expected = api.run(m, data).frame
    assert_frame_equal(pl.read_parquet(out), expected, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("repeat", [None, 0, 17, 31])
def test_duplicate_keys_found_when_hashes_are_counted_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeat: int | None
) -> None:
    """The reader's duplicate-key check counts the keys' hashes a part of them at a time:
    it finds a repeated key (whichever part it falls in) exactly when polars'
    is_duplicated does, and reads the data through when there is none."""
    from engine.io.read import scan

    frame = pl.read_csv(REGIONS)
    if repeat is not None:
        frame = pl.concat([frame, frame.slice(repeat, 1)])
    data = tmp_path / "d.parquet"
    frame.write_parquet(data)
    monkeypatch.setattr(scan, "HASHED_ROWS", 5)
    got = streamrun.prepare(
        api.validate(ROOT / "methodologies/kireeva.yaml"), [data], ReadOptions()
    )
    duplicated = frame.select(pl.struct("region", "year").is_duplicated().any()).item()
    assert duplicated is (repeat is not None)
    assert (got == "duplicate keys") is duplicated


def test_sort_order_column_by_column_sorts_as_polars_sorts_by_all() -> None:
    """The rank's permutation, one stable sort per column, orders the rows as polars'
    sort by every column (missing values last); rows equal in every column are alike."""
    from engine.backends.polars.stream import _sort_order

    rnd = random.Random(9)
    frame = pl.DataFrame(
        {
            "year": [rnd.choice([2010, 2014, None]) for _ in range(2000)],
            "g": [rnd.choice(["a", "b", None]) for _ in range(2000)],
            "__v": [rnd.choice([None, 1.0, 2.0, rnd.random()]) for _ in range(2000)],
        }
    )
    for by in (["__v"], ["year", "__v"], ["g", "year", "__v"]):
        order = _sort_order(frame, by)
        assert sorted(order.to_list()) == list(range(frame.height))
        expected = frame.sort(by, nulls_last=True)
        assert_frame_equal(frame[order], expected)


def test_available_memory_is_read_on_linux() -> None:
    """The memory ``--stream auto`` weighs is the kernel's MemAvailable (or less, in a
    cgroup), not a constant; this suite runs on Linux, where /proc/meminfo exists."""
    meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
    line = next(x for x in meminfo.splitlines() if x.startswith("MemAvailable:"))
    got = streamrun.available_memory()
    assert got is not None and 0 < got <= int(line.split()[1]) * 1024 * 1.5
