"""Terminal output: tables fit 80 columns, one format per column, one style for levels,
comparisons summary first with classes in their declared order, progress only on a tty."""

from __future__ import annotations

import io
import math
import re
import statistics
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from engine import api
from engine.cli import app
from engine.report import terminal
from engine.report.format import Kind, column_texts, decimals_of, kind_of

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies/kireeva.yaml"
TOPSIS = ROOT / "methodologies/kireeva-topsis.yaml"
KZ = ROOT / "examples/kazakhstan/regions.csv"
IT = ROOT / "examples/kazakhstan/it_share_table7.csv"
HDI = ROOT / "methodologies/undp-hdi.yaml"
HDI_DATA = ROOT / "examples/undp-hdi/input.csv"

TABLE_LINE = re.compile(r"^[┏┃┡│└┗╇┠┼━─]")


def _console(width: int = 80) -> Console:
    return Console(width=width, record=True, file=io.StringIO(), soft_wrap=False)


def _lines(console: Console) -> list[str]:
    return console.export_text().splitlines()


def _assert_fits(lines: list[str], width: int) -> None:
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide[:3]
    # every table row closes its frame on the same column
    for line in lines:
        if line.startswith(("┏", "┃", "┡", "│", "└")):
            assert line.rstrip()[-1] in "┓┃┩│┘", line


@pytest.mark.parametrize("width", [60, 80, 120])
def test_run_tables_fit_the_width(width: int) -> None:
    result = api.run(KIREEVA, [KZ, IT])
    console = _console(width)
    terminal.print_result(result, console)
    lines = _lines(console)
    _assert_fits(lines, width)
    text = "\n".join(lines)
    assert "Almaty" in text and "B++" in text
    if width == 60:
        assert "not shown at this width" in text


def test_compare_fits_and_puts_the_summary_first_and_the_diff_last() -> None:
    c = api.compare([KIREEVA, TOPSIS], KZ)
    console = _console(80)
    terminal.print_comparison(c, console=console)
    lines = _lines(console)
    _assert_fits(lines, 80)
    text = "\n".join(lines)
    assert text.index("Summary") < text.index("Index, rank and class") < text.index("Class trans")
    assert "differences in meaning (--diff" in lines[-1] or "--diff" in text.splitlines()[-2]
    assert "input labour_productivity: removed" not in text
    console = _console(80)
    terminal.print_comparison(c, diff=True, console=console)
    text = console.export_text()
    assert text.index("Class transitions") < text.index("input labour_productivity: removed")


def test_quantile_classes_keep_their_declared_order() -> None:
    """Q2 before Q10: the methodology's order, not the alphabet."""
    deciles = ", ".join(f"Q{k}" for k in range(1, 11))
    text = TOPSIS.read_text(encoding="utf-8").replace(
        "quantiles: [Q1, Q2, Q3, Q4, Q5]", f"quantiles: [{deciles}]"
    )
    text = text.replace("id: kireeva-topsis", "id: topsis-deciles")
    assert f"[{deciles}]" in text
    c = api.compare([TOPSIS, text], KZ)
    t = c.transitions[-1]
    labels = [f"Q{k}" for k in range(1, 11)]
    assert t.matrix.columns[1:] == labels
    assert t.matrix[t.matrix.columns[0]].to_list() == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    console = _console(120)
    terminal.print_comparison(c, console=console)
    header = next(line for line in _lines(console) if "1 \\ 2" in line)
    assert header.index(" Q2 ") < header.index(" Q10 ")


def test_sensitivity_tables_fit() -> None:
    s = api.sensitivity(KIREEVA, KZ, replications=12, seed=3)
    console = _console(80)
    terminal.print_sensitivity(s.analysis, s.analytic, s.nominal.methodology, console)
    _assert_fits(_lines(console), 80)


def _decimals_by_hand(values: list[float | None], kind: Kind, significant: int) -> int:
    """The module docstring's rule, in plain Python: a rank keeps one decimal when a
    non-NaN value is not whole; raw values take none when every finite one is whole, else
    `significant` digits at the median size of the finite non-zero ones (at most 6)."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    if kind is Kind.RANK:
        return 0 if all(math.isinf(v) or v.is_integer() for v in present) else 1
    finite = [v for v in present if math.isfinite(v)]
    if all(v.is_integer() for v in finite):
        return 0
    sizes = [abs(v) for v in finite if v != 0]
    typical = statistics.median(sizes) if sizes else 1.0
    return min(6, max(0, significant - 1 - math.floor(math.log10(typical))))


_CELLS = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 2.0, -7.0, 0.5, math.nan, math.inf, -math.inf]),
    st.floats(-1e12, 1e12, allow_nan=False),
    st.integers(-1000, 1000).map(float),
)


@given(
    values=st.lists(_CELLS, max_size=12),
    kind=st.sampled_from([Kind.RAW, Kind.RANK]),
    significant=st.integers(1, 8),
)
@example(values=[], kind=Kind.RAW, significant=4)
@example(values=[None, math.nan], kind=Kind.RAW, significant=4)
@example(values=[0.0, 0.5, math.inf], kind=Kind.RAW, significant=4)
@example(values=[1.0, 2.5, math.nan], kind=Kind.RANK, significant=4)
def test_decimals_follow_the_rule_computed_by_hand(
    values: list[float | None], kind: Kind, significant: int
) -> None:
    series = pl.Series("x", values, dtype=pl.Float64)
    assert decimals_of(series, kind, significant=significant) == _decimals_by_hand(
        values, kind, significant
    )


def test_a_column_has_one_number_of_decimals() -> None:
    for values, kind in (
        ([12.5, 3.127, 100.0, None], Kind.SCORE),
        ([0.5, 1 / 3, 0.125], Kind.WEIGHT),
        ([1234.5678, 0.5, 17.25], Kind.RAW),
        ([0.0123, 0.00051, 0.2], Kind.RAW),
    ):
        texts = [t for t in column_texts(pl.Series("x", values), kind) if t != "—"]
        decimals = {len(t.split(".")[1]) if "." in t else 0 for t in texts}
        assert len(decimals) == 1, texts
    assert column_texts(pl.Series("x", [1234.5678, 0.5]), Kind.RAW) == ["1,234.6", "0.5"]
    assert column_texts(pl.Series("x", [0.0123, 0.2]), Kind.RAW) == ["0.0123", "0.2000"]
    assert column_texts(pl.Series("shift_a", [1.0, -2.0, 0.0])) == ["+1", "-2", "0"]
    assert column_texts(pl.Series("rank", [1.0, 2.5])) == ["1.0", "2.5"]
    assert kind_of("index_kireeva") is Kind.SCORE and kind_of("effective_weight") is Kind.WEIGHT


def test_checks_have_one_style_per_level() -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["run", str(KIREEVA), str(KZ), str(IT), "-q"])
    assert done.exit_code == 0
    lines = done.stderr.splitlines()
    levels = [line for line in lines if re.match(r"^(warning|error)\[", line)]
    assert levels and all("check" in line or "missing" in line for line in levels)
    assert not any(re.search(r"\bwarning\b.*: ok$", line) for line in lines)
    assert any(line.startswith("checks passed: 1 of 6") for line in lines)


def test_quiet_check_lines_are_the_full_reports_without_its_tables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run -q` prints each failing check as the full report's first line of it, then
    where the rows are, then the same line of passing checks; no table."""
    from engine.report.check_lines import ROWS_HINT, print_check_lines

    result = api.run(KIREEVA, [KZ, IT])
    terminal.print_checks(result)
    full = capsys.readouterr().err.splitlines()
    print_check_lines(result.checks)
    quiet = capsys.readouterr().err.splitlines()
    failing = [c for c in result.checks if not c.passed]
    assert len(failing) == 5 and len(quiet) == len(failing) + 2
    # rich folds a long line at the console's width: compare the words
    starts = [i for i, line in enumerate(full) if line.startswith("warning[check-failed]")]
    for line, start in zip(quiet[: len(failing)], starts, strict=True):
        words = line.split()
        assert " ".join(full[start:]).split()[: len(words)] == words
    assert (
        quiet[-2] == ROWS_HINT
        and quiet[-1] == full[-1] == "checks passed: 1 of 6 (printed_rd_per_employed)"
    )
    assert not any("│" in line for line in quiet)
    print_check_lines([c for c in result.checks if c.passed])
    assert capsys.readouterr().err.splitlines() == [full[-1].replace("of 6", "of 1")]


def test_progress_is_hidden_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with terminal.progress("work") as update:
        update(1, 2)
        update(2, 2)
    assert capsys.readouterr().err == ""


def test_hdi_run_prints_the_last_three_periods_within_80_columns() -> None:
    result = api.run(HDI, HDI_DATA)
    console = _console(80)
    terminal.print_result(result, console)
    lines = _lines(console)
    _assert_fits(lines, 80)
    assert "first 60 of 193 units" in "\n".join(lines)


def test_notebook_tables_format_each_column_as_a_whole() -> None:
    """The HTML tables of a notebook follow the terminal's rule: one number of decimals per
    column (a column of mean ranks showed 1, 2.1 and 4.0 side by side; a raw value of
    192,568.3 showed as 1.926e+05)."""
    import re

    from engine.report.notebook import html_table

    frame = pl.DataFrame(
        {"unit": ["a", "b", "c"], "mean_rank": [1.0, 2.1, 3.95], "grp": [192568.3, 5.2, 1e4]}
    )
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html_table(frame))
    assert cells[1::3] == column_texts(frame["mean_rank"]) == ["1.0", "2.1", "4.0"]
    assert cells[2::3] == column_texts(frame["grp"])
    assert not any("e+" in c for c in cells)


def test_a_failing_checks_two_sides_show_their_difference() -> None:
    """Both sides of a check and their difference are values of one kind: they share one
    number of decimals, enough for the difference (South Kazakhstan's printed 192,568
    against the recomputed 192,569 hid a difference of -1.48)."""
    failures = pl.DataFrame(
        {
            "region": ["South Kazakhstan", "Almaty"],
            "printed": [192568.0, 5000.25],
            "recomputed": [192569.48079, 5000.0],
            "difference": [-1.48079, 0.25],
        }
    )
    console = _console()
    table = terminal.frame_table(
        failures, left=["region"], significant=6, together=failures.columns[1:]
    )
    console.print(table)
    rows = [line for line in _lines(console) if line.startswith("│")]
    cells = [c.strip() for row in rows for c in row.strip("│").split("│")[1:]]
    assert len({len(c.split(".")[1]) for c in cells}) == 1, cells  # one number of decimals
    assert cells[:3] == ["192,568.000000", "192,569.480790", "-1.480790"], cells
