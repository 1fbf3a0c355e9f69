"""Data-driven weighting: weights computed from a group's members, one declaration each.

A weighting's template returns one weight per member (before they are divided by their
sum), as expressions of statistics of the members over the units of each period, so they
may change from period to period. ``pca`` is estimated outside the IR
(:mod:`engine.methods.pca`): its template gives equal weights until the estimate
replaces them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from engine.formula import ir
from engine.methods.registry import Kind, Listing, Method, Stage, StageText
from engine.methods.terms import div, mul, sub

__all__ = ["METHODS", "STAGE", "WeightContext", "Weighting"]


@dataclass(frozen=True)
class WeightContext:
    """One group being weighted: its members and the keys statistics group by."""

    members: tuple[str, ...]
    keys: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def symbols(self) -> list[sympy.Symbol]:
        return [sympy.Symbol(m) for m in self.members]


@dataclass(frozen=True, kw_only=True)
class Weighting(Method):
    """A weighting's declaration; `template` returns one weight per member; `equal` says
    it always weighs every member the same."""

    stage: Stage = Stage.WEIGHT
    template: Callable[[WeightContext], list[sympy.Expr]]
    sampleable: bool = False
    equal: bool = False


def _equal(w: WeightContext) -> list[sympy.Expr]:
    return [sympy.Integer(1)] * len(w.members)


EQUAL = Weighting(
    name="equal",
    title="Equal weights",
    description="every member weighs the same",
    template=_equal,
    equal=True,
    formula="1",
    equivalents=("pymcdm `equal_weights`",),
)

SD = Weighting(
    name="sd",
    title="Standard deviation weights",
    description="w_j = SD_j, sample SD",
    template=lambda w: [ir.stat(ir.ColStd, y, w.keys, sympy.Integer(1)) for y in w.symbols()],
    formula="`SD_j` (sample SD of the member over the units)",
    equivalents=(
        "pymcdm `standard_deviation_weights` (also `ddof=1`; the normalised weights would be "
        "the same with the population SD)",
    ),
)


def _entropy(w: WeightContext) -> list[sympy.Expr]:
    out = []
    for y in w.symbols():
        p = div(y, ir.stat(ir.ColSum, y, w.keys))
        plogp = sympy.Piecewise(
            (mul(p, sympy.log(p, evaluate=False)), sympy.StrictGreaterThan(p, 0)),
            (sympy.Integer(0), True),
            evaluate=False,
        )
        n = ir.stat(ir.ColCount, y, w.keys)
        entropy = div(
            mul(sympy.Integer(-1), ir.stat(ir.ColSum, plogp, w.keys)),
            sympy.log(n, evaluate=False),
        )
        out.append(sub(sympy.Integer(1), entropy))
    return out


ENTROPY = Weighting(
    name="entropy",
    title="Entropy weights",
    description="Shannon: p_ij = y_ij / sum_i y_ij, E_j = -sum_i p_ij ln p_ij / ln n "
    "with 0 ln 0 = 0, w_j = 1 - E_j; members >= 0",
    template=_entropy,
    formula="`1 − E_j`, `E_j = −Σ_i p_ij ln p_ij / ln n`, `p_ij = y_ij / Σ_i y_ij`, `0 ln 0 = 0`",
    conventions="members ≥ 0",
    equivalents=("pymcdm `entropy_weights`",),
    notes="**Deviation:** pymcdm sets the entropy of a criterion to 0 when any of its values "
    "is 0 (so that criterion gets the largest weight); the engine uses the limit `0 ln 0 = 0`, "
    "the textbook convention. On data without zeros the two agree.",
)


def _critic(w: WeightContext) -> list[sympy.Expr]:
    def mean(e: sympy.Expr) -> sympy.Expr:
        return ir.stat(ir.ColMean, e, w.keys)

    def pearson(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        cov = sub(mean(mul(a, b)), mul(mean(a), mean(b)))
        sd_a = ir.stat(ir.ColStd, a, w.keys, sympy.Integer(0))
        sd_b = ir.stat(ir.ColStd, b, w.keys, sympy.Integer(0))
        return div(cov, mul(sd_a, sd_b))

    ys = w.symbols()
    out = []
    for j, a in enumerate(ys):
        conflict = (
            sympy.Add(
                *[sub(sympy.Integer(1), pearson(a, b)) for k, b in enumerate(ys) if k != j],
                evaluate=False,
            )
            if len(ys) > 1
            else sympy.Integer(0)
        )
        out.append(mul(ir.stat(ir.ColStd, a, w.keys, sympy.Integer(1)), conflict))
    return out


CRITIC = Weighting(
    name="critic",
    title="CRITIC weights",
    description="Diakoulaki et al. 1995: w_j = SD_j sum_k (1 - r_jk), r the Pearson "
    "correlation between members over the units, SD the sample SD",
    template=_critic,
    formula="`SD_j Σ_k (1 − r_jk)`, `r` Pearson correlation between members, `SD` sample SD",
    equivalents=("Diakoulaki et al. (1995)", "pymcdm `critic_weights`"),
)

PCA = Weighting(
    name="pca",
    title="First principal component weights",
    description="the squared loadings of the first principal component of the members' "
    "correlation matrix over the units of the period (the OECD/JRC Handbook's factor weights "
    "with one factor; the eigenvector's squared entries add up to 1); estimated in a first "
    "pass over the data, then applied",
    template=_equal,  # until estimated
    kind=Kind.PROCEDURE,
    backends=frozenset({"polars"}),
    formula="squared loadings of the first principal component of the members' correlation "
    "matrix over the units of each period (the eigenvector has unit length, so the weights add "
    "up to 1)",
    conventions="estimated in a first pass over the data (the group computed with equal "
    "weights, the correlation matrix decomposed with numpy's `eigh`), then applied as "
    "per-period constants",
    equivalents=(
        "the OECD/JRC Handbook's factor weights with one factor",
        "COINr's `get_PCA` returns PC1 loadings (which can be negative) rather than their squares",
    ),
)

PCA_ROTATED = Weighting(
    name="pca_rotated",
    title="Factor weights with varimax rotation (OECD/JRC Handbook)",
    description="the OECD/JRC Handbook's factor weights: principal components of the "
    "members' correlation matrix over the units of the period with eigenvalue > 1 and more "
    "than 10 % of the variance each, varimax-rotated; each member weighs its squared "
    "loading (scaled to sum 1 within its factor) on the factor where it loads most, times "
    "that factor's share of the explained variance; estimated in a first pass, then applied",
    template=_equal,  # until estimated
    kind=Kind.PROCEDURE,
    backends=frozenset({"polars"}),
    formula="`s_j,k(j) · v_k(j)`, divided by the sum: `s_jk` the squared varimax loading of "
    "member j on factor k scaled to sum 1 over the members, `k(j)` the factor with j's "
    "largest `s_jk`, `v_k` factor k's share of the variance explained after rotation",
    conventions="components kept: eigenvalue > 1 and > 10 % of the variance each (at least "
    "one); varimax with Kaiser's normalisation to a relative change below 1e-12; complete "
    "cases per period; with one component kept it equals `pca`",
    equivalents=(
        "the OECD/JRC Handbook (2008), section 6.1 and table 6.6",
        "R `stats::varimax` (normalize = TRUE) for the rotation",
    ),
    notes="The Handbook also asks the retained factors to explain more than 60 % of the "
    "variance together; that is a quality check of the data, not a rule for the weights, "
    "and is not enforced. Rotated factors are defined up to order and sign, which do not "
    "change the weights.",
)

OPTIMISED = Weighting(
    name="optimised",
    title="Weights optimised for equal influence (COINr get_opt_weights)",
    description="weights that make each member's Pearson correlation with the index over the "
    "units of the period as equal as possible (COINr get_opt_weights, optype 'balance', "
    "itarg 'equal'): ln(mean((1/k - r_j / sum r)^2)) minimised by Nelder-Mead over weights "
    ">= 0; every group with this weighting is optimised together; estimated in a first "
    "pass, then applied",
    template=_equal,  # the start, until estimated
    kind=Kind.PROCEDURE,
    backends=frozenset({"polars"}),
    formula="`argmin_w ln(mean_l (t_l − r_l / Σ r)²)`, `r_l` the correlation of member l with "
    "the index recomputed with `w`, `t_l` equal targets; `w = v²` (≥ 0)",
    conventions="the members of every `optimised` group are optimised together (as COINr "
    "optimises one level), per period; Pearson correlations over the units with both values; "
    "scipy's Nelder–Mead from equal weights, `xatol` 1e-10, `fatol` 1e-14, at most 2000 "
    "iterations per weight; needs an index",
    equivalents=('COINr `get_opt_weights(itarg = "equal", optype = "balance")`',),
    notes="**Deviation:** COINr optimises unconstrained weights, which can turn negative (on "
    "ASEM's level 2 its tight run gives two); here weights stay ≥ 0. COINr's default "
    "tolerance (`toler = 0.1`) stops after 3 to 9 evaluations, practically at the equal "
    "start; on ASEM's sub-indices (level 3) its tight run (`toler = 1e-6`) and this one agree "
    "to 1e-6 (0.3289 and 0.6711, equal correlations). Targets other than equal are not "
    "offered yet.",
    references=("Becker, Saisana, Paruolo & Vandecasteele (2017), Ecological Indicators 80",),
)

METHODS: tuple[Weighting, ...] = (EQUAL, SD, ENTROPY, CRITIC, PCA, PCA_ROTATED, OPTIMISED)

STAGE = StageText(
    description="Data-driven weights instead of explicit ones (computed from the members' "
    "scores over the units of each period, then divided by their sum):",
    method="",
    listing=Listing.IN_OBJECT,
    outro="The weights used are reported with the results.",
)
