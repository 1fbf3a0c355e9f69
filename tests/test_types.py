"""Types before sympy: every mix of numbers, conditions and text is a located error
naming the operator, both sides and a fix; the typed IR API (kind_of, shape_of) that
printers rely on; and the messages for what is not in the language."""

from __future__ import annotations

import time
import tracemalloc

import pytest
import sympy

from engine.diagnostics import Code, Diagnostic, Location
from engine.formula import ir
from engine.formula.parser import Formula, Scope, parse_formula
from engine.formula.types import CONSTANT, ROW, Kind, Shape, Varies, kind_of, shape_of

NAMES = ["x", "t", "y", "a", "b", "emissions", "grp", "roa", "n", "d"]
SCOPE = Scope({n: "input" for n in NAMES}, ("year",), frozenset({"year", "region"}), period="year")
PREFIX = "  formula: "
COLUMN = len(PREFIX) + 1


def parse(text: str, want: Kind | None = Kind.NUMBER) -> tuple[sympy.Basic, tuple[Diagnostic, ...]]:
    loc = Location("m.yaml", 3, COLUMN, PREFIX + text, len(text))
    return parse_formula(Formula(text, loc), SCOPE, want=want, role="indicator 'I'")


def problem(text: str, want: Kind | None = Kind.NUMBER) -> Diagnostic:
    _, problems = parse(text, want)
    assert problems, f"{text!r} was accepted"
    return problems[0]


def at(d: Diagnostic) -> str:
    """The text under the diagnostic's caret."""
    assert d.location is not None and d.location.column is not None
    start = d.location.column - COLUMN
    source = (d.location.source_line or "")[len(PREFIX) :]
    return source[start : start + d.location.length]


# -- the crashes of the issue are located type errors -------------------------------------------

MIXED = [
    # (formula, operator under the caret, words of the message, fix in the hint)
    ("3 - (x < t)", "-", ["'-' needs numbers", "right operand 'x < t' is a condition"],
     "where(x < t, 1, 0)"),
    ("sqrt(a < b)", "a < b", ["sqrt() takes a number", "'a < b' is a condition"],
     "where(a < b, 1, 0)"),
    ("-log(5 > 4)", "5 > 4", ["log() takes a number"], "where(5 > 4, 1, 0)"),
    ("log10(n < d)", "n < d", ["log10() takes a number"], "where(n < d, 1, 0)"),
    ("(x < 3 < y) * 2", "*", ["'*' needs numbers", "left operand 'x < 3 < y'"],
     "where(x < 3 < y, 1, 0)"),
    ("a or b", "or", ["'or' joins conditions", "'a' is a number"], "max(a, b)"),
    ("2 and 0", "and", ["'and' joins conditions", "'2' is a number"], "2 != 0"),
    ("not x", "not", ["'not' needs a condition", "'x' is a number"], "x != 0"),
    ("emissions if emissions else roa", "if", ["needs a condition after 'if'"], "emissions != 0"),
    ("where(x, 1, 2)", "x", ["where() takes a condition"], "x != 0"),
    ("x + 'text'", "+", ["'+' needs numbers", "is text"], "text is for options, keys and labels"),
    ("(x < y) < t", "<", ["'<' compares numbers", "left operand 'x < y'"], "where(x < y, 1, 0)"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "token", "words", "fix"), MIXED, ids=[m[0] for m in MIXED])
def test_a_mix_of_kinds_is_located_at_the_operator_with_a_fix(
    text: str, token: str, words: list[str], fix: str
) -> None:
    d = problem(text)
    assert d.code == Code.TYPE, d.render()
    assert at(d) == token, d.render()
    for w in words:
        assert w in d.message, d.render()
    assert fix in (d.hint or ""), d.render()


@pytest.mark.parametrize(
    ("text", "want", "message"),
    [
        ("emissions < grp", Kind.NUMBER, "indicator 'I' is a condition, but a number is needed"),
        ("32 != emissions", Kind.NUMBER, "is a condition, but a number is needed"),
        ("grp + 1", Kind.CONDITION, "is a number, but a condition is needed"),
        ("'text'", None, "is text, but a number is needed"),
    ],
)
def test_the_place_of_a_formula_needs_its_kind(text: str, want: Kind | None, message: str) -> None:
    d = problem(text, want)
    assert d.code == Code.TYPE and message in d.message, d.render()


def test_conditions_are_accepted_where_conditions_go() -> None:
    for text in ("x > 0 and not y < 1", "true", "x < y < t or a == b", "where(x > 0, 1, 0) > 0"):
        _, problems = parse(text, Kind.CONDITION)
        assert problems == (), [p.render() for p in problems]


def test_a_lone_surrogate_is_named_by_its_code_point() -> None:
    d = problem("x + \ud800")
    assert d.code == Code.FORMULA_SYNTAX and "U+D800" in d.message


# -- the typed IR ---------------------------------------------------------------------------------


def test_kind_of_every_node_class() -> None:
    x, y = sympy.symbols("x y")
    assert kind_of(x + y) is Kind.NUMBER
    assert kind_of(sympy.StrictLessThan(x, y, evaluate=False)) is Kind.CONDITION
    assert kind_of(sympy.And(x > 0, y > 0)) is Kind.CONDITION
    assert kind_of(sympy.true) is Kind.CONDITION
    assert kind_of(ir.ClassAtLeast(ir.Str("A"))) is Kind.CONDITION
    assert kind_of(ir.Str("2010")) is Kind.TEXT
    assert kind_of(ir.If(x > 0, x, y, evaluate=False)) is Kind.NUMBER
    assert kind_of(ir.stat(ir.ColMax, x, ("year",))) is Kind.NUMBER
    with pytest.raises(TypeError):
        kind_of(sympy.Tuple(x))


def test_shape_of_joins_the_shapes_of_the_parts() -> None:
    x = sympy.Symbol("x")
    by_year = ir.stat(ir.ColMean, x, ("year",))
    pooled = ir.stat(ir.ColMax, x, ())
    by_region = ir.stat(ir.ColSum, x, ("region",))
    assert shape_of(sympy.Integer(3)) == CONSTANT
    assert shape_of(x) == ROW
    assert shape_of(by_year) == Shape(Varies.GROUP, frozenset({"year"}))
    assert shape_of(pooled) == Shape(Varies.GROUP, frozenset())
    assert shape_of(sympy.Add(by_year, 1, evaluate=False)).keys == frozenset({"year"})
    assert shape_of(sympy.Add(by_year, by_region, evaluate=False)).keys == {"year", "region"}
    assert shape_of(sympy.Add(pooled, 2, evaluate=False)) == Shape(Varies.GROUP, frozenset())
    assert shape_of(x - by_year) == ROW
    assert shape_of(ir.stat(ir.ColRank, x, ("year",), 0, ir.Str("min"))) == ROW
    assert shape_of(ir.If(x > 0, 1, 2, evaluate=False)) == ROW


def test_parsed_formulas_have_the_kinds_the_checker_gave() -> None:
    expr, problems = parse("where(x > 0, log(x), 0) + mean(x)")
    assert not problems and kind_of(expr) is Kind.NUMBER
    expr, problems = parse("x > 0 and mean(x) < 3", Kind.CONDITION)
    assert not problems and kind_of(expr) is Kind.CONDITION


# -- messages for what is not in the language ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("__import__('os')", Code.UNKNOWN_FUNCTION, "formulas cannot import"),
        ("eval('1')", Code.UNKNOWN_FUNCTION, "Python built-in"),
        ("x.real", Code.FORMULA_SYNTAX, "attribute access"),
        ("lambda: 1", Code.FORMULA_SYNTAX, "a lambda"),
        ("[v for v in x]", Code.FORMULA_SYNTAX, "list comprehension"),
        ("sum(v for v in x)", Code.FORMULA_SYNTAX, "generator expression"),
        ("import os", Code.FORMULA_SYNTAX, "'import' is a Python keyword"),
        ("x // 2", Code.FORMULA_SYNTAX, "floor division"),
    ],
)
def test_what_is_rejected_is_named_with_the_allowed_functions(
    text: str, code: Code, words: str
) -> None:
    d = problem(text)
    assert d.code == code and words in d.message, d.render()
    if code == Code.UNKNOWN_FUNCTION or "comprehension" in words or "lambda" in words:
        assert "mean" in (d.expected or "") and "where" in (d.expected or ""), d.render()


def test_a_name_mixing_scripts_shows_the_code_points_and_its_look_alike() -> None:
    d = problem("\u0435missions / 2")  # Cyrillic е
    assert d.code == Code.UNKNOWN_NAME
    assert "U+0435 CYRILLIC SMALL LETTER IE" in d.message, d.render()
    assert d.hint == "it looks like 'emissions', written with other letters"


# -- bounds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9**9 - 1 == 2",
        "2**2**40",
        "x * 10 ** 400",
        "1 / 0 + x",
        "log(0) * x",
        "x * 0.5 ** 5000",
        "mean(" * 12 + "x" + ")" * 12,
        "mean(" * 150 + "x" + ")" * 150,
        "-" * 1999 + "x",
        "(" * 99 + "x" + ")" * 99,
        "x" + " + x" * 499,
    ],
)
def test_no_formula_takes_more_than_a_second_or_200_mb_to_check(text: str) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    _, problems = parse(text[:2000], None)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0, elapsed
    assert peak < 200 * 2**20, peak
    for p in problems:
        assert p.code in (Code.FORMULA_LIMIT, Code.FORMULA_SYNTAX), p.render()


def test_the_limits_are_the_documented_ones() -> None:
    """docs/formulas.md states the limits the checker applies (engine/formula/limits.py)."""
    from pathlib import Path

    from engine.formula import limits

    docs = (Path(__file__).resolve().parents[1] / "docs" / "formulas.md").read_text("utf-8")
    assert f"**{limits.MAX_LENGTH:,} characters**" in docs
    assert f"**{limits.MAX_DEPTH} levels**" in docs
    assert f"**{limits.MAX_NESTED_STATISTICS} statistics**" in docs
    assert "finite 64-bit numbers" in docs and limits.MAX_CONSTANT == 1.7976931348623157e308
