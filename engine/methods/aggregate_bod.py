"""Benefit of the doubt (BoD): aggregations whose weights each unit chooses for itself.

Three declarations, one per Compind function, all backend-specific procedures
(``Kind.PROCEDURE``): the scores come from linear programs solved per unit and period
with HiGHS (:mod:`engine.methods.bod_solve`), which only the polars backend runs; the SQL
and JavaScript printers refuse them when a methodology is validated for them
(:func:`engine.methods.catalogue.backend_problems`).

How a run computes them (:mod:`engine.methods.bod`): a first pass computes the members;
the programs are solved on the members of the units present in each period; then the
group is the weighted sum of its members with the unit's own weights, columns joined to
the data (``bod``), or the unit's score (``bod_directional``, ``bod_robust``, which have
no weights). Until that estimate replaces it, the template is the equal-weight mean, so
that a plan can be built before the data is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sympy

from engine.diagnostics import Code
from engine.methods.aggregate import AggregateContext, Aggregator, Members
from engine.methods.registry import Kind, Param, ParamType, Problem, Usage
from engine.methods.terms import div

if TYPE_CHECKING:
    from engine.format.model import Methodology

__all__ = ["BOD", "BOD_DIRECTIONAL", "BOD_ROBUST", "METHODS", "bod_methods", "uses_bod"]

_POLARS = frozenset({"polars"})
_REQUIREMENT = "benefit of the doubt needs every member >= 0"


def _until_estimated(a: AggregateContext) -> sympy.Expr:
    """The equal-weight mean: the plan's placeholder until the programs are solved."""
    return div(a.weighted_sum(a.symbols()), a.total())


#: what the three declarations share: a polars-only procedure on members >= 0, whose
#: weights are its own (none may be given), that no uncertainty analysis can sample
_PROCEDURE: dict[str, Any] = {
    "template": _until_estimated,
    "kind": Kind.PROCEDURE,
    "backends": _POLARS,
    "equal_weights": True,
    "members": Members.NON_NEGATIVE,
    "requirement": _REQUIREMENT,
    "sampleable": False,
}


def _shares_possible(u: Usage) -> Iterator[Problem]:
    low, high = float(u.params["min_share"]), float(u.params["max_share"])
    n = len(u.members)
    if low > high:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': min_share {low:g} is above max_share {high:g}",
            expected="min_share <= max_share",
            at=("min_share",),
        )
    elif n and (low * n > 1 + 1e-12 or high * n < 1 - 1e-12):
        # the shares of a unit's score add up to 1: with n members they cannot all be at
        # least 1/n above or below it, and every unit would score 0
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': {n} shares between {low:g} and {high:g} cannot add up to 1",
            expected=f"min_share <= 1/{n} <= max_share",
        )


BOD = Aggregator(
    name="bod",
    title="Benefit of the doubt",
    description="Each unit's score with the weights most favourable to it: max sum(w y) over "
    "w >= 0 such that no unit of the period scores above 1 with these weights (DEA multiplier "
    "form, constant returns, one dummy input; Compind ci_bod). With min_share / max_share, "
    "each member's share of the unit's own score w_j y_j / CI is kept within the bounds "
    "(Compind ci_bod_constr). Solved per unit by linear programming (HiGHS); members >= 0; "
    "the unit's weights are written to the detail output.",
    params=(
        Param(
            "min_share",
            ParamType.NUMBER,
            "Lower bound of each member's share of the unit's score (Compind's low_w; "
            "default 0). With a bound above 0, a unit with a zero member scores 0.",
            default=0,
            minimum=0,
            maximum=1,
        ),
        Param(
            "max_share",
            ParamType.NUMBER,
            "Upper bound of each member's share of the unit's score (Compind's up_w; default 1).",
            default=1,
            minimum=0,
            maximum=1,
        ),
    ),
    rules=(_shares_possible,),
    **_PROCEDURE,
    formula="`max_w Σ_j w_j y_ij` s.t. `Σ_j w_j y_kj ≤ 1` for every unit k of the period, "
    "`w ≥ 0`; with share bounds also `L · CI_i ≤ w_j y_ij ≤ U · CI_i`",
    conventions="one linear program per unit and period (HiGHS through scipy); the peers are "
    "the units of the period with every member present; a unit with a missing member gets no "
    "score; weights are the raw multipliers `w_ij` (`Σ_j w_ij y_ij = CI_i`)",
    equivalents=(
        "Compind `ci_bod` (`Benchmarking::dea.dual`, input orientation, CRS, dummy input 1)",
        "Compind `ci_bod_constr(up_w = U, low_w = L)`",
    ),
    notes="The score is unique, the weights of a unit on the frontier (score 1) in general "
    "are not: HiGHS and Compind's lp_solve may return different optimal vertices (on "
    "EU_NUTS1, Berlin and Ile de France). Compind's `ci_bod` returns the raw multipliers and "
    "`ci_bod_constr` the shares `w_j y_ij / CI_i`; the detail output has both. With "
    "`min_share` > 0 a unit with a zero member is forced to a score of 0 (its share of that "
    "member would have to be at least `min_share`), as in Compind; its shares are empty. "
    "Min-max normalisation gives the worst unit of each member a 0, so combine share bounds "
    "with it knowingly.",
    references=(
        "Cherchye, Moesen, Rogge & Van Puyenbroeck (2007), Social Indicators Research 82",
        "Vidoli & Mazziotta (2013), Statistica Applicata 23",
    ),
)


def _direction_fits(u: Usage) -> Iterator[Problem]:
    direction = list(u.params.get("direction") or ())
    if u.members and len(direction) != len(u.members):
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': direction has {len(direction)} values for "
            f"{len(u.members)} members",
            expected="one value per member, in member order: " + ", ".join(u.members),
            at=("direction",),
        )
    elif direction and not any(float(d) > 0 for d in direction):
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"group '{u.subject}': the direction has no positive value",
            expected="at least one value above 0",
            at=("direction",),
        )


BOD_DIRECTIONAL = Aggregator(
    name="bod_directional",
    title="Directional benefit of the doubt",
    description="1 / (1 + beta), beta the largest expansion of the unit's members along the "
    "direction d that some mix of the period's units (weights summing to at most 1) still "
    "attains (directional distance, constant returns; Compind ci_bod_dir). Solved per unit by "
    "linear programming (HiGHS); members >= 0.",
    params=(
        Param(
            "direction",
            ParamType.NUMBERS,
            "The direction d of expansion, one value >= 0 per member in member order "
            "(Compind's dir; it has no default there either), e.g. [1, 0.5].",
            required=True,
            minimum=0,
            min_items=1,
        ),
    ),
    rules=(_direction_fits,),
    **_PROCEDURE,
    formula="`1 / (1 + β_i)`, `β_i = max β` s.t. `Σ_k λ_k y_kj ≥ y_ij + β d_j` for every "
    "member j, `Σ_k λ_k ≤ 1`, `λ ≥ 0`",
    conventions="one linear program per unit and period (HiGHS); peers as for `bod`; no weights",
    equivalents=("Compind `ci_bod_dir(dir = d)` (`Benchmarking::dea`, DIRECT = d)",),
    references=("Fusco (2015), Social Indicators Research 120",),
)

BOD_ROBUST = Aggregator(
    name="bod_robust",
    title="Robust (order-m) benefit of the doubt",
    description="1 / E, E the expected largest of min_j (y_kj / y_ij) over m peers k drawn "
    "with replacement among the units of the period (order-m efficiency; Compind ci_rbod), "
    "computed exactly rather than by resampling. Scores can exceed 1; members >= 0.",
    params=(
        Param(
            "m",
            ParamType.INTEGER,
            "Peers drawn (Compind's M). Default: the number of units in the period, as "
            "Compind does when M is left out.",
            minimum=1,
        ),
    ),
    **_PROCEDURE,
    formula="`1 / E_i`, `E_i = Σ_k v_(k) ((k/K)^m − ((k−1)/K)^m)`, `v_k = min_j y_kj / y_ij` "
    "sorted ascending over the K units of the period",
    conventions="exact expectation over every draw of m peers with replacement (B = ∞); a member "
    "with `y_ij = 0` sets no bound (Compind's ratio x/0 is infinite and ignored by its min); a "
    "unit whose members are all 0 scores 0; no weights",
    equivalents=("Compind `ci_rbod(M = m, B)` (`nonparaeff::orderm`), as B grows",),
    notes="Compind draws B resamples with R's random numbers, so its scores vary with the "
    "seed and B; they converge to these (on EU_NUTS1 with M = 25, B = 5000 every score is "
    "within 1.7 Monte Carlo standard errors). Where Compind divides 0 by 0 (a zero member "
    "and a peer with a zero there too) it returns NaN for the unit; here that member sets no "
    "bound.",
    references=("Vidoli & Mazziotta (2013), Statistica Applicata 23",),
)

METHODS: tuple[Aggregator, ...] = (BOD, BOD_DIRECTIONAL, BOD_ROBUST)


def bod_methods() -> frozenset[str]:
    """The names of the benefit-of-the-doubt aggregations."""
    return frozenset(m.name for m in METHODS)


def uses_bod(m: Methodology) -> bool:
    """Whether any group of `m` is a benefit-of-the-doubt aggregation (asked by every run:
    here, not in :mod:`engine.methods.bod`, so that a run without BoD imports no numpy)."""
    names = bod_methods()
    return any(g.aggregation in names for g in m.groups)
