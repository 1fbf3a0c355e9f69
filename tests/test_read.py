"""engine.io.read: every hazard of hazards.md §4 gives the right value or the right diagnostic."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagnostics import Code, DataError, Diagnostic, Severity, UsageError
from engine.io.read import Loaded, ReadOptions, load_data
from engine.io.write import write_table

DATA = Path(__file__).parent / "data" / "read"
YB = {"decimal": ",", "thousands": " "}
YEARBOOK = ReadOptions(**YB)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def load(paths, keys=("region",), numeric=("gdp",), text=(), **options) -> Loaded:
    paths = paths if isinstance(paths, list) else [paths]
    return load_data(paths, keys=keys, numeric=numeric, text=text, options=ReadOptions(**options))


def problems(paths, **kwargs) -> tuple[Diagnostic, ...]:
    with pytest.raises(DataError) as caught:
        load(paths, **kwargs)
    return caught.value.diagnostics


def only(diagnostics, code: Code) -> Diagnostic:
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, [d.render() for d in diagnostics]
    return found[0]


# ------------------------------------------------------------------ encodings, delimiters


def test_yearbook_file_utf8_bom_semicolon_decimal_comma_nbsp_minus_markers():
    loaded = load(
        DATA / "yearbook_bom.csv",
        keys=("регион", "год"),
        numeric=("занятые", "ВРП"),
        decimal=",",
        thousands=" ",
    )
    frame = loaded.frame
    assert frame.columns == ["регион", "год", "занятые", "ВРП"]
    assert frame.schema["год"] == pl.Int64
    assert frame.schema["занятые"] == pl.Float64
    assert frame.rows() == [
        ("Акмолинская", 2020, 1234.5, 585965.4),
        ("Актюбинская", 2020, -5.25, None),
        ("Алматы, город", 2020, 12.0, None),
    ]
    assert loaded.warnings == ()


def test_cp1251_decoded_when_declared_and_an_error_naming_the_line_when_not():
    path = DATA / "yearbook_cp1251.csv"
    loaded = load(path, keys=("регион",), numeric=("занятые",), **YB, encoding="cp1251")
    assert loaded.frame.get_column("регион").to_list()[0] == "Акмолинская"
    d = only(problems(path, keys=("регион",), numeric=("занятые",)), Code.DATA_FILE)
    assert "not valid utf-8" in d.message and d.location.line == 1
    assert "cp1251" in d.hint


def test_utf16_with_bom_is_decoded(tmp_path):
    frame = load(DATA / "excel_unicode.txt").frame
    assert frame.rows() == [("Akmola", 1.5), ("Aktobe", 2.0)]


def test_plain_utf8_cyrillic_and_tab_delimiter(tmp_path):
    path = write(tmp_path, "d.tsv", "регион\tgdp\nАкмола\t1.5\n")
    assert load(path, keys=("регион",)).frame.rows() == [("Акмола", 1.5)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_sniffed(tmp_path, delimiter):
    path = write(tmp_path, "d.csv", f"region{delimiter}gdp\nA{delimiter}1\n")
    assert load(path).frame.rows() == [("A", 1.0)]


def test_ambiguous_delimiter_is_an_error_with_a_hint(tmp_path):
    path = write(tmp_path, "d.csv", "region;gdp, bn\nA;1\n")
    d = only(problems(path), Code.DATA_FILE)
    assert "delimiter" in d.message and "';'" in d.message and "','" in d.message
    assert d.location.line == 1
    assert load(path, numeric=("gdp, bn",), delimiter=";").frame.rows() == [("A", 1.0)]


def test_ragged_lines_are_reported_with_their_numbers():
    d = only(problems(DATA / "ragged.csv"), Code.DATA_FILE)
    assert str(DATA / "ragged.csv") == d.location.file
    assert "2 (4 fields)" in d.message and "4 (2 fields)" in d.message
    assert "header has 3" in d.message and d.location.line == 2


# ------------------------------------------------------------------ numbers


def test_text_in_numeric_column_names_column_lines_and_tokens(tmp_path):
    body = "".join(f"U{i},{'n/a' if i in (3, 7) else i}\n" for i in range(1, 10))
    path = write(tmp_path, "d.csv", "region,gdp\n" + body + "U10,x\n")
    d = only(problems(path), Code.NOT_NUMERIC)
    assert "'gdp'" in d.message
    assert "lines 4, 8, 11" in d.message
    assert "'n/a' ×2" in d.message and "'x'" in d.message
    assert d.location.file == str(path) and d.location.line == 4


def test_many_bad_cells_are_summarised(tmp_path):
    path = write(tmp_path, "d.csv", "region,gdp\n" + "".join(f"U{i},x{i % 7}\n" for i in range(25)))
    d = only(problems(path), Code.NOT_NUMERIC)
    assert "and 15 more" in d.message and "and 2 more" in d.message  # lines, tokens


def test_missing_markers_become_null(tmp_path):
    path = write(tmp_path, "d.csv", "region,gdp\nA,NA\nB,..\nC,…\nD,\nE, N/A \nF,-\n")
    assert (
        load(path, missing=("", "NA", "N/A", "..", "…", "-")).frame.get_column("gdp").null_count()
        == 6
    )


@pytest.mark.parametrize("token", ["NaN", "nan", "inf", "-inf", "Infinity", "1e400"])
def test_non_finite_tokens_are_rejected(tmp_path, token):
    path = write(tmp_path, "d.csv", f"region,gdp\nA,1\nB,{token}\n")
    d = only(problems(path), Code.NOT_FINITE)
    assert "'gdp'" in d.message and "line 3" in d.message


@pytest.mark.parametrize(
    ("token", "options", "value"),
    [
        ("1 234,5", YEARBOOK, 1234.5),
        ("1\u00a0234\u00a0567,25", YEARBOOK, 1234567.25),
        ("\u22120,7", YEARBOOK, -0.7),
        ("1,234.5", ReadOptions(thousands=","), 1234.5),
        ("1'234.5", ReadOptions(thousands="'"), 1234.5),
        ("1.234,5", ReadOptions(decimal=",", thousands="."), 1234.5),
        ("  -12  ", ReadOptions(), -12.0),
        ("+3e2", ReadOptions(), 300.0),
    ],
)
def test_number_conventions(tmp_path, token, options, value):
    path = write(tmp_path, "d.csv", f'region;gdp\nA;"{token}"\n')
    frame = load_data([path], keys=["region"], numeric=["gdp"], options=options).frame
    assert frame.item(0, "gdp") == value


@pytest.mark.parametrize(
    ("token", "options"),
    [
        ("1,5", ReadOptions(thousands=",")),  # not a 3-digit group: never 15
        ("1 23,5", YEARBOOK),
        ("1.234", ReadOptions(decimal=",")),  # a point with a decimal comma is not guessed
        ("1,5", ReadOptions()),
        ("12%", ReadOptions()),
    ],
)
def test_ambiguous_numbers_are_not_guessed(tmp_path, token, options):
    path = write(tmp_path, "d.csv", f'region;gdp\nA;"{token}"\n')
    with pytest.raises(DataError) as caught:
        load_data([path], keys=["region"], numeric=["gdp"], options=options)
    assert only(caught.value.diagnostics, Code.NOT_NUMERIC)


def test_decimal_comma_hint(tmp_path):
    path = write(tmp_path, "d.csv", "region;gdp\nA;0,70\n")
    assert "decimal=','" in only(problems(path), Code.NOT_NUMERIC).hint


@settings(max_examples=60, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_yearbook_format_round_trips(tmp_path_factory, x):
    whole, _, frac = f"{abs(x):.6f}".partition(".")
    groups = f"{int(whole):,}".replace(",", "\u00a0")
    token = ("\u2212" if x < 0 else "") + groups + "," + frac
    path = write(tmp_path_factory.mktemp("y"), "d.csv", f"region;gdp\nA;{token}\n")
    got = load_data([path], keys=["region"], numeric=["gdp"], options=YEARBOOK).frame
    assert math.isclose(got.item(0, "gdp"), float(f"{x:.6f}"), rel_tol=1e-15, abs_tol=1e-6)


# ------------------------------------------------------------------ keys and headers


def test_duplicate_rows_name_key_values_and_lines(tmp_path):
    path = write(tmp_path, "d.csv", "region,year,gdp\nA,2020,1\nB,2020,2\nA,2020,3\nA,2021,4\n")
    d = only(problems(path, keys=("region", "year")), Code.DUPLICATE_ROW)
    assert "region='A'" in d.message and "year='2020'" in d.message
    assert "lines 2, 4" in d.message and d.location.line == 2


def test_keys_are_stripped_and_nfc_normalised_before_duplicate_check(tmp_path):
    path = write(tmp_path, "d.csv", "region,gdp\nCafe\u0301,1\n Café ,2\n")
    assert only(problems(path), Code.DUPLICATE_ROW)


def test_empty_and_control_character_keys(tmp_path):
    path = write(tmp_path, "d.csv", 'region,gdp\n,1\n"North\nKazakhstan",2\nB,3\n  ,4\n')
    found = [d for d in problems(path) if d.code == Code.MISSING_KEY]
    assert len(found) == 2
    empty, control = found
    assert "empty" in empty.message and "lines 2, 6" in empty.message
    assert "control" in control.message and "line 3" in control.message


def test_quoted_newline_keeps_later_line_numbers(tmp_path):
    path = write(tmp_path, "d.csv", 'region,label,gdp\nA,"two\nlines",1\nB,x,oops\n')
    d = only(problems(path, text=("label",)), Code.NOT_NUMERIC)
    assert "line 4" in d.message


def test_blank_lines_are_skipped_but_counted(tmp_path):
    path = write(tmp_path, "d.csv", "region,gdp\r\nA,1\r\n\r\nB,bad\r\n\r\n")
    d = only(problems(path), Code.NOT_NUMERIC)
    assert "line 4" in d.message


def test_integer_like_keys_only_become_int_when_plain(tmp_path):
    path = write(tmp_path, "d.csv", "code,year,gdp\n01,2020,1\n02,2021,2\n")
    frame = load(path, keys=("code", "year")).frame
    assert frame.schema["code"] == pl.String and frame.schema["year"] == pl.Int64
    assert frame.get_column("code").to_list() == ["01", "02"]


def test_mixed_script_ids_warn_without_raising(tmp_path):
    path = write(tmp_path, "d.csv", "region,gdp\n\u0410kmola,1\nAkmola,2\n")
    loaded = load(path)
    assert loaded.frame.height == 2
    (w,) = loaded.warnings
    assert w.severity == Severity.WARNING and "line 2" in w.message and "Cyrillic" in w.message


def test_missing_columns_of_all_files_reported_at_once_with_did_you_mean(tmp_path):
    a = write(tmp_path, "a.csv", "regoin,gdp\nA,1\n")
    b = write(tmp_path, "b.csv", "region,employd\nA,1\n")
    found = problems([a, b], numeric=("gdp", "employed"))
    missing = [d for d in found if d.code == Code.MISSING_COLUMN]
    assert len(missing) == 2
    key, column = missing
    assert key.location.file == str(a) and "'region'" in key.message
    assert "regoin, gdp" in key.message and key.hint == "did you mean 'regoin'?"
    assert "'employed'" in column.message and column.hint == "did you mean 'employd'?"


def test_header_problems(tmp_path):
    dup = write(tmp_path, "dup.csv", "region,gdp,gdp\nA,1,2\n")
    assert "'gdp' appears 2 times" in only(problems(dup), Code.DATA_FILE).message
    empty = write(tmp_path, "empty.csv", "region,gdp,\nA,1,\n")
    d = only(problems(empty), Code.DATA_FILE)
    assert "empty column name in column 3" in d.message and "trailing" in d.hint


def test_excel_made_up_header_is_rejected(tmp_path):
    path = tmp_path / "merged.xlsx"
    write_table(pl.DataFrame({"region": ["A"], "__UNNAMED__1": ["x"], "gdp": [1.0]}), path)
    d = only(problems(path), Code.DATA_FILE)
    assert "__UNNAMED__1" in d.message and "header row" in d.hint


def test_files_problems(tmp_path):
    found = problems(
        [
            tmp_path / "none.csv",
            write(tmp_path, "d.xls", "x"),
            write(tmp_path, "e.csv", ""),
            write(tmp_path, "h.csv", "region,gdp\n"),
        ]
    )
    assert [d.code for d in found] == [Code.DATA_FILE] * 4
    messages = " | ".join(d.message for d in found)
    assert "not found" in messages and "'.xls'" in messages
    assert "empty" in messages and "no data rows" in messages


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError):
        ReadOptions(decimal=",", thousands=",")
    with pytest.raises(UsageError):
        ReadOptions(thousands="_")


# ------------------------------------------------------------------ other formats


FRAME = pl.DataFrame(
    {
        "region": ["Акмола", "=cmd", "B"],
        "year": [2020, 2020, 2021],
        "label": ["x", None, "-y"],
        "gdp": [0.1 + 0.2, -1.5, None],
    }
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".json"])
def test_round_trip_through_write_table(tmp_path, suffix):
    path = write_table(FRAME, tmp_path / f"out{suffix}")
    frame = load(path, keys=("region", "year"), numeric=("gdp",), text=("label",)).frame
    escaped = suffix in (".csv", ".xlsx")  # the formula escape is visible on reading back
    expected = FRAME.with_columns(
        region=pl.Series(["Акмола", "'=cmd" if escaped else "=cmd", "B"]),
        label=pl.Series(["x", None, "'-y" if escaped else "-y"]),
    )
    assert frame.schema == expected.schema
    assert frame.drop("gdp").rows() == expected.drop("gdp").rows()
    gdp = frame.get_column("gdp").to_list()
    if suffix == ".xlsx":  # xlsxwriter stores 16 significant digits
        assert gdp[0] == pytest.approx(0.3, rel=1e-15) and gdp[1:] == [-1.5, None]
    else:
        assert gdp == [0.1 + 0.2, -1.5, None]


def test_parquet_nan_is_not_finite(tmp_path):
    path = tmp_path / "d.parquet"
    pl.DataFrame({"region": ["A", "B"], "gdp": [1.0, float("nan")]}).write_parquet(path)
    d = only(problems(path), Code.NOT_FINITE)
    assert "record 2" in d.message


def test_excel_text_cells_parsed_and_bools_rejected(tmp_path):
    import xlsxwriter

    path = tmp_path / "d.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet("Data")
        for r, row in enumerate(
            [["region", "gdp"], ["A", "1 234,5"], ["B", 1 / 3], [None, None], ["C", True], ["D", 2]]
        ):
            for c, v in enumerate(row):
                if v is not None:
                    sheet.write(r, c, v)
    d = only(problems(path, sheet="Data", **YB), Code.NOT_NUMERIC)
    assert "row 5" in d.message and "'true'" in d.message
    with pytest.raises(DataError) as caught:
        load(path, sheet="Dat")
    assert caught.value.diagnostics[0].hint == "did you mean 'Data'?"


def test_excel_keeps_exact_floats(tmp_path):
    path = tmp_path / "d.xlsx"
    write_table(pl.DataFrame({"region": ["A"], "gdp": [1 / 3]}), path)
    assert load(path).frame.item(0, "gdp") == pytest.approx(1 / 3, rel=1e-15)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rec.json", '[{"region": "A", "gdp": 1}, {"region": "B", "gdp": "n/a"}]'),
        ("col.json", '{"region": ["A", "B"], "gdp": [1, null]}'),
        ("rows.ndjson", '{"region": "A", "gdp": 1}\n\n{"region": "B"}\n'),
    ],
)
def test_json_shapes(tmp_path, name, text):
    path = write(tmp_path, name, text)
    assert load(path, missing=("n/a",)).frame.rows() == [("A", 1.0), ("B", None)]


@pytest.mark.parametrize(
    ("text", "code", "part"),
    [
        ('[{"region": "A", "gdp": 1, "gdp": 2}]', Code.DATA_FILE, "duplicate key"),
        ('[{"region": "A", "gdp": NaN}]', Code.DATA_FILE, "NaN"),
        ('[{"region": "A", "gdp": true}, {"region": "B", "gdp": 1}]', Code.NOT_NUMERIC, "true"),
        ('"just text"', Code.DATA_FILE, "list of records"),
    ],
)
def test_json_hazards(tmp_path, text, code, part):
    d = only(problems(write(tmp_path, "d.json", text)), code)
    assert part in d.message


# ------------------------------------------------------------------ several files


def test_files_with_same_columns_stack_and_others_join(tmp_path):
    a = write(tmp_path, "a.csv", "region,year,gdp\nA,2020,1\nB,2020,2\n")
    b = write(tmp_path, "b.csv", "year,region,gdp\n2021,A,3\n")
    c = write(tmp_path, "c.csv", "region;year;employed;name\nA;2020;10;Alpha\nC;2021;30;Gamma\n")
    frame = load(
        [a, b, c], keys=("region", "year"), numeric=("gdp", "employed"), text=("name",)
    ).frame
    assert frame.columns == ["region", "year", "name", "gdp", "employed"]
    assert sorted(frame.rows(), key=str) == sorted(
        [
            ("A", 2020, "Alpha", 1.0, 10.0),
            ("B", 2020, None, 2.0, None),
            ("A", 2021, None, 3.0, None),
            ("C", 2021, "Gamma", None, 30.0),
        ],
        key=str,
    )


def test_duplicates_across_stacked_files_name_both(tmp_path):
    a = write(tmp_path, "a.csv", "region,gdp\nA,1\n")
    b = write(tmp_path, "b.csv", "region,gdp\nB,1\nA,2\n")
    d = only(problems([a, b]), Code.DUPLICATE_ROW)
    assert f"{a} line 2" in d.message and f"{b} line 3" in d.message


def test_column_in_two_different_groups_is_ambiguous(tmp_path):
    a = write(tmp_path, "a.csv", "region,gdp\nA,1\n")
    b = write(tmp_path, "b.csv", "region,gdp,employed\nA,1,2\n")
    d = only(problems([a, b], numeric=("gdp", "employed")), Code.DATA_FILE)
    assert "'gdp'" in d.message and str(a) in d.message and str(b) in d.message


def test_all_problems_of_all_files_in_one_error(tmp_path):
    a = write(tmp_path, "a.csv", "region,gdp\nA,x\n")
    b = write(tmp_path, "b.csv", "region,gdp\nB,inf\nB,1\n")
    codes = sorted(d.code for d in problems([a, b]))
    assert codes == sorted([Code.NOT_NUMERIC, Code.NOT_FINITE, Code.DUPLICATE_ROW])


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(6)))
def test_row_order_changes_nothing_but_order(tmp_path_factory, order):
    rows = [f"U{i},{i * 1.25}\n" for i in range(6)]
    body = "region,gdp\n" + "".join(rows[i] for i in order)
    path = write(tmp_path_factory.mktemp("p"), "d.csv", body)
    frame = load(path).frame.sort("region")
    assert frame.get_column("gdp").to_list() == [i * 1.25 for i in range(6)]
