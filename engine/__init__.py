"""indexlab: composite indices as YAML methodologies, compiled via sympy into one polars query.

The Python API is reachable from the package itself; each name is imported on first use,
so ``import engine`` (and the ``indexlab`` command, which imports it) stays fast:

>>> import engine
>>> result = engine.run("methodologies/kireeva.yaml", "examples/kazakhstan/regions.csv")
>>> result.to_polars().height
32

See :mod:`engine.api` for the verbs (``run``, ``validate``, ``compare``, ``sensitivity``,
``explain``, ``schema``) and their results.
"""

from __future__ import annotations

# not `from typing import TYPE_CHECKING`: importing typing would be most of this
# package's import time
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from engine.api import (
        ComparisonResult,
        ExplainResult,
        RunResult,
        SensitivityResult,
        Validated,
        compare,
        explain,
        run,
        schema,
        sensitivity,
        validate,
    )
    from engine.diagnostics import DataError, IndexlabError, MethodologyError, UsageError
    from engine.extras import MissingExtra

_API = {
    "run",
    "validate",
    "compare",
    "sensitivity",
    "explain",
    "schema",
    "RunResult",
    "Validated",
    "ComparisonResult",
    "SensitivityResult",
    "ExplainResult",
}
_ERRORS = {"IndexlabError", "MethodologyError", "DataError", "UsageError"}

__all__ = [
    "ComparisonResult",
    "DataError",
    "ExplainResult",
    "IndexlabError",
    "MethodologyError",
    "MissingExtra",
    "RunResult",
    "SensitivityResult",
    "UsageError",
    "Validated",
    "__version__",
    "compare",
    "explain",
    "run",
    "schema",
    "sensitivity",
    "validate",
]


def __getattr__(name: str) -> Any:
    """Import the API on first use (PEP 562)."""
    if name in _API:
        from engine import api

        return getattr(api, name)
    if name in _ERRORS:
        from engine import diagnostics

        return getattr(diagnostics, name)
    if name == "MissingExtra":
        from engine.extras import MissingExtra

        return MissingExtra
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("indexlab")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
