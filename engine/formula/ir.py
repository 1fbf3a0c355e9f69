"""The formula IR: sympy expressions plus a few functions sympy does not have.

Element-wise arithmetic, ``log``, ``exp``, ``Abs``, ``Min``/``Max``, comparisons,
``Not`` and ``Piecewise`` are sympy's own classes; a formula's ``and``/``or`` are
:class:`AllOf`/:class:`AnyOf`, sympy's ``And``/``Or`` without their simplification of
complementary comparisons (wrong for missing values). What sympy lacks are
statistics *across units* and references *across periods*; they are the classes below,
all subclasses of :class:`sympy.Function` so that sympy can still substitute,
differentiate (where it makes sense) and print them.

Every cross-unit statistic carries the keys it is grouped by as its second argument, a
``Tuple`` of ``Symbol``s naming data columns. The default is the period column, so a
statistic is taken over the units of one period; ``Tuple()`` pools all rows.
Options are sympy atoms (``Integer`` for ``ddof``, ``Str`` for a tie rule) so that the
expression stays a pure sympy tree that can be compared and hashed.

Null handling (documented for users in the schema): statistics skip missing values;
a statistic over a group with no present value is undefined and is reported as an
``all-missing`` data error, never silently 0.
"""

from __future__ import annotations

import sympy
from sympy.core.operations import LatticeOp
from sympy.core.symbol import Str
from sympy.logic.boolalg import as_Boolean


class Stat(sympy.Function):
    """A statistic of ``args[0]`` over the rows sharing the keys ``args[1]``."""

    #: name users write in formulas
    label: str = ""

    @property
    def operand(self) -> sympy.Expr:
        return self.args[0]

    @property
    def keys(self) -> tuple[str, ...]:
        # a Symbol's str() is its name, through sympy's printer: read the name directly
        return tuple(s.name if type(s) is sympy.Symbol else str(s) for s in self.args[1])


class ColMax(Stat):
    label = "max"


class ColMin(Stat):
    label = "min"


class ColMean(Stat):
    label = "mean"


class ColSum(Stat):
    label = "sum"


class ColMedian(Stat):
    label = "median"


class ColCount(Stat):
    """Number of present (non-missing) values."""

    label = "count"


class ColStd(Stat):
    """Standard deviation; ``args[2]`` is ddof (1 = sample SD, the default; 0 = population)."""

    label = "std"

    @property
    def ddof(self) -> int:
        return int(self.args[2])


class ColRank(Stat):
    """Rank among the rows sharing the keys.

    ``args[2]``: 1 for descending (largest value gets rank 1), 0 for ascending.
    ``args[3]``: tie rule, ``Str('min')`` (1, 1, 3), ``'dense'`` (1, 1, 2), ``'average'``
    (1.5, 1.5, 3), ``'max'`` (2, 2, 3) or ``'ordinal'`` (1, 2, 3: tied values in the
    order of the rows' keys). Missing values get no rank.
    ``args[4]`` (optional, default 0): relative tolerance. Sorted, a value is tied with
    the previous one when they differ by at most tolerance × the larger magnitude (so a
    run of such values is one tie).
    """

    label = "rank"

    @property
    def descending(self) -> bool:
        return bool(int(self.args[2]))

    @property
    def ties(self) -> str:
        return str(self.args[3])

    @property
    def tolerance(self) -> float:
        return float(self.args[4]) if len(self.args) > 4 else 0.0


class ColQuantile(Stat):
    """The ``args[2]`` quantile (0..1) with linear interpolation (numpy's default, R type 7)."""

    label = "quantile"

    @property
    def q(self) -> float:
        return float(self.args[2])


class ColCumSum(Stat):
    """Running total of ``args[0]`` over the rows sharing the keys, in ascending order
    of ``args[2]`` (rows with equal order values are taken in key order). Used for
    Lorenz-type curves (locational Gini)."""

    label = "cumsum"

    @property
    def order(self) -> sympy.Expr:
        return self.args[2]


class At(sympy.Function):
    """The value of ``args[0]`` in the row of the same unit where key columns take fixed values.

    ``args[1:]`` alternate a key column (``Symbol``) and its value (``Integer`` or
    ``Str``): ``at(index, 2010)`` is ``At(index, year, 2010)``; ``at(lq, industry='J')``
    is ``At(lq, industry, 'J')``. The other keys of the row (unit, period, ...) stay
    those of the row being computed. Missing when there is no such row.
    """

    @property
    def fixed(self) -> tuple[tuple[str, object], ...]:
        pairs = self.args[1:]
        return tuple((str(pairs[i]), _value(pairs[i + 1])) for i in range(0, len(pairs), 2))


def _value(v: sympy.Basic) -> object:
    return str(v) if isinstance(v, Str) else int(v)


class ClassAtLeast(sympy.Function, sympy.logic.boolalg.Boolean):
    """True when the unit's class is the band ``args[0]`` (a ``Str``) or a higher one."""

    @property
    def label(self) -> str:
        return str(self.args[0])


class Label(sympy.Function):
    """The text of the label column ``args[0]`` (a ``Str``) in the row: a data label
    (``data.labels``, e.g. a region) read as text, in comparisons (``region == 'Asia'``) and
    text outputs. Missing where the label is."""

    @property
    def name(self) -> str:
        return str(self.args[0])


class IsPresent(sympy.Function):
    """1 where ``args[0]`` has a value, 0 where it is missing."""


class FillForward(sympy.Function):
    """``args[0]``, or the unit's (``args[1]``) latest earlier value in period (``args[2]``)
    order where it is missing: last observation carried forward."""


class FillBackward(sympy.Function):
    """``args[0]``, or the unit's (``args[1]``) earliest later value in period (``args[2]``)
    order where it is missing: next observation carried backward."""


class If(sympy.Function):
    """``args[1]`` where the condition ``args[0]`` holds, else ``args[2]``; missing when the
    condition is missing. Like Piecewise, but sympy never rewrites its condition (which it
    does for Piecewise, evaluating relations on the way). ``where(c, a, b)`` and ``a if c
    else b`` of a formula are this node."""

    def _eval_derivative(self, s: sympy.Symbol) -> sympy.Basic:
        # the condition is piecewise constant: the derivative is that of the branch taken
        cond, a, b = self.args
        return If(cond, a.diff(s), b.diff(s), evaluate=False)


class AllOf(sympy.And):
    """``a and b`` of a formula: sympy's ``And`` in three-valued (Kleene) logic.

    sympy's own ``And`` turns two complementary comparisons into ``false`` as it is built
    (``x < 3 and x >= 3``), which holds for numbers but not for a missing ``x``, where
    both sides, and so the whole, are missing. This class keeps every comparison; it
    only drops ``true`` sides and becomes ``false`` with a ``false`` side, as Kleene's
    ``and`` does. Printers treat it as ``And`` (it is one).

    >>> x = sympy.Symbol("x")
    >>> AllOf(x < 3, x >= 3)
    (x >= 3) & (x < 3)
    >>> sympy.And(x < 3, x >= 3)
    False
    """

    @classmethod
    def _new_args_filter(cls, args):  # type: ignore[no-untyped-def]
        return LatticeOp._new_args_filter([as_Boolean(a) for a in args], cls)


class AnyOf(sympy.Or):
    """``a or b`` of a formula: sympy's ``Or`` in three-valued logic (see :class:`AllOf`;
    ``x < 3 or x >= 3`` is missing where ``x`` is, not ``true``)."""

    @classmethod
    def _new_args_filter(cls, args):  # type: ignore[no-untyped-def]
        return LatticeOp._new_args_filter([as_Boolean(a) for a in args], cls)


class MinPresent(sympy.Function):
    """The smallest of the arguments that have a value (missing when none has)."""


class Coalesce(sympy.Function):
    """``args[0]``, or ``args[1]`` where ``args[0]`` is missing."""


class WeightedMedian(sympy.Function):
    """The weighted median of the members ``args[:n]`` with weights ``args[n:]`` (n = len / 2):
    the smallest member value at which the cumulative weight of the sorted members reaches
    half the total."""

    @property
    def members(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.args[: len(self.args) // 2])

    @property
    def weights(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.args[len(self.args) // 2 :])


class _Pairwise(sympy.Function):
    """What the nodes that compare each row with the rows sharing its keys have in common
    (never built itself): ``args[0]`` is a Tuple of members, ``args[1]`` a Tuple of their
    weights, ``args[2]`` a Tuple of key Symbols."""

    @property
    def members(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.args[0])

    @property
    def weights(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.args[1])

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(str(k) for k in self.args[2])


class Copeland(_Pairwise):
    """Copeland score within groups of rows: ``args[0]`` is a Tuple of members, ``args[1]`` a
    Tuple of their weights, ``args[2]`` a Tuple of key Symbols.

    score_p = sum over the other rows q of sign(O_pq - 1/2), with
    O_pq = sum_j w_j [y_pj > y_qj] + 1/2 sum_j w_j [y_pj = y_qj] (weights summing to 1),
    that is sign(sum_j w_j sign(y_pj - y_qj)). Each pair is compared on the members both
    rows have (a member missing for either counts for neither); a row whose members are
    all missing ties with every other. Ties are exact: with weights that are exact
    rationals the weighted margin is computed on integers (no rounding can break a tie).
    """


#: the difference y_p - y_q a term of :class:`PairSum` is written in, and the sum its outer
#: function is written in (names no column can have)
DIFFERENCE = sympy.Symbol("Δ")
PAIR_TOTAL = sympy.Symbol("Σ")


class PairSum(_Pairwise):
    """A sum over the rows sharing the keys of a function of this row's differences with
    each of them (PROMETHEE's flows, a spatial kernel).

    ``args[0]`` is a Tuple of members y_j, ``args[1]`` a Tuple of their weights w_j (numbers
    or expressions of columns), ``args[2]`` a Tuple of key Symbols, ``args[3]`` a Tuple of
    one term per member, an expression in :data:`DIFFERENCE` (and numbers), ``args[4]`` the
    outer function, an expression in :data:`PAIR_TOTAL` (and numbers)::

        value_p = sum over q sharing p's keys of outer(sum_j w_j term_j(y_pj - y_qj))

    The row p itself is one of the q (its differences are 0). A term whose difference is
    missing (y_pj or y_qj missing) counts 0: each pair is compared on the members both
    rows have.
    """

    @property
    def terms(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.args[3])

    @property
    def outer(self) -> sympy.Expr:
        return self.args[4]


#: the nodes that compare every row with the other rows sharing its keys
PAIRWISE = (_Pairwise,)


class Round(sympy.Function):
    """``args[0]`` rounded to ``args[1]`` decimals; ``args[2]`` is ``Str('half_up')``
    (ties away from zero, as publishers and spreadsheets round) or ``Str('half_even')``
    (ties to even, Python's ``round``)."""


class Procedure(sympy.Function):
    """A value a backend computes outside the expression language, one per group of rows.

    ``args[0]``: the procedure (``Str``, e.g. ``'winsorise'``); ``args[1]``: which of its
    results (``Str``, e.g. ``'upper'``); ``args[2]``: a ``Tuple`` of the columns it reads;
    ``args[3]``: a ``Tuple`` of the key columns whose groups it is computed over (like a
    statistic's keys); ``args[4]``: its parameters as canonical JSON (``Str``). Only the
    backends that implement the procedure compute it (the method's declaration says which,
    :class:`engine.methods.registry.Kind`); a printer of row expressions has no rule for it.
    """

    @property
    def procedure(self) -> str:
        return str(self.args[0])

    @property
    def part(self) -> str:
        return str(self.args[1])

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.args[2])

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.args[3])

    @property
    def parameters(self) -> str:
        return str(self.args[4])


def procedure(
    name: str, part: str, sources: tuple[str, ...], keys: tuple[str, ...], parameters: str
) -> Procedure:
    """Build a procedure node (see :class:`Procedure`)."""
    return Procedure(
        Str(name),
        Str(part),
        sympy.Tuple(*(sympy.Symbol(s) for s in sources)),
        sympy.Tuple(*(sympy.Symbol(k) for k in keys)),
        Str(parameters),
        evaluate=False,
    )


STATISTICS: dict[str, type[Stat]] = {
    cls.label: cls
    for cls in (
        ColMax,
        ColMin,
        ColMean,
        ColSum,
        ColMedian,
        ColCount,
        ColStd,
        ColRank,
        ColCumSum,
        ColQuantile,
    )
}
#: statistics that give every row its own value (not one per group)
ROW_WISE = (ColRank, ColCumSum)


def stat(
    cls: type[Stat], operand: sympy.Expr, keys: tuple[str, ...], *options: sympy.Basic
) -> Stat:
    """Build a statistic node; `keys` name the data columns it is grouped by."""
    return cls(operand, sympy.Tuple(*(sympy.Symbol(k) for k in keys)), *options, evaluate=False)


def rename(expr: sympy.Basic, mapping: dict[str, sympy.Basic]) -> sympy.Basic:
    """Replace symbols by name without evaluating anything.

    sympy's ``subs`` and ``xreplace`` rebuild nodes with evaluation, which reorders
    ``100 * (x / max(x))`` into ``100 * x / max(x)`` and so changes the floating-point
    result (the leader would no longer score exactly 100). This rebuilds every node with
    ``evaluate=False`` and keeps the author's order (fast: see
    :mod:`engine.formula.renaming`).
    """
    from engine.formula import renaming

    return renaming.rename(expr, mapping)


def rebuild(expr: sympy.Basic, args: list[sympy.Basic]) -> sympy.Basic:
    """`expr` with new arguments, unevaluated (the same object when nothing changed)."""
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:  # containers such as Tuple take no evaluate flag
        return expr.func(*args)


def free_names(expr: sympy.Basic) -> set[str]:
    """Names of the columns an expression reads (statistic keys excluded)."""
    names: set[str] = set()

    def walk(e: sympy.Basic) -> None:
        if isinstance(e, sympy.Symbol):
            names.add(e.name)
        elif isinstance(e, ColCumSum):
            walk(e.args[0])
            walk(e.args[2])
        elif isinstance(e, Stat | At):
            walk(e.args[0])
        elif isinstance(e, Procedure):
            walk(e.args[2])
        elif isinstance(e, PAIRWISE):
            for m in (*e.members, *e.weights):
                walk(m)
        elif isinstance(e, ClassAtLeast):
            names.add("class")
        elif isinstance(e, Label):
            names.add(e.name)
        else:
            for a in e.args:
                walk(a)

    walk(expr)
    return names


__all__ = [
    "DIFFERENCE",
    "PAIRWISE",
    "PAIR_TOTAL",
    "STATISTICS",
    "AllOf",
    "AnyOf",
    "At",
    "ClassAtLeast",
    "Coalesce",
    "ColCount",
    "ColCumSum",
    "ColMax",
    "ColMean",
    "ColMedian",
    "ColMin",
    "ColQuantile",
    "ColRank",
    "ColStd",
    "ColSum",
    "Copeland",
    "FillBackward",
    "FillForward",
    "If",
    "IsPresent",
    "Label",
    "MinPresent",
    "PairSum",
    "Procedure",
    "Round",
    "Stat",
    "Str",
    "WeightedMedian",
    "free_names",
    "procedure",
    "rebuild",
    "stat",
]
