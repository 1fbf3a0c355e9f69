"""Renaming by cloning nodes (engine.formula.renaming) builds exactly what the
constructors build: the same classes, arguments and order, the same state (``nargs``,
``is_commutative``) and the same answers to assumption queries."""

from __future__ import annotations

from typing import Any

import sympy
from hypothesis import given
from hypothesis import strategies as st

from engine.formula import ir, renaming
from engine.methods.terms import add, clip, div, mul, num, power, sub

NAMES = ("x", "y", "Time", "x.treat.lower", "region")
# what clones copy and constructors compute; broader queries on degenerate trees such as
# log(log(1)) are not even repeatable in sympy (its assumption system shuffles)
QUERIES = ("commutative", "number")


def constructed(expr: sympy.Basic, mapping: dict[str, sympy.Basic]) -> sympy.Basic:
    """The reference: every changed node built by its constructor."""
    return renaming._rename_constructed(expr, mapping)


def ask(e: sympy.Basic, query: str) -> Any:
    """An assumption (sympy raises for some, e.g. is_real of log(log(1)))."""
    try:
        return getattr(e, "is_" + query)
    except Exception as exc:
        return type(exc).__name__


def state(e: sympy.Basic) -> Any:
    """Everything a node is and knows, recursively (assumptions asked afresh)."""
    if not e.args:
        return sympy.srepr(e)
    slots = {n: getattr(e, n, None) for n in renaming._slots(type(e))}
    return (
        type(e),
        tuple(sorted((k, repr(v)) for k, v in vars(e).items())) if hasattr(e, "__dict__") else (),
        tuple(sorted((k, repr(v)) for k, v in slots.items())),
        tuple(ask(e, q) for q in QUERIES),
        tuple(state(a) for a in e.args),
    )


def symbols() -> st.SearchStrategy[sympy.Basic]:
    return st.sampled_from(NAMES).map(sympy.Symbol)


def leaves() -> st.SearchStrategy[sympy.Basic]:
    return st.one_of(
        symbols(),
        st.sampled_from([2, 3, -2]).map(sympy.Integer),
        st.sampled_from([0.5, 0.01, 2.0]).map(num),
    )


def conditions(children: st.SearchStrategy[sympy.Basic]) -> st.SearchStrategy[sympy.Basic]:
    two = st.tuples(children, children)
    return st.one_of(
        children.map(lambda a: sympy.Eq(a, 1, evaluate=False)),
        two.map(lambda ab: sympy.StrictGreaterThan(ab[0], ab[1], evaluate=False)),
        two.map(lambda ab: ir.AllOf(sympy.Lt(ab[0], 1), sympy.Ge(ab[1], 2))),
    )


def grow(children: st.SearchStrategy[sympy.Basic]) -> st.SearchStrategy[sympy.Basic]:
    keys = st.sampled_from([(), ("Time",), ("Time", "region")])
    two = st.tuples(children, children)
    return st.one_of(
        two.map(lambda ab: add(*ab)),
        two.map(lambda ab: sub(*ab)),
        two.map(lambda ab: mul(*ab)),
        two.map(lambda ab: div(*ab)),
        children.map(lambda a: power(a, 3)),
        children.map(lambda a: sympy.log(a, evaluate=False)),
        children.map(lambda a: sympy.Abs(a, evaluate=False)),
        st.tuples(children, children, children).map(lambda abc: clip(*abc)),
        st.tuples(children, keys).map(lambda ak: ir.stat(ir.ColMin, ak[0], ak[1])),
        st.tuples(children, keys).map(lambda ak: ir.stat(ir.ColMean, ak[0], ak[1])),
        st.tuples(children, keys).map(
            lambda ak: ir.stat(ir.ColStd, ak[0], ak[1], sympy.Integer(1))
        ),
        st.tuples(conditions(children), children, children).map(
            lambda cab: ir.If(cab[0], cab[1], cab[2], evaluate=False)
        ),
        children.map(
            lambda a: (
                ir.procedure("winsorise", "upper", ("x",), ("Time",), '{"skew": 2}')
                if a.is_Symbol
                else ir.Coalesce(a, sympy.Integer(0), evaluate=False)
            )
        ),
    )


expressions = st.recursive(leaves(), grow, max_leaves=12)
mappings = st.dictionaries(
    st.sampled_from(NAMES), st.sampled_from(("a", "b", "Time", "x")).map(sympy.Symbol)
)


def outcome(rename: Any, expr: sympy.Basic, mapping: dict[str, Any]) -> Any:
    """The renamed expression as plain data, or the exception building it raised (Min and
    Max compare their arguments as they are built, which fails for some, e.g. ``1/0``)."""
    try:
        renamed = rename(expr, mapping)
    except (TypeError, ValueError) as exc:
        return ("raises", type(exc).__name__)
    return (sympy.srepr(renamed), state(renamed))


@given(expressions, mappings)
def test_cloned_renaming_equals_constructed(expr: sympy.Basic, mapping: dict[str, Any]) -> None:
    assert outcome(renaming.rename, expr, mapping) == outcome(constructed, expr, mapping)


@given(expressions)
def test_renaming_to_other_assumptions_constructs(expr: sympy.Basic) -> None:
    """A replacement with other assumptions changes what nodes know: no clone then."""
    positive = {"x": sympy.Symbol("p", positive=True), "y": sympy.Integer(2)}
    assert outcome(renaming.rename, expr, positive) == outcome(constructed, expr, positive)


def test_nothing_renamed_is_the_same_object() -> None:
    x = sympy.Symbol("x")
    expr = div(x, ir.stat(ir.ColMax, x, ("Time",)))
    assert renaming.rename(expr, {"z": sympy.Symbol("w")}) is expr
    assert renaming.rename(expr, {}) is expr


def test_min_max_are_ordered_by_the_new_names() -> None:
    """Min/Max sort their arguments: they are rebuilt by their constructor."""
    x = sympy.Symbol("x")
    expr = clip(x, sympy.Symbol("b"), sympy.Symbol("c"))
    renamed = renaming.rename(expr, {"x": sympy.Symbol("zz"), "c": sympy.Symbol("a")})
    assert sympy.srepr(renamed) == sympy.srepr(
        clip(sympy.Symbol("zz"), sympy.Symbol("b"), sympy.Symbol("a"))
    )
