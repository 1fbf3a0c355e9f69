"""The objects the API's verbs return: a run, a sensitivity analysis, an explanation.

Each is a frozen dataclass deriving from :class:`engine.report.results.TableResult`, so
it has ``to_polars()``, ``to_pandas()`` and ``write(path)``; each has a short ``repr``
and renders as HTML in Jupyter (:mod:`engine.report.notebook`). The comparison's result
is :class:`engine.analysis.compare.Comparison`. Made by :mod:`engine.api`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError
from engine.format.model import Methodology
from engine.report.results import TableResult
from engine.report.summary import CheckResult

if TYPE_CHECKING:
    from engine.analysis.derivatives import Analytic
    from engine.analysis.explanation import Explanation
    from engine.analysis.sensitivity import Sensitivity

__all__ = ["ExplainResult", "RunResult", "SensitivityResult"]


@dataclass(frozen=True, repr=False)
class RunResult(TableResult):
    """What a run produced: one row per unit and period, and the report.

    ``to_polars()`` is `frame`; ``write("out.xlsx")`` writes a workbook with the results,
    the detail rows, checks, warnings, weights, adjustments and the methodology.
    """

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
    #: the methodology and data files it was computed from: ``write`` never overwrites them
    files: tuple[Path, ...] = ()
    #: with availability screening: every unit and period, its data availability, whether
    #: it was kept and why not
    availability: pl.DataFrame | None = None

    def source_files(self) -> tuple[Path, ...]:
        return self.files

    @property
    def failed_errors(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.check.severity == "error")

    def to_polars(self) -> pl.DataFrame:
        """One row per unit and period: every output column."""
        return self.frame

    def __repr__(self) -> str:
        from engine.report import results

        return results.describe_run(self)

    def _repr_html_(self) -> str:
        from engine.report import notebook

        return notebook.run_html(self)

    def sheets(self) -> dict[str, pl.DataFrame]:
        from engine.report import results

        return results.run_sheets(self)

    def chart(self, *, top: int = 5, highlight: str | Sequence[str] = ()) -> Any:
        """The rank of every unit over the periods (a bump chart) as a matplotlib Figure;
        the top and bottom `top` units and those in `highlight` (one unit or several) are
        coloured and named."""
        from engine.report.charts import Highlight, rank_chart

        lay = self.methodology.layout
        if lay.period is None or "rank" not in self.frame.columns:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        "a rank chart needs an index and a period column",
                        expected="index and data.period in the methodology",
                    )
                ]
            )
        marked = Highlight.of(top, highlight)
        return rank_chart(
            self.frame, lay.unit, lay.period, title=self.methodology.meta.title, highlight=marked
        )


@dataclass(frozen=True, repr=False)
class SensitivityResult(TableResult):
    """Monte Carlo uncertainty analysis, Sobol indices and analytic sensitivities.

    `analysis` holds the rank intervals (``ranks``), class probabilities (``classes``) and
    Sobol indices (``sobol``); `analytic` the derivatives and tipping points; `nominal`
    the ordinary run. ``to_polars()`` is the rank table.
    """

    analysis: Sensitivity
    analytic: Analytic
    nominal: RunResult

    def to_polars(self) -> pl.DataFrame:
        return self.analysis.ranks

    def source_files(self) -> tuple[Path, ...]:
        return self.nominal.source_files()

    def sheets(self) -> dict[str, pl.DataFrame]:
        from engine.report import results

        return results.sensitivity_sheets(self)

    def __repr__(self) -> str:
        a = self.analysis
        return (
            f"SensitivityResult({self.nominal.methodology.meta.id!r}: {a.replications} "
            f"replications, {a.runs} runs, factors {', '.join(a.factors)})"
        )

    def _repr_html_(self) -> str:
        from engine.report import notebook

        return notebook.sensitivity_html(self)

    def chart(self) -> Any:
        """Rank intervals and Sobol indices as a matplotlib Figure."""
        from engine.report.charts import sensitivity_chart

        return sensitivity_chart(self.analysis, self.nominal.methodology)


@dataclass(frozen=True, repr=False)
class ExplainResult(TableResult):
    """One unit's result explained, one :class:`Explanation` per period.

    ``to_polars()`` has one row per period and step: column, kind, formula, the formula
    with its numbers, and the value.
    """

    explanations: tuple[Explanation, ...]
    title: str = ""
    #: the methodology and data files explained: ``write`` never overwrites them
    files: tuple[Path, ...] = ()

    def source_files(self) -> tuple[Path, ...]:
        return self.files

    def __iter__(self) -> Any:
        return iter(self.explanations)

    def __len__(self) -> int:
        return len(self.explanations)

    def __getitem__(self, k: int) -> Explanation:
        return self.explanations[k]

    def step(self, column: str) -> Any:
        """The step computing `column` in the only (or last) period explained."""
        return self.explanations[-1].step(column)

    def to_polars(self) -> pl.DataFrame:
        from engine.report import results

        return results.explain_table(self)

    def __repr__(self) -> str:
        e = self.explanations[0]
        periods = ", ".join(str(x.period) for x in self.explanations)
        return (
            f"ExplainResult({e.methodology!r}: {e.unit!r}, periods {periods}, {len(e.steps)} steps)"
        )

    def _repr_html_(self) -> str:
        from engine.report import notebook

        return notebook.explain_html(self)
