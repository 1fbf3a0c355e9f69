"""Treatment at scale: 10,000 units x 50 indicators with COINr's default treatment.

The methodology (written to a temporary folder): 50 indicators read from raw columns,
each treated with ``winsorise_log`` (COINr's ``Treat()`` defaults), min-max normalised
to [0, 100], five pillars of ten and the index as arithmetic means, one period. The
data: 10,000 units, every fifth indicator log-normal (so it is skewed and gets
treated), the others normal, from numpy's PCG64 with ``--seed``.

Timed in this process, medians of ``--reps``: validating and planning
(``api.validate``), and computing (``api.execute`` on the in-memory frame: the query
with its treatment steps, the audit and the report). The goal of issue 10 is under
one second of computation.

    python bench/treatment_scale.py [--units 10000] [--indicators 50] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def methodology(k: int) -> str:
    names = [f"x{j}" for j in range(k)]
    pillars = [names[i : i + 10] for i in range(0, k, 10)]
    lines = [
        "indexlab: 1",
        "id: treatment-scale",
        "title: Treatment at scale",
        "data: {unit: unit}",
        "inputs:",
        *[f"  {n}: {{}}" for n in names],
        "indicators:",
        *[f"  {n.upper()}: {{formula: {n}}}" for n in names],
        "treatment:",
        "  default: {method: winsorise_log}",
        "normalisation:",
        "  default: {method: min_max, range: [0, 100]}",
        "groups:",
        *[
            f"  P{i}: {{members: [{', '.join(n.upper() for n in p)}]}}"
            for i, p in enumerate(pillars)
        ],
        f"  All: {{members: [{', '.join(f'P{i}' for i in range(len(pillars)))}]}}",
        "index: {group: All}",
    ]
    return "\n".join(lines) + "\n"


def data(units: int, k: int, seed: int) -> pl.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    columns = {
        f"x{j}": rng.lognormal(0, 1.5, units) if j % 5 == 0 else rng.normal(50, 10, units)
        for j in range(k)
    }
    return pl.DataFrame({"unit": [f"U{i:06d}" for i in range(units)], **columns})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--indicators", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from engine import api

    work = Path(tempfile.mkdtemp(prefix="indexlab-treat-"))
    yaml = work / "m.yaml"
    yaml.write_text(methodology(args.indicators), encoding="utf-8")
    frame = data(args.units, args.indicators, args.seed)
    plans, computes = [], []
    for _ in range(args.reps):
        t = time.perf_counter()
        validated = api.validate(yaml)
        plans.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = api.execute(validated, frame)
        computes.append(time.perf_counter() - t)
    treated = result.adjustments.height if result.adjustments is not None else 0
    steps = sum(len(stage) for stage in validated.plan.stages)
    print(
        f"{args.units:,} units x {args.indicators} indicators, winsorise_log: "
        f"{steps} plan steps, {treated} treated points"
    )
    print(f"  validate + plan   median {statistics.median(plans):7.3f} s")
    print(f"  compute (execute) median {statistics.median(computes):7.3f} s   (goal < 1 s)")


if __name__ == "__main__":
    main()
