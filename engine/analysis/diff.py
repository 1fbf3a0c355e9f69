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

This module is the diff as a whole and its text (:func:`render_changes`, and how two
methodologies are linked by ``extends``: :func:`relation`); the comparison of each
section is in :mod:`engine.analysis.diff_sections`, the canonical form in
:mod:`engine.analysis.canonical`.

>>> from engine import api
>>> a = api.load_methodology("methodologies/kireeva.yaml")
>>> diff(a, a)
[]
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.analysis.canonical import canonical
from engine.analysis.diff_sections import SECTIONS, Change
from engine.format.model import Methodology

__all__ = ["Change", "canonical", "diff", "relation", "render", "render_changes"]


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
    return [change for section in SECTIONS for change in section(a, b)]


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
