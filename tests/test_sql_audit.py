"""Bad data is reported by DuckDB and Spark as by polars: the same code and message.

The data checks (input ranges, an input empty in a period, missing detail cells) and the
audit (a zero denominator, a logarithm of a non-positive value, a declared domain broken,
a statistic over no value) run in SQL on the SQL engines; each case here must give the
polars run's diagnostics, word for word (rows are listed in key order: the data are
written in key order so that polars lists them in the same order).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine import api
from engine.diagnostics import DataError, IndexlabError, MethodologyError

HEAD = """\
indexlab: 1
id: t
title: audit case
data: {unit: region, period: year}
undefined: error
"""

CASES = {
    "division by zero": (
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: x / y}
        """,
        "region,year,x,y\nA,2020,1,2\nB,2020,3,0\nC,2020,2,1\n",
    ),
    "logarithm of a negative value": (
        """
        inputs: {x: {}}
        indicators:
          a: {formula: log(x - 1)}
        """,
        "region,year,x\nA,2020,1\nB,2020,3\nC,2020,0.5\n",
    ),
    "declared domain broken": (
        """
        inputs: {x: {}}
        indicators:
          a: {formula: x}
        normalisation: {default: {method: leader_share}}
        index: {formula: a}
        """,
        "region,year,x\nA,2020,4\nB,2020,-3\nC,2020,2\n",
    ),
    "zero leader": (
        """
        inputs: {x: {}}
        indicators:
          a: {formula: x}
        normalisation: {default: {method: leader_share}}
        index: {formula: a}
        """,
        "region,year,x\nA,2020,0\nB,2020,0\nA,2021,1\nB,2021,2\n",
    ),
    "statistic over no value": (
        """
        inputs: {x: {}}
        indicators:
          d: {formula: "at(x, 2019)"}
          e: {formula: x / max(d)}
        """,
        "region,year,x\nA,2020,1\nB,2020,3\n",
    ),
    "input below its minimum": (
        """
        inputs: {x: {minimum: 0}}
        indicators:
          a: {formula: x}
        """,
        "region,year,x\nA,2020,1\nB,2020,-3\nC,2020,-1\n",
    ),
    "input empty in a period": (
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: x + y}
        """,
        "region,year,x,y\nA,2020,1,\nB,2020,3,\nA,2021,1,1\n",
    ),
}

DETAIL = """\
indexlab: 1
id: d
title: detail audit case
data: {unit: land, period: year, detail: [industry]}
undefined: error
inputs:
  jobs: {grain: detail, minimum: 0}
indicators:
  total: {formula: "sum(jobs, by=[land, year])"}
  share: {formula: jobs / total}
  hhi: {formula: "sum(share ** 2, by=[land, year])"}
"""
DETAIL_CASES = {
    "detail input below its minimum": (
        "land,year,industry,jobs\nA,2020,B,5\nA,2020,C,-2\nB,2020,B,3\n"
    ),
    "detail division by zero": "land,year,industry,jobs\nA,2020,B,0\nA,2020,C,0\nB,2020,B,3\n",
}


def problems(methodology: str, data: Path, engine: str) -> list[tuple[str, str]]:
    try:
        api.run(methodology, [str(data)], engine=engine)
    except (DataError, MethodologyError) as err:
        return [(str(d.code), d.message) for d in err.diagnostics]
    return []


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def all_cases(tmp_path: Path) -> list[tuple[str, str, Path]]:
    out = []
    for i, (name, (yaml, csv)) in enumerate(CASES.items()):
        out.append((name, HEAD + textwrap.dedent(yaml), write(tmp_path, f"u{i}.csv", csv)))
    for i, (name, csv) in enumerate(DETAIL_CASES.items()):
        out.append((name, DETAIL, write(tmp_path, f"d{i}.csv", csv)))
    return out


def test_every_case_is_an_error_on_polars(tmp_path: Path) -> None:
    for name, methodology, data in all_cases(tmp_path):
        assert problems(methodology, data, "polars"), name


def test_duckdb_reports_what_polars_reports(tmp_path: Path) -> None:
    for name, methodology, data in all_cases(tmp_path):
        assert problems(methodology, data, "duckdb") == problems(methodology, data, "polars"), name


#: Spark is slow on tiny data (seconds a query): the cases whose SQL differs from DuckDB's
#: (guarded division and logarithm, detail rows, a statistic over no value)
SPARK_CASES = (
    "division by zero",
    "logarithm of a negative value",
    "statistic over no value",
    "detail division by zero",
)


def test_spark_reports_what_polars_reports(tmp_path: Path, spark: Any) -> None:
    for name, methodology, data in all_cases(tmp_path):
        if name in SPARK_CASES:
            expected = problems(methodology, data, "polars")
            assert problems(methodology, data, "spark") == expected, name


def test_missing_detail_cells_warn_on_every_engine(tmp_path: Path) -> None:
    data = write(tmp_path, "d.csv", "land,year,industry,jobs\nA,2020,B,5\nA,2020,C,\nB,2020,B,3\n")
    expected = [w.message for w in api.run(DETAIL, [str(data)]).warnings]
    assert any("detail input 'jobs' is missing for: A 2020 C" in w for w in expected)
    assert [w.message for w in api.run(DETAIL, [str(data)], engine="duckdb").warnings] == expected


@pytest.mark.parametrize(
    ("csv", "code"),
    [
        ("region,year,x\nA,2020,1\nB,2020,abc\n", "not-numeric"),
        ("region,year,x\nA,2020,1\nA,2020,2\n", "duplicate-row"),
        ("region,year,x\nA,2020,1\n,2020,2\n", "missing-key"),
        ("region,year,x\nA,2020,1\nB,2020,NaN\n", "not-finite"),
    ],
)
def test_bad_cells_in_files_the_engine_reads(tmp_path: Path, csv: str, code: str) -> None:
    """The engine's own reader reports what indexlab's reader reports (rows named by key:
    the engines number no lines)."""
    methodology = HEAD + "inputs: {x: {}}\nindicators:\n  a: {formula: x}\n"
    data = write(tmp_path, "bad.csv", csv)
    assert [c for c, _ in problems(methodology, data, "polars")] == [code]
    found = problems(methodology, data, "duckdb")
    assert [c for c, _ in found] == [code]


def test_refused_before_reading_data(tmp_path: Path) -> None:
    """A feature the engine cannot compute is refused by name, before the data is read."""
    methodology = HEAD + textwrap.dedent(
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: x}
          b: {formula: y}
        normalisation: {default: {method: min_max}}
        groups:
          g: {members: [a, b], aggregation: {method: copeland}}
        index: {group: g}
        """
    )
    with pytest.raises(IndexlabError) as err:
        api.run(methodology, [str(tmp_path / "absent.csv")], engine="duckdb")
    message = err.value.diagnostics[0].message
    assert "duckdb engine cannot compute 'g'" in message and "Copeland" in message


def test_names_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    """DuckDB reads "A" as "a" (silently: the other column's values), so such names are
    refused on DuckDB and Spark."""
    methodology = HEAD + "inputs: {a: {}}\nindicators:\n  A: {formula: a * 2}\n"
    data = write(tmp_path, "d.csv", "region,year,a\nX,2020,1\n")
    assert problems(methodology, data, "polars") == []
    found = problems(methodology, data, "duckdb")
    assert found == [
        (
            "unsupported",
            "the duckdb engine cannot tell 'a' from 'A': it compares column names without "
            "regard to case",
        )
    ]
