"""The methodology's formulas as MathML, printed from the IR the engine computes with.

sympy's presentation MathML printer prints arithmetic, fractions, powers, ``log``,
``exp``, ``min``/``max``, relations, ``and``/``or``/``not`` and piecewise functions; this
subclass adds a ``_print_<Class>`` for each function of :mod:`engine.formula.ir`
(statistics across units with the keys they are taken within as a subscript, ``at()``,
``where()``, rounding, weighted median, Copeland, ...), keeps names whole (sympy would
set ``expected_schooling`` as *expected* with subscript *schooling*), prints terms in the
author's order and a subtraction as a minus. Nothing is evaluated or simplified.
Chromium, Firefox and Safari render MathML Core natively, so the page needs no script
for formulas.

>>> import sympy
>>> half = sympy.Pow(sympy.Integer(2), -1, evaluate=False)
>>> to_mathml(sympy.Mul(sympy.Symbol("gdp_pc"), half, evaluate=False))
'<math display="block"><mfrac><mi>gdp_pc</mi><mn>2</mn></mfrac></math>'
"""

from __future__ import annotations

from typing import Any
from xml.dom.minidom import Element

import sympy
from sympy.core.symbol import Str
from sympy.printing.mathml import MathMLPresentationPrinter

from engine.formula import ir


class FormulaPrinter(MathMLPresentationPrinter):
    """sympy's presentation MathML printer with rules for the IR's own functions."""

    def __init__(self) -> None:
        super().__init__({"order": "none", "mul_symbol": None})

    # -- small builders ---------------------------------------------------------------

    def _el(self, tag: str, *children: Element, text: str | None = None) -> Element:
        node: Element = self.dom.createElement(tag)
        if text is not None:
            node.appendChild(self.dom.createTextNode(text))
        for c in children:
            node.appendChild(c)
        return node

    def _call(self, name: Element | str, *args: Element) -> Element:
        head = self._el("mi", text=name) if isinstance(name, str) else name
        inner = self._el("mrow")
        for k, a in enumerate(args):
            if k:
                inner.appendChild(self._el("mo", text=","))
            inner.appendChild(a)
        return self._el("mrow", head, self._el("mo", text="("), inner, self._el("mo", text=")"))

    def _text(self, text: str) -> Element:
        return self._el("mtext", text=text)

    # -- names, numbers, sums -----------------------------------------------------------

    def _print_Symbol(self, sym: sympy.Symbol, style: str = "plain") -> Element:
        return self._el("mi", text=sym.name)

    def _print_Str(self, s: Str) -> Element:
        return self._text(f"'{s}'")

    def _print_Float(self, f: sympy.Float) -> Element:
        return self._el("mn", text=repr(float(f)))

    def _print_Add(self, expr: sympy.Add, order: Any = None) -> Element:
        # in the author's order; a term -t or a negative number shows as a subtraction
        row = self._el("mrow")
        for k, term in enumerate(expr.args):
            shown: sympy.Basic = term
            if isinstance(term, sympy.Mul) and len(term.args) >= 2 and term.args[0] == -1:
                rest = term.args[1:]
                shown = rest[0] if len(rest) == 1 else sympy.Mul(*rest, evaluate=False)
            elif term.is_Number and term < 0:
                shown = -term
            if k or shown is not term:
                row.appendChild(self._el("mo", text="−" if shown is not term else "+"))
            row.appendChild(self._factor(shown) if shown is not term else self._print(term))
        return row

    def _factor(self, expr: sympy.Basic) -> Element:
        """A factor of a product: a sum in parentheses."""
        child: Element = self._print(expr)
        if isinstance(expr, sympy.Add) or (expr.is_Number and expr < 0):
            return self._el("mrow", self._el("mo", text="("), child, self._el("mo", text=")"))
        return child

    def _print_Mul(self, expr: sympy.Mul) -> Element:
        # as the engine computes it: left to right, a factor b**-1 divides what precedes
        args = list(expr.args)
        if len(args) == 2 and args[0] == -1:
            return self._el("mrow", self._el("mo", text="−"), self._factor(args[1]))
        out: Element | None = None

        def divides(k: int) -> bool:
            return k < len(args) and isinstance(args[k], sympy.Pow) and args[k].exp == -1

        for k, a in enumerate(args):
            if divides(k):
                top = out if out is not None else self._el("mn", text="1")
                out = self._el("mfrac", top, self._print(a.base))
            else:  # a numerator of its own needs no parentheses
                term = self._print(a) if out is None and divides(k + 1) else self._factor(a)
                out = term if out is None else self._el("mrow", out, self._el("mo", text="·"), term)
        assert out is not None
        return out

    def _print_exp(self, expr: sympy.exp) -> Element:
        return self._el("msup", self._el("mi", text="e"), self._print(expr.args[0]))

    # -- the IR's functions -------------------------------------------------------------

    def _over(self, name: str, keys: tuple[str, ...]) -> Element:
        label = ", ".join(keys) if keys else "all rows"
        return self._el("msub", self._el("mi", text=name), self._text(label))

    def print_statistic(self, expr: ir.Stat) -> Element:
        args = [self._print(expr.operand)]
        if isinstance(expr, ir.ColStd) and expr.ddof != 1:
            args.append(self._text(f"ddof={expr.ddof}"))
        if isinstance(expr, ir.ColQuantile):
            args.append(self._text(f"q={expr.q:g}"))
        if isinstance(expr, ir.ColRank):
            args.append(
                self._text(
                    ("descending" if expr.descending else "ascending") + f", ties {expr.ties}"
                )
            )
        if isinstance(expr, ir.ColCumSum):
            args.append(self._text("by "))
            args[-1] = self._el("mrow", args[-1], self._print(expr.order))
        return self._call(self._over(expr.label, expr.keys), *args)

    def _print_At(self, expr: ir.At) -> Element:
        fixed = ", ".join(f"{k} = {v}" for k, v in expr.fixed)
        return self._call("at", self._print(expr.args[0]), self._text(fixed))

    def _print_ClassAtLeast(self, expr: ir.ClassAtLeast) -> Element:
        return self._call("class_at_least", self._text(f"'{expr.label}'"))

    def _print_IsPresent(self, expr: ir.IsPresent) -> Element:
        return self._call("present", self._print(expr.args[0]))

    def _print_FillForward(self, expr: ir.FillForward) -> Element:
        return self._call("last_observed", self._print(expr.args[0]))

    def _print_If(self, expr: ir.If) -> Element:
        return self._call("where", *(self._print(a) for a in expr.args))

    def _print_MinPresent(self, expr: ir.MinPresent) -> Element:
        return self._call("min_present", *(self._print(a) for a in expr.args))

    def _print_Coalesce(self, expr: ir.Coalesce) -> Element:
        return self._call("coalesce", *(self._print(a) for a in expr.args))

    def _print_WeightedMedian(self, expr: ir.WeightedMedian) -> Element:
        pairs = [
            self._el("mrow", self._print(w), self._el("mo", text="·"), self._print(m))
            for m, w in zip(expr.members, expr.weights)
        ]
        return self._call("weighted_median", *pairs)

    def _print_Copeland(self, expr: ir.Copeland) -> Element:
        pairs = [
            self._el("mrow", self._print(w), self._el("mo", text="·"), self._print(m))
            for m, w in zip(expr.members, expr.weights)
        ]
        return self._call(self._over("copeland", expr.keys), *pairs)

    def _print_Round(self, expr: ir.Round) -> Element:
        digits, mode = int(expr.args[1]), str(expr.args[2]).replace("_", " ")
        return self._call(
            "round", self._print(expr.args[0]), self._text(f"{digits} digits, {mode}")
        )


# sympy's dispatcher skips the classes between a function and sympy.Function (here
# ir.Stat), so every statistic gets its own entry
for _cls in ir.STATISTICS.values():
    setattr(FormulaPrinter, "_print_" + _cls.__name__, FormulaPrinter.print_statistic)


def to_mathml(expr: sympy.Basic, *, display: str = "block") -> str:
    """`expr` as a ``<math>`` element (text)."""
    inner = FormulaPrinter().doprint(expr)
    if inner.startswith("<mrow>") and inner.endswith("</mrow>") and inner.count("<mrow>") == 1:
        inner = inner[len("<mrow>") : -len("</mrow>")]
    return f'<math display="{display}">{inner}</math>'


def equation(name: str, expr: sympy.Basic) -> str:
    """``name = expr`` as a ``<math>`` element."""
    inner = FormulaPrinter().doprint(expr)
    return f'<math display="block"><mrow><mi>{_escape(name)}</mi><mo>=</mo>{inner}</mrow></math>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
