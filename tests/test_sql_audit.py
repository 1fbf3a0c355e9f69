"""Bad data and undefined values are reported by DuckDB and Spark as by polars.

The data checks (input ranges, an input empty in a period, missing detail cells) and the
audit of undefined values (a zero denominator, a logarithm of a non-positive value, a
power of a negative value, an overflow, a declared domain broken, a statistic over no
value; counted only where used) run in SQL on the SQL engines. Each case runs under
both policies of the methodology's ``undefined`` key: with ``report`` (the default) the
warnings and the output table must be the polars run's (the same values missing), with
``error`` the DataError's diagnostics, word for word (rows are listed in key order: the
data are written in key order so that polars lists them in the same order).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine import api
from engine.diagnostics import DataError, Diagnostic, IndexlabError, MethodologyError
from tests.test_engines import assert_same_table

HEAD = """\
indexlab: 1
id: t
title: audit case
data: {unit: region, period: year}
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
        "region,year,x,y\nA,2020,1,\nA,2021,1,1\nB,2020,3,\n",
    ),
    "only where used": (
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: "where(x > 0, log(x), 0)"}
          b: {formula: "where(x > 1, log(x - 2), -1)"}
          c: {formula: "log(y) if y > 2 else log(x)"}
          d: {formula: "at(log(x), 2021)"}
        checks:
          first: {assert: x > 0 and log(x) > -10}
          second: {assert: log(x) > -10 and y < 5}
          either: {assert: x <= 0 or log(x) > -10}
        """,
        "region,year,x,y\nA,2020,0,3\nA,2021,1.5,1\nB,2020,3,-1\nB,2021,-2,4\n"
        "C,2020,2,6\nC,2021,0,0\n",
    ),
    "powers and overflow": (
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: y ** 1.5}
          b: {formula: y ** x}
          c: {formula: exp(x * 1000)}
          d: {formula: "1 / sqrt(y)"}
        """,
        "region,year,x,y\nA,2020,0.5,-4\nB,2020,1,0\nC,2020,-1,0\nD,2020,0,2\n",
    ),
    "consequences are not reported again": (
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: x / y}
          b: {formula: "max(a)"}
          c: {formula: x / b}
          e: {formula: "max(x * mean(log(y)))"}
        """,
        "region,year,x,y\nA,2020,1,2\nA,2021,3,0\nB,2020,2,-1\nB,2021,5,0\n",
    ),
    "checks, screening rules and the index": (
        """
        inputs: {x: {}, y: {}}
        indicators:
          a: {formula: x + y}
          b: {formula: x / y}
        normalisation: {default: {method: min_max}}
        groups:
          G: {members: [a, b], aggregation: {method: geometric}}
        index: {group: G}
        derived:
          share: {formula: "index / sum(index, by=[year])"}
        checks:
          positive_log: {assert: log(y) >= 0}
        screening:
          promising: {rule: sqrt(y) > 1}
        """,
        "region,year,x,y\nA,2020,1,2\nA,2021,2,3\nB,2020,3,-2\nB,2021,4,1\n"
        "C,2020,2,0\nC,2021,1,5\n",
    ),
}

DETAIL = """\
indexlab: 1
id: d
title: detail audit case
data: {unit: land, period: year, detail: [industry]}
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


POLICIES = ("report", "error")


def _seen(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> list[tuple[str, ...]]:
    return [(str(d.code), d.message, str(d.severity), d.hint or "") for d in diagnostics]


def outcome(methodology: str, data: Path, engine: str, policy: str) -> tuple[Any, ...]:
    """What a run gives: ("error", diagnostics) or ("ok", warnings, result)."""
    text = methodology.replace("\ndata:", f"\nundefined: {policy}\ndata:", 1)
    try:
        result = api.run(text, [str(data)], engine=engine)
    except (DataError, MethodologyError) as err:
        return ("error", _seen(err.diagnostics))
    return ("ok", _seen(result.warnings), result)


def assert_same_outcome(expected: tuple[Any, ...], got: tuple[Any, ...], what: str) -> None:
    assert got[:2] == expected[:2], what
    if expected[0] == "ok":
        e, g = expected[2], got[2]
        keys = list(e.methodology.layout.keys)
        assert_same_table(e.frame, g.frame, keys, what)
        assert [(c.check.name, c.tested, c.failures.height) for c in g.checks] == [
            (c.check.name, c.tested, c.failures.height) for c in e.checks
        ], what


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


def test_every_case_has_a_problem_on_polars(tmp_path: Path) -> None:
    """Each case is an error with `undefined: error`, and the undefined values among them
    are warnings with `report` (the data checks stay errors)."""
    for name, methodology, data in all_cases(tmp_path):
        assert outcome(methodology, data, "polars", "error")[0] == "error", name
        reported = outcome(methodology, data, "polars", "report")
        assert reported[0] == "error" or reported[1], name


def test_undefined_values_are_missing_where_they_arise(tmp_path: Path) -> None:
    """The polars reference itself, by hand: only where used, consequences once."""
    cases = {name: (m, d) for name, m, d in all_cases(tmp_path)}
    _, warnings, result = outcome(*cases["only where used"], "polars", "report")
    messages = [w[1] for w in warnings]
    # a branch not taken does not count (a; b in B 2020, c in A 2020); at() counts in
    # the row it picks (d of B 2020 is missing, counted in B 2021); a side of `and` not
    # where the other is false (first, either)
    assert messages == [
        "logarithm of a value <= 0: x - 2 in the indicator 'b' (where(x > 1, log(x - 2), -1)), "
        "2 rows: A 2021, C 2020",
        "logarithm of a value <= 0: y in the indicator 'c' (log(y) if y > 2 else log(x)), "
        "1 row: C 2021",
        "logarithm of a value <= 0: x in the indicator 'c' (log(y) if y > 2 else log(x)), "
        "1 row: C 2021",
        "logarithm of a value <= 0: x in the indicator 'd' (at(log(x), 2021)), "
        "2 rows: B 2021, C 2021",
        "logarithm of a value <= 0: x in the check 'second' (log(x) > -10 and y < 5), "
        "3 rows: A 2020, B 2021, C 2021",
    ], messages
    frame = result.frame
    assert frame["a"].null_count() == 0
    assert frame["b"].to_list() == [-1.0, None, 0.0, -1.0, None, -1.0]
    assert frame.filter(frame["region"] == "B")["d"].to_list() == [None, None]
    _, warnings, result = outcome(*cases["consequences are not reported again"], "polars", "report")
    assert [w[1] for w in warnings] == [
        "division by zero: y is 0 in the indicator 'a' (x / y), 2 rows: A 2021, B 2021",
        "logarithm of a value <= 0: y in the 'e' (mean(log(y), by=[year])), "
        "3 rows: A 2021, B 2020, B 2021",
    ]
    assert result.frame["c"].to_list() == [2.0, None, 4.0, None]  # x / max(a): 2020 max 0.5


@pytest.mark.parametrize("policy", POLICIES)
def test_duckdb_reports_what_polars_reports(tmp_path: Path, policy: str) -> None:
    for name, methodology, data in all_cases(tmp_path):
        expected = outcome(methodology, data, "polars", policy)
        assert_same_outcome(expected, outcome(methodology, data, "duckdb", policy), name)


#: Spark is slow on tiny data (seconds a query): the cases whose SQL differs from DuckDB's
#: (guarded division, logarithm and power, finiteness by comparison, detail rows, a
#: statistic over no value, helpers lifted out of a nested statistic)
SPARK_CASES = {
    "report": (
        "only where used",
        "powers and overflow",
        "consequences are not reported again",
        "detail division by zero",
    ),
    "error": ("division by zero", "statistic over no value", "zero leader"),
}


@pytest.mark.parametrize("policy", POLICIES)
def test_spark_reports_what_polars_reports(tmp_path: Path, spark: Any, policy: str) -> None:
    for name, methodology, data in all_cases(tmp_path):
        if name in SPARK_CASES[policy]:
            expected = outcome(methodology, data, "polars", policy)
            assert_same_outcome(expected, outcome(methodology, data, "spark", policy), name)


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
