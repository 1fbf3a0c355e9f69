"""What a run works out from its plan once, however often it is asked.

The query, the audit's counts, the audit itself and the plan cache's record of a run
each ask for the same facts about a plan's steps (which columns a step's marker can be
counted from, a step's compiled columns). They are kept per plan object, for as long as
the plan lives: :func:`plan_memo` hands out one dictionary per plan and name, dropped
when the plan is.
"""

from __future__ import annotations

import weakref
from typing import Any

from engine.plan import Plan

__all__ = ["plan_memo"]

#: id(plan) -> (the plan, name -> its dictionary)
_MEMOS: dict[int, tuple[weakref.ref[Plan], dict[str, dict[Any, Any]]]] = {}


def plan_memo(plan: Plan, name: str) -> dict[Any, Any]:
    """The dictionary `name` kept for `plan` (empty the first time).

    >>> from engine.plan import build_plan
    >>> from engine.validation import load_methodology
    >>> plan = build_plan(load_methodology("methodologies/kireeva.yaml"))
    >>> plan_memo(plan, "x") is plan_memo(plan, "x")
    True
    """
    key = id(plan)
    entry = _MEMOS.get(key)
    if entry is None or entry[0]() is not plan:

        def forget(_: weakref.ref[Plan], k: int = key) -> None:
            _MEMOS.pop(k, None)

        entry = (weakref.ref(plan, forget), {})
        _MEMOS[key] = entry
    return entry[1].setdefault(name, {})
