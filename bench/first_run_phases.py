"""Where a first run's time goes, phase by phase, each phase timed in a fresh process.

A first run (no plan cache) of a methodology on its data, as ``indexlab run`` does it
through the Python API: importing polars, importing the engine (sympy, jsonschema, the
engine's modules), validating and planning, reading the data, executing (query, audit,
checks, report), writing the result. Each process prints its phases' wall seconds; the
script prints their medians over ``--reps`` processes. Run it with the Python that has
indexlab installed (a wheel in a fresh venv measures what users get: the bytecode is
compiled at install). This machine sets PYTHONDONTWRITEBYTECODE; the processes here run
with it unset, as an installed package would.

    python bench/first_run_phases.py [--reps 7] [methodology.yaml data.csv]

Default: COINr's ASEM example (``examples/coinr-asem``), the workload of ``bench/coinr.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASEM = ROOT / "examples" / "coinr-asem"

PHASES = ("import polars", "import engine", "validate", "read", "execute", "write")

CHILD = """
import json, sys, time
t = [time.perf_counter()]
import polars
t.append(time.perf_counter())
from engine import api
from engine.io.read.options import ReadOptions
t.append(time.perf_counter())
validated = api.validate(sys.argv[1])
t.append(time.perf_counter())
data = api.read_data(validated.methodology, [sys.argv[2]], ReadOptions())
t.append(time.perf_counter())
result = api.execute(validated, data)
t.append(time.perf_counter())
from pathlib import Path
result.write(Path(sys.argv[3]), protect=[])
t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("methodology", nargs="?", default=str(ASEM / "asem.yaml"))
    parser.add_argument("data", nargs="?", default=str(ASEM / "asem.csv"))
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    runs: list[list[float]] = []
    with tempfile.TemporaryDirectory() as work:
        out = str(Path(work) / "out.csv")
        for _ in range(args.reps):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, args.methodology, args.data, out],
                capture_output=True,
                text=True,
                env=env,
                cwd=work,  # not a checkout: the installed package is the one measured
                check=True,
            )
            runs.append(json.loads(done.stdout.splitlines()[-1]))
    medians = [statistics.median(r[i] for r in runs) for i in range(len(PHASES))]
    print(f"first run of {Path(args.methodology).name}, medians of {args.reps} processes (wall s)")
    for name, value in zip(PHASES, medians, strict=True):
        print(f"  {name:<14} {value:6.3f}")
    print(f"  {'total':<14} {statistics.median(sum(r) for r in runs):6.3f}")


if __name__ == "__main__":
    main()
