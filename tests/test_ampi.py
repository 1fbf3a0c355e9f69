"""Adjusted MPI (normalisation 'ampi' + aggregation 'ampi') against a hand computation."""

import statistics
from pathlib import Path

import polars as pl
import pytest

from engine import api

YAML = """\
indexlab: 1
id: ampi
title: ampi
data: {unit: region, period: year}
inputs: {a: {}, b: {}}
indicators: {A: {formula: a}, B: {formula: b, direction: lower}}
normalisation: {default: {method: ampi, base: 2010}}
groups:
  G: {members: [A, B], aggregation: {method: ampi}}
index: {group: G}
"""
ROWS = [
    ("R1", 2010, 1, 4),
    ("R2", 2010, 3, 2),
    ("R3", 2010, 5, 6),
    ("R1", 2014, 2, 3),
    ("R2", 2014, 4, 1),
    ("R3", 2014, 9, 5),
]


def test_ampi_matches_the_textbook_formula(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(YAML, encoding="utf-8")
    pl.DataFrame(ROWS, schema=["region", "year", "a", "b"], orient="row").write_csv(
        tmp_path / "d.csv"
    )
    out = api.run(tmp_path / "m.yaml", [tmp_path / "d.csv"]).frame
    a_2010 = [r[2] for r in ROWS if r[1] == 2010]
    b_2010 = [r[3] for r in ROWS if r[1] == 2010]
    ref_a, ref_b = statistics.fmean(a_2010), statistics.fmean(b_2010)  # goalposts: base-year means
    delta_a = (
        max(r[2] for r in ROWS) - min(r[2] for r in ROWS)
    ) / 2  # half the range over all years
    delta_b = (max(r[3] for r in ROWS) - min(r[3] for r in ROWS)) / 2
    for region, year, a, b in ROWS:
        ra = (a - ref_a) / delta_a * 30 + 100
        rb = (ref_b - b) / delta_b * 30 + 100  # lower is better
        mean, sd = (ra + rb) / 2, statistics.pstdev([ra, rb])  # population SD, as Compind's ci_ampi
        row = out.filter((pl.col("region") == region) & (pl.col("year") == year)).row(0, named=True)
        assert row["A.norm"] == pytest.approx(ra, rel=1e-12) and row["B.norm"] == pytest.approx(
            rb, rel=1e-12
        )
        assert row["index"] == pytest.approx(mean - sd * (sd / mean), rel=1e-12)
