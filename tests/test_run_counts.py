"""What a run works out once: the audit's counts and the plan's compiled steps.

A run counts its audit and check aggregates on the collected result
(:func:`engine.runner.compute`), not as a second branch of its query; the counts must be
those the query itself gives. Compiled steps and other facts about a plan are kept per
plan (:mod:`engine.backends.polars.memo`): asked again they are the same objects, and
they are dropped with the plan.
"""

from __future__ import annotations

import gc
from pathlib import Path

import polars as pl
import pytest

from engine import api, runner
from engine.backends.polars import memo
from engine.backends.polars.execute import audit_exprs, build_query
from engine.backends.polars.steps import step_columns
from engine.io.read.options import ReadOptions
from engine.report.summary import check_count_exprs

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    ("examples/coinr-asem/asem.yaml", ["examples/coinr-asem/asem.csv"]),
    ("methodologies/kireeva.yaml", ["examples/kazakhstan/regions.csv"]),
    ("examples/undp-gdi/gdi.yaml", ["examples/undp-gdi/input.csv"]),
]


@pytest.mark.parametrize(("methodology", "data"), CASES)
def test_counts_on_the_result_are_the_querys(methodology: str, data: list[str]) -> None:
    validated = api.validate(ROOT / methodology)
    typed = api.read_data(validated.methodology, [ROOT / d for d in data], ReadOptions())
    plan = validated.plan
    _, _, summary, _ = runner.compute(plan, typed, summaries=True)
    # the aggregates as a branch of the query, collected with it by the run's engine
    unit_lf, _ = build_query(
        plan,
        typed.units.lazy() if typed.units is not None else None,
        periods=runner.count_periods(plan.methodology, typed),
        integer_keys=runner.integer_keys(plan.methodology, typed),
    )
    exprs = audit_exprs(plan, unit_lf.collect_schema(), False) + check_count_exprs(plan)
    period = plan.methodology.layout.period
    if period:
        exprs.append(pl.col(period).unique(maintain_order=True).implode().alias("periods"))
    _, branch = pl.collect_all([unit_lf, unit_lf.select(exprs)], engine="streaming")
    expected = branch.row(0, named=True)
    assert summary.keys() == expected.keys()
    for name, value in expected.items():
        got = summary[name]
        if isinstance(value, pl.Series):
            assert isinstance(got, pl.Series) and got.to_list() == value.to_list(), name
        else:
            assert got == value, name


def test_steps_compile_once_per_plan_and_go_with_it() -> None:
    validated = api.validate(ROOT / "methodologies" / "kireeva.yaml")
    plan = validated.plan
    step = plan.stages[1][0]
    first = step_columns(plan, step, True)
    assert step_columns(plan, step, True) is first
    assert step_columns(plan, step, False) is not first  # another context, compiled anew
    other = api.validate(ROOT / "methodologies" / "kireeva.yaml").plan
    assert step_columns(other, other.stages[1][0], True) is not first  # per plan object
    known = len(memo._MEMOS)
    del validated, plan, other
    gc.collect()
    assert len(memo._MEMOS) < known
