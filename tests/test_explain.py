"""``indexlab explain``: every step of one unit's result, each formula with its numbers.

The explanation must agree with ``api.run`` value by value, and each substituted formula
must re-evaluate, as plain arithmetic, to the step's value: the numbers it shows are the
ones the query computed (statistics included), in the order the engine computes them.
The substituted text is evaluated by the tiny evaluator below (an ``ast`` walk of
numbers and ``+ - * / **``), never by ``eval``.
"""

from __future__ import annotations

import ast
import json
import math
import operator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from engine import api
from engine.analysis.explain import explain, explain_all
from engine.analysis.explanation import ExplainedStep
from engine.analysis.substitute import SubstitutionPrinter
from engine.backends.polars.compile import Context, to_polars
from engine.cli import app
from engine.diagnostics import Code, DataError, UsageError
from engine.formula.parser import Formula, Scope, parse_formula

ROOT = Path(__file__).resolve().parents[1]
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
REGIONS = ROOT / "examples" / "kazakhstan" / "regions.csv"
IT_SHARE = ROOT / "examples" / "kazakhstan" / "it_share_table7.csv"
GERMANY = ROOT / "examples" / "germany-specialisation" / "specialisation.yaml"
EMPLOYMENT = ROOT / "examples" / "germany-specialisation" / "data" / "employment_2015.csv"

#: steps whose substituted text is plain arithmetic in the Kireeva methodology
ARITHMETIC = {"input", "indicator", "normalised", "group", "index", "rank", "derived"}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def arithmetic(text: str) -> float:
    """Evaluate numbers, + - * / ** and parentheses; anything else is an error (no eval)."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](walk(node.operand))
        raise ValueError(f"not plain arithmetic: {ast.dump(node)}")

    return float(walk(ast.parse(text, mode="eval")))


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


@pytest.fixture(scope="module")
def almaty() -> api.Explanation:  # type: ignore[name-defined]
    return explain(KIREEVA, [REGIONS, IT_SHARE], "Almaty", 2014)


@pytest.fixture(scope="module")
def run_frame() -> pl.DataFrame:
    return api.run(KIREEVA, [REGIONS, IT_SHARE]).frame


def row_of(frame: pl.DataFrame, unit: str, period: int, key: str = "region") -> dict[str, object]:
    return frame.filter((pl.col(key) == unit) & (pl.col("year") == period)).row(0, named=True)


# --------------------------------------------------------------------------- values


def test_steps_in_order_from_inputs_to_screening(almaty) -> None:
    kinds = [s.kind for s in almaty.steps]
    order = [
        "input",
        "indicator",
        "normalised",
        "group",
        "index",
        "rank",
        "class",
        "derived",
        "screen",
    ]
    assert [k for k in order if k in kinds] == order
    assert [
        k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k
    ] == order  # each kind in one block
    assert [s.column for s in almaty.steps if s.kind == "group"] == ["RIS", "RIA"]


def test_every_value_equals_the_run_output(almaty, run_frame) -> None:
    row = row_of(run_frame, "Almaty", 2014)
    compared = 0
    for s in almaty.steps:
        if s.column in row:
            assert s.value == row[s.column], s.column
            compared += 1
    assert compared == len(
        [c for c in row if c not in ("region", "year", "region_ru", "class_group")]
    )
    raw = (
        pl.read_csv(REGIONS)
        .filter((pl.col("region") == "Almaty") & (pl.col("year") == 2014))
        .row(0, named=True)
    )
    grp = almaty.step("grp")
    assert grp.value == raw["grp"] and grp.measured_in == "million tenge"


def test_substituted_formulas_reproduce_the_values(almaty) -> None:
    checked = 0
    for s in almaty.steps:
        if s.kind in ARITHMETIC and s.substituted is not None:
            assert close(arithmetic(s.substituted), float(s.value)), (
                s.column,
                s.substituted,
                s.value,
            )
            checked += 1
    assert checked >= 14 + 6 + 6 + 2 + 1 + 1 + 1


def test_statistics_are_substituted_by_the_query_values(almaty, run_frame) -> None:
    step = almaty.step("SD.norm")
    assert step.formula_text.startswith("leader_share(scale=100)")
    assert step.symbolic == "SD / max(SD, by=[year]) * 100"
    sd, leader, scale = (
        step.substituted.split(" / ")[0],
        *step.substituted.split(" / ")[1].split(" * "),
    )
    assert float(sd) == almaty.step("SD").value
    assert float(leader) == run_frame.filter(pl.col("year") == 2014)["SD"].max()
    assert scale == "100"
    derived = almaty.step("change_2014_vs_2010_pct")
    assert derived.symbolic == "index / at(index, year=2010) * 100"
    assert (
        float(derived.substituted.split(" / ")[1].split(" * ")[0])
        == row_of(run_frame, "Almaty", 2010)["index"]
    )


def test_class_names_its_band(run_frame) -> None:
    for period, label, band in ((2010, "B+", "50 <= "), (2014, "B++", "60 <= ")):
        e = explain(KIREEVA, [REGIONS], "Almaty", period)
        step = e.step("class")
        assert step.value == label == row_of(run_frame, "Almaty", period)["class"]
        index = e.step("index").value
        assert step.note.startswith(f"{label} because {band}{index!r} < ")
        assert "(bands include their lower bound)" in step.note
        assert step.symbolic.endswith("<= index < " + step.symbolic.split(" < ")[-1])


def test_rank_states_the_tie_rule(almaty) -> None:
    rank = almaty.step("rank")
    assert rank.value == 1
    assert (
        "descending" in rank.note and "ties 'min'" in rank.note and "16 ranked units" in rank.note
    )


def test_failed_checks_of_the_unit_only() -> None:
    result = api.run(KIREEVA, [REGIONS])
    expected = {
        c.check.name
        for c in result.checks
        if c.failures.filter((pl.col("region") == "Kostanay") & (pl.col("year") == 2014)).height
    }
    e = explain(KIREEVA, [REGIONS], "Kostanay", 2014)
    assert {s.name for s in e.failed_checks} == expected and expected
    for s in e.failed_checks:
        assert s.value is False and " == " in s.substituted and "tolerance" in s.note
    assert explain(KIREEVA, [REGIONS], "Almaty", 2014).failed_checks == ()


def test_missing_optional_input_shows_as_missing() -> None:
    e = explain(KIREEVA, [REGIONS], "Almaty", 2014)
    assert e.step("it_share").value is None and e.step("it_share").substituted == "missing"
    assert e.step("promising_zone").substituted == "true and missing >= 0.03"


def test_every_period_when_none_is_given() -> None:
    both = explain_all(KIREEVA, [REGIONS], "Almaty")
    assert [e.period for e in both] == [2010, 2014]
    assert both[0].step("change_2014_vs_2010_pct").substituted is None  # a 2014 output
    with pytest.raises(UsageError):
        explain(KIREEVA, [REGIONS], "Almaty")


# --------------------------------------------------------------------------- errors


def test_unknown_unit_suggests_close_matches() -> None:
    with pytest.raises(DataError) as err:
        explain(KIREEVA, [REGIONS], "Almati", 2014)
    (d,) = err.value.diagnostics
    assert d.code == Code.UNKNOWN_KEY and "'Almati'" in d.message
    assert "'Almaty'" in (d.hint or "") and "'Almaty Region'" in (d.hint or "")


def test_unknown_period_lists_the_periods() -> None:
    with pytest.raises(DataError) as err:
        explain(KIREEVA, [REGIONS], "Almaty", 2015)
    (d,) = err.value.diagnostics
    assert d.code == Code.UNKNOWN_KEY and "2010, 2014" in (d.expected or "")


# --------------------------------------------------------------------------- the printer


@pytest.mark.parametrize(
    "text",
    [
        "a - b * c",
        "a - (b - c)",
        "-a ** 2",
        "(a + b) / (c * a)",
        "a / b / c",
        "a / (b / c)",
        "a ** b ** 0.5 - c",
        "1 / a - 2 / b",
        "-(a - b) * c",
        "(a - b) ** 2",
        "a * -b",
        "2 * a / 3 - (a + 1) / a",
    ],
)
def test_substituted_text_is_the_compiled_arithmetic(text: str) -> None:
    """Negative values get parentheses, order and grouping follow the compiled query."""
    expr, problems = parse_formula(
        Formula(text), Scope({"a": "input", "b": "input", "c": "input"}, ("year",))
    )
    assert not problems
    values = {"a": -1.7, "b": 2.3, "c": -0.3}
    if "**" in text:
        values = (
            {"a": 1.7, "b": -2.3, "c": 0.3}
            if "** 0.5" not in text
            else {"a": 1.7, "b": 2.3, "c": -0.3}
        )
    frame = pl.DataFrame({k: [v] for k, v in values.items()} | {"u": ["x"], "year": [1]})
    computed = frame.select(to_polars(expr, Context({}, "u", "year")))[0, 0]
    printed = SubstitutionPrinter(values).doprint(expr)
    assert close(arithmetic(printed), computed), (printed, computed)
    assert "--" not in printed and "+ -" not in printed and "* -" not in printed.replace("* (-", "")
    names = SubstitutionPrinter().doprint(expr)
    assert close(
        arithmetic(
            names.replace("a", "(-1.7)" if values["a"] < 0 else "1.7")
            .replace("b", f"({values['b']})")
            .replace("c", f"({values['c']})")
        ),
        computed,
    )


def test_boolean_and_comparison_printing() -> None:
    expr, _ = parse_formula(
        Formula("not (a > 1 and b < 2) or a == b"),
        Scope({"a": "input", "b": "input"}, ("year",)),
        want=None,
    )
    assert SubstitutionPrinter().doprint(expr) == "a == b or not (a > 1 and b < 2)"
    assert (
        SubstitutionPrinter({"a": 3.0, "b": None}).doprint(expr)
        == "3 == missing or not (3 > 1 and missing < 2)"
    )


# --------------------------------------------------------------------------- detail data


@pytest.fixture(scope="module")
def bremen() -> api.Explanation:  # type: ignore[name-defined]
    return explain(GERMANY, [EMPLOYMENT], "Bremen", 2015, detail=True)


def test_reduction_over_detail_rows(bremen) -> None:
    # polars' windowed sums can differ in the last bit between runs of the same query, so
    # values are compared with api.run's within 1e-12 here (exactly within one run)
    row = row_of(api.run(GERMANY, [EMPLOYMENT]).frame, "Bremen", 2015, key="land")
    ksi = bremen.step("ksi")
    assert ksi.symbolic == "sum(abs(s_rk - s_k), by=[land, year])"
    assert close(ksi.value, row["ksi"], 1e-12) and float(ksi.substituted) == ksi.value
    assert [d.keys[0][1] for d in ksi.detail] == sorted(d.keys[0][1] for d in ksi.detail)
    assert len(ksi.detail) == 17 and {k for d in ksi.detail for k, _ in d.keys} == {"industry"}
    assert close(math.fsum(float(d.value) for d in ksi.detail), ksi.value)
    gini = bremen.step("gini_spec")
    assert close(gini.value, row["gini_spec"], 1e-12)
    assert close(arithmetic(gini.substituted), gini.value)
    for column in ("ksi_half", "hhi_normalised", "hhi_equivalent", "x_r", "n_sections"):
        step = bremen.step(column)
        assert close(step.value, row[column], 1e-12) and close(
            arithmetic(step.substituted), step.value
        ), column


def test_steps_on_each_detail_row(bremen) -> None:
    s_rk = bremen.step("s_rk")
    assert s_rk.grain == "detail" and s_rk.value is None and s_rk.symbolic == "employment / x_r"
    assert len(s_rk.detail) == 17
    for d in s_rk.detail:
        assert (
            close(arithmetic(d.substituted), d.value) if d.value else arithmetic(d.substituted) == 0
        )
    plain = explain(GERMANY, [EMPLOYMENT], "Bremen", 2015)
    assert plain.step("s_rk").detail == () and "--detail" in plain.step("s_rk").note
    assert plain.step("employment").detail == () and len(bremen.step("employment").detail) == 17


# --------------------------------------------------------------------------- the command


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["explain", *(str(a) for a in args)])


def test_cli_text() -> None:
    result = invoke(KIREEVA, REGIONS, "--unit", "Almaty", "--period", "2014")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in (
        "SD.norm",
        "SD / max(SD, by=[year]) * 100",
        "with values",
        "B++ because 60 <= 65.6724 < 70",
        "ties 'min'",
        "= 65.6724",
    ):
        assert text in out, text
    assert (
        out.index("inputs")
        < out.index("indicators")
        < out.index("normalised values")
        < out.index("groups")
    )


def test_cli_every_period_without_period() -> None:
    result = invoke(KIREEVA, REGIONS, "--unit", "Almaty")
    assert result.exit_code == 0, result.stderr
    assert "Almaty — 2010" in result.stdout and "Almaty — 2014" in result.stdout


def test_cli_json(run_frame) -> None:
    result = invoke(
        KIREEVA, REGIONS, IT_SHARE, "--unit", "Almaty", "--period", "2014", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    (payload,) = json.loads(result.stdout)
    assert payload["unit"] == "Almaty" and payload["period"] == 2014
    steps = {s["column"]: s for s in payload["steps"]}
    assert steps["index"]["value"] == row_of(run_frame, "Almaty", 2014)["index"]  # full precision
    assert (
        steps["SD.norm"]["substituted"]
        == explain(KIREEVA, [REGIONS], "Almaty", 2014).step("SD.norm").substituted
    )
    assert steps["class"]["value"] == "B++"


def test_cli_errors() -> None:
    result = invoke(KIREEVA, REGIONS, "--unit", "Almati")
    assert (
        result.exit_code == 1
        and "did you mean 'Almaty'" in result.stderr
        and "Traceback" not in result.stderr
    )
    result = invoke(KIREEVA, REGIONS, "--unit", "Almaty", "--period", "2015")
    assert result.exit_code == 1 and "2010, 2014" in result.stderr
    result = invoke(KIREEVA, REGIONS, "--unit", "Almaty", "--detail")
    assert result.exit_code == 2 and "no detail data" in result.stderr


def test_cli_detail() -> None:
    result = invoke(GERMANY, EMPLOYMENT, "--unit", "Bremen", "--detail")
    assert result.exit_code == 0, result.stderr
    assert "WZ08-J:" in result.stdout and "sum(abs(s_rk - s_k), by=[land, year])" in result.stdout


def test_explained_step_is_frozen(almaty) -> None:
    with pytest.raises(AttributeError):
        almaty.steps[0].value = 1  # type: ignore[misc]
    assert isinstance(almaty.steps[0], ExplainedStep)


# -- imputation and treatment (a KeyError in the terminal printer before) ----------------

IMPUTE_TREAT = """\
indexlab: 1
id: impute-treat
title: imputation and treatment explained
data: {unit: town, period: year}
inputs:
  a: {label: A}
  b: {label: B}
indicators:
  A: {formula: a}
  B: {formula: b}
imputation:
  default: {method: mean}
treatment:
  default: {method: winsorise_log}
normalisation:
  default: {method: min_max}
groups:
  G: {members: [A, B]}
index: {group: G}
"""


def test_cli_explains_imputed_and_treated_steps(tmp_path: Path) -> None:
    methodology = tmp_path / "m.yaml"
    methodology.write_text(IMPUTE_TREAT, encoding="utf-8")
    data = tmp_path / "d.csv"
    rows = ["town,year,a,b"] + [
        f"t{i},2020,{i + 1},{'' if i == 3 else (i * 7) % 11 + 1}" for i in range(8)
    ]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = invoke(methodology, data, "--unit", "t3", "--period", "2020")
    assert result.exit_code == 0, result.output
    assert "B.imputed" in result.output and "A.treated" in result.output
    # the imputed value is the period's mean of the present values
    explained = explain(str(methodology), [data], "t3", 2020)
    present = [(i * 7) % 11 + 1 for i in range(8) if i != 3]
    assert explained.step("B.imputed").value == pytest.approx(
        sum(present) / len(present), rel=1e-12
    )
