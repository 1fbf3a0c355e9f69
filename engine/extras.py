"""Optional parts of indexlab (pip "extras") and the one message for a missing one.

The core (validate, run, compare, explain, sensitivity and the terminal report) needs
only the packages in ``[project] dependencies``. Heavier parts live in extras, installed
with ``pip install 'indexlab[NAME]'``; a module that needs one imports it through
:func:`require`, which turns an ``ImportError`` into :class:`MissingExtra`: one line
naming what needed it and the command that installs it (the CLI prints that line and
exits with 1; from Python it is also an ``ImportError``).

>>> require("json", Extra.EXCEL, "reading JSON").__name__
'json'
>>> try:
...     require("not_a_module_xyz", Extra.CHARTS, "drawing a chart")
... except MissingExtra as err:
...     print(err)
drawing a chart needs the optional package 'not_a_module_xyz': pip install 'indexlab[charts]'
"""

from __future__ import annotations

import enum
import importlib
from types import ModuleType

from engine.diagnostics import Code, Diagnostic, IndexlabError

__all__ = ["Extra", "MissingExtra", "require"]


class Extra(enum.StrEnum):
    """The extras declared in pyproject.toml."""

    EXCEL = "excel"  # fastexcel (reading .xlsx), xlsxwriter (writing .xlsx)
    CHARTS = "charts"  # matplotlib
    PANDAS = "pandas"  # pandas and pyarrow, for DataFrame.to_pandas and Arrow input
    REPORT = "report"  # the HTML report
    SQL = "sql"  # sqlglot: indexlab sql (printing a methodology as SQL)
    OPTIMISE = "optimise"  # scipy: benefit of the doubt (HiGHS) and optimised weights
    DUCKDB = "duckdb"  # the DuckDB engine
    SPARK = "spark"  # the Spark engine


class MissingExtra(IndexlabError, ImportError):
    """An optional package is not installed; the message says how to install it."""

    def __init__(self, package: str, extra: Extra, purpose: str):
        self.package, self.extra = package, extra
        message = (
            f"{purpose} needs the optional package '{package}': pip install 'indexlab[{extra}]'"
        )
        super().__init__([Diagnostic(Code.MISSING_EXTRA, message)])

    def __str__(self) -> str:
        return self.diagnostics[0].message


def require(module: str, extra: Extra, purpose: str) -> ModuleType:
    """Import `module`, or raise :class:`MissingExtra` naming `extra` and `purpose`.

    `purpose` completes "… needs the optional package": e.g. "writing Excel files".
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        if err.name is not None and module.split(".")[0] != err.name.split(".")[0]:
            raise  # the package is there but something it imports is broken: not ours to hide
        raise MissingExtra(module.split(".")[0], extra, purpose) from None
