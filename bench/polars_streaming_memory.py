"""Polars alone: which query shapes make the streaming engine hold every row.

The evidence behind the design of a streamed run (engine/backends/polars/stream.py,
bench/README.md, *Streaming*): a panel of ``--rows`` rows (a text unit, two periods, 15
numbers, widened to 45 computed columns) is written to Parquet; each shape below is then
collected on the streaming engine in a child process of its own, and the child's peak
resident set (``wait4``) is printed. The aggregate is a null count of every number, so
nothing is held but what the engine itself holds.

* ``scan``: the widened scan alone (the floor).
* ``join auto``: a left join of the scan with a table of one row per unit (the 2010 rows,
  unit and one number), the build side left to polars.
* ``join force_right``: the same join with ``build_side="force_right"``.
* ``hconcat``: the scan concatenated horizontally with an in-memory column of one number
  per row.
* ``gather``: the same column added by the row number: ``pl.lit(column).gather(row)``.
* ``hconcat scan``: the same column written to a Parquet file and scanned beside the
  panel (``pl.concat([scan, pl.scan_parquet(file)], how="horizontal")``): two streams
  zipped morsel by morsel, the column not held (how a streamed run adds its ranks and
  at() values to the last query).

    python bench/polars_streaming_memory.py --rows 4000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import parse_rows
from wholeprocess import measure

SHAPES = ("scan", "join auto", "join force_right", "hconcat", "gather", "hconcat scan")


def _write(rows: int, path: Path) -> None:
    rng = np.random.default_rng(1)
    units = rows // 2
    ids = pl.Series(np.repeat(np.arange(units), 2)).cast(pl.String).str.zfill(9)
    numbers = {f"x{i}": rng.random(units * 2) for i in range(15)}
    frame = pl.DataFrame({"unit": "R" + ids, "year": np.tile([2010, 2014], units), **numbers})
    frame.write_parquet(path)


def _query(shape: str, path: Path) -> pl.LazyFrame:
    scan = pl.scan_parquet(path)
    numbers = [c for c, t in scan.collect_schema().items() if t == pl.Float64]
    wide = scan.with_columns((pl.col(c) * i).alias(f"{c}_{i}") for c in numbers for i in (2, 3))
    if shape == "scan":
        return wide
    if shape.startswith("join"):
        table = scan.filter(pl.col("year") == 2010).select("unit", pl.col("x0").alias("at"))
        side = "force_right" if shape.endswith("force_right") else "auto"
        return wide.join(
            table.collect().lazy(),
            on="unit",
            how="left",
            maintain_order="left",
            build_side=side,  # type: ignore[arg-type]
        )
    rows = scan.select(pl.len()).collect().item()
    column = pl.Series("r", np.arange(rows, dtype=np.float64))
    if shape == "hconcat scan":
        spilled = path.with_name("column.parquet")
        pl.DataFrame([column]).write_parquet(spilled)
        return pl.concat([wide, pl.scan_parquet(spilled)], how="horizontal")
    if shape == "hconcat":
        return pl.concat([wide, pl.DataFrame([column]).lazy()], how="horizontal")
    gathered = pl.lit(column).gather(pl.col("__row")).alias("r")
    return wide.with_row_index("__row").with_columns(gathered).drop("__row")


def _child(shape: str, path: Path) -> None:
    q = _query(shape, path)
    q.select(pl.selectors.numeric().null_count()).collect(engine="streaming")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="4M")
    parser.add_argument("--child", nargs=2, metavar=("SHAPE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return
    rows = parse_rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="indexlab-polars-memory-") as work:
        path = Path(work) / "panel.parquet"
        _write(rows, path)
        env = dict(os.environ)
        print(f"polars {pl.__version__}, {rows:,} rows, streaming engine, peak RSS of a child")
        for shape in SHAPES:
            wall, peak = measure([sys.executable, __file__, "--child", shape, str(path)], env)
            print(f"  {shape:<18} {peak:7,} MiB   {wall:6.1f} s")


if __name__ == "__main__":
    main()
