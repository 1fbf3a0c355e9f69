"""The UNDP Human Development Index: methodologies/undp-hdi.yaml against the HDR 2023/24.

Expected values are UNDP's published figures (examples/undp-hdi/published.csv), never a
snapshot of indexlab's output: every HDI value 1990-2022 must equal the published
3-decimal value exactly, and every 2022 rank and development group must be the published
one. The unrounded index is also compared with the independent plain-polars computation
in examples/undp-hdi/hdi_reference.py. Conventions: examples/undp-hdi/CONVENTIONS.md.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app

ROOT = Path(__file__).resolve().parents[1]
METHODOLOGY = ROOT / "methodologies" / "undp-hdi.yaml"
EXAMPLE = ROOT / "examples" / "undp-hdi"
DATA = EXAMPLE / "input.csv"
PUBLISHED = EXAMPLE / "published.csv"
RANK_YEAR = 2022
ROWS, COUNTRIES = 5808, 193
COUNTRIES_1990 = 142  # SOURCE.md and CONVENTIONS.md say 141; input.csv has 142 rows for 1990


def published() -> pl.DataFrame:
    # hdi as text, so that the comparison is with the printed decimal, not a parsed float
    return pl.read_csv(
        PUBLISHED, schema_overrides={"hdi": pl.Utf8, "hdi_rank": pl.Int64, "hdi_group": pl.Utf8}
    )


def run_text(text: str, tmp_path: Path) -> pl.DataFrame:
    """Run a variant of the methodology (written next to a copy of the schema path)."""
    path = tmp_path / "variant.yaml"
    path.write_text(text, encoding="utf-8")
    return api.run(path, [DATA]).frame


def matches(frame: pl.DataFrame) -> int:
    """Country-years whose index equals the published HDI."""
    j = published().join(frame.select("iso3", "year", "index"), on=["iso3", "year"], how="inner")
    return j.filter(pl.col("index") == pl.col("hdi").cast(pl.Float64)).height


@pytest.fixture(scope="module")
def result() -> api.RunResult:
    return api.run(METHODOLOGY, [DATA])


@pytest.fixture(scope="module")
def joined(result: api.RunResult) -> pl.DataFrame:
    ours = result.frame.select("iso3", "year", "index", "index_unrounded", "rank", "class")
    return published().join(ours, on=["iso3", "year"], how="full", coalesce=True, validate="1:1")


@pytest.fixture(scope="module")
def year_2022(joined: pl.DataFrame) -> pl.DataFrame:
    return joined.filter(pl.col("year") == RANK_YEAR)


def test_validates_without_warnings() -> None:
    validated = api.validate(METHODOLOGY)
    assert validated.warnings == (), validated.warnings


def test_run_has_no_warnings_and_one_row_per_country_year(
    result: api.RunResult, joined: pl.DataFrame
) -> None:
    assert result.warnings == (), result.warnings
    assert result.frame.height == ROWS, f"{result.frame.height} rows computed, {ROWS} published"
    assert joined.height == ROWS, (
        f"{joined.height} rows after joining: some country-year is on one side only"
    )
    assert joined["index"].null_count() == 0, (
        f"{joined['index'].null_count()} country-years without an HDI"
    )
    assert result.frame["iso3"].n_unique() == COUNTRIES
    assert result.frame.filter(pl.col("year") == 1990).height == COUNTRIES_1990


def test_every_hdi_value_equals_the_published_value(joined: pl.DataFrame) -> None:
    rows = joined.select("iso3", "year", "hdi", "index", "index_unrounded").to_dicts()
    # exact: the rounded index, written with 3 decimals, is the published decimal
    bad = [
        r
        for r in rows
        if f"{r['index']:.3f}" != str(Decimal(r["hdi"]).quantize(Decimal("0.001")))
        or r["index"] != float(r["hdi"])
    ]
    assert not bad, (
        f"{len(rows) - len(bad)} of {len(rows)} HDI values match, {len(bad)} differ; "
        f"first: {bad[:10]}"
    )
    assert len(rows) == ROWS
    # and the rounding is honest: the unrounded value lies within half a unit of the 3rd decimal
    worst = max(abs(r["index_unrounded"] - float(r["hdi"])) for r in rows)
    assert worst < 0.0005, f"largest |unrounded - published| = {worst:.10f}"


def test_2022_rank_of_every_country(year_2022: pl.DataFrame) -> None:
    n = year_2022.height
    bad = year_2022.filter(pl.col("rank") != pl.col("hdi_rank")).select(
        "iso3", "index", "rank", "hdi_rank"
    )
    assert n == COUNTRIES, f"{n} countries in {RANK_YEAR}, expected {COUNTRIES}"
    assert year_2022["rank"].null_count() == 0 and year_2022["hdi_rank"].null_count() == 0
    assert bad.height == 0, (
        f"{n - bad.height} of {n} ranks match, {bad.height} differ: {bad.to_dicts()[:10]}"
    )
    assert year_2022["rank"].min() == 1 and year_2022["rank"].max() == COUNTRIES


def test_2022_group_of_every_country(year_2022: pl.DataFrame) -> None:
    n = year_2022.height
    bad = year_2022.filter(pl.col("class") != pl.col("hdi_group")).select(
        "iso3", "index", "class", "hdi_group"
    )
    assert year_2022["class"].null_count() == 0
    assert bad.height == 0, (
        f"{n - bad.height} of {n} groups match, {bad.height} differ: {bad.to_dicts()[:10]}"
    )
    sizes = dict(year_2022.group_by("class").len().iter_rows())
    assert sizes == {"Very High": 69, "High": 49, "Medium": 42, "Low": 33}, sizes


def test_2022_ties_share_the_lower_rank(year_2022: pl.DataFrame) -> None:
    tied = year_2022.filter(pl.col("index").is_duplicated())
    groups = tied.group_by("index").agg(pl.col("rank").n_unique().alias("ranks"), pl.len())
    assert (groups.height, tied.height) == (26, 53), (
        f"{groups.height} tied values, {tied.height} countries"
    )
    assert groups["ranks"].max() == 1  # every tie shares one rank
    by_iso = {r["iso3"]: r for r in year_2022.iter_rows(named=True)}
    # DNK (unrounded 0.9517) and SWE (0.9524) both publish 0.952 and share rank 5
    assert by_iso["DNK"]["rank"] == by_iso["SWE"]["rank"] == 5
    assert by_iso["DNK"]["index_unrounded"] < by_iso["SWE"]["index_unrounded"]


def test_2022_groups_use_the_rounded_value_and_include_the_lower_bound(
    year_2022: pl.DataFrame,
) -> None:
    by_iso = {r["iso3"]: r for r in year_2022.iter_rows(named=True)}
    uga = by_iso["UGA"]  # unrounded 0.549838, published 0.550: Medium, not Low
    assert uga["index_unrounded"] < 0.55 and uga["index"] == 0.55 and uga["class"] == "Medium"
    assert by_iso["ZWE"]["index"] == 0.55 and by_iso["ZWE"]["class"] == "Medium"
    assert by_iso["BLZ"]["index"] == 0.7 and by_iso["BLZ"]["class"] == "High"
    assert by_iso["VEN"]["index"] == 0.699 and by_iso["VEN"]["class"] == "Medium"


def test_the_life_expectancy_cap_decides_hong_kong_2020(joined: pl.DataFrame) -> None:
    hkg = joined.filter((pl.col("iso3") == "HKG") & (pl.col("year") == 2020)).row(0, named=True)
    # LE 85.197 is capped at 85: 0.955003 -> 0.955 (uncapped it would be 0.956)
    assert hkg["hdi"] == "0.955" and hkg["index"] == 0.955
    assert hkg["index_unrounded"] == pytest.approx(0.955003, abs=5e-7)


def test_unrounded_index_equals_the_independent_reference(result: api.RunResult) -> None:
    spec = importlib.util.spec_from_file_location("hdi_reference", EXAMPLE / "hdi_reference.py")
    assert spec and spec.loader
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    ref = pl.read_csv(DATA).select("iso3", "year", reference.hdi_expr().alias("reference"))
    j = ref.join(result.frame.select("iso3", "year", "index_unrounded"), on=["iso3", "year"])
    diff = j.select((pl.col("index_unrounded") - pl.col("reference")).abs().max()).item()
    assert j.height == ROWS and diff < 1e-12, (
        f"{j.height} rows, max |indexlab - reference| = {diff:.3e}"
    )


def test_ranks_and_groups_are_computed_for_every_year(result: api.RunResult) -> None:
    # UNDP publishes them for 2022 only; the engine computes them for every year (documented)
    f = result.frame
    assert f["rank"].null_count() == 0 and f["class"].null_count() == 0
    first = f.filter(pl.col("year") == 1990)
    assert first.height == COUNTRIES_1990 and first["rank"].max() <= COUNTRIES_1990


def test_half_even_gives_the_same_values(tmp_path: Path) -> None:
    text = METHODOLOGY.read_text(encoding="utf-8")
    assert "mode: half_up" in text
    frame = run_text(text.replace("mode: half_up", "mode: half_even"), tmp_path)
    n = matches(frame)
    assert n == ROWS, f"half-even: {n} of {ROWS} HDI values match"


@pytest.mark.parametrize(
    ("cap", "expected"),
    [
        ("min(x, 85)", 5804),  # HKG 2018-2021 fail
        ("min(x, 18)", 5631),  # 177 of 179 rows with EYS > 18 fail
        ("min(x, 15)", ROWS),  # no MYS above 15: never tested
        ("log(min(x, 75000))", 5680),  # all 128 rows with GNI > 75,000 fail
    ],
)
def test_each_cap_is_needed(cap: str, expected: int, tmp_path: Path) -> None:
    text = METHODOLOGY.read_text(encoding="utf-8")
    assert text.count(cap) == 1
    uncapped = "log(x)" if cap.startswith("log") else "x"
    n = matches(run_text(text.replace(cap, uncapped), tmp_path))
    assert n == expected, f"without {cap}: {n} of {ROWS} HDI values match, expected {expected}"


def test_a_missing_input_gives_no_hdi_rank_or_group(tmp_path: Path) -> None:
    # untested by the published data (it has no gaps): HDR practice, a missing input -> no HDI
    lines = DATA.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [line for line in lines[1:] if ",1990," in line][:3]
    data = tmp_path / "gap.csv"
    data.write_text(
        "\n".join([header, *rows, "XXX,Nowhere,1990,,10,5,5000"]) + "\n", encoding="utf-8"
    )
    run = api.run(METHODOLOGY, [data])
    gap = run.frame.filter(pl.col("iso3") == "XXX").row(0, named=True)
    assert (gap["health.norm"], gap["hdi"], gap["index"], gap["rank"], gap["class"]) == (
        None,
    ) * 5, gap
    assert run.frame["rank"].drop_nulls().sort().to_list() == [1, 2, 3]
    assert any("XXX" in w.message for w in run.warnings), run.warnings


def test_cli_writes_parquet(tmp_path: Path) -> None:
    out = tmp_path / "hdi.parquet"
    cli = CliRunner().invoke(app, ["run", str(METHODOLOGY), str(DATA), "-q", "-o", str(out)])
    assert cli.exit_code == 0, (cli.exit_code, cli.stdout, cli.stderr)
    assert "Traceback" not in cli.stdout + cli.stderr
    frame = pl.read_parquet(out)
    assert frame.height == ROWS, f"{frame.height} rows written, expected {ROWS}"
    assert {
        "iso3",
        "year",
        "country",
        "health",
        "health.norm",
        "expected_schooling.norm",
        "mean_schooling.norm",
        "income",
        "income.norm",
        "education",
        "hdi",
        "index",
        "index_unrounded",
        "rank",
        "class",
    } <= set(frame.columns)
    assert frame.schema["rank"].is_integer() and frame.schema["index"] == pl.Float64
    n = matches(frame)
    assert n == ROWS, f"parquet output: {n} of {ROWS} HDI values match"
    y = (
        published()
        .filter(pl.col("year") == RANK_YEAR)
        .join(frame.select("iso3", "year", "rank", "class"), on=["iso3", "year"])
    )
    ok_rank = y.filter(pl.col("rank") == pl.col("hdi_rank")).height
    ok_group = y.filter(pl.col("class") == pl.col("hdi_group")).height
    assert (ok_rank, ok_group) == (COUNTRIES, COUNTRIES), (
        f"parquet output {RANK_YEAR}: {ok_rank} of {y.height} ranks, {ok_group} of {y.height} groups match"
    )
