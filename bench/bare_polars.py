"""The peer of the end-to-end bench: the seed paper's methodology as a bare polars script.

Reads a panel (CSV or Parquet), computes stage 1 of ``methodologies/kireeva.yaml`` as one
lazy query written the way a competent analyst writes it (the same output columns as
``indexlab run``, the six checks computed too, no audit and no report), on the same
polars engine as indexlab (streaming), and writes Parquet (or CSV): by default it
collects the result and writes the frame; with ``--sink`` the query streams straight
into the file (``sink_parquet``), the faster idiom:

    python bench/bare_polars.py panel.csv out.parquet [--sink]

The rank is the methodology's: values within a relative 1e-9 of each other are tied
(``ranking.tolerance``'s default), written as one ordered window per year. It imports
nothing but polars, so its start-up is polars' own.
"""

from __future__ import annotations

import sys

import polars as pl

YEARS = (2010, 2014)
BASE_YEAR = 2010
DERIVED_YEARS = (2014,)
ENGINE = "streaming"  # the engine indexlab collects with (engine/backends/polars/__init__.py)

INDICATORS = {
    "SD": pl.col("grp") * 1000 / pl.col("employed"),
    "SF": pl.col("grp") / pl.col("fixed_assets"),
    "SE": pl.col("grp") / pl.col("emissions"),
    "SA": pl.col("rd_expenditure") * 1_000_000 / pl.col("employed"),
    "SB": pl.col("tech_innovation_expenditure") * 1_000_000 / pl.col("employed"),
    "SC": pl.col("innovative_output_per_capita"),
}
BANDS = ["D", "C", "C+", "C++", "B", "B+", "B++", "A", "A+", "A++"]  # [0,10) ... [90,100]
BAND_GROUP = {
    "D": "unsatisfactory",
    "C": "low",
    "C+": "low",
    "C++": "low",
    "B": "average",
    "B+": "average",
    "B++": "average",
    "A": "leaders",
    "A+": "leaders",
    "A++": "leaders",
}
CLASS_TOLERANCE = 1e-9  # the methodology's default: a value within 1e-9 of a bound is on it
RANK_TOLERANCE = 1e-9  # ranking.tolerance's default: values this close (relative) share a rank


def _close(a: pl.Expr, b: pl.Expr, atol: float, rtol: float = 0.0) -> pl.Expr:
    return (a - b).abs() <= atol + rtol * b.abs()


def rank_min_within_tolerance(x: pl.Expr, by: str) -> pl.Expr:
    """Competition ranks ('min', highest first) within `by`, where sorted neighbours
    within RANK_TOLERANCE (relative) are tied: the position of the tie's first value."""
    s = -x
    prev = s.shift(1)
    starts = prev.is_null() | (
        (s - prev).abs() > RANK_TOLERANCE * pl.max_horizontal(s.abs(), prev.abs())
    )
    first = pl.when(starts).then(pl.int_range(1, pl.len() + 1)).forward_fill()
    return pl.when(x.is_not_null()).then(first.over(by, order_by=s, nulls_last=True))


def hand_written(frame: pl.DataFrame) -> pl.DataFrame:
    """Kireeva stage 1 as a competent analyst writes it in polars: outputs only."""
    return hand_query(frame).collect(engine=ENGINE)


def hand_query(frame: pl.DataFrame) -> pl.LazyFrame:
    """The lazy query of :func:`hand_written`."""
    c = pl.col
    population = c("innovative_output") / c("innovative_output_per_capita")

    def at_base(x: pl.Expr) -> pl.Expr:  # the region's 2010 value (one row per region and year)
        return pl.when(c("year") == BASE_YEAR).then(x).max().over("region")

    return (
        frame.lazy()
        .with_columns(**INDICATORS)
        .with_columns((c(k) / c(k).max().over("year") * 100).alias(f"{k}.norm") for k in INDICATORS)
        .with_columns(
            RIS=(c("SD.norm") + c("SE.norm") + c("SF.norm")) / 3,
            RIA=(c("SA.norm") + c("SB.norm") + c("SC.norm")) / 3,
        )
        .with_columns(index=(c("RIS") + c("RIA")) / 2)
        .with_columns(
            rank=rank_min_within_tolerance(c("index"), "year").cast(pl.Int64),
            **{
                "class": ((c("index") + CLASS_TOLERANCE) / 10)
                .floor()
                .clip(0, 9)
                .cast(pl.Int8)
                .replace_strict(dict(enumerate(BANDS)), return_dtype=pl.String)
            },
            change_2014_vs_2010_pct=pl.when(c("year").is_in(DERIVED_YEARS)).then(
                c("index") / at_base(c("index")) * 100
            ),
            **{
                "check.printed_labour_productivity": _close(
                    c("labour_productivity"), c("grp") * 1000 / c("employed"), 0.006
                ),
                "check.printed_return_on_assets": _close(
                    c("return_on_assets"), c("grp") / c("fixed_assets"), 0.006
                ),
                "check.printed_ecology": _close(c("ecology"), c("grp") / c("emissions"), 0.06),
                "check.printed_rd_per_employed": _close(
                    c("rd_per_employed"), c("rd_expenditure") * 1e6 / c("employed"), 0.006, 1e-6
                ),
                "check.printed_tech_innovation_per_employed": _close(
                    c("tech_innovation_per_employed"),
                    c("tech_innovation_expenditure") * 1e6 / c("employed"),
                    0.006,
                    1e-6,
                ),
                "check.population_stable": (population / at_base(population) - 1).abs() <= 0.2,
            },
        )
        .with_columns(class_group=c("class").replace_strict(BAND_GROUP, return_dtype=pl.String))
    )


HAND_OUTPUT = [
    "region",
    "year",
    "region_ru",
    *[x for k in INDICATORS for x in (k, f"{k}.norm")],
    "RIS",
    "RIA",
    "index",
    "rank",
    "class",
    "class_group",
    "change_2014_vs_2010_pct",
]


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    frame = pl.read_csv(source) if source.endswith(".csv") else pl.read_parquet(source)
    if "--sink" in sys.argv[3:]:
        query = hand_query(frame).select(HAND_OUTPUT)
        if target.endswith(".csv"):
            query.sink_csv(target, engine=ENGINE)
        else:
            query.sink_parquet(target, engine=ENGINE)
        return
    out = hand_written(frame).select(HAND_OUTPUT)
    if target.endswith(".csv"):
        out.write_csv(target)
    else:
        out.write_parquet(target)


if __name__ == "__main__":
    main()
