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

Which nodes to rebuild, and from what, depends only on the expression and the names
renamed, so that is worked out once (a :class:`_Program`, kept for the expression) and
each renaming of the same template by other columns only builds the nodes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

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
            return _program(expr, frozenset(mapping)).run(mapping)
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


# Where a node's argument comes from when it is renamed: itself, unchanged; the
# replacement of a symbol (by name); or a node rebuilt before it (by its place).
_SAME, _SYMBOL, _REBUILT = 0, 1, 2

#: programs by (id of the expression, names renamed); each holds its expression, so an
#: id cannot be reused while its entry is kept
_PROGRAMS: dict[tuple[int, frozenset[str]], _Program] = {}
_MAX_PROGRAMS = 1024


def _program(expr: sympy.Basic, names: frozenset[str]) -> _Program:
    """The program renaming `names` in `expr`, compiled once: the plan renames one
    template for every indicator."""
    key = (id(expr), names)
    known = _PROGRAMS.get(key)
    if known is not None and known.expr is expr:
        return known
    if len(_PROGRAMS) >= _MAX_PROGRAMS:
        _PROGRAMS.clear()
    _PROGRAMS[key] = _Program(expr, names)
    return _PROGRAMS[key]


class _Program:
    """How to rename some names in one expression: the nodes above a renamed symbol, in
    the order they can be built (arguments first), and where each one's arguments come
    from. Running it builds only those nodes, each by a clone when its class allows."""

    def __init__(self, expr: sympy.Basic, names: frozenset[str]):
        self.expr = expr
        self.names = names
        self.symbols: list[sympy.Symbol] = []  # every renamed symbol object in expr
        self.nodes: list[tuple[sympy.Basic, tuple[tuple[int, Any], ...], bool]] = []
        self.cloneable = _cloneable()
        seen: dict[int, tuple[int, Any]] = {}
        self.root = self._source(expr, seen)

    def _source(self, e: sympy.Basic, seen: dict[int, tuple[int, Any]]) -> tuple[int, Any]:
        if isinstance(e, sympy.Symbol):
            if e.name not in self.names:
                return (_SAME, e)
            if e not in self.symbols:
                self.symbols.append(e)
            return (_SYMBOL, e.name)
        args = e._args
        if not args or isinstance(e, Str):
            return (_SAME, e)
        known = seen.get(id(e))
        if known is not None:
            return known
        sources = tuple([self._source(a, seen) for a in args])
        if all(kind == _SAME for kind, _ in sources):
            found: tuple[int, Any] = (_SAME, e)
        else:
            self.nodes.append((e, sources, type(e) in self.cloneable))
            found = (_REBUILT, len(self.nodes) - 1)
        seen[id(e)] = found
        return found

    def run(self, mapping: dict[str, sympy.Basic]) -> sympy.Basic:
        for old in self.symbols:
            new = mapping[old.name]
            # a replacement with other assumptions changes what the nodes above know; one
            # that is the symbol itself leaves the expression as it is (the same object)
            if new is old or type(old) is not sympy.Symbol:
                raise _Constructed
            if new._assumptions0 != old._assumptions0:
                raise _Constructed
        built: list[sympy.Basic] = []
        for node, sources, cloneable in self.nodes:
            args = tuple(
                [
                    value if kind == _SAME else mapping[value] if kind == _SYMBOL else built[value]
                    for kind, value in sources
                ]
            )
            built.append(_clone(node, args) if cloneable else ir.rebuild(node, list(args)))
        kind, value = self.root
        return value if kind == _SAME else mapping[value] if kind == _SYMBOL else built[value]


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
