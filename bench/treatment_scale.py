"""Treatment and imputation at scale: 10,000 units x 50 indicators, computation alone.

The methodology (written to a temporary folder): 50 indicators read from raw columns,
each treated with ``winsorise_log`` (COINr's ``Treat()`` defaults), min-max normalised
to [0, 100], five pillars of ten and the index as arithmetic means. The data: 10,000
units, every fifth indicator log-normal (so it is skewed and gets treated), the others
normal, from numpy's PCG64 with ``--seed``.

``--imputation METHOD`` adds an imputation to every indicator and removes 5 % of the
values at random: ``mean`` or ``median`` by a label column of 10 groups (COINr's
``i_mean_grp``), ``row_mean`` (the unit's other indicators of its pillar), or the panel
methods ``locf``, ``constant`` and ``linear``, which need periods: the data then has
``--periods`` years per unit (default 5 for them, 1 otherwise), so 50,000 unit-years.

Timed in this process, medians of ``--reps``: validating and planning
(``api.validate``), and computing (``api.execute`` on the in-memory frame: the query
with its treatment and imputation steps, the audit and the report), as wall time and as
the CPU time of all the process's threads (on a shared machine the wall time grows with
the load; the CPU time much less). The goal of issue 10 is under one second of
computation.

    python bench/treatment_scale.py [--units 10000] [--indicators 50] [--reps 3]
        [--imputation {none,mean,median,row_mean,locf,constant,linear}] [--periods N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

PANEL = ("locf", "constant", "linear")


def methodology(k: int, imputation: str = "none", periods: int = 1) -> str:
    names = [f"x{j}" for j in range(k)]
    pillars = [names[i : i + 10] for i in range(0, k, 10)]
    impute = {
        "none": [],
        "mean": ["imputation:", "  default: {method: mean, by: [grp]}"],
        "median": ["imputation:", "  default: {method: median, by: [grp]}"],
    }.get(imputation, ["imputation:", f"  default: {{method: {imputation}}}"])
    lines = [
        "indexlab: 1",
        "id: treatment-scale",
        "title: Treatment at scale",
        "data: {unit: unit" + (", period: year" if periods > 1 else "") + ", labels: [grp]}",
        "inputs:",
        *[f"  {n}: {{}}" for n in names],
        "indicators:",
        *[f"  {n.upper()}: {{formula: {n}}}" for n in names],
        *impute,
        "treatment:",
        "  default: {method: winsorise_log}",
        "normalisation:",
        "  default: {method: min_max, range: [0, 100]}",
        "groups:",
        *[
            f"  P{i}: {{members: [{', '.join(n.upper() for n in p)}], coverage: 0.01}}"
            for i, p in enumerate(pillars)
        ],
        f"  All: {{members: [{', '.join(f'P{i}' for i in range(len(pillars)))}]}}",
        "index: {group: All}",
    ]
    return "\n".join(lines) + "\n"


def data(units: int, k: int, seed: int, periods: int = 1, missing: float = 0.0) -> pl.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    n = units * periods
    columns = {}
    for j in range(k):
        x = rng.lognormal(0, 1.5, n) if j % 5 == 0 else rng.normal(50, 10, n)
        if missing:
            x = np.where(rng.random(n) < missing, np.nan, x)
        columns[f"x{j}"] = pl.Series(f"x{j}", x, nan_to_null=True)
    unit = np.repeat(np.arange(units), periods)
    frame = pl.DataFrame(
        {
            "unit": [f"U{i:06d}" for i in unit],
            "grp": [f"G{i % 10}" for i in unit],
            **({"year": np.tile(np.arange(2000, 2000 + periods), units)} if periods > 1 else {}),
            **columns,
        }
    )
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--indicators", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--imputation",
        default="none",
        choices=["none", "mean", "median", "row_mean", *PANEL],
    )
    parser.add_argument("--periods", type=int, default=None)
    args = parser.parse_args()
    from engine import api

    periods = args.periods or (5 if args.imputation in PANEL else 1)
    work = Path(tempfile.mkdtemp(prefix="indexlab-treat-"))
    yaml = work / "m.yaml"
    yaml.write_text(methodology(args.indicators, args.imputation, periods), encoding="utf-8")
    missing = 0.05 if args.imputation != "none" else 0.0
    frame = data(args.units, args.indicators, args.seed, periods, missing)
    plans, computes, cpus = [], [], []
    for _ in range(args.reps):
        t = time.perf_counter()
        validated = api.validate(yaml)
        plans.append(time.perf_counter() - t)
        t, c = time.perf_counter(), time.process_time()
        result = api.execute(validated, frame)
        computes.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    adjusted = result.adjustments if result.adjustments is not None else pl.DataFrame()
    counts = dict(adjusted.group_by("action").len().iter_rows()) if adjusted.height else {"none": 0}
    steps = sum(len(stage) for stage in validated.plan.stages)
    print(
        f"{args.units:,} units x {periods} period(s) x {args.indicators} indicators, "
        f"winsorise_log, imputation {args.imputation}: {steps} plan steps, points {counts}"
    )
    print(f"  validate + plan   median {statistics.median(plans):7.3f} s")
    print(
        f"  compute (execute) median {statistics.median(computes):7.3f} s wall, "
        f"{statistics.median(cpus):.3f} s CPU of all threads   (goal < 1 s)"
    )


if __name__ == "__main__":
    main()
