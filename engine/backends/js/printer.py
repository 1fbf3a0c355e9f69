"""The formula IR printed as JavaScript, for pages that recompute an index in the browser.

The printer works as sympy's (``sympy/printing/printer.py``, whose
``JavascriptCodePrinter`` prints plain arithmetic): one ``_print_<Class>`` method per node
type, found along the node's class hierarchy; a node without one is refused with
:class:`JsPrintError`, never printed approximately. The rules mirror those of the polars
backend (:mod:`engine.backends.polars.compile`) one for one, so that the page computes
what ``indexlab run`` computes: missing values propagate, ``a / b`` is an IEEE division,
sums add in the order of the rows (the page gets its rows sorted by unit and period, the
order in which the engine adds), whole exponents 1-9 multiply left to right as polars
does, and the few functions of the runtime (``runtime.js``) follow polars' conventions
for ties, interpolation, rounding and conditions. (polars' optimizer rewrites ``a * b +
c`` as a "fused" multiply-add, but its kernel rounds the product and the sum apart, as
the page does.)

An expression prints as a *row expression* (JavaScript over the row index ``i``). A node
that needs other rows (a statistic across units, a rank, ``at()``, a running total, a
Copeland score) is hoisted into a whole column computed first, as the polars backend
computes a window expression: its operand becomes a column ``t<k>``, the statistic
another, and the row expression reads ``t<k>[i]``. Columns are read as ``C["name"]``, the
page's parameters (weights, choices) as ``P["name"]``.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> p = JsPrinter(JsContext("unit", "year", ("unit", "year")))
>>> p.row(sympy.Add(x, sympy.Integer(1), evaluate=False))
'R.add(C["x"][i], 1.0)'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import sympy
from sympy.core.relational import Relational

from engine.formula import ir
from engine.formula.types import Kind, kind_of


class JsPrintError(Exception):
    """An IR node (or a construct) the JavaScript printer has no rule for."""


@dataclass(frozen=True)
class JsContext:
    """What a step's printing needs to know besides its expression."""

    unit: str
    period: str | None
    #: key columns of the rows (unit, period); `at()` keeps the others fixed
    keys: tuple[str, ...]
    #: names read from the parameters object ``P`` instead of a column
    parameters: frozenset[str] = frozenset()
    #: tolerance of == and != (checks)
    atol: float = 0.0
    rtol: float = 0.0
    #: class labels from the highest band down (class_at_least)
    class_labels: tuple[str, ...] = ()
    #: the data has a single period (see compile.Context.single_group): the engine and
    #: polars then divide differently (see JsPrinter._divide), and the page must too
    single_group: bool = True
    #: columns polars holds as one value for all rows (scalar columns; see
    #: JsPrinter.uniform), which it divides by as by a constant
    uniform: frozenset[str] = frozenset()


def js(value: object) -> str:
    """A JavaScript literal: strings and names quoted as JSON."""
    return json.dumps(value, ensure_ascii=False)


def number(value: float) -> str:
    """A double as a JavaScript literal that reads back to the same double."""
    if value != value or value in (float("inf"), float("-inf")):
        raise JsPrintError(f"no JavaScript literal for the non-finite number {value}")
    text = repr(float(value))
    return text


@dataclass
class JsPrinter:
    """Prints expressions of one step: :meth:`row` returns the row expression, after
    which :attr:`lines` holds the statements computing its hoisted columns."""

    ctx: JsContext
    lines: list[str] = field(default_factory=list)
    reads: set[str] = field(default_factory=set)
    prefix: str = "t"
    _count: int = 0

    def row(self, expr: sympy.Basic) -> str:
        """`expr` as JavaScript over the row ``i``."""
        for cls in type(expr).__mro__:
            method: Callable[[sympy.Basic], str] | None = getattr(
                self, "_print_" + cls.__name__, None
            )
            if method is not None:
                return method(expr)
        raise JsPrintError(f"no JavaScript rule for {type(expr).__name__}: {expr}")

    def column(self, expr: sympy.Basic) -> str:
        """A hoisted column holding `expr` in every row; returns its name."""
        value = self.row(expr)
        return self._hoist(f"R.col(n, (i) => {value})")

    def _hoist(self, js_value: str) -> str:
        self._count += 1
        name = f"{self.prefix}{self._count}"
        self.lines.append(f"const {name} = {js_value};")
        return name

    def _print_Basic(self, expr: sympy.Basic) -> str:
        raise JsPrintError(f"no JavaScript rule for {type(expr).__name__}: {expr}")

    # -- atoms --------------------------------------------------------------------------

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        if expr.name in self.ctx.parameters:
            return f"P[{js(expr.name)}]"
        self.reads.add(expr.name)
        return f"C[{js(expr.name)}][i]"

    def _print_Number(self, expr: sympy.Number) -> str:
        return number(float(expr))

    def _print_BooleanTrue(self, expr: sympy.Basic) -> str:
        return "true"

    def _print_BooleanFalse(self, expr: sympy.Basic) -> str:
        return "false"

    # -- arithmetic (compile.py: Add, Mul, Pow, log, exp, Abs, Max, Min) ----------------

    def _print_Add(self, expr: sympy.Add) -> str:
        # left to right, in the author's order: float addition is not associative
        out = self.row(expr.args[0])
        for a in expr.args[1:]:
            out = f"R.add({out}, {self.row(a)})"
        return out

    def _print_Mul(self, expr: sympy.Mul) -> str:
        args = list(expr.args)
        if len(args) == 2 and args[0] == sympy.Integer(-1):
            return f"R.neg({self.row(args[1])})"
        out: str | None = None
        done: list[sympy.Basic] = []  # the factors so far: what a divisor divides
        for a in args:
            if isinstance(a, sympy.Pow) and a.exp == sympy.Integer(-1):
                out = self._divide(out if out is not None else "1.0", done, a.base)
            else:
                term = self.row(a)
                out = term if out is None else f"R.mul({out}, {term})"
            done.append(a)
        assert out is not None
        return out

    def uniform(self, expr: sympy.Basic) -> bool:
        """Whether polars holds `expr` as one value for all rows (a scalar column): a
        number, a parameter (a number in the methodology), a plain aggregation over all
        rows, or over one period when the data has one (max, min, median, count and
        quantile; the ordered sums, means and SDs come back as full columns), a column
        known to be uniform (:attr:`JsContext.uniform`), or any function of these."""
        if isinstance(expr, sympy.Symbol):
            return expr.name in self.ctx.parameters or expr.name in self.ctx.uniform
        if isinstance(expr, ir.Stat):
            plain = ir.ColMax | ir.ColMin | ir.ColMedian | ir.ColCount | ir.ColQuantile
            one_group = not expr.keys or (
                self.ctx.single_group and set(expr.keys) <= {self.ctx.period}
            )
            return isinstance(expr, plain) and one_group
        if isinstance(expr, ir.At | ir.Copeland | ir.FillForward | ir.ClassAtLeast):
            return False
        return all(self.uniform(a) for a in expr.args if isinstance(a, sympy.Basic))

    def _divide(self, num: str, factors: Sequence[sympy.Basic], den: sympy.Basic) -> str:
        """``num / den`` (`num` the product of `factors`) as the polars backend divides
        (compile_arithmetic._divide): polars divides a column by a single value (a scalar column) by
        multiplying with its reciprocal, which is not correctly rounded, and the engine
        turns a denominator that is a statistic into a full column in some cases (adding
        ``num * 0``); otherwise it is an IEEE division."""
        num_uniform = all(self.uniform(f) for f in factors)
        den_uniform = self.uniform(den)
        params = self.ctx.parameters  # numbers in the polars backend
        scalar = self.ctx.single_group or _pooled(den) or _constant(den, params)
        if not _reads_rows(den, params) and scalar:
            den_uniform = den_uniform and num_uniform  # den + num * 0
        if den_uniform and not num_uniform:
            return f"R.mul({num}, R.div(1.0, {self.row(den)}))"
        return f"R.div({num}, {self.row(den)})"

    def _print_Pow(self, expr: sympy.Pow) -> str:
        base, exp = expr.args
        if exp == sympy.Integer(-1):
            return f"R.div(1.0, {self.row(base)})"
        if exp == sympy.Rational(1, 2):
            return f"R.sqrt({self.row(base)})"
        if exp.is_Number:
            e = float(exp)
            if e.is_integer() and 1 <= e <= 9:
                return f"R.powk({self.row(base)}, {int(e)})"
            return f"R.pow({self.row(base)}, {number(e)})"
        return f"R.pow({self.row(base)}, {self.row(exp)})"

    def _print_log(self, expr: sympy.log) -> str:
        arg = expr.args[0]
        if arg.is_Number:  # as the polars backend: the constant is evaluated by sympy
            return number(float(sympy.log(arg).evalf()))
        return f"R.log({self.row(arg)})"

    def _print_exp(self, expr: sympy.exp) -> str:
        return f"R.exp({self.row(expr.args[0])})"

    def _print_Abs(self, expr: sympy.Abs) -> str:
        return f"R.abs({self.row(expr.args[0])})"

    def _print_Max(self, expr: sympy.Max) -> str:
        return f"R.max({', '.join(self.row(a) for a in expr.args)})"

    def _print_Min(self, expr: sympy.Min) -> str:
        return f"R.min({', '.join(self.row(a) for a in expr.args)})"

    # -- conditions -----------------------------------------------------------------------

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        out = "null"
        for value, cond in reversed(expr.args):
            if cond == sympy.true:
                out = self.row(value)
            else:
                out = f"R.when({self.row(cond)}, () => {self.row(value)}, () => {out})"
        return out

    _RELATIONS: ClassVar[dict[str, str]] = {
        "StrictLessThan": "lt",
        "LessThan": "le",
        "StrictGreaterThan": "gt",
        "GreaterThan": "ge",
        "Equality": "eq",
        "Unequality": "ne",
    }

    def _print_Relational(self, expr: Relational) -> str:
        rule = self._RELATIONS.get(type(expr).__name__)
        if rule is None:
            raise JsPrintError(f"no JavaScript rule for the relation {type(expr).__name__}")
        lhs, rhs = self.row(expr.lhs), self.row(expr.rhs)
        if rule in ("eq", "ne") and (self.ctx.atol or self.ctx.rtol):
            # |lhs - rhs| <= atol + rtol |rhs| (compile_logic._close)
            tolerance = f"{number(self.ctx.atol)}, {number(self.ctx.rtol)}"
            within = f"R.within(R.sub({lhs}, {rhs}), {rhs}, {tolerance})"
            return within if rule == "eq" else f"R.not({within})"
        return f"R.{rule}({lhs}, {rhs})"

    def _print_And(self, expr: sympy.And) -> str:
        return f"R.and({', '.join(self.row(a) for a in expr.args)})"

    def _print_Or(self, expr: sympy.Or) -> str:
        return f"R.or({', '.join(self.row(a) for a in expr.args)})"

    def _print_Not(self, expr: sympy.Not) -> str:
        return f"R.not({self.row(expr.args[0])})"

    # -- the IR's own functions (engine.formula.ir) ---------------------------------------

    def _groups(self, keys: Sequence[str]) -> str:
        self.reads.update(keys)
        return f"G({js(list(keys))})"

    _STATISTICS: ClassVar[dict[str, str]] = {
        "ColMax": "max",
        "ColMin": "min",
        "ColMean": "mean",
        "ColSum": "sum",
        "ColMedian": "median",
        "ColCount": "count",
    }

    def _print_Stat(self, expr: ir.Stat) -> str:
        value = self._statistic(expr)
        # a row whose grouping label is missing belongs to no group (compile: Stat)
        labels = [k for k in expr.keys if k not in self.ctx.keys]
        if not labels:
            return value
        present = " && ".join(f"C[{js(k)}][i] !== null" for k in labels)
        return f"({present} ? {value} : null)"

    def _statistic(self, expr: ir.Stat) -> str:
        x = self.column(expr.operand)
        groups = self._groups(expr.keys)
        name = type(expr).__name__
        if isinstance(expr, ir.ColStd):
            value = f'R.stat("std", {x}, {groups}, {expr.ddof})'
        elif isinstance(expr, ir.ColQuantile):
            value = f'R.stat("quantile", {x}, {groups}, {number(expr.q)})'
        elif isinstance(expr, ir.ColRank):
            value = f"R.rank({x}, {groups}, {js(expr.descending)}, {js(expr.ties)})"
        elif isinstance(expr, ir.ColCumSum):
            order = self.column(expr.order)
            value = f"R.cumsum({x}, {order}, {groups})"
        elif name in self._STATISTICS:
            value = f"R.stat({js(self._STATISTICS[name])}, {x}, {groups})"
        else:
            raise JsPrintError(f"no JavaScript rule for the statistic {name}")
        return self._hoist(value) + "[i]"

    def _print_At(self, expr: ir.At) -> str:
        fixed = expr.fixed
        x = self.column(expr.args[0])
        cond = " && ".join(f"C[{js(k)}][i] === {js(v)}" for k, v in fixed)
        for k, _ in fixed:
            self.reads.add(k)
        where = self._hoist(f"R.col(n, (i) => {cond})")
        rest = [k for k in self.ctx.keys if k not in dict(fixed)]
        return self._hoist(f"R.at({x}, {where}, {self._groups(rest)})") + "[i]"

    def _print_ClassAtLeast(self, expr: ir.ClassAtLeast) -> str:
        labels = list(self.ctx.class_labels)
        self.reads.add("class")
        return f'R.inSet(C["class"][i], {js(labels[: labels.index(expr.label) + 1])})'

    def _print_IsPresent(self, expr: ir.IsPresent) -> str:
        return f"R.present({self.row(expr.args[0])})"

    def _print_FillForward(self, expr: ir.FillForward) -> str:
        unit, period = str(expr.args[1]), str(expr.args[2])
        if (unit, period) != (self.ctx.unit, self.ctx.period):
            raise JsPrintError("fill-forward other than along the unit's periods")
        x = self.column(expr.args[0])
        return self._hoist(f"R.fillForward({x}, {self._groups([unit])})") + "[i]"

    def _print_If(self, expr: ir.If) -> str:
        cond, a, b = (self.row(x) for x in expr.args)
        return f"R.when({cond}, () => {a}, () => {b})"

    def _print_MinPresent(self, expr: ir.MinPresent) -> str:
        return f"R.minPresent({', '.join(self.row(a) for a in expr.args)})"

    def _print_Coalesce(self, expr: ir.Coalesce) -> str:
        return f"R.coalesce({self.row(expr.args[0])}, {self.row(expr.args[1])})"

    def _print_WeightedMedian(self, expr: ir.WeightedMedian) -> str:
        values = ", ".join(self.row(m) for m in expr.members)
        weights = ", ".join(self.row(w) for w in expr.weights)
        return f"R.weightedMedian([{values}], [{weights}])"

    def _print_Copeland(self, expr: ir.Copeland) -> str:
        ys = ", ".join(self.column(m) for m in expr.members)
        ws = ", ".join(self.column(w) for w in expr.weights)
        return self._hoist(f"R.copeland([{ys}], [{ws}], {self._groups(expr.keys)})") + "[i]"

    def _print_Round(self, expr: ir.Round) -> str:
        digits, mode = int(expr.args[1]), str(expr.args[2])
        return f"R.round({self.row(expr.args[0])}, {digits}, {js(mode)})"


def _pooled(expr: sympy.Basic) -> bool:
    """Whether `expr` holds a statistic over all rows (compile_arithmetic._pooled)."""
    if isinstance(expr, ir.Stat):
        return not expr.keys
    return any(_pooled(a) for a in expr.args if isinstance(a, sympy.Basic))


def _reads_rows(expr: sympy.Basic, parameters: frozenset[str] = frozenset()) -> bool:
    """Whether `expr` reads a column outside a statistic (compile_arithmetic._reads_rows);
    the page's `parameters` are numbers in the polars backend."""
    if isinstance(expr, sympy.Symbol):
        return expr.name not in parameters
    if isinstance(expr, ir.Stat):
        return isinstance(expr, ir.ROW_WISE)
    return any(_reads_rows(a, parameters) for a in expr.args if isinstance(a, sympy.Basic))


def _constant(expr: sympy.Basic, parameters: frozenset[str]) -> bool:
    """Whether `expr` is a constant in the polars backend (compile: shape CONSTANT): made
    of numbers and the page's `parameters` only."""
    if isinstance(expr, sympy.Symbol):
        return expr.name in parameters
    if isinstance(expr, ir.Stat | ir.At | ir.Label | ir.ClassAtLeast | ir.IsPresent):
        return False
    return all(_constant(a, parameters) for a in expr.args if isinstance(a, sympy.Basic))


def print_step(
    column: str,
    expr: sympy.Basic,
    ctx: JsContext,
    *,
    periods: Sequence[object] = (),
    prefix: str = "t",
) -> tuple[str, set[str]]:
    """The statements computing `column` from `expr` (a block), and the columns it reads."""
    printer = JsPrinter(ctx, prefix=prefix)
    value = printer.row(expr)
    if kind_of(expr) is Kind.TEXT:
        raise JsPrintError(f"'{column}' is text, not a value")
    if periods:
        period = ctx.period
        assert period is not None
        printer.reads.add(period)
        value = f"(R.inSet(C[{js(period)}][i], {js(list(periods))}) ? {value} : null)"
    body = [*printer.lines, f"C[{js(column)}] = R.col(n, (i) => {value});"]
    return "{\n  " + "\n  ".join(body) + "\n}", printer.reads
