"""indexlab against COINr, whole processes, side by side, on the same workloads.

Runs only when ``Rscript`` can load COINr (give its library with ``R_LIBS``); otherwise
it says so and exits 0. Each side is a whole process that reads the same input files and
writes its results; medians of ``--reps`` runs, alternating which side goes first, and
the peak RSS of each process.

1. **ASEM build with treatment**: COINr's example (51 countries, 49 indicators, 4
   levels) as COINr's default pipeline builds it: ``new_coin`` + ``Treat`` (winsorise
   up to 5 points while |skew| > 2 and kurtosis > 3.5, else log) + ``Normalise``
   (min-max 0-100) + ``Aggregate`` (arithmetic means), against ``indexlab run
   examples/coinr-asem/asem.yaml`` (the same steps).
   **ASEM full build**: the same with COINr's ``build_example_coin()`` steps before it:
   ``Denominate`` (17 indicators divided by GDP, population, area or energy, as
   ASEM_iMeta says) and ``Impute`` (``i_mean_grp`` by ``EurAsia_group``: the mean of the
   unit's group), then Treat, Normalise, Aggregate (``build_example_coin`` also screens
   units by data availability, which is left out on both sides). The index of both sides is
   compared before timing.
2. **Uncertainty analysis, N = 1,000** on ASEM: the normalisation drawn between
   min-max [1, 100] and z-scores (mean 10, sd 2), the aggregation between arithmetic and
   geometric means, every weight multiplied by 1 + U(-0.25, 0.25): COINr's
   ``get_sensitivity(SA_type = "UA")`` against ``indexlab sensitivity --no-sobol``
   (the same design in a bench copy of asem.yaml). COINr perturbs the weights of levels
   2 and 3 only and also draws ``winmax``; indexlab perturbs every weight.
3. **100,000 units**: 10 indicators (every third log-normal, 2 % missing), two pillars
   and the index, treat + normalise + aggregate: the data written once by R
   (``set.seed(42)``) to CSV, then read by both sides.

    R_LIBS=/path/to/Rlib python bench/coinr.py [--reps 3] [--only asem full ua units]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from wholeprocess import measure  # noqa: E402

ASEM = ROOT / "examples" / "coinr-asem"
PY = sys.executable
INDEXLAB = str(Path(PY).parent / "indexlab")

R_ASEM = r"""
suppressPackageStartupMessages(library(COINr))
coin <- new_coin(ASEM_iData, ASEM_iMeta, quietly = TRUE)
coin <- suppressMessages(Treat(coin, dset = "Raw"))
coin <- suppressMessages(Normalise(coin, dset = "Treated"))
coin <- suppressMessages(Aggregate(coin, dset = "Normalised"))
write.csv(coin$Data$Aggregated, commandArgs(trailingOnly = TRUE)[1], row.names = FALSE)
"""

R_FULL = r"""
suppressPackageStartupMessages(library(COINr))
coin <- new_coin(ASEM_iData, ASEM_iMeta, quietly = TRUE)
coin <- suppressMessages(Denominate(coin, dset = "Raw"))
coin <- suppressMessages(Impute(coin, dset = "Denominated", f_i = "i_mean_grp",
                                use_group = "EurAsia_group"))
coin <- suppressMessages(Treat(coin, dset = "Imputed"))
coin <- suppressMessages(Normalise(coin, dset = "Treated"))
coin <- suppressMessages(Aggregate(coin, dset = "Normalised"))
write.csv(coin$Data$Aggregated, commandArgs(trailingOnly = TRUE)[1], row.names = FALSE)
"""

R_UA = r"""
suppressPackageStartupMessages(library(COINr))
set.seed(1)
coin <- build_example_coin(quietly = TRUE)
w_nom <- coin$Meta$Weights$Original
coin$Log$Aggregate$w <- w_nom
norm_alts <- list(list(f_n = "n_minmax", f_n_para = list(c(1, 100))),
                  list(f_n = "n_zscore", f_n_para = list(c(10, 2))))
noisy <- get_noisy_weights(w = w_nom, noise_specs = data.frame(Level = c(2, 3),
                           NoiseFactor = c(0.25, 0.25)), Nrep = 1000)
specs <- list(
  Winmax = list(Address = "$Log$Treat$global_specs$f1_para$winmax", Distribution = 1:5,
                Type = "discrete"),
  Normalisation = list(Address = "$Log$Normalise$global_specs", Distribution = norm_alts,
                       Type = "discrete"),
  Weights = list(Address = "$Log$Aggregate$w", Distribution = noisy, Type = "discrete"),
  Aggregation = list(Address = "$Log$Aggregate$f_ag", Distribution = c("a_amean", "a_gmean"),
                     Type = "discrete"))
res <- suppressMessages(suppressWarnings(get_sensitivity(coin, SA_specs = specs, N = 1000,
  SA_type = "UA", dset = "Aggregated", iCode = "Index", quietly = TRUE)))
write.csv(res$RankStats, commandArgs(trailingOnly = TRUE)[1], row.names = FALSE)
"""

R_UNITS_DATA = r"""
set.seed(42)
n <- 100000L; k <- 10L
X <- sapply(seq_len(k), function(j) if (j %% 3 == 0) rlnorm(n, 0, 1) else rnorm(n, 50, 10))
X[sample(length(X), round(0.02 * length(X)))] <- NA
colnames(X) <- paste0("i", seq_len(k))
write.csv(data.frame(uCode = sprintf("U%06d", seq_len(n)), X), commandArgs(trailingOnly = TRUE)[1],
          row.names = FALSE, na = "")
"""

R_UNITS = r"""
suppressPackageStartupMessages(library(COINr))
args <- commandArgs(trailingOnly = TRUE)
iData <- read.csv(args[1], stringsAsFactors = FALSE)
k <- 10L
iMeta <- data.frame(
  iCode = c(paste0("i", seq_len(k)), "P1", "P2", "Index"), Level = c(rep(1, k), 2, 2, 3),
  Direction = c(rep(c(1, -1), k / 2), 1, 1, 1), Weight = 1,
  Parent = c(rep("P1", k / 2), rep("P2", k / 2), "Index", "Index", NA),
  Type = c(rep("Indicator", k), rep("Aggregate", 3)), stringsAsFactors = FALSE)
coin <- new_coin(iData, iMeta, quietly = TRUE)
coin <- suppressMessages(Treat(coin, dset = "Raw"))
coin <- suppressMessages(Normalise(coin, dset = "Treated"))
coin <- suppressMessages(Aggregate(coin, dset = "Normalised"))
write.csv(coin$Data$Aggregated, args[2], row.names = FALSE)
"""


def units_methodology() -> str:
    """The 100,000-unit workload as a methodology (what R_UNITS builds)."""
    names = [f"i{j}" for j in range(1, 11)]
    lines = [
        "indexlab: 1",
        "id: coinr-units",
        "title: 100,000 units, 10 indicators (COINr bench)",
        "data: {unit: uCode}",
        "inputs:",
        *[f"  {n}: {{}}" for n in names],
        "indicators:",
        *[
            f"  {n.upper()}: {{formula: {n}{', direction: lower' if j % 2 == 0 else ''}}}"
            for j, n in enumerate(names, start=1)
        ],
        "treatment:",
        "  default: {method: winsorise_log}",
        "normalisation:",
        "  default: {method: min_max, range: [0, 100]}",
        "groups:",
        f"  P1: {{members: [{', '.join(n.upper() for n in names[:5])}], coverage: 0.01}}",
        f"  P2: {{members: [{', '.join(n.upper() for n in names[5:])}], coverage: 0.01}}",
        "  Index: {members: [P1, P2], coverage: 0.01}",
        "index: {group: Index}",
    ]
    return "\n".join(lines) + "\n"


def full_methodology() -> str:
    """asem.yaml with COINr's denominators (from asem_meta.csv) and the group-mean
    imputation of build_example_coin()."""
    import csv

    text = (ASEM / "asem.yaml").read_text(encoding="utf-8")
    text = text[: text.index("\nuncertainty:")] + "\n"
    with (ASEM / "asem_meta.csv").open(encoding="utf-8") as f:
        meta = list(csv.DictReader(f))
    denominators = {r["iCode"]: r["Denominator"] for r in meta if r["Denominator"]}
    extra = sorted(set(denominators.values()))
    text = text.replace("\ninputs:\n", "\ninputs:\n" + "".join(f"  {d}: {{}}\n" for d in extra), 1)
    for code, denominator in denominators.items():
        text = text.replace(f"    formula: {code}\n", f"    formula: {code} / {denominator}\n", 1)
    return text.replace(
        "\ntreatment:",
        "\nimputation:\n  default: {method: mean, by: [EurAsia_group]}   # COINr i_mean_grp\n"
        "\ntreatment:",
        1,
    )


def same_index(ours: Path, coinr: Path) -> str:
    """How far apart the two sides' index values are (relative), unit by unit."""
    import polars as pl

    a = pl.read_csv(ours).select("uCode", "SustConn")
    b = pl.read_csv(coinr).select("uCode", pl.col("Index").alias("coinr"))
    joined = a.join(b, on="uCode")
    rel = ((pl.col("SustConn") - pl.col("coinr")).abs() / pl.col("coinr").abs()).max()
    return f"{joined.height} units, largest relative difference {joined.select(rel).item():.1e}"


def ua_methodology() -> str:
    """asem.yaml with COINr's uncertainty design at N = 1,000 (see the module docstring)."""
    text = (ASEM / "asem.yaml").read_text(encoding="utf-8")
    head = text[: text.index("\nuncertainty:")]
    return head + (
        "\nuncertainty:\n"
        "  replications: 1000\n"
        "  seed: 1\n"
        "  weights: {perturb: 0.25}\n"
        "  normalisation:\n"
        "    alternatives:\n"
        "      - {method: min_max, range: [1, 100]}\n"
        "      - {method: z_score, mean: 10, sd: 2}\n"
        "  aggregation:\n"
        "    alternatives: [arithmetic, geometric]\n"
    )


def compare(label: str, sides: dict[str, list[str]], reps: int, env: dict[str, str]) -> None:
    runs: dict[str, list[tuple[float, int]]] = {k: [] for k in sides}
    names = list(sides)
    for r in range(reps):
        for name in names[r % 2 :] + names[: r % 2]:
            runs[name].append(measure(sides[name], env))
    medians = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    peer = names[-1]
    for name in names:
        rss = max(m for _, m in runs[name])
        ratio = "" if name == peer else f"{medians[name] / medians[peer]:7.2f}x COINr"
        print(f"  {label:26s} {name:36s} {medians[name]:8.2f} s {rss:7,d} MiB  {ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=["asem", "full", "ua", "units"])
    args = parser.parse_args()
    rscript = shutil.which("Rscript")
    probe = (
        subprocess.run(
            [rscript, "-e", "suppressPackageStartupMessages(library(COINr))"],
            capture_output=True,
            check=False,
        )
        if rscript
        else None
    )
    if probe is None or probe.returncode != 0:
        print("COINr: skipped (no Rscript that loads COINr; set R_LIBS to a library with COINr)")
        return
    version = subprocess.run(
        [rscript, "-e", 'cat(as.character(packageVersion("COINr")))'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    work = Path(tempfile.mkdtemp(prefix="indexlab-coinr-"))
    env = {**os.environ, "INDEXLAB_PLAN_CACHE": str(work / "plans")}
    print(f"indexlab vs COINr {version}, whole processes, medians of {args.reps}; peak RSS")
    try:
        scripts = (
            ("asem.R", R_ASEM),
            ("full.R", R_FULL),
            ("ua.R", R_UA),
            ("units_data.R", R_UNITS_DATA),
        )
        for name, text in scripts:
            (work / name).write_text(text, encoding="utf-8")
        (work / "units.R").write_text(R_UNITS, encoding="utf-8")
        if "asem" in args.only:
            run = [INDEXLAB, "run", str(ASEM / "asem.yaml"), str(ASEM / "asem.csv")]
            run += ["-q", "-o", str(work / "asem.csv")]
            measure(run, env)  # warm the plan cache
            compare(
                "ASEM build, treatment",
                {
                    "indexlab run (plan cache)": run,
                    "indexlab run --no-plan-cache": [*run, "--no-plan-cache"],
                    "COINr new_coin+Treat+Normalise+Aggr": [
                        rscript,
                        str(work / "asem.R"),
                        str(work / "coinr_asem.csv"),
                    ],
                },
                args.reps,
                env,
            )
        if "full" in args.only:
            yaml = work / "asem_full.yaml"
            yaml.write_text(full_methodology(), encoding="utf-8")
            run = [INDEXLAB, "run", str(yaml), str(ASEM / "asem.csv")]
            run += ["-q", "-o", str(work / "full.csv")]
            coinr = [rscript, str(work / "full.R"), str(work / "coinr_full.csv")]
            measure(run, env)  # warm the plan cache
            measure(coinr, env)
            print(f"  same index: {same_index(work / 'full.csv', work / 'coinr_full.csv')}")
            compare(
                "ASEM full build",
                {
                    "indexlab run (plan cache)": run,
                    "indexlab run --no-plan-cache": [*run, "--no-plan-cache"],
                    "COINr +Denominate+Impute(group)": coinr,
                },
                args.reps,
                env,
            )
        if "ua" in args.only:
            yaml = work / "asem_ua.yaml"
            yaml.write_text(ua_methodology(), encoding="utf-8")
            compare(
                "uncertainty N = 1,000",
                {
                    "indexlab sensitivity --no-sobol": [
                        INDEXLAB,
                        "sensitivity",
                        str(yaml),
                        str(ASEM / "asem.csv"),
                        "--no-sobol",
                        "-o",
                        str(work / "ua.csv"),
                    ],
                    "COINr get_sensitivity(UA)": [
                        rscript,
                        str(work / "ua.R"),
                        str(work / "coinr_ua.csv"),
                    ],
                },
                max(1, min(args.reps, 2)),
                env,
            )
        if "units" in args.only:
            data = work / "units.csv"
            subprocess.run([rscript, str(work / "units_data.R"), str(data)], check=True)
            yaml = work / "units.yaml"
            yaml.write_text(units_methodology(), encoding="utf-8")
            run = [INDEXLAB, "run", str(yaml), str(data), "-q", "-o", str(work / "u.parquet")]
            measure(run, env)
            compare(
                "100,000 units",
                {
                    "indexlab run (plan cache)": run,
                    "COINr new_coin+Treat+Normalise+Aggr": [
                        rscript,
                        str(work / "units.R"),
                        str(data),
                        str(work / "coinr_units.csv"),
                    ],
                },
                args.reps,
                env,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
