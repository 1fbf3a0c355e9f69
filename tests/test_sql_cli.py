"""``indexlab sql`` and ``--engine`` on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlglot
from typer.testing import CliRunner

from engine import api
from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies/kireeva.yaml"
KZ = [ROOT / "examples/kazakhstan/regions.csv", ROOT / "examples/kazakhstan/it_share_table7.csv"]
DE = ROOT / "examples/germany-specialisation/concentration.yaml"
DE_DATA = ROOT / "examples/germany-specialisation/data/employment_2015.csv"
runner = CliRunner()


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "postgres"])
def test_sql_prints_one_statement_in_each_dialect(dialect: str) -> None:
    result = runner.invoke(app, ["sql", str(KIREEVA), "--dialect", dialect])
    assert result.exit_code == 0, result.output
    statements = sqlglot.parse(result.stdout, read=dialect)
    assert len(statements) == 1 and isinstance(statements[0], sqlglot.exp.Select)
    assert "ASC NULLS LAST" in result.stdout  # NULL ordering pinned in every dialect
    if dialect != "duckdb":  # x / 0 and ln(0) guarded where the engine raises or gives NULL
        assert "CAST('NaN' AS DOUBLE" in result.stdout


def test_the_printed_duckdb_query_computes_the_result() -> None:
    """The query run by hand on DuckDB, on the data read by indexlab, gives the run's table."""
    text = runner.invoke(app, ["sql", str(DE), "--detail-table", "jobs"]).stdout
    data = api.read_data(api.validate(DE).methodology, [DE_DATA])
    con = duckdb.connect()
    con.register("jobs", data.detail)
    got = con.sql(text).pl()
    expected = api.run(DE, [DE_DATA]).frame.sort("industry", "year")
    assert got.columns[: len(expected.columns)] == expected.columns
    for name in expected.columns:
        a, b = expected[name], got[name]
        if a.dtype.is_float():
            assert ((a - b).abs() <= 1e-9 * a.abs().clip(1.0)).all(), name
        else:
            assert a.to_list() == b.to_list(), name


def test_sql_refuses_what_the_dialect_cannot_compute() -> None:
    minmax = ROOT / "methodologies/kireeva-zscore.yaml"  # quintile classes
    result = runner.invoke(app, ["sql", str(minmax), "--dialect", "postgres"])
    assert result.exit_code == 1
    assert "postgres engine cannot compute quantile classes" in result.stderr


def test_run_on_duckdb_writes_the_polars_table(tmp_path: Path) -> None:
    out_polars, out_duckdb = tmp_path / "p.csv", tmp_path / "d.csv"
    base = ["run", str(KIREEVA), *map(str, KZ), "--quiet"]
    assert runner.invoke(app, [*base, "-o", str(out_polars)]).exit_code == 0
    result = runner.invoke(app, [*base, "-o", str(out_duckdb), "--engine", "duckdb"])
    assert result.exit_code == 0, result.output
    keys = ["region", "year"]
    a, b = pl.read_csv(out_polars).sort(keys), pl.read_csv(out_duckdb).sort(keys)
    assert a.columns == b.columns and a.height == b.height
    assert a.select(keys, "rank", "class").equals(b.select(keys, "rank", "class"))


COPELAND = """\
indexlab: 1
id: c
title: Copeland
data: {unit: region, period: year}
inputs: {x: {}, y: {}}
indicators:
  a: {formula: x}
  b: {formula: y}
normalisation: {default: {method: min_max}}
groups:
  g: {members: [a, b], aggregation: {method: copeland}}
index: {group: g}
"""


def test_validate_names_a_refusal(tmp_path: Path) -> None:
    path = tmp_path / "copeland.yaml"
    path.write_text(COPELAND, encoding="utf-8")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    result = runner.invoke(app, ["validate", str(path), "--engine", "duckdb"])
    assert result.exit_code == 1 and "Copeland" in result.stderr


def test_a_missing_extra_names_its_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now fails
    result = runner.invoke(app, ["run", str(KIREEVA), *map(str, KZ), "--engine", "duckdb"])
    assert result.exit_code == 1
    assert "pip install 'indexlab[duckdb]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_engine_run_in_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    script = Path(sys.executable).parent / "indexlab"
    done = subprocess.run(
        [str(script), "run", str(KIREEVA), *map(str, KZ), "-o", str(out),
         "--engine", "duckdb", "--memory-limit", "500MB", "--temp-directory", str(tmp_path), "-q"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pl.read_parquet(out).height == 32
