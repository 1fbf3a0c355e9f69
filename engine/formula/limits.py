"""Bounds on formulas, so that no formula can take long or much memory to check or run.

A formula is checked against these limits before anything else is done with it:

* ``MAX_LENGTH`` characters of text (the schema's ``maxLength`` for formulas);
* ``MAX_DEPTH`` levels of nesting (operators, calls, ``if … else``); a run of the same
  additive (``+ -``) or multiplicative (``* /``) operator counts as one level, so a sum
  of hundreds of terms is fine;
* ``MAX_NESTED_STATISTICS`` statistics inside one another (``mean(max(x))`` is 2);
* constants: every constant part of a formula (``2 ** 10``, ``1 / 3``) is worked out
  with 64-bit floats, as the run would, and must be a finite number
  (``MAX_CONSTANT``) that is not undefined (``1 / 0``, ``log(0)``); a non-zero result
  that would round to 0 is refused too (``0.5 ** 5000``).

The walks here are iterative, so a formula nested thousands of levels deep is refused
without recursing through it.
"""

from __future__ import annotations

import ast
import sys
import unicodedata
from dataclasses import dataclass

#: characters of formula text (the schema's maxLength of the longest formula field)
MAX_LENGTH = 2000
#: nesting levels after runs of + - and * / are flattened
MAX_DEPTH = 60
#: statistics nested inside one another
MAX_NESTED_STATISTICS = 4
#: the largest magnitude of a constant (the largest finite 64-bit float)
MAX_CONSTANT = sys.float_info.max

#: names that are statistics when called with one argument (see engine.formula.language)
_STATISTICS = frozenset(
    {"max", "min", "mean", "sum", "median", "count", "std", "rank", "cumsum", "quantile"}
)


@dataclass(frozen=True)
class Excess:
    """A limit that a formula exceeds, and the node where it first does (None: the text)."""

    message: str
    expected: str
    node: ast.AST | None = None
    offset: int | None = None


def bad_character(text: str) -> Excess | None:
    """A character that cannot be in a formula: a lone surrogate, a control character."""
    for i, ch in enumerate(text):
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return Excess(
                f"the formula contains a lone surrogate U+{code:04X}, which is not a character",
                "text in UTF-8, as written by an editor",
                offset=i,
            )
        if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r":
            return Excess(
                f"the formula contains the control character U+{code:04X}",
                "printable characters",
                offset=i,
            )
    return None


def too_long(text: str) -> Excess | None:
    if len(text) > MAX_LENGTH:
        return Excess(
            f"the formula has {len(text)} characters",
            f"at most {MAX_LENGTH} characters",
            offset=MAX_LENGTH,
        )
    return None


def _same_chain(parent: ast.AST, child: ast.AST) -> bool:
    """Whether `child` continues `parent`'s run of + - (or * /): no extra nesting level."""
    if not (isinstance(parent, ast.BinOp) and isinstance(child, ast.BinOp)):
        return False
    additive = (ast.Add, ast.Sub)
    multiplicative = (ast.Mult, ast.Div)
    return (isinstance(parent.op, additive) and isinstance(child.op, additive)) or (
        isinstance(parent.op, multiplicative) and isinstance(child.op, multiplicative)
    )


def _is_statistic(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    name = node.func.id
    return name in _STATISTICS and (name not in ("min", "max") or len(node.args) == 1)


def too_deep(tree: ast.AST) -> Excess | None:
    """The first node nested deeper than the limits allow, or None."""
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 0)]
    while stack:
        node, depth, statistics = stack.pop()
        if depth > MAX_DEPTH:
            return Excess(
                f"the formula is nested more than {MAX_DEPTH} levels deep",
                f"at most {MAX_DEPTH} levels of operators and calls inside one another",
                node,
            )
        if _is_statistic(node):
            statistics += 1
            if statistics > MAX_NESTED_STATISTICS:
                return Excess(
                    f"more than {MAX_NESTED_STATISTICS} statistics are nested inside one another",
                    f"at most {MAX_NESTED_STATISTICS} nested statistics "
                    "(compute inner ones in indicators of their own)",
                    node,
                )
        for child in ast.iter_child_nodes(node):
            step = 0 if _same_chain(node, child) or isinstance(child, ast.expr_context) else 1
            stack.append((child, depth + step, statistics))
    return None
