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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import sympy

from engine.formula import ir

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
    """A normalisation method; subclasses define `template` in terms of :meth:`x`.

    `keys` are the columns its statistics group by (the period, or none when pooled);
    `reference` = (period column, value) takes the statistics over that period's rows
    only and applies them to every period; `unit` is the unit column (for a reference
    unit); `transform` is applied to x first.
    """

    name: ClassVar[str] = ""
    params: Mapping[str, object]
    keys: tuple[str, ...]
    lower_is_better: bool
    reference: tuple[str, object] | None = None
    unit: str | None = None
    transform: object = None

    def x(self) -> sympy.Expr:
        """The indicator after the declared transform."""
        t = self.transform
        if t is None:
            return X
        if t == "log":
            return sympy.log(X, evaluate=False)
        if t in ("log_ct", "log_plus1"):
            lo = self.stat(ir.ColMin, operand=X)
            shift = (
                _mul(sympy.Rational(1, 100), _sub(self.stat(ir.ColMax, operand=X), lo))
                if t == "log_ct"
                else sympy.Integer(1)
            )
            return sympy.log(sympy.Add(_sub(X, lo), shift, evaluate=False), evaluate=False)
        lam = _num(t["box_cox"])  # type: ignore[index]
        if lam == 0:
            return sympy.log(X, evaluate=False)
        return _div(_sub(sympy.Pow(X, lam, evaluate=False), sympy.Integer(1)), lam)

    def transformed(self, value: sympy.Expr) -> sympy.Expr:
        """A constant in the units of x through the transform (log or Box-Cox only)."""
        if self.transform is None:
            return value
        if self.transform in ("log_ct", "log_plus1"):
            raise ValueError("a data-dependent transform cannot move fixed goalposts")
        return ir.rename(self.x(), {X.name: value})

    def stat(
        self, cls: type[ir.Stat], *options: sympy.Basic, operand: sympy.Expr | None = None
    ) -> ir.Stat:
        x = self.x() if operand is None else operand
        if self.reference is None:
            return ir.stat(cls, x, self.keys, *options)
        column, value = self.reference
        in_reference = sympy.Eq(sympy.Symbol(column), _key_value(value), evaluate=False)
        return ir.stat(cls, sympy.Piecewise((x, in_reference), evaluate=False), (), *options)

    def scale(self, expr: sympy.Expr, default: int = 1) -> sympy.Expr:
        factor = _num(self.params.get("scale", default))
        return expr if factor == 1 else _mul(expr, factor)

    def template(self) -> sympy.Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def requires(self) -> tuple[sympy.Basic | None, str]:
        """A condition on x that must hold in every row, and what it means."""
        if self.transform is not None and (
            self.transform == "log" or isinstance(self.transform, dict)
        ):
            return sympy.StrictGreaterThan(
                X, 0, evaluate=False
            ), "a log or Box-Cox transform needs x > 0"
        return None, ""


def _key_value(v: object) -> sympy.Basic:
    return sympy.Integer(v) if isinstance(v, int) else ir.Str(str(v))


def _clip(expr: sympy.Expr, low: sympy.Expr | None, high: sympy.Expr | None) -> sympy.Expr:
    if high is not None:
        expr = sympy.Min(expr, high, evaluate=False)
    if low is not None:
        expr = sympy.Max(expr, low, evaluate=False)
    return expr


class LeaderShare(Normaliser):
    """y = x / max(x) * scale (the seed paper's formula 1).

    "Lower is better" needs ``cost``: ``min_over_x`` (min(x) / x * scale) or
    ``one_minus_share`` ((1 - x / max(x)) * scale). Missing x stays missing; a zero max
    (or a zero x under ``min_over_x``) is a division by zero, reported as a data error;
    a negative x is a data error (a leader share needs a ratio scale).
    """

    name = "leader_share"

    def template(self) -> sympy.Expr:
        x, scale = self.x(), _num(self.params.get("scale", 100))
        if not self.lower_is_better:
            return _mul(_div(x, self.stat(ir.ColMax)), scale)
        if self.params.get("cost") == "min_over_x":
            return _mul(_div(self.stat(ir.ColMin), x), scale)
        return _mul(_sub(sympy.Integer(1), _div(x, self.stat(ir.ColMax))), scale)

    def requires(self) -> tuple[sympy.Basic | None, str]:
        if self.lower_is_better and self.params.get("cost") == "min_over_x":
            return sympy.StrictGreaterThan(
                X, 0, evaluate=False
            ), "leader share min(x) / x needs x > 0"
        if self.transform is None:
            return sympy.GreaterThan(
                X, 0, evaluate=False
            ), "leader share needs x >= 0 (a ratio scale)"
        return super().requires()


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
        x, lo, hi = self.x(), self.stat(ir.ColMin), self.stat(ir.ColMax)
        top = _sub(hi, x) if self.lower_is_better else _sub(x, lo)
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
        x, mean, sd = self.x(), self.stat(ir.ColMean), self.stat(ir.ColStd, ddof)
        top = _sub(mean, x) if self.lower_is_better else _sub(x, mean)
        out = _mul(_div(top, sd), _num(self.params.get("sd", 1)))
        target = _num(self.params.get("mean", 0))
        return out if target == 0 else sympy.Add(out, target, evaluate=False)


class Goalposts(Normaliser):
    """y = (x - l) / (u - l), reversed (u - x) / (u - l), cut to [0, 1], times scale (UNDP)."""

    name = "goalposts"

    def template(self) -> sympy.Expr:
        # the goalposts are in the units of x and go through its transform (log: ln l, ln u)
        low, high = (self.transformed(_num(self.params[k])) for k in ("lower", "upper"))
        x = self.x()
        t = (
            _div(_sub(high, x), _sub(high, low))
            if self.lower_is_better
            else _div(_sub(x, low), _sub(high, low))
        )
        if self.params.get("truncate", True):
            t = _clip(t, sympy.Integer(0), sympy.Integer(1))
        return self.scale(t)


class DistanceToTarget(Normaliser):
    """y = (x - min) / (T - min), reversed (max - x) / (max - T), capped at 1 (COINr n_dist2targ)."""

    name = "distance_to_target"

    def template(self) -> sympy.Expr:
        target, x = _num(self.params["target"]), self.x()
        if self.lower_is_better:
            hi = self.stat(ir.ColMax)
            t = _div(_sub(hi, x), _sub(hi, target))
        else:
            lo = self.stat(ir.ColMin)
            t = _div(_sub(x, lo), _sub(target, lo))
        if self.params.get("cap", True):
            t = _clip(t, None, sympy.Integer(1))
        return self.scale(t)


class DistanceToReference(Normaliser):
    """y = 1 - (x_r - x) / (x_r - min), reversed 1 - (x - x_r) / (max - x_r) (COINr n_dist2ref)."""

    name = "distance_to_reference"

    def template(self) -> sympy.Expr:
        x = self.x()
        ref = ir.At(
            x, sympy.Symbol(str(self.unit)), _key_value(self.params["unit"]), evaluate=False
        )
        if self.lower_is_better:
            t = _sub(sympy.Integer(1), _div(_sub(x, ref), _sub(self.stat(ir.ColMax), ref)))
        else:
            t = _sub(sympy.Integer(1), _div(_sub(ref, x), _sub(ref, self.stat(ir.ColMin))))
        if self.params.get("cap", False):
            t = _clip(t, None, sympy.Integer(1))
        return self.scale(t)


class Rank(Normaliser):
    """y = rank of x, ties 'min', the best unit highest (COINr n_rank)."""

    name = "rank"

    def _rank(self) -> ir.Stat:
        # ascending ranks: the smallest x gets 1; reversed for "lower is better"
        return ir.stat(
            ir.ColRank, self.x(), self.keys, sympy.Integer(int(self.lower_is_better)), ir.Str("min")
        )

    def template(self) -> sympy.Expr:
        return self._rank()


class PercentileRank(Rank):
    """y = (rank_min(x) - 1) / (n - 1) * scale (COINr n_prank)."""

    name = "percentile_rank"

    def template(self) -> sympy.Expr:
        n = ir.stat(ir.ColCount, self.x(), self.keys)
        return self.scale(_div(_sub(self._rank(), sympy.Integer(1)), _sub(n, sympy.Integer(1))))


class Borda(Rank):
    """y = rank_min(x) - 1 (COINr n_borda)."""

    name = "borda"

    def template(self) -> sympy.Expr:
        return _sub(self._rank(), sympy.Integer(1))


class Vector(Normaliser):
    """y = x / sqrt(sum(x^2)) * scale; reversed (1 - x / sqrt(sum(x^2))) * scale."""

    name = "vector"

    def template(self) -> sympy.Expr:
        x = self.x()
        norm = sympy.Pow(
            self.stat(ir.ColSum, operand=sympy.Pow(x, 2, evaluate=False)),
            sympy.Rational(1, 2),
            evaluate=False,
        )
        t = _div(x, norm)
        return self.scale(_sub(sympy.Integer(1), t) if self.lower_is_better else t)


class Share(Normaliser):
    """y = x / sum(x) * scale; reversed (1 / x) / sum(1 / x) * scale."""

    name = "share"

    def template(self) -> sympy.Expr:
        x = self.x()
        if self.lower_is_better:
            inv = sympy.Pow(x, sympy.Integer(-1), evaluate=False)
            return self.scale(_div(inv, self.stat(ir.ColSum, operand=inv)))
        return self.scale(_div(x, self.stat(ir.ColSum)))


class Categorical(Normaliser):
    """y = scores[k] for the k-th interval between percentiles of x (Handbook)."""

    name = "categorical"

    def template(self) -> sympy.Expr:
        cuts = [_num(p) for p in self.params.get("percentiles", [15, 25, 65, 85, 95])]  # type: ignore[union-attr]
        scores = [_num(v) for v in self.params.get("scores", [0, 20, 40, 60, 80, 100])]  # type: ignore[union-attr]
        if self.lower_is_better:
            scores = scores[::-1]
        x = self.x()
        branches = []
        for cut, score in zip(reversed(cuts), reversed(scores[1:])):
            q = self.stat(ir.ColQuantile, cut / 100)
            branches.append((score, sympy.GreaterThan(x, q, evaluate=False)))
        branches.append((scores[0], sympy.true))
        return sympy.Piecewise(*branches, evaluate=False)


class Ampi(Normaliser):
    """Adjusted MPI rescaling (Mazziotta & Pareto 2016, Compind ci_ampi):
    y = (x - ref) / delta * 30 + 100, reversed (ref - x) / delta * 30 + 100, with
    delta = (max - min) / 2 over all rows of all periods and ref the goalpost: the mean of
    the base period (``base``) or a fixed value (``reference``). The goalpost scores 100;
    ref - delta and ref + delta score 70 and 130."""

    name = "ampi"

    def template(self) -> sympy.Expr:
        x = self.x()
        pooled = dataclasses.replace(self, keys=(), reference=None)
        delta = _div(_sub(pooled.stat(ir.ColMax), pooled.stat(ir.ColMin)), sympy.Integer(2))
        if "reference" in self.params:
            ref: sympy.Expr = _num(self.params["reference"])
        else:
            period = self.reference[0] if self.reference else None
            base = self.params.get("base")
            ref = (
                dataclasses.replace(self, reference=(period, base)).stat(ir.ColMean)
                if period is not None and base is not None
                else pooled.stat(ir.ColMean)
            )
        top = _sub(ref, x) if self.lower_is_better else _sub(x, ref)
        return sympy.Add(
            _mul(_div(top, delta), sympy.Integer(30)), sympy.Integer(100), evaluate=False
        )


class Identity(Normaliser):
    """y = x."""

    name = "none"

    def template(self) -> sympy.Expr:
        return self.x()


NORMALISERS: dict[str, type[Normaliser]] = {
    c.name: c
    for c in (
        LeaderShare,
        MinMax,
        ZScore,
        Goalposts,
        DistanceToTarget,
        DistanceToReference,
        Rank,
        PercentileRank,
        Borda,
        Vector,
        Share,
        Categorical,
        Ampi,
        Identity,
    )
}


# -- aggregation ---------------------------------------------------------------------
#
# Each aggregator takes the member symbols, their weights (sympy numbers, or expressions
# of statistics for data-driven weights) and the keys that cross-unit statistics group by
# (the period), and returns the group's expression. Weights are divided by their sum.

Members = Sequence[str]
Weights = Sequence[sympy.Expr]


def _total(weights: Weights) -> sympy.Expr:
    if all(w.is_Number for w in weights):
        return sum(weights, sympy.Integer(0))
    return sympy.Add(*weights, evaluate=False)


def _weighted_sum(terms: Sequence[sympy.Expr], weights: Weights) -> sympy.Expr:
    parts = [t if w == 1 else _mul(w, t) for t, w in zip(terms, weights)]
    return parts[0] if len(parts) == 1 else sympy.Add(*parts, evaluate=False)


def _normalised(weights: Weights) -> list[sympy.Expr]:
    total = _total(weights)
    return [w / total if total.is_Number else _div(w, total) for w in weights]


def weighted_arithmetic(
    members: Members, weights: Weights, keys: tuple[str, ...] = ()
) -> sympy.Expr:
    """sum(w_i * y_i) / sum(w_i), terms in member order."""
    top = _weighted_sum([sympy.Symbol(m) for m in members], weights)
    total = _total(weights)
    return top if total == 1 else _div(top, total)


def weighted_geometric(
    members: Members, weights: Weights, keys: tuple[str, ...] = ()
) -> sympy.Expr:
    """exp(sum(w_i * ln y_i) / sum(w_i)); every member must be > 0."""
    top = _weighted_sum([sympy.log(sympy.Symbol(m), evaluate=False) for m in members], weights)
    total = _total(weights)
    return sympy.exp(top if total == 1 else _div(top, total), evaluate=False)


def weighted_harmonic(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
    """sum(w_i) / sum(w_i / y_i); every member must be > 0 (COINr a_hmean)."""
    inverse = [sympy.Pow(sympy.Symbol(m), sympy.Integer(-1), evaluate=False) for m in members]
    return _div(_total(weights), _weighted_sum(inverse, weights))


def power_mean(p: object) -> object:
    """(sum(w_i y_i^p) / sum(w_i))^(1/p) (COINr a_genmean); p != 0."""
    exponent = _num(p)

    def aggregate(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
        powers = [sympy.Pow(sympy.Symbol(m), exponent, evaluate=False) for m in members]
        mean = _div(_weighted_sum(powers, weights), _total(weights))
        return sympy.Pow(mean, sympy.Integer(1) / exponent, evaluate=False)

    return aggregate


def weighted_median(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
    """The weighted median (see ir.WeightedMedian)."""
    return ir.WeightedMedian(
        *(sympy.Symbol(m) for m in members), *_normalised(weights), evaluate=False
    )


def minimum(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
    """min(y_i): the weakest member (weights ignored)."""
    symbols = [sympy.Symbol(m) for m in members]
    return symbols[0] if len(symbols) == 1 else sympy.Min(*symbols, evaluate=False)


def mpi(penalty: str) -> object:
    """Mazziotta-Pareto: M -/+ S * cv, M and S the mean and population SD of the members."""

    def aggregate(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
        ys = [sympy.Symbol(m) for m in members]
        n = sympy.Integer(len(ys))
        mean = _div(sympy.Add(*ys, evaluate=False), n)
        squares = [sympy.Pow(_sub(y, mean), 2, evaluate=False) for y in ys]
        sd = sympy.Pow(
            _div(sympy.Add(*squares, evaluate=False), n), sympy.Rational(1, 2), evaluate=False
        )
        penalty_term = _div(_mul(sd, sd), mean)  # S * cv = S^2 / M
        if penalty == "negative":
            return sympy.Add(mean, penalty_term, evaluate=False)
        return _sub(mean, penalty_term)

    return aggregate


def topsis(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
    """D- / (D+ + D-): closeness of v = w y to the ideal (max of v) over the units."""
    plus, minus = [], []
    for m, w in zip(members, _normalised(weights)):
        v = _mul(w, sympy.Symbol(m))
        plus.append(sympy.Pow(_sub(v, ir.stat(ir.ColMax, v, keys)), 2, evaluate=False))
        minus.append(sympy.Pow(_sub(v, ir.stat(ir.ColMin, v, keys)), 2, evaluate=False))
    d_plus = sympy.Pow(sympy.Add(*plus, evaluate=False), sympy.Rational(1, 2), evaluate=False)
    d_minus = sympy.Pow(sympy.Add(*minus, evaluate=False), sympy.Rational(1, 2), evaluate=False)
    return _div(d_minus, sympy.Add(d_plus, d_minus, evaluate=False))


def vikor(v: object) -> object:
    """1 - Q of VIKOR (pymcdm's Q is lower-is-better; 1 - Q keeps higher is better)."""
    weight_v = _num(v)

    def aggregate(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
        terms = []
        for m, w in zip(members, _normalised(weights)):
            y = sympy.Symbol(m)
            best, worst = ir.stat(ir.ColMax, y, keys), ir.stat(ir.ColMin, y, keys)
            terms.append(_mul(w, _div(_sub(best, y), _sub(best, worst))))
        s_ = sympy.Add(*terms, evaluate=False)
        r_ = terms[0] if len(terms) == 1 else sympy.Max(*terms, evaluate=False)

        def scaled(e: sympy.Expr) -> sympy.Expr:
            lo, hi = ir.stat(ir.ColMin, e, keys), ir.stat(ir.ColMax, e, keys)
            return _div(_sub(e, lo), _sub(hi, lo))

        q = sympy.Add(
            _mul(weight_v, scaled(s_)),
            _mul(_sub(sympy.Integer(1), weight_v), scaled(r_)),
            evaluate=False,
        )
        return _sub(sympy.Integer(1), q)

    return aggregate


def copeland(members: Members, weights: Weights, keys: tuple[str, ...] = ()) -> sympy.Expr:
    """Copeland score from the weighted outranking matrix (COINr a_copeland)."""
    return ir.Copeland(
        sympy.Tuple(*(sympy.Symbol(m) for m in members)),
        sympy.Tuple(*_normalised(weights)),
        sympy.Tuple(*(sympy.Symbol(k) for k in keys)),
        evaluate=False,
    )


def aggregator(spec: Mapping[str, object]) -> object:
    """The aggregation function a group's `aggregation` section names."""
    method = spec.get("method", "arithmetic")
    if method == "power":
        return power_mean(spec["p"])
    if method in ("mpi", "ampi"):  # the same penalised mean; AMPI differs by its normalisation
        return mpi(str(spec.get("penalty", "positive")))
    if method == "vikor":
        return vikor(spec.get("v", 0.5))
    return AGGREGATORS[str(method)]


AGGREGATORS = {
    "arithmetic": weighted_arithmetic,
    "geometric": weighted_geometric,
    "harmonic": weighted_harmonic,
    "median": weighted_median,
    "minimum": minimum,
    "topsis": topsis,
    "copeland": copeland,
}
#: aggregations whose members must be > 0
POSITIVE_MEMBERS = {"geometric", "harmonic"}


def with_coverage(
    method: str,
    members: Members,
    weights: Weights,
    share: float,
    params: Mapping[str, object] | None = None,
) -> sympy.Expr:
    """The aggregation over the present members, weights renormalised, or missing when
    fewer than `share` of the members are present."""
    symbols = [sympy.Symbol(m) for m in members]
    ones = [ir.IsPresent(y, evaluate=False) for y in symbols]
    w_present = _weighted_sum(ones, weights)

    def only_present(terms: list[sympy.Expr]) -> sympy.Expr:
        return _weighted_sum(
            [ir.Coalesce(t, sympy.Integer(0), evaluate=False) for t in terms], weights
        )

    if method == "arithmetic":
        value = _div(only_present(symbols), w_present)
    elif method == "geometric":
        value = sympy.exp(
            _div(only_present([sympy.log(y, evaluate=False) for y in symbols]), w_present),
            evaluate=False,
        )
    elif method == "harmonic":
        value = _div(w_present, only_present([sympy.Pow(y, -1, evaluate=False) for y in symbols]))
    elif method == "power":
        p = _num(params.get("p", 1)) if params else sympy.Integer(1)
        value = sympy.Pow(
            _div(only_present([sympy.Pow(y, p, evaluate=False) for y in symbols]), w_present),
            sympy.Integer(1) / p,
            evaluate=False,
        )
    elif method == "minimum":
        value = ir.MinPresent(*symbols, evaluate=False)
    else:
        raise ValueError(f"coverage is not defined for {method}")
    count = sympy.Add(*ones, evaluate=False)
    enough = sympy.GreaterThan(
        _div(count, sympy.Integer(len(members))),
        _num(share) - sympy.Rational(1, 10**12),
        evaluate=False,
    )
    return sympy.Piecewise((value, enough), evaluate=False)


# -- data-driven weights --------------------------------------------------------------


def data_weights(method: str, members: Members, keys: tuple[str, ...]) -> list[sympy.Expr]:
    """Weights (before normalisation) computed from the members over the units."""
    ys = [sympy.Symbol(m) for m in members]
    if method in (
        "equal",
        "pca",
    ):  # pca: estimated from the data first (engine.methods.pca), equal until then
        return [sympy.Integer(1)] * len(ys)
    if method == "sd":
        return [ir.stat(ir.ColStd, y, keys, sympy.Integer(1)) for y in ys]
    if method == "entropy":
        out = []
        for y in ys:
            p = _div(y, ir.stat(ir.ColSum, y, keys))
            plogp = sympy.Piecewise(
                (_mul(p, sympy.log(p, evaluate=False)), sympy.StrictGreaterThan(p, 0)),
                (sympy.Integer(0), True),
                evaluate=False,
            )
            n = ir.stat(ir.ColCount, y, keys)
            entropy = _div(
                _mul(sympy.Integer(-1), ir.stat(ir.ColSum, plogp, keys)),
                sympy.log(n, evaluate=False),
            )
            out.append(_sub(sympy.Integer(1), entropy))
        return out
    if method == "critic":

        def mean(e: sympy.Expr) -> sympy.Expr:
            return ir.stat(ir.ColMean, e, keys)

        def pearson(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
            cov = _sub(mean(_mul(a, b)), _mul(mean(a), mean(b)))
            sd_a = ir.stat(ir.ColStd, a, keys, sympy.Integer(0))
            sd_b = ir.stat(ir.ColStd, b, keys, sympy.Integer(0))
            return _div(cov, _mul(sd_a, sd_b))

        out = []
        for j, a in enumerate(ys):
            conflict = (
                sympy.Add(
                    *[_sub(sympy.Integer(1), pearson(a, b)) for k, b in enumerate(ys) if k != j],
                    evaluate=False,
                )
                if len(ys) > 1
                else sympy.Integer(0)
            )
            out.append(_mul(ir.stat(ir.ColStd, a, keys, sympy.Integer(1)), conflict))
        return out
    raise ValueError(f"unknown weighting {method}")


# -- imputation and treatment ---------------------------------------------------------


def imputation(
    spec: Mapping[str, object], column: str, keys: tuple[str, ...], unit: str, period: str | None
) -> sympy.Expr | None:
    """The imputed indicator, or None for method 'none'."""
    method = spec.get("method", "none")
    y = sympy.Symbol(column)
    if method == "none":
        return None
    if method == "locf":
        return ir.FillForward(y, sympy.Symbol(unit), sympy.Symbol(str(period)), evaluate=False)
    by = keys + tuple(spec.get("by", ()))  # type: ignore[arg-type]
    cls = ir.ColMean if method == "mean" else ir.ColMedian
    return ir.Coalesce(y, ir.stat(cls, y, by), evaluate=False)


def _moments(x: sympy.Expr, keys: tuple[str, ...]) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr]:
    """n, sample skewness and excess kurtosis of x over the rows sharing `keys` (e1071 type 2)."""
    n = ir.stat(ir.ColCount, x, keys)
    d = _sub(x, ir.stat(ir.ColMean, x, keys))
    m2, m3, m4 = (ir.stat(ir.ColSum, sympy.Pow(d, k, evaluate=False), keys) for k in (2, 3, 4))
    one, two, three = sympy.Integer(1), sympy.Integer(2), sympy.Integer(3)
    skew = _mul(
        _div(
            _mul(sympy.Pow(n, sympy.Rational(1, 2), evaluate=False), m3),
            sympy.Pow(m2, sympy.Rational(3, 2), evaluate=False),
        ),
        _div(sympy.Pow(_mul(n, _sub(n, one)), sympy.Rational(1, 2), evaluate=False), _sub(n, two)),
    )
    r = _div(_mul(n, m4), sympy.Pow(m2, 2, evaluate=False))
    kurt = _div(
        _mul(
            sympy.Add(
                _mul(sympy.Add(n, one, evaluate=False), _sub(r, three)),
                sympy.Integer(6),
                evaluate=False,
            ),
            _sub(n, one),
        ),
        _mul(_sub(n, two), _sub(n, three)),
    )
    return n, skew, kurt


def treatment_steps(
    spec: Mapping[str, object], column: str, keys: tuple[str, ...], prefix: str
) -> list[tuple[str, sympy.Expr]]:
    """COINr's default treatment of `column` as column steps: (name, expression) in order,
    named `prefix` + ".w1", ... and `prefix` + ".treated".

    Each winsorisation step reads the previous column; the last step chooses between the
    winsorised values and the log of the original. Units of a period with fewer than 4
    values are left untreated (skewness and kurtosis need n >= 4).
    """
    if spec.get("method", "none") == "none":
        return []
    skew_max, kurt_max = _num(spec.get("skew", 2)), _num(spec.get("kurtosis", 3.5))
    original = sympy.Symbol(column)

    def failing(x: sympy.Expr, *more: sympy.Basic) -> sympy.Basic:
        n, skew, kurt = _moments(x, keys)
        return sympy.And(
            sympy.GreaterThan(n, 4, evaluate=False),
            sympy.GreaterThan(sympy.Abs(skew, evaluate=False), skew_max, evaluate=False),
            sympy.GreaterThan(kurt, kurt_max, evaluate=False),
            *more,
            evaluate=False,
        )

    steps: list[tuple[str, sympy.Expr]] = []
    current: sympy.Expr = original
    limit = int(spec.get("max_points", 5))  # type: ignore[arg-type]
    for k in range(limit):  # each step changes at least one point
        _, skew, _ = _moments(current, keys)
        hi, lo = ir.stat(ir.ColMax, current, keys), ir.stat(ir.ColMin, current, keys)
        next_hi = ir.stat(
            ir.ColMax,
            sympy.Piecewise((current, sympy.StrictLessThan(current, hi)), evaluate=False),
            keys,
        )
        next_lo = ir.stat(
            ir.ColMin,
            sympy.Piecewise((current, sympy.StrictGreaterThan(current, lo)), evaluate=False),
            keys,
        )
        # COINr counts winsorised points (tied extremes each count), not steps
        changed = ir.stat(
            ir.ColSum,
            ir.If(
                sympy.Ne(current, original, evaluate=False),
                sympy.Integer(1),
                sympy.Integer(0),
                evaluate=False,
            ),
            keys,
        )
        room = sympy.StrictLessThan(changed, limit, evaluate=False)
        # conditions built flat: sympy would evaluate a nested And or a Not of a relation
        winsorised = ir.If(
            failing(
                current,
                room,
                sympy.GreaterThan(skew, 0, evaluate=False),
                sympy.Eq(current, hi, evaluate=False),
            ),
            next_hi,
            ir.If(
                failing(
                    current,
                    room,
                    sympy.StrictLessThan(skew, 0, evaluate=False),
                    sympy.Eq(current, lo, evaluate=False),
                ),
                next_lo,
                current,
                evaluate=False,
            ),
            evaluate=False,
        )
        name = f"{prefix}.w{k + 1}"
        steps.append((name, winsorised))
        current = sympy.Symbol(name)
    lo, hi = ir.stat(ir.ColMin, original, keys), ir.stat(ir.ColMax, original, keys)
    log_ct = sympy.log(
        sympy.Add(_sub(original, lo), _mul(sympy.Rational(1, 100), _sub(hi, lo)), evaluate=False),
        evaluate=False,
    )
    steps.append((prefix + ".treated", ir.If(failing(current), log_ct, current, evaluate=False)))
    return steps
