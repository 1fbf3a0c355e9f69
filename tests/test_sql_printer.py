"""The SQL printer: every IR node has a rule or an explicit refusal; the conventions it
pins match their definitions (numpy, scipy, Python's decimal); and random formulas give
the polars compiler's values on DuckDB.
"""

from __future__ import annotations

import inspect
import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import duckdb
import numpy as np
import polars as pl
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from sqlglot import exp

from engine.backends.polars.compile import Context as PolarsContext
from engine.backends.polars.compile import to_polars
from engine.backends.sql.dialects import DIALECTS
from engine.backends.sql.lower import Definition
from engine.backends.sql.printer import Context, column, has_rule
from engine.backends.sql.statements import Chain, table
from engine.backends.sql.support import REFUSED
from engine.formula import ir

X, Y, Z = sympy.symbols("x y z")
CTX = Context("unit", "year", order=("unit", "year"))
PCTX = PolarsContext({}, "unit", "year", order=("unit", "year"), single_group=False)

# the sympy classes the formula parser and the method library build
SYMPY_NODES = [
    sympy.Symbol, sympy.Integer, sympy.Rational, sympy.Float, sympy.Add, sympy.Mul,
    sympy.Pow, sympy.log, sympy.exp, sympy.Abs, sympy.Max, sympy.Min, sympy.Piecewise,
    sympy.StrictLessThan, sympy.LessThan, sympy.StrictGreaterThan, sympy.GreaterThan,
    sympy.Equality, sympy.Unequality, sympy.And, sympy.Or, sympy.Not,
    sympy.logic.boolalg.BooleanTrue, sympy.logic.boolalg.BooleanFalse,
]  # fmt: skip


def test_every_ir_node_has_a_sql_rule_or_a_refusal() -> None:
    """A node added to the IR must get a SQL rule or an entry in support.REFUSED."""
    nodes = [
        cls
        for _, cls in inspect.getmembers(ir, inspect.isclass)
        if issubclass(cls, sympy.Basic) and cls.__module__.startswith("engine.formula")
    ]
    assert ir.ColRank in nodes and ir.Round in nodes  # the enumeration finds the IR
    missing = [c.__name__ for c in nodes + SYMPY_NODES if not has_rule(c) and c not in REFUSED]
    # an option atom; the base classes of the statistics and the pairwise nodes
    missing = [n for n in missing if n not in ("Str", "Stat", "_Pairwise")]
    assert missing == []


def test_refused_nodes_have_no_rule_and_say_why() -> None:
    for cls, why in REFUSED.items():
        assert not has_rule(cls) and len(why) > 20


# -- evaluating expressions on DuckDB and polars -------------------------------------------


def frame() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 12
    x = rng.uniform(-5, 20, n).round(3)
    y = rng.uniform(0.5, 9, n).round(2)
    # no zeros: 0 / 0 is NaN, which polars' min/max skip (see test_nan_is_not_skipped_by_max)
    z = rng.choice([-3, -2, -1, 1, 2, 3], n).astype(float)
    xs = [None if i in (3, 8) else float(v) for i, v in enumerate(x)]
    ys = [float(v) for v in y]
    ys[5] = ys[7] = 4.25  # ties for ranks
    return pl.DataFrame(
        {
            "unit": [f"u{i % 6}" for i in range(n)],
            "year": [2020 + i // 6 for i in range(n)],
            "x": xs,
            "y": ys,
            "z": [float(v) for v in z],
        }
    )


def on_duckdb(
    data: pl.DataFrame, exprs: dict[str, sympy.Basic], ctx: Context = CTX
) -> pl.DataFrame:
    con = duckdb.connect()
    con.register("t", data)
    chain = Chain()
    base = chain.add("b0", exp.select(exp.Star()).from_(table("t")), tuple(data.columns))
    rel = chain.define(base, [Definition(n, e, ctx) for n, e in exprs.items()], "l")
    query = chain.select(rel, [column(c) for c in ["unit", "year", *exprs]], order=["unit", "year"])
    return con.sql(DIALECTS["duckdb"].sql(query, pretty=False)).pl()


def on_polars(data: pl.DataFrame, exprs: dict[str, sympy.Basic]) -> pl.DataFrame:
    out = data.with_columns(to_polars(e, PCTX).alias(n) for n, e in exprs.items())
    return out.select("unit", "year", *exprs).sort("unit", "year")


def same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if not (math.isfinite(a) and math.isfinite(b)):
        # undefined either way (the audit reports both)
        return not math.isfinite(a) and not math.isfinite(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def assert_same(exprs: dict[str, sympy.Basic], data: pl.DataFrame | None = None) -> None:
    data = frame() if data is None else data
    expected, got = on_polars(data, exprs), on_duckdb(data, exprs)
    for name in exprs:
        pairs = zip(expected[name].to_list(), got[name].to_list())
        bad = [(a, b) for a, b in pairs if not same_value(a, b)]
        assert bad == [], f"{name} = {exprs[name]}: {bad[:3]}"


# -- random formulas -------------------------------------------------------------------------


def _div(a: sympy.Basic, b: sympy.Basic) -> sympy.Basic:
    return sympy.Mul(a, sympy.Pow(b, -1, evaluate=False), evaluate=False)


def _positive(e: sympy.Basic) -> sympy.Basic:
    return sympy.Add(sympy.Abs(e, evaluate=False), sympy.Rational(1, 10), evaluate=False)


def _stat(cls: type[ir.Stat], *options: sympy.Basic) -> object:
    return lambda e: ir.stat(cls, e, ("year",), *options)


LEAVES = st.sampled_from([X, Y, Z, sympy.Integer(2), sympy.Rational(1, 3), sympy.Float(0.5)])
UNARY = [
    lambda e: sympy.Abs(e, evaluate=False),
    lambda e: sympy.Mul(sympy.Integer(-1), e, evaluate=False),
    lambda e: sympy.Pow(e, 2, evaluate=False),
    # roots and logarithms of positive values: polars' min/max skip a NaN (an undefined
    # value then turns into a number), SQL's propagate it; see test_nan_is_not_skipped_by_max
    lambda e: sympy.Pow(_positive(e), sympy.Rational(1, 2), evaluate=False),
    lambda e: sympy.log(_positive(e), evaluate=False),
    lambda e: sympy.exp(sympy.Mul(sympy.Rational(1, 10), e, evaluate=False), evaluate=False),
    lambda e: ir.IsPresent(e, evaluate=False),
    lambda e: ir.Round(e, sympy.Integer(2), ir.Str("half_up"), evaluate=False),
    lambda e: ir.Round(e, sympy.Integer(0), ir.Str("half_even"), evaluate=False),
    _stat(ir.ColMax),
    _stat(ir.ColMin),
    _stat(ir.ColSum),
    _stat(ir.ColMean),
    _stat(ir.ColCount),
    _stat(ir.ColMedian),
    _stat(ir.ColStd, sympy.Integer(1)),
    _stat(ir.ColStd, sympy.Integer(0)),
    _stat(ir.ColQuantile, sympy.Float(0.3)),
    _stat(ir.ColRank, sympy.Integer(1), ir.Str("min")),
    _stat(ir.ColRank, sympy.Integer(0), ir.Str("average")),
    _stat(ir.ColRank, sympy.Integer(1), ir.Str("dense")),
    _stat(ir.ColRank, sympy.Integer(0), ir.Str("max")),
    lambda e: ir.stat(ir.ColCumSum, e, ("year",), Y),
]
BINARY = [
    lambda a, b: sympy.Add(a, b, evaluate=False),
    lambda a, b: sympy.Add(a, sympy.Mul(sympy.Integer(-1), b, evaluate=False), evaluate=False),
    lambda a, b: sympy.Mul(a, b, evaluate=False),
    _div,
    lambda a, b: sympy.Max(a, b, evaluate=False),
    lambda a, b: sympy.Min(a, b, evaluate=False),
    lambda a, b: ir.Coalesce(a, b, evaluate=False),
    lambda a, b: ir.MinPresent(a, b, evaluate=False),
    lambda a, b: sympy.Piecewise(
        (a, sympy.StrictGreaterThan(X, Z, evaluate=False)), (b, True), evaluate=False
    ),
    lambda a, b: ir.If(sympy.StrictGreaterThan(a, b, evaluate=False), a, b, evaluate=False),
    lambda a, b: ir.If(sympy.LessThan(a, Y, evaluate=False), a, b, evaluate=False),
    lambda a, b: ir.WeightedMedian(a, b, Z, sympy.Integer(1), sympy.Integer(2), Y, evaluate=False),
]


def _reads_rows(expr: sympy.Basic) -> bool:
    """Every statistic reads a column (polars takes sum(2) as 2, not 2 per row: see the
    report; a constant operand is left out until the polars rule is settled)."""
    if isinstance(expr, ir.Stat) and not ir.free_names(expr.operand):
        return False
    return all(_reads_rows(a) for a in expr.args if isinstance(a, sympy.Basic))


def formulas() -> st.SearchStrategy[sympy.Basic]:
    def extend(inner: st.SearchStrategy[sympy.Basic]) -> st.SearchStrategy[sympy.Basic]:
        unary = st.tuples(st.sampled_from(UNARY), inner).map(lambda p: p[0](p[1]))
        binary = st.tuples(st.sampled_from(BINARY), inner, inner).map(lambda p: p[0](p[1], p[2]))
        return unary | binary

    return st.recursive(LEAVES, extend, max_leaves=6).filter(_reads_rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas())
def test_random_formulas_give_the_polars_values_on_duckdb(expr: sympy.Basic) -> None:
    assert_same({"v": expr})


def test_nan_is_not_skipped_by_max() -> None:
    """max(sqrt(x), x) with x < 0 is undefined (NaN), never x: SQL's GREATEST keeps the
    NaN, so the audit reports it."""
    expr = sympy.Max(sympy.Pow(X, sympy.Rational(1, 2), evaluate=False), X, evaluate=False)
    got = values(expr, one_year([-4.0, 9.0]))
    assert math.isnan(got[0]) and got[1] == 9.0


def test_at_takes_the_row_of_a_fixed_period() -> None:
    at = ir.At(
        sympy.Mul(X, Y, evaluate=False), sympy.Symbol("year"), sympy.Integer(2020), evaluate=False
    )
    assert_same({"v": _div(X, at)})


# -- pinned conventions against their definitions ----------------------------------------


def values(expr: sympy.Basic, data: pl.DataFrame, ctx: Context = CTX) -> list[float | None]:
    return on_duckdb(data, {"v": expr}, ctx)["v"].to_list()


def one_year(x: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"unit": [f"u{i:02}" for i in range(len(x))], "year": [2020] * len(x), "x": x},
        schema_overrides={"x": pl.Float64},
    )


@pytest.mark.parametrize(
    ("ties", "method"), [("min", "min"), ("max", "max"), ("dense", "dense"), ("average", "average")]
)
@pytest.mark.parametrize("descending", [True, False])
def test_ranks_are_scipys_and_missing_values_get_none(
    ties: str, method: str, descending: bool
) -> None:
    x = [3.0, None, 1.5, 3.0, 7.0, None, 1.5, 0.0]
    rank = ir.stat(ir.ColRank, X, ("year",), sympy.Integer(int(descending)), ir.Str(ties))
    got = values(rank, one_year(x))
    present = [v for v in x if v is not None]
    expected = iter(scipy_stats.rankdata([-v if descending else v for v in present], method=method))
    assert got == [None if v is None else float(next(expected)) for v in x]


@pytest.mark.parametrize("ddof", [0, 1])
def test_std_is_numpys_with_the_declared_ddof(ddof: int) -> None:
    x = [2.0, 4.0, None, 4.0, 5.0, 7.0, 9.0]
    got = values(ir.stat(ir.ColStd, X, ("year",), sympy.Integer(ddof)), one_year(x))
    expected = float(np.std([v for v in x if v is not None], ddof=ddof))
    assert all(abs(g - expected) < 1e-12 for g in got)


@pytest.mark.parametrize("q", [0.0, 0.15, 0.25, 0.5, 0.9, 1.0])
def test_quantiles_interpolate_linearly_as_numpy(q: float) -> None:
    x = [1.0, 2.0, 4.0, None, 10.0, 3.5]
    got = values(ir.stat(ir.ColQuantile, X, ("year",), sympy.Float(q)), one_year(x))
    expected = float(np.quantile([v for v in x if v is not None], q, method="linear"))
    assert all(abs(g - expected) < 1e-12 for g in got)


def test_log_is_natural_and_log10_divides_by_ln_10() -> None:
    x = [0.5, 1.0, 10.0, 123.0]
    got = values(sympy.log(X, evaluate=False), one_year(x))
    assert got == pytest.approx([math.log(v) for v in x], rel=1e-15)
    log10 = _div(sympy.log(X, evaluate=False), sympy.log(sympy.Integer(10), evaluate=False))
    assert values(log10, one_year(x)) == pytest.approx([math.log10(v) for v in x], rel=1e-15)


CASES = [2.675, 1.005, 0.125, -0.125, 2.5, -2.5, 0.5, 1.5, 0.7455, 62.45, 1234.5675, -3.14159]


@pytest.mark.parametrize("digits", [0, 1, 2, 3])
@pytest.mark.parametrize("mode", ["half_up", "half_even"])
def test_round_rounds_the_decimal_value(digits: int, mode: str) -> None:
    """round() rounds the number as written (2.675 -> 2.68 half up), not its binary value."""
    rounding = ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN
    got = values(ir.Round(X, sympy.Integer(digits), ir.Str(mode), evaluate=False), one_year(CASES))
    step = Decimal(1).scaleb(-digits)
    expected = [float(Decimal(repr(v)).quantize(step, rounding=rounding)) for v in CASES]
    assert got == expected


def test_division_by_zero_is_undefined_not_missing_on_every_engine_sql() -> None:
    """Plain printing (the audit's tests of causes) keeps IEEE values: x / 0 is infinite,
    not NULL. A run's steps make it NULL and mark it (tests/test_sql_conventions.py)."""
    x = [1.0, 0.0, 2.0]
    mean_of_inverse = ir.stat(ir.ColMean, sympy.Pow(X, -1, evaluate=False), ("year",))
    got = values(mean_of_inverse, one_year(x))
    assert all(v is not None and not math.isfinite(v) for v in got)


def test_spark_and_postgres_print_the_guards() -> None:
    """Spark (ANSI mode raises on x / 0, ln(0) is NULL) and PostgreSQL (raises) get a CASE
    that yields NaN; every dialect prints NULL ordering explicitly."""
    from engine.backends.sql.printer import to_sql

    expr = sympy.log(_div(X, Y), evaluate=False)
    rank = ir.stat(ir.ColRank, X, ("year",), sympy.Integer(0), ir.Str("min"))
    for name in ("spark", "postgres"):
        text = DIALECTS[name].sql(to_sql(expr, CTX), pretty=False)
        assert "CAST('NaN' AS DOUBLE" in text and "CASE WHEN" in text
    for name, d in DIALECTS.items():
        text = d.sql(to_sql(rank, CTX), pretty=False)
        assert "ASC NULLS LAST" in text, name
