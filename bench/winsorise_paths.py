"""Where plain Python stops beating numpy at COINr's winsorisation bounds.

``engine.backends.polars.winsorise.estimate_frame`` estimates frames of fewer than
``PYTHON_BELOW`` cells (rows x treated columns) in plain Python
(``winsorise_python``) and larger ones with numpy (``winsorise_numpy``), because importing
numpy costs a fixed amount a small index should not pay. This bench measures both sides
of that choice:

* numpy's import, in fresh processes (``python -c "import numpy"`` minus ``python -c
  "pass"``, medians of ``--reps`` alternated pairs; wall and CPU of all threads, since
  OpenBLAS starts its threads at import);
* each implementation on the same frames (numpy already imported), in this process,
  medians of ``--reps``: one group of ``units`` rows x ``indicators`` columns, every fifth
  indicator log-normal (skewed: it fails COINr's test and is winsorised), the others
  normal, as bench/treatment_scale.py; ``--skewed`` makes every indicator log-normal
  (the plain loop's worst case: every column iterates).

It prints, per size, the plain-Python time against numpy's import plus its estimation,
and the crossover in cells. The data comes from Python's ``random`` with ``--seed``.

    python bench/winsorise_paths.py [--units 51 200 500] [--indicators 49] [--reps 7]
        [--skewed] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import time

import polars as pl

from engine.backends.polars import winsorise_numpy, winsorise_python
from engine.backends.polars.winsorise import Settings

COINR = Settings(skew=2.0, kurtosis=3.5, max_points=5)


def frame(units: int, indicators: int, seed: int, skewed: bool) -> pl.DataFrame:
    rng = random.Random(seed)
    columns = {
        f"x{j}": [
            rng.lognormvariate(0, 1.5) if skewed or j % 5 == 0 else rng.gauss(50, 10)
            for _ in range(units)
        ]
        for j in range(indicators)
    }
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.Float64))


def timed(impl: object, data: pl.DataFrame, reps: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `impl`'s bounds of every column of `data`."""
    walls, cpus = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        impl.bounds_by_group(data, None, 1, data.columns, COINR)  # type: ignore[attr-defined]
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def child(code: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of ``python -c code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def numpy_import(reps: int) -> tuple[float, float]:
    """Median wall and CPU cost of importing numpy, pairs alternated with an empty run."""
    walls, cpus = [], []
    for i in range(reps):
        order = ("import numpy", "pass") if i % 2 else ("pass", "import numpy")
        got = {code: child(code) for code in order}
        walls.append(got["import numpy"][0] - got["pass"][0])
        cpus.append(got["import numpy"][1] - got["pass"][1])
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[51, 200, 400, 800, 2000])
    parser.add_argument("--indicators", type=int, default=49)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skewed", action="store_true")
    args = parser.parse_args()
    imp_wall, imp_cpu = numpy_import(args.reps)
    print(f"import numpy: {imp_wall:.4f} s wall, {imp_cpu:.4f} CPU-s (medians of {args.reps})")
    print(
        f"{'cells':>9} {'python wall':>12} {'numpy wall':>11} {'+ import':>9}"
        f" {'python CPU':>11} {'numpy CPU':>10} {'+ import':>9}  faster"
    )
    crossover = None
    for units in args.units:
        data = frame(units, args.indicators, args.seed, args.skewed)
        py_wall, py_cpu = timed(winsorise_python, data, args.reps)
        np_wall, np_cpu = timed(winsorise_numpy, data, args.reps)
        cells = units * args.indicators
        python_first = py_cpu < np_cpu + imp_cpu
        if not python_first and crossover is None:
            crossover = cells
        print(
            f"{cells:>9,} {py_wall:>12.4f} {np_wall:>11.4f} {np_wall + imp_wall:>9.4f}"
            f" {py_cpu:>11.4f} {np_cpu:>10.4f} {np_cpu + imp_cpu:>9.4f}"
            f"  {'python' if python_first else 'numpy'}"
        )
    print(
        "numpy (with its import) is first from "
        + (f"{crossover:,} cells" if crossover else "none of these sizes")
    )


if __name__ == "__main__":
    main()
