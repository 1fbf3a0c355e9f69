"""Print IR expressions back in the formula language (``max(x)``, not ``ColMax(x, (year,))``)."""

from __future__ import annotations

import sympy
from sympy.printing.str import StrPrinter

from engine.formula import ir


class FormulaPrinter(StrPrinter):
    """sympy's string printer with a rule for each indexlab IR node."""

    def _print_Stat(self, expr: ir.Stat) -> str:
        args = [self._print(expr.operand)]
        if isinstance(expr, ir.ColStd):
            args.append(f"ddof={expr.ddof}")
        if isinstance(expr, ir.ColQuantile):
            args.append(f"q={expr.q!r}")
        if isinstance(expr, ir.ColCumSum):
            args.append(f"order={self._print(expr.order)}")
        if isinstance(expr, ir.ColRank):
            args.append(f"descending={str(expr.descending).lower()}")
            args.append(f"ties='{expr.ties}'")
            if expr.tolerance:
                args.append(f"tolerance={expr.tolerance:g}")
        args.append("by=[" + ", ".join(expr.keys) + "]")
        return f"{expr.label}({', '.join(args)})"

    _print_ColMax = _print_ColMin = _print_ColMean = _print_ColSum = _print_Stat
    _print_ColMedian = _print_ColCount = _print_ColStd = _print_ColRank = _print_ColCumSum = (
        _print_Stat
    )
    _print_ColQuantile = _print_Stat

    def _print_At(self, expr: ir.At) -> str:
        fixed = ", ".join(f"{k}={v!r}" for k, v in expr.fixed)
        return f"at({self._print(expr.args[0])}, {fixed})"

    def _print_IsPresent(self, expr: ir.IsPresent) -> str:
        return f"present({self._print(expr.args[0])})"

    def _print_FillForward(self, expr: ir.FillForward) -> str:
        return f"last_observation({self._print(expr.args[0])})"

    def _print_FillBackward(self, expr: ir.FillBackward) -> str:
        return f"next_observation({self._print(expr.args[0])})"

    def _print_If(self, expr: ir.If) -> str:
        cond, a, b = (self._print(x) for x in expr.args)
        return f"where({cond}, {a}, {b})"

    def _print_MinPresent(self, expr: ir.MinPresent) -> str:
        return "min_present(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Coalesce(self, expr: ir.Coalesce) -> str:
        return f"coalesce({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_WeightedMedian(self, expr: ir.WeightedMedian) -> str:
        pairs = ", ".join(
            f"{self._print(m)}: {self._print(w)}" for m, w in zip(expr.members, expr.weights)
        )
        return f"weighted_median({pairs})"

    def _print_Copeland(self, expr: ir.Copeland) -> str:
        pairs = ", ".join(
            f"{self._print(m)}: {self._print(w)}" for m, w in zip(expr.members, expr.weights)
        )
        return f"copeland({pairs}, by=[{', '.join(expr.keys)}])"

    def _print_PairSum(self, expr: ir.PairSum) -> str:
        terms = ", ".join(
            f"{self._print(w)}·({self._print(t)})" for w, t in zip(expr.weights, expr.terms)
        )
        members = ", ".join(self._print(m) for m in expr.members)
        return (
            f"pair_sum({members}; Σ = {terms}; {self._print(expr.outer)}, "
            f"Δ = difference with each unit, by=[{', '.join(expr.keys)}])"
        )

    def _print_Label(self, expr: ir.Label) -> str:
        return expr.name

    def _print_Str(self, expr: ir.Str) -> str:
        return repr(expr.name)

    def _print_ClassAtLeast(self, expr: ir.ClassAtLeast) -> str:
        return f"class_at_least({expr.label!r})"

    def _print_Procedure(self, expr: ir.Procedure) -> str:
        # the columns it reads by name, also when values are substituted: it reads every
        # row of its group, not the unit's value
        by = f", by=[{', '.join(expr.keys)}]" if expr.keys else ""
        return f"{expr.procedure}.{expr.part}({', '.join(expr.sources)}{by})"

    def _print_Round(self, expr: ir.Round) -> str:
        return f"round({self._print(expr.args[0])}, {expr.args[1]}, mode='{expr.args[2]}')"

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        (a, cond), (b, _) = expr.args[0], expr.args[-1]
        return f"where({self._print(cond)}, {self._print(a)}, {self._print(b)})"

    def _print_Max(self, expr: sympy.Max) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sympy.Min) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Relational(self, expr: sympy.core.relational.Relational) -> str:
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"{self.parenthesize(expr.lhs, 40)} {op} {self.parenthesize(expr.rhs, 40)}"

    def _print_And(self, expr: sympy.And) -> str:
        return " and ".join(self.parenthesize(a, 30) for a in expr.args)

    def _print_Or(self, expr: sympy.Or) -> str:
        return " or ".join(self.parenthesize(a, 30) for a in expr.args)

    def _print_Not(self, expr: sympy.Not) -> str:
        return f"not {self.parenthesize(expr.args[0], 30)}"

    def _print_Mul(self, expr: sympy.Mul) -> str:
        # in the author's order, a / b for a * b**-1, -a for -1 * a
        args = list(expr.args)
        if len(args) == 2 and args[0] == sympy.Integer(-1):
            negated: str = self.parenthesize(args[1], 50)
            return "-" + negated
        out = ""
        for a in args:
            if isinstance(a, sympy.Pow) and a.exp == sympy.Integer(-1):
                out = (out or "1") + " / " + self.parenthesize(a.base, 51)
            else:
                text = self.parenthesize(a, 50)
                out = text if not out else out + " * " + text
        return out

    def _print_Add(self, expr: sympy.Add, order: object = None) -> str:
        out = ""
        for a in expr.args:
            if isinstance(a, sympy.Mul) and len(a.args) == 2 and a.args[0] == sympy.Integer(-1):
                out += " - " + self.parenthesize(a.args[1], 40)
            elif a.is_Number and a < 0 and out:
                out += " - " + self._print(-a)
            else:
                out += (" + " if out else "") + self.parenthesize(a, 40)
        return out

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_Abs(self, expr: sympy.Abs) -> str:
        return f"abs({self._print(expr.args[0])})"


def show(expr: sympy.Basic) -> str:
    """The expression in the formula language.

    >>> import sympy
    >>> from engine import ir
    >>> show(ir.stat(ir.ColMax, sympy.Symbol("x"), ("year",)))
    'max(x, by=[year])'
    """
    text: str = FormulaPrinter({"order": "none"}).doprint(expr)
    return text
