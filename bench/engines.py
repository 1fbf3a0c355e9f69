"""polars vs DuckDB vs Spark on the German specialisation methodology at scale.

    nice python bench/engines.py                    # 10M and 100M detail rows
    nice python bench/engines.py --rows 10M --engines polars,duckdb

Generates detail rows of the shape of examples/germany-specialisation (one row per
region x industry x year, employment), written as one Parquet file per year (with its
year column; one chunk per year, so generating takes flat memory), then runs
examples/germany-specialisation/specialisation.yaml on it with each engine, each in a
process of its own, and prints wall time and peak memory side by side. Peak memory is
the largest sum of the resident memory of the process and its children (Spark's JVM),
sampled every 50 ms. Every engine's output is compared with the first engine's (largest
relative difference of the numbers). The data is deleted afterwards unless --keep.

Each engine: polars (indexlab's default, streamed as `indexlab run --stream on` does:
the files scanned and checked by streamed aggregates, then one year at a time, see
engine/streamdetail.py), polars-memory (the reader loads every row, one lazy query in
memory: what `--stream off` does), DuckDB (reads the Parquet files itself;
--memory-limit, spilling to a folder beside the data), Spark local[2] (reads the
folder itself, spark.driver.memory 6g).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
METHODOLOGY = ROOT / "examples/germany-specialisation/specialisation.yaml"
INDUSTRIES = 250
YEARS = 100


def parse_rows(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * scale)


def generate(rows: int, folder: Path) -> tuple[int, int, int]:
    """regions x INDUSTRIES x YEARS rows, one Parquet file per year (its year a column);
    returns the shape."""
    regions = max(1, rows // (INDUSTRIES * YEARS))
    rng = np.random.default_rng(2015)
    land = [f"R{r:05d}" for r in range(regions)]
    code = [f"C{r:05d}" for r in range(regions)]
    industry = ["WZ08-J"] + [f"WZ08-{k:03d}" for k in range(1, INDUSTRIES)]
    size = rng.lognormal(9, 1.2, regions)  # region size
    weight = rng.dirichlet(np.ones(INDUSTRIES) * 0.7)  # industry mix
    for y in range(YEARS):
        year = 1925 + y
        noise = rng.lognormal(0, 0.3, (regions, INDUSTRIES))
        employment = np.floor(size[:, None] * weight[None, :] * INDUSTRIES * noise)
        part = pl.DataFrame(
            {
                "land": np.repeat(land, INDUSTRIES),
                "land_code": np.repeat(code, INDUSTRIES),
                "industry": np.tile(industry, regions),
                "year": np.full(regions * INDUSTRIES, year),
                "employment": employment.ravel(),
            }
        )
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"year-{year}.parquet")
    return regions, INDUSTRIES, YEARS


def child(engine: str, data: Path, out: Path, memory_limit: str) -> None:
    """One engine's run (in its own process); writes the unit-level table to `out`."""
    from engine import api, streamrun
    from engine.backends.sql.engines import EngineOptions
    from engine.io.read import ReadOptions

    files = sorted(data.rglob("*.parquet"))
    start = time.perf_counter()
    if engine == "polars":  # streamed, one year at a time
        streamed = streamrun.prepare(api.validate(METHODOLOGY), files, ReadOptions())
        if isinstance(streamed, str):
            raise SystemExit(f"not streamed: {streamed}")
        frame = streamed.query.collect()
    elif engine == "polars-memory":  # the reader loads every row
        frame = api.run(METHODOLOGY, files).frame
    else:
        options = EngineOptions(
            memory_limit=memory_limit,
            temp_directory=str(data.parent / "spill"),
            master="local[2]",
            spark_config=(("spark.driver.memory", "6g"), ("spark.sql.shuffle.partitions", "8")),
        )
        frame = api.run(METHODOLOGY, [str(data)], engine=engine, engine_options=options).frame
    seconds = time.perf_counter() - start
    frame.write_parquet(out)
    print(json.dumps({"seconds": seconds, "rows": frame.height}))


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure(engine: str, data: Path, out: Path, memory_limit: str) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--data",
        str(data),
        "--out",
        str(out),
        "--memory-limit",
        memory_limit,
    ]
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child and what it waited for
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or ["?"])[-1]
        return {"failed": 1.0, "wall": wall, "peak": peak, "error": last}  # type: ignore[dict-item]
    got = json.loads(stdout.strip().splitlines()[-1])
    return {"wall": wall, "compute": got["seconds"], "cpu": cpu, "peak": peak, "rows": got["rows"]}


def largest_gap(a: pl.DataFrame, b: pl.DataFrame) -> float:
    keys = ["land", "year"]
    a, b = a.sort(keys), b.sort(keys)
    worst = 0.0
    for c in a.columns:
        if a[c].dtype.is_float():
            x, y = a[c].to_numpy(), b[c].to_numpy()
            scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-300)
            gap = np.nanmax(np.where(x == y, 0.0, np.abs(x - y) / scale))
            worst = max(worst, float(gap))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10M,100M")
    parser.add_argument("--engines", default="polars,duckdb,spark")
    parser.add_argument("--dir", default=None, help="where to write the data (a temp folder)")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB's memory limit")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.data), Path(args.out), args.memory_limit)
        return
    base = Path(args.dir or tempfile.mkdtemp(prefix="indexlab-engines-"))
    engines = args.engines.split(",")
    lines = []
    print(
        f"{'detail rows':>12} {'engine':>13} {'wall s':>8} {'compute s':>10} {'cpu s':>8} "
        f"{'peak MiB':>9} "
        f"{'rows out':>9} {'max rel diff':>13}"
    )
    for size in args.rows.split(","):
        rows = parse_rows(size)
        data = base / f"rows-{size}" / "data"
        started = time.perf_counter()
        regions, industries, years = generate(rows, data)
        made = time.perf_counter() - started
        disk = sum(p.stat().st_size for p in data.rglob("*.parquet")) / 2**20
        n = regions * industries * years
        print(
            f"# {n:,} rows = {regions} regions x {industries} industries x {years} years, "
            f"{disk:.0f} MiB Parquet, generated in {made:.0f} s",
            flush=True,
        )
        first: pl.DataFrame | None = None
        for engine in engines:
            out = data.parent / f"{engine}.parquet"
            got = measure(engine, data, out, args.memory_limit)
            if "failed" in got:
                line = (
                    f"{n:>12,} {engine:>13} {got['wall']:>8.1f} {'-':>10} {'-':>8} "
                    f"{got['peak'] / 2**20:>9.0f} {'failed':>9} {str(got['error'])[:60]}"
                )
            else:
                frame = pl.read_parquet(out)
                gap = "-" if first is None else f"{largest_gap(first, frame):.1e}"
                first = frame if first is None else first
                line = (
                    f"{n:>12,} {engine:>13} {got['wall']:>8.1f} {got['compute']:>10.1f} "
                    f"{got['cpu']:>8.1f} "
                    f"{got['peak'] / 2**20:>9.0f} {int(got['rows']):>9,} {gap:>13}"
                )
            print(line, flush=True)
            lines.append(line)
        if not args.keep:
            shutil.rmtree(data.parent)
    if not args.keep and args.dir is None:
        shutil.rmtree(base, ignore_errors=True)
    print(
        f"# {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; this process's peak "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
