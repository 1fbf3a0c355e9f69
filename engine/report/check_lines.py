"""The checks' report in plain lines: what every way of printing it shares.

A failing check is one line in the diagnostics' style, ``warning[check-failed]: check
'name' (formula) fails for 7 of 32 rows``; the checks that pass are one summary line.
:func:`engine.report.terminal.print_checks` adds each failing check's rows as a table
(rich); a quiet run (``-q``) prints these lines only, with a pointer to the rows, and
``--format json`` every failing row as JSON. Neither of the last two imports rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from engine.diagnostics import Code

if TYPE_CHECKING:
    import polars as pl

__all__ = ["checks_json", "headline", "passed_line", "print_check_lines"]

#: what a quiet run prints after its failing checks' lines
ROWS_HINT = "the failing rows: run without -q (or with --format json for every row)"


class _Formula(Protocol):
    @property
    def text(self) -> str: ...


class _Check(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def severity(self) -> object: ...
    @property
    def formula(self) -> _Formula: ...


class CheckLike(Protocol):
    """A check's outcome: a full run's ``report.summary.CheckResult`` or the plan cache's."""

    @property
    def check(self) -> _Check: ...
    @property
    def tested(self) -> int: ...
    @property
    def failures(self) -> pl.DataFrame: ...
    @property
    def passed(self) -> bool: ...


def headline(c: CheckLike) -> str:
    """What follows ``warning[check-failed]: `` for a failing check."""
    return (
        f"check '{c.check.name}' ({c.check.formula.text}) "
        f"fails for {c.failures.height} of {c.tested} rows"
    )


def passed_line(checks: Sequence[CheckLike]) -> str | None:
    """``checks passed: 1 of 6 (names)``, or None when none passes."""
    passed = [c.check.name for c in checks if c.passed]
    if not passed:
        return None
    return f"checks passed: {len(passed)} of {len(checks)} ({', '.join(passed)})"


def print_check_lines(checks: Sequence[CheckLike]) -> None:
    """The quiet report on stderr: a line per failing check, where its rows are, and the
    line of the checks that pass."""
    failing = [c for c in checks if not c.passed]
    lines = [f"{c.check.severity}[{Code.CHECK_FAILED}]: {headline(c)}" for c in failing]
    if failing:
        lines.append(ROWS_HINT)
    passed = passed_line(checks)
    if passed is not None:
        lines.append(passed)
    if lines:
        sys.stderr.write("\n".join(lines) + "\n")


def checks_json(checks: Sequence[CheckLike]) -> str:
    """Every check with all its failing rows (``--format json``)."""
    payload = [
        {
            "check": c.check.name,
            "severity": str(c.check.severity),
            "formula": c.check.formula.text,
            "tested": c.tested,
            "failures": c.failures.to_dicts(),
        }
        for c in checks
    ]
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str)
