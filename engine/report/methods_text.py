"""The methods section of a paper, in Markdown, written from a checked methodology.

Everything is read from the model (:class:`engine.format.model.Methodology`), never from
the YAML text, so the text says what the engine computes: formulas are printed by
:func:`engine.formula.render.show`, normalisations, weights and bands by the same
describers the semantic diff uses. A methodology that extends a base (``extends:``)
names the base and lists what it changes, from :func:`engine.analysis.diff.diff`.

>>> from engine import api
>>> text = render_methods(api.load_methodology("methodologies/kireeva-minmax.yaml"))
>>> "It extends *Innovation development index" in text
True
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.analysis.describe import describe_band, describe_normalisation, describe_weights
from engine.analysis.diff import diff, render_changes
from engine.format.model import Methodology
from engine.formula.render import show

__all__ = ["render_methods"]


def render_methods(m: Methodology, base: Methodology | None = None) -> str:
    """Markdown methods text of `m`; `base` is its nearest base, loaded if not given."""
    if base is None and m.meta.bases:
        from engine import api

        base = api.load_methodology(m.meta.bases[0].file)
    parts = [_heading(m), _base(m, base), _description(m), _data(m), _indicators(m)]
    parts += [_aggregation(m), _classes(m), _outputs(m), _references(m)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _md(text: object) -> str:
    """Text for a Markdown table cell or line: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_md(text).replace('`', '')}`"


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _heading(m: Methodology) -> str:
    meta = m.meta
    line = f"`{meta.id}`" + (f", version {_md(meta.version)}" if meta.version else "")
    if meta.authors:
        line += ". " + "; ".join(_md(a) for a in meta.authors)
    return f"# {_md(meta.title)}\n\n{line}."


def _base(m: Methodology, base: Methodology | None) -> str:
    if not m.meta.bases:
        return ""
    nearest = m.meta.bases[0]
    text = (
        f"It extends *{_md(nearest.title)}* ({_code(nearest.id)}"
        + (f", version {_md(nearest.version)}" if nearest.version else "")
        + f", `{nearest.file}`)"
    )
    further = m.meta.bases[1:]
    if further:
        text += ", which extends " + ", which extends ".join(
            f"*{_md(b.title)}* ({_code(b.id)})" for b in further
        )
    if base is None:
        return text + "."
    changes = render_changes(diff(base, m))
    if not changes:
        return text + ", with the same meaning (labels and descriptions aside)."
    return (
        text + ", and differs from it as follows:\n\n" + "\n".join(f"- {_md(c)}" for c in changes)
    )


def _description(m: Methodology) -> str:
    return _md(m.meta.description) if m.meta.description else ""


def _data(m: Methodology) -> str:
    layout = m.layout
    keys = f"one row per {_code(layout.unit)}" + (
        f" and {_code(layout.period)}" if layout.period else ""
    )
    rows = [
        (i.name, i.label or "", i.unit or "", "optional" if i.optional else "") for i in m.inputs
    ]
    return f"## Data\n\nThe data have {keys}. Inputs:\n\n" + _table(
        ["input", "label", "unit", ""], rows
    )


def _indicators(m: Methodology) -> str:
    rows = [
        (
            i.name,
            i.label or "",
            _code(show(i.expr)),
            str(i.direction),
            describe_normalisation(i.normalisation),
        )
        for i in m.indicators
    ]
    text = "## Indicators\n\n" + _table(
        ["indicator", "label", "formula", "better", "normalisation"], rows
    )
    scopes = {i.normalisation.scope for i in m.indicators}
    if m.layout.period and scopes == {"period"}:
        text += (
            f"\n\nNormalisation statistics are taken within each {_code(m.layout.period)} "
            "(over the units of the same period)."
        )
    return text


def _aggregation(m: Methodology) -> str:
    lines = []
    for g in m.groups:
        how = f"weighting {g.weighting}" if g.weighting else f"weights {describe_weights(g)}"
        label = f" ({_md(g.label)})" if g.label else ""
        lines.append(
            f"- **{g.name}**{label}: {g.aggregation} aggregation of "
            f"{', '.join(g.members)}; {_md(how)}."
        )
    if m.index is not None:
        ix = m.index
        what = f"the group {_code(ix.group)}" if ix.group else _code(show(ix.expr))
        rounding = (
            f", rounded to {ix.rounding.digits} decimals ({ix.rounding.mode})"
            if ix.rounding
            else ""
        )
        order = "descending" if m.ranking.descending else "ascending"
        lines.append(
            f"- **Index**: {what}{rounding}; ranked {order}, ties {_code(m.ranking.ties)}."
        )
    return "## Aggregation\n\n" + "\n".join(lines) if lines else ""


def _classes(m: Methodology) -> str:
    c = m.classes
    if c is None:
        return ""
    if c.quantiles:
        return (
            "## Classes\n\nQuantile classes of the index within each period, from the top: "
            + ", ".join(_code(q) for q in c.quantiles)
            + "."
        )
    groups = dict(c.groups)
    rows = [
        (b.label, describe_band(b, c).split(" group ")[0], groups.get(b.group or "", ""))
        for b in c.bands
    ]
    return "## Classes\n\n" + _table(["class", "index", "class group"], rows)


def _outputs(m: Methodology) -> str:
    items = [f"- derived {_code(d.name)}: {_code(show(d.expr))}" for d in m.derived]
    items += [f"- check {_code(c.name)} ({c.severity}): {_code(show(c.expr))}" for c in m.checks]
    items += [f"- screening {_code(s.name)}: {_code(show(s.expr))}" for s in m.screening]
    return "## Further outputs and checks\n\n" + "\n".join(items) if items else ""


def _references(m: Methodology) -> str:
    refs = []
    for r in m.meta.references:
        link = f" https://doi.org/{r.doi}" if r.doi else (f" {r.url}" if r.url else "")
        note = f" — {_md(r.note)}" if r.note else ""
        refs.append(f"- {_md(r.cite)}{link}{note}")
    return "## References\n\n" + "\n".join(refs) if refs else ""
