"""The plan's shortcuts change no plan: renaming by cloning (engine.formula.renaming),
treatment templates built once per parameters (engine.methods.winsorise) and
normalisation templates built once per context (engine.format.build_normalisation)
give, for every methodology of the repository, the plan that building every node
through its constructor gives: the same steps, expressions (classes, argument order,
is_commutative), phases and stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sympy

from engine.diagnostics import MethodologyError
from engine.format import build_normalisation
from engine.formula import renaming
from engine.methods import winsorise
from engine.plan.model import Plan, Step
from engine.validation import validate

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p
    for folder in ("methodologies", "examples", "tests/data")
    for p in (ROOT / folder).glob("**/*.yaml")
)


def deep(e: Any) -> Any:
    """An expression as plain data: classes, arguments in order, is_commutative."""
    if not isinstance(e, sympy.Basic):
        return repr(e)
    if not e.args:
        return sympy.srepr(e)
    return (type(e).__name__, e.is_commutative, tuple(deep(a) for a in e.args))


def step(s: Step) -> Any:
    return (
        s.column,
        deep(s.expr),
        s.kind,
        s.name,
        s.formula,
        s.periods,
        s.phase,
        s.grain,
        deep(s.requires),
        s.requirement,
    )


def layout(plan: Plan) -> Any:
    parts = (plan.first, plan.detail, plan.after)
    return (
        [[[step(s) for s in stage] for stage in part] for part in parts],
        [step(s) for s in plan.screening],
        plan.collapse,
        plan.output,
        plan.detail_output,
        {c: step(s) for c, s in plan.steps.items()},
    )


def plans() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in FILES:
        try:
            out[str(path.relative_to(ROOT))] = layout(validate(path).plan)
        except MethodologyError as err:
            out[str(path.relative_to(ROOT))] = [d.render() for d in err.diagnostics]
    return out


def test_the_shortcuts_change_no_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = plans()
    assert sum(isinstance(v, tuple) for v in fast.values()) >= 20  # plans, not only errors
    with monkeypatch.context() as patch:
        patch.setattr(renaming, "_cloneable", lambda: frozenset())
        patch.setattr(renaming, "_PROGRAMS", {})  # none compiled with clones
        patch.setattr(winsorise, "_template", _no_template)
        patch.setattr(build_normalisation, "_BUILT", _NeverKept())
        constructed = plans()
    assert fast.keys() == constructed.keys()
    for name in fast:
        assert fast[name] == constructed[name], name


def _no_template(keys: Any, params: Any) -> Any:
    raise TypeError("build every treatment directly")


class _NeverKept(dict[Any, Any]):
    """A cache that forgets at once: every normalisation template is built anew."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass
