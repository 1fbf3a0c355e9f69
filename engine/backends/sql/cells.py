"""The cells of the files a SQL engine reads, checked and typed in SQL.

The rules of indexlab's reader (:mod:`engine.io.read.cells`), as queries: keys trimmed
(a warning names them), never empty, without control characters, integers when every
value is a plain integer (a period also when a whole float); numbers with the declared
missing tokens, thousands separator and decimal mark, anything else an error (as NaN
and infinities are); one row per key. One grouped query per group of files counts every
problem; only then are the offending rows looked up, named by their keys (engines
number no lines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from engine.backends.sql.dialects import double
from engine.backends.sql.engines import Engine
from engine.backends.sql.functions import BIGINT, DOUBLE, column
from engine.backends.sql.statements import Source
from engine.diagnostics import Code, DataError, Diagnostic, Location, Severity
from engine.io.read import ReadOptions
from engine.io.read.options import SPACES

__all__ = ["Typed", "absent", "duplicates", "keyed", "typed"]

LIMIT = 10
VARCHAR = exp.DataType.build("VARCHAR")
INTEGER = r"^-?(?:0|[1-9][0-9]{0,17})$"
WHOLE = r"^-?[0-9]+\.0*$"
CONTROL = "[\\x00-\\x1f\\x7f]"


def _text(e: exp.Expr) -> exp.Expr:
    return exp.Trim(this=exp.cast(e, VARCHAR))


def _flag(cond: exp.Expr) -> exp.Expr:
    return exp.Case(
        ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)
    )


def absent(s: exp.Expr, tokens: tuple[str, ...]) -> exp.Expr:
    return exp.or_(
        exp.Is(this=s.copy(), expression=exp.Null()),
        exp.In(this=s.copy(), expressions=[exp.Literal.string(t) for t in tokens]),
    )


def _replace(s: exp.Expr, old: str, new: str) -> exp.Expr:
    return exp.Anonymous(
        this="REPLACE", expressions=[s, exp.Literal.string(old), exp.Literal.string(new)]
    )


def _matches(s: exp.Expr, pattern: str) -> exp.Expr:
    return exp.RegexpLike(this=s, expression=exp.Literal.string(pattern))


def _number(
    token: exp.Expr, options: ReadOptions, tokens: tuple[str, ...]
) -> tuple[exp.Expr, exp.Expr]:
    """(value, bad) of a text cell, parsed as indexlab's reader parses numbers."""
    s = _text(token)
    missing = absent(s, tokens)
    if options.accepts_unicode_minus:
        s = _replace(s, "\u2212", "-")
    ok: exp.Expr = exp.true()
    if options.thousands is not None:
        seps = SPACES if options.thousands == " " else (options.thousands,)
        group = "[" + "".join(re.escape(c) for c in seps) + "]"
        point = re.escape(options.decimal)
        grouped = rf"^[+-]?[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?:{point}[0-9]*)?$"
        ok = exp.or_(exp.not_(_matches(s.copy(), group)), _matches(s.copy(), grouped))
        for sep in seps:
            s = _replace(s, sep, "")
    if options.decimal == ",":
        ok = exp.and_(ok, exp.not_(_matches(s.copy(), r"\.")))
        s = _replace(s, ",", ".")
    # only plain decimal numbers: engines would also read '0x1A', '1_000' or 'Infinity'
    shape = _matches(
        s.copy(),
        r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?(nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)$",
    )
    usable = exp.and_(exp.Paren(this=ok), shape, exp.not_(exp.Paren(this=missing)))
    value = exp.Case(ifs=[exp.If(this=usable, true=exp.TryCast(this=s, to=DOUBLE))])
    bad = exp.and_(
        exp.not_(exp.Paren(this=missing.copy())), exp.Is(this=value.copy(), expression=exp.Null())
    )
    return value, bad


def _finite(value: exp.Expr) -> exp.Expr:
    """A missing value, or one between -inf and inf (NaN sorts above inf everywhere)."""
    inside = exp.and_(
        exp.GT(this=value.copy(), expression=double("-Infinity")),
        exp.LT(this=value.copy(), expression=double("Infinity")),
    )
    return exp.or_(exp.Is(this=value, expression=exp.Null()), exp.Paren(this=inside))


@dataclass(frozen=True)
class Typed:
    """One group's rows: keys as text (typed once every group is seen), labels, numbers."""

    where: str
    location: str
    select: exp.Select
    columns: tuple[str, ...]
    #: per key: every value a plain integer; a whole float; duplicates present
    integer: dict[str, bool]
    whole: dict[str, bool]
    duplicated: bool


def typed(
    engine: Engine,
    raw: Source,
    numbers: frozenset[str],
    where: str,
    location: str,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    options: ReadOptions,
    tokens: tuple[str, ...],
) -> tuple[Typed, list[Diagnostic]]:
    """Check one group's cells with one grouped query; its rows, and any warnings."""
    values: dict[str, exp.Expr] = {}
    bads: dict[str, exp.Expr] = {}
    for name in numeric:
        if name in numbers:
            values[name] = exp.cast(column(name), DOUBLE)
        else:
            values[name], bads[name] = _number(column(name), options, tokens)
    inner: list[exp.Expr] = [exp.alias_(_text(column(k)), k, quoted=True) for k in keys]
    inner.append(exp.alias_(exp.Count(this=exp.Star()), "__n"))
    spaced: list[exp.Expr] = [
        exp.NEQ(this=exp.cast(column(k), VARCHAR), expression=_text(column(k))) for k in keys
    ]
    for k, cond in zip(keys, spaced):
        inner.append(exp.alias_(exp.Max(this=_flag(cond)), f"spaced:{k}", quoted=True))
    cells: list[tuple[str, exp.Expr]] = [(f"bad:{n}", b) for n, b in bads.items()]
    cells += [(f"odd:{n}", exp.not_(_finite(v.copy()))) for n, v in values.items()]
    for name, cond in cells:
        inner.append(exp.alias_(exp.Sum(this=_flag(cond)), name, quoted=True))
    outer: list[exp.Expr] = [
        exp.alias_(exp.Sum(this=column("__n")), "rows"),
        exp.alias_(exp.Max(this=column("__n")), "most"),
    ]
    for k in keys:
        empty = exp.or_(
            exp.Is(this=column(k), expression=exp.Null()),
            exp.EQ(this=column(k), expression=exp.Literal.string("")),
        )
        outer.append(
            exp.alias_(
                exp.Sum(
                    this=exp.Case(
                        ifs=[exp.If(this=empty, true=column("__n"))], default=exp.Literal.number(0)
                    )
                ),
                f"empty:{k}",
                quoted=True,
            )
        )
        for label, pattern in (("int", INTEGER), ("whole", WHOLE), ("control", CONTROL)):
            test = _matches(column(k), pattern)
            agg = exp.Max if label == "control" else exp.Min
            outer.append(exp.alias_(agg(this=_flag(test)), f"{label}:{k}", quoted=True))
        outer.append(exp.alias_(exp.Max(this=column(f"spaced:{k}")), f"spaced:{k}", quoted=True))
    for name, _ in cells:
        outer.append(exp.alias_(exp.Sum(this=column(name)), name, quoted=True))
    grouped = exp.select(*inner).from_(raw.table.copy()).group_by(*(_text(column(k)) for k in keys))
    sub = exp.Subquery(this=grouped, alias=exp.TableAlias(this=exp.to_identifier("per_key")))
    counts = engine.fetch(exp.select(*outer).from_(sub)).row(0, named=True)
    problems, warnings = [], []
    if not counts["rows"]:
        problems.append(
            Diagnostic(Code.DATA_FILE, "has a header but no data rows", Location(location))
        )
    for k in keys:
        if counts[f"empty:{k}"]:
            n = counts[f"empty:{k}"]
            problems.append(
                Diagnostic(
                    Code.MISSING_KEY,
                    f"key column '{k}' is empty in {n} rows of {where}",
                    Location(location),
                )
            )
        if counts[f"control:{k}"]:
            bad = _matches(_text(column(k)), CONTROL)
            problems.append(
                _cells(
                    engine,
                    raw,
                    keys,
                    k,
                    bad,
                    "has control characters (tab, newline, …)",
                    Code.MISSING_KEY,
                    where,
                    location,
                )
            )
        if counts[f"spaced:{k}"]:
            cond = exp.NEQ(this=exp.cast(column(k), VARCHAR), expression=_text(column(k)))
            d = _cells(
                engine,
                raw,
                keys,
                k,
                cond,
                "has spaces around values, trimmed",
                Code.ID_SPACES,
                where,
                location,
            )
            warnings.append(
                Diagnostic(
                    d.code,
                    d.message,
                    d.location,
                    severity=Severity.WARNING,
                    hint="to keep them (two different ids), read with id_spaces='keep' "
                    "(indexlab's reader)",
                )
            )
    for name, bad in bads.items():
        if counts[f"bad:{name}"]:
            problems.append(
                _cells(
                    engine,
                    raw,
                    keys,
                    name,
                    bad,
                    "has text where a number is expected",
                    Code.NOT_NUMERIC,
                    where,
                    location,
                )
            )
    for name, value in values.items():
        if counts[f"odd:{name}"]:
            odd = exp.not_(_finite(value.copy()))
            problems.append(
                _cells(
                    engine,
                    raw,
                    keys,
                    name,
                    odd,
                    "has NaN or infinite values",
                    Code.NOT_FINITE,
                    where,
                    location,
                )
            )
    if problems:
        raise DataError(problems)
    cols: list[exp.Expr] = [exp.alias_(_text(column(k)), k, quoted=True) for k in keys]
    for name in text:
        cell = _text(column(name))
        kept = exp.Case(
            ifs=[exp.If(this=absent(cell, tokens), true=exp.Null())], default=cell.copy()
        )
        cols.append(exp.alias_(kept, name, quoted=True))
    cols += [exp.alias_(v, n, quoted=True) for n, v in values.items()]
    typed = Typed(
        where,
        location,
        exp.select(*cols).from_(raw.table.copy()),
        (*keys, *text, *values),
        {k: bool(counts[f"int:{k}"]) for k in keys},
        {k: bool(counts[f"whole:{k}"]) for k in keys},
        bool(counts["most"] and counts["most"] > 1),
    )
    return typed, warnings


def _cells(
    engine: Engine,
    raw: Source,
    keys: Sequence[str],
    name: str,
    bad: exp.Expr,
    what: str,
    code: Code,
    where: str,
    location: str,
) -> Diagnostic:
    """One diagnostic for the offending cells of a column: rows by key, distinct tokens."""
    token = exp.cast(column(name), VARCHAR)
    ids = [exp.alias_(_text(column(k)), k, quoted=True) for k in keys]
    rows = engine.fetch(
        exp.select(*ids, exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), "__n"))
        .from_(raw.table.copy())
        .where(bad.copy())
        .order_by(*(_text(column(k)) for k in keys))
        .limit(LIMIT)
    )
    total = int(rows["__n"][0]) if rows.height else 0
    shown = ", ".join(" ".join(str(v) for v in r) for r in rows.drop("__n").iter_rows())
    more = f" and {total - LIMIT} more" if total > LIMIT else ""
    found = engine.fetch(
        exp.select(exp.alias_(token, "t"), exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(raw.table.copy())
        .where(bad.copy())
        .group_by(token.copy())
        .order_by(exp.Ordered(this=column("n"), desc=True), column("t"))
        .limit(5)
    )
    listed = ", ".join(f"{t!r}" + (f" ×{n}" if n > 1 else "") for t, n in found.iter_rows())
    return Diagnostic(
        code, f"column '{name}' {what} in {where}, for: {shown}{more}: {listed}", Location(location)
    )


def keyed(t: Typed, keys: Sequence[str], integer: set[str], whole: set[str]) -> Source:
    """The rows with keys typed: integer keys as BIGINT (whole-float periods too)."""
    cols: list[exp.Expr] = []
    for c in t.columns:
        if c in integer:
            cols.append(exp.alias_(exp.cast(column(c), BIGINT), c, quoted=True))
        elif c in whole:
            cols.append(exp.alias_(exp.cast(exp.cast(column(c), DOUBLE), BIGINT), c, quoted=True))
        else:
            cols.append(column(c))
    inner = exp.Subquery(this=t.select, alias=exp.TableAlias(this=exp.to_identifier("cells")))
    select = exp.select(*cols).from_(inner)
    return Source(
        exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("typed"))), t.columns
    )


def duplicates(engine: Engine, t: Typed, src: Source, keys: Sequence[str]) -> list[Diagnostic]:
    n = exp.alias_(exp.Count(this=exp.Star()), "__n")
    query = (
        exp.select(*(column(k) for k in keys), n)
        .from_(src.table.copy())
        .group_by(*(column(k) for k in keys))
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        .order_by(*(column(k) for k in keys))
        .limit(LIMIT)
    )
    return [
        Diagnostic(
            Code.DUPLICATE_ROW,
            f"{row['__n']} rows for {', '.join(f'{k}={row[k]!r}' for k in keys)} in {t.where}",
            Location(t.location),
            hint="keep one row per " + " and ".join(keys),
        )
        for row in engine.fetch(query).iter_rows(named=True)
    ]
