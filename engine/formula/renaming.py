"""Renaming the columns an expression reads, without evaluating anything, fast.

:func:`rename` (re-exported as :func:`engine.formula.ir.rename`) replaces symbols by
name and rebuilds every node above them with ``evaluate=False``, keeping the author's
order (sympy's ``subs``/``xreplace`` evaluate, which reorders ``100 * (x / max(x))``).

Why a fast path
---------------
Building a node through its constructor costs far more than the node: a new
``ColMin(x, (year,))`` is asked whether it is commutative by every ``Add`` or ``Mul``
built over it, and sympy answers ``None`` for a function of a ``Tuple`` only after
trying some twenty related assumptions (about 35 µs per node). A plan renames the same
templates over and over (one normalisation for every indicator, one treatment), so
that cost is paid once per node of every indicator.

When every symbol replaced is a plain ``Symbol`` and so is its replacement, with the
same assumptions, nothing any node knows about itself changes: it has the same class,
the same number of arguments and arguments with the same assumptions. Such a node is
then *cloned*: a new object of its class with the new arguments and a copy of the
original's state (its known assumptions, ``nargs``, the ``is_commutative`` slot of
``Add``/``Mul``/``Pow``). That is exactly what its constructor would have built,
for the classes in :func:`_cloneable`, whose constructors with ``evaluate=False`` only
store their arguments. Classes that order or filter their arguments (``Min``/``Max``,
``And``/``Or``, ``Piecewise``) and any class not listed go through their constructor
as before. ``tests/test_renaming.py`` checks clones against constructed nodes.
"""

from __future__ import annotations

from functools import cache

import sympy
from sympy.core.relational import (
    Equality,
    GreaterThan,
    LessThan,
    StrictGreaterThan,
    StrictLessThan,
    Unequality,
)
from sympy.core.symbol import Str

from engine.formula import ir

__all__ = ["rename"]

# A Basic's own slots, set on every clone; any other state is copied from the original.
_BASIC_SLOTS = frozenset({"_args", "_mhash", "_assumptions", "__weakref__", "__dict__"})


class _Constructed(Exception):
    """A replacement changes what some node knows about itself: build through constructors."""


def rename(expr: sympy.Basic, mapping: dict[str, sympy.Basic]) -> sympy.Basic:
    """Replace symbols by name without evaluating anything (see the module docstring).

    >>> x, y = sympy.symbols("x y")
    >>> rename(sympy.Mul(100, x / sympy.Symbol("m"), evaluate=False), {"x": y})
    100*(y/m)
    """
    if not mapping:
        return expr
    if all(type(v) is sympy.Symbol for v in mapping.values()):
        try:
            return _Cloner(mapping).rename(expr)
        except _Constructed:
            pass
    return _rename_constructed(expr, mapping)


def _rename_constructed(expr: sympy.Basic, mapping: dict[str, sympy.Basic]) -> sympy.Basic:
    """:func:`rename` with every changed node built by its constructor."""
    if isinstance(expr, sympy.Symbol):
        return mapping.get(expr.name, expr)
    if not expr.args or isinstance(expr, Str):
        return expr
    return ir.rebuild(expr, [_rename_constructed(a, mapping) for a in expr.args])


class _Cloner:
    """One renaming by plain symbols; shared subtrees are renamed once."""

    def __init__(self, mapping: dict[str, sympy.Basic]):
        self.mapping = mapping
        self.done: dict[int, sympy.Basic] = {}
        self.cloneable = _cloneable()

    def rename(self, e: sympy.Basic) -> sympy.Basic:
        if isinstance(e, sympy.Symbol):
            new = self.mapping.get(e.name)
            if new is None or new is e:
                return e
            if type(e) is not sympy.Symbol or new._assumptions0 != e._assumptions0:
                raise _Constructed
            return new
        args = e._args
        if not args or isinstance(e, Str):
            return e
        known = self.done.get(id(e))
        if known is not None:
            return known
        new_args = tuple([self.rename(a) for a in args])
        if all(a is b for a, b in zip(new_args, args)):
            out = e
        elif type(e) in self.cloneable:
            out = _clone(e, new_args)
        else:
            out = ir.rebuild(e, list(new_args))
        self.done[id(e)] = out
        return out


def _clone(e: sympy.Basic, args: tuple[sympy.Basic, ...]) -> sympy.Basic:
    """A node of `e`'s class and state with other arguments of the same assumptions."""
    cls = type(e)
    new = object.__new__(cls)
    for name in _slots(cls):
        if hasattr(e, name):
            object.__setattr__(new, name, getattr(e, name))
    state = getattr(e, "__dict__", None)
    if state:
        new.__dict__.update(state)
    new._args = args
    new._mhash = None
    known = e._assumptions
    new._assumptions = known if known is cls.default_assumptions else known.copy()
    return new


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(cls: type) -> tuple[str, ...]:
    """The slots of `cls` and its bases other than Basic's own (e.g. ``is_commutative``)."""
    known = _SLOTS.get(cls)
    if known is not None:
        return known
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in _BASIC_SLOTS and name not in names:
                names.append(name)
    _SLOTS[cls] = tuple(names)
    return _SLOTS[cls]


@cache
def _cloneable() -> frozenset[type]:
    """The classes whose constructor, unevaluated, only stores its arguments: sympy's
    arithmetic, relations, ``log``/``exp``/``Abs`` and ``Tuple``, and the IR's functions
    (none of which defines a constructor of its own)."""
    own = {
        c
        for c in vars(ir).values()
        if isinstance(c, type)
        and issubclass(c, sympy.Function)
        and c.__module__ == ir.__name__
        and "__new__" not in vars(c)
        and "_new_" not in vars(c)
    }
    builtin = {
        sympy.Add,
        sympy.Mul,
        sympy.Pow,
        sympy.Tuple,
        sympy.log,
        sympy.exp,
        sympy.Abs,
        Equality,
        Unequality,
        StrictGreaterThan,
        StrictLessThan,
        GreaterThan,
        LessThan,
    }
    return frozenset(own | builtin)
