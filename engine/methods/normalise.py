"""Normalisations that rescale x: each method is one declaration with its template.

The templates are written in the symbol ``x`` through a
:class:`~engine.methods.normalise_context.NormaliseContext`; the ranking, share and
reference-based normalisations are in :mod:`engine.methods.normalise_rank`.

Conventions (stated in every description as well):

* statistics skip missing values, and are taken over the normalisation's scope;
* a "lower is better" indicator is reversed by the method's own cost rule; the leader
  share needs an explicit one, because negating x before dividing (COINr's
  ``n_fracmax`` with direction -1) gives x / min(x) and rewards the worst unit;
* the z-score SD is the sample SD (ddof = 1) unless declared.
"""

from __future__ import annotations

from collections.abc import Iterator

import sympy

from engine.diagnostics import Code
from engine.formula import ir
from engine.methods import transform
from engine.methods.normalise_context import SHARED, NormaliseContext, Normaliser, Requirement
from engine.methods.registry import Kind, Param, ParamType, Problem, Usage, literal
from engine.methods.terms import X, add, clip, div, key_value, mul, num, sub

__all__ = ["METHODS"]

#: "Multiplier of the result": the `scale` of the methods whose result is a share of 1
SCALE = Param(
    "scale",
    ParamType.NUMBER,
    "Multiplier of the result (default 1).",
    default=1,
    exclusive_minimum=0,
)


# -- leader share -----------------------------------------------------------------------


def _leader_share(n: NormaliseContext) -> sympy.Expr:
    x, scale = n.x(), n.number("scale")
    if not n.lower_is_better:
        return mul(div(x, n.stat(ir.ColMax)), scale)
    if n.params.get("cost") == "min_over_x":
        return mul(div(n.stat(ir.ColMin), x), scale)
    return mul(sub(sympy.Integer(1), div(x, n.stat(ir.ColMax))), scale)


def _leader_share_domain(n: NormaliseContext) -> Requirement:
    if n.lower_is_better and n.params.get("cost") == "min_over_x":
        return sympy.StrictGreaterThan(X, 0, evaluate=False), "leader share min(x) / x needs x > 0"
    if n.transform is None:
        return sympy.GreaterThan(X, 0, evaluate=False), "leader share needs x >= 0 (a ratio scale)"
    return n.transform_domain()


def _cost_rule_for_lower(u: Usage) -> Iterator[Problem]:
    if u.lower_is_better and u.params.get("cost") is None:
        yield Problem(
            Code.UNKNOWN_METHOD,
            f"indicator '{u.subject}' is 'lower is better' but its leader share has no cost rule",
            expected="cost: min_over_x (min(x) / x) or cost: one_minus_share (1 - x / max(x))",
            hint="x / max(x) of a cost indicator gives the worst unit the top score",
        )


LEADER_SHARE = Normaliser(
    name="leader_share",
    title="Leader share",
    description="Leader share (the seed paper's formula 1): y = x / max(x) * scale, the best "
    "unit gets `scale`. Requires x >= 0 and max(x) > 0 (a zero max is undefined: missing, "
    "and reported). For a 'lower is better' indicator an explicit `cost` rule is required, "
    "because x / max(x) of a cost indicator rewards the worst unit: min_over_x gives "
    "min(x) / x, where COINr's n_fracmax (after Normalise() negates x) gives x / min(x).",
    params=(
        Param(
            "scale",
            ParamType.NUMBER,
            "Value given to the leader (100 in the paper).",
            default=100,
            exclusive_minimum=0,
        ),
        Param(
            "cost",
            ParamType.CHOICE,
            "Rule for 'lower is better' indicators: 'min_over_x' gives y = min(x) / x * scale "
            "(pymcdm's linear cost branch; requires x > 0); 'one_minus_share' gives "
            "y = (1 - x / max(x)) * scale (pymcdm's max cost branch). Ignored for 'higher is "
            "better' indicators.",
            choices=("min_over_x", "one_minus_share"),
        ),
        *SHARED,
    ),
    rules=(_cost_rule_for_lower,),
    template=_leader_share,
    domain=_leader_share_domain,
    formula="`x / max x · scale`",
    lower="`cost` required: `min_over_x`: `min x / x · scale`; `one_minus_share`: "
    "`(1 − x / max x) · scale`",
    equivalents=(
        "COINr `n_fracmax`",
        "pymcdm `linear_normalization` (cost: `min/x`), `max_normalization` (cost: `1 − x/max`)",
    ),
    notes="requires `x ≥ 0` (a negative `x` is undefined, reported: a ratio to the leader needs a "
    "ratio scale) and `max x > 0`. `min_over_x` needs `x > 0`. Without `cost`, a `lower` "
    "indicator is an `unknown-method` error before any data is read. **Deviation:** COINr has "
    "no cost rule for `n_fracmax`; its direction handling multiplies the indicator by −1 "
    "before normalising, and `−x / max(−x)` is `x / min x`, which gives the *worst* unit the "
    "top score. The engine never does that; the user chooses one of the two pymcdm cost "
    "branches: `cost: min_over_x` gives `min x / x` where COINr's `n_fracmax` gives "
    "`x / min x`.",
    references=("Kireeva A. A., IT clusters in Kazakhstan regions (the seed paper), formula 1",),
)


# -- min-max, z-score -------------------------------------------------------------------


def _min_max(n: NormaliseContext) -> sympy.Expr:
    # written as t * u + (1 - t) * l with t in [0, 1], so that the best unit gets
    # exactly u and the worst exactly l (l + t * (u - l) can miss u by an ulp)
    low, high = (num(v) for v in n.param("range"))
    x, lo, hi = n.x(), n.stat(ir.ColMin), n.stat(ir.ColMax)
    top = sub(hi, x) if n.lower_is_better else sub(x, lo)
    t = div(top, sub(hi, lo))
    upper = t if high == 1 else mul(t, high)
    if low == 0:
        return upper
    return add(upper, mul(sub(sympy.Integer(1), t), low))


def _range_increases(u: Usage) -> Iterator[Problem]:
    low, high = u.params["range"]
    if not low < high:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"min_max of '{u.subject}': range {literal(u.params['range'])} does not increase",
            expected="[lower, upper] with lower < upper",
            hint="a 'lower is better' indicator is reversed by its direction: direction: lower",
            at=("range",),
        )


MIN_MAX = Normaliser(
    name="min_max",
    title="Min-max to a range",
    description="Min-max to a range: y = (x - min) / (max - min) * (upper - lower) + lower; "
    "for 'lower is better' indicators y = (max - x) / (max - min) * (upper - lower) + lower. "
    "A zero range (all units equal) is undefined (missing, and reported).",
    params=(
        Param(
            "range",
            ParamType.NUMBERS,
            "[lower, upper] of the result, lower < upper; default [0, 100].",
            default=(0, 100),
            min_items=2,
            max_items=2,
        ),
        *SHARED,
    ),
    rules=(_range_increases,),
    template=_min_max,
    formula="`(x − min)/(max − min) · (u − l) + l`",
    lower="`(max − x)/(max − min) · (u − l) + l`",
    equivalents=(
        "COINr `n_minmax(l_u = c(0, 100))`",
        "Compind `normalise_ci(method = 2)` (range [0, 1])",
        "pymcdm `minmax_normalization`",
    ),
    notes="the best unit gets exactly `u` and the worst exactly `l` (computed as "
    "`t·u + (1 − t)·l`, `t ∈ [0, 1]`). A zero range is undefined (reported). **Deviation:** "
    "pymcdm returns all ones when every value is equal; the engine reports the values as "
    "undefined instead. scikit-criteria's `MinMaxScaler` does not orient a cost criterion "
    "(it scales every column as a benefit one): for a 'lower is better' indicator the "
    "engine's value is 1 − scikit-criteria's.",
)


def _z_score(n: NormaliseContext) -> sympy.Expr:
    ddof = sympy.Integer(int(n.param("ddof")))
    x, mean, sd = n.x(), n.stat(ir.ColMean), n.stat(ir.ColStd, ddof)
    top = sub(mean, x) if n.lower_is_better else sub(x, mean)
    out = mul(div(top, sd), n.number("sd"))
    target = n.number("mean")
    return out if target == 0 else add(out, target)


Z_SCORE = Normaliser(
    name="z_score",
    title="z-score",
    description="z-score: y = (x - mean(x)) / sd(x) * sd_target + mean_target, sign reversed "
    "for 'lower is better' indicators. The SD is the sample SD (ddof = 1, as COINr and "
    "Compind) unless ddof: 0 (population SD, as scikit-learn) is declared. A zero SD is "
    "undefined (missing, and reported).",
    params=(
        Param(
            "ddof",
            ParamType.INTEGER,
            "Delta degrees of freedom of the SD: 1 = sample SD (n - 1, default), 0 = population "
            "SD (n).",
            default=1,
            choices=(0, 1),
        ),
        Param(
            "mean",
            ParamType.NUMBER,
            "Mean of the result (0 by default; 100 for Mazziotta-Pareto).",
            default=0,
        ),
        Param(
            "sd",
            ParamType.NUMBER,
            "SD of the result (1 by default; 10 for Mazziotta-Pareto).",
            default=1,
            exclusive_minimum=0,
        ),
        *SHARED,
    ),
    template=_z_score,
    formula="`(x − mean)/sd · s + m`",
    lower="`(mean − x)/sd · s + m`",
    equivalents=(
        "COINr `n_zscore(m_sd = c(0, 1))`",
        "Compind `normalise_ci(method = 1, z.mean, z.std)`",
    ),
    notes="**sample SD** (`ddof: 1`, divide by n − 1) by default, as COINr (`stats::sd`) and "
    "Compind (`sd`); `ddof: 0` gives the population SD (scikit-learn's `StandardScaler`). "
    "`mean: 100, sd: 10` gives the rescaled z-scores of the Mazziotta–Pareto index. The "
    '"lower" branch is `(mean − x)/sd`, i.e. Compind\'s `z.mean − (x − mean)/sd · z.std` '
    "for polarity `NEG`.",
)


# -- fixed bounds: goalposts, distance to a target or a reference unit ------------------


def _goalposts(n: NormaliseContext) -> sympy.Expr:
    # the goalposts are in the units of x and go through its transform (log: ln l, ln u)
    low, high = (n.transformed(n.number(k)) for k in ("lower", "upper"))
    x = n.x()
    top = sub(high, x) if n.lower_is_better else sub(x, low)
    t = div(top, sub(high, low))
    if n.param("truncate"):
        t = clip(t, sympy.Integer(0), sympy.Integer(1))
    return n.scale(t)


def _fixed_transform(u: Usage) -> Iterator[Problem]:
    written = u.params.get("transform")
    if written is None:
        return
    name, _ = transform.spelling(written)
    if any(t.name == name and t.data_dependent for t in transform.METHODS):
        fixed = " or ".join(t.name for t in transform.METHODS if not t.data_dependent)
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"goalposts of '{u.subject}' cannot follow the data-dependent transform {written}",
            expected=f"transform: {fixed}",
        )


def _upper_above_lower(u: Usage) -> Iterator[Problem]:
    lower, upper = u.params["lower"], u.params["upper"]
    if upper <= lower:
        yield Problem(
            Code.BAD_ARGUMENTS,
            f"goalposts of '{u.subject}': upper {upper} <= lower {lower}",
            expected="lower < upper",
        )


GOALPOSTS = Normaliser(
    name="goalposts",
    title="Goalposts",
    description="Goalposts (UNDP, COINr n_goalposts): y = (x - lower) / (upper - lower) for "
    "'higher is better', (upper - x) / (upper - lower) for 'lower is better'; truncated to "
    "[0, 1] unless truncate: false; then times scale. Fixed per indicator, so no statistics "
    "across units. With a transform (log or box_cox), the goalposts are given in the units "
    "of x and transformed with it: {transform: log, lower: 100, upper: 75000} is UNDP's "
    "income index.",
    params=(
        Param("lower", ParamType.NUMBER, "Lower goalpost (scores 0).", required=True),
        Param(
            "upper",
            ParamType.NUMBER,
            "Upper goalpost (scores 1); greater than lower.",
            required=True,
        ),
        Param(
            "truncate",
            ParamType.BOOLEAN,
            "Cap the result to [0, 1] before scaling (values beyond the goalposts get 0 or 1). "
            "Default true.",
            default=True,
        ),
        SCALE,
        *SHARED,
    ),
    rules=(_fixed_transform, _upper_above_lower),
    template=_goalposts,
    formula="`(x − l)/(u − l)`, cut to [0, 1], `· scale`",
    lower="`(u − x)/(u − l)`, cut to [0, 1], `· scale`",
    equivalents=("COINr `n_goalposts`", "UNDP HDI"),
    notes="fixed bounds, no statistics; `truncate: false` lets values beyond the goalposts "
    "score below 0 or above 1. With `transform: log` or `box_cox` the goalposts are in the "
    "units of `x` and are transformed with it; a data-dependent transform (`log_ct`, "
    "`log_plus1`) cannot carry fixed goalposts and is an error. COINr's `n_scaled` (`(x − "
    "l)/(u − l) · a`, no truncation) is `goalposts` with `truncate: false` and `scale: a` for "
    "a 'higher is better' indicator; for a 'lower is better' one **COINr's `Normalise()` "
    "negates x first** (`(−x − l)/(u − l) · a`), where the engine reverses within the "
    "goalposts, `(u − x)/(u − l)`. COINr's `n_goalposts` reverses as the engine does.",
)


def _distance_to_target(n: NormaliseContext) -> sympy.Expr:
    target, x = n.number("target"), n.x()
    if n.lower_is_better:
        hi = n.stat(ir.ColMax)
        t = div(sub(hi, x), sub(hi, target))
    else:
        lo = n.stat(ir.ColMin)
        t = div(sub(x, lo), sub(target, lo))
    if n.param("cap"):
        t = clip(t, None, sympy.Integer(1))
    return n.scale(t)


DISTANCE_TO_TARGET = Normaliser(
    name="distance_to_target",
    title="Distance to a target",
    description="Distance to a target T (COINr n_dist2targ): y = (x - min(x)) / (T - min(x)) "
    "for 'higher is better', (max(x) - x) / (max(x) - T) for 'lower is better'; capped at 1 "
    "unless cap: false (COINr does not cap by default: cap: false matches it); times scale.",
    params=(
        Param("target", ParamType.NUMBER, "The target value T.", required=True),
        Param(
            "cap",
            ParamType.BOOLEAN,
            "Cap the result at 1 (units past the target score 1). Default true.",
            default=True,
        ),
        SCALE,
        *SHARED,
    ),
    template=_distance_to_target,
    formula="`(x − min)/(T − min)`, capped at 1, `· scale`",
    lower="`(max − x)/(max − T)`, capped at 1, `· scale`",
    equivalents=("COINr `n_dist2targ`",),
    notes="the worst unit scores 0, the target 1; **units past the target are capped at 1 "
    "by default** (`cap: true`), where COINr's `n_dist2targ` does not cap unless "
    "`cap_max = TRUE` (write `cap: false` to match its default). COINr warns when the "
    "target is below `min x`; the engine computes the (negative) result as written.",
)


def _distance_to_reference(n: NormaliseContext) -> sympy.Expr:
    x = n.x()
    ref = ir.At(x, sympy.Symbol(str(n.unit)), key_value(n.param("unit")), evaluate=False)
    # (x - min) / (x_r - min) equals COINr's 1 - (x_r - x) / (x_r - min), and its endpoints
    # are exact: 0 / d is 0 for the worst unit, d / d is 1 for the reference
    if n.lower_is_better:
        hi = n.stat(ir.ColMax)
        t = div(sub(hi, x), sub(hi, ref))
    else:
        lo = n.stat(ir.ColMin)
        t = div(sub(x, lo), sub(ref, lo))
    if n.param("cap"):
        t = clip(t, None, sympy.Integer(1))
    return n.scale(t)


DISTANCE_TO_REFERENCE = Normaliser(
    name="distance_to_reference",
    title="Distance to a reference unit",
    description="Distance to a reference unit r (COINr n_dist2ref): y = (x - min(x)) / "
    "(x_r - min(x)) (= 1 - (x_r - x) / (x_r - min(x))) for 'higher is better', (max(x) - x) "
    "/ (max(x) - x_r) for 'lower is better': the reference scores exactly 1, the worst unit "
    "exactly 0; capped at 1 when cap: true; times scale. The reference's value is taken in "
    "the same period.",
    params=(
        Param(
            "unit",
            ParamType.UNIT,
            "The reference unit, as it appears in the unit column.",
            required=True,
        ),
        Param(
            "cap",
            ParamType.BOOLEAN,
            "Cap at 1 (units better than the reference score 1). Default false.",
            default=False,
        ),
        SCALE,
        *SHARED,
    ),
    template=_distance_to_reference,
    formula="`(x − min)/(x_r − min)` (= `1 − (x_r − x)/(x_r − min)`), `· scale`",
    lower="`(max − x)/(max − x_r)`, `· scale`",
    equivalents=("COINr `n_dist2ref`",),
    notes="the reference unit's value `x_r` is taken in the same period; the reference "
    "scores exactly 1, the worst unit exactly 0 (computed as `(x − min)/(x_r − min)`, whose "
    "endpoints are exact in floating point, where COINr's `1 − (x_r − x)/(x_r − min)` can "
    "leave 1e-16); units better than the reference score above 1 unless `cap: true`.",
)


# -- the methodology's own formula, or nothing ------------------------------------------

FORMULA = Normaliser(
    name="formula",
    title="A formula in x",
    description="A free formula in `x`, the indicator's raw value, with the statistics of the "
    "formula language (max(x), mean(x), std(x, ddof=1), rank(x), ...), taken over the "
    "normalisation's scope. The direction is the author's: the formula is applied as written "
    "to every indicator it normalises.",
    params=(
        Param(
            "formula",
            ParamType.FORMULA,
            "Formula in x, e.g. '(x - min(x)) / (max(x) - min(x)) * 100'.",
            required=True,
        ),
        *SHARED,
    ),
    kind=Kind.FORMULA,
    orients=False,
    formula="the formula in `x`, as written",
    lower="the same (direction not applied)",
)

NONE = Normaliser(
    name="none",
    title="No normalisation",
    description="No normalisation: y = x (for indicators already on a common scale); the "
    "direction is not applied, where COINr's Normalise() with f_n = 'none' (and its n_scaled) "
    "negates a 'lower is better' indicator first.",
    template=lambda n: n.x(),
    orients=False,
    formula="`x`",
    lower="`x` (direction not applied)",
    notes="**Deviation:** COINr's `Normalise()` multiplies every indicator by its direction "
    "before the normalisation function, so its `f_n = 'none'` returns `−x` for a 'lower is "
    "better' indicator; the engine returns `x` as it is. A weighted mean then uses the raw "
    "value; the aggregations that reverse a cost criterion themselves (`topsis`, `vikor`, "
    "`copeland`, `promethee_ii`, `copras`, `moora`, `edas`, `wroclaw`) treat such a member "
    "as one, and those that need oriented members (`mpi`, `ampi`, `waspas`, `owa`, `ogwa`) "
    "refuse it.",
)

METHODS: tuple[Normaliser, ...] = (
    LEADER_SHARE,
    MIN_MAX,
    Z_SCORE,
    FORMULA,
    NONE,
    GOALPOSTS,
    DISTANCE_TO_TARGET,
    DISTANCE_TO_REFERENCE,
)
