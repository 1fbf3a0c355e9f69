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

from engine import read
from engine.build import build_methodology
from engine.diagnostics import Diagnostic, MethodologyError, Severity
from engine.execute import audit, build_query
from engine.model import Methodology
from engine.plan import Plan, build_plan
from engine.report import CheckResult, evaluate_checks, missing_index_warnings
from engine.schemacheck import check_schema
from engine.yamlsource import load_yaml

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

    @property
    def failed_errors(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.check.severity == "error")


def read_data(m: Methodology, paths: Sequence[str | Path], options: read.ReadOptions | None = None
              ) -> read.Loaded:
    """Read and type the data a methodology needs (every problem reported at once)."""
    opts = options or read.ReadOptions()
    if m.layout.missing is not None:
        opts = read.ReadOptions(**{**opts.__dict__, "missing": tuple(m.layout.missing)})
    return read.load_data(paths, keys=m.layout.keys, numeric=[i.name for i in m.inputs],
                          text=m.layout.labels, options=opts)


def execute(validated: Validated, data: pl.DataFrame | pl.LazyFrame) -> RunResult:
    """Run a validated methodology on an already-typed frame."""
    plan = validated.plan
    frame = build_query(plan, data.lazy()).collect()
    audit(plan, frame)
    checks = evaluate_checks(plan, frame)
    warnings = validated.warnings + missing_index_warnings(plan, frame)
    return RunResult(frame.select(plan.output), checks, warnings, validated.methodology)


def run(methodology: str | Path | Validated, data: Sequence[str | Path],
        options: read.ReadOptions | None = None) -> RunResult:
    """Validate `methodology`, read `data` and compute every output column."""
    validated = methodology if isinstance(methodology, Validated) else validate(methodology)
    loaded = read_data(validated.methodology, data, options)
    result = execute(validated, loaded.frame)
    return RunResult(result.frame, result.checks, tuple(loaded.warnings) + result.warnings,
                     result.methodology)
