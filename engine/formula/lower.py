"""Lowering a checked syntax tree to the sympy IR.

Runs only on a tree the checker (:mod:`engine.formula.check`) passed, so every node is
allowed, well typed and within the limits; nothing here reports problems. sympy objects
are built directly with ``evaluate=False``, which keeps the author's order (``100 * (x
/ max(x))`` stays as written, so the leader scores exactly 100) and never works out
anything: constants stay as written, ``2 ** 10`` is a power node, not 1024.

How the language maps to the IR (:mod:`engine.formula.ir`):

* ``a - b`` is ``Add(a, Mul(-1, b))``, ``a / b`` is ``Mul(a, Pow(b, -1))``, ``-a`` is
  ``Mul(-1, a)``, ``sqrt(a)`` is ``Pow(a, 1/2)``, ``log10(a)`` is ``log(a) / log(10)``;
* a run of ``+ -`` (or ``* /``) is one flat ``Add`` (``Mul``);
* ``a and b``, ``a or b`` are ``ir.AllOf``, ``ir.AnyOf`` (sympy's ``And``, ``Or`` that never
  drop complementary comparisons: a missing value makes both missing); ``a < b < c`` is
  ``AllOf(a < b, b < c)``; ``where(c, a, b)`` and ``a if c else b`` are
  ``If(c, a, b)``;
* statistics, ``at()``, ``round()`` and ``class_at_least()`` are the IR's own classes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import sympy

from engine.formula import ir
from engine.formula.language import TRUE_WORDS, is_statistic_call
from engine.formula.scope import Scope

_COMPARE: dict[type[ast.cmpop], Callable[..., sympy.Basic]] = {
    ast.Lt: sympy.StrictLessThan,
    ast.LtE: sympy.LessThan,
    ast.Gt: sympy.StrictGreaterThan,
    ast.GtE: sympy.GreaterThan,
    ast.Eq: sympy.Eq,
    ast.NotEq: sympy.Ne,
}


def _negate(term: sympy.Basic) -> sympy.Basic:
    # a literal number's sign is folded into it (-4, not -1 * 4); nothing else is evaluated
    if isinstance(term, sympy.Number):
        return -term
    return sympy.Mul(sympy.Integer(-1), term, evaluate=False)


def _reciprocal(term: sympy.Basic) -> sympy.Basic:
    return sympy.Pow(term, sympy.Integer(-1), evaluate=False)


class Lowering:
    """Builds the sympy IR of a checked formula."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def lower(self, node: ast.AST) -> sympy.Basic:
        method: Callable[[ast.AST], sympy.Basic] = getattr(self, f"_{type(node).__name__}")
        return method(node)

    def _Expression(self, node: ast.Expression) -> sympy.Basic:
        return self.lower(node.body)

    def _Constant(self, node: ast.Constant) -> sympy.Basic:
        v = node.value
        if isinstance(v, bool):
            return sympy.true if v else sympy.false
        if isinstance(v, int):
            return sympy.Integer(v)
        if isinstance(v, str):  # a quoted text, compared with a label or given as a text output
            return ir.Str(v)
        return sympy.Float(v)

    def _Name(self, node: ast.Name) -> sympy.Basic:
        if node.id in TRUE_WORDS:
            return sympy.true if TRUE_WORDS[node.id] else sympy.false
        if node.id in self.scope.text_names:
            return ir.Label(ir.Str(node.id), evaluate=False)
        return sympy.Symbol(node.id)

    def _UnaryOp(self, node: ast.UnaryOp) -> sympy.Basic:
        operand = self.lower(node.operand)
        if isinstance(node.op, ast.USub):
            return sympy.Mul(sympy.Integer(-1), operand, evaluate=False)
        if isinstance(node.op, ast.Not):
            return sympy.Not(operand, evaluate=False)
        return operand

    def _BinOp(self, node: ast.BinOp) -> sympy.Basic:
        if isinstance(node.op, ast.Pow):
            return sympy.Pow(self.lower(node.left), self.lower(node.right), evaluate=False)
        additive = isinstance(node.op, ast.Add | ast.Sub)
        family = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        parts: list[tuple[ast.operator, ast.expr]] = []
        cur: ast.expr = node
        while isinstance(cur, ast.BinOp) and isinstance(cur.op, family):
            parts.append((cur.op, cur.right))
            cur = cur.left
        args = [self.lower(cur)]
        for op, operand in reversed(parts):
            term = self.lower(operand)
            if isinstance(op, ast.Sub):
                term = _negate(term)
            elif isinstance(op, ast.Div):
                term = _reciprocal(term)
            args.append(term)
        return (sympy.Add if additive else sympy.Mul)(*args, evaluate=False)

    def _Compare(self, node: ast.Compare) -> sympy.Basic:
        terms = [self.lower(node.left)] + [self.lower(c) for c in node.comparators]
        parts = [
            _COMPARE[type(op)](a, b, evaluate=False) for op, a, b in zip(node.ops, terms, terms[1:])
        ]
        return parts[0] if len(parts) == 1 else ir.AllOf(*parts, evaluate=False)

    def _BoolOp(self, node: ast.BoolOp) -> sympy.Basic:
        values = [self.lower(v) for v in node.values]
        cls = ir.AllOf if isinstance(node.op, ast.And) else ir.AnyOf
        return cls(*values, evaluate=False)

    def _IfExp(self, node: ast.IfExp) -> sympy.Basic:
        return _where(self.lower(node.test), self.lower(node.body), self.lower(node.orelse))

    # -- calls -------------------------------------------------------------------------
    def _Call(self, node: ast.Call) -> sympy.Basic:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
        if is_statistic_call(name, len(node.args)):
            return self._statistic(node, name, kwargs)
        if name == "at":
            return self._at(node, kwargs)
        if name == "class_at_least":
            label = node.args[0]
            assert isinstance(label, ast.Constant)
            return ir.ClassAtLeast(ir.Str(label.value), evaluate=False)
        if name == "round":
            digits = node.args[1]
            assert isinstance(digits, ast.Constant)
            mode = _literal(kwargs.get("mode"), "half_up")
            return ir.Round(
                self.lower(node.args[0]),
                sympy.Integer(digits.value),
                ir.Str(mode),
                evaluate=False,
            )
        args = [self.lower(a) for a in node.args]
        if name in ("min", "max"):
            return (sympy.Min if name == "min" else sympy.Max)(*args, evaluate=False)
        if name == "where":
            return _where(*args)
        (a,) = args
        if name == "present":  # a condition on the 1/0 presence flag
            return sympy.Eq(ir.IsPresent(a, evaluate=False), sympy.Integer(1), evaluate=False)
        if name == "log":
            return sympy.log(a, evaluate=False)
        if name == "log10":
            ln10 = sympy.log(sympy.Integer(10), evaluate=False)
            return sympy.Mul(sympy.log(a, evaluate=False), _reciprocal(ln10), evaluate=False)
        if name == "exp":
            return sympy.exp(a, evaluate=False)
        if name == "sqrt":
            return sympy.Pow(a, sympy.Rational(1, 2), evaluate=False)
        return sympy.Abs(a, evaluate=False)

    def _statistic(self, node: ast.Call, name: str, kwargs: dict[str, ast.expr]) -> sympy.Basic:
        operand = self.lower(node.args[0])
        keys = self._keys(kwargs.get("by"))
        cls = ir.STATISTICS[name]
        if name == "std":
            ddof = kwargs.get("ddof")
            value = ddof.value if isinstance(ddof, ast.Constant) else 1
            return ir.stat(cls, operand, keys, sympy.Integer(value))
        if name == "rank":
            descending = kwargs.get("descending")
            desc = (
                TRUE_WORDS[descending.id]
                if isinstance(descending, ast.Name)
                else bool(descending.value)
                if isinstance(descending, ast.Constant)
                else False
            )
            ties = _literal(kwargs.get("ties"), "min")
            return ir.stat(cls, operand, keys, sympy.Integer(int(desc)), ir.Str(ties))
        if name == "quantile":
            q = kwargs["q"]
            assert isinstance(q, ast.Constant)
            return ir.stat(cls, operand, keys, sympy.Float(q.value))
        if name == "cumsum":
            return ir.stat(cls, operand, keys, self.lower(kwargs["order"]))
        return ir.stat(cls, operand, keys)

    def _keys(self, node: ast.expr | None) -> tuple[str, ...]:
        if node is None:
            return self.scope.default_keys
        assert isinstance(node, ast.List | ast.Tuple)
        return tuple(_key(e) for e in node.elts)

    def _at(self, node: ast.Call, kwargs: dict[str, ast.expr]) -> sympy.Basic:
        if kwargs:
            pairs = list(kwargs.items())
        else:
            assert self.scope.period is not None
            pairs = [(self.scope.period, node.args[1])]
        args: list[sympy.Basic] = []
        for key, value in pairs:
            assert isinstance(value, ast.Constant)
            v = value.value
            args += [sympy.Symbol(key), sympy.Integer(v) if isinstance(v, int) else ir.Str(v)]
        return ir.At(self.lower(node.args[0]), *args, evaluate=False)


def _literal(node: ast.expr | None, default: str) -> str:
    return str(node.value) if isinstance(node, ast.Constant) else default


def _where(cond: sympy.Basic, a: sympy.Basic, b: sympy.Basic) -> sympy.Basic:
    # not Piecewise: sympy rewrites a Piecewise's condition (and fails on some constant
    # ones); If keeps it as written
    return ir.If(cond, a, b, evaluate=False)


def lower(tree: ast.AST, scope: Scope) -> sympy.Basic:
    """The sympy IR of a checked syntax tree."""
    return Lowering(scope).lower(tree)


def _key(node: ast.expr) -> str:
    """A grouping key of ``by=[...]``: a name, or a literal (the checker allows no other)."""
    if isinstance(node, ast.Name):
        return node.id
    assert isinstance(node, ast.Constant)
    return str(node.value)
