"""Specialisation and concentration indices against independent and published values.

* The two German methodologies (examples/germany-specialisation/) are compared with the
  independent plain-Python computation in tests/fixtures/specialisation/
  (germany_2015_expected.csv, germany_2015_industry_J_expected.json), every Land and
  every measure, to 1e-12 relative.
* The worked examples printed in the REAT and EconGeo manuals
  (tests/fixtures/specialisation/published_examples.json, ``use_as_test: true``) are run
  through small methodologies under tests/data/detail/published/ (long-form CSVs), and
  the shipped concentration.yaml, and compared with the printed values to their printed
  precision.

Every expected value is read from the fixture files; nothing is copied into this file.
The CSVs under tests/data/detail/published/ are checked against the examples' inputs in
the JSON file (``test_published_inputs_are_the_json_inputs``), so they cannot drift.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from engine import api

ROOT = Path(__file__).resolve().parents[1]
GERMANY = ROOT / "examples" / "germany-specialisation"
GERMANY_DATA = GERMANY / "data" / "employment_2015.csv"
FIXTURES = ROOT / "tests" / "fixtures" / "specialisation"
PUBLISHED_DIR = ROOT / "tests" / "data" / "detail" / "published"
RELATIVE = 1e-12

# --------------------------------------------------------------------------- Germany

# fixture column -> output column of specialisation.yaml
LAND_COLUMNS = {
    "employment_total": "x_r",
    "ksi_a": "ksi",
    "ksi_a_half": "ksi_half",
    "ksi_b": "ksi_rest",
    "ksi_c": "ksi_others",
    "lq_J": "lq_J",
    "lq_J_binary": "lq_J_binary",
    "hoover_spec": "ksi_half",
    "gini_spec": "gini_spec",
    "hhi": "hhi",
    "hhi_normalised": "hhi_normalised",
    "hhi_equivalent_number": "hhi_equivalent",
    "entropy_ln": "entropy",
    "theil_spec": "theil_spec",
}

# fixture key -> output column of concentration.yaml (row of section J)
INDUSTRY_COLUMNS = {
    "employment_total": "x_k",
    "krugman_conc_vs_regional_totals": "krugman_conc",
    "hoover_localisation": "hoover_localisation",
    "locational_gini_econgeo": "locational_gini",
    "locational_gini_doubled": "locational_gini_doubled",
    "hhi_across_regions": "hhi",
    "hhi_across_regions_normalised": "hhi_normalised",
    "hhi_across_regions_equivalent_number": "hhi_equivalent",
    "gini_conc_reat": "gini_conc",
    "krugman_conc_vs_mean_of_other_industries": "krugman_conc_others",
}


def close(got: float, expected: float, rel: float = RELATIVE) -> bool:
    return math.isclose(got, expected, rel_tol=rel, abs_tol=rel * 1e-3)


@pytest.fixture(scope="module")
def specialisation() -> api.RunResult:
    return api.run(GERMANY / "specialisation.yaml", [GERMANY_DATA])


@pytest.fixture(scope="module")
def concentration() -> api.RunResult:
    return api.run(GERMANY / "concentration.yaml", [GERMANY_DATA], keep_detail=True)


@pytest.fixture(scope="module")
def land_expected() -> list[dict[str, str]]:
    with open(FIXTURES / "germany_2015_expected.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def industry_expected() -> dict:
    return json.loads(
        (FIXTURES / "germany_2015_industry_J_expected.json").read_text(encoding="utf-8")
    )


def test_every_land_once(
    specialisation: api.RunResult, land_expected: list[dict[str, str]]
) -> None:
    frame = specialisation.frame
    assert frame.height == len(land_expected) == 16
    assert sorted(frame["land_code"].to_list()) == sorted(r["land_code"] for r in land_expected)
    assert not specialisation.failed_errors


@pytest.mark.parametrize("column", sorted(LAND_COLUMNS))
def test_land_values_match_the_independent_computation(
    column: str, specialisation: api.RunResult, land_expected: list[dict[str, str]]
) -> None:
    frame = specialisation.frame
    got = dict(
        zip(frame["land_code"].to_list(), frame[LAND_COLUMNS[column]].to_list(), strict=True)
    )
    wrong = []
    for row in land_expected:
        expected = float(row[column])
        if not close(float(got[row["land_code"]]), expected):
            wrong.append((row["land_code"], got[row["land_code"]], expected))
    assert not wrong, f"{column}: (Land, engine, reference) {wrong}"


def test_every_section_once(concentration: api.RunResult) -> None:
    frame = concentration.frame
    assert frame.height == 17
    assert frame["industry"].n_unique() == 17
    assert not concentration.failed_errors


@pytest.mark.parametrize("key", sorted(INDUSTRY_COLUMNS))
def test_industry_J_matches_the_independent_computation(
    key: str, concentration: api.RunResult, industry_expected: dict
) -> None:
    row = concentration.frame.filter(pl.col("industry") == industry_expected["industry"])
    assert row.height == 1
    got = row[INDUSTRY_COLUMNS[key]].item()
    assert close(got, industry_expected[key]), (key, got, industry_expected[key])


def _land_codes() -> dict[str, str]:
    frame = pl.read_csv(GERMANY_DATA)
    return dict(frame.select("land", "land_code").unique().iter_rows())


@pytest.mark.parametrize(
    ("key", "column"), [("region_share", "c_rk"), ("region_share_of_total_employment", "c_r")]
)
def test_industry_J_detail_rows_match(
    key: str, column: str, concentration: api.RunResult, industry_expected: dict
) -> None:
    """keep_detail=True: the Land x section rows carry c_rk and c_r."""
    detail = concentration.detail
    assert detail is not None
    assert detail.height == 16 * 17
    rows = detail.filter(pl.col("industry") == industry_expected["industry"])
    codes = _land_codes()
    got = {
        codes[land]: v
        for land, v in zip(rows["land"].to_list(), rows[column].to_list(), strict=True)
    }
    assert got.keys() == industry_expected[key].keys()
    wrong = [(c, got[c], e) for c, e in industry_expected[key].items() if not close(got[c], e)]
    assert not wrong


def test_the_two_orientations_agree(
    specialisation: api.RunResult, concentration: api.RunResult
) -> None:
    """LQ of J per Land (specialisation.yaml) = LQ of the Land in section J (concentration.yaml)."""
    lq_by_land = dict(
        zip(
            specialisation.frame["land"].to_list(),
            specialisation.frame["lq_J"].to_list(),
            strict=True,
        )
    )
    detail = concentration.detail
    assert detail is not None
    rows = detail.filter(pl.col("industry") == "WZ08-J")
    for land, lq in zip(rows["land"].to_list(), rows["lq"].to_list(), strict=True):
        assert close(lq, lq_by_land[land])


# --------------------------------------------------------------------------- published examples


def _vector_rows(case: str, x: list[float], **columns: list[float]) -> list[dict[str, object]]:
    return [
        {"case": case, "item": f"i{i + 1:02d}", "x": v, **{k: c[i] for k, c in columns.items()}}
        for i, v in enumerate(x)
    ]


def _pair(ex: dict) -> list[dict[str, object]]:
    a = ex["input"]
    x = a.get("e_ij", a.get("x"))
    ref = a.get("e_il", a.get("e_uj", a.get("e_i", a.get("e_j", a.get("pop")))))
    return _vector_rows(ex["name"], x, ref=ref)


def _vector(ex: dict) -> list[dict[str, object]]:
    x = ex["input"]["x"]
    return _vector_rows(ex["name"], x, w=ex["input"].get("weighting", [1] * len(x)))


def _theil(ex: dict) -> list[dict[str, object]]:
    return _vector_rows(ex["name"], ex["input"]["x"])


def _matrix(
    unit: str, detail: str, subject: str, names_key: str
) -> Callable[[dict], list[dict[str, object]]]:
    """A subject vector (e_ij) and the named comparison vectors, as one long matrix."""

    def rows(ex: dict) -> list[dict[str, object]]:
        vectors = {subject: ex["input"]["e_ij"], **ex["input"][names_key]}
        return [
            {unit: name, detail: f"{'r' if detail == 'land' else 'i'}{i + 1}", "employment": v}
            for name, vec in vectors.items()
            for i, v in enumerate(vec)
        ]

    return rows


def _conc2(ex: dict) -> list[dict[str, object]]:
    """Shaped for the shipped concentration.yaml (land, industry, industry_name, year)."""
    rows = _matrix("industry", "land", "Bergbau", "e_uj")(ex)
    return [
        {
            "land": r["land"],
            "industry": r["industry"],
            "industry_name": r["industry"],
            "year": 2013,
            "employment": r["employment"],
        }
        for r in rows
    ]


def _locq(ex: dict) -> list[dict[str, object]]:
    """locq(e_ij, e_j, e_i, e) as the 2 x 2 matrix the four totals imply."""
    a = ex["input"]
    cells = {
        ("region_j", "industry_i"): a["e_ij"],
        ("region_j", "other"): a["e_j"] - a["e_ij"],
        ("rest", "industry_i"): a["e_i"] - a["e_ij"],
        ("rest", "other"): a["e"] - a["e_j"] - a["e_i"] + a["e_ij"],
    }
    return [{"region": r, "industry": k, "employment": v} for (r, k), v in cells.items()]


@dataclass(frozen=True)
class Route:
    """How one published function is run: methodology, data file, unit and output column."""

    methodology: Path
    data: str
    rows: Callable[[dict], list[dict[str, object]]]
    column: Callable[[dict], str]
    unit: Callable[[dict], str] = lambda ex: ex["name"]
    unit_column: str = "case"


def _herf_column(ex: dict) -> str:
    a = ex["input"]
    return (
        "hhi_equivalent"
        if a.get("output") == "eq"
        else "hhi_normalised"
        if a.get("coefnorm")
        else "hhi"
    )


def _gini_column(ex: dict) -> str:
    a = ex["input"]
    return (
        "gini_weighted"
        if a.get("weighting")
        else "gini_normalised"
        if a.get("coefnorm")
        else "gini"
    )


P = PUBLISHED_DIR
ROUTES: dict[str, Route] = {
    "REAT::krugman.spec": Route(
        P / "krugman_pair.yaml", "krugman_pair.csv", _pair, lambda ex: "krugman"
    ),
    "REAT::krugman.conc": Route(
        P / "krugman_pair.yaml", "krugman_pair.csv", _pair, lambda ex: "krugman"
    ),
    "EconGeo::hoover_index": Route(
        P / "krugman_pair.yaml", "krugman_pair.csv", _pair, lambda ex: "hoover_percent"
    ),
    "REAT::gini.spec": Route(P / "gini_lq.yaml", "gini_lq.csv", _pair, lambda ex: "gini_lq"),
    "REAT::gini.conc": Route(P / "gini_lq.yaml", "gini_lq.csv", _pair, lambda ex: "gini_lq"),
    "REAT::herf": Route(P / "vector.yaml", "vector.csv", _vector, _herf_column),
    "REAT::herf.eq": Route(P / "vector.yaml", "vector.csv", _vector, lambda ex: "hhi_equivalent"),
    "REAT::gini": Route(P / "vector.yaml", "vector.csv", _vector, _gini_column),
    "EconGeo::gini": Route(P / "vector.yaml", "vector.csv", _vector, lambda ex: "gini_econgeo"),
    "REAT::theil": Route(P / "theil.yaml", "theil.csv", _theil, lambda ex: "theil_mld"),
    "REAT::krugman.spec2": Route(
        P / "krugman_others.yaml",
        "krugman_others.csv",
        _matrix("region", "industry", "Sweden", "e_il"),
        lambda ex: "ksi_others",
        unit=lambda ex: "Sweden",
        unit_column="region",
    ),
    # krugman.conc2 runs through the shipped methodology, not a test copy of its formulas
    "REAT::krugman.conc2": Route(
        GERMANY / "concentration.yaml",
        "krugman_conc_others.csv",
        _conc2,
        lambda ex: "krugman_conc_others",
        unit=lambda ex: "Bergbau",
        unit_column="industry",
    ),
    "REAT::locq": Route(
        P / "locq.yaml",
        "locq.csv",
        _locq,
        lambda ex: "lq_i",
        unit=lambda ex: "region_j",
        unit_column="region",
    ),
}


def _examples() -> list[dict]:
    return json.loads((FIXTURES / "published_examples.json").read_text(encoding="utf-8"))


TESTS = [ex for ex in _examples() if ex.get("use_as_test")]


def tolerance(ex: dict) -> float:
    """Half a unit in the last printed digit, unless the example states its own."""
    if "tolerance" in ex:
        return float(ex["tolerance"])
    printed = str(ex["expected_printed"])
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10**-decimals + 1e-12


def expected_csv(data: str) -> str:
    """The text of a published-examples data file, built from the JSON inputs."""
    rows = [
        r
        for ex in TESTS
        if ROUTES[ex["function"]].data == data
        for r in ROUTES[ex["function"]].rows(ex)
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_every_published_example_is_routed() -> None:
    assert len(TESTS) == 23
    assert {ex["function"] for ex in TESTS} <= ROUTES.keys()


@pytest.mark.parametrize("data", sorted({r.data for r in ROUTES.values()}))
def test_published_inputs_are_the_json_inputs(data: str) -> None:
    """The CSVs are exactly the examples' inputs (regenerate with ``python -m tests.test_specialisation``)."""
    assert (PUBLISHED_DIR / data).read_text(encoding="utf-8") == expected_csv(data)


@pytest.fixture(scope="module")
def published_runs() -> dict[tuple[Path, str], api.RunResult]:
    return {
        (r.methodology, r.data): api.run(r.methodology, [PUBLISHED_DIR / r.data])
        for r in {(r.methodology, r.data): r for r in ROUTES.values()}.values()
    }


@pytest.mark.parametrize("ex", TESTS, ids=[ex["name"] for ex in TESTS])
def test_published_example(ex: dict, published_runs: dict[tuple[Path, str], api.RunResult]) -> None:
    route = ROUTES[ex["function"]]
    frame = published_runs[(route.methodology, route.data)].frame
    row = frame.filter(pl.col(route.unit_column) == route.unit(ex))
    assert row.height == 1
    got = row[route.column(ex)].item()
    assert abs(got - ex["expected"]) <= tolerance(ex), (
        f"{ex['function']}: printed {ex['expected_printed']}, engine {got!r}"
    )


if __name__ == "__main__":  # regenerate the published-examples CSVs from the JSON
    for name in sorted({r.data for r in ROUTES.values()}):
        (PUBLISHED_DIR / name).write_text(expected_csv(name), encoding="utf-8")
        print("wrote", PUBLISHED_DIR / name)
