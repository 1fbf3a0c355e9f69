"""Ties a reader would call ties: equal values share a rank, though the computation
left them different in the last digits.

The published table: UNDP's 2022 HDI (examples/undp-hdi/published.csv), 193 countries
with 26 values shared by 53 countries, and UNDP's own ranks (competition ranking, 'min').
Each country's HDI is rebuilt as the product of two inputs, (h / c) * c with a factor
c of its own, which in floating point lands on h or one unit in the last place beside
it, differently for different countries. Ranked on those values
with the default tolerance, every country gets UNDP's rank; ranked on exact values
(tolerance 0), tied countries are split.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import polars as pl
import pytest

from engine import api

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "examples" / "undp-hdi" / "published.csv"


@pytest.fixture(scope="module")
def published() -> pl.DataFrame:
    table = pl.read_csv(PUBLISHED, infer_schema=False).filter(pl.col("year") == "2022")
    table = table.with_columns(pl.col("hdi").cast(pl.Float64), pl.col("hdi_rank").cast(pl.Int64))
    assert table.height == 193
    return table


def hdi_methodology(ranking: str) -> str:
    return textwrap.dedent(
        f"""\
        indexlab: 1
        id: hdi-ties
        title: HDI 2022 rebuilt from two inputs
        data: {{unit: iso3}}
        inputs:
          low: {{}}
          high: {{}}
        indicators:
          h: {{formula: low * high}}
        normalisation:
          default: {{method: none}}
        groups:
          G: {{members: [h]}}
        index: {{group: G}}
        ranking: {ranking}
        """
    )


def run(tmp_path: Path, published: pl.DataFrame, ranking: str) -> pl.DataFrame:
    factors = [(i % 17) * 0.0123456789 + 1.001 for i in range(published.height)]
    data = published.select("iso3", "hdi").with_columns(pl.Series("c", factors))
    data = data.with_columns(
        (pl.col("hdi") / pl.col("c")).alias("low"), pl.col("c").alias("high")
    ).select("iso3", "low", "high")
    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(hdi_methodology(ranking), encoding="utf-8")
    data.write_csv(d, float_precision=17)
    frame = api.run(m, [d]).frame
    return frame.join(published.select("iso3", "hdi", "hdi_rank"), on="iso3")


def test_the_rebuilt_values_differ_in_the_last_digits(
    tmp_path: Path, published: pl.DataFrame
) -> None:
    got = run(tmp_path, published, "{}")
    off = got.filter(pl.col("index") != pl.col("hdi"))
    assert off.height > 0, "the construction must leave some values one ulp away"
    assert ((off["index"] - off["hdi"]).abs() < 1e-15).all()
    # within the published ties, some countries now differ from their partners
    split = got.group_by("hdi").agg(pl.col("index").n_unique().alias("n")).filter(pl.col("n") > 1)
    assert split.height > 0


def test_default_tolerance_gives_every_published_rank(
    tmp_path: Path, published: pl.DataFrame
) -> None:
    got = run(tmp_path, published, "{}")
    assert (got["rank"] == got["hdi_rank"]).all(), got.filter(pl.col("rank") != pl.col("hdi_rank"))
    tied = got.filter(pl.col("hdi").is_duplicated())
    assert tied.height == 53 and tied["hdi"].n_unique() == 26


def test_exact_values_split_the_published_ties(tmp_path: Path, published: pl.DataFrame) -> None:
    got = run(tmp_path, published, "{tolerance: 0}")
    assert (got["rank"] != got["hdi_rank"]).any()


@pytest.mark.parametrize(
    ("ties", "rule"),
    [
        ("min", lambda before, n: before + 1),
        ("max", lambda before, n: before + n),
        ("average", lambda before, n: before + (n + 1) / 2),
    ],
)
def test_tie_rules_follow_their_definition(
    tmp_path: Path, published: pl.DataFrame, ties: str, rule: object
) -> None:
    got = run(tmp_path, published, f"{{ties: {ties}}}")
    values = sorted(published["hdi"].to_list(), reverse=True)
    for row in got.iter_rows(named=True):
        before = sum(1 for v in values if v > row["hdi"])
        n = values.count(row["hdi"])
        assert row["rank"] == rule(before, n), row  # type: ignore[operator]


def test_dense_and_ordinal(tmp_path: Path, published: pl.DataFrame) -> None:
    dense = run(tmp_path, published, "{ties: dense}")
    distinct = sorted(set(published["hdi"].to_list()), reverse=True)
    for row in dense.iter_rows(named=True):
        assert row["rank"] == distinct.index(row["hdi"]) + 1
    ordinal = run(tmp_path, published, "{ties: ordinal}")
    assert sorted(ordinal["rank"].to_list()) == list(range(1, 194))
    # tied countries in the order of their keys (iso3), whatever the file's row order
    dnk, swe = (ordinal.filter(pl.col("iso3") == c)["rank"].item() for c in ("DNK", "SWE"))
    assert dnk < swe and swe - dnk == 1


@pytest.mark.parametrize(
    ("ranking", "line"),
    [
        ("{}", "ties 'min', values within a relative 1e-09 of each other tied"),
        ("{ties: dense, tolerance: 1e-6}", "ties 'dense', values within a relative 1e-06"),
        ("{ties: ordinal, tolerance: 0}", "ties 'ordinal', exact values"),
    ],
)
def test_the_tie_rule_and_tolerance_are_printed_with_the_conventions(
    tmp_path: Path, published: pl.DataFrame, ranking: str, line: str
) -> None:
    from typer.testing import CliRunner

    from engine.cli import app

    m, d = tmp_path / "m.yaml", tmp_path / "d.csv"
    m.write_text(hdi_methodology(ranking), encoding="utf-8")
    published.select("iso3", pl.col("hdi").alias("low"), pl.lit(1.0).alias("high")).write_csv(d)
    result = CliRunner().invoke(app, ["run", str(m), str(d), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())  # the terminal wraps long lines
    assert f"convention: rank: descending on the index, {line}" in printed, result.output
    table = pl.read_csv(tmp_path / "o.csv")
    assert table.height == 193
