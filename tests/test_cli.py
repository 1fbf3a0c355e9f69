"""The ``indexlab`` command: exit codes, outputs, and diagnostics a researcher can act on.

Most tests drive ``engine.cli.app`` in-process through typer's CliRunner (stdout and
stderr captured separately); one runs the installed console script as a real process.
Expected index values come from the paper's printed table 6, not from indexlab itself.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from engine.cli import app

ROOT = Path(__file__).resolve().parents[1]
METHODOLOGY = ROOT / "methodologies" / "kireeva.yaml"
DATA = ROOT / "examples" / "kazakhstan" / "regions.csv"
PUBLISHED = ROOT / "examples" / "kazakhstan" / "published_table6.csv"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_clean_failure(result: Result, code: int = 1) -> None:
    """Exit `code`, no traceback, no unexpected exception escaped the command."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr


def regions() -> tuple[list[str], list[dict[str, str]]]:
    with DATA.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_on(path: Path, tmp_path: Path, *extra: str) -> Result:
    return invoke("run", METHODOLOGY, path, "-q", "-o", tmp_path / "out.csv", *extra)


# --------------------------------------------------------------------------- validate, schema


def test_validate_paper_methodology_ok() -> None:
    result = invoke("validate", METHODOLOGY)
    assert result.exit_code == 0, result.stderr
    assert "ok" in result.stdout
    assert "6 indicators" in result.stdout and "2 groups" in result.stdout


def test_schema_prints_the_json_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"inputs", "indicators"} <= set(schema["required"])
    assert "index" in schema["properties"]


def test_no_arguments_is_usage() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Usage" in result.stdout + result.stderr


def test_unknown_option_is_usage() -> None:
    result = invoke("validate", "--no-such-option", METHODOLOGY)
    assert result.exit_code == 2
    assert "--no-such-option" in result.stderr


def test_run_without_data_is_usage() -> None:
    assert invoke("run", METHODOLOGY).exit_code == 2


def test_json_diagnostics_are_parseable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        METHODOLOGY.read_text(encoding="utf-8").replace(
            "formula: grp * 1000 / employed", "formula: grp * 1000 / employd"
        ),
        encoding="utf-8",
    )
    result = invoke("validate", bad, "--format", "json")
    assert_clean_failure(result)
    diags = json.loads(result.stderr)  # stderr is one JSON document, nothing around it
    assert len(diags) == 1
    (d,) = diags
    assert d["code"] == "unknown-name" and d["severity"] == "error"
    assert d["file"] == str(bad) and isinstance(d["line"], int) and isinstance(d["column"], int)
    assert "employed" in d["hint"]


# --------------------------------------------------------------------------- run: outputs


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".json"])
def test_run_writes_every_format(suffix: str, tmp_path: Path) -> None:
    out = tmp_path / f"scores{suffix}"
    result = invoke("run", METHODOLOGY, DATA, "-q", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p != out]  # no temporary left behind
    frame = {
        ".csv": pl.read_csv,
        ".parquet": pl.read_parquet,
        ".xlsx": pl.read_excel,
        ".json": pl.read_json,
    }[suffix](out)
    assert frame.height == 32
    assert {
        "region",
        "year",
        "region_ru",
        "SD",
        "SD.norm",
        "RIS",
        "RIA",
        "index",
        "rank",
        "class",
        "class_group",
        "change_2014_vs_2010_pct",
    } <= set(frame.columns)
    published = pl.read_csv(PUBLISHED).select("region", "index_2010", "class_2010")
    ours = frame.filter(pl.col("year") == 2010).select("region", "index", "class", "region_ru")
    joined = published.join(ours, on="region")
    assert joined.height == 16
    assert (joined["index"] - joined["index_2010"]).abs().max() < 0.01
    assert joined["class"].to_list() == joined["class_2010"].to_list()
    assert "Акмолинская" in joined["region_ru"].to_list()


def test_run_prints_the_table_without_output_file() -> None:
    result = invoke("run", METHODOLOGY, DATA)
    assert result.exit_code == 0, result.stderr
    assert "Akmola" in result.stdout
    assert "printed_labour_productivity" in result.stderr  # the checks' report


def test_output_onto_the_data_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "regions.csv"
    data.write_bytes(DATA.read_bytes())
    before = data.read_bytes()
    result = invoke("run", METHODOLOGY, data, "-q", "-o", data)
    assert_clean_failure(result, 2)
    assert data.read_bytes() == before
    assert "overwrite" in result.stderr


def test_output_onto_the_methodology_is_refused(tmp_path: Path) -> None:
    methodology = tmp_path / "m.yaml"
    methodology.write_bytes(METHODOLOGY.read_bytes())
    result = invoke("run", methodology, DATA, "-q", "-o", tmp_path / "." / "m.yaml")
    assert_clean_failure(result, 2)
    assert methodology.read_bytes() == METHODOLOGY.read_bytes()


def test_unknown_output_extension_is_usage(tmp_path: Path) -> None:
    result = invoke("run", METHODOLOGY, DATA, "-q", "-o", tmp_path / "scores.txt")
    assert_clean_failure(result, 2)
    assert ".txt" in result.stderr
    assert not (tmp_path / "scores.txt").exists()


# --------------------------------------------------------------------------- run: bad data


def test_missing_data_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = invoke("run", METHODOLOGY, missing, "-q")
    assert_clean_failure(result)
    assert "nope.csv" in result.stderr
    assert "not found" in result.stderr


def test_missing_column_is_named(tmp_path: Path) -> None:
    columns, rows = regions()
    data = write_csv(tmp_path / "no_grp.csv", [c for c in columns if c != "grp"], rows)
    result = run_on(data, tmp_path)
    assert_clean_failure(result)
    assert "missing-column" in result.stderr
    assert "'grp'" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_text_in_numeric_column_names_column_and_line(tmp_path: Path) -> None:
    columns, rows = regions()
    rows[3]["fixed_assets"] = "about 5 million"
    data = write_csv(tmp_path / "text.csv", columns, rows)
    result = run_on(data, tmp_path)
    assert_clean_failure(result)
    assert "not-numeric" in result.stderr
    assert "'fixed_assets'" in result.stderr
    assert "text.csv:5" in result.stderr  # header is line 1, so the fourth row is line 5
    assert "about 5 million" in result.stderr


def test_duplicate_region_year_rows(tmp_path: Path) -> None:
    columns, rows = regions()
    data = write_csv(tmp_path / "dup.csv", columns, [*rows, rows[0]])
    result = run_on(data, tmp_path)
    assert_clean_failure(result)
    assert "duplicate-row" in result.stderr
    assert "Akmola" in result.stderr and "2010" in result.stderr


def test_zero_employed_is_a_division_by_zero_naming_region_and_year(tmp_path: Path) -> None:
    columns, rows = regions()
    row = next(r for r in rows if r["region"] == "Karaganda" and r["year"] == "2014")
    row["employed"] = "0"
    data = write_csv(tmp_path / "zero.csv", columns, rows)
    # undefined: report (the default): a warning names it, the value is missing
    result = run_on(data, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "warning[division-by-zero]" in result.stderr
    assert "employed" in result.stderr and "Karaganda 2014" in result.stderr
    written = pl.read_csv(tmp_path / "out.csv").filter(
        (pl.col("region") == "Karaganda") & (pl.col("year") == 2014)
    )
    assert written["SD"].to_list() == [None]
    # undefined: error stops the run, nothing is written
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        METHODOLOGY.read_text(encoding="utf-8") + "\nundefined: error\n", encoding="utf-8"
    )
    (tmp_path / "out.csv").unlink()
    result = invoke("run", strict, data, "-q", "-o", tmp_path / "out.csv")
    assert_clean_failure(result)
    assert "error[division-by-zero]" in result.stderr and "Karaganda 2014" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_all_missing_input_column_is_named(tmp_path: Path) -> None:
    columns, rows = regions()
    for r in rows:
        r["emissions"] = ""
    data = write_csv(tmp_path / "empty.csv", columns, rows)
    result = run_on(data, tmp_path)
    assert_clean_failure(result)
    assert "all-missing" in result.stderr
    # the researcher must be told which *input column* is empty, not only the indicator
    assert "'emissions'" in result.stderr


def test_failing_error_check_writes_nothing(tmp_path: Path) -> None:
    text = METHODOLOGY.read_text(encoding="utf-8")
    anchor = "  population_stable:\n"
    assert text.count(anchor) == 1
    strict = tmp_path / "strict.yaml"
    strict.write_text(text.replace(anchor, anchor + "    severity: error\n"), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = invoke("run", strict, DATA, "-q", "-o", out)
    assert_clean_failure(result)
    assert "population_stable" in result.stderr
    assert "South Kazakhstan" in result.stderr
    assert "nothing written" in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["strict.yaml"]


# --------------------------------------------------------------------------- sympy-trap names

TRAP_METHODOLOGY = """\
indexlab: 1
id: trap-names
title: Inputs named like sympy's singletons
data: {unit: region}
inputs:
  E: {}
  I: {}
  N: {}
  S: {}
  Q: {}
indicators:
  ratio: {formula: E / N}
  top_S: {formula: max(S)}
  top_E: {formula: max(E)}
  product: {formula: Q * I}
normalisation:
  default: {method: none}
index: {formula: ratio + top_S + top_E + product}
checks:
  e_is_data: {assert: E >= 1, severity: error}
"""


def test_sympy_trap_names_are_plain_inputs(tmp_path: Path) -> None:
    methodology = tmp_path / "trap.yaml"
    methodology.write_text(TRAP_METHODOLOGY, encoding="utf-8")
    data = tmp_path / "trap.csv"
    data.write_text("region,E,I,N,S,Q\na,6,5,3,1,2\nb,1,2,4,4,0.5\n", encoding="utf-8")
    validated = invoke("validate", methodology)
    assert validated.exit_code == 0, validated.stderr
    out = tmp_path / "trap.json"
    result = invoke("run", methodology, data, "-q", "-o", out)
    assert result.exit_code == 0, result.stderr
    frame = pl.read_json(out).sort("region")
    assert frame["ratio"].to_list() == [2.0, 0.25]  # E / N, not Euler's number over anything
    assert frame["top_S"].to_list() == [4.0, 4.0]  # max over units, not sympy's S singleton
    assert frame["top_E"].to_list() == [6.0, 6.0]
    assert frame["product"].to_list() == [10.0, 1.0]  # Q * I, not the imaginary unit
    assert frame["index"].to_list() == [22.0, 11.25]
    assert frame["rank"].to_list() == [1, 2]


# --------------------------------------------------------------------------- a real process


def test_console_script_runs_the_paper_end_to_end(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "indexlab"
    assert script.exists(), f"console script not installed next to {sys.executable}"
    out = tmp_path / "kireeva-out.parquet"
    proc = subprocess.run(
        [str(script), "run", str(METHODOLOGY), str(DATA), "-o", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"wrote 32 rows to {out}" in proc.stderr
    assert "Akmola" in proc.stdout
    frame = pl.read_parquet(out)
    assert frame.height == 32
    astana = frame.filter((pl.col("region") == "Astana") & (pl.col("year") == 2010)).row(
        0, named=True
    )
    published = pl.read_csv(PUBLISHED).filter(pl.col("region") == "Astana").row(0, named=True)
    assert abs(astana["index"] - published["index_2010"]) < 0.01
    assert astana["class"] == published["class_2010"]
