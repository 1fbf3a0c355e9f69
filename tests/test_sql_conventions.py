"""The conventions pinned in the printed SQL, executed on DuckDB and on Spark and checked
against their definitions (Python's decimal and fractions, numpy, scipy), and a run's
steps (undefined results missing and marked) against the polars compiler.

Pinned: no integer division (every number is DOUBLE), NULL ordering in ranks (missing
values get no rank; Spark sorts NULLs first by default), population vs sample SD,
rounding half up vs half even of the decimal value, float sums (the same in every run
and every order of the rows).
"""

from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from sqlglot import exp

from engine import api
from engine.backends.polars.compile import compile_step
from engine.backends.sql.dialects import DIALECTS
from engine.backends.sql.engines import DuckDBEngine, Engine, SparkEngine
from engine.backends.sql.lower import Definition
from engine.backends.sql.printer import Context, column, marker
from engine.backends.sql.statements import Chain
from engine.formula import ir
from tests.test_sql_printer import BINARY, PCTX, UNARY, _reads_rows

X, Y, Z = sympy.symbols("x y z")
CTX = Context("unit", "year", order=("unit", "year"))


def evaluate(
    engine: Engine, data: pl.DataFrame, exprs: dict[str, sympy.Basic], *, guarded: bool = False
) -> pl.DataFrame:
    """The expressions as columns over `data` on `engine` (with their markers when
    `guarded`: a run's steps), rows by key."""
    source = engine.register(data)
    chain = Chain()
    base = chain.add("b0", exp.select(exp.Star()).from_(source.table), source.columns)
    defs = [Definition(n, e, CTX, guarded=guarded) for n, e in exprs.items()]
    rel = chain.define(base, defs, "l")
    names = [*exprs] + ([marker(n) for n in exprs] if guarded else [])
    query = chain.select(rel, [column(c) for c in ["unit", "year", *names]], order=["unit", "year"])
    return engine.fetch(query)


def one_year(**columns: list[float | None]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame(
        {"unit": [f"u{i:02}" for i in range(n)], "year": [2020] * n, **columns},
        schema_overrides=dict.fromkeys(columns, pl.Float64),
    )


@pytest.fixture(scope="module")
def duck() -> Any:
    engine = DuckDBEngine()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def spark_engine(spark: Any) -> Any:
    engine = SparkEngine(session=spark)
    yield engine
    engine.close()


# -- the conventions, on both engines in one query each ---------------------------------

RANK_X = [3.0, None, 1.5, 3.0, 7.0, None, 1.5, 0.0]
SD_X = [2.0, 4.0, None, 4.0, 5.0, 7.0, 9.0, 1.0]
ROUND_X = [2.675, 1.005, 0.125, -0.125, 2.5, -2.5, 0.5, 1.5]


def _convention_exprs() -> dict[str, sympy.Basic]:
    out: dict[str, sympy.Basic] = {}
    for ties in ("min", "max", "dense", "average"):
        for desc in (0, 1):
            out[f"rank_{ties}_{desc}"] = ir.stat(
                ir.ColRank, X, ("year",), sympy.Integer(desc), ir.Str(ties)
            )
    out["sd_sample"] = ir.stat(ir.ColStd, Y, ("year",), sympy.Integer(1))
    out["sd_population"] = ir.stat(ir.ColStd, Y, ("year",), sympy.Integer(0))
    for mode in ("half_up", "half_even"):
        for digits in (0, 2):
            out[f"round_{mode}_{digits}"] = ir.Round(
                Z, sympy.Integer(digits), ir.Str(mode), evaluate=False
            )
    # integer division: 7 / 2 and integral columns divided are 3.5, never 3
    out["half"] = sympy.Mul(sympy.Integer(7), sympy.Pow(2, -1, evaluate=False), evaluate=False)
    out["ratio"] = sympy.Mul(Y, sympy.Pow(sympy.Symbol("k"), -1, evaluate=False), evaluate=False)
    return out


def _check_conventions(got: pl.DataFrame) -> None:
    present = [v for v in RANK_X if v is not None]
    for ties in ("min", "max", "dense", "average"):
        for desc in (0, 1):
            ranks = iter(scipy_stats.rankdata([-v if desc else v for v in present], method=ties))
            expected = [None if v is None else float(next(ranks)) for v in RANK_X]
            assert got[f"rank_{ties}_{desc}"].to_list() == expected, (ties, desc)
    values = [v for v in SD_X if v is not None]
    for name, ddof in (("sd_sample", 1), ("sd_population", 0)):
        expected_sd = float(np.std(values, ddof=ddof))
        assert all(abs(v - expected_sd) < 1e-12 for v in got[name].to_list()), name
    for mode, rounding in (("half_up", ROUND_HALF_UP), ("half_even", ROUND_HALF_EVEN)):
        for digits in (0, 2):
            step = Decimal(1).scaleb(-digits)
            expected = [float(Decimal(repr(v)).quantize(step, rounding=rounding)) for v in ROUND_X]
            assert got[f"round_{mode}_{digits}"].to_list() == expected, (mode, digits)
    assert got["half"].to_list() == [3.5] * len(RANK_X)
    assert got["ratio"].to_list() == [y / 2 if y is not None else None for y in SD_X]


def _convention_data() -> pl.DataFrame:
    frame = one_year(x=RANK_X, y=SD_X, z=ROUND_X)
    return frame.with_columns(pl.lit(2, dtype=pl.Int64).alias("k"))  # an integer column


def test_conventions_on_duckdb(duck: Any) -> None:
    _check_conventions(evaluate(duck, _convention_data(), _convention_exprs()))


def test_conventions_on_spark(spark_engine: Any) -> None:
    """Spark's own defaults differ: NULLs first in ascending order, `/` of integers in
    PostgreSQL-like dialects; the printed SQL pins each."""
    _check_conventions(evaluate(spark_engine, _convention_data(), _convention_exprs()))


def test_printed_sql_states_each_convention() -> None:
    """Whatever the engine's session settings, the text itself says it."""
    exprs = _convention_exprs()
    for name, d in DIALECTS.items():
        chain = Chain()
        base = chain.add("b0", exp.select(exp.Star()).from_("t"), ("unit", "year", "x", "y"))
        rel = chain.define(base, [Definition(n, e, CTX) for n, e in exprs.items()], "l")
        text = d.sql(chain.select(rel, [column(n) for n in exprs]), pretty=False)
        assert "ASC NULLS LAST" in text and "DESC NULLS LAST" in text, name
        assert "STDDEV_SAMP" in text.upper() and "STDDEV_POP" in text.upper(), name
        double = "DOUBLE PRECISION" if name == "postgres" else "DOUBLE"
        assert f"CAST(7 AS {double})" in text and f"CAST(2 AS {double})" in text, name
        assert " ROUND(" not in text.upper(), name  # rounding is integer arithmetic, not ROUND


def test_float_sums_do_not_depend_on_the_order_of_rows(duck: Any, tmp_path: Path) -> None:
    """A sum over many values of mixed magnitude: DuckDB's FSUM (compensated) is the
    exact sum rounded once (Python's math.fsum), whatever the order of the rows and the
    threads; a plain SUM would change in the last bits."""
    rng = random.Random(11)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(20_000)]
    total = ir.stat(ir.ColSum, Y, ())
    sums = set()
    for seed in range(3):
        order = list(range(len(values)))
        random.Random(seed).shuffle(order)
        data = pl.DataFrame(
            {
                "unit": [f"u{i:05}" for i in order],
                "year": [2020] * len(values),
                "y": [values[i] for i in order],
            }
        )
        sums.add(evaluate(duck, data, {"s": total})["s"][0])
    assert sums == {math.fsum(values)}


def test_integer_columns_divide_as_numbers(tmp_path: Path) -> None:
    """Integer data (as DuckDB reads CSV integers) is never divided as integers."""
    data = tmp_path / "d.csv"
    data.write_text("region,year,x,y\nA,2020,7,2\nB,2020,1,3\n", encoding="utf-8")
    methodology = (
        "indexlab: 1\nid: t\ntitle: t\ndata: {unit: region, period: year}\n"
        "inputs: {x: {}, y: {}}\nindicators:\n  a: {formula: x / y}\n  b: {formula: 7 / 2}\n"
    )
    got = api.run(methodology, [str(data)], engine="duckdb").frame
    assert got["a"].to_list() == [3.5, 1 / 3] and got["b"].to_list() == [3.5, 3.5]


# -- a run's steps: undefined results missing and marked, as polars ----------------------

GUARDED_UNARY = [
    *UNARY,
    lambda e: sympy.log(e, evaluate=False),  # of zeros and negatives
    lambda e: sympy.Pow(e, sympy.Rational(1, 2), evaluate=False),
    lambda e: sympy.Pow(e, -1, evaluate=False),
    lambda e: sympy.exp(sympy.Mul(sympy.Integer(400), e, evaluate=False), evaluate=False),
    lambda e: ir.At(e, sympy.Symbol("year"), sympy.Integer(2021), evaluate=False),
]
GUARDED_BINARY = [
    # weights of a weighted median are positive constants in a methodology (the printer's
    # test draws them from data; here zeros and negatives would make it meaningless)
    *(b for b in BINARY if not isinstance(b(X, Y), ir.WeightedMedian)),
    lambda a, b: ir.WeightedMedian(
        a, b, X, sympy.Integer(1), sympy.Integer(2), sympy.Integer(3), evaluate=False
    ),
    lambda a, b: sympy.Pow(a, b, evaluate=False),
    lambda a, b: ir.If(
        sympy.And(
            sympy.StrictGreaterThan(a, Z, evaluate=False),
            sympy.LessThan(sympy.log(b, evaluate=False), Y, evaluate=False),
        ),
        a,
        b,
        evaluate=False,
    ),
]


def _guarded_formulas() -> st.SearchStrategy[sympy.Basic]:
    leaves = st.sampled_from([X, Y, Z, sympy.Integer(2), sympy.Float(0.5)])

    def extend(inner: st.SearchStrategy[sympy.Basic]) -> st.SearchStrategy[sympy.Basic]:
        unary = st.tuples(st.sampled_from(GUARDED_UNARY), inner).map(lambda p: p[0](p[1]))
        pairs = st.tuples(st.sampled_from(GUARDED_BINARY), inner, inner)
        return unary | pairs.map(lambda p: p[0](p[1], p[2]))

    return st.recursive(leaves, extend, max_leaves=5).filter(_reads_rows)


def _panel() -> pl.DataFrame:
    """Zeros, negatives, missing values and ties over two years."""
    x = [0.0, -2.0, None, 3.0, 1.5, 0.0, 4.0, -1.0, 2.0, None, 0.5, 3.0]
    y = [1.0, 0.0, 2.0, -3.0, 4.0, 4.0, 0.5, 2.0, None, 1.0, -0.5, 6.0]
    z = [-1.0, 1.0, 2.0, 0.0, -2.0, 3.0, 1.0, 0.0, 2.0, -1.0, 1.0, 2.0]
    return pl.DataFrame(
        {"unit": [f"u{i % 6}" for i in range(12)], "year": [2020 + i // 6 for i in range(12)]}
        | {"x": x, "y": y, "z": z}
    )


def _polars_step(data: pl.DataFrame, expr: sympy.Basic) -> pl.DataFrame:
    compiled = compile_step(expr, PCTX, "v")
    lf = data.lazy()
    for level in compiled.temps:
        lf = lf.with_columns(level)
    undefined = compiled.undefined if compiled.undefined is not None else pl.lit(False)
    out = lf.with_columns(compiled.value.alias("v"), undefined.alias("u")).collect()
    return out.select("unit", "year", "v", "u").sort("unit", "year")


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_guarded_formulas())
def test_steps_are_missing_and_marked_where_polars_marks_them(duck: Any, expr: sympy.Basic) -> None:
    data = _panel()
    expected = _polars_step(data, expr)
    got = evaluate(duck, data, {"v": expr}, guarded=True)
    assert got[marker("v")].to_list() == expected["u"].to_list(), expr
    for a, b in zip(expected["v"].to_list(), got["v"].to_list()):
        if a is None or b is None:
            assert a is None and b is None, (expr, expected["v"].to_list(), got["v"].to_list())
        else:
            assert abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)), expr
