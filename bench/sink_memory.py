"""The memory of a streamed run's last step, its sink, repeated in one process.

Builds the streamed run of ``methodologies/kireeva.yaml`` on a Parquet panel once (the
passes: statistics, ranks, ``at()``), then sinks its last query to a Parquet file again
and again, each way of sinking ``--reps`` times in turn. A thread samples the process's
anonymous memory (``RssAnon``) every 0.1 s; printed per sink are its wall and CPU
seconds and its peak above the level before it. Whole runs (`bench/streamed.py`) take
minutes each at 30M rows; this shows the sink alone in seconds, so that ways of sinking
can be compared on one built run (bench/README.md, *Round eight*). Linux only.

    python bench/generate.py 30000000 /data/panel-30M.parquet
    python bench/sink_memory.py /data/panel-30M.parquet --reps 3
    python bench/sink_memory.py PANEL --ways default,morsels-20000,ipc
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl

from engine import api, streamrun
from engine.io.read import ReadOptions

ROOT = Path(__file__).resolve().parent.parent
YAML = ROOT / "methodologies" / "kireeva.yaml"


def anonymous_mib() -> int:
    """This process's anonymous resident memory, MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) // 1024
    raise OSError("no RssAnon in /proc/self/status")


class Peak:
    """The highest anonymous memory seen since :meth:`reset`, sampled every 0.1 s."""

    def __init__(self) -> None:
        self.value = anonymous_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.value = max(self.value, anonymous_mib())

    def reset(self) -> int:
        self.value = anonymous_mib()
        return self.value

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _morsels(rows: int, query: pl.LazyFrame, out: Path) -> None:
    with pl.Config(streaming_chunk_size=rows):
        query.sink_parquet(out)


#: ways to sink a query into a file, by name (and ``morsels-N``: Parquet, N-row morsels)
WAYS: dict[str, Callable[[pl.LazyFrame, Path], object]] = {
    "default": lambda query, out: query.sink_parquet(out),
    "engine": partial(_morsels, streamrun.SINK_MORSEL_ROWS),
    "unordered": lambda query, out: query.sink_parquet(out, maintain_order=False),
    "ipc": lambda query, out: query.sink_ipc(out),
    "csv": lambda query, out: query.sink_csv(out),
}


def _way(name: str) -> Callable[[pl.LazyFrame, Path], object]:
    rows = name.removeprefix("morsels-")
    if name in WAYS:
        return WAYS[name]
    if name.startswith("morsels-") and rows.isdigit():
        return partial(_morsels, int(rows))
    raise SystemExit(f"unknown way '{name}'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("panel", type=Path, help="a Parquet panel (bench/generate.py)")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument(
        "--ways",
        default="default,engine",
        help="comma-separated: default, engine (streamrun.SINK_MORSEL_ROWS), "
        "morsels-N, unordered, ipc, csv",
    )
    args = parser.parse_args()
    chosen = {name: _way(name) for name in args.ways.split(",")}
    peak = Peak()
    started = time.perf_counter()
    run = streamrun.prepare(api.validate(YAML), [args.panel], ReadOptions())
    if isinstance(run, str):
        raise SystemExit(f"{args.panel} does not stream: {run}")
    print(
        f"polars {pl.__version__}, {run.rows:,} rows: passes built in "
        f"{time.perf_counter() - started:.0f} s, peak {peak.value:,} MiB; "
        f"the engine sinks in morsels of {streamrun.SINK_MORSEL_ROWS:,} rows"
    )
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        out = Path(folder) / "out.parquet"
        for rep in range(args.reps):
            for name, sink in chosen.items():
                base = peak.reset()
                cpu, wall = os.times(), time.perf_counter()
                sink(run.query, out)
                wall = time.perf_counter() - wall
                after = os.times()
                seconds = after.user + after.system - cpu.user - cpu.system
                print(
                    f"  {name:16s} rep {rep}: {wall:6.1f} s {seconds:6.1f} CPU-s  "
                    f"before {base:,} MiB  peak +{peak.value - base:,} MiB"
                )
                out.unlink()
    peak.stop()


if __name__ == "__main__":
    main()
