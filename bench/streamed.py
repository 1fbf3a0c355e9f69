"""Streamed runs larger than memory: ``indexlab run --stream on`` on 30M and 100M unit-years.

For each size, a panel is generated (``bench/generate.py``, Parquet) and
``indexlab run methodologies/kireeva.yaml <panel> -o out.parquet --stream on -q`` runs
``--reps`` times as a whole process; the median wall time and peak RSS (``wait4``) are
printed. With ``--in-memory`` the same run with ``--stream off`` is measured too (it
holds the data: at 30M rows it needs several GB). Up to ``--verify-rows`` rows the two
outputs are compared first: every column equal, floats within 1e-12 relative (sums over
a group add in another order when streamed; docs/engines.md).

    python bench/streamed.py                          # 30M and 100M, streamed only
    python bench/streamed.py --rows 1M --in-memory    # both paths, verified
    python bench/streamed.py --rows 30M --workdir /data --keep

Mind the disk: 100M unit-years are about 5.3 GB of Parquet (deleted at the end unless
``--keep``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from end_to_end import INDEXLAB, measure  # noqa: E402
from engines import parse_rows  # noqa: E402
from generate import generate  # noqa: E402

METHODOLOGY = ROOT / "methodologies" / "kireeva.yaml"


def run(panel: Path, out: Path, mode: str) -> list[str]:
    return [INDEXLAB, "run", str(METHODOLOGY), str(panel), "-o", str(out), "--stream", mode, "-q"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="30M,100M", help="sizes, e.g. 1M,30M,100M")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--in-memory", action="store_true", help="also run --stream off")
    parser.add_argument("--verify-rows", default="2M", help="compare outputs up to this size")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="indexlab-streamed-", dir=args.workdir))
    env = dict(os.environ)
    print(f"indexlab run {METHODOLOGY.name}, whole processes, medians of {args.reps}")
    try:
        for size in args.rows.split(","):
            rows = parse_rows(size)
            panel = work / f"panel-{size}.parquet"
            if not panel.exists():
                generate(rows, panel)
            outs = {"on": work / "streamed.parquet", "off": work / "memory.parquet"}
            modes = ["on", "off"] if args.in_memory else ["on"]
            for mode in modes:
                got = [measure(run(panel, outs[mode], mode), env) for _ in range(args.reps)]
                wall = statistics.median(w for w, _ in got)
                peak = statistics.median(p for _, p in got)
                what = "streamed (--stream on)" if mode == "on" else "in memory (--stream off)"
                print(f"  {rows:>13,} rows  {what:<26} {wall:9.1f} s {peak:8,} MiB peak RSS")
            if args.in_memory and rows <= parse_rows(args.verify_rows):
                a, b = pl.read_parquet(outs["on"]), pl.read_parquet(outs["off"])
                assert_frame_equal(a, b, rel_tol=1e-12, abs_tol=0.0)
                print(f"  {rows:>13,} rows  verified: streamed = in memory ({a.width} columns)")
            for path in outs.values():
                path.unlink(missing_ok=True)
            if not args.keep:
                panel.unlink(missing_ok=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
