"""examples/undp-gdi: the GDI, its five groups and ranks within regions in one methodology
(issue 14), recomputed here in plain Python from UNDP's technical note 3."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest

from engine import api

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "undp-gdi"

# (lower, upper) goalposts; the inputs are capped at the upper one
GOALPOSTS = {
    "le_f": (22.5, 87.5),
    "le_m": (17.5, 82.5),
    "eys": (0, 18),
    "mys": (0, 15),
    "gnipc": (100, 75000),
}
GROUPS = [  # UNDP: the absolute deviation of the GDI from 1 is below 2.5 %, below 5 %, ...
    ("1", 0.025, "high equality in HDI achievements between women and men"),
    ("2", 0.05, "medium-high equality"),
    ("3", 0.075, "medium equality"),
    ("4", 0.1, "medium-low equality"),
]


def _index(x: float, key: str) -> float:
    low, high = GOALPOSTS[key]
    if key == "gnipc":
        return (math.log(min(x, high)) - math.log(low)) / (math.log(high) - math.log(low))
    return (min(x, high) - low) / (high - low)


def _hdi(row: dict, sex: str) -> float:
    health = _index(row[f"le_{sex}"], f"le_{sex}")
    education = (_index(row[f"eys_{sex}"], "eys") + _index(row[f"mys_{sex}"], "mys")) / 2
    income = _index(row[f"gnipc_{sex}"], "gnipc")
    return (health * education * income) ** (1 / 3)


def _round3(x: float) -> float:
    return float(Decimal(repr(x)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _group(deviation: float) -> tuple[str, str]:
    for label, below, words in GROUPS:
        if deviation < below - 1e-12:
            return label, words
    return "5", "low equality"


def _min_rank(values: list[float], v: float, descending: bool) -> int:
    return 1 + sum(1 for w in values if (w > v if descending else w < v))


@pytest.fixture(scope="module")
def run() -> pl.DataFrame:
    return api.run(EXAMPLE / "gdi.yaml", [EXAMPLE / "input.csv"]).frame


def test_every_output_of_the_gdi_example(run: pl.DataFrame) -> None:
    rows = pl.read_csv(EXAMPLE / "input.csv").to_dicts()
    for r in rows:
        r["hdi_f"], r["hdi_m"] = _hdi(r, "f"), _hdi(r, "m")
        r["gdi"] = _round3(r["hdi_f"] / r["hdi_m"])
        r["deviation"] = abs(r["gdi"] - 1)
    got = {r["iso3"]: r for r in run.iter_rows(named=True)}
    gdis = [r["gdi"] for r in rows]
    for r in rows:
        g = got[r["iso3"]]
        assert g["hdi_f"] == pytest.approx(r["hdi_f"], rel=1e-15)
        assert g["hdi_m"] == pytest.approx(r["hdi_m"], rel=1e-15)
        assert g["index"] == r["gdi"]  # the rounded GDI, exactly
        label, words = _group(r["deviation"])
        assert (g["class"], g["class_group"]) == (label, words), r["iso3"]
        region = [x for x in rows if x["region"] == r["region"]]
        assert g["rank"] == _min_rank(gdis, r["gdi"], descending=True)
        assert g["region_rank"] == _min_rank([x["gdi"] for x in region], r["gdi"], True)
        deviations = [x["deviation"] for x in rows]
        assert g["parity_rank"] == _min_rank(deviations, r["deviation"], descending=False)
        assert g["parity_rank_in_region"] == _min_rank(
            [x["deviation"] for x in region], r["deviation"], descending=False
        )
        assert g["countries_in_region"] == len(region)
        side = "women ahead" if r["gdi"] > 1 else "men ahead" if r["gdi"] < 1 else "parity"
        assert g["gap_side"] == side
    assert run.schema["countries_in_region"] == pl.Int64 and run.schema["gap_side"] == pl.String


def test_the_example_covers_every_group_and_a_bound(run: pl.DataFrame) -> None:
    assert set(run["class"]) == {"1", "2", "3", "4", "5"}
    c05 = run.filter(pl.col("iso3") == "C05")
    assert c05["index"][0] == 0.975 and c05["class"][0] == "2"  # 2.5 % is not below 2.5 %
