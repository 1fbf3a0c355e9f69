"""The test matrix: every shipped methodology and example gives the same output on DuckDB
and Spark as on polars, or is refused before any data is read, naming what the SQL
engines cannot compute (:data:`REFUSED_CASES`; every shipped methodology is one or the
other: :func:`test_every_shipped_methodology_is_in_the_matrix`).

Same columns in the same order and types, the same rows (sorted by the keys: a SQL
engine returns rows by key), numbers equal to 1e-9 relative (missing values in the same
places), ranks, classes and text exactly; the same checks (rows tested, rows failing),
warnings, effective weights and adjustments, and the same detail rows. polars is the
reference: its results are themselves tested against the published values
(tests/test_paper.py, tests/test_hdi.py, tests/test_specialisation.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app
from engine.diagnostics import MethodologyError

ROOT = Path(__file__).resolve().parent.parent
KZ = ["examples/kazakhstan/regions.csv", "examples/kazakhstan/it_share_table7.csv"]
DE = ["examples/germany-specialisation/data/employment_2015.csv"]
CASES = {
    "kireeva": ("methodologies/kireeva.yaml", KZ),
    "kireeva-entropy": ("methodologies/kireeva-entropy.yaml", KZ),
    "kireeva-geometric": ("methodologies/kireeva-geometric.yaml", KZ),
    "kireeva-minmax": ("methodologies/kireeva-minmax.yaml", KZ),
    "kireeva-topsis": ("methodologies/kireeva-topsis.yaml", KZ),
    "kireeva-zscore": ("methodologies/kireeva-zscore.yaml", KZ),
    "undp-hdi": ("methodologies/undp-hdi.yaml", ["examples/undp-hdi/input.csv"]),
    "guide": ("examples/guide/guide.yaml", ["examples/guide/towns.csv"]),
    "specialisation": ("examples/germany-specialisation/specialisation.yaml", DE),
    "concentration": ("examples/germany-specialisation/concentration.yaml", DE),
    "undp-gdi": ("examples/undp-gdi/gdi.yaml", ["examples/undp-gdi/input.csv"]),
}
#: shipped methodologies a SQL engine refuses, and a word the refusal must name
REFUSED_CASES = {
    "coinr-asem": ("examples/coinr-asem/asem.yaml", "winsorise_log treatment"),
    "bod": ("examples/benefit-of-the-doubt/bod.yaml", "bod aggregation"),
    "bod-constrained": ("examples/benefit-of-the-doubt/bod-constrained.yaml", "bod aggregation"),
}
RTOL = 1e-9
_reference: dict[str, api.RunResult] = {}


def reference(case: str) -> api.RunResult:
    """The polars run of a case (computed once)."""
    if case not in _reference:
        methodology, data = CASES[case]
        _reference[case] = api.run(ROOT / methodology, [ROOT / d for d in data], keep_detail=True)
    return _reference[case]


def relative_gap(a: pl.Series, b: pl.Series) -> float:
    """The largest |a - b| / max(|a|, |b|) over rows where both have a value (0 when equal)."""
    frame = pl.DataFrame({"a": a, "b": b}).drop_nulls()
    if frame.height == 0:
        return 0.0
    scale = pl.max_horizontal(pl.col("a").abs(), pl.col("b").abs())
    gap = (
        pl.when(pl.col("a") == pl.col("b"))
        .then(0.0)
        .otherwise((pl.col("a") - pl.col("b")).abs() / scale)
    )
    return float(frame.select(gap.max()).item())


def assert_same_table(
    expected: pl.DataFrame, got: pl.DataFrame, keys: list[str], what: str
) -> float:
    """Same columns, types and rows; numbers to RTOL, the rest exactly. The largest gap."""
    assert got.columns == expected.columns, what
    assert got.schema == expected.schema, what
    assert got.height == expected.height, what
    expected = expected.sort(keys) if keys else expected
    got = got.sort(keys) if keys else got
    worst = 0.0
    for name in expected.columns:
        a, b = expected[name], got[name]
        assert a.is_null().to_list() == b.is_null().to_list(), f"{what}: missing values of {name}"
        if a.dtype.is_float():
            gap = relative_gap(a, b)
            assert gap <= RTOL, f"{what}: {name} differs by {gap:.3g} (relative)"
            worst = max(worst, gap)
        else:
            assert a.to_list() == b.to_list(), f"{what}: {name} differs"
    return worst


def assert_same_run(expected: api.RunResult, got: api.RunResult, what: str) -> float:
    keys = list(expected.methodology.layout.keys)
    worst = assert_same_table(expected.frame, got.frame, keys, what + " result")
    if expected.detail is not None:
        assert got.detail is not None
        detail_keys = list(expected.methodology.layout.detail_keys)
        worst = max(
            worst, assert_same_table(expected.detail, got.detail, detail_keys, what + " detail")
        )
    assert [(c.check.name, c.tested, c.failures.height) for c in got.checks] == [
        (c.check.name, c.tested, c.failures.height) for c in expected.checks
    ], what
    for e, g in zip(expected.checks, got.checks):
        worst = max(
            worst, assert_same_table(e.failures, g.failures, keys, what + " check " + e.check.name)
        )
    assert [w.message for w in got.warnings] == [w.message for w in expected.warnings], what
    for name in ("weights", "adjustments"):
        e_frame, g_frame = getattr(expected, name), getattr(got, name)
        sort = [c for c in ("period", "group", "member") if c in e_frame.columns] or keys
        if e_frame.height:
            worst = max(worst, assert_same_table(e_frame, g_frame, sort, f"{what} {name}"))
        else:
            assert g_frame.height == 0, what
    return worst


def run_case(case: str, engine: str) -> api.RunResult:
    methodology, data = CASES[case]
    return api.run(
        ROOT / methodology, [str(ROOT / d) for d in data], keep_detail=True, engine=engine
    )


@pytest.mark.parametrize("case", CASES)
def test_duckdb_gives_the_polars_result(case: str) -> None:
    assert_same_run(reference(case), run_case(case, "duckdb"), f"{case} on duckdb")


@pytest.mark.parametrize("case", CASES)
def test_spark_gives_the_polars_result(case: str, spark: Any) -> None:
    assert_same_run(reference(case), run_case(case, "spark"), f"{case} on spark")


def test_every_shipped_methodology_is_in_the_matrix() -> None:
    shipped = {str(p.relative_to(ROOT)) for p in ROOT.glob("methodologies/*.yaml")}
    shipped |= {str(p.relative_to(ROOT)) for p in ROOT.glob("examples/*/*.yaml")}
    covered = {m for m, _ in CASES.values()} | {m for m, _ in REFUSED_CASES.values()}
    assert shipped == covered


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
@pytest.mark.parametrize("case", REFUSED_CASES)
def test_refused_before_reading_data(case: str, engine: str, tmp_path: Path) -> None:
    """Refused by name before any data is read (the data here does not exist), by the
    validation as by a run."""
    methodology, feature = REFUSED_CASES[case]
    with pytest.raises(MethodologyError) as err:
        api.run(ROOT / methodology, [str(tmp_path / "absent.csv")], engine=engine)
    messages = [d.message for d in err.value.diagnostics]
    assert any(f"the {engine} engine cannot compute" in m and feature in m for m in messages)
    cli = CliRunner().invoke(app, ["validate", str(ROOT / methodology), "--engine", engine])
    assert cli.exit_code == 1 and feature in cli.output, cli.output


# -- features beyond the shipped methodologies: groups of a label, ranks within them,
# classes cut on an expression (tests/test_label_groups.py checks them on polars against
# plain Python; here the SQL engines must give the same)

LABEL_BODIES = {
    "by label": """\
normalisation:
  default: {method: min_max, scope: {by: [income]}}
groups: {G: {members: [A, B]}}
index: {group: G}
ranking:
  within: {region_rank: [region]}
derived:
  region_mean: {formula: "mean(index, by=[region, year])"}
  income_max_a: {formula: "max(a, by=[income, year])"}
""",
    "rank within": """\
normalisation: {default: {method: min_max}}
groups: {G: {members: [A, B]}}
index: {group: G}
ranking: {order: ascending, ties: dense, within: {low_first: [region, income]}}
""",
    "imputation by label": """\
imputation: {default: {method: mean, by: [region]}}
normalisation: {default: {method: min_max}}
groups: {G: {members: [A, B]}}
index: {group: G}
classes:
  of: abs(index - 50)
  bands:
    - {label: far, min: 25, max: 60}
    - {label: near, min: 0, max: 25}
""",
}


@pytest.mark.parametrize("body", LABEL_BODIES)
def test_label_groups_on_duckdb(body: str, tmp_path: Path) -> None:
    from tests.test_label_groups import HEAD, _rows

    rows = _rows()
    rows[3]["a"] = None  # an imputed value
    data = tmp_path / "d.csv"
    pl.DataFrame(rows).write_csv(data)
    # indicators 'A' and 'a' would name one column on DuckDB (refused: see test_sql_audit)
    head = HEAD.replace(
        "{A: {formula: a}, B: {formula: b, direction: lower}}",
        "{SA: {formula: a}, SB: {formula: b, direction: lower}}",
    )
    methodology = head + LABEL_BODIES[body].replace("[A, B]", "[SA, SB]")
    expected = api.run(methodology, [data])
    assert_same_run(expected, api.run(methodology, [str(data)], engine="duckdb"), body)
