"""Formula text to sympy, without ``eval``: limits, syntax tree, types, then the IR.

A formula goes through four steps, and stops at the first that finds a problem:

1. **limits** (:mod:`engine.formula.limits`): length, characters (no lone surrogate or
   control character);
2. **syntax**: :func:`ast.parse` in ``eval`` mode, which only builds a syntax tree and
   runs nothing; then the nesting limits on that tree;
3. **types** (:mod:`engine.formula.check`): every node is checked against the
   language's whitelist and gets a kind (number, condition, text) and a shape; every
   problem is collected, located at its token;
4. **lowering** (:mod:`engine.formula.lower`): the checked tree becomes sympy objects,
   built directly. sympy's ``sympify``/``parse_expr`` are never called on user text:
   they run ``eval`` and turn ``E``, ``I``, ``N``, ``S`` or ``max(x)`` into sympy's own
   objects; here every name is a plain ``Symbol``.

The language itself is described in docs/formulas.md and declared in
:mod:`engine.formula.language`.
"""

from __future__ import annotations

import ast
import keyword
import re

import sympy

from engine.diagnostics import Code, Diagnostic
from engine.formula import limits
from engine.formula.check import check
from engine.formula.lower import lower
from engine.formula.scope import Formula, Scope
from engine.formula.source import Source
from engine.formula.types import Kind

__all__ = ["Formula", "Scope", "parse_formula"]

#: placeholder for a formula with problems, so that checking the methodology goes on
PLACEHOLDER = sympy.Integer(0)

_KEYWORD = re.compile(r"\b(" + "|".join(k for k in keyword.kwlist if k.islower()) + r")\b")
_LANGUAGE_WORDS = {"and", "or", "not", "if", "else"}


def _syntax_error(source: Source, err: SyntaxError) -> Diagnostic:
    text = source.parsed
    col = (err.offset or 1) - 1 if err.lineno in (None, 1) else 0
    if err.lineno in (None, 1) and err.offset is not None:
        col = source.char_offset(1, len(text.split("\n")[0][: max(0, col)].encode("utf-8")))
    message, hint = f"formula is not valid: {err.msg}", None
    words = [m for m in _KEYWORD.finditer(text) if m.group(1) not in _LANGUAGE_WORDS]
    if words:
        word = words[0]
        message = f"'{word.group(1)}' is a Python keyword, not part of the formula language"
        col = word.start()
    elif "^" in text:
        hint = "use ** for powers"
    return Diagnostic(
        Code.FORMULA_SYNTAX,
        message,
        source.at_offset(col),
        "an arithmetic expression such as 'grp / employed'",
        hint,
    )


def _wrong_kind(
    source: Source, tree: ast.Expression, got: Kind, want: Kind, role: str
) -> Diagnostic:
    body = tree.body
    text = source.excerpt(body)
    if want is Kind.TEXT:
        hint = None
        expected = "text: a label column, a quoted text, or where(condition, 'a', 'b')"
    elif want is Kind.NUMBER:
        hint = (
            f"to count the condition as 1 or 0, write where({text}, 1, 0)"
            if got is Kind.CONDITION
            else None
        )
        expected = "a number (arithmetic over the names in scope)"
    else:
        hint = f"compare it, e.g. {text} > 0" if got is Kind.NUMBER else None
        expected = "a condition, e.g. a comparison such as 'a == b' or 'x >= 0'"
    return Diagnostic(
        Code.TYPE, f"{role} is {got.article}, but {want.article} is needed", source.at(body),
        expected, hint,
    )  # fmt: skip


def parse_formula(
    formula: Formula,
    scope: Scope,
    *,
    want: Kind | None = Kind.NUMBER,
    role: str = "the formula",
) -> tuple[sympy.Basic, tuple[Diagnostic, ...]]:
    """Parse `formula` into the sympy IR, with every problem found.

    `want` is the kind the place of the formula needs (a number for indicators, a
    condition for checks and screening rules; None: a number or a condition); `role`
    names the place in messages.
    With problems, the expression is a placeholder (0).

    >>> expr, problems = parse_formula(Formula("grp / employed"),
    ...     Scope({"grp": "input", "employed": "input"}, ("year",)))
    >>> expr, problems
    (grp/employed, ())
    """
    source = Source(formula.text, formula.location)
    excess = limits.bad_character(formula.text) or limits.too_long(formula.text)
    if excess is not None:
        where = source.at_offset(excess.offset or 0)
        code = Code.FORMULA_SYNTAX if "character" in excess.message else Code.FORMULA_LIMIT
        code = Code.FORMULA_SYNTAX if "surrogate" in excess.message else code
        return PLACEHOLDER, (Diagnostic(code, excess.message, where, excess.expected),)
    try:
        tree = ast.parse(source.parsed, mode="eval")
    except SyntaxError as err:
        return PLACEHOLDER, (_syntax_error(source, err),)
    except (RecursionError, MemoryError, ValueError):
        return PLACEHOLDER, (
            Diagnostic(
                Code.FORMULA_LIMIT,
                "the formula is nested too deeply",
                source.location,
                f"at most {limits.MAX_DEPTH} levels of operators and calls inside one another",
            ),
        )
    excess = limits.too_deep(tree)
    if excess is not None:
        span = source.node_span(excess.node) if excess.node is not None else None
        where = source.at_offset(span.start) if span is not None else source.location
        return PLACEHOLDER, (
            Diagnostic(Code.FORMULA_LIMIT, excess.message, where, excess.expected),
        )
    typed, problems = check(source, tree, scope)
    if problems:
        return PLACEHOLDER, tuple(problems)
    assert typed.type is not None
    got = typed.type.kind
    if got is not want and (want is not None or got is Kind.TEXT):
        return PLACEHOLDER, (_wrong_kind(source, tree, got, want or Kind.NUMBER, role),)
    return lower(tree, scope), ()
