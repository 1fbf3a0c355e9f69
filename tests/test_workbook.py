"""The Excel workbook: every table on its sheet, values read back exactly, safe text.

Read back with fastexcel (calamine), a reader independent of the writer (xlsxwriter).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app
from engine.diagnostics import UsageError
from engine.io.workbook import MAX_ROWS
from engine.io.write import write_workbook

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies/kireeva.yaml"
MINMAX = ROOT / "methodologies/kireeva-minmax.yaml"
KZ = ROOT / "examples/kazakhstan/regions.csv"

fastexcel = pytest.importorskip("fastexcel", reason="the test extra installs the excel extra")


def _sheets(path: Path) -> dict[str, pl.DataFrame]:
    book = fastexcel.read_excel(path)
    return {name: pl.read_excel(path, sheet_name=name) for name in book.sheet_names}


def test_run_workbook_has_every_table(tmp_path: Path) -> None:
    result = api.run(KIREEVA, KZ)
    sheets = _sheets(result.write(tmp_path / "run.xlsx"))
    assert list(sheets) == [
        "results",
        "checks",
        "check failures",
        "warnings",
        "weights",
        "methodology",
    ]
    got = sheets["results"]
    assert got.columns == result.frame.columns and got.height == 32
    for column in ("index", "RIS", "SD"):  # 16 significant digits, not the 6 shown decimals
        assert got[column].to_list() == pytest.approx(result.frame[column].to_list(), rel=1e-15)
    checks = sheets["checks"]
    assert checks["check"].to_list() == [c.check.name for c in result.checks]
    assert checks["failing"].to_list() == [c.failures.height for c in result.checks]
    failures = sheets["check failures"]
    assert failures.height == sum(c.failures.height for c in result.checks)
    assert sheets["warnings"]["message"].to_list() == [w.message for w in result.warnings]
    method = sheets["methodology"]
    sd = method.filter(pl.col("name") == "SD").row(0, named=True)
    assert (
        sd["definition"] == "grp * 1000 / employed"
        and sd["normalisation"] == "leader_share(scale=100)"
    )
    weights = method.filter(pl.col("section") == "group member")
    assert weights.height == 6 and weights["weight"].to_list() == pytest.approx([1 / 3] * 6)
    assert method.filter(pl.col("section") == "convention").height >= 2


def test_comparison_and_sensitivity_are_one_workbook_each(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cmp.xlsx"
    done = runner.invoke(app, ["compare", str(KIREEVA), str(MINMAX), str(KZ), "-q", "-o", str(out)])
    assert done.exit_code == 0, done.stderr
    sheets = _sheets(out)
    assert list(sheets)[:4] == ["comparison", "agreement", "transitions", "differences"]
    assert sheets["comparison"].height == 32
    out = tmp_path / "sa.xlsx"
    args = ["sensitivity", str(KIREEVA), str(KZ), "--replications", "10", "-q", "-o", str(out)]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.xlsx", "sa.xlsx"]
    sheets = _sheets(out)
    assert {"ranks", "sobol", "design", "methodology"} <= set(sheets)
    assert sheets["ranks"].height == 32


def test_text_that_would_run_as_a_formula_is_escaped(tmp_path: Path) -> None:
    frame = pl.DataFrame({"unit": ["=1+1", "@SUM(A1)", "plain"], "x": [-1.5, None, float("nan")]})
    got = _sheets(write_workbook({"a/b:c": frame, "a?b*c": frame}, tmp_path / "t.xlsx"))
    assert list(got) == ["a_b_c", "a_b_c (2)"]
    sheet = got["a_b_c"]
    assert sheet["unit"].to_list() == ["'=1+1", "'@SUM(A1)", "plain"]
    assert sheet["x"].to_list()[0] == -1.5 and sheet["x"].to_list()[1:] == [None, None]


def test_too_many_rows_for_a_sheet(tmp_path: Path) -> None:
    frame = pl.DataFrame({"x": pl.zeros(MAX_ROWS + 1, eager=True)})
    with pytest.raises(UsageError, match="more rows than an Excel sheet holds"):
        write_workbook({"big": frame}, tmp_path / "big.xlsx")
    assert not list(tmp_path.iterdir())
