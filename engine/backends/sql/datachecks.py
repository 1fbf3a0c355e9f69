"""The checks on input data, in SQL (as :mod:`engine.runner` does in polars).

* an input outside its declared minimum or maximum is an error naming the rows and values;
* a required input with no value in a whole period is an error;
* a detail input with missing cells is a warning (statistics over detail rows skip them).

They cost no pass of their own over the data. The unit-level inputs are columns of the
run's result table; the detail inputs are counted per unit and period by the query that
collapses the detail rows (:func:`detail_partials`). One query over the result table,
grouped by period, then gives the counts together with the audit summary; only a
failure looks the rows up.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from sqlglot import exp

from engine.backends.sql.functions import column, literal
from engine.backends.sql.statements import HIDDEN, Chain, Relation
from engine.diagnostics import Code, DataError, Diagnostic, Severity
from engine.format.model import Input, Methodology
from engine.formula import grain

__all__ = ["Aggregate", "check_inputs", "detail_partials", "input_aggregates"]

Fetch = Callable[[exp.Expr], pl.DataFrame]
LIMIT = 10
PARTIAL = HIDDEN + "in_"

#: an aggregate over the result rows of one period, and how periods combine ("sum", "min", "max")
Aggregate = tuple[str, exp.Expr, str]


def _flag(cond: exp.Expr) -> exp.Expr:
    return exp.Case(
        ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)
    )


def _bounds(i: Input) -> list[tuple[str, float, exp.Expr]]:
    out: list[tuple[str, float, exp.Expr]] = []
    if i.minimum is not None:
        out.append(
            ("minimum", i.minimum, exp.LT(this=column(i.name), expression=literal(i.minimum)))
        )
    if i.maximum is not None:
        out.append(
            ("maximum", i.maximum, exp.GT(this=column(i.name), expression=literal(i.maximum)))
        )
    return out


def _inputs(m: Methodology, grain_name: str) -> list[Input]:
    return [i for i in m.inputs if i.grain == grain_name]


def detail_partials(m: Methodology) -> list[tuple[str, exp.Expr]]:
    """Per unit and period, over its detail rows: present values, missing cells and
    values out of range of every detail input."""
    out: list[tuple[str, exp.Expr]] = []
    for i in _inputs(m, grain.DETAIL):
        x = column(i.name)
        out.append((f"{PARTIAL}n:{i.name}", exp.Count(this=x)))
        out.append(
            (
                f"{PARTIAL}z:{i.name}",
                exp.Sum(this=_flag(exp.Is(this=x.copy(), expression=exp.Null()))),
            )
        )
        for bound, _, bad in _bounds(i):
            out.append((f"{PARTIAL}{bound}:{i.name}", exp.Max(this=_flag(bad))))
    return out


def input_aggregates(m: Methodology, with_detail: bool) -> list[Aggregate]:
    """Per period over the result rows: present values and values out of range of every
    input (detail inputs from their partial counts)."""
    out: list[Aggregate] = []
    for i in _inputs(m, grain.UNIT):
        out.append((f"n:{i.name}", exp.Count(this=column(i.name)), "sum"))
        for bound, _, bad in _bounds(i):
            out.append((f"{bound}:{i.name}", exp.Max(this=_flag(bad)), "max"))
    if with_detail:
        for i in _inputs(m, grain.DETAIL):
            out.append((f"n:{i.name}", exp.Sum(this=column(f"{PARTIAL}n:{i.name}")), "sum"))
            out.append((f"z:{i.name}", exp.Sum(this=column(f"{PARTIAL}z:{i.name}")), "sum"))
            for bound, _, _ in _bounds(i):
                out.append(
                    (f"{bound}:{i.name}", exp.Max(this=column(f"{PARTIAL}{bound}:{i.name}")), "max")
                )
    return out


def check_inputs(
    m: Methodology,
    fetch: Fetch,
    by_period: pl.DataFrame,
    present: set[str],
    units: tuple[Chain, Relation],
    detail: tuple[Chain, Relation] | None,
) -> tuple[Diagnostic, ...]:
    """Raise a DataError for inputs out of range or empty in a period (polars' order:
    unit-level inputs first); return the warnings for missing detail cells.

    `by_period` holds :func:`input_aggregates` per period; `present` names the inputs the
    data has; `units` and `detail` are the relations to look rows up in.
    """
    period = m.layout.period
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for grain_name, where in ((grain.UNIT, units), (grain.DETAIL, detail)):
        inputs = [i for i in _inputs(m, grain_name) if i.name in present]
        if where is None or not inputs:
            continue
        for i in inputs:
            for bound, limit, bad in _bounds(i):
                if by_period[f"{bound}:{i.name}"].max():
                    problems.append(_out_of_range(m, fetch, where, i, bound, limit, bad))
        for row in by_period.iter_rows(named=True):
            for i in inputs:
                if not i.optional and not row[f"n:{i.name}"]:
                    at = f" for {period} {row[period]}" if period else ""
                    problems.append(
                        Diagnostic(
                            Code.ALL_MISSING,
                            f"input column '{i.name}' has no value{at}",
                            expected="at least one present value per period",
                        )
                    )
        if grain_name == grain.DETAIL:
            warnings += [
                _missing_cells(m, fetch, where, i) for i in inputs if by_period[f"z:{i.name}"].sum()
            ]
    if problems:
        raise DataError(problems)
    return tuple(warnings)


def _hits(
    m: Methodology,
    fetch: Fetch,
    where: tuple[Chain, Relation],
    cond: exp.Expr,
    value: str | None,
) -> tuple[pl.DataFrame, int]:
    chain, rel = where
    keys = [k for k in m.layout.detail_keys if k in rel.columns]
    total = exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), "__n")
    cols = [column(k) for k in keys] + ([column(value)] if value else []) + [total]
    rows = fetch(chain.select(rel, cols, order=keys, where=cond).limit(LIMIT))
    n = int(rows["__n"][0]) if rows.height else 0
    return rows.drop("__n"), n


def _out_of_range(
    m: Methodology,
    fetch: Fetch,
    where: tuple[Chain, Relation],
    i: Input,
    bound: str,
    limit: float,
    bad: exp.Expr,
) -> Diagnostic:
    rows, n = _hits(m, fetch, where, bad, i.name)
    listed = ", ".join(" ".join(str(v) for v in r[:-1]) + f" ({r[-1]})" for r in rows.iter_rows())
    more = f" and {n - LIMIT} more" if n > LIMIT else ""
    return Diagnostic(
        Code.DOMAIN,
        f"input column '{i.name}' is outside its declared {bound} {limit:g} for: {listed}{more}",
        expected=f"values {'>=' if bound == 'minimum' else '<='} {limit:g}",
    )


def _missing_cells(
    m: Methodology, fetch: Fetch, where: tuple[Chain, Relation], i: Input
) -> Diagnostic:
    rows, n = _hits(m, fetch, where, exp.Is(this=column(i.name), expression=exp.Null()), None)
    listed = ", ".join(" ".join(str(v) for v in r) for r in rows.iter_rows())
    more = f" and {n - LIMIT} more" if n > LIMIT else ""
    return Diagnostic(
        Code.MISSING_VALUE,
        f"detail input '{i.name}' is missing for: {listed}{more}; "
        "statistics over detail rows skip these rows",
        severity=Severity.WARNING,
    )
