"""Unit screening by data availability (issue 14; COINr's Screen), against COINr 1.1.14 on
its ASEM example (tests/data/coinr_asem, see the README there) and against plain Python."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import MethodologyError

ROOT = Path(__file__).resolve().parents[1]
ASEM = ROOT / "examples" / "coinr-asem"
REF = ROOT / "tests" / "data" / "coinr_asem"


def _asem(tmp_path: Path, availability: str) -> Path:
    text = (ASEM / "asem.yaml").read_text(encoding="utf-8")
    text = text[: text.index("uncertainty:")] + f"availability: {availability}\n"
    path = tmp_path / "asem.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("threshold", "summary", "removed"),
    [
        ("0.9", "screen_0.9_summary.csv", ["BGD", "BRN", "KHM", "LAO", "MMR"]),
        ("0.6666666666666666", "screen_default2of3_summary.csv", []),
    ],
)
def test_screening_reproduces_coinr_screen_on_asem(
    tmp_path: Path, threshold: str, summary: str, removed: list[str]
) -> None:
    result = api.run(_asem(tmp_path, f"{{minimum: {threshold}}}"), [ASEM / "asem.csv"])
    ref = pl.read_csv(REF / summary)
    table = result.availability
    assert table is not None and table.height == 51
    both = table.join(ref, on="uCode")
    assert (both["present"] == 49 - both["N_missing"]).all()
    assert (both["zero"] == both["N_zero"]).all()
    assert (both["available"] - both["Dat_Avail"]).abs().max() < 1e-15
    assert (both["nonzero"] - both["Non_Zero"]).abs().max() < 1e-15
    assert (both["kept"] == both["Included"]).all()
    if removed:
        assert removed == pl.read_csv(REF / "screen_0.9_removed.csv")["uCode"].to_list()
    assert sorted(table.filter(~pl.col("kept"))["uCode"]) == removed
    assert sorted(set(table["uCode"]) - set(result.frame["uCode"])) == removed
    messages = [w.message for w in result.warnings if "dropped by data availability" in w.message]
    assert len(messages) == len(removed)
    if removed:
        assert messages[0] == (
            "BGD 2018 dropped by data availability: 43 of 49 indicators present (87.8 %), "
            "below the minimum 90.0 %"
        )


def test_a_dropped_unit_changes_no_other_units_result(tmp_path: Path) -> None:
    """Screening = running on the data without the dropped units (their rows leave before
    any statistic across units)."""
    screened = api.run(_asem(tmp_path, "{minimum: 0.9}"), [ASEM / "asem.csv"]).frame
    rows = pl.read_csv(ASEM / "asem.csv")
    fewer = tmp_path / "fewer.csv"
    rows.filter(~pl.col("uCode").is_in(["BGD", "BRN", "KHM", "LAO", "MMR"])).write_csv(fewer)
    plain = tmp_path / "plain.yaml"
    text = (ASEM / "asem.yaml").read_text(encoding="utf-8")
    plain.write_text(text[: text.index("uncertainty:")], encoding="utf-8")
    expected = api.run(plain, [fewer]).frame
    assert screened["uCode"].to_list() == expected["uCode"].to_list()
    assert screened["index"].to_list() == pytest.approx(expected["index"].to_list(), rel=1e-12)
    assert screened["rank"].to_list() == expected["rank"].to_list()


def test_per_group_and_nonzero_thresholds(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    # 6 indicators in two groups of 3; p: all present; q: group G2 has 2 of 3 (5 of 6
    # overall); r: 4 of 6, two of them 0; s: nothing present
    data.write_text(
        "c,a1,a2,a3,b1,b2,b3\np,1,2,3,4,5,6\nq,1,2,3,4,5,\nr,0,0,3,4,,\ns,,,,,,\nt,5,1,2,3,4,2\n",
        encoding="utf-8",
    )
    head = """\
indexlab: 1
id: av
title: av
data: {unit: c}
inputs: {a1: {}, a2: {}, a3: {}, b1: {}, b2: {}, b3: {}}
indicators: {A1: {formula: a1}, A2: {formula: a2}, A3: {formula: a3},
             B1: {formula: b1}, B2: {formula: b2}, B3: {formula: b3}}
groups: {G1: {members: [A1, A2, A3]}, G2: {members: [B1, B2, B3]},
         T: {members: [G1, G2], coverage: 0.5}}
index: {group: T}
"""
    cases = {
        "{minimum: 0.8}": {"r", "s"},  # q: 5/6 = 0.833 passes overall
        "{minimum: 0.8, per_group: true}": {"q", "r", "s"},  # q: G2 has 2/3
        "{nonzero: 0.75}": {"r", "s"},  # r: 2 of 4 present values non-zero; s: none present
        "{minimum: 0.5, nonzero: 0.5}": {"s"},
    }
    for availability, dropped in cases.items():
        path = tmp_path / "m.yaml"
        path.write_text(head + f"availability: {availability}\n", encoding="utf-8")
        result = api.run(path, [data])
        assert set(result.frame["c"]) == {"p", "q", "r", "s", "t"} - dropped, availability
        table = result.availability
        assert table is not None
        got = {row["c"]: row for row in table.iter_rows(named=True)}
        assert got["q"]["lowest_group"] == "G2"
        assert got["q"]["lowest_group_available"] == pytest.approx(2 / 3)
        assert got["r"]["nonzero"] == pytest.approx(2 / 4)
        assert got["s"]["nonzero"] is None and got["s"]["available"] == 0
    why = {row["c"]: row["reason"] for row in table.iter_rows(named=True)}
    assert why["s"] == (
        "0 of 6 indicators present (0.0 %), below the minimum 50.0 %; "
        "0 of 0 present values non-zero (no value present), below 50.0 %"
    )


def test_an_empty_availability_is_refused(tmp_path: Path) -> None:
    path = _asem(tmp_path, "{per_group: true}")
    with pytest.raises(MethodologyError) as err:
        api.validate(path)
    assert "availability" in err.value.render()


def test_sensitivity_replicates_the_kept_units_only(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(
        "c,a,b\np,1,2\nq,3,\nr,2,5\ns,5,4\nt,4,1\n", encoding="utf-8"
    )  # q has 1 of 2 indicators
    path = tmp_path / "m.yaml"
    path.write_text(
        """\
indexlab: 1
id: sa
title: sa
data: {unit: c}
inputs: {a: {}, b: {}}
indicators: {A: {formula: a}, B: {formula: b}}
normalisation: {default: {method: min_max}}
groups: {G: {members: [A, B]}}
index: {group: G}
availability: {minimum: 1}
uncertainty: {replications: 10, weights: {perturb: 0.3}}
""",
        encoding="utf-8",
    )
    result = api.sensitivity(path, [data], sobol=False)
    assert sorted(result.analysis.ranks["c"]) == ["p", "r", "s", "t"]
    assert result.analysis.ranks["mean_rank"].max() <= 4  # ranks among the 4 kept units
