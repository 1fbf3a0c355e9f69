"""Printing an expression with its numbers: every column and statistic replaced by its value.

:class:`SubstitutionPrinter` prints products and quotients in the order the engine
evaluates them (``engine/backends/polars/compile.py``: factors left to right, a factor
``Pow(b, -1)`` divides the running product) and sums left to right, so evaluating the
substituted text as ordinary arithmetic reproduces the value the engine computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import sympy

from engine.formula import ir
from engine.formula.render import FormulaPrinter

# -- printing an expression with its numbers ----------------------------------------------

ATOM, POW, UNARY, MUL, ADD, CMP, NOT, AND, OR = 9, 8, 7, 6, 5, 4, 3, 2, 1
#: nodes replaced by their value: statistics across units, other periods' values, and
#: the row-wise nodes that read the class or every unit
VALUE_NODES = (ir.Stat, ir.At, ir.ClassAtLeast, *ir.PAIRWISE)
_RELATIONS = {
    sympy.StrictLessThan: "<",
    sympy.LessThan: "<=",
    sympy.StrictGreaterThan: ">",
    sympy.GreaterThan: ">=",
    sympy.Equality: "==",
    sympy.Unequality: "!=",
}


def number(value: object, digits: int | None = None) -> str:
    """A value as formula text: ``repr`` precision by default, or `digits` significant digits.

    >>> number(1417.7712023228648), number(1417.7712023228648, 6), number(413300.0)
    ('1417.7712023228648', '1417.77', '413300')
    """
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)) if value or math.copysign(1, value) > 0 else "-0.0"
        if digits is None:
            return repr(value)
        return f"{value:.0f}" if abs(value) >= 10**digits else f"{value:.{digits}g}"
    return repr(str(value))


class SubstitutionPrinter(FormulaPrinter):
    """Print an IR expression over column names, or with the numbers of one row.

    With `columns` (column name → value) every Symbol prints as its value; with `nodes`
    (IR node → value) every statistic, ``at()``, ``class_at_least()`` and Copeland score
    prints as its value. Operators are printed in the engine's evaluation order and
    parenthesised by precedence, so the text re-evaluates to the computed value.
    """

    def __init__(
        self,
        columns: Mapping[str, object] | None = None,
        nodes: Mapping[sympy.Basic, object] | None = None,
        digits: int | None = None,
    ):
        super().__init__({"order": "none"})
        self.columns = columns
        self.nodes = nodes or {}
        self.digits = digits

    # values
    def _value_of(self, expr: sympy.Basic) -> tuple[bool, object]:
        if isinstance(expr, sympy.Symbol) and self.columns is not None:
            return True, self.columns.get(expr.name)
        if isinstance(expr, VALUE_NODES) and expr in self.nodes:
            return True, self.nodes[expr]
        return False, None

    def _print(self, expr: sympy.Basic, **kwargs: object) -> str:
        if isinstance(expr, ir.Label) and self.columns is not None:  # a label's text, quoted
            text = self.columns.get(expr.name)
            return repr(text) if text is not None else "missing"
        found, value = self._value_of(expr)
        if found:
            return number(value, self.digits)
        return str(super()._print(expr, **kwargs))

    def precedence(self, expr: sympy.Basic) -> int:
        found, value = self._value_of(expr)
        if found:
            return UNARY if number(value, self.digits).startswith("-") else ATOM
        if isinstance(expr, sympy.Number):
            if expr.is_Rational and not expr.is_Integer:
                return ATOM  # printed in parentheses
            return UNARY if expr < 0 else ATOM
        if isinstance(expr, sympy.Add):
            return ADD
        if isinstance(expr, sympy.Mul):
            return UNARY if _is_negation(expr) else MUL
        if isinstance(expr, sympy.Pow):
            if expr.exp == -1:
                return MUL
            return ATOM if expr.exp == sympy.Rational(1, 2) else POW
        if isinstance(expr, sympy.core.relational.Relational):
            return CMP
        if isinstance(expr, sympy.Not):
            return NOT
        if isinstance(expr, sympy.And):
            return AND
        if isinstance(expr, sympy.Or):
            return OR
        return ATOM

    def _wrap(self, expr: sympy.Basic, below: int) -> str:
        """`expr`, in parentheses when it binds no tighter than `below`."""
        text = self._print(expr)
        return f"({text})" if self.precedence(expr) <= below else text

    # arithmetic, in the order of engine/backends/polars/compile.py
    def _print_Add(self, expr: sympy.Add, order: object = None) -> str:
        first, *rest = expr.args
        out = self._wrap(first, ADD - 1)
        for term in rest:
            if _is_negation(term):  # a + (-b) is a - b, exactly
                out += f" - {self._wrap(term.args[1], ADD)}"
                continue
            text = self._wrap(term, ADD)
            out += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
        return out

    def _print_Mul(self, expr: sympy.Mul) -> str:
        if _is_negation(expr):
            return "-" + self._wrap(expr.args[1], UNARY)
        out: str | None = None
        for factor in expr.args:
            if isinstance(factor, sympy.Pow) and factor.exp == -1:
                out = f"{out if out is not None else '1'} / {self._wrap(factor.base, UNARY)}"
            elif out is None:
                out = self._wrap(factor, ADD)
            else:
                out = f"{out} * {self._wrap(factor, UNARY)}"
        assert out is not None
        return out

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        base, exp = expr.args
        if exp == -1:
            return f"1 / {self._wrap(base, UNARY)}"
        if exp == sympy.Rational(1, 2):
            return f"sqrt({self._print(base)})"
        return f"{self._wrap(base, POW)} ** {self._wrap(exp, UNARY - 1)}"

    def _print_Integer(self, expr: sympy.Integer) -> str:
        return str(int(expr))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return str(int(expr)) if expr.is_Integer else f"({expr.p} / {expr.q})"

    _print_One = _print_Zero = _print_NegativeOne = _print_Half = _print_Rational

    # logic
    def _print_Relational(self, expr: sympy.core.relational.Relational) -> str:
        op = _RELATIONS.get(type(expr), expr.rel_op)
        return f"{self._wrap(expr.lhs, CMP)} {op} {self._wrap(expr.rhs, CMP)}"

    def _print_And(self, expr: sympy.And) -> str:
        return " and ".join(self._wrap(a, AND) for a in expr.args)

    def _print_Or(self, expr: sympy.Or) -> str:
        return " or ".join(self._wrap(a, OR) for a in expr.args)

    def _print_Not(self, expr: sympy.Not) -> str:
        return "not " + self._wrap(expr.args[0], NOT - 1)

    def _print_BooleanTrue(self, expr: sympy.Basic) -> str:
        return "true"

    def _print_BooleanFalse(self, expr: sympy.Basic) -> str:
        return "false"


def _is_negation(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Mul) and len(expr.args) == 2 and expr.args[0] == sympy.Integer(-1)


def value_nodes(expr: sympy.Basic) -> list[sympy.Basic]:
    """The outermost statistics and at() references of `expr` (replaced by their values)."""
    if isinstance(expr, VALUE_NODES):
        return [expr]
    found: list[sympy.Basic] = []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += [n for n in value_nodes(a) if n not in found]
    return found
