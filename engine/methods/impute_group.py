"""Imputation from the unit's other indicators in the same group: a row mean, or EM.

Both read the group the indicator belongs to (its parent group, or the ``group`` given,
whose indicators at any depth are used), in the same row:

* ``row_mean`` (COINr's ``Impute(impute_by = "row", group_level = ...)``): the mean of the
  unit's other indicators in the group, each first scaled to [0, 1] by min-max over the
  units of the period (and reversed when "lower is better"), then brought back to the
  indicator's own scale;
* ``em``: the conditional mean of the indicator given the unit's present indicators of the
  group, under a multivariate normal whose mean and covariance are the maximum-likelihood
  estimates from the incomplete data (the EM algorithm, :mod:`engine.methods.em`). The
  estimates come from a first pass over the data and enter the IR as per-period constants.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import sympy

from engine.diagnostics import Code, did_you_mean
from engine.formula import ir
from engine.methods.impute import ImputeContext, Imputer
from engine.methods.registry import Kind, Param, ParamType, Problem, Usage
from engine.methods.terms import add, div, key_value, mul, num, sub

__all__ = ["METHODS"]

_ZERO = sympy.Integer(0)


def _in_a_group(u: Usage) -> Iterator[Problem]:
    """The indicator belongs to a group (the `group` given, at any depth)."""
    containing = [g for g in u.groups if _contains(u.groups, g, u.subject)]
    given = u.params.get("group")
    if given is not None and given not in containing:
        yield Problem(
            Code.UNKNOWN_NAME,
            f"imputation of '{u.subject}' from group '{given}', which does not contain it",
            expected="a group that has the indicator among its members, at any depth: "
            + (", ".join(containing) or "none has"),
            hint=did_you_mean(str(given), containing),
            at=("group",),
        )
    elif not containing:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"the imputation of '{u.subject}' reads the unit's other indicators in its "
            "group, but it is in no group",
            expected="an indicator that is a member of a group",
        )


def _contains(groups: Mapping[str, tuple[str, ...]], group: str, name: str) -> bool:
    members = groups.get(group, ())
    return name in members or any(_contains(groups, m, name) for m in members if m in groups)


GROUP = Param(
    "group",
    ParamType.NAME,
    "The group whose indicators (at any depth) the value is imputed from; default the "
    "indicator's parent group (COINr's group_level).",
)

# -- the row mean ---------------------------------------------------------------------------


def _range(c: ImputeContext, name: str) -> tuple[sympy.Expr, sympy.Expr]:
    """`name`'s minimum and maximum over the units of the period: parts (columns of their
    own) that the imputations of all its siblings read."""
    x = sympy.Symbol(name)
    return (
        c.part(name, "min", ir.stat(ir.ColMin, x, c.keys)),
        c.part(name, "max", ir.stat(ir.ColMax, x, c.keys)),
    )


def _scaled(c: ImputeContext, name: str) -> sympy.Expr:
    """`(x - min)/(max - min)` (`(max - x)/(max - min)` when lower is better), the
    numerator and the width parts of their own; the division stays in each imputation, so
    that a zero width is an undefined value of the imputations that read it, as written."""
    x = sympy.Symbol(name)
    lo, hi = _range(c, name)
    top = c.part(name, "top", sub(hi, x) if name in c.lower else sub(x, lo))
    return div(top, c.part(name, "width", sub(hi, lo)))


def _row_mean(c: ImputeContext) -> sympy.Expr:
    y = sympy.Symbol(c.column)
    others = c.siblings()
    normalise = bool(c.params.get("normalise", True))
    values = [_scaled(c, s) if normalise else sympy.Symbol(s) for s in others]
    count = add(*(ir.IsPresent(sympy.Symbol(s), evaluate=False) for s in others))
    total = add(*(ir.Coalesce(v, _ZERO, evaluate=False) for v in values))
    mean = div(total, count)
    if normalise:  # back to the indicator's scale (and orientation)
        lo, hi = _range(c, c.column)
        width = c.part(c.column, "width", sub(hi, lo))
        mean = sub(hi, mul(mean, width)) if c.column in c.lower else add(lo, mul(mean, width))
    some = sympy.StrictGreaterThan(count, 0, evaluate=False)
    return ir.Coalesce(y, sympy.Piecewise((mean, some), evaluate=False), evaluate=False)


ROW_MEAN = Imputer(
    name="row_mean",
    title="Mean of the unit's other indicators in its group",
    description="the mean of the unit's other indicators in the same group (the parent group, "
    "or 'group'), each scaled by min-max over the units of the period (reversed when 'lower "
    "is better') and the mean brought back to the indicator's scale (COINr Impute(impute_by "
    "= 'row', group_level, normalise_first = TRUE)); normalise: false takes the plain mean of "
    "the raw values.",
    params=(
        GROUP,
        Param(
            "normalise",
            ParamType.BOOLEAN,
            "Scale each indicator to [0, 1] (min-max over the units of the period, reversed "
            "when 'lower is better') before taking the mean, then scale back (COINr's default "
            "for rows). Default true.",
            default=True,
        ),
    ),
    rules=(_in_a_group,),
    template=_row_mean,
    formula="`min + m·(max − min)` (`max − m·(max − min)` when lower is better), `m` the mean "
    "of the unit's present `(x − min)/(max − min)` of the other indicators of the group",
    conventions="min and max over the units of the period; stays missing when the unit has no "
    "other indicator of the group",
    equivalents=(
        "COINr `Impute(f_i = 'i_mean', impute_by = 'row', group_level = 2)`",
        "`normalise: false`: the same with `normalise_first = FALSE`",
    ),
    notes="COINr multiplies by the direction, min-max scales each column to [0, 1], takes "
    "the row mean over the group's available values and unscales; the engine does the same. "
    "The unit's own imputed value is not used for its siblings (each indicator is imputed "
    "from the raw values).",
)


# -- EM -------------------------------------------------------------------------------------


def _em(c: ImputeContext) -> sympy.Expr:
    """The conditional mean from the estimates of the first pass (the indicator itself until
    they are known)."""
    y = sympy.Symbol(c.column)
    estimated = c.params.get("estimated")
    if estimated is None:
        return y
    branches: list[tuple[sympy.Expr, sympy.Basic]] = []
    for period, patterns in estimated:
        for present, intercept, slopes in patterns:
            value: sympy.Expr = num(intercept)
            conditions: list[sympy.Basic] = []
            if c.period is not None and period is not None:
                conditions.append(
                    sympy.Eq(sympy.Symbol(c.period), key_value(period), evaluate=False)
                )
            for name, here in present:
                flag = ir.IsPresent(sympy.Symbol(name), evaluate=False)
                conditions.append(sympy.Eq(flag, 1 if here else 0, evaluate=False))
            for name, b in slopes:
                value = add(value, mul(num(b), sympy.Symbol(name)))
            condition = (
                sympy.And(*conditions, evaluate=False)
                if len(conditions) > 1
                else conditions[0]
                if conditions
                else sympy.true
            )
            branches.append((value, condition))
    if not branches:
        return y
    return ir.Coalesce(y, sympy.Piecewise(*branches, evaluate=False), evaluate=False)


EM = Imputer(
    name="em",
    title="EM: conditional mean under a multivariate normal",
    description="the expected value of the indicator given the unit's present indicators of "
    "the same group (the parent group, or 'group'), under a multivariate normal whose mean "
    "and covariance are the maximum-likelihood estimates from the incomplete data of the "
    "period (EM algorithm, Dempster, Laird & Rubin 1977); estimated in a first pass, then "
    "applied as a regression per period and pattern of present values.",
    params=(GROUP,),
    rules=(_in_a_group,),
    template=_em,
    kind=Kind.PROCEDURE,
    backends=frozenset({"polars"}),
    sampleable=False,
    formula="`μ_j + Σ_jO Σ_OO⁻¹ (x_O − μ_O)`, `O` the unit's present indicators of the group, "
    "`μ`, `Σ` the EM estimates over the units of the period",
    conventions="raw values (before treatment and normalisation); maximum-likelihood "
    "covariance (divide by n); iterations until no estimate moves by more than 1e-10 of "
    "its scale (at most 10,000); a unit with no other indicator present gets `μ_j`; a "
    "singular covariance is a data error",
    equivalents=(
        "COINr `Impute(f_i = i_EM, impute_by = 'df', group_level = 2)` with Amelia's EM (its "
        "vignette): Amelia adds a random draw to the conditional mean, the engine does not",
    ),
    notes="the E step replaces each unit's missing values by their conditional means and "
    "adds the conditional covariance to the sums of squares; the M step takes the mean and "
    "the covariance (divide by n) of the completed data (Little & Rubin 2002, §11.2). The "
    "starting values are the available-case means and variances. Each imputed value is the "
    "regression printed by `indexlab explain`. The estimates use the group's indicators only.",
    references=(
        "Dempster, Laird & Rubin (1977), JRSS B 39(1)",
        "Little & Rubin (2002), Statistical Analysis with Missing Data, §11.2",
    ),
)

METHODS: tuple[Imputer, ...] = (ROW_MEAN, EM)
