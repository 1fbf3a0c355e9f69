"""Checking function calls: the name, the arguments' number and kinds, the options.

Part of the checker (:mod:`engine.formula.check`): each call is matched with its
declaration in :mod:`engine.formula.language`; options that must be literal (``by=``,
``ddof=``, ``ties=``, ``q=``, ``round``'s digits, ``at()``'s key values) are checked
here, so that the lowering to sympy can take them as they are.
"""

from __future__ import annotations

import ast
import decimal
import math

from engine.diagnostics import Code, did_you_mean
from engine.formula import names
from engine.formula.check import BAD, Checker, Typed
from engine.formula.language import (
    ELEMENTWISE_BY_NAME,
    FUNCTION_NAMES,
    PYTHON_NAMES,
    TRUE_WORDS,
    allowed_functions,
    is_statistic_call,
)
from engine.formula.types import CONSTANT, ROW, Kind, Shape, Type, Varies

NUMBER, CONDITION, TEXT = Kind.NUMBER, Kind.CONDITION, Kind.TEXT
RANK_TIES = frozenset({"min", "max", "dense", "average"})
ROUND_MODES = frozenset({"half_up", "half_even"})
MAX_ROUND_DIGITS = 12


def check_call(c: Checker, node: ast.Call) -> Typed:
    """Type a call, reporting every problem in it."""
    if not isinstance(node.func, ast.Name):
        return _not_a_function(c, node.func)
    name = node.func.id
    if name not in FUNCTION_NAMES:
        return _unknown_function(c, node.func, name)
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            return c.fail(arg, Code.FORMULA_SYNTAX, "unpacking (*a) is not allowed in a formula")
    for kw in node.keywords:
        if kw.arg is None:
            return c.fail(kw, Code.FORMULA_SYNTAX, "unpacking (**a) is not allowed in a formula")
    if is_statistic_call(name, len(node.args)):
        return _statistic(c, node, name)
    if name == "at":
        return _at(c, node)
    if name == "class_at_least":
        return _class_at_least(c, node)
    return _elementwise(c, node, name)


def _not_a_function(c: Checker, func: ast.expr) -> Typed:
    """A call of something that is not a name: a method, a lambda, a call's result."""
    expected = "one of: " + allowed_functions()
    if isinstance(func, ast.Attribute):
        c.fail(
            func,
            Code.UNKNOWN_FUNCTION,
            f"calling a method ({c.text(func)}(...)) is not allowed: only the functions of "
            "the formula language can be called",
            expected=expected,
        )
        if not isinstance(func.value, ast.Name):
            c.check(func.value)  # report what the method is called on, e.g. __import__(...)
        return BAD
    before = len(c.problems)
    c.check(func)
    if len(c.problems) == before:
        c.fail(func, Code.UNKNOWN_FUNCTION, f"{c.text(func)} is not a function", expected=expected)
    return BAD


def _unknown_function(c: Checker, func: ast.Name, name: str) -> Typed:
    expected = "one of: " + allowed_functions()
    if name == "__import__":
        message = "'__import__' is not a function of the formula language: formulas cannot import"
    elif name in PYTHON_NAMES:
        message = f"'{name}' is a Python built-in; formulas are not Python and cannot call it"
    else:
        message = f"unknown function '{name}'"
        foreign = names.foreign_letters(name)
        if foreign:
            message += " (it mixes scripts: " + ", ".join(foreign) + ")"
    hint = did_you_mean(names.skeleton(name), FUNCTION_NAMES)
    return c.fail(func, Code.UNKNOWN_FUNCTION, message, expected=expected, hint=hint)


# -- shared argument checks ----------------------------------------------------------------


def _no(c: Checker, where: ast.AST, code: Code, message: str, **kw: str) -> bool:
    """Report a problem; False, for `ok &= ...` chains."""
    c.fail(where, code, message, **kw)
    return False


def _keywords(c: Checker, node: ast.Call, name: str, allowed: frozenset[str]) -> bool:
    bad = [kw for kw in node.keywords if kw.arg not in allowed]
    for kw in bad:
        c.fail(
            kw,
            Code.BAD_ARGUMENTS,
            f"unknown keyword '{kw.arg}' for {name}()",
            expected=("keywords: " + ", ".join(sorted(allowed))) if allowed else "no keywords",
            hint=did_you_mean(str(kw.arg), allowed),
        )
    return not bad


def _arity(c: Checker, node: ast.Call, name: str, low: int, high: int | None) -> bool:
    n = len(node.args)
    if low <= n and (high is None or n <= high):
        return True
    want = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
    c.fail(node, Code.BAD_ARGUMENTS, f"{name}() takes {want} argument(s), got {n}")
    return False


def _argument(c: Checker, name: str, arg: ast.expr, want: Kind, position: str) -> Typed:
    typed = c.check(arg)
    if typed.type is not None and typed.kind is not want:
        return c.mismatch(
            arg, f"{name}() takes {want.article} as its {position} argument, but", arg, typed, want
        )
    return typed


def _kwarg(node: ast.Call, key: str) -> ast.expr | None:
    return next((kw.value for kw in node.keywords if kw.arg == key), None)


def _literal_string(c: Checker, value: ast.expr | None, allowed: frozenset[str]) -> bool:
    if value is None or (isinstance(value, ast.Constant) and value.value in allowed):
        return True
    c.fail(
        value,
        Code.BAD_ARGUMENTS,
        "unexpected option value",
        expected="one of: " + ", ".join(sorted(allowed)),
    )
    return False


def _literal_bool(c: Checker, value: ast.expr | None) -> bool:
    if value is None or (isinstance(value, ast.Constant) and isinstance(value.value, bool)):
        return True
    if isinstance(value, ast.Name) and value.id in TRUE_WORDS:
        return True
    c.fail(value, Code.BAD_ARGUMENTS, "expected true or false")
    return False


def _by_keys(c: Checker, value: ast.expr | None) -> tuple[bool, tuple[str, ...]]:
    """Whether by=[...] is valid, and the keys (the scope's default without by=)."""
    if value is None:
        return True, c.scope.default_keys
    if not isinstance(value, ast.List | ast.Tuple):
        c.fail(value, Code.BAD_ARGUMENTS, "by= takes a list of key columns, e.g. by=[year]")
        return False, ()
    keys, ok = [], True
    for elt in value.elts:
        key = (
            elt.id
            if isinstance(elt, ast.Name)
            else elt.value
            if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
            else None
        )
        if key is None or key not in c.scope.key_columns:
            c.fail(
                elt,
                Code.UNKNOWN_NAME,
                f"'{key if key is not None else '?'}' is not a key column",
                expected="one of: " + (", ".join(sorted(c.scope.key_columns)) or "no keys"),
                hint=did_you_mean(str(key), c.scope.key_columns),
            )
            ok = False
            continue
        keys.append(key)
    return ok, tuple(keys)


# -- statistics, at(), class_at_least() ------------------------------------------------------

_STAT_OPTIONS = {
    "std": {"ddof"},
    "rank": {"descending", "ties"},
    "cumsum": {"order"},
    "quantile": {"q"},
}


def _statistic(c: Checker, node: ast.Call, name: str) -> Typed:
    allowed = frozenset({"by", *_STAT_OPTIONS.get(name, ())})
    if not (_keywords(c, node, name, allowed) & _arity(c, node, name, 1, 1)):
        return BAD
    operand = _argument(c, name, node.args[0], NUMBER, "first")
    ok, keys = _by_keys(c, _kwarg(node, "by"))
    ok &= operand.type is not None
    if name == "std":
        ddof = _kwarg(node, "ddof")
        if ddof is not None and not (
            isinstance(ddof, ast.Constant) and type(ddof.value) is int and ddof.value in (0, 1)
        ):
            ok = _no(c, ddof, Code.BAD_ARGUMENTS, "ddof must be 0 (population) or 1 (sample)")
    elif name == "rank":
        ok &= _literal_bool(c, _kwarg(node, "descending"))
        ok &= _literal_string(c, _kwarg(node, "ties"), RANK_TIES)
    elif name == "quantile":
        q = _kwarg(node, "q")
        q_value = q.value if isinstance(q, ast.Constant) else None
        if not (isinstance(q_value, int | float) and not isinstance(q_value, bool)
                and 0 <= q_value <= 1):  # fmt: skip
            ok = _no(
                c,
                q or node,
                Code.BAD_ARGUMENTS,
                "quantile() needs q= between 0 and 1",
                expected="e.g. quantile(x, q=0.25)",
            )
    elif name == "cumsum":
        order = _kwarg(node, "order")
        if order is None:
            ok = _no(
                c,
                node,
                Code.BAD_ARGUMENTS,
                "cumsum() needs order=..., the value that sorts the rows",
                expected="e.g. cumsum(c, by=[industry, year], order=lq)",
            )
        else:
            ok &= _argument(c, name, order, NUMBER, "order=").type is not None
    if not ok:
        return BAD
    shape = ROW if name in ("rank", "cumsum") else Shape(Varies.GROUP, frozenset(keys))
    return Typed(Type(NUMBER, shape))


def _at(c: Checker, node: ast.Call) -> Typed:
    pairs: list[ast.expr] = []
    kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
    if len(node.args) == 2 and not kwargs:
        if c.scope.period is None:
            return c.fail(
                node,
                Code.BAD_ARGUMENTS,
                "at(x, value) needs a period column",
                expected="data.period, or at(x, key='value') with a key column",
            )
        pairs.append(node.args[1])
    elif len(node.args) == 1 and kwargs:
        for key, value in kwargs.items():
            if key not in c.scope.key_columns:
                c.fail(
                    value,
                    Code.UNKNOWN_NAME,
                    f"'{key}' is not a key column",
                    expected="one of: " + ", ".join(sorted(c.scope.key_columns)),
                    hint=did_you_mean(key, c.scope.key_columns),
                )
                return BAD
            pairs.append(value)
    else:
        return c.fail(
            node,
            Code.BAD_ARGUMENTS,
            "at() takes a value and a period (at(x, 2010)) or key=value pairs "
            "(at(x, industry='J'))",
        )
    for value in pairs:
        if not (
            isinstance(value, ast.Constant)
            and type(value.value) in (int, str)
            and (not isinstance(value.value, str) or value.value.strip())
        ):
            return c.fail(
                value,
                Code.BAD_ARGUMENTS,
                "at() needs a whole number or a text value",
                expected="e.g. 2010 or 'WZ08-J'",
            )
    operand = _argument(c, "at", node.args[0], NUMBER, "first")
    return Typed(Type(NUMBER, ROW)) if operand.type is not None else BAD


def _class_at_least(c: Checker, node: ast.Call) -> Typed:
    labels = c.scope.class_labels
    if labels is None:
        return c.fail(
            node,
            Code.UNKNOWN_FUNCTION,
            "class_at_least() is for screening rules",
            expected="a screening rule of a methodology with classes",
        )
    if not (
        _keywords(c, node, "class_at_least", frozenset()) & _arity(c, node, "class_at_least", 1, 1)
    ):
        return BAD
    arg = node.args[0]
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value in labels):
        return c.fail(
            arg,
            Code.BAD_ARGUMENTS,
            "class_at_least() needs a class label",
            expected="one of: " + ", ".join(labels),
            hint=did_you_mean(str(getattr(arg, "value", "")), labels),
        )
    return Typed(Type(CONDITION, ROW))


# -- element-wise functions ------------------------------------------------------------------


def _elementwise(c: Checker, node: ast.Call, name: str) -> Typed:
    fn = ELEMENTWISE_BY_NAME[name]
    if name == "round":
        return _round(c, node)
    if name == "where" and len(node.args) == 3 and not node.keywords:
        return _where(c, node)
    high = None if fn.variadic else len(fn.args)
    if not (_keywords(c, node, name, fn.keywords) & _arity(c, node, name, len(fn.args), high)):
        return BAD
    kinds = list(fn.args) + [fn.args[-1]] * (len(node.args) - len(fn.args))
    ordinals = ("first", "second", "third")
    typed = [
        _argument(c, name, a, k, ordinals[i] if i < 3 else f"#{i + 1}")
        for i, (a, k) in enumerate(zip(node.args, kinds))
    ]
    if any(t.type is None for t in typed):
        return BAD
    shape = CONSTANT
    for t in typed:
        assert t.type is not None
        shape = shape.join(t.type.shape)
    values = [t.value for t in typed]
    if fn.result == CONDITION:  # present(): never missing itself, so never folded
        return Typed(Type(CONDITION, shape))
    if name == "where" or any(v is None for v in values):
        return Typed(Type(NUMBER, shape))
    return Typed(
        Type(NUMBER, shape), _fold_call(c, node, name, [v for v in values if v is not None])
    )


def _where(c: Checker, node: ast.Call) -> Typed:
    """where(condition, a, b): a and b both numbers, or both texts (labels, quoted values)."""
    test = _argument(c, "where", node.args[0], CONDITION, "first")
    first = c.check(node.args[1])
    value = TEXT if first.kind is TEXT else NUMBER
    if first.type is not None and first.kind is not value:
        first = c.mismatch(
            node.args[1], "where() takes a number or text as its second argument, but",
            node.args[1], first, NUMBER,
        )  # fmt: skip
    second = _argument(c, "where", node.args[2], value, "third")
    if test.type is None or first.type is None or second.type is None:
        return BAD
    shape = test.type.shape.join(first.type.shape).join(second.type.shape)
    return Typed(Type(value, shape))


def _fold_call(c: Checker, node: ast.Call, name: str, values: list[float]) -> float | None:
    """The value of a call on constants; undefined ones (log(0)) are reported."""
    x = values[0]
    if name in ("log", "log10") and x <= 0:
        return c._bad_constant(None, node, "is undefined: the logarithm needs a value > 0")
    if name == "sqrt" and x < 0:
        return c._bad_constant(None, node, "is undefined: the square root needs a value >= 0")
    try:
        if name in ("min", "max"):
            value = min(values) if name == "min" else max(values)
        elif name in ("log", "log10"):
            value = math.log(x) / (math.log(10) if name == "log10" else 1.0)
        elif name == "exp":
            value = math.exp(x)
        elif name == "sqrt":
            value = math.sqrt(x)
        else:
            value = abs(x)
    except OverflowError:
        return c._bad_constant(None, node, "is too large")
    return c._finite(value, None, node, zero_ok=name != "exp")


def _round(c: Checker, node: ast.Call) -> Typed:
    if not (_keywords(c, node, "round", frozenset({"mode"})) & _arity(c, node, "round", 2, 2)):
        return BAD
    digits = node.args[1]
    ok = True
    if not (
        isinstance(digits, ast.Constant)
        and type(digits.value) is int
        and 0 <= digits.value <= MAX_ROUND_DIGITS
    ):
        ok = _no(
            c,
            digits,
            Code.BAD_ARGUMENTS,
            f"round() needs a whole number of digits 0..{MAX_ROUND_DIGITS}",
        )
    mode = _kwarg(node, "mode")
    ok &= _literal_string(c, mode, ROUND_MODES)
    operand = _argument(c, "round", node.args[0], NUMBER, "first")
    if not ok or operand.type is None:
        return BAD
    value = operand.value
    if value is not None and isinstance(digits, ast.Constant) and abs(value) < 2**52:
        half_even = isinstance(mode, ast.Constant) and mode.value == "half_even"
        rule = decimal.ROUND_HALF_EVEN if half_even else decimal.ROUND_HALF_UP
        exact = decimal.Decimal(f"{value:.12f}")
        places = decimal.Decimal(1).scaleb(-int(str(digits.value)))
        value = float(exact.quantize(places, rule))
    return Typed(operand.type, value)
