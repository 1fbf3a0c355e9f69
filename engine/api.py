"""The Python API: the same verbs as the command line, with results made for notebooks.

The pipeline, one step per module::

    load (yamlsource) -> schema check (schemacheck) -> model + semantic rules (build)
    -> plan (plan) -> polars query (compile, execute) -> result and report (report)

Every verb takes a methodology as a path, YAML text, a dict or a loaded object, and data
as one or several paths or in-memory tables (polars, pandas, Arrow); see
:mod:`engine.inputs`. Bad arguments raise the same errors, with the same messages, as
the command line: :class:`~engine.diagnostics.MethodologyError`,
:class:`~engine.diagnostics.DataError`, :class:`~engine.diagnostics.UsageError`.
Results have a short ``repr``, render as HTML in Jupyter, and offer ``to_polars()``,
``to_pandas()`` and ``write(path)`` (an ``.xlsx`` path gets one workbook with every table).

This module holds the verbs; validation is :mod:`engine.validation`, the result objects
:mod:`engine.api_results`, the orchestration of a run :mod:`engine.runner`; their names
are importable from here.

>>> from engine import api
>>> result = api.run("methodologies/kireeva.yaml", "examples/kazakhstan/regions.csv")
>>> result
RunResult('kireeva-innovation': 32 rows, 2 periods, 6 checks (5 fail), 1 warning)
>>> result.to_polars().filter(pl.col("region") == "Almaty")["class"].to_list()
['B+', 'B++']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine import runner
from engine.api_results import ExplainResult, RunResult, SensitivityResult
from engine.diagnostics import Code, Diagnostic, MethodologyError, UsageError
from engine.inputs import DataLike, checked_options, data_sources
from engine.io import read
from engine.io.read import InMemory
from engine.runner import Data, count_periods, read_data
from engine.validation import MethodologyLike, Validated, load_methodology, schema, validate

# the orchestration lives in engine.runner; these names stay importable from here
_no_empty_inputs = runner.no_empty_inputs

if TYPE_CHECKING:
    from engine.analysis.compare import Comparison

__all__ = [  # and ComparisonResult, imported on first use (module __getattr__)
    "Data",
    "ExplainResult",
    "MethodologyLike",
    "RunResult",
    "SensitivityResult",
    "Validated",
    "compare",
    "count_periods",
    "execute",
    "explain",
    "load_methodology",
    "read_data",
    "run",
    "schema",
    "sensitivity",
    "validate",
]


def execute(
    validated: Validated,
    data: Data | pl.DataFrame,
    *,
    keep_detail: bool = False,
    files: Sequence[str | Path] = (),
) -> RunResult:
    """Run a validated methodology on already-typed data (read from `files`, which the
    result's ``write`` then never overwrites, nor the methodology's own file)."""
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
        _source_files(validated, files),
        availability=done.availability,
    )


def _paths(sources: Sequence[str | Path | InMemory]) -> list[str | Path]:
    """The data files among `sources` (not the in-memory tables)."""
    return [s for s in sources if not isinstance(s, InMemory)]


def _source_files(validated: Validated, files: Sequence[str | Path]) -> tuple[Path, ...]:
    """The methodology's own file, if it has one, and the data files."""
    paths = [validated.source, *files]
    return tuple(Path(p) for p in paths if p is not None)


def run(
    methodology: MethodologyLike,
    data: DataLike,
    options: read.ReadOptions | None = None,
    *,
    keep_detail: bool = False,
    engine: str | None = None,
    engine_options: Any = None,
) -> RunResult:
    """Validate `methodology`, read `data` and compute every output column.

    `data` is a path or a list of paths, or in-memory tables (see :mod:`engine.inputs`);
    `keep_detail` also returns the detail rows (``RunResult.detail``). `engine` is
    ``"polars"`` (the default), ``"duckdb"`` or ``"spark"`` (see :mod:`engine.engines`);
    a DuckDB relation or a Spark DataFrame as `data` runs on its own engine, and
    `engine_options` (:class:`engine.backends.sql.engines.EngineOptions`) sets memory,
    spill directory, threads or the Spark master.

    >>> run("methodologies/kireeva.yaml", "examples/kazakhstan/regions.csv").frame.height
    32
    """
    from engine.engines import Engine, engine_of, run_on

    options = checked_options(options, "run")
    validated = validate(methodology)
    chosen = engine_of(data, engine)
    if chosen != Engine.POLARS:
        done = run_on(
            chosen,
            validated.plan,
            data,
            options,
            keep_detail=keep_detail,
            engine_options=engine_options,
        )
        c = done.computed
        return RunResult(
            c.frame,
            c.checks,
            done.data_warnings + validated.warnings + c.warnings,
            c.plan.methodology,
            c.detail,
            c.weights,
            c.adjustments,
        )
    sources = data_sources(data)
    typed = read_data(validated.methodology, sources, options)
    return execute(validated, typed, keep_detail=keep_detail, files=_paths(sources))


#: the result of :func:`compare` (defined with the comparison itself)
def __getattr__(name: str) -> Any:
    if name == "ComparisonResult":
        from engine.analysis.compare import Comparison

        return Comparison
    if name == "diagnose":  # indexlab diagnose's tables as polars frames (a Diagnosis)
        from engine.analysis.diagnose import diagnose

        return diagnose
    if name == "write_report":  # indexlab report: the self-contained HTML page
        from engine.report.html.page import write_report

        return write_report
    raise AttributeError(f"module 'engine.api' has no attribute {name!r}")


def compare(
    methodologies: Sequence[MethodologyLike],
    data: DataLike,
    options: read.ReadOptions | None = None,
) -> Comparison:
    """Run every methodology on `data` and compare them with the first (the reference):
    scores, ranks and classes side by side, shifts, transitions, agreement and the diff.

    >>> c = compare(["methodologies/kireeva.yaml", "methodologies/kireeva-minmax.yaml"],
    ...             "examples/kazakhstan/regions.csv")
    >>> c.ids
    ('kireeva-innovation', 'kireeva-minmax')
    """
    from engine.analysis.compare import compare as compare_methodologies

    if isinstance(methodologies, (str, Path, Mapping)):
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    "compare needs a list of methodologies, not one",
                    expected="[reference, other, ...]",
                )
            ]
        )
    options = checked_options(options, "compare")
    validated = _validate_all(methodologies)
    return compare_methodologies(validated, data_sources(data), options)


def _validate_all(methodologies: Sequence[MethodologyLike]) -> list[Validated]:
    """Every methodology validated; every invalid one reported at once."""
    out: list[Validated] = []
    errors: list[Diagnostic] = []
    for m in methodologies:
        try:
            out.append(validate(m))
        except MethodologyError as err:
            errors += err.diagnostics
    if errors:
        raise MethodologyError(errors)
    return out


def sensitivity(
    methodology: MethodologyLike,
    data: DataLike,
    *,
    replications: int | None = None,
    seed: int | None = None,
    sobol: bool = True,
    options: read.ReadOptions | None = None,
    progress: Any = None,
) -> SensitivityResult:
    """Monte Carlo over the methodology's ``uncertainty`` design (N replications, or
    N (d + 2) with Sobol indices), and analytic derivatives and tipping points.
    `replications` and `seed` override the design's, within the same bounds.

    `progress(done, total)` is called as replications finish.
    """
    from engine.analysis import derivatives
    from engine.analysis import sensitivity as sa

    _check_overrides(replications=replications, seed=seed)
    options = checked_options(options, "sensitivity")
    validated = validate(methodology)
    sources = data_sources(data)
    typed = read_data(validated.methodology, sources, options)
    nominal = execute(validated, typed, files=_paths(sources))
    if typed.units is None:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    "sensitivity analysis needs one row per unit and period",
                    expected="a methodology without detail-grain inputs",
                )
            ]
        )
    units = typed.units
    if validated.methodology.availability is not None:  # the units the nominal run kept
        keys = list(validated.methodology.layout.keys)
        kept = nominal.frame.select(keys)
        units = units.join(kept, on=keys, how="semi", maintain_order="left")
    analysis = sa.analyse(
        validated.methodology,
        units,
        nominal.frame,
        replications=replications,
        seed=seed,
        sobol=sobol,
        progress=progress,
    )
    analytic = derivatives.analyse(validated.methodology, nominal.frame)
    return SensitivityResult(analysis, analytic, nominal)


def _check_overrides(**overrides: object) -> None:
    """Values that override the uncertainty design keep the design's bounds (the schema's
    ``uncertainty.<name>``): a whole number within its minimum and maximum."""
    design = schema()["properties"]["uncertainty"]["properties"]
    problems = []
    for name, value in overrides.items():
        if value is None:
            continue
        rule = design[name]
        low, high = rule.get("minimum"), rule.get("maximum")
        if isinstance(value, bool) or not isinstance(value, int):
            wrong = f"must be a whole number, not {value!r}"
        elif low is not None and value < low:
            wrong = f"must be at least {low}, not {value}"
        elif high is not None and value > high:
            wrong = f"must be at most {high}, not {value}"
        else:
            continue
        problems.append(Diagnostic(Code.USAGE, f"{name} {wrong}", expected=rule["description"]))
    if problems:
        raise UsageError(problems)


def explain(
    methodology: MethodologyLike,
    data: DataLike,
    unit: str,
    period: object = None,
    *,
    detail: bool = False,
    options: read.ReadOptions | None = None,
) -> ExplainResult:
    """Every step of `unit`'s result, from raw inputs to class, with its numbers: in
    `period`, or in every period of the unit when `period` is None.

    >>> e = explain("methodologies/kireeva.yaml", "examples/kazakhstan/regions.csv", "Almaty", 2014)
    >>> e.step("SD.norm").symbolic
    'SD / max(SD, by=[year]) * 100'
    """
    from engine.analysis.explain import explain_all

    options = checked_options(options, "explain")
    validated = validate(methodology)
    sources = data_sources(data)
    typed = read_data(validated.methodology, sources, options)
    found = explain_all(validated, typed, unit, period, detail=detail)
    files = _source_files(validated, _paths(sources))
    return ExplainResult(found, validated.methodology.meta.title, files)
