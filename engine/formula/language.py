"""The formula language's functions: one declaration each, from which the checker, the
messages and the documentation's list of functions follow.

A :class:`Function` says what a call takes (the kind of each positional argument, the
keywords) and what it gives. Element-wise functions give one value per row;
statistics give one value per group of rows (``rank`` and ``cumsum`` one per row) and
take ``by=[...]``; ``min`` and ``max`` are element-wise with two or more arguments and
statistics with one.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.formula.types import Kind

NUMBER, CONDITION, TEXT = Kind.NUMBER, Kind.CONDITION, Kind.TEXT

#: names that are the truth values
TRUE_WORDS = {"true": True, "false": False, "True": True, "False": False}


@dataclass(frozen=True)
class Function:
    name: str
    summary: str
    #: kinds of the positional arguments; `variadic` repeats the last one (two or more)
    args: tuple[Kind, ...] = (NUMBER,)
    result: Kind = NUMBER
    keywords: frozenset[str] = frozenset()
    variadic: bool = False
    statistic: bool = False


def _stat(name: str, summary: str, *keywords: str) -> Function:
    return Function(name, summary, keywords=frozenset({"by", *keywords}), statistic=True)


ELEMENTWISE = (
    Function("log", "natural logarithm"),
    Function("log10", "base-10 logarithm"),
    Function("exp", "e to the power"),
    Function("sqrt", "square root"),
    Function("abs", "absolute value"),
    Function("round", "rounded to a whole number of decimals", (NUMBER,),
             keywords=frozenset({"mode"})),
    Function("where", "where(condition, a, b): a where the condition holds, else b",
             (CONDITION, NUMBER, NUMBER)),
    Function("min", "smallest of two or more values in the row", (NUMBER, NUMBER), variadic=True),
    Function("max", "largest of two or more values in the row", (NUMBER, NUMBER), variadic=True),
    Function("present", "true where the value is present, false where it is missing",
             (NUMBER,), CONDITION),
)  # fmt: skip

STATISTICS = (
    _stat("max", "largest value across units"),
    _stat("min", "smallest value across units"),
    _stat("mean", "mean across units"),
    _stat("sum", "sum across units"),
    _stat("median", "median across units"),
    _stat("count", "number of present values across units"),
    _stat("std", "standard deviation across units", "ddof"),
    _stat("rank", "rank among the units", "descending", "ties"),
    _stat("quantile", "quantile across units", "q"),
    _stat("cumsum", "running total across units", "order"),
)

ROW_FUNCTIONS = (
    Function("at", "value of the same unit in another period or key", (NUMBER,)),
    Function("class_at_least", "the class is this band or a higher one", (TEXT,), CONDITION),
)

ELEMENTWISE_BY_NAME = {f.name: f for f in ELEMENTWISE}
STATISTICS_BY_NAME = {f.name: f for f in STATISTICS}
ROW_BY_NAME = {f.name: f for f in ROW_FUNCTIONS}
#: every function name a formula may call
FUNCTION_NAMES = (
    frozenset(ELEMENTWISE_BY_NAME) | frozenset(STATISTICS_BY_NAME) | frozenset(ROW_BY_NAME)
)
#: the names with the statistics that take exactly one argument
ONE_ARGUMENT_STATISTICS = frozenset(STATISTICS_BY_NAME) - {"min", "max"}


def allowed_functions() -> str:
    """The function names, for messages: ``abs, at, class_at_least, count, ...``."""
    return ", ".join(sorted(FUNCTION_NAMES))


def is_statistic_call(name: str, positional: int) -> bool:
    """Whether a call of `name` with `positional` arguments is a statistic."""
    return name in ONE_ARGUMENT_STATISTICS or (name in ("min", "max") and positional == 1)


#: Python built-ins and keywords people try, and what to tell them
PYTHON_NAMES = frozenset(
    {
        "__import__", "eval", "exec", "compile", "open", "getattr", "setattr", "delattr",
        "globals", "locals", "vars", "input", "print", "help", "dir", "type", "object",
        "breakpoint", "exit", "quit", "memoryview", "bytes", "bytearray", "classmethod",
        "staticmethod", "super", "property", "isinstance", "issubclass", "hasattr", "id",
        "hash", "iter", "next", "len", "int", "float", "str", "bool", "list", "dict", "set",
        "tuple", "range", "map", "filter", "zip", "sorted", "reversed", "any", "all", "pow",
        "divmod", "chr", "ord", "format", "repr", "ascii", "callable", "enumerate", "slice",
        "frozenset", "complex", "bin", "hex", "oct",
    }
)  # fmt: skip
