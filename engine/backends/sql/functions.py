"""SQL building blocks that pin a convention, shared by the printer and the statements.

Each returns sqlglot builder objects (never text): a quoted column, a DOUBLE literal that
every engine reads as the same double, a window function with its NULL ordering stated,
a mean as the sum over the count of present values, and the decimal rounding that gives
the polars value bit for bit (:func:`round_decimal`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.backends.sql.dialects import FloatSum, IeeeDiv, IsFinite, double
from engine.formula.rounding import PLACES, round_limit, round_places

__all__ = [
    "BIGINT",
    "DOUBLE",
    "CompileError",
    "any_null",
    "as_double",
    "column",
    "if_present",
    "key_literal",
    "literal",
    "mean",
    "missing_if_any",
    "ordered",
    "paren",
    "round_decimal",
    "window",
]


class CompileError(Exception):
    """An IR node the SQL printer has no rule for: an engine bug, not a user error."""


def paren(e: exp.Expr) -> exp.Expr:
    """`e` in parentheses unless it is a column, a literal or a function call (sqlglot
    prints the tree as built: it adds no parentheses for precedence)."""
    atomic = isinstance(e, exp.Column | exp.Literal | exp.Cast | exp.Paren) or (
        isinstance(e, exp.Func) and not isinstance(e, IeeeDiv)  # IeeeDiv may print as a / b
    )
    return e if atomic else exp.Paren(this=e)


DOUBLE = exp.DataType.build("DOUBLE")
BIGINT = exp.DataType.build("BIGINT")


def column(name: str) -> exp.Column:
    """A quoted column reference (names like ``SD.norm`` are one identifier)."""
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def literal(value: float) -> exp.Expr:
    """A DOUBLE literal that every engine reads as exactly `value`."""
    if value != value or value in (float("inf"), float("-inf")):
        return double(repr(value).replace("inf", "Infinity").replace("nan", "NaN"))
    if value == int(value) and abs(value) < 2**53:
        return exp.cast(exp.Literal.number(int(value)), DOUBLE)
    return double(repr(value))


def key_literal(value: object) -> exp.Expr:
    """A key value as written in a formula or a methodology (an integer or text)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CompileError(f"a key value must be an integer or text, not {value!r}")
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(value)


def any_null(args: list[exp.Expr]) -> exp.Expr:
    return exp.or_(*(exp.Is(this=a.copy(), expression=exp.Null()) for a in args))


def missing_if_any(args: list[exp.Expr], value: exp.Expr) -> exp.Expr:
    """`value`, or NULL when an argument is NULL (GREATEST/LEAST skip NULLs)."""
    return exp.Case(ifs=[exp.If(this=any_null(args), true=exp.Null())], default=value)


def window(
    func: exp.Expr,
    keys: tuple[str, ...],
    order: list[exp.Ordered] | None = None,
    frame: str | None = None,
) -> exp.Window:
    """``func OVER (PARTITION BY keys ORDER BY order <frame>)``; frame is ROWS or RANGE
    from the partition's start to the current row."""
    args: dict[str, object] = {"this": func, "partition_by": [column(k) for k in keys]}
    if order:
        args["order"] = exp.Order(expressions=order)
    if frame:
        args["spec"] = exp.WindowSpec(
            kind=frame, start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
        )
    return exp.Window(**args)


def ordered(e: exp.Expr, *, desc: bool = False, nulls_first: bool = False) -> exp.Ordered:
    return exp.Ordered(this=e, desc=desc, nulls_first=nulls_first)


def as_double(e: exp.Expr) -> exp.Expr:
    return exp.cast(e, DOUBLE)


def if_present(x: exp.Expr, value: exp.Expr) -> exp.Expr:
    """`value` where `x` has a value, else NULL."""
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null())],
        default=value,
    )


def mean(x: exp.Expr, keys: tuple[str, ...]) -> exp.Expr:
    # the sum over the count of present values, as polars; NULL over no value
    total = window(FloatSum(this=x.copy()), keys)
    count = window(exp.Count(this=x.copy()), keys)
    return exp.Div(
        this=total,
        expression=exp.Nullif(this=as_double(count), expression=literal(0.0)),
        typed=False,
        safe=False,
    )


def round_decimal(x: exp.Expr, digits: int, mode: str) -> exp.Expr:
    """Round as polars does (:func:`engine.backends.polars.compile.round_decimal`), in
    integer arithmetic so that every engine gives the same bits.

    x is read as a decimal of 15 significant digits and at most 12 places
    (:func:`engine.formula.rounding.round_places`): m = x * 10^P (a double, exact to
    less than one half since |m| < 10^15), M = floor(m) + 1 when the fraction is above
    one half (or exactly one half and floor(m) is odd); R = |M| DIV 10^(P - digits)
    adjusted for ties by the declared rule, and the result R / 10^digits, a single
    correctly rounded division (polars parses the same decimal, also correctly rounded).
    From 2^53 / 10^digits on, and for NaN and infinities, x stays as it is.
    """
    if not 0 <= digits <= PLACES:
        raise CompileError(f"round() to {digits} decimals: 0 to {PLACES} are supported")
    magnitude_x = exp.Abs(this=x.copy())

    def by_places(value: Callable[[int], exp.Expr]) -> exp.Expr:
        """A CASE choosing value(P) by the magnitude of x."""
        ifs = [
            exp.If(this=exp.LT(this=magnitude_x.copy(), expression=literal(bound)), true=value(p))
            for bound, p in round_places(digits)
        ]
        return exp.Case(ifs=ifs, default=value(digits)) if ifs else value(digits)

    scale = by_places(lambda p: literal(float(10**p)))
    m = exp.Mul(this=paren(x.copy()), expression=exp.Paren(this=scale))
    low = exp.Floor(this=m.copy())
    frac = exp.Sub(this=m.copy(), expression=low.copy())
    low_int = exp.cast(low.copy(), BIGINT)
    odd = exp.EQ(
        this=exp.Mod(this=exp.Abs(this=low_int.copy()), expression=exp.Literal.number(2)),
        expression=exp.Literal.number(1),
    )
    up = exp.or_(
        exp.GT(this=frac.copy(), expression=literal(0.5)),
        exp.and_(exp.EQ(this=frac.copy(), expression=literal(0.5)), odd),
    )
    big_m = exp.Add(
        this=low_int,
        expression=exp.Case(
            ifs=[exp.If(this=up, true=exp.Literal.number(1))], default=exp.Literal.number(0)
        ),
    )
    unit = exp.Paren(this=by_places(lambda p: exp.Literal.number(10 ** (p - digits))))
    magnitude = exp.Abs(this=exp.Paren(this=big_m))
    if mode == "half_up":
        half = exp.Paren(this=by_places(lambda p: exp.Literal.number(10 ** (p - digits) // 2)))
        r: exp.Expr = exp.IntDiv(
            this=exp.Paren(this=exp.Add(this=magnitude, expression=half)),
            expression=unit.copy(),
        )
    elif mode == "half_even":
        whole = exp.IntDiv(this=magnitude.copy(), expression=unit.copy())
        rest2 = exp.Mul(
            this=exp.Mod(this=magnitude.copy(), expression=unit.copy()),
            expression=exp.Literal.number(2),
        )
        whole_odd = exp.EQ(
            this=exp.Mod(this=whole.copy(), expression=exp.Literal.number(2)),
            expression=exp.Literal.number(1),
        )
        bump = exp.or_(
            exp.GT(this=rest2.copy(), expression=unit.copy()),
            exp.and_(exp.EQ(this=rest2, expression=unit.copy()), whole_odd),
        )
        r = exp.Add(
            this=whole,
            expression=exp.Case(
                ifs=[exp.If(this=bump, true=exp.Literal.number(1))],
                default=exp.Literal.number(0),
            ),
        )
    else:
        raise CompileError(f"no SQL rule for rounding mode '{mode}'")
    negative = exp.LT(this=exp.Paren(this=big_m.copy()), expression=exp.Literal.number(0))
    signed = exp.Case(
        ifs=[exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=r.copy())))], default=r
    )
    value = IeeeDiv(this=as_double(signed), expression=literal(float(10**digits)))
    in_range = exp.LT(this=magnitude_x.copy(), expression=literal(round_limit(digits)))
    finite = IsFinite(this=x.copy())
    return exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null()),
            exp.If(this=exp.and_(finite, in_range), true=value),
        ],
        default=x.copy(),
    )
