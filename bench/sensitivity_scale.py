"""Monte Carlo uncertainty analysis at COINr's scale: 51 units x 49 indicators in 4 levels.

COINr's reference (issue 5): on a 2-core machine its uncertainty analysis of a 51-unit,
49-indicator, 4-level index takes about 156 s for 1,000 replications. The target here is
about 1 s for N = 1,000 replications perturbing the weights and switching between two
normalisations and two aggregations.

**Methodology** (written as YAML into a temporary directory): 49 indicators, each a raw
input column; min-max normalisation to [1, 100]; 7 pillars of 7 indicators, 3 sub-indices
of 3, 2 and 2 pillars, and the index over the 3 sub-indices, every level a weighted
arithmetic mean with unequal nominal weights; one period; rank descending. Uncertainty
design:

* weights: every weight times 1 + U(-0.25, 0.25) (COINr's get_noisy_weights);
* normalisation: min-max to [1, 100] or z-score with mean 100 and SD 10 (equal
  probabilities; both positive, so the geometric mean stays defined: with 51 units a
  z-score is at most 50 / sqrt(51) < 7.1 SDs from the mean);
* aggregation: arithmetic or geometric at every level (equal probabilities).

**Data**: 51 units, each indicator a log-normal value driven by a common factor, a pillar
factor and noise (so that the ranks are neither fixed nor random), from
``random.Random(seed)``.

**Timed**, each in a fresh ``spawn``ed child process (peak RSS = that child's
``ru_maxrss``), the median of ``--reps`` runs:

* ``validate``: ``engine.api.validate(yaml)`` (reported separately);
* ``nominal``: ``engine.api.execute`` on the in-memory frame (reported separately);
* ``ranks``: ``engine.analysis.sensitivity.analyse(..., sobol=False)``: 2N = 2,000 runs;
* ``sobol``: ``engine.analysis.sensitivity.analyse(..., sobol=True)``: N (d + 2) = 5,000 runs.

Data generation, YAML writing and validation are outside the ``ranks``/``sobol`` clocks.
``--profile`` adds one profiled run of each (cProfile, cumulative seconds of the
engine's phases and the top functions by own time).

    .venv/bin/python bench/sensitivity_scale.py
    .venv/bin/python bench/sensitivity_scale.py --replications 200 --reps 1   # smoke test
    .venv/bin/python bench/sensitivity_scale.py --profile
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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UNITS = 51
PILLARS = 7
PER_PILLAR = 7
SUB_INDICES = {"SUB1": ["P1", "P2", "P3"], "SUB2": ["P4", "P5"], "SUB3": ["P6", "P7"]}


def indicator_names() -> list[str]:
    return [f"x{p + 1}_{k + 1}" for p in range(PILLARS) for k in range(PER_PILLAR)]


def make_data(seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    common = [rng.gauss(0, 1) for _ in range(UNITS)]
    cols: dict[str, list[object]] = {"unit": [f"U{u + 1:02d}" for u in range(UNITS)]}
    for p in range(PILLARS):
        pillar = [rng.gauss(0, 1) for _ in range(UNITS)]
        for k in range(PER_PILLAR):
            name = f"x{p + 1}_{k + 1}"
            cols[name] = [
                round(math.exp(3 + 0.5 * (0.6 * c + 0.5 * q + 0.6 * rng.gauss(0, 1))), 6)
                for c, q in zip(common, pillar)
            ]
    return pl.DataFrame(cols)


def methodology_yaml(replications: int, seed: int) -> str:
    import yaml

    rng = random.Random(seed + 1)
    names = indicator_names()

    def weights(members: list[str]) -> dict[str, float]:
        return {m: float(rng.choice([1, 1, 2, 3])) for m in members}

    groups: dict[str, dict[str, object]] = {}
    for p in range(PILLARS):
        members = names[p * PER_PILLAR : (p + 1) * PER_PILLAR]
        groups[f"P{p + 1}"] = {"members": members, "weights": weights(members)}
    for s, members in SUB_INDICES.items():
        groups[s] = {"members": members, "weights": weights(members)}
    groups["INDEX"] = {"members": list(SUB_INDICES), "weights": weights(list(SUB_INDICES))}
    doc = {
        "indexlab": 1,
        "id": "synthetic-51x49",
        "title": "Synthetic 51 x 49 four-level index (COINr scale)",
        "data": {"unit": "unit"},
        "inputs": {n: {} for n in names},
        "indicators": {n.upper(): {"formula": n} for n in names},
        "normalisation": {"default": {"method": "min_max", "range": [1, 100]}},
        "groups": {
            g: {
                **spec,
                "members": [m.upper() if m.startswith("x") else m for m in spec["members"]],
                "weights": {
                    (m.upper() if m.startswith("x") else m): w for m, w in spec["weights"].items()
                },
            }  # type: ignore[union-attr]
            for g, spec in groups.items()
        },
        "index": {"group": "INDEX"},
        "ranking": {"order": "descending", "ties": "min"},
        "uncertainty": {
            "replications": replications,
            "seed": seed,
            "weights": {"perturb": 0.25},
            "normalisation": {
                "alternatives": [
                    {"method": "min_max", "range": [1, 100]},
                    {"method": "z_score", "mean": 100, "sd": 10},
                ]
            },
            "aggregation": {"alternatives": ["arithmetic", "geometric"]},
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


# -- children -------------------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, yaml_path: str, data_path: str, profile: bool, conn) -> None:
    try:
        from engine import api
        from engine.analysis import sensitivity as sa

        frame = pl.read_parquet(data_path)
        t0 = time.perf_counter()
        validated = api.validate(yaml_path)
        t_validate = time.perf_counter() - t0
        t0 = time.perf_counter()
        nominal = api.execute(validated, frame)
        t_nominal = time.perf_counter() - t0
        m = validated.methodology
        info: dict[str, object] = {"validate": t_validate, "nominal": t_nominal}
        if kind == "setup":
            info["peak"] = _peak_mb()
            conn.send(("ok", info))
            return
        sobol = kind == "sobol"
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.enable()
            result = sa.analyse(m, frame, nominal.frame, sobol=sobol)
            prof.disable()
            info["seconds"] = time.perf_counter() - t0
            stats = pstats.Stats(prof)
            phases = {}
            for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
                if file.endswith("sensitivity.py") and func in (
                    "design_table",
                    "_replicated_plan",
                    "run_replications",
                    "_run_batch",
                    "_sobol",
                    "analyse",
                ):
                    phases[func] = phases.get(func, 0.0) + ct
                if file.endswith("execute.py") and func == "collect":
                    phases["polars collect"] = phases.get("polars collect", 0.0) + ct
                if file.endswith("compile.py") and func == "to_polars":
                    phases.setdefault("to_polars (all calls)", 0.0)
                    phases["to_polars (all calls)"] = max(phases["to_polars (all calls)"], ct)
            top = sorted(
                (
                    (tt, f"{Path(file).name}:{func}")
                    for (file, _l, func), (_c, _n, tt, _ct, _cl) in stats.stats.items()
                ),
                reverse=True,
            )[:12]  # type: ignore[attr-defined]
            info["phases"] = phases
            info["top"] = top
        else:
            t0 = time.perf_counter()
            result = sa.analyse(m, frame, nominal.frame, sobol=sobol)
            info["seconds"] = time.perf_counter() - t0
        info["runs"] = result.runs
        info["factors"] = list(result.factors)
        info["ranks_rows"] = result.ranks.height
        info["peak"] = _peak_mb()
        if sobol:
            info["sobol"] = result.sobol.to_dicts()
        info["width"] = result.ranks.select((pl.col("p95_rank") - pl.col("p05_rank")).mean()).item()
        conn.send(("ok", info))
    except BaseException as e:  # report, not hang
        import traceback

        conn.send(("error", traceback.format_exc() + repr(e)))
    finally:
        conn.close()


def in_child(ctx, *args):
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(*args, send))
    p.start()
    send.close()
    status, info = recv.recv()
    p.join()
    if status != "ok":
        raise SystemExit(f"child {args[0]} failed:\n{info}")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replications", type=int, default=1000, help="N (default 1,000)")
    ap.add_argument(
        "--reps", type=int, default=3, help="timings of each kind; the median is reported"
    )
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--profile", action="store_true", help="also one cProfile'd run of each kind")
    args = ap.parse_args(argv)

    ctx = mp.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix="indexlab-sensitivity-"))
    try:
        frame = make_data(args.seed)
        data_path = workdir / "data.parquet"
        frame.write_parquet(data_path)
        yaml_path = workdir / "synthetic.yaml"
        yaml_path.write_text(methodology_yaml(args.replications, args.seed), encoding="utf-8")
        n = args.replications
        print(
            f"index: {UNITS} units x {len(indicator_names())} indicators, 4 levels "
            f"({PILLARS} pillars of {PER_PILLAR}, 3 sub-indices, index); min-max [1, 100], "
            "arithmetic means, unequal weights"
        )
        print(
            "design: weights x (1 + U(-0.25, 0.25)); normalisation min-max [1, 100] | z-score (100, 10); "
            f"aggregation arithmetic | geometric; N = {n:,}, seed {args.seed}"
        )
        print(
            f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, polars {pl.__version__}, "
            f"python {sys.version.split()[0]}"
        )

        setup = [
            in_child(ctx, "setup", str(yaml_path), str(data_path), False) for _ in range(args.reps)
        ]
        print(
            f"validate (api.validate): median {statistics.median(s['validate'] for s in setup):.3f} s; "
            f"nominal run (api.execute): median {statistics.median(s['nominal'] for s in setup):.3f} s; "
            f"peak RSS of a child that only does these {max(s['peak'] for s in setup):,.0f} MiB"
        )

        results: dict[str, list[dict]] = {"ranks": [], "sobol": []}
        for r in range(args.reps):
            for kind in ("ranks", "sobol") if r % 2 == 0 else ("sobol", "ranks"):
                info = in_child(ctx, kind, str(yaml_path), str(data_path), False)
                results[kind].append(info)
                print(
                    f"  run {r + 1} {kind:<6} {info['seconds']:8.3f} s   {info['runs']:>6,} runs   "
                    f"peak RSS {info['peak']:7,.0f} MiB"
                )
        print(f"\n{'':<44}{'runs':>8}{'median s':>10}{'runs s':>26}{'peak RSS MiB':>14}")
        labels = {
            "ranks": "analyse(sobol=False): rank distribution",
            "sobol": "analyse(sobol=True): ranks + Sobol",
        }
        for kind, infos in results.items():
            times = " ".join(f"{i['seconds']:.3f}" for i in infos)
            print(
                f"{labels[kind]:<44}{infos[0]['runs']:>8,}{statistics.median(i['seconds'] for i in infos):>10.3f}"
                f"{times:>26}{max(i['peak'] for i in infos):>14,.0f}"
            )
        last = results["sobol"][-1]
        print(
            f"factors: {', '.join(last['factors'])}; mean 5-95 % rank interval width "
            f"{last['width']:.1f} ranks of {UNITS}"
        )
        for row in last["sobol"]:
            print(
                f"  {row['factor']:<14} S1 {row['S1']:7.3f} [{row['S1_p05']:6.3f}, {row['S1_p95']:6.3f}]   "
                f"ST {row['ST']:7.3f} [{row['ST_p05']:6.3f}, {row['ST_p95']:6.3f}]"
            )
        if args.profile:
            for kind in ("ranks", "sobol"):
                info = in_child(ctx, kind, str(yaml_path), str(data_path), True)
                print(f"\nprofile {kind} ({info['seconds']:.3f} s under cProfile), cumulative s:")
                for name, s in sorted(info["phases"].items(), key=lambda kv: -kv[1]):
                    print(f"  {name:<26}{s:8.3f}")
                print("  top functions by own time:")
                for tt, name in info["top"]:
                    print(f"    {tt:8.3f}  {name}")
        print(
            f"\nCOINr reference: 156 s for 1,000 replications (2 cores). "
            f"indexlab with Sobol: {statistics.median(i['seconds'] for i in results['sobol']):.2f} s, "
            f"rank distribution only: {statistics.median(i['seconds'] for i in results['ranks']):.2f} s"
        )
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
