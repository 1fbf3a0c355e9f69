"""What an aggregation is, and the weighted means: each method is one declaration.

An aggregation's template is a function of an :class:`AggregateContext`: the group's
member names, their weights (sympy numbers, or expressions of statistics for data-driven
weights), the keys that cross-unit statistics group by (the period) and the parameters
with their declared defaults. It returns the group's expression in the member names.
Weights are divided by their sum; a missing member makes the group missing, unless the
group gives a coverage share and the method has a form over the present members
(`present`). The multi-criteria methods are in :mod:`engine.methods.aggregate_mcda`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy

from engine.diagnostics import Code
from engine.formula import ir
from engine.methods.registry import (
    Kind,
    Listing,
    Method,
    Param,
    ParamType,
    Problem,
    Stage,
    StageText,
    Usage,
)
from engine.methods.terms import div, normalised, num, power, total, weighted_sum

__all__ = ["METHODS", "STAGE", "AggregateContext", "Aggregator", "LowerMembers", "Members"]


class Members(enum.Enum):
    """What the members' values must be for the method to be defined."""

    ANY = "any"
    POSITIVE = "> 0"
    NON_NEGATIVE = ">= 0"


class LowerMembers(enum.Enum):
    """What the method does with a member that is "lower is better" and that its
    normalisation leaves as it is (``none``: a raw cost criterion)."""

    #: used as it is, like every other member (the weighted means: the direction is the
    #: normalisation's business, and ``none`` does not apply it)
    AS_GIVEN = "as given"
    #: reversed by the method's own cost rule, as its paper defines it (see its `lower`)
    REVERSED = "reversed"
    #: an error: the method reads members oriented by their normalisation
    REFUSED = "refused"


@dataclass(frozen=True)
class AggregateContext:
    """One group being aggregated: what an aggregation template may read."""

    members: tuple[str, ...]
    weights: tuple[sympy.Expr, ...]
    keys: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    #: members that are "lower is better" and not oriented by their normalisation (cost
    #: criteria), for a method that reverses them itself (``LowerMembers.REVERSED``)
    cost: frozenset[str] = frozenset()

    def symbols(self) -> list[sympy.Symbol]:
        """The members as symbols, in member order."""
        return [sympy.Symbol(m) for m in self.members]

    def is_cost(self) -> list[bool]:
        """For each member in order, whether it is a cost criterion (lower is better)."""
        return [m in self.cost for m in self.members]

    def total(self) -> sympy.Expr:
        """The sum of the weights."""
        return total(self.weights)

    def normalised(self) -> list[sympy.Expr]:
        """The weights divided by their sum."""
        return normalised(self.weights)

    def weighted_sum(self, terms: Sequence[sympy.Expr]) -> sympy.Expr:
        """``w_1 t_1 + w_2 t_2 + ...`` in member order."""
        return weighted_sum(terms, self.weights)

    def number(self, name: str) -> sympy.Expr:
        """A numeric parameter as an exact sympy number."""
        return num(self.params[name])

    # -- over the present members (coverage) --------------------------------------------

    def present(self) -> list[sympy.Expr]:
        """1 for each present member, 0 for a missing one."""
        return [ir.IsPresent(y, evaluate=False) for y in self.symbols()]

    def present_weight(self) -> sympy.Expr:
        """The sum of the weights of the present members."""
        return self.weighted_sum(self.present())

    def over_present(self, terms: Sequence[sympy.Expr]) -> sympy.Expr:
        """The weighted sum of `terms`, a missing term counting 0."""
        return self.weighted_sum([ir.Coalesce(t, sympy.Integer(0), evaluate=False) for t in terms])


@dataclass(frozen=True, kw_only=True)
class Aggregator(Method):
    """An aggregation's declaration.

    `template` builds the group's expression (``None`` for ``formula``); `present` the
    value over the present members, for a group with a coverage share (``None``: coverage
    is not defined for the method); `equal_weights` says the method takes no weights;
    `members` what the members must be, and `requirement` the sentence saying so;
    `lower_members` what it does with a raw "lower is better" member (its rule is in
    `lower`).
    """

    stage: Stage = Stage.AGGREGATE
    template: Callable[[AggregateContext], sympy.Expr] | None = None
    present: Callable[[AggregateContext], sympy.Expr] | None = None
    equal_weights: bool = False
    members: Members = Members.ANY
    requirement: str = ""
    lower_members: LowerMembers = LowerMembers.AS_GIVEN


# -- the weighted means -----------------------------------------------------------------


def _arithmetic(a: AggregateContext) -> sympy.Expr:
    top, whole = a.weighted_sum(a.symbols()), a.total()
    return top if whole == 1 else div(top, whole)


ARITHMETIC = Aggregator(
    name="arithmetic",
    title="Weighted arithmetic mean",
    description="sum(w y).",
    template=_arithmetic,
    present=lambda a: div(a.over_present(a.symbols()), a.present_weight()),
    formula="`Σ w y / Σ w`",
    equivalents=("COINr `a_amean`", "the paper's formulas 2–4"),
)


def _log_mean(a: AggregateContext, top: sympy.Expr, whole: sympy.Expr) -> sympy.Expr:
    return sympy.exp(top if whole == 1 else div(top, whole), evaluate=False)


GEOMETRIC = Aggregator(
    name="geometric",
    title="Weighted geometric mean",
    description="exp(sum(w ln y)), every member > 0 (COINr a_gmean).",
    template=lambda a: _log_mean(
        a, a.weighted_sum([sympy.log(y, evaluate=False) for y in a.symbols()]), a.total()
    ),
    present=lambda a: sympy.exp(
        div(
            a.over_present([sympy.log(y, evaluate=False) for y in a.symbols()]), a.present_weight()
        ),
        evaluate=False,
    ),
    members=Members.POSITIVE,
    requirement="a geometric mean needs every member > 0",
    formula="`exp(Σ w ln y / Σ w)`",
    conventions="every member > 0, checked per row: a zero or negative member is undefined "
    "(`domain`), reported with the units",
    equivalents=(
        "COINr `a_gmean` (stops likewise)",
        'Compind `ci_geom_gen(meth = "EQUAL")` (unweighted; it replaced `ci_mean_geom`)',
    ),
    notes="refuses zero members instead of replacing them by a small constant; shift the "
    "scale first (e.g. `min_max` with `range: [1, 100]`).",
)


def _inverses(a: AggregateContext) -> list[sympy.Expr]:
    return [power(y, sympy.Integer(-1)) for y in a.symbols()]


HARMONIC = Aggregator(
    name="harmonic",
    title="Weighted harmonic mean",
    description="1 / sum(w / y), members > 0 (COINr a_hmean).",
    template=lambda a: div(a.total(), a.weighted_sum(_inverses(a))),
    present=lambda a: div(a.present_weight(), a.over_present([power(y, -1) for y in a.symbols()])),
    members=Members.POSITIVE,
    requirement="a harmonic mean needs every member > 0",
    formula="`Σ w / Σ (w / y)`",
    conventions="every member > 0, checked",
    equivalents=("COINr `a_hmean`",),
    notes="refuses zero members, as the geometric mean does.",
)


def _power(a: AggregateContext) -> sympy.Expr:
    p = a.number("p")
    mean = div(a.weighted_sum([power(y, p) for y in a.symbols()]), a.total())
    return power(mean, sympy.Integer(1) / p)


def _power_present(a: AggregateContext) -> sympy.Expr:
    p = a.number("p")
    mean = div(a.over_present([power(y, p) for y in a.symbols()]), a.present_weight())
    return power(mean, sympy.Integer(1) / p)


def _p_not_zero(u: Usage) -> Iterator[Problem]:
    if u.params["p"] == 0:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': the power mean needs p, not 0",
            expected="p != 0 (use method: geometric for the limit p -> 0)",
        )


POWER = Aggregator(
    name="power",
    title="Power (generalised) mean",
    description="(sum(w y^p))^(1/p), the generalised mean (COINr a_genmean; p = 1 arithmetic, "
    "p -> 0 geometric, p = -1 harmonic); with coverage, over the present members. Not "
    "Compind's ci_generalized_mean, which computes mean(x^p) / p (and 1 for every unit with "
    "its default na.rm).",
    params=(Param("p", ParamType.NUMBER, "Exponent of the power mean (not 0).", required=True),),
    rules=(_p_not_zero,),
    template=_power,
    present=_power_present,
    sampleable=False,
    formula="`(Σ w y^p / Σ w)^(1/p)`",
    conventions="`p ≠ 0` (an error; use `geometric` for the limit); a negative member with "
    "fractional `p` is undefined (reported); with `coverage`, over the present members with their "
    "weights renormalised",
    equivalents=("COINr `a_genmean`", "Compind `ci_generalized_mean` (wrong, see the note)"),
    notes="the textbook weighted power mean, as COINr's `a_genmean` (which returns NA for a "
    "unit with a missing member although its documentation says missing values are "
    "skipped; `coverage` gives the documented behaviour). **Compind 3.4's "
    "`ci_generalized_mean` is wrong**: with its default `na.rm = TRUE` it returns the "
    "constant 1 for every unit, and with `na.rm = FALSE` it computes `(mean x^p)^1/p`, "
    "which R reads as `mean(x^p) / p`, with no weights; the engine does not reproduce it.",
)

MEDIAN = Aggregator(
    name="median",
    title="Weighted median",
    description="the weighted median, the smallest member value at which the cumulative weight "
    "of the sorted members reaches half (the lower weighted median). COINr 1.1.14 has no "
    "weighted-median function (its vignette's matrixStats::weightedMedian interpolates).",
    template=lambda a: ir.WeightedMedian(*a.symbols(), *a.normalised(), evaluate=False),
    formula="weighted median: the smallest member value at which the cumulative weight of the "
    "sorted members reaches half the total",
    equivalents=("COINr's aggregation vignette (definition only; no COINr function)",),
    notes="**COINr 1.1.14 has no weighted-median function**: its aggregation vignette "
    "defines the weighted median (half the weight on each side) and suggests "
    "`matrixStats::weightedMedian`, which by default interpolates between two values, so "
    "it can differ from the engine's lower weighted median (weights 1, 1 on values 1, 2: "
    "the engine gives 1, `weightedMedian` 1.5). A cumulative weight within 1e-12 of half "
    "counts as half.",
)


def _minimum(a: AggregateContext) -> sympy.Expr:
    ys = a.symbols()
    return ys[0] if len(ys) == 1 else sympy.Min(*ys, evaluate=False)


MINIMUM = Aggregator(
    name="minimum",
    title="Minimum",
    description="the smallest member (weights ignored).",
    template=_minimum,
    present=lambda a: ir.MinPresent(*a.symbols(), evaluate=False),
    equal_weights=True,
    formula="`min y`",
    conventions="equal weights only (weights are not used)",
)

FORMULA = Aggregator(
    name="formula",
    title="A formula in the member names",
    description="the free formula below.",
    params=(
        Param(
            "formula",
            ParamType.FORMULA,
            "For method 'formula': an expression in the member names, e.g. 'min(SD, SF, SE)' "
            "or '(SD * SF) ** 0.5'. Weights are not applied automatically.",
            required=True,
        ),
    ),
    kind=Kind.FORMULA,
    sampleable=False,
    formula="an expression in the member names",
    conventions="weights **not** applied",
)

METHODS: tuple[Aggregator, ...] = (
    ARITHMETIC,
    GEOMETRIC,
    HARMONIC,
    POWER,
    MEDIAN,
    MINIMUM,
    FORMULA,
)

STAGE = StageText(
    description="How a group's members are combined. Missing member scores make the group "
    "missing (all members required).",
    method="How members combine (weights w are divided by their sum; y are the members' scores).",
    listing=Listing.IN_METHOD,
    default="arithmetic",
)
