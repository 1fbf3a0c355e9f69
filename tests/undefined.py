"""Test helper: the undefined values a run reported (``undefined: report``, the default)."""

from __future__ import annotations

from engine.diagnostics import Code, DataError, Severity

#: the codes of an undefined value (a division by zero, a domain, a statistic over none)
UNDEFINED_CODES = frozenset({Code.DIVISION_BY_ZERO, Code.DOMAIN, Code.ALL_MISSING, Code.NOT_FINITE})


def reported(result: object) -> DataError:
    """The undefined-value warnings of a run (an ``api.RunResult``), gathered in the
    DataError that ``undefined: error`` would have raised with the same diagnostics."""
    warnings = result.warnings  # type: ignore[attr-defined]
    found = [w for w in warnings if w.code in UNDEFINED_CODES]
    assert found, f"no undefined value was reported: {[w.render() for w in warnings]}"
    assert all(w.severity == Severity.WARNING for w in found)
    return DataError(found)
