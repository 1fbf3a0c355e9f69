"""engine.io.read: periods, typographic numbers, id spaces, sheets, title rows, markers.

Issue 15 item 5 (integral float periods, U+2212, NBSP/thin-space thousands, id spaces,
every bad cell at once) and the reading half of issue 12 item 4 (sheet by name or
index, the sheets listed on a miss, title rows above the header, yearbook markers).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from engine.cli import app
from engine.diagnostics import Code, DataError, Diagnostic, Severity
from engine.io.read import IdSpaces, ReadOptions, header_of, load_data


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(paths: list[Path], **kwargs: object) -> tuple[Diagnostic, ...]:
    with pytest.raises(DataError) as caught:
        load_data(paths, **kwargs)  # type: ignore[arg-type]
    return caught.value.diagnostics


def one(found: tuple[Diagnostic, ...], code: Code) -> Diagnostic:
    hits = [d for d in found if d.code == code]
    assert len(hits) == 1, [d.render() for d in found]
    return hits[0]


KEYS = {"keys": ["region", "year"], "numeric": ["gdp"], "period": "year"}

# ------------------------------------------------------------------ periods


def test_integral_float_periods_in_text_are_periods(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "region,year,gdp\nA,2010.0,1\nA,2014,2\nB,2010.00,3\n")
    frame = load_data([path], **KEYS).frame  # type: ignore[arg-type]
    assert frame.schema["year"] == pl.Int64
    assert frame.rows() == [("A", 2010, 1.0), ("A", 2014, 2.0), ("B", 2010, 3.0)]


def test_non_integral_periods_are_errors_naming_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "region,year,gdp\nA,2010.5,1\nA,2014,2\nB,2010.5,3\n")
    d = one(errors([path], **KEYS), Code.BAD_PERIOD)
    assert "'year'" in d.message and "lines 2, 4" in d.message and "'2010.5' ×2" in d.message


def test_float_periods_in_parquet(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pl.DataFrame({"region": ["A", "B"], "year": [2010.0, 2010.0], "gdp": [1.0, 2.0]}).write_parquet(
        good
    )
    assert load_data([good], **KEYS).frame.schema["year"] == pl.Int64  # type: ignore[arg-type]
    bad = tmp_path / "bad.parquet"
    pl.DataFrame(
        {"region": ["A", "B"], "year": [2010.0, 2010.25], "gdp": [1.0, 2.0]}
    ).write_parquet(bad)
    d = one(errors([bad], **KEYS), Code.BAD_PERIOD)
    assert "record 2" in d.message


def test_text_periods_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "region,year,gdp\nA,2020-Q1,1\nA,2020-Q2,2\n")
    frame = load_data([path], **KEYS).frame  # type: ignore[arg-type]
    assert frame.get_column("year").to_list() == ["2020-Q1", "2020-Q2"]


# ------------------------------------------------------------------ typographic numbers


def test_unicode_minus_is_reported_unless_declared(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "region,gdp\nA,1\nB,\u22125\n")
    d = one(errors([path], keys=["region"], numeric=["gdp"]), Code.NOT_NUMERIC)
    assert "'gdp'" in d.message and "line 3" in d.message and "unicode_minus" in (d.hint or "")
    ok = load_data(
        [path], keys=["region"], numeric=["gdp"], options=ReadOptions(unicode_minus=True)
    )
    assert ok.frame.get_column("gdp").to_list() == [1.0, -5.0]


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009"])
def test_nbsp_and_thin_space_thousands(tmp_path: Path, space: str) -> None:
    path = write(tmp_path, "d.csv", f"region;gdp\nA;1{space}234{space}567\nB;12\n")
    d = one(errors([path], keys=["region"], numeric=["gdp"]), Code.NOT_NUMERIC)
    assert "line 2" in d.message and "thousands" in (d.hint or "")
    ok = load_data([path], keys=["region"], numeric=["gdp"], options=ReadOptions(thousands=" "))
    assert ok.frame.get_column("gdp").to_list() == [1234567.0, 12.0]


def test_a_cell_with_both_typographic_marks_gets_both_hints(tmp_path: Path) -> None:
    """One column with a U+2212 minus and a no-break-space thousands separator: one
    error naming both lines, and a hint for each option, as the API and the CLI spell it."""
    path = write(tmp_path, "d.csv", "region,gdp\nA,\u22125\nB,1\u00a0234\nC,7\n")
    d = one(errors([path], keys=["region"], numeric=["gdp"]), Code.NOT_NUMERIC)
    assert "'gdp'" in d.message and "lines 2, 3" in d.message
    hint = d.hint or ""
    assert "thousands=' ' (--thousands ' ')" in hint and "unicode_minus=True" in hint
    assert "(--unicode-minus)" in hint
    ok = load_data([path], keys=["region"], numeric=["gdp"], options=ReadOptions(thousands=" "))
    assert ok.frame.get_column("gdp").to_list() == [-5.0, 1234.0, 7.0]  # minus read too


def test_every_bad_cell_of_every_column_and_file_at_once(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "region,gdp,emp\nA,x,1\nB,2,y\nC,z,w\n")
    b = write(tmp_path, "b.csv", "region,gdp,emp\nD,q,1\n")
    found = errors([a, b], keys=["region"], numeric=["gdp", "emp"])
    bad = {(d.location.file, d.message.split("'")[1]): d.message for d in found}
    assert len(bad) == 3 and all(d.code == Code.NOT_NUMERIC for d in found)
    assert "lines 3, 4" in bad[(str(a), "emp")] and "lines 2, 4" in bad[(str(a), "gdp")]
    assert "line 2" in bad[(str(b), "gdp")]


# ------------------------------------------------------------------ id spaces


def test_id_spaces_trimmed_with_a_warning_or_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", 'region,gdp\n" A",1\nB ,2\nC,3\n')
    loaded = load_data([path], keys=["region"], numeric=["gdp"])
    assert loaded.frame.get_column("region").to_list() == ["A", "B", "C"]
    (w,) = loaded.warnings
    assert w.code == Code.ID_SPACES and w.severity == Severity.WARNING
    assert "lines 2, 3" in w.message and "(--id-spaces keep)" in (w.hint or "")
    kept = load_data(
        [path], keys=["region"], numeric=["gdp"], options=ReadOptions(id_spaces=IdSpaces.KEEP)
    )
    assert kept.frame.get_column("region").to_list() == [" A", "B ", "C"]
    assert kept.warnings == ()


def test_kept_spaces_make_different_units(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", 'region,gdp\n"A ",1\nA,2\n')
    keep = ReadOptions(id_spaces=IdSpaces.KEEP)
    assert load_data([path], keys=["region"], numeric=["gdp"], options=keep).frame.height == 2
    one(errors([path], keys=["region"], numeric=["gdp"]), Code.DUPLICATE_ROW)


# ------------------------------------------------------------------ title rows, quoting


def test_title_lines_above_the_header_keep_line_numbers(tmp_path: Path) -> None:
    text = "Table 7. Gross regional product\n(million tenge)\nregion,gdp\nA,1\nB,x\n"
    path = write(tmp_path, "d.csv", text)
    assert header_of(path, ReadOptions(skip_rows=2)) == ("region", "gdp")
    d = one(
        errors([path], keys=["region"], numeric=["gdp"], options=ReadOptions(skip_rows=2)),
        Code.NOT_NUMERIC,
    )
    assert "line 5" in d.message


def test_quoted_delimiters_are_not_ragged_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", 'region,label,gdp\n"Almaty, city","a ""b"", c",1\n')
    frame = load_data([path], keys=["region"], numeric=["gdp"], text=["label"]).frame
    assert frame.rows() == [("Almaty, city", 'a "b", c', 1.0)]


def test_short_line_after_a_quoted_line_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", 'region,label,gdp\n"A, x",y,1\nB,2\n')
    d = one(errors([path], keys=["region"], numeric=["gdp"], text=["label"]), Code.DATA_FILE)
    assert "3 (2 fields)" in d.message


def test_arrow_ipc_files(tmp_path: Path) -> None:
    path = tmp_path / "d.feather"
    pl.DataFrame({"region": ["A", "B"], "gdp": [1.5, None], "other": [1, 2]}).write_ipc(path)
    assert header_of(path) == ("region", "gdp", "other")
    frame = load_data([path], keys=["region"], numeric=["gdp"]).frame
    assert frame.rows() == [("A", 1.5), ("B", None)]


# ------------------------------------------------------------------ Excel


def yearbook_workbook(path: Path) -> Path:
    """Two sheets; the data sheet has two title rows and yearbook markers."""
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet("Notes").write(0, 0, "about")
        sheet = book.add_worksheet("Data")
        rows = [
            ["Table 7. Gross regional product"],
            ["(million tenge)"],
            ["region", "gdp"],
            ["A", 1.5],
            ["B", "-"],
            ["C", ".."],
            ["D", "n/a"],
            ["E", "x"],
        ]
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                sheet.write(r, c, v)
    return path


def test_excel_sheet_by_index_title_rows_and_markers(tmp_path: Path) -> None:
    path = yearbook_workbook(tmp_path / "y.xlsx")
    options = ReadOptions(sheet=1, skip_rows=2, missing=("", "-", "..", "n/a"))
    d = one(errors([path], keys=["region"], numeric=["gdp"], options=options), Code.NOT_NUMERIC)
    assert "row 8" in d.message and "'x'" in d.message  # rows as numbered in the sheet
    assert "'-'" not in d.message and "'n/a'" not in d.message
    named = ReadOptions(sheet="Data", skip_rows=2, missing=("", "-", "..", "n/a", "x"))
    frame = load_data([path], keys=["region"], numeric=["gdp"], options=named).frame
    assert frame.rows() == [("A", 1.5), ("B", None), ("C", None), ("D", None), ("E", None)]


@pytest.mark.parametrize("sheet", ["Dta", 5])
def test_excel_sheet_miss_lists_the_sheets(tmp_path: Path, sheet: str | int) -> None:
    path = yearbook_workbook(tmp_path / "y.xlsx")
    d = one(
        errors([path], keys=["region"], numeric=["gdp"], options=ReadOptions(sheet=sheet)),
        Code.DATA_FILE,
    )
    assert "0: 'Notes'" in d.message and "1: 'Data'" in d.message


def test_cli_reads_a_yearbook_sheet(tmp_path: Path) -> None:
    path = yearbook_workbook(tmp_path / "y.xlsx")
    yaml = tmp_path / "m.yaml"
    yaml.write_text(
        "indexlab: 1\nid: t\ntitle: T\n"
        "data: {unit: region}\n"
        "inputs: {gdp: {}}\n"
        "indicators: {g: {formula: gdp}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    args = ["run", str(yaml), str(path), "-q", "-o", str(out), "--sheet-index", "1"]
    args += ["--skip-rows", "2", "--missing", "-", "--missing", "n/a", "--missing", "x"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out).get_column("g").to_list() == [1.5, None, None, None, None]
    both = CliRunner().invoke(app, [*args, "--sheet", "Data"])
    assert both.exit_code == 2
