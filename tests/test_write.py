"""engine.io.write: formats, the protect rule, atomic replacement and formula escaping."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagnostics import Code, UsageError
from engine.io import write as write_module
from engine.io.write import SUPPORTED, write_table

FRAME = pl.DataFrame(
    {
        "unit": ['=HYPERLINK("http://x")', "+1", "-x", "@SUM(A1)", "\tTab", "\rCR", "Akmola"],
        "score": [-1.5, 2.0, 3.25, None, 0.1 + 0.2, 1e-300, 7.0],
        "rank": [1, 2, 3, 4, 5, 6, 7],
    }
)
ESCAPED = ['\'=HYPERLINK("http://x")', "'+1", "'-x", "'@SUM(A1)", "'\tTab", "'\rCR", "Akmola"]


def test_csv_is_utf8_without_bom_and_escapes_only_text(tmp_path):
    path = write_table(FRAME.with_columns(label=pl.lit("Акмола")), tmp_path / "r.csv")
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and "Акмола".encode() in data
    back = pl.read_csv(path, infer_schema=False)
    assert back.get_column("unit").to_list() == ESCAPED
    assert back.get_column("score").to_list()[0] == "-1.5"  # a number is not escaped


def test_xlsx_escapes_and_never_writes_formulas(tmp_path):
    path = write_table(FRAME, tmp_path / "r.xlsx")
    back = pl.read_excel(path)
    assert back.get_column("unit").to_list() == ESCAPED
    assert back.get_column("score").to_list()[:3] == [-1.5, 2.0, 3.25]


def test_json_is_a_list_of_records_and_parquet_keeps_types(tmp_path):
    records = json.loads(write_table(FRAME, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert records[0] == {"unit": FRAME.item(0, "unit"), "score": -1.5, "rank": 1}
    back = pl.read_parquet(write_table(FRAME, tmp_path / "r.parquet"))
    assert back.equals(FRAME)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_csv_floats_round_trip_exactly(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("f") / "r.csv"
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    back = pl.read_csv(write_table(frame, path), schema={"x": pl.Float64})
    assert back.get_column("x").to_list() == values


@pytest.mark.parametrize("name", ["r.txt", "r.xls", "r"])
def test_unknown_extension_lists_supported_ones(tmp_path, name):
    with pytest.raises(UsageError) as caught:
        write_table(FRAME, tmp_path / name)
    (d,) = caught.value.diagnostics
    assert d.code == Code.USAGE and all(s in d.expected for s in SUPPORTED)
    assert not (tmp_path / name).exists()


def test_inputs_are_never_overwritten_even_by_another_spelling(tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_text("region,gdp\nA,1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    monkeypatch.chdir(tmp_path / "sub")
    for spelling in (data, Path("../data.csv"), link):
        with pytest.raises(UsageError) as caught:
            write_table(FRAME, spelling, protect=[data])
        assert caught.value.diagnostics[0].code == Code.USAGE
        assert "overwrite" in caught.value.diagnostics[0].message
    assert data.read_text(encoding="utf-8") == "region,gdp\nA,1\n"
    assert write_table(FRAME, Path("../out.csv"), protect=[data]).exists()


def test_failed_write_leaves_previous_file_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    write_table(FRAME, path)
    before = path.read_bytes()

    def broken(frame, target):
        Path(target).write_text("half a ta", encoding="utf-8")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(write_module._WRITERS, ".csv", broken)
    with pytest.raises(RuntimeError):
        write_table(FRAME, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["r.csv"]


def test_unwritable_type_fails_cleanly(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(pl.exceptions.PolarsError):
        write_table(pl.DataFrame({"nested": [[1, 2]]}), path)
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["r.csv"]


def test_missing_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as caught:
        write_table(FRAME, tmp_path / "no" / "r.csv")
    assert "cannot write" in caught.value.diagnostics[0].message


def test_directory_target_is_a_usage_error(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(UsageError):
        write_table(FRAME, tmp_path / "d.csv")


def test_written_file_has_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_table(FRAME, tmp_path / "r.parquet")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_check_target_runs_the_same_rules_before_any_work(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x\n", encoding="utf-8")
    assert write_module.check_target(tmp_path / "out.xlsx", protect=[data]) == tmp_path / "out.xlsx"
    for bad in (data, tmp_path / "out.ods", tmp_path):
        with pytest.raises(UsageError):
            write_module.check_target(bad, protect=[data])
    assert not (tmp_path / "out.xlsx").exists()
