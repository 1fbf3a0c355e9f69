"""The typed view of formulas: what kind of value a node is, and over which rows it varies.

Every value in a formula has a :class:`Kind`:

* ``NUMBER``: arithmetic, functions, statistics, names of columns;
* ``CONDITION``: comparisons, ``and``/``or``/``not``, ``true``/``false``,
  ``class_at_least()``; the value of a check or a screening rule;
* ``TEXT``: labels and key values (``at(x, '2010Q1')``, ``ties='dense'``), which only
  appear as options and never as operands.

and a :class:`Shape`: a constant, one value per group of rows (a statistic such as
``max(x)``, the same in every row of its period), or one value per row.

The checker (:mod:`engine.formula.check`) gives every node of the parsed syntax tree a
:class:`Type` before any sympy object is built, and rejects every mix of kinds with a
located message; so an expression that reaches the IR is well typed. Printers of the
IR (polars, SQL, JavaScript) rely on two functions of this module, which never look at
data and never evaluate anything:

>>> import sympy
>>> from engine.formula import ir
>>> x = sympy.Symbol("x")
>>> kind_of(sympy.StrictGreaterThan(x, 0, evaluate=False))
<Kind.CONDITION: 'condition'>
>>> shape_of(ir.stat(ir.ColMax, x, ("year",)))
Shape(varies=<Varies.GROUP: 'group'>, keys=frozenset({'year'}))

``kind_of`` is decided by the node's class (sympy's ``Boolean`` family is a condition,
``Str`` is text, every other expression a number); ``shape_of`` by its arguments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sympy
from sympy.core.symbol import Str
from sympy.logic.boolalg import Boolean, BooleanAtom

from engine.formula import ir


class Kind(enum.StrEnum):
    """What a value is."""

    NUMBER = "number"
    CONDITION = "condition"
    TEXT = "text"

    @property
    def article(self) -> str:
        """``a number``, ``a condition``, ``text``: for messages."""
        return "text" if self is Kind.TEXT else f"a {self.value}"


class Varies(enum.StrEnum):
    """Over which rows a value can change."""

    CONSTANT = "constant"
    #: one value per group of rows (a statistic across units)
    GROUP = "group"
    #: one value per row
    ROW = "row"


@dataclass(frozen=True)
class Shape:
    """Over which rows a value varies; for ``GROUP``, the key columns of the groups
    within which it is constant (empty: one value for all rows)."""

    varies: Varies
    keys: frozenset[str] = frozenset()

    def join(self, other: Shape) -> Shape:
        """The shape of a value computed from values of shapes `self` and `other`.

        A value constant within the groups of keys K1 and another constant within the
        groups of K2 are together constant within the groups of K1 | K2.
        """
        if self.varies is Varies.ROW or other.varies is Varies.ROW:
            return ROW
        if self.varies is Varies.CONSTANT:
            return other
        if other.varies is Varies.CONSTANT:
            return self
        return Shape(Varies.GROUP, self.keys | other.keys)


CONSTANT = Shape(Varies.CONSTANT)
ROW = Shape(Varies.ROW)


@dataclass(frozen=True)
class Type:
    """The type of a formula node: its kind and its shape."""

    kind: Kind
    shape: Shape = ROW

    def __str__(self) -> str:
        return self.kind.article


def kind_of(expr: sympy.Basic) -> Kind:
    """What `expr` is: a number, a condition or text.

    >>> kind_of(sympy.Symbol("x") + 1), kind_of(sympy.Symbol("x"))
    (<Kind.NUMBER: 'number'>, <Kind.NUMBER: 'number'>)
    """
    if isinstance(expr, sympy.Symbol):  # a column; sympy's Symbol is also a Boolean
        return Kind.NUMBER
    if isinstance(expr, Str | ir.Label):
        return Kind.TEXT
    if isinstance(expr, sympy.Piecewise | ir.If):  # a choice between texts is text
        first = expr.args[0][0] if isinstance(expr, sympy.Piecewise) else expr.args[1]
        if kind_of(first) is Kind.TEXT:
            return Kind.TEXT
    if isinstance(expr, Boolean):
        return Kind.CONDITION
    if isinstance(expr, sympy.Expr):
        return Kind.NUMBER
    raise TypeError(f"{type(expr).__name__} is not a value of the formula language")


def shape_of(expr: sympy.Basic) -> Shape:
    """Over which rows `expr` varies.

    A name varies by row; a statistic other than ``rank`` and ``cumsum`` is one value per
    group of its keys, whatever its operand; ``at()`` takes a value of the row's own
    unit, so it varies by row; anything else has the joined shape of its arguments.

    >>> x = sympy.Symbol("x")
    >>> shape_of(x - ir.stat(ir.ColMean, x, ("year",))).varies
    <Varies.ROW: 'row'>
    """
    if isinstance(expr, sympy.Symbol):
        return ROW
    if isinstance(expr, sympy.Number | Str | BooleanAtom):
        return CONSTANT
    if isinstance(expr, (*ir.ROW_WISE, ir.At)):
        return ROW
    if isinstance(expr, ir.Stat):
        return Shape(Varies.GROUP, frozenset(expr.keys))
    if isinstance(expr, (ir.ClassAtLeast, ir.FillForward, ir.FillBackward, ir.Label, *ir.PAIRWISE)):
        return ROW
    shape = CONSTANT
    for a in expr.args:  # a Piecewise's (value, condition) pairs are Tuples: looked into
        if isinstance(a, sympy.Basic):
            shape = shape.join(shape_of(a))
    return shape


def is_condition(expr: sympy.Basic) -> bool:
    """Whether `expr` is a condition (a shorthand for printers)."""
    return kind_of(expr) is Kind.CONDITION


__all__ = [
    "CONSTANT",
    "ROW",
    "Kind",
    "Shape",
    "Type",
    "Varies",
    "is_condition",
    "kind_of",
    "shape_of",
]
