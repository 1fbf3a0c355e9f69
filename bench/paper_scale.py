"""The seed paper's methodology at scale: indexlab against a hand-written polars query.

Runs ``methodologies/kireeva.yaml`` (stage 1 of Kireeva's index: six indicators from raw
columns, leader share ``x / max(x) * 100`` per year, two arithmetic-mean groups, index
``(RIS + RIA) / 2``, rank per year with ties ``min``, classes in 10-point bands, the
derived change against 2010 and the six checks) on a synthetic panel of ``--rows``
unit-periods: ``rows / 2`` regions x the paper's two years, 2010 and 2014.

Timed, on the same in-memory frame, each in a fresh child process (so that the peak
RSS of each side is its own):

* indexlab: ``engine.api.validate(yaml)`` + ``engine.api.execute(validated, frame)``
  (the lazy query, the audit of every computed value for NaN/inf/undefined, the check
  reports and the missing-index warnings);
* hand-written: the same computation as one polars lazy query written by hand, with
  the same outputs (indicators raw and normalised, groups, index, rank, class,
  class_group, change, the six check booleans), and nothing else: no audit, no report.

Reading the data is excluded from both sides. Each side runs ``--reps`` times (order
alternating) and the median is reported. ``api.run`` on a Parquet file (reading
included) is timed as an extra line. Before any timing the two sides are run once and
compared: every output column, floats within 1e-9 (relative to max(1, |value|)),
strings and integers exactly, and each check's failing rows.

    .venv/bin/python bench/paper_scale.py                 # 10,000,000 rows
    .venv/bin/python bench/paper_scale.py --rows 200000   # a quick smoke test

The last line printed is ``ratio indexlab/hand-written: X.XX`` (ratio of the medians).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
YAML = ROOT / "methodologies" / "kireeva.yaml"
YEARS = (2010, 2014)
BASE_YEAR = 2010
DERIVED_YEARS = (2014,)

INPUTS = [
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
COLUMNS = ["region", "region_ru", "year", *INPUTS]  # the order of regions.csv


# -- synthetic data ------------------------------------------------------------------------


def _uniform(rng: random.Random, n: int) -> pl.Series:
    """n uniform floats in [0, 1) from a seeded Mersenne Twister (53 random bits each)."""
    buf = pa.py_buffer(rng.randbytes(8 * n))
    bits = pl.from_arrow(pa.Array.from_buffers(pa.uint64(), n, [None, buf]))
    assert isinstance(bits, pl.Series)
    return (bits // 2048).cast(pl.Float64) * 2.0**-53


def _between(u: pl.Series, lo: float, hi: float) -> pl.Series:
    return lo + u * (hi - lo)


def _log_between(u: pl.Series, lo: float, hi: float) -> pl.Series:
    """Log-uniform in [lo, hi): sizes of regions spread over orders of magnitude."""
    return (math.log(lo) + u * (math.log(hi) - math.log(lo))).exp()


def make_panel(rows: int, seed: int) -> pl.DataFrame:
    """`rows` unit-periods (rows / 2 regions x 2010, 2014), in the order of regions.csv
    (by region, then year), every input positive and in the paper's ranges.

    The printed derived columns are the recomputed values rounded as the paper prints
    them (2 decimals, ecology 1), so the checks pass, except for one row in 10,000 with
    a deliberate misprint in labour productivity (the paper's tables have such rows).
    """
    years = len(YEARS)
    units = rows // years
    n = units * years
    rng = random.Random(seed)
    unit = pl.int_range(0, n, eager=True, dtype=pl.Int64) // years

    def per_unit(lo: float, hi: float, log: bool = True) -> pl.Series:
        u = _uniform(rng, units)
        return (_log_between(u, lo, hi) if log else _between(u, lo, hi)).gather(unit)

    def per_row(lo: float, hi: float, log: bool = True) -> pl.Series:
        u = _uniform(rng, n)
        return _log_between(u, lo, hi) if log else _between(u, lo, hi)

    employed = (per_unit(20_000, 1_500_000) * per_row(0.95, 1.08, log=False)).round(0)
    productivity = per_unit(800, 15_000) * per_row(0.9, 1.8, log=False)  # thousand tenge per person
    grp = (employed * productivity / 1000).round(1)  # million tenge
    fixed_assets = (grp / per_row(0.3, 1.5, log=False)).round(0)
    emissions = per_row(5, 1_500).round(1)  # thousand tonnes
    rd = per_row(50, 30_000).round(1)
    tech = per_row(10, 100_000).round(1)
    output = per_row(100, 300_000).round(1)
    population = employed * per_unit(1.7, 2.3, log=False) * per_row(0.97, 1.03, log=False)
    per_capita = (output * 1e6 / population).round(2)  # tenge per inhabitant
    labour = (grp * 1000 / employed).round(2)
    misprint = _uniform(rng, n) < 1e-4
    labour = pl.select(pl.when(misprint).then(labour * 1.1).otherwise(labour)).to_series()

    ids = unit.cast(pl.String).str.zfill(len(str(max(units - 1, 0))))
    frame = pl.DataFrame(
        {
            "region": "R" + ids,
            "region_ru": "Регион " + ids,
            "year": pl.Series([YEARS[i % years] for i in range(years)] * units, dtype=pl.Int64),
            "grp": grp,
            "employed": employed,
            "fixed_assets": fixed_assets,
            "emissions": emissions,
            "rd_expenditure": rd,
            "tech_innovation_expenditure": tech,
            "innovative_output": output,
            "labour_productivity": labour,
            "return_on_assets": (grp / fixed_assets).round(2),
            "ecology": (grp / emissions).round(1),
            "rd_per_employed": (rd * 1e6 / employed).round(2),
            "tech_innovation_per_employed": (tech * 1e6 / employed).round(2),
            "innovative_output_per_capita": per_capita,
        }
    )
    return frame.select(COLUMNS)


# -- the hand-written version ------------------------------------------------------------

from bare_polars import HAND_OUTPUT, hand_written  # noqa: E402

CHECKS = [
    "printed_labour_productivity",
    "printed_return_on_assets",
    "printed_ecology",
    "printed_rd_per_employed",
    "printed_tech_innovation_per_employed",
    "population_stable",
]


# -- the indexlab side ----------------------------------------------------------------------


def stage1_methodology(workdir: Path) -> Path:
    """methodologies/kireeva.yaml, cut to stage 1 if the file has grown a stage 2.

    Stage 2 (``screening`` with the optional input ``it_share`` of table 7) is not part
    of this benchmark; when present it is dropped from a copy in `workdir`.
    """
    import yaml

    doc = yaml.safe_load(YAML.read_text(encoding="utf-8"))
    extra = [
        k
        for k, v in doc.get("inputs", {}).items()
        if k not in COLUMNS and (v or {}).get("optional")
    ]
    if "screening" not in doc and not extra:
        return YAML
    doc.pop("screening", None)
    for k in extra:
        del doc["inputs"][k]
    path = workdir / "kireeva-stage1.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def indexlab(frame: pl.DataFrame, methodology: Path):
    from engine import api

    validated = api.validate(methodology)
    return api.execute(validated, frame)


def indexlab_parquet(path: str, methodology: Path):
    from engine import api

    return api.run(methodology, [path])


# -- verification ---------------------------------------------------------------------------


def verify(data_path: str, methodology: Path) -> dict:
    """Run both sides once and assert that they agree; returns a summary."""
    frame = pl.read_parquet(data_path)
    result = indexlab(frame, methodology)
    hand = hand_written(frame).sort("region", "year")
    del frame
    ours = result.frame
    assert ours.columns == HAND_OUTPUT, (ours.columns, HAND_OUTPUT)
    assert ours.height == hand.height
    mismatches = []
    for name in HAND_OUTPUT:
        a, b = ours[name], hand[name]
        if a.dtype != b.dtype:
            mismatches.append(f"{name}: dtype {a.dtype} != {b.dtype}")
        elif a.dtype == pl.Float64:
            bad = (
                pl.select(
                    ~(
                        ((a - b).abs() <= 1e-9 * pl.max_horizontal(pl.lit(1.0), a.abs(), b.abs()))
                        | (a.is_null() & b.is_null())
                    )
                )
                .to_series()
                .fill_null(True)
                .sum()
            )
            if bad:
                mismatches.append(f"{name}: {bad} values differ by more than 1e-9")
        elif not a.equals(b):
            mismatches.append(f"{name}: {(a != b).fill_null(True).sum()} values differ")
    failing = {}
    for cr in result.checks:
        name = cr.check.name
        col = hand["check." + name]
        expected = hand.filter(col.not_()).select("region", "year")
        got = cr.failures.select("region", "year")
        if cr.tested != col.is_not_null().sum() or not got.equals(expected):
            mismatches.append(
                f"check {name}: indexlab {got.height} failing of {cr.tested}, "
                f"hand-written {expected.height} of {col.is_not_null().sum()}"
            )
        failing[name] = got.height
    assert [cr.check.name for cr in result.checks] == CHECKS
    assert not mismatches, "indexlab and the hand-written query disagree:\n  " + "\n  ".join(
        mismatches
    )
    return {
        "rows": ours.height,
        "failing": failing,
        "classes": dict(ours["class"].value_counts().iter_rows()),
        "warnings": len(result.warnings),
    }


# -- timing in child processes --------------------------------------------------------------


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(side: str, data_path: str, methodology: Path, conn) -> None:
    try:
        import engine.api  # noqa: F401  (imports are not timed on either side)

        if side == "indexlab-parquet":
            loaded_mb = _rss_now_mb()
            t0, c0 = time.perf_counter(), time.process_time()
            out = indexlab_parquet(data_path, methodology)
        else:
            frame = pl.read_parquet(data_path)
            frame.rechunk()
            loaded_mb = _rss_now_mb()
            t0, c0 = time.perf_counter(), time.process_time()
            out = indexlab(frame, methodology) if side == "indexlab" else hand_written(frame)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        del out
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(("ok", seconds, loaded_mb, peak_mb, cpu))
    except BaseException as e:  # report, not hang
        conn.send(("error", repr(e), 0.0, 0.0, 0.0))
    finally:
        conn.close()


def _in_child(ctx, target, *args):
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=target, args=(*args, send))
    p.start()
    send.close()
    msg = recv.recv()
    p.join()
    return msg


def run_side(
    ctx, side: str, data_path: str, methodology: Path
) -> tuple[float, float, float, float]:
    """Wall seconds, RSS with the data loaded, peak RSS (MiB) and CPU seconds (all the
    child's threads) of one timed run."""
    status, seconds, loaded, peak, cpu = _in_child(ctx, _child, side, data_path, methodology)
    if status != "ok":
        raise SystemExit(f"{side} failed: {seconds}")
    return seconds, loaded, peak, cpu


def _verify_child(data_path: str, methodology: Path, conn) -> None:
    try:
        conn.send(("ok", verify(data_path, methodology)))
    except BaseException as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rows", type=int, default=10_000_000, help="unit-periods (default 10,000,000)"
    )
    ap.add_argument("--reps", type=int, default=3, help="timings per side; the median is reported")
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--no-parquet-run", action="store_true", help="skip timing api.run on Parquet")
    args = ap.parse_args(argv)

    ctx = mp.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix="indexlab-bench-"))
    try:
        t0 = time.perf_counter()
        frame = make_panel(args.rows, args.seed)
        gen = time.perf_counter() - t0
        data_path = str(workdir / "panel.parquet")
        frame.write_parquet(data_path, compression="lz4")
        units = frame["region"].n_unique()
        print(
            f"data: {frame.height:,} rows = {units:,} regions x years {', '.join(map(str, YEARS))}, "
            f"{frame.width} columns, seed {args.seed} (generated in {gen:.1f} s, "
            f"{frame.estimated_size() / 2**20:,.0f} MiB in memory)"
        )
        del frame
        print(
            f"machine: {os.cpu_count()} cores, polars {pl.__version__}, "
            f"python {sys.version.split()[0]}"
        )

        methodology = stage1_methodology(workdir)
        if methodology != YAML:
            print(
                f"methodology: {YAML.relative_to(ROOT)}, stage 1 only (screening and its optional "
                "inputs dropped in a temporary copy)"
            )
        status, summary = _in_child(ctx, _verify_child, data_path, methodology)
        if status != "ok":
            print(summary, file=sys.stderr)
            return 1
        print(
            f"verified: {summary['rows']:,} rows identical (floats within 1e-9; index, rank, class, "
            f"class_group, change, indicators, groups); failing rows per check also identical: "
            + ", ".join(f"{k} {v}" for k, v in summary["failing"].items())
        )

        sides = ["indexlab", "hand-written"]
        results: dict[str, list[tuple[float, float, float, float]]] = {s: [] for s in sides}
        for r in range(args.reps):
            for side in sides if r % 2 == 0 else sides[::-1]:
                results[side].append(run_side(ctx, side, data_path, methodology))
                s, _, peak, cpu = results[side][-1]
                print(
                    f"  run {r + 1} {side:<13} {s:7.3f} s {cpu:7.2f} CPU-s   "
                    f"peak RSS {peak:8,.0f} MiB"
                )
        if not args.no_parquet_run:
            results["indexlab-parquet"] = []
            for _ in range(args.reps):
                results["indexlab-parquet"].append(
                    run_side(ctx, "indexlab-parquet", data_path, methodology)
                )

        med = {k: statistics.median(t for t, _, _, _ in v) for k, v in results.items()}
        cpu_med = {k: statistics.median(c for _, _, _, c in v) for k, v in results.items()}
        print(f"\n{'':<38}{'median s':>10}{'  runs s':<36}{'RSS data MiB':>14}{'peak RSS MiB':>14}")
        labels = {
            "indexlab": "indexlab validate + execute",
            "hand-written": "hand-written polars",
            "indexlab-parquet": "indexlab api.run on Parquet (+read)",
        }
        for k, v in results.items():
            runs = " ".join(f"{t:.3f}" for t, _, _, _ in v)
            print(
                f"{labels[k]:<38}{med[k]:>10.3f}  {runs:<34}{max(x for _, x, _, _ in v):>14,.0f}"
                f"{max(p for _, _, p, _ in v):>14,.0f}   {cpu_med[k]:.2f} CPU-s"
            )
        print(
            "indexlab additionally audits every computed value for NaN/inf/undefined, "
            "evaluates the six check reports (failing rows with both sides) and the "
            "missing-index warnings; the hand-written query computes outputs only."
        )
        cpu_ratio = cpu_med["indexlab"] / cpu_med["hand-written"]
        print(f"ratio of CPU seconds indexlab/hand-written: {cpu_ratio:.2f}")
        print(f"ratio indexlab/hand-written: {med['indexlab'] / med['hand-written']:.2f}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
