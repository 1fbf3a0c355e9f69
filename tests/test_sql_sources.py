"""Data the SQL engines read themselves: Parquet files, partitioned Parquet folders, globs,
CSV conventions, and the engines' own tables (a DuckDB relation, a Spark DataFrame).
Each gives the result of the polars run on the example's CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from engine import api
from engine.backends.sql.engines import DuckDBEngine, EngineOptions
from engine.io.read import ReadOptions
from tests.test_engines import assert_same_run

ROOT = Path(__file__).resolve().parent.parent
HDI = ROOT / "methodologies/undp-hdi.yaml"
HDI_DATA = ROOT / "examples/undp-hdi/input.csv"
DE = ROOT / "examples/germany-specialisation/specialisation.yaml"
DE_DATA = ROOT / "examples/germany-specialisation/data/employment_2015.csv"


@pytest.fixture(scope="module")
def hdi() -> api.RunResult:
    return api.run(HDI, [HDI_DATA], keep_detail=True)


@pytest.fixture(scope="module")
def germany() -> api.RunResult:
    return api.run(DE, [DE_DATA], keep_detail=True)


def partitioned(tmp_path: Path) -> Path:
    """The HDI input as a Parquet dataset partitioned by year (year=1990/part-0.parquet)."""
    frame = pl.read_csv(HDI_DATA)
    root = tmp_path / "hdi"
    frame.filter(pl.col("year") >= 2015).write_parquet(root, partition_by="year")
    return root


def test_partitioned_parquet_folder_on_duckdb(tmp_path: Path) -> None:
    root = partitioned(tmp_path)
    expected = api.run(HDI, [HDI_DATA]).frame.filter(pl.col("year") >= 2015)
    got = api.run(HDI, [str(root)], engine="duckdb")
    assert sorted(p.name for p in root.iterdir())[:2] == ["year=2015", "year=2016"]
    assert got.frame.select("iso3", "year", "index", "rank", "class").equals(
        expected.sort("iso3", "year").select("iso3", "year", "index", "rank", "class")
    )


def test_partitioned_parquet_folder_on_spark(tmp_path: Path, spark: Any) -> None:
    """Given as a URL, as a cluster's data is (hdfs://, s3://): Spark reads the dataset."""
    root = partitioned(tmp_path)
    expected = api.run(HDI, [HDI_DATA]).frame.filter(pl.col("year") >= 2015)
    got = api.run(HDI, [root.as_uri()], engine="spark")
    assert got.frame.select("iso3", "year", "index", "rank", "class").equals(
        expected.sort("iso3", "year").select("iso3", "year", "index", "rank", "class")
    )


def test_a_glob_of_csv_files_is_stacked(tmp_path: Path, hdi: api.RunResult) -> None:
    frame = pl.read_csv(HDI_DATA, infer_schema=False)
    for decade, part in frame.group_by(pl.col("year").str.slice(0, 3)):
        part.write_csv(tmp_path / f"hdi_{decade[0]}0s.csv")
    got = api.run(HDI, [str(tmp_path / "hdi_*.csv")], engine="duckdb", keep_detail=True)
    assert_same_run(hdi, got, "glob")


def test_a_parquet_file_of_detail_rows(tmp_path: Path, germany: api.RunResult) -> None:
    path = tmp_path / "employment.parquet"
    pl.read_csv(DE_DATA).write_parquet(path)
    assert_same_run(germany, api.run(DE, [path], engine="duckdb", keep_detail=True), "parquet")
    # a URL: its header comes from the engine
    by_url = api.run(DE, [path.as_uri()], engine="duckdb", keep_detail=True)
    assert_same_run(germany, by_url, "parquet URL")


def test_decimal_comma_and_semicolons(tmp_path: Path, hdi: api.RunResult) -> None:
    frame = pl.read_csv(HDI_DATA, infer_schema=False)
    numbers = ["le", "eys", "mys", "gnipc"]
    frame = frame.with_columns(pl.col(numbers).str.replace(".", ",", literal=True))
    path = tmp_path / "hdi_eu.csv"
    frame.write_csv(path, separator=";")
    options = ReadOptions(delimiter=";", decimal=",")
    got = api.run(HDI, [path], options, engine="duckdb", keep_detail=True)
    assert_same_run(api.run(HDI, [path], options, keep_detail=True), got, "decimal comma")
    assert_same_run(hdi, got, "decimal comma vs the original")


def test_a_duckdb_relation_runs_on_its_connection(germany: api.RunResult) -> None:
    con = duckdb.connect()
    relation = con.sql(f"SELECT * FROM read_csv('{DE_DATA}')")
    got = api.run(DE, relation, keep_detail=True)  # the engine follows the data
    assert_same_run(germany, got, "relation")


def test_a_spark_dataframe_runs_on_its_session(spark: Any, hdi: api.RunResult) -> None:
    df = spark.read.option("header", True).option("inferSchema", True).csv(str(HDI_DATA))
    got = api.run(HDI, df, keep_detail=True)
    assert_same_run(hdi, got, "spark dataframe")


def test_polars_frames_go_through_indexlabs_reader(hdi: api.RunResult) -> None:
    frame = pl.read_csv(HDI_DATA)
    assert_same_run(hdi, api.run(HDI, frame, engine="duckdb", keep_detail=True), "frame")


def test_duckdb_memory_limit_and_spill_directory(tmp_path: Path) -> None:
    engine = DuckDBEngine(
        EngineOptions(memory_limit="200MB", temp_directory=str(tmp_path), threads=1)
    )
    try:
        assert engine.con is not None
        settings = engine.con.sql(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('threads')"
        ).fetchall()[0]
    finally:
        engine.close()
    assert settings[0].replace(" ", "").upper().startswith(("190", "200"))
    assert settings[1] == str(tmp_path) and settings[2] == 1


def test_a_table_of_the_wrong_engine_is_a_usage_error() -> None:
    relation = duckdb.connect().sql(f"SELECT * FROM read_csv('{HDI_DATA}')")
    with pytest.raises(Exception, match="cannot run on the spark engine"):
        api.run(HDI, relation, engine="spark")


def test_headers_mapped_by_data_columns(tmp_path: Path) -> None:
    """data.columns names a header that is not a valid name; the engines read it too."""
    methodology = tmp_path / "m.yaml"
    methodology.write_text(
        "indexlab: 1\nid: t\ntitle: t\n"
        "data:\n  unit: region\n  period: year\n  columns: {gdp: 'GDP, bn $'}\n"
        "inputs: {gdp: {}}\nindicators:\n  a: {formula: gdp}\n"
        "normalisation: {default: {method: leader_share}}\nindex: {formula: a}\n",
        encoding="utf-8",
    )
    data = tmp_path / "d.csv"
    data.write_text('region,year,"GDP, bn $"\nA,2020,3\nB,2020,4\nA,2021,5\nB,2021,1\n')
    expected = api.run(methodology, [data])
    assert_same_run(expected, api.run(methodology, [data], engine="duckdb"), "data.columns")
    relation = duckdb.connect().sql(f"SELECT * FROM read_csv('{data}')")
    assert_same_run(expected, api.run(methodology, relation), "data.columns relation")
