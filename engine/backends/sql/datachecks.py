"""The checks on input data before computing, in SQL (as :mod:`engine.runner` does in polars).

One aggregate query per grain (unit-level rows, detail rows) counts, per period, the
present values of every input and the values outside an input's declared minimum or
maximum; only when one of them shows a problem are the rows looked up. The messages are
the polars run's:

* an input outside its declared range is an error naming the rows and values;
* a required input with no value in a whole period is an error;
* a detail input with missing cells is a warning (statistics over detail rows skip them).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from sqlglot import exp

from engine.backends.sql.printer import column, literal, ordered
from engine.backends.sql.statements import Chain, Relation, Source, base_relation
from engine.diagnostics import Code, DataError, Diagnostic, Severity
from engine.format.model import Input, Methodology
from engine.formula import grain

__all__ = ["check_inputs"]

Fetch = Callable[[exp.Expression], pl.DataFrame]
LIMIT = 10


def _flag(cond: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0))


def check_inputs(
    m: Methodology, fetch: Fetch, units: Source | None, detail: Source | None
) -> tuple[Diagnostic, ...]:
    """Raise a DataError for inputs out of range or empty in a period; return the
    warnings for missing detail cells."""
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for source, grain_name in ((units, grain.UNIT), (detail, grain.DETAIL)):
        if source is None:
            continue
        inputs = [i for i in m.inputs if i.grain == grain_name and i.name in source.columns]
        if not inputs:
            continue
        chain, rel = base_relation(m, source, grain_name)
        found, missing = _check(m, fetch, chain, rel, inputs)
        problems += found
        if grain_name == grain.DETAIL:
            warnings += missing
    if problems:
        raise DataError(problems)
    return tuple(warnings)


def _bounds(i: Input) -> list[tuple[str, float, exp.Expression]]:
    out = []
    if i.minimum is not None:
        out.append(("minimum", i.minimum, exp.LT(this=column(i.name), expression=literal(i.minimum))))
    if i.maximum is not None:
        out.append(("maximum", i.maximum, exp.GT(this=column(i.name), expression=literal(i.maximum))))
    return out


def _check(
    m: Methodology, fetch: Fetch, chain: Chain, rel: Relation, inputs: list[Input]
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    period = m.layout.period
    aggs: list[exp.Expression] = []
    for k, i in enumerate(inputs):
        aggs.append(exp.alias_(exp.Count(this=column(i.name)), f"n{k}"))
        aggs.append(
            exp.alias_(exp.Sum(this=_flag(exp.Is(this=column(i.name), expression=exp.Null()))), f"z{k}")
        )
        for j, (_, _, bad) in enumerate(_bounds(i)):
            aggs.append(exp.alias_(exp.Max(this=_flag(bad)), f"b{k}_{j}"))
    query = chain.select(rel, ([column(period)] if period else []) + aggs)
    if period:
        query = query.group_by(column(period)).order_by(ordered(column(period)))
    counts = fetch(query)
    problems: list[Diagnostic] = []
    for k, i in enumerate(inputs):
        for j, (bound, limit, bad) in enumerate(_bounds(i)):
            if counts[f"b{k}_{j}"].max():
                problems.append(_out_of_range(m, fetch, chain, rel, i, bound, limit, bad))
    for k, i in enumerate(inputs):
        if i.optional:
            continue
        for row in counts.iter_rows(named=True):
            if row[f"n{k}"] == 0:
                where = f" for {period} {row[period]}" if period else ""
                problems.append(
                    Diagnostic(
                        Code.ALL_MISSING,
                        f"input column '{i.name}' has no value{where}",
                        expected="at least one present value per period",
                    )
                )
    missing = [
        _missing_cells(m, fetch, chain, rel, i)
        for k, i in enumerate(inputs)
        if i.grain == grain.DETAIL and counts[f"z{k}"].sum()
    ]
    return problems, missing


def _hits(
    m: Methodology, fetch: Fetch, chain: Chain, rel: Relation, cond: exp.Expression, value: str | None
) -> tuple[pl.DataFrame, int]:
    keys = [k for k in m.layout.detail_keys if k in rel.columns]
    total = exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), "__n")
    cols = [column(k) for k in keys] + ([column(value)] if value else []) + [total]
    rows = fetch(chain.select(rel, cols, order=keys, where=cond).limit(LIMIT))
    n = int(rows["__n"][0]) if rows.height else 0
    return rows.drop("__n"), n


def _out_of_range(
    m: Methodology,
    fetch: Fetch,
    chain: Chain,
    rel: Relation,
    i: Input,
    bound: str,
    limit: float,
    bad: exp.Expression,
) -> Diagnostic:
    rows, n = _hits(m, fetch, chain, rel, bad, i.name)
    keys = rows.columns[:-1]
    listed = ", ".join(
        " ".join(str(v) for v in r[:-1]) + f" ({r[-1]})" for r in rows.select(*keys, i.name).iter_rows()
    )
    more = f" and {n - LIMIT} more" if n > LIMIT else ""
    return Diagnostic(
        Code.DOMAIN,
        f"input column '{i.name}' is outside its declared {bound} {limit:g} for: {listed}{more}",
        expected=f"values {'>=' if bound == 'minimum' else '<='} {limit:g}",
    )


def _missing_cells(m: Methodology, fetch: Fetch, chain: Chain, rel: Relation, i: Input) -> Diagnostic:
    rows, n = _hits(m, fetch, chain, rel, exp.Is(this=column(i.name), expression=exp.Null()), None)
    listed = ", ".join(" ".join(str(v) for v in r) for r in rows.iter_rows())
    more = f" and {n - LIMIT} more" if n > LIMIT else ""
    return Diagnostic(
        Code.MISSING_VALUE,
        f"detail input '{i.name}' is missing for: {listed}{more}; "
        "statistics over detail rows skip these rows",
        severity=Severity.WARNING,
    )

