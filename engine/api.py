"""The Python API: the same verbs as the command line, returning polars DataFrames.

The pipeline, one step per module::

    load (yamlsource) -> schema check (schemacheck) -> model + semantic rules (build)
    -> plan (plan) -> polars query (compile, execute) -> result and report (report)

>>> from engine import api
>>> result = api.run("methodologies/kireeva.yaml", ["examples/kazakhstan/regions.csv"])
>>> result.frame.filter(pl.col("region") == "Almaty")["class"].to_list()
['B+', 'B++']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from engine import runner
from engine.diagnostics import Diagnostic, MethodologyError, Severity
from engine.format.build import build_methodology
from engine.format.model import Methodology
from engine.format.schemacheck import check_schema
from engine.format.yamlsource import load_yaml
from engine.io import read
from engine.plan import Plan, build_plan
from engine.report.summary import CheckResult
from engine.runner import Data, count_periods, read_data

# the orchestration lives in engine.runner; these names stay importable from here
_no_empty_inputs = runner.no_empty_inputs
__all__ = [
    "Data",
    "RunResult",
    "Validated",
    "count_periods",
    "execute",
    "load_methodology",
    "read_data",
    "run",
    "schema",
    "validate",
]

SCHEMA_PATH = Path(__file__).resolve().parent / "methodology.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of the methodology format (schema/methodology.schema.json)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Validated:
    methodology: Methodology
    plan: Plan
    warnings: tuple[Diagnostic, ...]


def validate(path: str | Path) -> Validated:
    """Check a methodology file completely, before any data is read.

    Raises :class:`MethodologyError` with every problem found.
    """
    doc = load_yaml(path)
    problems = check_schema(doc, schema())
    errors = [p for p in problems if p.severity == Severity.ERROR]
    if errors:
        raise MethodologyError(errors)
    methodology, warnings = build_methodology(doc)
    return Validated(methodology, build_plan(methodology), warnings)


def load_methodology(path: str | Path) -> Methodology:
    """The checked methodology of a YAML file."""
    return validate(path).methodology


@dataclass(frozen=True)
class RunResult:
    """What a run produced: one row per unit and period, and the report."""

    frame: pl.DataFrame
    checks: tuple[CheckResult, ...]
    warnings: tuple[Diagnostic, ...]
    methodology: Methodology
    #: the detail rows (long form) when asked for and the methodology has detail inputs
    detail: pl.DataFrame | None = None
    #: weight of every member in its group and its effective weight in the index, per period
    weights: pl.DataFrame | None = None
    #: every imputed or treated point (unit, period, indicator, before, after, action)
    adjustments: pl.DataFrame | None = None

    @property
    def failed_errors(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.check.severity == "error")


def execute(
    validated: Validated, data: Data | pl.DataFrame, *, keep_detail: bool = False
) -> RunResult:
    """Run a validated methodology on already-typed data."""
    if isinstance(data, pl.DataFrame):
        data = Data(data)
    done = runner.execute(validated.plan, data, keep_detail=keep_detail)
    return RunResult(
        done.frame,
        done.checks,
        data.warnings + validated.warnings + done.warnings,
        done.plan.methodology,
        done.detail,
        done.weights,
        done.adjustments,
    )


def run(
    methodology: str | Path | Validated,
    data: Sequence[str | Path],
    options: read.ReadOptions | None = None,
    *,
    keep_detail: bool = False,
) -> RunResult:
    """Validate `methodology`, read `data` and compute every output column.

    `keep_detail` also returns the detail rows (``RunResult.detail``).
    """
    validated = methodology if isinstance(methodology, Validated) else validate(methodology)
    return execute(
        validated, read_data(validated.methodology, data, options), keep_detail=keep_detail
    )
