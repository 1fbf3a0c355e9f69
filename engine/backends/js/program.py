"""A plan printed as one JavaScript function: the steps of a methodology, then ranks,
classes and screening rules, for a page that recomputes them in the browser.

The function is ``function (C, n, P, R)``: ``C`` maps column names to arrays of ``n``
values (``null`` where missing), in rows sorted by unit and period; ``P`` holds the
parameters (weights, choices) the steps read by name; ``R`` is the runtime
(``runtime.js``). It writes each computed column into ``C``, in plan order, exactly as
the polars query adds them (:mod:`engine.backends.polars.execute`): the unit-level
stages, the class bands on the index, then the screening rules. Steps on detail rows
are refused (the page works on one row per unit and period).

>>> from engine import api
>>> program = print_program(api.validate("methodologies/kireeva.yaml").plan)
>>> program.writes[:3]
('SD', 'SF', 'SE')
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources

import sympy

from engine.backends.js.printer import (
    JsContext,
    JsPrinter,
    JsPrintError,
    js,
    number,
    print_step,
)
from engine.format.model import ClassScheme
from engine.plan import Phase, Plan, Step, StepKind


@dataclass(frozen=True)
class Program:
    """The printed function and what it reads and writes."""

    source: str
    #: data columns the function reads (never written by it)
    reads: tuple[str, ...]
    #: columns it computes, in order
    writes: tuple[str, ...]


def runtime() -> str:
    """The JavaScript runtime the printed functions call (``R``)."""
    return resources.files("engine.backends.js").joinpath("runtime.js").read_text("utf-8")


def _context(
    plan: Plan,
    step: Step,
    parameters: frozenset[str],
    single_group: bool,
    uniform: frozenset[str] = frozenset(),
) -> JsContext:
    m = plan.methodology
    atol = rtol = 0.0
    if step.kind == StepKind.CHECK:
        check = next(c for c in m.checks if c.name == step.name)
        atol, rtol = check.atol, check.rtol
    labels = m.classes.labels if m.classes else ()
    return JsContext(
        m.layout.unit,
        m.layout.period,
        m.layout.keys,
        parameters,
        atol,
        rtol,
        labels,
        single_group,
        uniform,
    )


def uniform_columns(plan: Plan, parameters: frozenset[str], single_group: bool) -> frozenset[str]:
    """The columns of `plan` that polars holds as one value for all rows (see
    :meth:`JsPrinter.uniform`): a step restricted to some periods never is."""
    out: set[str] = set()
    for step in unit_steps(plan, checks=True):
        ctx = _context(plan, step, parameters, single_group, frozenset(out))
        if not step.periods and JsPrinter(ctx).uniform(step.expr):
            out.add(step.column)
    return frozenset(out)


def _what(step: Step) -> str:
    kind = {StepKind.GROUP: "group", StepKind.NORMALISED: "normalisation of"}.get(step.kind, "")
    formula = f" ({step.formula})" if step.formula else ""
    return f"{kind} '{step.name}'{formula}".strip()


def classes_source(scheme: ClassScheme, period: str | None) -> list[str]:
    """Statements writing ``class`` (and ``class_group``) from the index (or the value
    the classes are cut on), as :func:`engine.backends.polars.execute.classify` does."""
    value = f"C[{js(scheme.column)}]"
    if scheme.quantiles:
        keys = [period] if period else []
        return [
            f'C["class"] = R.classifyQuantiles({value}, G({js(keys)}), '
            f"{js(list(scheme.quantiles))});"
        ]
    tol = scheme.tolerance
    ascending = list(reversed(scheme.bands))
    if scheme.closed == "lower":
        breaks = [b.lower - tol for b in ascending[1:]]
    else:
        breaks = [b.upper + tol for b in ascending[:-1]]
    lo, hi = ascending[0].lower - tol, ascending[-1].upper + tol
    args = (
        f"{number(lo)}, {number(hi)}, [{', '.join(number(b) for b in breaks)}], {js(scheme.closed)}"
    )
    out = [
        f'C["class"] = R.col(n, (i) => R.classify({value}[i], {args}, '
        f"{js([b.label for b in ascending])}));"
    ]
    if scheme.groups:
        names = dict(scheme.groups)
        groups = [names.get(b.group) if b.group else None for b in ascending]
        out.append(
            f'C["class_group"] = R.col(n, (i) => R.classify({value}[i], {args}, {js(groups)}));'
        )
    return out


def unit_steps(plan: Plan, *, checks: bool = False) -> list[Step]:
    """The unit-level steps of `plan` in order (the checks only if asked)."""
    steps = [s for stage in plan.stages for s in stage if s.phase != Phase.DETAIL]
    return [s for s in steps if checks or s.kind != StepKind.CHECK]


def reads(expr: sympy.Basic) -> set[str]:
    """Every name `expr` reads: columns, parameters (Copeland's weights too) and keys."""
    return {s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol)}


def downstream(plan: Plan, names: Collection[str], *, checks: bool = False) -> list[Step]:
    """The unit-level steps that read any of `names`, directly or through other steps."""
    changed = set(names)
    out = []
    for s in unit_steps(plan, checks=checks):
        if reads(s.expr) & changed:
            changed.add(s.column)
            out.append(s)
    if any(
        s.phase == Phase.DETAIL for stage in plan.detail for s in stage if reads(s.expr) & changed
    ):
        raise JsPrintError("a step on detail rows depends on the page's parameters")
    return out


def print_program(
    plan: Plan,
    steps: Sequence[Step] | None = None,
    *,
    parameters: Collection[str] = (),
    periods: int = 1,
    classes: bool = True,
    screening: bool = True,
) -> Program:
    """`steps` (default: every unit-level step but the checks) as one function, followed
    by the classes (when the plan has them and `classes`) and the screening rules.

    `periods` is the number of periods in the data the function will run on: polars
    divides by constants differently with one period and with several (see
    :meth:`JsPrinter._divide`), and the page must divide as the engine did.
    """
    chosen = list(steps) if steps is not None else unit_steps(plan)
    if any(s.phase == Phase.DETAIL for s in chosen):
        raise JsPrintError(
            "steps on detail rows (long-form inputs) cannot be printed: "
            "the page works on one row per unit and period"
        )
    params = frozenset(parameters)
    single = periods <= 1
    uniform = uniform_columns(plan, params, single)
    m = plan.methodology
    blocks: list[str] = []
    reads: set[str] = set()
    writes: list[str] = []
    for k, step in enumerate(chosen):
        try:
            block, used = print_step(
                step.column,
                step.expr,
                _context(plan, step, params, single, uniform),
                periods=step.periods,
                prefix=f"s{k}_",
            )
        except JsPrintError as err:
            raise JsPrintError(f"cannot print {_what(step)} as JavaScript: {err}") from None
        blocks.append(f"// {step.column}\n{block}")
        reads |= used - set(writes)
        writes.append(step.column)
    if classes and plan.classes is not None and m.index is not None:
        blocks += classes_source(plan.classes, m.layout.period)
        if plan.classes.quantiles and m.layout.period:
            reads.add(m.layout.period)
        reads |= {plan.classes.column} - set(writes)
        writes += ["class"] + (
            ["class_group"] if plan.classes.groups and not plan.classes.quantiles else []
        )
    if screening:
        for k, step in enumerate(plan.screening):
            block, used = print_step(
                step.column,
                step.expr,
                _context(plan, step, params, single, uniform),
                prefix=f"r{k}_",
            )
            blocks.append(f"// {step.column}\n{block}")
            reads |= used - set(writes)
            writes.append(step.column)
    prelude = (
        "const G = (() => { const cache = new Map(); return (keys) => { "
        "const k = JSON.stringify(keys); "
        "if (!cache.has(k)) cache.set(k, R.groupsOf(C, n, keys)); return cache.get(k); }; })();"
    )
    source = "function (C, n, P, R) {\n" + "\n".join([prelude, *blocks]) + "\n}"
    return Program(source, tuple(sorted(reads - params)), tuple(writes))
