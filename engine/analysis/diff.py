"""The semantic diff of two methodologies: what differs in meaning, shown as formulas.

Two methodologies are compared section by section on the checked model
(:class:`engine.format.model.Methodology`), never on the YAML text, so comments, key order,
whitespace and redundant parentheses are not differences. Every formula is compared
structurally on its sympy expression after a light canonical form (:func:`canonical`):
sums and products are flattened and their terms sorted, ``a / b / 2`` equals
``a / (b * 2)``, ``a >= b`` equals ``b <= a`` and ``2.0`` equals ``2``; nothing else is
simplified (``exp(log(x))`` stays as written, since its domain differs from ``x``). What
differs is shown with :func:`engine.formula.render.show`, in the formula language.

Group weights are compared as normalised weights ``w / sum(w)``: ``{a: 2, b: 2}`` and
``{a: 1, b: 1}`` are the same weighting. Methods (normalisation, imputation, treatment,
aggregation) are described by their declarations (:func:`engine.methods.catalogue.describe`):
the method with its parameters as written, ``min_max(range=[1, 100])``.

>>> from engine import api
>>> a = api.load_methodology("methodologies/kireeva.yaml")
>>> diff(a, a)
[]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import sympy

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
from engine.formula import ir
from engine.formula.fold import fold_risky_constants
from engine.formula.render import show
from engine.methods import catalogue
from engine.methods.registry import Stage, literal

__all__ = ["Change", "canonical", "diff", "relation", "render", "render_changes"]


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


# --------------------------------------------------------------------------- canonical form


def canonical(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with sums, products and powers evaluated (flattened, terms sorted).

    Only ``Add``, ``Mul`` and ``Pow`` are rebuilt with evaluation; functions, statistics
    and conditions keep their structure. Constant parts are first worked out as floats
    where exact evaluation could not be bounded
    (:func:`engine.formula.fold.fold_risky_constants`), and only whole powers up to
    ``SMALL_EXPONENT`` are worked out, so sympy never evaluates a huge exact number;
    whole-number floats become integers.

    >>> a, b = sympy.symbols("a b")
    >>> canonical(sympy.Add(b, a, evaluate=False)) == canonical(sympy.Add(a, b, evaluate=False))
    True
    """
    return _canonical(fold_risky_constants(expr))


#: the largest whole exponent a canonical form works out (x ** 3 ** 2 is x ** 9)
SMALL_EXPONENT = 64


def _canonical(expr: sympy.Basic) -> sympy.Basic:
    if isinstance(expr, sympy.Float) and float(expr).is_integer():
        return sympy.Integer(int(expr))
    if not expr.args or isinstance(expr, (sympy.Symbol, sympy.Number)):
        return expr
    args = [_canonical(a) if isinstance(a, sympy.Basic) else a for a in expr.args]
    if isinstance(expr, (sympy.Add, sympy.Mul, sympy.Pow)):
        if not expr.free_symbols:  # a constant that has no float value: left as written
            return ir.rebuild(expr, args)
        if isinstance(expr, sympy.Pow) and not (
            isinstance(args[1], sympy.Integer) and abs(args[1]) <= SMALL_EXPONENT
        ):
            return ir.rebuild(expr, args)  # (x / 3) ** 1e300 would take forever exactly
        return expr.func(*args)
    if isinstance(expr, (sympy.GreaterThan, sympy.StrictGreaterThan)):  # a >= b is b <= a
        flipped = sympy.LessThan if isinstance(expr, sympy.GreaterThan) else sympy.StrictLessThan
        return flipped(args[1], args[0], evaluate=False)
    return ir.rebuild(expr, args)


def same(a: sympy.Basic | None, b: sympy.Basic | None) -> bool:
    """Structural equality of two expressions in canonical form."""
    if a is None or b is None:
        return a is b
    return bool(a == b or canonical(a) == canonical(b))


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


# --------------------------------------------------------------------------- the diff


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


_SECTIONS = (
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


def diff(a: Methodology, b: Methodology) -> list[Change]:
    """Every difference in meaning from `a` to `b`, section by section.

    Sections, in this order: data layout, availability screening, inputs, indicators
    (formula, direction),
    normalisation (method with its parameters, and its formula in ``x``), imputation and
    treatment (method with its parameters), groups
    (members, normalised weights, aggregation), index (formula or group, rounding),
    ranking (order, ties, ranks within groups), classes (the value cut, bands, closed
    side, tolerance, class groups), derived outputs (formula, type, periods), checks,
    screening rules. Labels, descriptions and metadata are not compared.
    """
    return [change for section in _SECTIONS for change in section(a, b)]


def render(change: Change) -> str:
    """One line, e.g. ``indicator SD: formula grp*1000/employed → grp/employed``."""
    head = f"{change.section} {change.name}".rstrip() + ":"
    if change.what == "added":
        return f"{head} added" + (f" ({change.after})" if change.after else "")
    if change.what == "removed":
        return f"{head} removed" + (f" (was {change.before})" if change.before else "")
    return (
        f"{head} {change.what} {change.before if change.before is not None else 'none'} → "
        f"{change.after if change.after is not None else 'none'}"
    )


#: sections whose default applies to every indicator (one change may repeat per indicator)
_PER_INDICATOR = ("normalisation", "imputation", "treatment")


def render_changes(changes: Sequence[Change]) -> list[str]:
    """The changes as lines; the same change of several indicators is one line.

    A changed default normalisation (imputation, treatment) changes every indicator in
    the same way; it is shown once, with the indicators' names joined:
    ``normalisation SD, SE, SF: ...``.
    """
    rows: list[tuple[Change, list[str]]] = []
    seen: dict[tuple[str, str, str | None, str | None], int] = {}
    for change in changes:
        key = (change.section, change.what, change.before, change.after)
        if change.section in _PER_INDICATOR and key in seen:
            rows[seen[key]][1].append(change.name)
            continue
        if change.section in _PER_INDICATOR:
            seen[key] = len(rows)
        rows.append((change, [change.name]))
    return [
        render(Change(c.section, ", ".join(names), c.what, c.before, c.after)) for c, names in rows
    ]


def relation(a: Methodology, b: Methodology) -> str | None:
    """How `a` and `b` are linked by ``extends``, in words, or None.

    >>> from engine import api
    >>> relation(api.load_methodology("methodologies/kireeva.yaml"),
    ...          api.load_methodology("methodologies/kireeva-minmax.yaml"))
    'the second extends the first'
    """

    def chain(m: Methodology) -> list[str]:
        return [_resolved(x.file) for x in m.meta.bases]

    def through(m: Methodology, files: list[str], target: str) -> str:
        hops = m.meta.bases[: files.index(target)]
        return "" if not hops else " (through " + ", ".join(h.id for h in hops) + ")"

    fa, fb = _resolved(a.path), _resolved(b.path)
    if fa and fa in chain(b):
        return "the second extends the first" + through(b, chain(b), fa)
    if fb and fb in chain(a):
        return "the first extends the second" + through(a, chain(a), fb)
    shared = [f for f in chain(a) if f in chain(b)]
    if shared:
        base = next(x for x in a.meta.bases if _resolved(x.file) == shared[0])
        return f"both extend {base.id} ({base.file})"
    return None


def _resolved(file: str | None) -> str:
    from pathlib import Path

    return str(Path(file).resolve()) if file else ""
