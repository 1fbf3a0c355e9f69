"""The method catalogue: normalisations and aggregations as sympy templates.

Each method is a small named class whose :meth:`template` returns a sympy expression,
so every method runs through the same compiler as a user's formula (and can later be
explained and differentiated the same way).

Normalisations are written in the symbol ``x`` (the indicator's raw value); their
statistics are taken over the rows sharing `keys` (the period by default; none when
pooled). Aggregations are written in the member names.

Conventions (also in the schema descriptions):

* statistics skip missing values;
* leader share needs an explicit rule for "lower is better" indicators; negating x
  before dividing (COINr's ``n_fracmax`` with direction -1) would give x / min(x) and
  reward the worst unit, so it is never done;
* min-max and z-score reverse "lower is better" indicators affinely: (max - x) / range,
  (mean - x) / sd;
* the z-score SD is the sample SD (ddof = 1) unless declared;
* weights are divided by their sum; a missing member makes the group missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import sympy

from engine import ir

X = sympy.Symbol("x")


def _div(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    return sympy.Mul(a, sympy.Pow(b, sympy.Integer(-1), evaluate=False), evaluate=False)


def _sub(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    return sympy.Add(a, sympy.Mul(sympy.Integer(-1), b, evaluate=False), evaluate=False)


def _mul(*args: sympy.Expr) -> sympy.Expr:
    return sympy.Mul(*args, evaluate=False)


def _num(v: object) -> sympy.Expr:
    """A YAML number as an exact sympy number (0.1 stays 1/10, not 0.1000000000000000055)."""
    if isinstance(v, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(v, int):
        return sympy.Integer(v)
    return sympy.Rational(repr(v))


@dataclass(frozen=True)
class Normaliser:
    """A normalisation method; subclasses define `template`."""

    name: ClassVar[str] = ""
    params: Mapping[str, object]
    keys: tuple[str, ...]
    lower_is_better: bool

    def stat(self, cls: type[ir.Stat], *options: sympy.Basic) -> ir.Stat:
        return ir.stat(cls, X, self.keys, *options)

    def template(self) -> sympy.Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def requires(self) -> tuple[sympy.Basic | None, str]:
        """A condition on x that must hold in every row, and what it means."""
        return None, ""


class LeaderShare(Normaliser):
    """y = x / max(x) * scale (the seed paper's formula 1).

    "Lower is better" needs ``cost``: ``min_over_x`` (min(x) / x * scale) or
    ``one_minus_share`` ((1 - x / max(x)) * scale). Missing x stays missing; a zero max
    (or a zero x under ``min_over_x``) is a division by zero, reported as a data error.
    """

    name = "leader_share"

    def template(self) -> sympy.Expr:
        scale = _num(self.params.get("scale", 100))
        if not self.lower_is_better:
            return _mul(_div(X, self.stat(ir.ColMax)), scale)
        if self.params.get("cost") == "min_over_x":
            return _mul(_div(self.stat(ir.ColMin), X), scale)
        return _mul(_sub(sympy.Integer(1), _div(X, self.stat(ir.ColMax))), scale)

    def requires(self) -> tuple[sympy.Basic | None, str]:
        if self.lower_is_better and self.params.get("cost") == "min_over_x":
            return sympy.StrictGreaterThan(X, 0, evaluate=False), "leader share min(x) / x needs x > 0"
        return sympy.GreaterThan(X, 0, evaluate=False), "leader share needs x >= 0 (a ratio scale)"


class MinMax(Normaliser):
    """y = t * u + (1 - t) * l with t = (x - min) / (max - min), i.e.
    (x - min) / (max - min) * (u - l) + l; reversed: t = (max - x) / (max - min).

    A zero range is a division by zero, reported as a data error.
    """

    name = "min_max"

    def template(self) -> sympy.Expr:
        # written as t * u + (1 - t) * l with t in [0, 1], so that the best unit gets
        # exactly u and the worst exactly l (l + t * (u - l) can miss u by an ulp)
        low, high = (_num(v) for v in self.params.get("range", [0, 100]))  # type: ignore[union-attr]
        lo, hi = self.stat(ir.ColMin), self.stat(ir.ColMax)
        top = _sub(hi, X) if self.lower_is_better else _sub(X, lo)
        t = _div(top, _sub(hi, lo))
        upper = t if high == 1 else _mul(t, high)
        if low == 0:
            return upper
        return sympy.Add(upper, _mul(_sub(sympy.Integer(1), t), low), evaluate=False)


class ZScore(Normaliser):
    """y = (x - mean) / sd * sd_target + mean_target; reversed: (mean - x) / sd ...

    sd is the sample SD (ddof = 1) unless ``ddof: 0``. A zero SD is a data error.
    """

    name = "z_score"

    def template(self) -> sympy.Expr:
        ddof = sympy.Integer(int(self.params.get("ddof", 1)))  # type: ignore[arg-type]
        mean = self.stat(ir.ColMean)
        sd = self.stat(ir.ColStd, ddof)
        top = _sub(mean, X) if self.lower_is_better else _sub(X, mean)
        out = _mul(_div(top, sd), _num(self.params.get("sd", 1)))
        target = _num(self.params.get("mean", 0))
        return out if target == 0 else sympy.Add(out, target, evaluate=False)


class Identity(Normaliser):
    """y = x."""

    name = "none"

    def template(self) -> sympy.Expr:
        return X


NORMALISERS: dict[str, type[Normaliser]] = {c.name: c for c in (LeaderShare, MinMax, ZScore, Identity)}


# -- aggregation ---------------------------------------------------------------------

def weighted_arithmetic(members: Sequence[str], weights: Sequence[sympy.Rational]) -> sympy.Expr:
    """sum(w_i * y_i) / sum(w_i), terms in member order."""
    terms = [sympy.Symbol(m) if w == 1 else _mul(w, sympy.Symbol(m)) for m, w in zip(members, weights)]
    total = sum(weights, sympy.Integer(0))
    top = terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)
    return top if total == 1 else _div(top, total)


def weighted_geometric(members: Sequence[str], weights: Sequence[sympy.Rational]) -> sympy.Expr:
    """exp(sum(w_i * ln y_i) / sum(w_i)); every member must be > 0."""
    logs = [sympy.log(sympy.Symbol(m), evaluate=False) for m in members]
    terms = [lg if w == 1 else _mul(w, lg) for lg, w in zip(logs, weights)]
    total = sum(weights, sympy.Integer(0))
    top = terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)
    return sympy.exp(top if total == 1 else _div(top, total), evaluate=False)


AGGREGATORS = {"arithmetic": weighted_arithmetic, "geometric": weighted_geometric}
