"""What differs in each section of two methodologies, as :class:`Change` records.

One function per section of the checked model (data layout, availability screening,
inputs, indicators, groups, index, ranking, classes, derived outputs, checks, screening
rules), each comparing the two sides by name and by meaning: formulas in canonical form
(:func:`engine.analysis.canonical.same`), group weights normalised (``w / sum(w)``),
methods by their declarations. :data:`SECTIONS` lists them in the order of the diff
(:func:`engine.analysis.diff.diff`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import sympy

from engine.analysis.canonical import same
from engine.analysis.describe import (
    describe_aggregation,
    describe_band,
    describe_index,
    describe_normalisation,
    describe_preparation,
    describe_rounding,
    describe_weights,
    normalised_weights,
)
from engine.format.model import (
    Check,
    ClassScheme,
    Group,
    Indicator,
    Methodology,
)
from engine.formula.render import show
from engine.methods import catalogue
from engine.methods.registry import Stage, literal

__all__ = ["SECTIONS", "Change"]


@dataclass(frozen=True)
class Change:
    """One difference: `section` (indicator, group, ...), the `name` in it, `what` changed.

    `before` and `after` are texts in the formula language; ``None`` when the thing is
    absent on that side (added or removed).
    """

    section: str
    name: str
    what: str
    before: str | None
    after: str | None


def _text(expr: sympy.Basic | None) -> str | None:
    return None if expr is None else show(expr)


# --------------------------------------------------------------------------- weights

_value = literal


def _weights_equal(a: sympy.Basic, b: sympy.Basic) -> bool:
    if a.is_Number and b.is_Number:
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)), abs(float(b)))
    return same(a, b)


def _equal_weights(g: Group) -> bool:
    weights = [w for _, w in normalised_weights(g)]
    return all(_weights_equal(w, weights[0]) for w in weights)


# --------------------------------------------------------------------------- the sections


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def _named(before: Iterable[N], after: Iterable[N]) -> tuple[dict[str, N], dict[str, N], list[str]]:
    """Items of both sides by name, and the names in order (first side, then new ones)."""
    a = {x.name: x for x in before}
    b = {x.name: x for x in after}
    return a, b, list(a) + [n for n in b if n not in a]


def _added_removed(
    section: str,
    a: dict[str, N],
    b: dict[str, N],
    names: Sequence[str],
    describe: Callable[[N], str | None],
) -> list[Change]:
    out = []
    for n in names:
        if n not in b:
            out.append(Change(section, n, "removed", describe(a[n]), None))
        elif n not in a:
            out.append(Change(section, n, "added", None, describe(b[n])))
    return out


def _data(a: Methodology, b: Methodology) -> list[Change]:
    out = []
    for what in ("unit", "period"):
        x, y = getattr(a.layout, what), getattr(b.layout, what)
        if x != y:
            out.append(Change("data", "", what, str(x), str(y)))
    if a.layout.labels != b.layout.labels:
        out.append(
            Change(
                "data",
                "",
                "labels",
                ", ".join(a.layout.labels) or "none",
                ", ".join(b.layout.labels) or "none",
            )
        )
    if a.layout.detail != b.layout.detail:
        out.append(
            Change(
                "data",
                "",
                "detail",
                ", ".join(a.layout.detail) or "none",
                ", ".join(b.layout.detail) or "none",
            )
        )
    return out


def _inputs(a: Methodology, b: Methodology) -> list[Change]:
    x, y, names = _named(a.inputs, b.inputs)
    out = _added_removed("input", x, y, names, lambda i: i.unit or "")
    for n in names:
        if n in x and n in y and x[n].optional != y[n].optional:
            out.append(
                Change(
                    "input", n, "optional", str(x[n].optional).lower(), str(y[n].optional).lower()
                )
            )
    return out


def _indicators(a: Methodology, b: Methodology) -> list[Change]:
    x, y, names = _named(a.indicators, b.indicators)
    out = _added_removed("indicator", x, y, names, lambda i: show(i.expr))
    norm = []
    for n in names:
        if n not in x or n not in y:
            continue
        i, j = x[n], y[n]
        if not same(i.expr, j.expr):
            out.append(Change("indicator", n, "formula", show(i.expr), show(j.expr)))
        if i.direction != j.direction:
            out.append(Change("indicator", n, "direction", str(i.direction), str(j.direction)))
        p, q = i.normalisation, j.normalisation
        formula_same = same(p.expr, q.expr)
        # parameters spelt out or left to their defaults give the same template
        if (p.method, p.scope) != (q.method, q.scope) or (
            not formula_same and describe_normalisation(p) != describe_normalisation(q)
        ):
            norm.append(
                Change(
                    "normalisation",
                    n,
                    "method",
                    describe_normalisation(p),
                    describe_normalisation(q),
                )
            )
        if not formula_same:
            norm.append(Change("normalisation", n, "formula", show(p.expr), show(q.expr)))
        norm += _preparation(i, j)
    return out + norm


def _preparation(i: Indicator, j: Indicator) -> list[Change]:
    """A changed imputation or treatment of one indicator (defaults spelt out are not)."""
    out = []
    for stage, before, after in (
        (Stage.IMPUTE, i.imputation, j.imputation),
        (Stage.TREAT, i.treatment, j.treatment),
    ):
        if not catalogue.same_settings(stage, _settings(stage, before), _settings(stage, after)):
            x, y = describe_preparation(stage, before), describe_preparation(stage, after)
            out.append(Change(stage.value, i.name, "method", x, y))
    return out


def _settings(
    stage: Stage, written: tuple[tuple[str, object], ...]
) -> tuple[str, list[tuple[str, object]]]:
    """(method, parameters) of an imputation or treatment as the model keeps it."""
    params = [(k, v) for k, v in written if k != "method"]
    return str(dict(written).get("method", catalogue.default(stage))), params


def _groups(a: Methodology, b: Methodology) -> list[Change]:
    x, y, names = _named(a.groups, b.groups)
    out = _added_removed(
        "group", x, y, names, lambda g: f"{describe_aggregation(g)} of {describe_weights(g)}"
    )
    for n in names:
        if n not in x or n not in y:
            continue
        g, h = x[n], y[n]
        explained = False
        if set(g.members) != set(h.members):
            out.append(Change("group", n, "members", ", ".join(g.members), ", ".join(h.members)))
            explained = True
        wg, wh = dict(normalised_weights(g)), dict(normalised_weights(h))
        if g.weighting != h.weighting:
            weights_differ = False  # the weighting method says it; its formulas are long
        elif wg.keys() != wh.keys():
            weights_differ = not (_equal_weights(g) and _equal_weights(h))
        else:
            weights_differ = not all(_weights_equal(wg[m], wh[m]) for m in wg)
        if weights_differ:
            out.append(Change("group", n, "weights", describe_weights(g), describe_weights(h)))
            explained = True
        if g.weighting != h.weighting:
            out.append(
                Change(
                    "group",
                    n,
                    "weighting",
                    str(g.weighting or "fixed"),
                    str(h.weighting or "fixed"),
                )
            )
            explained = True
        if not catalogue.same_settings(
            Stage.AGGREGATE, (g.aggregation, g.params), (h.aggregation, h.params)
        ):
            out.append(
                Change("group", n, "aggregation", describe_aggregation(g), describe_aggregation(h))
            )
            explained = True
        if g.coverage != h.coverage:
            out.append(Change("group", n, "coverage", _value(g.coverage), _value(h.coverage)))
        # the same method, parameters, members and weights, yet another expression: the
        # formula of a formula aggregation, or a parameter spelt out at its default
        if not explained and not same(g.expr, h.expr):
            out.append(Change("group", n, "aggregation formula", show(g.expr), show(h.expr)))
    return out


def _index(a: Methodology, b: Methodology) -> list[Change]:
    out = []
    p, q = a.index, b.index
    if p is None or q is None:
        if (p is None) != (q is None):
            out.append(Change("index", "", "definition", describe_index(p), describe_index(q)))
        return out
    if p.group and q.group:
        if p.group != q.group:
            out.append(Change("index", "", "group", p.group, q.group))
    elif p.group or q.group:
        out.append(Change("index", "", "definition", describe_index(p), describe_index(q)))
    elif not same(p.expr, q.expr):
        out.append(Change("index", "", "formula", show(p.expr), show(q.expr)))
    if p.rounding != q.rounding:
        out.append(Change("index", "", "rounding", describe_rounding(p), describe_rounding(q)))
    return out


def _ranking(a: Methodology, b: Methodology) -> list[Change]:
    out = []
    order = {True: "descending", False: "ascending"}
    if a.ranking.descending != b.ranking.descending:
        out.append(
            Change("ranking", "", "order", order[a.ranking.descending], order[b.ranking.descending])
        )
    if a.ranking.ties != b.ranking.ties:
        out.append(Change("ranking", "", "ties", a.ranking.ties, b.ranking.ties))
    x, y = dict(a.ranking.within), dict(b.ranking.within)
    for name in [*x, *(n for n in y if n not in x)]:
        if x.get(name) != y.get(name):
            before, after = x.get(name), y.get(name)
            out.append(
                Change(
                    "rank within",
                    name,
                    "added" if before is None else "removed" if after is None else "groups",
                    ", ".join(before) if before else None,
                    ", ".join(after) if after else None,
                )
            )
    return out


def _availability(a: Methodology, b: Methodology) -> list[Change]:
    def text(m: Methodology) -> str | None:
        rule = m.availability
        if rule is None:
            return None
        parts = [f"minimum {_value(rule.minimum)}"] if rule.minimum is not None else []
        parts += ["per group"] if rule.per_group else []
        parts += [f"non-zero {_value(rule.nonzero)}"] if rule.nonzero is not None else []
        return ", ".join(parts)

    before, after = text(a), text(b)
    if before == after:
        return []
    what = "added" if before is None else "removed" if after is None else "rule"
    return [Change("availability", "", what, before, after)]


def _classes(a: Methodology, b: Methodology) -> list[Change]:
    p, q = a.classes, b.classes
    if p is None or q is None:
        if p is q:
            return []

        def bands(s: ClassScheme | None) -> str | None:
            if s is None:
                return None
            if s.quantiles:
                return "quantile classes " + ", ".join(s.quantiles)
            return ", ".join(f"{x.label} {describe_band(x, s)}" for x in s.bands)

        return [Change("classes", "", "added" if p is None else "removed", bands(p), bands(q))]
    out = []
    if p.what != q.what:
        out.append(Change("classes", "", "of", p.what, q.what))
    if p.quantiles != q.quantiles:
        out.append(
            Change(
                "classes",
                "",
                "quantile classes",
                ", ".join(p.quantiles) or "none",
                ", ".join(q.quantiles) or "none",
            )
        )
    if p.closed != q.closed:
        out.append(Change("classes", "", "closed", p.closed, q.closed))
    if p.tolerance != q.tolerance:
        out.append(Change("classes", "", "tolerance", _value(p.tolerance), _value(q.tolerance)))
    x = {band.label: band for band in p.bands}
    y = {band.label: band for band in q.bands}
    for label in list(x) + [k for k in y if k not in x]:
        if label not in y:
            out.append(Change("class", label, "removed", describe_band(x[label], p), None))
        elif label not in x:
            out.append(Change("class", label, "added", None, describe_band(y[label], q)))
        elif describe_band(x[label], p) != describe_band(y[label], q):
            out.append(
                Change(
                    "class", label, "band", describe_band(x[label], p), describe_band(y[label], q)
                )
            )
    gp, gq = dict(p.groups), dict(q.groups)
    for key in list(gp) + [k for k in gq if k not in gp]:
        if gp.get(key) != gq.get(key):
            out.append(Change("class group", key, "label", gp.get(key), gq.get(key)))
    return out


def _derived(a: Methodology, b: Methodology) -> list[Change]:
    x, y, names = _named(a.derived, b.derived)
    out = _added_removed("derived", x, y, names, lambda d: show(d.expr))
    for n in names:
        if n in x and n in y:
            if not same(x[n].expr, y[n].expr):
                out.append(Change("derived", n, "formula", show(x[n].expr), show(y[n].expr)))
            if x[n].type != y[n].type:
                out.append(Change("derived", n, "type", str(x[n].type), str(y[n].type)))
            if x[n].periods != y[n].periods:
                out.append(
                    Change(
                        "derived",
                        n,
                        "periods",
                        _value(list(x[n].periods)) if x[n].periods else "all",
                        _value(list(y[n].periods)) if y[n].periods else "all",
                    )
                )
    return out


def _tolerance(c: Check) -> str:
    return f"absolute {_value(c.atol)}, relative {_value(c.rtol)}"


def _checks(a: Methodology, b: Methodology) -> list[Change]:
    x, y, names = _named(a.checks, b.checks)
    out = _added_removed("check", x, y, names, lambda c: show(c.expr))
    for n in names:
        if n in x and n in y:
            c, d = x[n], y[n]
            if not same(c.expr, d.expr):
                out.append(Change("check", n, "assert", show(c.expr), show(d.expr)))
            if (c.atol, c.rtol) != (d.atol, d.rtol):
                out.append(Change("check", n, "tolerance", _tolerance(c), _tolerance(d)))
            if c.severity != d.severity:
                out.append(Change("check", n, "severity", str(c.severity), str(d.severity)))
    return out


def _screening(a: Methodology, b: Methodology) -> list[Change]:
    x, y, names = _named(a.screening, b.screening)
    out = _added_removed("screening", x, y, names, lambda s: show(s.expr))
    for n in names:
        if n in x and n in y and not same(x[n].expr, y[n].expr):
            out.append(Change("screening", n, "rule", show(x[n].expr), show(y[n].expr)))
    return out


SECTIONS: tuple[Callable[[Methodology, Methodology], list[Change]], ...] = (
    _data,
    _availability,
    _inputs,
    _indicators,
    _groups,
    _index,
    _ranking,
    _classes,
    _derived,
    _checks,
    _screening,
)
