"""How a methodology's parts are named when two methodologies are compared.

Methods (normalisation, imputation, treatment, aggregation) are described by their
declarations (:func:`engine.methods.catalogue.describe`): the method with its parameters
as written, ``min_max(range=[1, 100])``. Weights are shown normalised (``w / sum(w)``),
class bands with their closed sides.
"""

from __future__ import annotations

import sympy

from engine.format.model import Band, ClassScheme, Group, IndexSpec, Normalisation
from engine.formula.render import show
from engine.methods import catalogue
from engine.methods.registry import Stage, literal

__all__ = [
    "describe_aggregation",
    "describe_band",
    "describe_index",
    "describe_normalisation",
    "describe_preparation",
    "describe_rounding",
    "describe_weights",
    "normalised_weights",
]


def describe_normalisation(n: Normalisation) -> str:
    """``min_max(range=[1, 100])``; ``scope=pooled`` is shown, the default scope is not."""
    params = [(k, v) for k, v in n.params if k not in ("formula", "scope")]
    if n.scope != "period":
        params.append(("scope", n.scope))
    return catalogue.describe(Stage.NORMALISE, n.method, params)


def describe_aggregation(g: Group) -> str:
    """``power(p=2)``; ``arithmetic``."""
    return catalogue.describe(Stage.AGGREGATE, g.aggregation, g.params)


def describe_preparation(stage: Stage, settings: tuple[tuple[str, object], ...]) -> str:
    """An indicator's imputation or treatment: ``mean(by=[macro])``; ``none``."""
    written = dict(settings)
    name = str(written.pop("method", catalogue.default(stage)))
    return catalogue.describe(stage, name, tuple(written.items()))


def _weight(w: sympy.Basic) -> str:
    if isinstance(w, sympy.Float):
        return f"{float(w):.6g}"
    return show(w)


def normalised_weights(g: Group) -> tuple[tuple[str, sympy.Basic], ...]:
    """Each member with its weight divided by the sum of the weights."""
    weights = list(g.weights)  # sympy numbers or expressions already
    total = sympy.Add(*weights) if weights else sympy.Integer(0)
    if total == 0:
        return tuple((m, w) for m, w in zip(g.members, weights))
    return tuple((m, w / total) for m, w in zip(g.members, weights))


def describe_weights(g: Group) -> str:
    return ", ".join(f"{m}: {_weight(w)}" for m, w in normalised_weights(g))


def describe_index(ix: IndexSpec | None) -> str:
    if ix is None:
        return "none"
    return f"group {ix.group}" if ix.group else show(ix.expr)


def describe_rounding(ix: IndexSpec | None) -> str:
    r = ix.rounding if ix else None
    return "none" if r is None else f"{r.digits} digits, {r.mode}"


def describe_band(b: Band, scheme: ClassScheme) -> str:
    # the closed side of each band follows the scheme: see engine.format.model.ClassScheme
    top, bottom = scheme.bands[0], scheme.bands[-1]
    if scheme.closed == "lower":
        right = "]" if b == top else ")"
        text = f"[{literal(b.lower)}, {literal(b.upper)}{right}"
    else:
        left = "[" if b == bottom else "("
        text = f"{left}{literal(b.lower)}, {literal(b.upper)}]"
    return text + (f" group {b.group}" if b.group else "")
