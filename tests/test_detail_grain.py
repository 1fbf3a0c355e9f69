"""Data at a finer grain than the unit (engine/formula/grain.py): rules, data errors, edge cases.

The data is tests/data/detail/employment.csv (3 regions x 3 industries x 2 years, long
form) and population.csv (one row per region and year). Expected values are recomputed
here with plain Python loops from the same CSV, never taken from the engine.
"""

from __future__ import annotations

import csv
import math
import random
import textwrap
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import Code, DataError, IndexlabError, MethodologyError
from tests.undefined import reported

DATA = Path(__file__).resolve().parent / "data" / "detail"
EMPLOYMENT = DATA / "employment.csv"
POPULATION = DATA / "population.csv"
STRUCTURE = DATA / "structure.yaml"

HEAD = """\
indexlab: 1
id: grain-test
title: grain test
data: {unit: region, period: year, detail: [industry]}
inputs:
  employment: {grain: detail, minimum: 0}
  population: {grain: unit, optional: true}
"""


def methodology(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def codes(err: IndexlabError) -> list[Code]:
    return [d.code for d in err.diagnostics]


def rows() -> list[dict[str, str]]:
    with open(EMPLOYMENT, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, data: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
    return path


def reference(data: list[dict[str, str]]) -> dict[tuple[str, int], dict[str, float]]:
    """ksi, hhi and the LQ of industry A per region and year, by loops."""
    cell = {(r["region"], int(r["year"]), r["industry"]): float(r["employment"]) for r in data}
    out = {}
    for year in sorted({k[1] for k in cell}):
        regions = sorted({k[0] for k in cell if k[1] == year})
        industries = sorted({k[2] for k in cell if k[1] == year})
        x_r = {r: sum(cell[r, year, k] for k in industries) for r in regions}
        x_k = {k: sum(cell[r, year, k] for r in regions) for k in industries}
        x = sum(x_r.values())
        for r in regions:
            s = {k: cell[r, year, k] / x_r[r] for k in industries}
            out[r, year] = {
                "ksi": sum(abs(s[k] - x_k[k] / x) for k in industries),
                "hhi": sum(v * v for v in s.values()),
                "lq_A": s["A"] / (x_k["A"] / x),
            }
    return out


@pytest.fixture(scope="module")
def base() -> api.RunResult:
    return api.run(STRUCTURE, [EMPLOYMENT], keep_detail=True)


def values(frame: pl.DataFrame, column: str) -> dict[tuple[str, int], float]:
    return {(r, y): v for r, y, v in frame.select("region", "year", column).iter_rows()}


# --------------------------------------------------------------------------- results


@pytest.mark.parametrize("column", ["ksi", "hhi", "lq_A"])
def test_reductions_match_loops(base: api.RunResult, column: str) -> None:
    expected = reference(rows())
    got = values(base.frame, column)
    assert got.keys() == expected.keys()
    for key, v in expected.items():
        assert math.isclose(got[key], v[column], rel_tol=1e-12), (key, got[key], v[column])


def test_one_row_per_unit_and_period(base: api.RunResult) -> None:
    assert base.frame.height == 6
    assert base.frame.select("region", "year").is_unique().all()
    # detail-grain indicators are not unit-level outputs
    assert "s_rk" not in base.frame.columns and "lq" not in base.frame.columns


def test_keep_detail_returns_the_detail_table(base: api.RunResult) -> None:
    detail = base.detail
    assert detail is not None
    assert detail.height == 18
    assert {"region", "year", "industry", "employment", "s_rk", "s_k", "lq"} <= set(detail.columns)
    assert detail.select("region", "year", "industry").is_unique().all()
    shares = detail.group_by("region", "year").agg(pl.col("s_rk").sum())
    assert all(math.isclose(v, 1.0, rel_tol=1e-12) for v in shares["s_rk"])
    north_a = detail.filter(
        (pl.col("region") == "North") & (pl.col("year") == 2020) & (pl.col("industry") == "A")
    )
    assert north_a["employment"].item() == 100
    assert north_a["s_rk"].item() == pytest.approx(0.5, rel=1e-15)


def test_without_keep_detail_no_detail_table() -> None:
    assert api.run(STRUCTURE, [EMPLOYMENT]).detail is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_row_order_does_not_matter(base: api.RunResult, tmp_path: Path, seed: int) -> None:
    shuffled = rows()
    random.Random(seed).shuffle(shuffled)
    result = api.run(STRUCTURE, [write_rows(tmp_path / "shuffled.csv", shuffled)], keep_detail=True)
    assert result.frame.equals(base.frame)
    assert result.detail is not None and base.detail is not None
    keys = ["region", "year", "industry"]
    assert result.detail.sort(keys).equals(base.detail.sort(keys))


@pytest.mark.parametrize("seed", [1, 2])
def test_detail_table_is_written_in_key_order(tmp_path: Path, seed: int) -> None:
    """Like the unit-level table (sorted by unit and period), the detail table comes out
    sorted by unit, period and detail key, whatever the order of the file."""
    shuffled = rows()
    random.Random(seed).shuffle(shuffled)
    result = api.run(STRUCTURE, [write_rows(tmp_path / "shuffled.csv", shuffled)], keep_detail=True)
    assert result.detail is not None
    order = result.detail.select("region", "year", "industry").rows()
    assert order == sorted(order), f"detail rows come out as {order[:4]} ..."


@pytest.mark.parametrize("order", [(EMPLOYMENT, POPULATION), (POPULATION, EMPLOYMENT)])
def test_detail_table_in_key_order_with_a_unit_file(order: tuple[Path, Path]) -> None:
    """The same with a unit-level file joined in (employment.csv lists North, South, East)."""
    result = api.run(DATA / "structure_population.yaml", list(order), keep_detail=True)
    assert result.detail is not None
    order = result.detail.select("region", "year", "industry").rows()
    assert order == sorted(order), f"detail rows come out as {order[:4]} ..."


def test_nested_statistics_over_other_keys(tmp_path: Path) -> None:
    """A statistic by [industry, year] inside a statistic by [region, year]: the inner one
    is taken over its own groups (all regions), not within the outer group."""
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
          sum_of_industry_sums: {formula: "sum(sum(s_rk, by=[industry, year]), by=[region, year])"}
          sum_of_industry_counts: {formula: "sum(count(s_rk, by=[industry, year]), by=[region, year])"}
        """,
    )
    f = api.run(m, [EMPLOYMENT]).frame
    # every region's shares add up to 1, so the industries' sums over 3 regions add up to 3
    assert f["sum_of_industry_sums"].to_list() == pytest.approx([3.0] * 6, rel=1e-12)
    assert f["sum_of_industry_counts"].to_list() == [9.0] * 6  # 3 industries x 3 regions


def test_variant_c_inline_equals_variant_c_in_two_indicators(tmp_path: Path) -> None:
    """Krugman variant C written in one formula gives the value of the two-indicator form
    (specialisation.yaml's s_k_others + ksi_others)."""
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
          s_k_others: {formula: "(sum(s_rk, by=[industry, year]) - s_rk) / (count(s_rk, by=[industry, year]) - 1)"}
          ksi_others: {formula: "sum(abs(s_rk - s_k_others), by=[region, year])"}
          ksi_others_inline:
            formula: >-
              sum(abs(s_rk - (sum(s_rk, by=[industry, year]) - s_rk)
              / (count(s_rk, by=[industry, year]) - 1)), by=[region, year])
        """,
    )
    f = api.run(m, [EMPLOYMENT]).frame
    assert f["ksi_others_inline"].to_list() == pytest.approx(f["ksi_others"].to_list(), rel=1e-12)


@pytest.mark.parametrize("order", [(EMPLOYMENT, POPULATION), (POPULATION, EMPLOYMENT)])
def test_two_files_joined_by_keys(order: tuple[Path, Path]) -> None:
    result = api.run(DATA / "structure_population.yaml", list(order))
    f = result.frame.sort("region", "year")
    assert f.height == 6
    north = f.filter((pl.col("region") == "North") & (pl.col("year") == 2020)).row(0, named=True)
    assert north["region_name"] == "Northern Province"
    assert north["x_r"] == 200
    assert north["employment_rate"] == pytest.approx(200 / 1000, rel=1e-15)
    assert north["industry_A_per_1000"] == pytest.approx(100 / 1000 * 1000, rel=1e-15)
    assert north["share_of_population"] == pytest.approx(1000 / 3500, rel=1e-15)
    east = f.filter((pl.col("region") == "East") & (pl.col("year") == 2021)).row(0, named=True)
    assert east["employment_rate"] == pytest.approx(100 / 510, rel=1e-15)


# --------------------------------------------------------------------------- errors before data


def test_by_key_that_does_not_exist(tmp_path: Path) -> None:
    m = methodology(
        tmp_path,
        """\
        indicators:
          t: {formula: "sum(employment, by=[sector, year])"}
        """,
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert codes(err.value) == [Code.UNKNOWN_NAME]
    assert "sector" in err.value.diagnostics[0].message
    assert "industry" in (err.value.diagnostics[0].expected or "")


def test_group_member_at_detail_grain(tmp_path: Path) -> None:
    """A detail-grain indicator exists, so the error is about its grain, not an unknown member."""
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
          hhi: {formula: "sum(s_rk ** 2, by=[region, year])"}
        groups:
          G: {members: [s_rk, hhi]}
        index: {group: G}
        """,
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert codes(err.value) == [Code.GRAIN], err.value.render()
    assert "s_rk" in err.value.diagnostics[0].message


def test_detail_value_as_index_formula(tmp_path: Path) -> None:
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
        index: {formula: s_rk}
        """,
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert Code.GRAIN in codes(err.value)


def test_statistic_of_unit_value_grouped_by_detail_key(tmp_path: Path) -> None:
    m = methodology(
        tmp_path,
        """\
        indicators:
          t: {formula: "sum(population, by=[industry, year])"}
        """,
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert codes(err.value) == [Code.GRAIN]
    assert "industry" in err.value.diagnostics[0].message


def test_unit_statistic_over_units_inside_a_detail_formula(tmp_path: Path) -> None:
    """sum(population) on the detail rows would count every region once per industry."""
    m = methodology(
        tmp_path,
        """\
        indicators:
          t: {formula: "sum(employment, by=[region, year]) / sum(population)"}
        """,
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert codes(err.value) == [Code.GRAIN]
    assert "indicator of its own" in err.value.diagnostics[0].message


def test_the_same_statistic_in_an_indicator_of_its_own_is_fine(tmp_path: Path) -> None:
    m = methodology(
        tmp_path,
        """\
        indicators:
          total_population: {formula: sum(population)}
          t: {formula: "sum(employment, by=[region, year]) / total_population"}
        """,
    )
    result = api.run(m, [EMPLOYMENT, POPULATION])
    north = result.frame.filter((pl.col("region") == "North") & (pl.col("year") == 2020))
    assert north["t"].item() == pytest.approx(200 / 3500, rel=1e-15)


def test_detail_input_without_detail_keys(tmp_path: Path) -> None:
    m = methodology(
        tmp_path,
        """\
        indicators:
          t: {formula: "sum(employment, by=[region, year])"}
        """,
        head=HEAD.replace(
            "data: {unit: region, period: year, detail: [industry]}",
            "data: {unit: region, period: year}",
        ),
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(m)
    assert err.value.diagnostics


# --------------------------------------------------------------------------- data errors


def test_duplicate_detail_rows_are_named(tmp_path: Path) -> None:
    data = rows()
    data.append(dict(data[1]))  # North, B, 2020 again
    with pytest.raises(DataError) as err:
        api.run(STRUCTURE, [write_rows(tmp_path / "dup.csv", data)])
    assert codes(err.value) == [Code.DUPLICATE_ROW]
    message = err.value.diagnostics[0].message
    assert "North" in message and "2020" in message and "'B'" in message
    assert "lines 3, 20" in message


def test_zero_regional_total_names_the_region(tmp_path: Path) -> None:
    """A region with all-zero employment: shares are 0/0. A data error naming it, never NaN."""
    data = [
        dict(r, employment="0") if (r["region"], r["year"]) == ("East", "2021") else r
        for r in rows()
    ]
    err = reported(api.run(STRUCTURE, [write_rows(tmp_path / "zero.csv", data)]))
    assert codes(err) == [Code.DIVISION_BY_ZERO]
    message = err.diagnostics[0].message
    assert "East 2021" in message and "North" not in message and "South" not in message
    assert "x_r" in message


def test_all_zero_industry_stops_the_location_quotient(tmp_path: Path) -> None:
    """An industry with no employment anywhere has s_k = 0: LQ = s_rk / 0 is a data error."""
    data = [
        dict(r, employment="0") if (r["industry"], r["year"]) == ("C", "2020") else r
        for r in rows()
    ]
    err = reported(api.run(STRUCTURE, [write_rows(tmp_path / "zero_industry.csv", data)]))
    assert codes(err) == [Code.DIVISION_BY_ZERO]
    message = err.diagnostics[0].message
    assert "2020 C" in message and "lq" in message


def test_negative_count_is_named(tmp_path: Path) -> None:
    data = [
        dict(r, employment="-5")
        if (r["region"], r["industry"], r["year"]) == ("North", "B", "2020")
        else r
        for r in rows()
    ]
    with pytest.raises(DataError) as err:
        api.run(STRUCTURE, [write_rows(tmp_path / "negative.csv", data)])
    assert codes(err.value) == [Code.DOMAIN]
    assert "North 2020 B" in err.value.diagnostics[0].message


def test_missing_detail_column(tmp_path: Path) -> None:
    data = [{k: v for k, v in r.items() if k != "industry"} for r in rows()]
    with pytest.raises(DataError) as err:
        api.run(STRUCTURE, [write_rows(tmp_path / "no_industry.csv", data)])
    assert Code.MISSING_COLUMN in codes(err.value)
    assert "industry" in err.value.render()


# --------------------------------------------------------------------------- edge cases


def test_single_region(tmp_path: Path) -> None:
    """One region is the nation: Krugman 0, every LQ 1."""
    data = [r for r in rows() if r["region"] == "North"]
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
          s_k: {formula: "sum(employment, by=[industry, year]) / sum(employment)"}
          lq: {formula: s_rk / s_k}
          ksi: {formula: "sum(abs(s_rk - s_k), by=[region, year])"}
          lq_min: {formula: "min(lq, by=[region, year])"}
          lq_max: {formula: "max(lq, by=[region, year])"}
        """,
    )
    result = api.run(m, [write_rows(tmp_path / "one_region.csv", data)])
    assert result.frame["ksi"].to_list() == [0.0, 0.0]
    assert result.frame["lq_min"].to_list() == [1.0, 1.0]
    assert result.frame["lq_max"].to_list() == [1.0, 1.0]


def test_single_region_has_no_rest_of_the_country(tmp_path: Path) -> None:
    """Variant B compares the region with the rest of the country: with one region
    x - x_r = 0, and a division by zero names it (the value is missing, never NaN)."""
    data = [r for r in rows() if r["region"] == "North"]
    err = reported(api.run(STRUCTURE, [write_rows(tmp_path / "one_region.csv", data)]))
    # variant C of the same file divides by count - 1 = 0 too: both are reported
    assert set(codes(err)) == {Code.DIVISION_BY_ZERO}
    message = next(d.message for d in err.diagnostics if "ksi_rest" in d.message)
    assert "ksi_rest" in message and "x - x_r" in message and "North 2020" in message


def test_single_region_has_no_other_regions(tmp_path: Path) -> None:
    """Variant C averages over the other regions: with one region, count - 1 = 0."""
    data = [r for r in rows() if r["region"] == "North"]
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
          s_k_others: {formula: "(sum(s_rk, by=[industry, year]) - s_rk) / (count(s_rk, by=[industry, year]) - 1)"}
          ksi_others: {formula: "sum(abs(s_rk - s_k_others), by=[region, year])"}
        """,
    )
    err = reported(api.run(m, [write_rows(tmp_path / "one_region.csv", data)]))
    assert codes(err) == [Code.DIVISION_BY_ZERO]
    assert "s_k_others" in err.diagnostics[0].message


def test_single_industry(tmp_path: Path) -> None:
    """One industry: every share is 1, HHI 1, entropy 0, Krugman 0, LQ 1."""
    data = [r for r in rows() if r["industry"] == "A"]
    m = methodology(
        tmp_path,
        """\
        indicators:
          s_rk: {formula: "employment / sum(employment, by=[region, year])"}
          s_k: {formula: "sum(employment, by=[industry, year]) / sum(employment)"}
          share: {formula: "at(s_rk, industry='A')"}
          hhi: {formula: "sum(s_rk ** 2, by=[region, year])"}
          entropy: {formula: "-sum(where(s_rk > 0, s_rk * log(s_rk), 0), by=[region, year])"}
          ksi: {formula: "sum(abs(s_rk - s_k), by=[region, year])"}
          lq: {formula: "at(s_rk / s_k, industry='A')"}
        """,
    )
    f = api.run(m, [write_rows(tmp_path / "one_industry.csv", data)]).frame
    assert f.height == 6
    for column, expected in (
        ("share", 1.0),
        ("hhi", 1.0),
        ("entropy", 0.0),
        ("ksi", 0.0),
        ("lq", 1.0),
    ):
        assert f[column].to_list() == [expected] * 6, column


def test_single_industry_normalised_hhi_is_undefined(tmp_path: Path) -> None:
    """(H - 1/n) / (1 - 1/n) with n = 1 is 0/0: a data error, not NaN."""
    data = [r for r in rows() if r["industry"] == "A"]
    m = methodology(
        tmp_path,
        """\
        indicators:
          hhi: {formula: "sum((employment / sum(employment, by=[region, year])) ** 2, by=[region, year])"}
          n: {formula: "count(employment, by=[region, year])"}
          hhi_normalised: {formula: (hhi - 1 / n) / (1 - 1 / n)}
        """,
    )
    err = reported(api.run(m, [write_rows(tmp_path / "one_industry.csv", data)]))
    assert codes(err) == [Code.DIVISION_BY_ZERO]


def _with_missing_cell(tmp_path: Path) -> Path:
    data = [
        dict(r, employment="")
        if (r["region"], r["industry"], r["year"]) == ("North", "B", "2020")
        else r
        for r in rows()
    ]
    return write_rows(tmp_path / "missing.csv", data)


def test_missing_cell_is_skipped_by_the_sums(tmp_path: Path) -> None:
    """Statistics skip missing values: the cell drops out of the region's, the industry's
    and the nation's totals, and out of the sum over industries."""
    result = api.run(STRUCTURE, [_with_missing_cell(tmp_path)])
    north = result.frame.filter((pl.col("region") == "North") & (pl.col("year") == 2020)).row(
        0, named=True
    )
    assert north["x_r"] == 150 and north["x"] == 450 and north["n"] == 2
    # shares over A and C only: |100/150 - 150/450| + |50/150 - 210/450|
    assert north["ksi"] == pytest.approx(
        abs(100 / 150 - 150 / 450) + abs(50 / 150 - 210 / 450), rel=1e-12
    )
    # 2021 is untouched
    expected = reference(rows())
    got = values(result.frame, "ksi")
    assert got["North", 2021] == pytest.approx(expected["North", 2021]["ksi"], rel=1e-12)


def test_missing_cell_is_reported(tmp_path: Path) -> None:
    """A specialisation index silently computed over fewer industries is a different
    number from the one asked for: the run must at least warn, naming the cell."""
    result = api.run(STRUCTURE, [_with_missing_cell(tmp_path)])
    messages = [d.render() for d in result.warnings if d.code == Code.MISSING_VALUE]
    assert any("North" in m and "2020" in m and "B" in m for m in messages), (
        f"no warning names the missing cell North 2020 B; warnings: {[d.render() for d in result.warnings]}"
    )
