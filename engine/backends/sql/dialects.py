"""What differs between SQL engines: one sqlglot dialect class per engine, and its refusals.

The printer (:mod:`engine.backends.sql.printer`) builds one sqlglot expression tree for
every engine. Where engines disagree on a convention, the tree holds a node of our own
(below) instead of a bare SQL function, and each dialect's ``Generator.TRANSFORMS`` table
prints that node the engine's way, as sqlglot's own dialects do. The conventions pinned
here, so that DuckDB, Spark and PostgreSQL compute what polars computes:

* **Undefined values are IEEE values first.** ``x / 0``, ``ln(0)``, ``ln(-1)`` are
  infinite or NaN in DuckDB; Spark (ANSI mode raises, ``ln`` of a non-positive value is
  NULL) and PostgreSQL (raises) get an explicit ``CASE`` that yields NaN. A run's step
  then turns every non-finite value into NULL where it arises and marks it
  (:func:`engine.backends.sql.printer.to_sql_step`), as polars does; the audit's tests of
  causes read the plain IEEE values.
* **NULL ordering is always printed** (``ASC NULLS LAST``), never left to the engine's
  default (Spark sorts NULLs first in ascending order, DuckDB last, and DuckDB's default
  is a setting).
* **Float sums**: DuckDB's ``SUM`` on doubles adds in thread order, so the last bit can
  change between runs; its ``FSUM`` (compensated) does not. Spark adds the rows of a
  window partition in one task.
* **Quantiles** interpolate linearly (numpy's default, R type 7): ``QUANTILE_CONT`` in
  DuckDB, ``PERCENTILE`` in Spark. PostgreSQL has no ordered-set aggregate over a window:
  refused.
* ``LN`` is always printed for the natural log (``LOG(x)`` is log10 in DuckDB and
  PostgreSQL but ln in Spark).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.spark import Spark

__all__ = [
    "DIALECTS",
    "FloatSum",
    "IeeeDiv",
    "IsFinite",
    "NaturalLog",
    "QuantileCont",
    "SafeExp",
    "SafePow",
    "SafeSqrt",
    "SqlDialect",
    "dialect",
    "double",
    "nan",
]


# -- nodes whose printing differs per engine ----------------------------------------


class IsFinite(exp.Expression, exp.Func):
    """True for a finite number, false for NaN and infinities, NULL for NULL."""


class IeeeDiv(exp.Expression, exp.Func):
    """``this / expression`` with IEEE semantics: infinite or NaN (never an error) when
    the divisor is 0."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True}


class NaturalLog(exp.Expression, exp.Func):
    """ln(x); NaN (or -inf) for x <= 0, never NULL or an error."""


class SafeSqrt(exp.Expression, exp.Func):
    """sqrt(x); NaN for x < 0."""


class SafePow(exp.Expression, exp.Func):
    """x ** y; NaN (or inf) where undefined."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True}


class SafeExp(exp.Expression, exp.Func):
    """exp(x); inf on overflow."""


class FloatSum(exp.Expression, exp.AggFunc):
    """Sum of doubles, the same in every run."""


class QuantileCont(exp.Expression, exp.AggFunc):
    """The ``quantile`` (0..1) of ``this`` with linear interpolation."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "quantile": True}


def double(value: str) -> exp.Cast:
    """A DOUBLE literal from its decimal text (parsed by the engine, correctly rounded)."""
    return exp.cast(exp.Literal.string(value), exp.DataType.build("DOUBLE"))


def nan() -> exp.Cast:
    return double("NaN")


def _case(cond: exp.Expr, then: exp.Expr, other: exp.Expr) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=cond, true=then)], default=other)


def _zero() -> exp.Cast:
    return exp.cast(exp.Literal.number(0), exp.DataType.build("DOUBLE"))


def _two(e: exp.Func) -> tuple[exp.Expr, exp.Expr]:
    return e.this.copy(), e.expression.copy()


def _finite_by_comparison(gen: Any, e: exp.Expr) -> str:
    # NaN sorts above +inf in Spark and PostgreSQL (and DuckDB), so it fails `|x| < inf`;
    # x is read once (a guard's operand may be large)
    inside = exp.LT(this=exp.Abs(this=e.this.copy()), expression=double("Infinity"))
    return str(gen.sql(exp.Paren(this=inside)))


def _guarded_div(gen: Any, e: exp.Expr) -> str:
    num, den = _two(e)  # type: ignore[arg-type]
    plain = exp.Div(this=num, expression=den.copy(), typed=False, safe=False)
    return str(gen.sql(_case(exp.EQ(this=den, expression=_zero()), nan(), plain)))


def _guarded_ln(gen: Any, e: exp.Expr) -> str:
    x = e.this
    return str(
        gen.sql(_case(exp.LTE(this=x.copy(), expression=_zero()), nan(), exp.Ln(this=x.copy())))
    )


def _guarded_sqrt(gen: Any, e: exp.Expr) -> str:
    x = e.this
    return str(
        gen.sql(_case(exp.LT(this=x.copy(), expression=_zero()), nan(), exp.Sqrt(this=x.copy())))
    )


def _guarded_pow(gen: Any, e: exp.Expr) -> str:
    base, power = _two(e)  # type: ignore[arg-type]
    fractional = exp.NEQ(this=power.copy(), expression=exp.Floor(this=power.copy()))
    negative = exp.and_(exp.LT(this=base.copy(), expression=_zero()), fractional)
    zero_negative = exp.and_(
        exp.EQ(this=base.copy(), expression=_zero()),
        exp.LT(this=power.copy(), expression=_zero()),
    )
    pow_ = exp.Pow(this=base, expression=power)
    return str(
        gen.sql(
            exp.Case(
                ifs=[
                    exp.If(this=negative, true=nan()),
                    exp.If(this=zero_negative, true=double("Infinity")),
                ],
                default=pow_,
            )
        )
    )


def _guarded_exp(gen: Any, e: exp.Expr) -> str:
    x = e.this
    # exp(709.78...) is the largest finite double; PostgreSQL raises beyond it
    return str(
        gen.sql(
            _case(
                exp.GT(this=x.copy(), expression=double("709.782712893384")),
                double("Infinity"),
                exp.Exp(this=x.copy()),
            )
        )
    )


def _call(name: str) -> Callable[[Any, exp.Expr], str]:
    def render(gen: Any, e: exp.Expr) -> str:
        args = [a for a in (e.this, e.args.get("expression"), e.args.get("quantile")) if a]
        return str(gen.func(name, *args))

    return render


def _plain(cls: type[exp.Expr]) -> Callable[[Any, exp.Expr], str]:
    def render(gen: Any, e: exp.Expr) -> str:
        args = {"this": e.this.copy()}
        if e.args.get("expression") is not None:
            args["expression"] = e.expression.copy()
        node = cls(**args)
        if isinstance(node, exp.Div):
            node.set("typed", False)
            node.set("safe", False)
        return str(gen.sql(node))

    return render


class _ExplicitNulls:
    """Print ``ASC``/``DESC`` and ``NULLS FIRST``/``NULLS LAST`` on every sort key."""

    def ordered_sql(self, expression: exp.Ordered) -> str:
        this = self.sql(expression, "this")  # type: ignore[attr-defined]
        order = " DESC" if expression.args.get("desc") else " ASC"
        nulls = " NULLS FIRST" if expression.args.get("nulls_first") else " NULLS LAST"
        return f"{this}{order}{nulls}"


# -- one sqlglot dialect per engine ------------------------------------------------------


class IndexlabDuckDB(DuckDB):
    class Generator(_ExplicitNulls, DuckDB.Generator):  # type: ignore[misc,valid-type]
        TRANSFORMS: ClassVar[dict[type[exp.Expr], Callable[..., str]]] = {
            **DuckDB.Generator.TRANSFORMS,
            IsFinite: _call("ISFINITE"),
            IeeeDiv: _plain(exp.Div),  # DOUBLE / 0 is inf or NaN in DuckDB
            NaturalLog: _plain(exp.Ln),  # ln(0) = -inf, ln(-1) = NaN
            SafeSqrt: _plain(exp.Sqrt),
            SafePow: _plain(exp.Pow),
            SafeExp: _plain(exp.Exp),
            FloatSum: _call("FSUM"),
            QuantileCont: _call("QUANTILE_CONT"),
        }


class IndexlabSpark(Spark):
    class Generator(_ExplicitNulls, Spark.Generator):  # type: ignore[misc,valid-type]
        TRANSFORMS: ClassVar[dict[type[exp.Expr], Callable[..., str]]] = {
            **Spark.Generator.TRANSFORMS,
            IsFinite: _finite_by_comparison,
            IeeeDiv: _guarded_div,  # ANSI mode raises on / 0
            NaturalLog: _guarded_ln,  # ln(x <= 0) is NULL in Spark
            SafeSqrt: _plain(exp.Sqrt),
            SafePow: _plain(exp.Pow),
            SafeExp: _plain(exp.Exp),
            FloatSum: _call("SUM"),
            QuantileCont: _call("PERCENTILE"),
        }


class IndexlabPostgres(Postgres):
    class Generator(_ExplicitNulls, Postgres.Generator):  # type: ignore[misc,valid-type]
        TRANSFORMS: ClassVar[dict[type[exp.Expr], Callable[..., str]]] = {
            **Postgres.Generator.TRANSFORMS,
            IsFinite: _finite_by_comparison,
            IeeeDiv: _guarded_div,  # raises on / 0
            NaturalLog: _guarded_ln,  # raises on ln(0)
            SafeSqrt: _guarded_sqrt,
            SafePow: _guarded_pow,
            SafeExp: _guarded_exp,
            FloatSum: _call("SUM"),
        }


@dataclass(frozen=True)
class SqlDialect:
    """An engine's SQL: its sqlglot dialect and the features it cannot compute.

    `refuses` maps a feature (see :mod:`engine.backends.sql.support`) to why the engine
    cannot compute it; such a methodology is refused before any data is read.
    """

    name: str
    glot: type[sqlglot.Dialect]
    #: executed by indexlab's test matrix (DuckDB and Spark); PostgreSQL is printed only
    tested: bool
    refuses: Mapping[str, str] = field(default_factory=dict)
    #: the identifier-matching rule of the engine, for the name check
    case_insensitive: bool = True

    LOCF: ClassVar[str] = "locf"
    QUANTILE: ClassVar[str] = "quantile"

    def sql(self, tree: exp.Expr, *, pretty: bool = True) -> str:
        return tree.sql(
            dialect=self.glot, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE
        )


DIALECTS: dict[str, SqlDialect] = {
    d.name: d
    for d in (
        SqlDialect("duckdb", IndexlabDuckDB, tested=True),
        SqlDialect("spark", IndexlabSpark, tested=True),
        SqlDialect(
            "postgres",
            IndexlabPostgres,
            tested=False,
            refuses={
                SqlDialect.QUANTILE: "PostgreSQL has no quantile (percentile_cont) over a window",
                SqlDialect.LOCF: "PostgreSQL has no IGNORE NULLS in window functions "
                "(last observation carried forward)",
            },
            case_insensitive=False,
        ),
    )
}


def dialect(name: str) -> SqlDialect:
    """The dialect called `name` (duckdb, spark, postgres)."""
    return DIALECTS[name]
