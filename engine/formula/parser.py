"""Formula text to sympy, without ``eval``.

A formula is parsed by :func:`ast.parse` in ``eval`` mode, which only builds a syntax
tree and runs nothing. The tree is walked against a whitelist of node types and
function names, and sympy objects are built directly (``evaluate=False`` keeps the
author's structure for ``explain``). sympy's ``sympify``/``parse_expr`` are never
called on user text: they run ``eval`` and turn ``E``, ``I``, ``N``, ``S`` or ``max(x)``
into sympy's own objects; here every name is a plain ``Symbol``.

The language:

* numbers, names, ``+ - * / **``, parentheses, unary minus;
* comparisons ``< <= > >= == !=`` (chains allowed), ``and``, ``or``, ``not``;
* ``where(cond, a, b)`` or ``a if cond else b``;
* element-wise ``log`` (natural), ``log10``, ``exp``, ``sqrt``, ``abs``,
  ``min(a, b, ...)``, ``max(a, b, ...)`` (two or more arguments), ``round(x, digits)``
  (half-up; ``mode='half_even'`` for ties to even);
* statistics across units (one argument): ``max min mean sum median count std rank``.
  They are taken over the units of the same period unless ``by=[...]`` names other key
  columns (``by=[]`` pools every row). ``std(x, ddof=1)`` is the sample SD by default.
  ``rank(x, descending=true, ties='min')``; ``cumsum(x, order=y)`` is the running total
  of x in ascending order of y (for Lorenz curves); ``quantile(x, q=0.25)`` with linear
  interpolation;
* ``at(x, 2010)``: the value of ``x`` for the same unit in period 2010;
  ``at(x, industry='J')`` the value in the row of industry J (any key column);
* ``class_at_least('C++')`` (screening rules only): the class is C++ or higher.

Every problem in a formula is collected as a :class:`Diagnostic` with the column of
the offending token inside the formula.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy

from engine.diagnostics import Code, Diagnostic, Location, did_you_mean
from engine.formula import ir

ELEMENTWISE = {"log", "log10", "exp", "sqrt", "abs", "min", "max", "where", "round"}
ROW_FUNCTIONS = {"at", "class_at_least"}
KNOWN_FUNCTIONS = ELEMENTWISE | set(ir.STATISTICS) | ROW_FUNCTIONS
TRUE_WORDS = {"true": True, "false": False, "True": True, "False": False}


@dataclass(frozen=True)
class Formula:
    """A formula as the author wrote it, and where."""

    text: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Scope:
    """What a formula may refer to.

    `names` maps each allowed name to what it is ("input", "indicator", ...), for
    messages; `default_keys` are the columns a statistic groups by when the formula
    gives no ``by=``; `key_columns` are the columns ``by=[...]`` may name.
    """

    names: Mapping[str, str]
    default_keys: tuple[str, ...]
    key_columns: frozenset[str] = frozenset()
    expected: str = "a name defined in the methodology"
    #: the period column, which at(x, 2010) fixes
    period: str | None = None
    #: class labels from the highest; None where class_at_least() is not allowed
    class_labels: tuple[str, ...] | None = None


class _Parser:
    def __init__(self, formula: Formula, scope: Scope):
        self.formula = formula
        self.scope = scope
        self.problems: list[Diagnostic] = []

    # -- reporting -------------------------------------------------------
    def where(self, node: ast.AST | None) -> Location | None:
        loc = self.formula.location
        if loc is None or node is None or not hasattr(node, "col_offset"):
            return loc
        start = node.col_offset
        end = node.end_col_offset if node.end_lineno == node.lineno else start + 1
        if node.lineno != 1:  # a multi-line (block) formula: point at its start
            return loc
        return loc.shifted(start, (end or start + 1) - start)

    def fail(
        self,
        node: ast.AST | None,
        code: Code,
        message: str,
        *,
        expected: str | None = None,
        hint: str | None = None,
    ) -> sympy.Expr:
        self.problems.append(Diagnostic(code, message, self.where(node), expected, hint))
        return sympy.Integer(0)  # placeholder so the walk can go on and find more problems

    # -- the walk ----------------------------------------------------------
    def parse(self) -> sympy.Expr:
        try:
            return self._parse()
        except (RecursionError, MemoryError):
            return self.fail(
                None,
                Code.FORMULA_SYNTAX,
                "formula is nested too deeply",
                expected="at most a few hundred levels of parentheses, operators or calls",
                hint="split it into several indicators",
            )

    def _parse(self) -> sympy.Expr:
        text = self.formula.text
        try:
            tree = ast.parse(text.strip() if "\n" in text else text, mode="eval")
        except SyntaxError as err:
            col = (err.offset or 1) - 1 if err.lineno in (None, 1) else 0
            node = ast.Constant(value=None)
            node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = 1, col, 1, col + 1
            hint = "use ** for powers" if "^" in text else None
            return self.fail(
                node,
                Code.FORMULA_SYNTAX,
                f"formula is not valid: {err.msg}",
                expected="an arithmetic expression such as 'grp / employed'",
                hint=hint,
            )
        return self.expr(tree.body)

    def expr(self, node: ast.AST) -> sympy.Expr:
        method: Callable[[ast.AST], sympy.Expr] | None = getattr(
            self, f"_{type(node).__name__}", None
        )
        if method is None:
            what = type(node).__name__
            hint = (
                "use ** for powers"
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor)
                else None
            )
            return self.fail(
                node,
                Code.FORMULA_SYNTAX,
                f"'{what}' is not allowed in a formula",
                expected="numbers, names, arithmetic, comparisons and the listed functions",
                hint=hint,
            )
        return method(node)

    def _Constant(self, node: ast.Constant) -> sympy.Expr:
        v = node.value
        if isinstance(v, bool):
            return sympy.true if v else sympy.false
        if isinstance(v, int):
            return sympy.Integer(v)
        if isinstance(v, float):
            if not math.isfinite(v):
                return self.fail(
                    node, Code.FORMULA_SYNTAX, "number too large", expected="a finite number"
                )
            return sympy.Float(v)
        return self.fail(
            node,
            Code.FORMULA_SYNTAX,
            f"{type(v).__name__} constant is not allowed here",
            expected="a number",
        )

    def _Name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        if name in TRUE_WORDS:
            return sympy.true if TRUE_WORDS[name] else sympy.false
        if name not in self.scope.names:
            if name in KNOWN_FUNCTIONS:
                return self.fail(
                    node, Code.UNKNOWN_NAME, f"'{name}' is a function; call it as {name}(...)"
                )
            return self.fail(
                node,
                Code.UNKNOWN_NAME,
                f"unknown name '{name}'",
                expected=self.scope.expected,
                hint=did_you_mean(name, self.scope.names),
            )
        return sympy.Symbol(name)

    def _UnaryOp(self, node: ast.UnaryOp) -> sympy.Expr:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.USub):
            return sympy.Mul(sympy.Integer(-1), operand, evaluate=False)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return sympy.Not(operand, evaluate=False)
        return self.fail(node, Code.FORMULA_SYNTAX, "this operator is not allowed")

    def _BinOp(self, node: ast.BinOp) -> sympy.Expr:
        if isinstance(node.op, ast.BitXor):
            return self.fail(
                node,
                Code.FORMULA_SYNTAX,
                "'^' is not a power here",
                expected="** for powers",
                hint="write a ** b",
            )
        op = node.op
        if isinstance(op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            return self._chain(node)
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(op, ast.Add):
            return sympy.Add(left, right, evaluate=False)
        if isinstance(op, ast.Sub):
            negated = (
                -right if right.is_Number else sympy.Mul(sympy.Integer(-1), right, evaluate=False)
            )
            return sympy.Add(left, negated, evaluate=False)
        if isinstance(op, ast.Mult):
            return sympy.Mul(left, right, evaluate=False)
        if isinstance(op, ast.Div):
            return sympy.Mul(
                left, sympy.Pow(right, sympy.Integer(-1), evaluate=False), evaluate=False
            )
        if isinstance(op, ast.Pow):
            return sympy.Pow(left, right, evaluate=False)
        return self.fail(
            node,
            Code.FORMULA_SYNTAX,
            f"operator '{type(op).__name__}' is not allowed",
            expected="+ - * / **",
        )

    def _chain(self, node: ast.BinOp) -> sympy.Expr:
        """A left-deep run of + - (or * /) as one flat node, so that long sums don't nest."""
        additive = isinstance(node.op, ast.Add | ast.Sub)
        family = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        parts: list[tuple[ast.operator, ast.AST]] = []
        cur: ast.AST = node
        while isinstance(cur, ast.BinOp) and isinstance(cur.op, family):
            parts.append((cur.op, cur.right))
            cur = cur.left
        args = [self.expr(cur)]
        for op, operand in reversed(parts):
            term = self.expr(operand)
            if isinstance(op, ast.Sub):
                term = (
                    -term if term.is_Number else sympy.Mul(sympy.Integer(-1), term, evaluate=False)
                )
            elif isinstance(op, ast.Div):
                term = sympy.Pow(term, sympy.Integer(-1), evaluate=False)
            args.append(term)
        cls = sympy.Add if additive else sympy.Mul
        return cls(*args, evaluate=False)

    _COMPARE = {
        ast.Lt: sympy.StrictLessThan,
        ast.LtE: sympy.LessThan,
        ast.Gt: sympy.StrictGreaterThan,
        ast.GtE: sympy.GreaterThan,
        ast.Eq: sympy.Eq,
        ast.NotEq: sympy.Ne,
    }

    def _Compare(self, node: ast.Compare) -> sympy.Basic:
        terms = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
        parts = []
        for op, a, b in zip(node.ops, terms, terms[1:]):
            rel = self._COMPARE.get(type(op))
            if rel is None:
                return self.fail(node, Code.FORMULA_SYNTAX, "only < <= > >= == != compare numbers")
            parts.append(rel(a, b, evaluate=False))
        return parts[0] if len(parts) == 1 else sympy.And(*parts, evaluate=False)

    def _BoolOp(self, node: ast.BoolOp) -> sympy.Basic:
        values = [self.expr(v) for v in node.values]
        cls = sympy.And if isinstance(node.op, ast.And) else sympy.Or
        return cls(*values, evaluate=False)

    def _IfExp(self, node: ast.IfExp) -> sympy.Expr:
        return self._where(self.expr(node.test), self.expr(node.body), self.expr(node.orelse))

    @staticmethod
    def _where(cond: sympy.Basic, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return sympy.Piecewise((a, cond), (b, True), evaluate=False)

    # -- calls ------------------------------------------------------------------
    def _Call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            return self.fail(
                node.func, Code.UNKNOWN_FUNCTION, "only plain function names can be called"
            )
        name = node.func.id
        if name not in KNOWN_FUNCTIONS:
            return self.fail(
                node.func,
                Code.UNKNOWN_FUNCTION,
                f"unknown function '{name}'",
                expected="one of: " + ", ".join(sorted(KNOWN_FUNCTIONS)),
                hint=did_you_mean(name, KNOWN_FUNCTIONS),
            )
        if any(isinstance(a, ast.Starred) for a in node.args):
            return self.fail(node, Code.FORMULA_SYNTAX, "*arguments are not allowed")
        kwargs = {k.arg: k.value for k in node.keywords if k.arg is not None}
        if len(kwargs) != len(node.keywords):
            return self.fail(node, Code.FORMULA_SYNTAX, "**arguments are not allowed")
        if (name in ir.STATISTICS and len(node.args) == 1) or name in (
            "mean",
            "sum",
            "median",
            "count",
            "std",
            "rank",
            "cumsum",
            "quantile",
        ):
            return self._statistic(node, name, kwargs)
        if name == "at":
            return self._at(node, kwargs)
        if name == "class_at_least":
            return self._class_at_least(node, kwargs)
        return self._elementwise(node, name, kwargs)

    def _no_keywords(self, node: ast.Call, kwargs: dict[str, ast.AST], allowed: set[str]) -> bool:
        bad = [kw for kw in node.keywords if kw.arg not in allowed]
        for kw in bad:
            self.fail(
                kw,
                Code.BAD_ARGUMENTS,
                f"unknown keyword '{kw.arg}' for {node.func.id}()",  # type: ignore[attr-defined]
                expected=("keywords: " + ", ".join(sorted(allowed))) if allowed else "no keywords",
                hint=did_you_mean(str(kw.arg), allowed),
            )
        return not bad

    def _arity(self, node: ast.Call, low: int, high: int | None) -> bool:
        n = len(node.args)
        if n < low or (high is not None and n > high):
            want = (
                f"{low}"
                if low == high
                else f"{low} or more"
                if high is None
                else f"{low} to {high}"
            )
            self.fail(
                node, Code.BAD_ARGUMENTS, f"{node.func.id}() takes {want} argument(s), got {n}"
            )  # type: ignore[attr-defined]
            return False
        return True

    def _elementwise(self, node: ast.Call, name: str, kwargs: dict[str, ast.AST]) -> sympy.Expr:
        if name == "round":
            if not (self._no_keywords(node, kwargs, {"mode"}) and self._arity(node, 2, 2)):
                return sympy.Integer(0)
            digits = node.args[1]
            if not (
                isinstance(digits, ast.Constant)
                and type(digits.value) is int
                and 0 <= digits.value <= 12
            ):
                return self.fail(
                    digits, Code.BAD_ARGUMENTS, "round() needs a whole number of digits 0..12"
                )
            mode = self._string_option(kwargs.get("mode"), "half_up", {"half_up", "half_even"})
            return ir.Round(
                self.expr(node.args[0]), sympy.Integer(digits.value), ir.Str(mode), evaluate=False
            )
        if not self._no_keywords(node, kwargs, set()):
            return sympy.Integer(0)
        args = [self.expr(a) for a in node.args]
        if name in ("min", "max"):
            if not self._arity(node, 2, None):
                return sympy.Integer(0)
            cls = sympy.Min if name == "min" else sympy.Max
            return cls(*args, evaluate=False)
        if name == "where":
            if not self._arity(node, 3, 3):
                return sympy.Integer(0)
            return self._where(args[0], args[1], args[2])
        if not self._arity(node, 1, 1):
            return sympy.Integer(0)
        (a,) = args
        if name == "log":
            return sympy.log(a, evaluate=False)
        if name == "log10":
            return sympy.Mul(
                sympy.log(a, evaluate=False),
                sympy.Pow(sympy.log(sympy.Integer(10), evaluate=False), -1, evaluate=False),
                evaluate=False,
            )
        if name == "exp":
            return sympy.exp(a, evaluate=False)
        if name == "sqrt":
            return sympy.Pow(a, sympy.Rational(1, 2), evaluate=False)
        return sympy.Abs(a, evaluate=False)

    def _string_option(self, node: ast.AST | None, default: str, allowed: set[str]) -> str:
        if node is None:
            return default
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in allowed:
            return node.value
        self.fail(
            node,
            Code.BAD_ARGUMENTS,
            "unexpected option value",
            expected="one of: " + ", ".join(sorted(allowed)),
        )
        return default

    def _bool_option(self, node: ast.AST | None, default: bool) -> bool:
        if node is None:
            return default
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name) and node.id in TRUE_WORDS:
            return TRUE_WORDS[node.id]
        self.fail(node, Code.BAD_ARGUMENTS, "expected true or false")
        return default

    def _keys(self, node: ast.AST | None) -> tuple[str, ...]:
        if node is None:
            return self.scope.default_keys
        if not isinstance(node, ast.List | ast.Tuple):
            self.fail(node, Code.BAD_ARGUMENTS, "by= takes a list of key columns, e.g. by=[year]")
            return self.scope.default_keys
        keys = []
        for elt in node.elts:
            key = (
                elt.id
                if isinstance(elt, ast.Name)
                else elt.value
                if (isinstance(elt, ast.Constant) and isinstance(elt.value, str))
                else None
            )
            if key is None or key not in self.scope.key_columns:
                self.fail(
                    elt,
                    Code.UNKNOWN_NAME,
                    f"'{key if key is not None else '?'}' is not a key column",
                    expected="one of: " + ", ".join(sorted(self.scope.key_columns)) or "no keys",
                    hint=did_you_mean(str(key), self.scope.key_columns),
                )
                continue
            keys.append(key)
        return tuple(keys)

    def _statistic(self, node: ast.Call, name: str, kwargs: dict[str, ast.AST]) -> sympy.Expr:
        allowed = (
            {"by"}
            | ({"ddof"} if name == "std" else set())
            | ({"descending", "ties"} if name == "rank" else set())
            | ({"order"} if name == "cumsum" else set())
            | ({"q"} if name == "quantile" else set())
        )
        if not (self._no_keywords(node, kwargs, allowed) and self._arity(node, 1, 1)):
            return sympy.Integer(0)
        operand = self.expr(node.args[0])
        keys = self._keys(kwargs.get("by"))
        cls = ir.STATISTICS[name]
        if name == "std":
            ddof_node = kwargs.get("ddof")
            ddof = 1
            if ddof_node is not None:
                if (
                    isinstance(ddof_node, ast.Constant)
                    and ddof_node.value in (0, 1)
                    and not isinstance(ddof_node.value, bool)
                ):
                    ddof = int(ddof_node.value)
                else:
                    self.fail(
                        ddof_node, Code.BAD_ARGUMENTS, "ddof must be 0 (population) or 1 (sample)"
                    )
            return ir.stat(cls, operand, keys, sympy.Integer(ddof))
        if name == "rank":
            desc = self._bool_option(kwargs.get("descending"), False)
            ties = self._string_option(
                kwargs.get("ties"), "min", {"min", "max", "dense", "average"}
            )
            return ir.stat(cls, operand, keys, sympy.Integer(int(desc)), ir.Str(ties))
        if name == "quantile":
            q = kwargs.get("q")
            if not (
                isinstance(q, ast.Constant)
                and isinstance(q.value, int | float)
                and not isinstance(q.value, bool)
                and 0 <= q.value <= 1
            ):
                return self.fail(
                    q or node,
                    Code.BAD_ARGUMENTS,
                    "quantile() needs q= between 0 and 1",
                    expected="e.g. quantile(x, q=0.25)",
                )
            return ir.stat(cls, operand, keys, sympy.Float(q.value))
        if name == "cumsum":
            order_node = kwargs.get("order")
            if order_node is None:
                return self.fail(
                    node,
                    Code.BAD_ARGUMENTS,
                    "cumsum() needs order=..., the value that sorts the rows",
                    expected="e.g. cumsum(c, by=[industry, year], order=lq)",
                )
            return ir.stat(cls, operand, keys, self.expr(order_node))
        return ir.stat(cls, operand, keys)

    def _at(self, node: ast.Call, kwargs: dict[str, ast.AST]) -> sympy.Expr:
        pairs: list[tuple[str, ast.AST]] = []
        if len(node.args) == 2 and not kwargs:
            if self.scope.period is None:
                return self.fail(
                    node,
                    Code.BAD_ARGUMENTS,
                    "at(x, value) needs a period column",
                    expected="data.period, or at(x, key='value') with a key column",
                )
            pairs.append((self.scope.period, node.args[1]))
        elif len(node.args) == 1 and kwargs:
            for key, value in kwargs.items():
                if key not in self.scope.key_columns:
                    self.fail(
                        value,
                        Code.UNKNOWN_NAME,
                        f"'{key}' is not a key column",
                        expected="one of: " + ", ".join(sorted(self.scope.key_columns)),
                        hint=did_you_mean(key, self.scope.key_columns),
                    )
                pairs.append((key, value))
        else:
            return self.fail(
                node,
                Code.BAD_ARGUMENTS,
                "at() takes a value and a period (at(x, 2010)) or key=value pairs "
                "(at(x, industry='J'))",
            )
        args: list[sympy.Basic] = []
        for key, value in pairs:
            if (
                not isinstance(value, ast.Constant)
                or isinstance(value.value, bool)
                or not isinstance(value.value, int | str)
            ):
                return self.fail(
                    value,
                    Code.BAD_ARGUMENTS,
                    "at() needs a whole number or a text value",
                    expected="e.g. 2010 or 'WZ08-J'",
                )
            v = value.value
            args += [sympy.Symbol(key), sympy.Integer(v) if isinstance(v, int) else ir.Str(v)]
        return ir.At(self.expr(node.args[0]), *args, evaluate=False)

    def _class_at_least(self, node: ast.Call, kwargs: dict[str, ast.AST]) -> sympy.Basic:
        labels = self.scope.class_labels
        if labels is None:
            return self.fail(
                node,
                Code.UNKNOWN_FUNCTION,
                "class_at_least() is for screening rules",
                expected="a screening rule of a methodology with classes",
            )
        if not (self._no_keywords(node, kwargs, set()) and self._arity(node, 1, 1)):
            return sympy.Integer(0)
        arg = node.args[0]
        if not (
            isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value in labels
        ):
            return self.fail(
                arg,
                Code.BAD_ARGUMENTS,
                "class_at_least() needs a class label",
                expected="one of: " + ", ".join(labels),
                hint=did_you_mean(str(getattr(arg, "value", "")), labels),
            )
        return ir.ClassAtLeast(ir.Str(arg.value), evaluate=False)


def parse_formula(formula: Formula, scope: Scope) -> tuple[sympy.Basic, tuple[Diagnostic, ...]]:
    """Parse `formula` into a sympy expression, with every problem found.

    >>> expr, problems = parse_formula(Formula("grp / employed"),
    ...     Scope({"grp": "input", "employed": "input"}, ("year",)))
    >>> expr, problems
    (grp/employed, ())
    """
    parser = _Parser(formula, scope)
    expr = parser.parse()
    return expr, tuple(parser.problems)
