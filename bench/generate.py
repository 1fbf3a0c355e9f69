"""Synthetic panels for the benches, written to disk in chunks (memory stays flat).

The seed paper's layout (``examples/kazakhstan/regions.csv``): ``region``, ``region_ru``,
``year`` (2010 and 2014) and the 13 numeric inputs of ``methodologies/kireeva.yaml``,
every value positive and in the paper's ranges, the printed derived columns rounded as
the paper prints them (so the checks pass) except a deliberate misprint in labour
productivity in one row in 10,000 — the distributions of ``bench/paper_scale.py``'s
``make_panel``, drawn with numpy's PCG64 from ``seed`` and the chunk number, so a panel
is the same on every machine. Chunks of ``CHUNK`` regions are written as Parquet files
and then streamed by polars into one Parquet or CSV file (``sink_*``), so generating
100 million rows needs about as much memory as one chunk.

    python bench/generate.py 10000000 /tmp/panel.parquet
    python bench/generate.py 10000000 /tmp/panel.csv --seed 7
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

YEARS = (2010, 2014)
CHUNK = 1_000_000  # regions per chunk (2 million rows)
COLUMNS = [
    "region",
    "region_ru",
    "year",
    "grp",
    "employed",
    "fixed_assets",
    "emissions",
    "rd_expenditure",
    "tech_innovation_expenditure",
    "innovative_output",
    "labour_productivity",
    "return_on_assets",
    "ecology",
    "rd_per_employed",
    "tech_innovation_per_employed",
    "innovative_output_per_capita",
]


def _chunk(first: int, units: int, width: int, seed: int, index: int) -> pl.DataFrame:
    """Regions first .. first + units - 1, both years, in the order of regions.csv."""
    rng = np.random.Generator(np.random.PCG64([seed, index]))
    years = len(YEARS)
    n = units * years

    def log_between(size: int, lo: float, hi: float) -> np.ndarray:
        return np.exp(np.log(lo) + rng.random(size) * (np.log(hi) - np.log(lo)))

    def between(size: int, lo: float, hi: float) -> np.ndarray:
        return lo + rng.random(size) * (hi - lo)

    def per_unit(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, years)

    employed = np.round(per_unit(log_between(units, 20_000, 1_500_000)) * between(n, 0.95, 1.08))
    productivity = per_unit(log_between(units, 800, 15_000)) * between(n, 0.9, 1.8)
    grp = np.round(employed * productivity / 1000, 1)
    fixed_assets = np.round(grp / between(n, 0.3, 1.5))
    emissions = np.round(log_between(n, 5, 1_500), 1)
    rd = np.round(log_between(n, 50, 30_000), 1)
    tech = np.round(log_between(n, 10, 100_000), 1)
    output = np.round(log_between(n, 100, 300_000), 1)
    population = employed * per_unit(between(units, 1.7, 2.3)) * between(n, 0.97, 1.03)
    labour = np.round(grp * 1000 / employed, 2)
    misprint = rng.random(n) < 1e-4
    labour = np.where(misprint, labour * 1.1, labour)
    ids = pl.Series(np.repeat(np.arange(first, first + units), years)).cast(pl.String)
    ids = ids.str.zfill(width)
    return pl.DataFrame(
        {
            "region": "R" + ids,
            "region_ru": "Регион " + ids,
            "year": np.tile(np.array(YEARS, dtype=np.int64), units),
            "grp": grp,
            "employed": employed,
            "fixed_assets": fixed_assets,
            "emissions": emissions,
            "rd_expenditure": rd,
            "tech_innovation_expenditure": tech,
            "innovative_output": output,
            "labour_productivity": labour,
            "return_on_assets": np.round(grp / fixed_assets, 2),
            "ecology": np.round(grp / emissions, 1),
            "rd_per_employed": np.round(rd * 1e6 / employed, 2),
            "tech_innovation_per_employed": np.round(tech * 1e6 / employed, 2),
            "innovative_output_per_capita": np.round(output * 1e6 / population, 2),
        }
    ).select(COLUMNS)


def generate(rows: int, target: Path, seed: int = 2016) -> Path:
    """Write a panel of `rows` unit-years (rounded down to whole regions) to `target`
    (.parquet or .csv), chunk by chunk."""
    units = rows // len(YEARS)
    width = len(str(max(units - 1, 0)))
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = Path(tempfile.mkdtemp(prefix="panel-", dir=target.parent))
    try:
        for index, first in enumerate(range(0, units, CHUNK)):
            part = _chunk(first, min(CHUNK, units - first), width, seed, index)
            part.write_parquet(parts / f"{index:05d}.parquet")
        chunks = pl.scan_parquet(parts / "*.parquet")
        if target.suffix == ".csv":
            chunks.sink_csv(target)
        else:
            chunks.sink_parquet(target)
    finally:
        shutil.rmtree(parts)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("target", type=Path)
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    generate(args.rows, args.target, args.seed)
    print(f"wrote {args.target}")


if __name__ == "__main__":
    main()
