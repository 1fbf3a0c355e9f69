"""The checker: every node of a formula's syntax tree gets a type, before sympy is involved.

:func:`check` walks the tree that :func:`ast.parse` built (nothing is run) against the
whitelist of the language and gives each node a :class:`~engine.formula.types.Type`: a
kind (number, condition, text) and a shape (constant, per group, per row). Every
problem is collected as a :class:`Diagnostic` located at the offending token (for an
operator, the operator itself), naming what was found, what was expected and, where
there is one, the fix (``where(x < t, 1, 0)`` for a condition used as a number).

Constant parts are worked out on the way, with 64-bit floats as the run would, so that
``9 ** 9 ** 9 ** 9``, ``1 / 0`` and ``log(0)`` are refused here (see
:mod:`engine.formula.limits`). Calls are checked by :mod:`engine.formula.calls`.

Only a tree without problems is turned into sympy (:mod:`engine.formula.lower`), so
sympy never sees an ill-typed expression.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from engine.diagnostics import Code, Diagnostic
from engine.formula import limits, names
from engine.formula.language import FUNCTION_NAMES, PYTHON_NAMES, TRUE_WORDS, allowed_functions
from engine.formula.scope import Scope
from engine.formula.source import Source, Span
from engine.formula.types import CONSTANT, ROW, Kind, Type

NUMBER, CONDITION, TEXT = Kind.NUMBER, Kind.CONDITION, Kind.TEXT


@dataclass(frozen=True)
class Typed:
    """A checked node: its type (None once a problem in it is reported) and, for a
    constant number, its value."""

    type: Type | None
    value: float | None = None

    @property
    def kind(self) -> Kind | None:
        return self.type.kind if self.type else None


BAD = Typed(None)

_OPERATORS: dict[type[ast.AST], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^", ast.BitOr: "|",
    ast.BitAnd: "&", ast.LShift: "<<", ast.RShift: ">>",
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is", ast.In: "in", ast.NotIn: "in",
    ast.And: "and", ast.Or: "or",
}  # fmt: skip
_OTHER_OPERATORS = {
    "//": "'//' (floor division) is not an operator of the formula language",
    "%": "'%' (remainder) is not an operator of the formula language",
    "@": "'@' (matrix product) is not an operator of the formula language",
    "^": "'^' is not a power here",
    "|": "'|' (bitwise or) is not an operator of the formula language",
    "&": "'&' (bitwise and) is not an operator of the formula language",
    "<<": "'<<' (bit shift) is not an operator of the formula language",
    ">>": "'>>' (bit shift) is not an operator of the formula language",
}
_OTHER_HINTS = {"^": "write a ** b for a power", "|": "write 'or'", "&": "write 'and'"}

#: constructs outside the language, named for what they are
_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[i])",
    ast.Lambda: "a lambda (a function definition)",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression (comprehension)",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.Starred: "unpacking (*a)",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
ALLOWED = "numbers, names, + - * / **, comparisons, and/or/not, if … else and the functions: "


class Checker:
    """Types the nodes of one formula and collects its problems."""

    def __init__(self, source: Source, scope: Scope):
        self.source = source
        self.scope = scope
        self.problems: list[Diagnostic] = []

    # -- reporting -------------------------------------------------------------------
    def fail(
        self,
        where: ast.AST | Span | None,
        code: Code,
        message: str,
        *,
        expected: str | None = None,
        hint: str | None = None,
    ) -> Typed:
        loc = (
            self.source.locate(where) if isinstance(where, Span) or where is None
            else self.source.at(where)
        )  # fmt: skip
        self.problems.append(Diagnostic(code, message, loc, expected, hint))
        return BAD

    def text(self, node: ast.AST) -> str:
        return self.source.excerpt(node)

    def mismatch(
        self, where: ast.AST | Span | None, what: str, node: ast.AST, got: Typed, want: Kind
    ) -> Typed:
        """`what` (e.g. "'-' needs numbers, but its right operand") got the wrong kind."""
        text = self.text(node)
        quoted = text if text[:1] in "'\"" else f"'{text}'"
        found = f"{what} {quoted} is {got.type}"
        if got.kind is TEXT:
            hint = (
                "text is for options, keys and labels: ties='dense', at(x, '2010Q1'), "
                "region == 'Asia'"
            )
        elif want is NUMBER:
            hint = f"to count a condition as 1 or 0, write where({self.text(node)}, 1, 0)"
        else:
            hint = f"to test a number, compare it: {self.text(node)} != 0 or {self.text(node)} > 0"
        return self.fail(where, Code.TYPE, found, expected=want.article, hint=hint)

    def need(
        self, typed: Typed, want: Kind, where: ast.AST | Span | None, what: str, node: ast.AST
    ) -> bool:
        """Whether `typed` is of kind `want`; reports it when not (once per problem)."""
        if typed.type is None:
            return False
        if typed.kind is not want:
            self.mismatch(where, what, node, typed, want)
            return False
        return True

    # -- the walk --------------------------------------------------------------------
    def check(self, node: ast.AST) -> Typed:
        method: Callable[[ast.AST], Typed] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is not None:
            return method(node)
        construct = _CONSTRUCTS.get(type(node), f"'{type(node).__name__}'")
        return self.fail(
            node,
            Code.FORMULA_SYNTAX,
            f"{construct} is not allowed in a formula",
            expected=ALLOWED + allowed_functions(),
        )

    def _Expression(self, node: ast.Expression) -> Typed:
        return self.check(node.body)

    def _Constant(self, node: ast.Constant) -> Typed:
        v = node.value
        if isinstance(v, bool):
            return Typed(Type(CONDITION, CONSTANT))
        if isinstance(v, int | float):
            try:
                value = float(v)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                return self.fail(
                    node, Code.FORMULA_SYNTAX, "number too large", expected="a finite number"
                )
            return Typed(Type(NUMBER, CONSTANT), value)
        if isinstance(v, str):
            return Typed(Type(TEXT, CONSTANT))
        what = {complex: "a complex number", bytes: "a bytes literal"}.get(type(v), repr(v))
        return self.fail(
            node, Code.FORMULA_SYNTAX, f"{what} is not allowed in a formula", expected="a number"
        )

    def _Name(self, node: ast.Name) -> Typed:
        name = node.id
        if name in TRUE_WORDS:
            return Typed(Type(CONDITION, CONSTANT))
        if name in self.scope.text_names:
            return Typed(Type(TEXT, ROW))
        if name in self.scope.names:
            return Typed(Type(NUMBER, ROW))
        if name in FUNCTION_NAMES:
            return self.fail(
                node, Code.UNKNOWN_NAME, f"'{name}' is a function; call it as {name}(...)"
            )
        written = self.source.excerpt(node)
        if written != name:  # Python reads identifiers in NFKC form (ﬁ is fi)
            name_text = f"'{written}' (read as '{name}')"
            return self.fail(node, Code.UNKNOWN_NAME, f"unknown name {name_text}",
                             expected=self.scope.expected)  # fmt: skip
        message, hint = names.unknown_name(name, self.scope.names)
        return self.fail(node, Code.UNKNOWN_NAME, message, expected=self.scope.expected, hint=hint)

    def _UnaryOp(self, node: ast.UnaryOp) -> Typed:
        if isinstance(node.op, ast.Invert):
            return self.fail(
                node,
                Code.FORMULA_SYNTAX,
                "'~' (bitwise not) is not an operator of the formula language",
                hint="write 'not' before a condition",
            )
        operand = self.check(node.operand)
        op_span = self.source.node_span(node)
        op_span = Span(op_span.start, 3 if isinstance(node.op, ast.Not) else 1) if op_span else None
        if isinstance(node.op, ast.Not):
            if not self.need(
                operand, CONDITION, op_span, "'not' needs a condition, but", node.operand
            ):
                return BAD if operand.type is None else Typed(Type(CONDITION, operand.type.shape))
            return operand
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        if not self.need(operand, NUMBER, op_span, f"'{symbol}' needs a number, but", node.operand):
            return BAD
        value = operand.value
        return Typed(operand.type, -value if value is not None and symbol == "-" else value)

    def _BinOp(self, node: ast.BinOp) -> Typed:
        symbol = _OPERATORS.get(type(node.op), "?")
        if symbol not in ("+", "-", "*", "/", "**"):
            self.check(node.left)
            self.check(node.right)
            return self.fail(
                self.source.operator_span(node.left, node.right, symbol),
                Code.FORMULA_SYNTAX,
                _OTHER_OPERATORS.get(symbol, f"'{symbol}' is not allowed"),
                expected="+ - * / ** for arithmetic",
                hint=_OTHER_HINTS.get(symbol),
            )
        if symbol == "**":
            return self._arithmetic(node.left, [(node.op, node.right)], node)
        # a left-deep run of + - (or * /) is walked as one list, so long sums do not recurse
        family = (ast.Add, ast.Sub) if symbol in "+-" else (ast.Mult, ast.Div)
        parts: list[tuple[ast.operator, ast.expr]] = []
        cur: ast.expr = node
        while isinstance(cur, ast.BinOp) and isinstance(cur.op, family):
            parts.append((cur.op, cur.right))
            cur = cur.left
        return self._arithmetic(cur, list(reversed(parts)), node)

    def _arithmetic(
        self, first: ast.expr, rest: list[tuple[ast.operator, ast.expr]], whole: ast.AST
    ) -> Typed:
        acc = self.check(first)
        left_node: ast.expr = first
        for op, right_node in rest:
            symbol = _OPERATORS[type(op)]
            right = self.check(right_node)
            span = self.source.operator_span(left_node, right_node, symbol)
            bad = acc.type is None or right.type is None
            needs = f"'{symbol}' needs numbers, but its"
            if acc.type is not None and acc.kind is not NUMBER:  # only the first operand can be
                self.mismatch(span, f"{needs} left operand", first, acc, NUMBER)
                bad = True
            if right.type is not None and right.kind is not NUMBER:
                self.mismatch(span, f"{needs} right operand", right_node, right, NUMBER)
                bad = True
            if bad or acc.type is None or right.type is None:
                acc = BAD
            else:
                value = self._fold(symbol, acc.value, right.value, span, whole)
                acc = Typed(Type(NUMBER, acc.type.shape.join(right.type.shape)), value)
            left_node = right_node
        return acc

    def _fold(
        self, symbol: str, a: float | None, b: float | None, span: Span | None, node: ast.AST
    ) -> float | None:
        """The value of a constant operation; an undefined or too large one is reported."""
        if a is None or b is None:
            return None
        try:
            if symbol == "+":
                value = a + b
            elif symbol == "-":
                value = a - b
            elif symbol == "*":
                value = a * b
            elif symbol == "/":
                value = a / b
            else:
                if a < 0 and not float(b).is_integer():
                    raise ValueError("a fractional power of a negative number")
                value = a**b
        except ZeroDivisionError:
            return self._bad_constant(span, node, "divides by zero")
        except OverflowError:
            return self._bad_constant(span, node, "is too large")
        except ValueError as err:
            return self._bad_constant(span, node, f"is undefined ({err})")
        # a product, quotient or power of non-zero numbers that comes out 0 has underflowed
        return self._finite(value, span, node, zero_ok=symbol in "+-" or a == 0 or b == 0)

    def _finite(
        self, value: float | complex, span: Span | None, node: ast.AST, zero_ok: bool = True
    ) -> float | None:
        if isinstance(value, complex) or math.isnan(value):
            return self._bad_constant(span, node, "is undefined")
        if abs(value) > limits.MAX_CONSTANT or math.isinf(value):
            return self._bad_constant(span, node, "is too large")
        if value == 0 and not zero_ok:
            return self._bad_constant(span, node, "is too small (it would round to 0)")
        return value

    def _bad_constant(self, span: Span | None, node: ast.AST, what: str) -> float | None:
        """Report a constant that is undefined or out of range; None (no value)."""
        self.fail(
            span or node,
            Code.FORMULA_LIMIT,
            f"the constant {self.text(node)} {what}",
            expected="constants that are finite 64-bit numbers",
        )
        return None

    def _Compare(self, node: ast.Compare) -> Typed:
        operands = [node.left, *node.comparators]
        typed = [self.check(o) for o in operands]
        shape = CONSTANT
        ok = True
        pairs = zip(itertools.pairwise(operands), itertools.pairwise(typed))
        for op, ((a, b), (ta, tb)) in zip(node.ops, pairs):
            symbol = _OPERATORS.get(type(op), "?")
            span = self.source.operator_span(a, b, symbol)
            if symbol in ("is", "in"):
                self.fail(
                    span,
                    Code.FORMULA_SYNTAX,
                    f"'{symbol}' is not an operator of the formula language",
                    expected="< <= > >= == !=",
                    hint="write == or != to compare numbers" if symbol == "is" else None,
                )
                ok = False
                continue
            if ta.kind is TEXT and tb.kind is TEXT and symbol in ("==", "!="):
                assert ta.type is not None and tb.type is not None  # a kind comes with a type
                shape = shape.join(ta.type.shape).join(tb.type.shape)
                continue  # text equals text (a label and a quoted value)
            for side, n, t in (("left", a, ta), ("right", b, tb)):
                if t.type is not None and t.kind is not NUMBER:
                    self.mismatch(
                        span, f"'{symbol}' compares numbers, but its {side} operand", n, t, NUMBER
                    )
                    ok = False
            if ta.type is None or tb.type is None:
                ok = False
            else:
                shape = shape.join(ta.type.shape).join(tb.type.shape)
        return Typed(Type(CONDITION, shape)) if ok else BAD

    def _BoolOp(self, node: ast.BoolOp) -> Typed:
        symbol = "and" if isinstance(node.op, ast.And) else "or"
        typed = [self.check(v) for v in node.values]
        shape = CONSTANT
        ok = True
        for i, (value, t) in enumerate(zip(node.values, typed)):
            other = node.values[i - 1] if i else node.values[1]
            span = (
                self.source.operator_span(other, value, symbol)
                if i
                else self.source.operator_span(value, other, symbol)
            )
            if t.type is None:
                ok = False
            elif t.kind is not CONDITION:
                found = f"'{symbol}' joins conditions, but '{self.text(value)}' is {t.type}"
                hint = f"compare it ({self.text(value)} != 0)" + (
                    "; for the larger value use max(a, b)" if symbol == "or" else ""
                )
                self.fail(span, Code.TYPE, found, expected="conditions on both sides", hint=hint)
                ok = False
            else:
                shape = shape.join(t.type.shape)
        return Typed(Type(CONDITION, shape)) if ok else BAD

    def _IfExp(self, node: ast.IfExp) -> Typed:
        test, body, orelse = self.check(node.test), self.check(node.body), self.check(node.orelse)
        span = self.source.operator_span(node.body, node.test, "if")
        ok = self.need(
            test, CONDITION, span, "'if … else' needs a condition after 'if', but", node.test
        )
        # numbers, or texts (labels): both branches of the same kind
        value = TEXT if body.kind is TEXT and orelse.kind is not NUMBER else NUMBER
        gives = "texts" if value is TEXT else "numbers"
        ok &= self.need(body, value, span, f"'if … else' gives {gives}, but", node.body)
        ok &= self.need(orelse, value, span, f"'if … else' gives {gives}, but", node.orelse)
        if not ok or test.type is None or body.type is None or orelse.type is None:
            return BAD
        return Typed(Type(value, test.type.shape.join(body.type.shape).join(orelse.type.shape)))

    def _Call(self, node: ast.Call) -> Typed:
        return calls.check_call(self, node)


def check(source: Source, tree: ast.AST, scope: Scope) -> tuple[Typed, list[Diagnostic]]:
    """Type the parsed formula `tree`: its type and every problem found."""
    checker = Checker(source, scope)
    typed = checker.check(tree)
    return typed, checker.problems


# calls.py builds on the Checker above
from engine.formula import calls  # noqa: E402

__all__ = ["BAD", "PYTHON_NAMES", "Checker", "Typed", "check"]
