"""Formula text to sympy: the structure built, the names kept plain, and every rejection.

Expected structures are written by hand with sympy's own classes (``evaluate=False``),
not taken from the parser's output.
"""

from __future__ import annotations

import builtins
import string

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagnostics import Code, Diagnostic, Location
from engine.formula import ir
from engine.formula.parser import Formula, Scope, parse_formula
from engine.formula.types import Kind

NAMES = [
    "a",
    "b",
    "c",
    "grp",
    "employed",
    "E",
    "I",
    "N",
    "S",
    "Q",
    "pi",
    "oo",
    "zoo",
    "beta",
    "gamma",
    "lambda_",
    "x",
]
SCOPE = Scope({n: "input" for n in NAMES}, ("year",), frozenset({"year", "region"}), period="year")
a, b, c = sympy.symbols("a b c")
YEAR = sympy.Tuple(sympy.Symbol("year"))

#: where formulas are placed in a fictitious YAML line: `  formula: <text>`
PREFIX = "  formula: "
LINE, COLUMN = 7, len(PREFIX) + 1


def parse(
    text: str, scope: Scope = SCOPE, want: Kind = Kind.NUMBER
) -> tuple[sympy.Basic, tuple[Diagnostic, ...]]:
    loc = Location("m.yaml", LINE, COLUMN, PREFIX + text, len(text))
    return parse_formula(Formula(text, loc), scope, want=want)


def ok(text: str, scope: Scope = SCOPE, want: Kind = Kind.NUMBER) -> sympy.Basic:
    expr, problems = parse(text, scope, want)
    assert problems == (), [p.render() for p in problems]
    return expr


def cond(text: str, scope: Scope = SCOPE) -> sympy.Basic:
    """A formula that must be a condition (as in a check or a screening rule)."""
    return ok(text, scope, Kind.CONDITION)


def one_problem(text: str, scope: Scope = SCOPE) -> Diagnostic:
    _, problems = parse(text, scope)
    assert len(problems) >= 1, f"{text!r} was accepted"
    return problems[0]


def offset(d: Diagnostic) -> int:
    """The diagnostic's column as an offset into the formula text."""
    assert d.location is not None and d.location.column is not None
    assert d.location.file == "m.yaml" and d.location.line == LINE
    return d.location.column - COLUMN


def covers(d: Diagnostic, text: str, token: str) -> None:
    """The diagnostic's span includes the first occurrence of `token`."""
    start = offset(d)
    pos = text.index(token)
    assert start <= pos and pos + len(token) <= start + d.location.length, (  # type: ignore[union-attr]
        f"span {start}+{d.location.length} does not cover {token!r} at {pos} in {text!r}"
    )  # type: ignore[union-attr]


def same(got: sympy.Basic, want: sympy.Basic) -> None:
    """Structural equality, including node types and argument order."""
    assert sympy.srepr(got) == sympy.srepr(want)


# -- structure -------------------------------------------------------------------------


def test_division_is_mul_by_pow_minus_one() -> None:
    same(ok("a / b"), sympy.Mul(a, sympy.Pow(b, -1, evaluate=False), evaluate=False))


def test_unary_minus_is_mul_by_minus_one() -> None:
    same(ok("-a"), sympy.Mul(sympy.Integer(-1), a, evaluate=False))
    same(ok("+a"), a)


def test_subtraction_is_add_of_negation() -> None:
    same(ok("a - b"), sympy.Add(a, sympy.Mul(-1, b, evaluate=False), evaluate=False))


def test_precedence_mul_over_add_and_pow_over_unary_minus() -> None:
    same(ok("a + b * c"), sympy.Add(a, sympy.Mul(b, c, evaluate=False), evaluate=False))
    same(ok("(a + b) * c"), sympy.Mul(sympy.Add(a, b, evaluate=False), c, evaluate=False))
    # -a ** 2 is -(a ** 2), as in Python and mathematics
    same(ok("-a ** 2"), sympy.Mul(-1, sympy.Pow(a, 2, evaluate=False), evaluate=False))
    # ** is right-associative
    same(ok("a ** b ** c"), sympy.Pow(a, sympy.Pow(b, c, evaluate=False), evaluate=False))


def test_author_order_is_kept() -> None:
    # evaluate=False: 100 * (a / b) is not reordered or merged into (100*a)/b
    same(
        ok("100 * (a / b)"),
        sympy.Mul(
            100, sympy.Mul(a, sympy.Pow(b, -1, evaluate=False), evaluate=False), evaluate=False
        ),
    )
    same(ok("b + a"), sympy.Add(b, a, evaluate=False))


def test_numbers() -> None:
    same(ok("2"), sympy.Integer(2))
    same(ok("0.5"), sympy.Float(0.5))
    assert cond("true") == sympy.true and cond("False") == sympy.false


def test_comparisons_and_chains() -> None:
    same(cond("a < b"), sympy.StrictLessThan(a, b, evaluate=False))
    same(cond("a >= b"), sympy.GreaterThan(a, b, evaluate=False))
    same(cond("a == b"), sympy.Eq(a, b, evaluate=False))
    same(cond("a != b"), sympy.Ne(a, b, evaluate=False))
    chained = cond("a < b <= c")
    assert isinstance(chained, sympy.And)
    assert set(chained.args) == {
        sympy.StrictLessThan(a, b, evaluate=False),
        sympy.LessThan(b, c, evaluate=False),
    }


def test_boolean_operators() -> None:
    e = cond("a > 0 and not b > 0 or c > 0")
    assert isinstance(e, sympy.Or)
    inner = [x for x in e.args if isinstance(x, sympy.And)]
    assert len(inner) == 1
    assert sympy.Not(sympy.StrictGreaterThan(b, 0, evaluate=False), evaluate=False) in inner[0].args


def test_conditional_expression_and_where_are_the_same_if() -> None:
    # ir.If, not Piecewise: sympy rewrites a Piecewise's condition on construction
    want = ir.If(sympy.StrictGreaterThan(c, 0, evaluate=False), a, b, evaluate=False)
    same(ok("a if c > 0 else b"), want)
    same(ok("where(c > 0, a, b)"), want)


def test_min_max_with_two_or_more_arguments_are_elementwise() -> None:
    e = ok("min(a, b, c)")
    assert isinstance(e, sympy.Min) and set(e.args) == {a, b, c}
    e = ok("max(a, b)")
    assert isinstance(e, sympy.Max) and set(e.args) == {a, b}


def test_min_max_with_one_argument_are_statistics_within_the_period() -> None:
    same(ok("max(a)"), ir.ColMax(a, YEAR, evaluate=False))
    same(ok("min(a)"), ir.ColMin(a, YEAR, evaluate=False))
    for name, cls in [
        ("mean", ir.ColMean),
        ("sum", ir.ColSum),
        ("median", ir.ColMedian),
        ("count", ir.ColCount),
    ]:
        same(ok(f"{name}(a + b)"), cls(sympy.Add(a, b, evaluate=False), YEAR, evaluate=False))


def test_statistic_keys_from_by() -> None:
    e = ok("max(a, by=[region])")
    assert isinstance(e, ir.ColMax) and e.keys == ("region",)
    e = ok("mean(a, by=[region, year])")
    assert e.keys == ("region", "year")
    e = ok("sum(a, by=[])")
    assert isinstance(e, ir.ColSum) and e.keys == ()
    d = one_problem("max(a, by=[regoin])")
    assert d.code == Code.UNKNOWN_NAME and "region" in (d.hint or "")
    covers(d, "max(a, by=[regoin])", "regoin")


def test_std_ddof_defaults_to_sample() -> None:
    e = ok("std(a)")
    assert isinstance(e, ir.ColStd) and e.ddof == 1
    assert ok("std(a, ddof=0)").ddof == 0
    assert ok("std(a, ddof=1)").ddof == 1
    for bad in ("std(a, ddof=2)", "std(a, ddof=true)", "std(a, ddof=b)"):
        d = one_problem(bad)
        assert d.code == Code.BAD_ARGUMENTS
        covers(d, bad, bad[len("std(a, ddof=") : -1])


def test_rank_options() -> None:
    e = ok("rank(a)")
    assert isinstance(e, ir.ColRank) and (e.descending, e.ties) == (False, "min")
    e = ok("rank(a, descending=true, ties='dense')")
    assert (e.descending, e.ties) == (True, "dense")
    for ties in ("min", "max", "dense", "average"):
        assert ok(f"rank(a, ties='{ties}')").ties == ties
    d = one_problem("rank(a, ties='first')")
    assert d.code == Code.BAD_ARGUMENTS
    covers(d, "rank(a, ties='first')", "'first'")


def test_at_and_round() -> None:
    e = ok("at(a, 2010)")
    assert isinstance(e, ir.At) and e.args[0] == a and e.fixed == (("year", 2010),)
    e = ok("at(a + b, 2010)")
    assert e.args[0] == sympy.Add(a, b, evaluate=False) and e.fixed == (("year", 2010),)
    e = ok("round(a, 2)")
    assert isinstance(e, ir.Round) and e.args == (a, sympy.Integer(2), ir.Str("half_up"))
    assert ok("round(a, 0, mode='half_even')").args[2] == ir.Str("half_even")
    for bad in (
        "round(a, 2.5)",
        "round(a, b)",
        "round(a, 13)",
        "round(a)",
        "at(a, 2010.5)",
        "at(a)",
        "round(a, 2, mode='up')",
    ):
        assert one_problem(bad).code == Code.BAD_ARGUMENTS, bad


def test_log10_sqrt_exp_abs() -> None:
    assert isinstance(ok("log(a)"), sympy.log)
    same(ok("sqrt(a)"), sympy.Pow(a, sympy.Rational(1, 2), evaluate=False))
    assert isinstance(ok("exp(a)"), sympy.exp)
    assert isinstance(ok("abs(a)"), sympy.Abs)
    # log10(a) is ln(a) / ln(10), numerically
    e = ok("log10(a)")
    assert float(e.subs(a, 1000).evalf()) == pytest.approx(3.0, rel=1e-15)


# -- names are plain symbols -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["E", "I", "N", "S", "Q", "pi", "oo", "zoo", "beta", "gamma", "lambda_"]
)
def test_sympy_constant_names_are_plain_symbols(name: str) -> None:
    e = ok(name)
    assert type(e) is sympy.Symbol and e.name == name
    assert e.free_symbols == {sympy.Symbol(name)}
    # and inside arithmetic, nothing is folded into a sympy constant or function
    e = ok(f"{name} * 2 + a")
    assert sympy.Symbol(name) in e.free_symbols
    assert not e.atoms(
        sympy.NumberSymbol,
        sympy.core.numbers.ImaginaryUnit,
        sympy.core.numbers.Infinity,
        sympy.core.numbers.ComplexInfinity,
    )
    assert not e.atoms(sympy.Function)


def test_constant_names_outside_scope_are_unknown_not_constants() -> None:
    scope = Scope({"a": "input"}, ("year",))
    for name in ("E", "pi", "oo", "I"):
        d = one_problem(f"a * {name}", scope)
        assert d.code == Code.UNKNOWN_NAME
        assert offset(d) == 4 and d.location.length == len(name)  # type: ignore[union-attr]


def test_lambda_is_a_keyword() -> None:
    d = one_problem("lambda + a")
    assert d.code == Code.FORMULA_SYNTAX
    d = one_problem("lambda x: x")
    assert d.code == Code.FORMULA_SYNTAX and offset(d) == 0


# -- rejections ------------------------------------------------------------------------

REJECTED = [
    # (formula, code, offending token)
    ("a.real", Code.FORMULA_SYNTAX, "a.real"),
    ("2 * a.__class__", Code.FORMULA_SYNTAX, "a.__class__"),
    ("a[0]", Code.FORMULA_SYNTAX, "a[0]"),
    ("1 + (lambda: 1)", Code.FORMULA_SYNTAX, "lambda: 1"),
    ("[x for x in a]", Code.FORMULA_SYNTAX, "[x for x in a]"),
    ("sum(x for x in a)", Code.FORMULA_SYNTAX, "x for x in a"),
    ("a + 'text'", Code.TYPE, "+"),
    ("a + b'x'", Code.FORMULA_SYNTAX, "b'x'"),
    ("a + 1j", Code.FORMULA_SYNTAX, "1j"),
    ("a * grpp", Code.UNKNOWN_NAME, "grpp"),
    ("2 * mx(a)", Code.UNKNOWN_FUNCTION, "mx"),
    ("__import__('os')", Code.UNKNOWN_FUNCTION, "__import__"),
    ("eval('1')", Code.UNKNOWN_FUNCTION, "eval"),
    ("a.b()", Code.UNKNOWN_FUNCTION, "a.b"),
    ("a ^ 2", Code.FORMULA_SYNTAX, "^"),
    ("b + f'{a}'", Code.FORMULA_SYNTAX, "f'{a}'"),
    ("b + (y := a)", Code.FORMULA_SYNTAX, "y := a"),
    ("a // b", Code.FORMULA_SYNTAX, "//"),
    ("a % b", Code.FORMULA_SYNTAX, "%"),
    ("~a", Code.FORMULA_SYNTAX, "~a"),
    ("a is b", Code.FORMULA_SYNTAX, "is"),
    ("a in b", Code.FORMULA_SYNTAX, "in"),
    ("(a, b)", Code.FORMULA_SYNTAX, "a, b"),
    ("{a}", Code.FORMULA_SYNTAX, "{a}"),
    ("max(*a)", Code.FORMULA_SYNTAX, "*a"),
    ("max(**a)", Code.FORMULA_SYNTAX, "**a"),
    ("log(a, b)", Code.BAD_ARGUMENTS, "log(a, b)"),
    ("sum(a, b)", Code.BAD_ARGUMENTS, "sum(a, b)"),
    ("where(a > 0, b)", Code.BAD_ARGUMENTS, "where(a > 0, b)"),
    ("a + max", Code.UNKNOWN_NAME, "max"),
]


@pytest.mark.parametrize(("text", "code", "token"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected(text: str, code: Code, token: str) -> None:
    expr, problems = parse(text)
    assert problems, f"{text!r} was accepted as {expr}"
    d = problems[0]
    assert d.code == code, d.render()
    covers(d, text, token)
    # a placeholder, never a partially built expression with the forbidden part
    assert "__" not in str(expr)


def test_unknown_function_has_did_you_mean_hint_and_points_at_the_name() -> None:
    d = one_problem("2 * meen(a)")
    assert d.code == Code.UNKNOWN_FUNCTION
    assert d.hint == "did you mean 'mean'?"
    assert offset(d) == 4 and d.location.length == 4  # type: ignore[union-attr]
    assert "mean" in (d.expected or "")


def test_unknown_name_has_did_you_mean_hint_and_points_at_the_name() -> None:
    d = one_problem("grp * 1000 / employd")
    assert d.code == Code.UNKNOWN_NAME
    assert d.hint == "did you mean 'employed'?"
    assert offset(d) == len("grp * 1000 / ") and d.location.length == len("employd")  # type: ignore[union-attr]


def test_caret_is_under_the_offending_token() -> None:
    d = one_problem("a + mx(b)")
    rendered = d.render().splitlines()
    source, caret = rendered[1], rendered[2]
    col = caret.index("^")
    assert source[col : col + 2] == "mx" and caret.count("^") == 2


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("rank(a, foo=1)", "foo"),
        ("log(a, base=2)", "base"),
        ("max(a, b, by=[year])", "by"),
    ],
)
def test_keyword_misuse_points_at_the_keyword(text: str, keyword: str) -> None:
    d = one_problem(text)
    assert d.code == Code.BAD_ARGUMENTS
    assert keyword in d.message
    assert offset(d) == text.index(keyword + "="), (
        f"points at column {offset(d)} ({text[offset(d) :]!r}), not at the keyword {keyword!r}"
    )


def test_every_problem_is_collected() -> None:
    _, problems = parse("grpp + mx(a) + a.b")
    codes = [p.code for p in problems]
    assert codes.count(Code.UNKNOWN_NAME) == 1
    assert codes.count(Code.UNKNOWN_FUNCTION) == 1
    assert codes.count(Code.FORMULA_SYNTAX) == 1


def test_syntax_error_is_a_diagnostic_with_a_column_inside_the_formula() -> None:
    for text in ("a + * b", "a + (b", "a if b", "", "yield a", "a\x00b"):
        _, problems = parse(text)
        assert len(problems) == 1 and problems[0].code == Code.FORMULA_SYNTAX, text
        assert 0 <= offset(problems[0]) <= max(len(text), 1)
    d = one_problem("a + * b")
    assert offset(d) == 4
    assert one_problem("a ^ b").hint is not None and "**" in one_problem("a ^ b").hint  # type: ignore[operator]


def test_non_finite_literal_is_rejected() -> None:
    # 1e999 overflows to infinity: a formula constant must be a finite number
    expr, problems = parse("a * 1e999")
    assert problems and problems[0].code == Code.FORMULA_SYNTAX, f"accepted as {expr}"


@pytest.mark.parametrize(
    "text",
    [
        "-" * 1999 + "a",
        "a" + " + a" * 499,
        "not " * 499 + "a",
        "a" + "**a" * 666,
        "(" * 150 + "a" + ")" * 150,
    ],
)
def test_deep_formula_within_the_schema_length_is_a_diagnostic_not_a_crash(text: str) -> None:
    # the schema allows 2000 characters; nothing may escape parse_formula
    assert len(text) <= 2000
    _, problems = parse(text)
    assert problems == () or all(
        p.code in (Code.FORMULA_SYNTAX, Code.FORMULA_LIMIT) for p in problems
    )


# -- arbitrary text: never an exception, never anything executed -------------------------

TOKENS = [
    "a",
    "b",
    "x",
    "E",
    "1",
    "2.5",
    "1e999",
    "(",
    ")",
    "[",
    "]",
    ",",
    "+",
    "-",
    "*",
    "/",
    "**",
    "^",
    "<",
    "==",
    " and ",
    " or ",
    "not ",
    " if ",
    " else ",
    "max",
    "min",
    "std",
    "rank",
    "at",
    "round",
    "where",
    "by=",
    "ddof=",
    "ties=",
    "'min'",
    "lambda",
    ":",
    ".",
    "__import__",
    "'os'",
    "f'",
    "{",
    "}",
    ":=",
    "\n",
    " ",
    "\x00",
    "é",
    "\\",
    "#",
    ";",
    "import ",
    "=",
]

formula_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=string.printable, max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
)


DANGEROUS = {"os", "subprocess", "shutil", "socket", "importlib", "ctypes", "pty", "posix"}


class Executed(Exception):
    pass


@settings(max_examples=400, deadline=None)
@given(formula_text)
def test_arbitrary_text_never_raises_and_never_executes(text: str) -> None:
    import sys

    real_import = builtins.__import__
    loaded = set(sys.modules)

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # type: ignore[no-untyped-def]
        # sympy imports its own submodules lazily (relative imports); anything else that
        # is not loaded yet, and every module that could reach the system, is refused
        top = name.partition(".")[0]
        if top in DANGEROUS or (level == 0 and name not in loaded):
            raise Executed(f"import {name}")
        return real_import(name, globals, locals, fromlist, level)

    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Executed("eval/exec/sympify called")

    saved = (builtins.eval, builtins.exec, builtins.__import__, sympy.sympify, sympy.parse_expr)
    builtins.eval, builtins.exec, builtins.__import__ = forbidden, forbidden, guarded_import
    sympy.sympify = sympy.parse_expr = forbidden
    try:
        expr, problems = parse_formula(
            Formula(text, Location("m.yaml", 1, 1, text)), SCOPE, want=None
        )
    finally:
        builtins.eval, builtins.exec, builtins.__import__, sympy.sympify, sympy.parse_expr = saved
    assert isinstance(expr, sympy.Basic)
    assert all(isinstance(p, Diagnostic) for p in problems)
    for p in problems:
        assert p.location is not None and p.location.file == "m.yaml"
