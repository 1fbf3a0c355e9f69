"""The benches compare like with like: the bare polars peer computes what indexlab does,
and the generator writes the paper's layout the same way on every run."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bare_polars  # noqa: E402
from generate import COLUMNS, generate  # noqa: E402

from engine import api  # noqa: E402


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_generated_panel_and_the_peer_match_indexlab(tmp_path: Path, suffix: str) -> None:
    panel = generate(2_000, tmp_path / f"panel{suffix}", seed=3)
    again = generate(2_000, tmp_path / f"again{suffix}", seed=3)
    assert panel.read_bytes() == again.read_bytes()  # reproducible
    frame = pl.read_parquet(panel) if suffix == ".parquet" else pl.read_csv(panel)
    assert frame.columns == COLUMNS and frame.height == 2_000
    assert frame.select(pl.exclude("region", "region_ru", "year").min()).row(0) > (0,) * 13

    from paper_scale import stage1_methodology

    yaml = stage1_methodology(tmp_path)
    ours = api.run(yaml, [panel]).frame
    peer = bare_polars.hand_written(frame).select(bare_polars.HAND_OUTPUT)
    assert ours.columns == peer.columns
    for name in ours.columns:
        a, b = ours.get_column(name), peer.get_column(name)
        if a.dtype.is_float():
            assert ((a - b).abs() <= 1e-9 * b.abs().clip(lower_bound=1)).all(), name
        else:
            assert a.cast(pl.String).equals(b.cast(pl.String)), name


def test_the_peers_rank_ties_values_within_the_methodologys_tolerance() -> None:
    """At 1M rows the generated panels have a few hundred indices within 1e-9 of another
    (relative): the peer's rank must tie them as indexlab's default ranking does. Values
    in near-tie chains a few ulps apart, exact repeats and a missing one, two years."""
    import math

    import sympy

    from engine.backends.polars.compile import Context, to_polars
    from engine.formula import ir

    base = [17.432098551592944, 17.432098553122604, 50.0, 3.0, 3.0, 99.9]
    chain = [math.nextafter(math.nextafter(v, 0), 0) for v in base]
    values = [*base, *chain, None, 17.43209857]
    frame = pl.DataFrame(
        {
            "region": [f"R{i:02d}" for i in range(len(values))],
            "year": [2010, 2014] * (len(values) // 2),
            "index": values,
        }
    )
    node = ir.stat(
        ir.ColRank,
        sympy.Symbol("index"),
        ("year",),
        sympy.Integer(1),
        ir.Str("min"),
        sympy.Float(bare_polars.RANK_TOLERANCE),
    )
    ours = to_polars(node, Context({}, "region", "year", order=("region", "year")))
    got = frame.with_columns(
        ours.cast(pl.Int64).alias("ours"),
        bare_polars.rank_min_within_tolerance(pl.col("index"), "year").cast(pl.Int64).alias("peer"),
    )
    assert got["ours"].equals(got["peer"]), got
    plain = pl.col("index").rank("min", descending=True).over("year").cast(pl.Int64)
    assert not got.with_columns(plain.alias("plain"))["plain"].equals(got["peer"])


def test_the_first_run_phases_add_up_to_the_run_and_write_its_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bench/first_run_phases.py` times every phase of a first run: six phases, each a
    positive time, summing to the total it prints."""
    import first_run_phases

    monkeypatch.setattr(sys, "argv", ["first_run_phases.py", "--reps", "1"])
    first_run_phases.main()
    lines = capsys.readouterr().out.splitlines()
    times = {line[:16].strip(): float(line[16:]) for line in lines[1:]}
    assert list(times) == [*first_run_phases.PHASES, "total"]
    assert all(t > 0 for t in times.values())
    # each figure is printed to the millisecond: the sum may differ by half of one per figure
    rounding = 0.0005 * (len(first_run_phases.PHASES) + 1)
    assert sum(times[p] for p in first_run_phases.PHASES) == pytest.approx(
        times["total"], abs=rounding
    )


def test_the_sink_bench_sinks_each_way_and_reports_its_memory(tmp_path: Path) -> None:
    """bench/sink_memory.py builds the streamed run once and sinks it each way asked."""
    import subprocess

    panel = generate(2_000, tmp_path / "panel.parquet", seed=5)
    script = str(BENCH / "sink_memory.py")
    got = subprocess.run(
        [sys.executable, script, str(panel), "--reps", "1", "--ways", "default,engine,morsels-300"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    assert lines[0].startswith(f"polars {pl.__version__}, 2,000 rows")
    assert [line.split()[0] for line in lines[1:]] == ["default", "engine", "morsels-300"]
    assert all("peak +" in line for line in lines[1:])
    assert list(tmp_path.iterdir()) == [panel]  # the sunk files are gone
    bad = subprocess.run(
        [sys.executable, script, str(panel), "--ways", "morsels-x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "unknown way 'morsels-x'" in bad.stderr
