"""Data files read by the SQL engine itself, checked and typed in SQL.

DuckDB and Spark read CSV and Parquet without indexlab holding the rows: files, folders
(a partitioned Parquet dataset: ``year=2020/part-0.parquet``) and globs. What indexlab's
own reader (:mod:`engine.io.read`) guarantees holds here too, checked by queries:

* every key and required column is there (by the files' headers);
* keys are stripped and never empty; a key whose every value is a plain integer
  (``2020``, not ``01``) is an integer column, else text;
* numbers: surrounding spaces stripped, the declared missing tokens are missing, the
  declared thousands separator (in groups of three digits) dropped and a decimal comma
  read; any other text is an error (``not-numeric``), NaN and infinities too
  (``not-finite``); errors name the rows by their keys (engines number no lines);
* one row per key: duplicates are an error.

Files whose header has the detail keys hold detail rows, the others one row per unit
and period (as :func:`engine.runner.read_data` decides). Files with the same columns are
read together (stacked); groups with different columns are joined on the keys.
Excel and JSON files, and CSV in an encoding the engine cannot read, go through
indexlab's reader and are handed to the engine as tables.
"""

from __future__ import annotations

import codecs
import csv
import functools
import glob
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlglot import exp

from engine.backends.sql.engines import Engine
from engine.backends.sql.printer import DOUBLE, BIGINT, column
from engine.backends.sql.run import SqlData
from engine.backends.sql.statements import Source
from engine.diagnostics import Code, DataError, Diagnostic, Location, Severity
from engine.format.model import Methodology
from engine.io.read import DELIMITERS, SPACES, ReadOptions, load_data

__all__ = ["NATIVE", "read_sources"]

CSV = (".csv", ".tsv", ".txt")
PARQUET = (".parquet",)
#: what the engines read themselves
NATIVE = CSV + PARQUET
LIMIT = 10
VARCHAR = exp.DataType.build("VARCHAR")


@dataclass(frozen=True)
class Files:
    """Files of one kind and the same columns, read together."""

    kind: str  # "csv" or "parquet"
    paths: tuple[str, ...]
    header: tuple[str, ...]
    #: a partitioned Parquet dataset's root (its partition columns are in `header`)
    root: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"


def _expand(path: str) -> list[str]:
    """A file, a folder (every data file under it) or a glob, as files in name order."""
    if any(c in path for c in "*?["):
        return sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
    if os.path.isdir(path):
        found = []
        for root, _, names in os.walk(path):
            found += [os.path.join(root, n) for n in names if n.lower().endswith(NATIVE)]
        return sorted(found)
    return [path]


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _csv_header(path: str, options: ReadOptions) -> tuple[tuple[str, ...], str, str]:
    """The header line's names, the delimiter (given, or the one in the header line) and
    the encoding (a byte-order mark decides, else the option)."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    encoding = next((c for bom, c in _BOMS if head.startswith(bom)), options.encoding)
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    first = text.split("\n", 1)[0].rstrip("\r")
    delimiter = options.delimiter
    if delimiter is None:
        found = [d for d in DELIMITERS if re.sub(r'"[^"]*"', "", first).count(d)]
        if len(found) > 1:
            shown = ", ".join(map(repr, found))
            raise DataError(
                [
                    Diagnostic(
                        Code.DATA_FILE,
                        f"cannot tell the delimiter: the header line has {shown}",
                        Location(path, 1),
                        hint="set the delimiter explicitly",
                    )
                ]
            )
        delimiter = found[0] if found else ","
    names = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    return tuple(n.strip() for n in names), delimiter, encoding


def _partitions(path: str, root: str) -> tuple[str, ...]:
    rel = os.path.relpath(os.path.dirname(path), root)
    return tuple(p.split("=", 1)[0] for p in Path(rel).parts if "=" in p)


def _parquet_header(path: str, root: str | None) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    names = tuple(pq.read_schema(path).names)
    extra = _partitions(path, root) if root else ()
    return names + tuple(p for p in extra if p not in names)


def _group(
    engine: Engine, paths: Sequence[str | Path], options: ReadOptions
) -> tuple[list[Files], list[str]]:
    """Native files grouped by kind and header, and the files indexlab's reader reads."""
    groups: dict[tuple[object, ...], list[str]] = {}
    other: list[str] = []
    problems = []
    for given in map(str, paths):
        files = _expand(given)
        if not files:
            problems.append(Diagnostic(Code.DATA_FILE, "no data files match", Location(given)))
            continue
        root = given if os.path.isdir(given) else None
        for f in files:
            suffix = Path(f).suffix.lower()
            if not os.path.isfile(f):
                problems.append(Diagnostic(Code.DATA_FILE, "data file not found", Location(f)))
            elif suffix in CSV:
                header, delimiter, encoding = _csv_header(f, options)
                if engine.reads_encoding(encoding):
                    groups.setdefault(("csv", header, None, delimiter, encoding), []).append(f)
                else:
                    other.append(f)
            elif suffix in PARQUET:
                groups.setdefault(("parquet", _parquet_header(f, root), root, ",", ""), []).append(f)
            else:
                other.append(f)
    if problems:
        raise DataError(problems)
    return [
        Files(str(k), tuple(v), h, r, str(d), str(e))  # type: ignore[arg-type]
        for (k, h, r, d, e), v in groups.items()
    ], other


def _text(e: exp.Expression) -> exp.Expression:
    return exp.Trim(this=exp.cast(e, VARCHAR))


def _flag(cond: exp.Expression) -> exp.Expression:
    return exp.Case(
        ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)
    )


def _missing(s: exp.Expression, tokens: tuple[str, ...]) -> exp.Expression:
    return exp.or_(
        exp.Is(this=s.copy(), expression=exp.Null()),
        exp.In(this=s.copy(), expressions=[exp.Literal.string(t) for t in tokens]),
    )


def _replace(s: exp.Expression, old: str, new: str) -> exp.Expression:
    return exp.Anonymous(
        this="REPLACE", expressions=[s, exp.Literal.string(old), exp.Literal.string(new)]
    )


def _number(
    token: exp.Expression, options: ReadOptions, tokens: tuple[str, ...]
) -> tuple[exp.Expression, exp.Expression]:
    """(value, bad) of a text cell, parsed as indexlab's reader parses numbers."""
    s = _text(token)
    missing = _missing(s, tokens)
    s = _replace(s, "\u2212", "-")
    ok: exp.Expression = exp.true()
    if options.thousands is not None:
        seps = SPACES if options.thousands == " " else (options.thousands,)
        group = "[" + "".join(re.escape(c) for c in seps) + "]"
        point = re.escape(options.decimal)
        grouped = rf"^[+-]?[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?:{point}[0-9]*)?$"
        ok = exp.or_(
            exp.not_(exp.RegexpLike(this=s.copy(), expression=exp.Literal.string(group))),
            exp.RegexpLike(this=s.copy(), expression=exp.Literal.string(grouped)),
        )
        s = exp.RegexpReplace(
            this=s,
            expression=exp.Literal.string(group),
            replacement=exp.Literal.string(""),
            modifiers=exp.Literal.string("g"),
        )
    if options.decimal == ",":
        point_used = exp.RegexpLike(this=s.copy(), expression=exp.Literal.string(r"\."))
        ok = exp.and_(ok, exp.not_(point_used))
        s = _replace(s, ",", ".")
    value = exp.Case(
        ifs=[
            exp.If(
                this=exp.and_(exp.Paren(this=ok), exp.not_(exp.Paren(this=missing))),
                true=exp.TryCast(this=s, to=DOUBLE),
            )
        ]
    )
    bad = exp.and_(
        exp.not_(exp.Paren(this=missing.copy())), exp.Is(this=value.copy(), expression=exp.Null())
    )
    return value, bad


INTEGER = r"^-?(?:0|[1-9][0-9]{0,17})$"


@dataclass(frozen=True)
class _Typed:
    """One group's typed rows (keys still text) and whether each key is all integers."""

    files: Files
    select: exp.Select
    columns: tuple[str, ...]
    integer: dict[str, bool]
    duplicated: bool


def _typed(
    engine: Engine,
    m: Methodology,
    g: Files,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    options: ReadOptions,
    tokens: tuple[str, ...],
) -> _Typed:
    """Check the cells of one group; its rows with keys as text, labels and numbers."""
    raw, numbers = engine.scan(
        g.kind, g.paths, delimiter=g.delimiter, encoding=g.encoding, root=g.root
    )
    values: dict[str, exp.Expression] = {}
    bads: dict[str, exp.Expression] = {}
    for name in numeric:
        if name in numbers:
            values[name] = exp.cast(column(name), DOUBLE)
        else:
            values[name], bads[name] = _number(column(name), options, tokens)
    # one pass: per key, the rows and their bad cells; then over all keys
    inner: list[exp.Expression] = [exp.alias_(_text(column(k)), k, quoted=True) for k in keys]
    inner.append(exp.alias_(exp.Count(this=exp.Star()), "__n"))
    outer: list[exp.Expression] = [
        exp.alias_(exp.Coalesce(this=exp.Sum(this=column("__n")), expressions=[exp.Literal.number(0)]), "rows"),
        exp.alias_(exp.Max(this=column("__n")), "most"),
    ]
    for k in keys:
        empty = exp.or_(
            exp.Is(this=column(k), expression=exp.Null()),
            exp.EQ(this=column(k), expression=exp.Literal.string("")),
        )
        rows = exp.Case(ifs=[exp.If(this=empty, true=column("__n"))], default=exp.Literal.number(0))
        outer.append(exp.alias_(exp.Sum(this=rows), f"empty:{k}", quoted=True))
        plain = exp.RegexpLike(this=column(k), expression=exp.Literal.string(INTEGER))
        outer.append(exp.alias_(exp.Min(this=_flag(plain)), f"int:{k}", quoted=True))
    cells = [(f"bad:{n}", b) for n, b in bads.items()]
    cells += [(f"odd:{n}", exp.not_(_finite(v.copy()))) for n, v in values.items()]
    for name, cond in cells:
        inner.append(exp.alias_(exp.Sum(this=_flag(cond)), name, quoted=True))
        outer.append(exp.alias_(exp.Sum(this=column(name)), name, quoted=True))
    grouped = (
        exp.select(*inner).from_(raw.table.copy()).group_by(*(_text(column(k)) for k in keys))
    )
    sub = exp.Subquery(this=grouped, alias=exp.TableAlias(this=exp.to_identifier("per_key")))
    counts = engine.fetch(exp.select(*outer).from_(sub)).row(0, named=True)
    where = ", ".join(g.paths[:3]) + (f" and {len(g.paths) - 3} more files" if len(g.paths) > 3 else "")
    problems = []
    if not counts["rows"]:
        problems.append(Diagnostic(Code.DATA_FILE, "has a header but no data rows", Location(g.paths[0])))
    for k in keys:
        if counts[f"empty:{k}"]:
            problems.append(
                Diagnostic(Code.MISSING_KEY, f"key column '{k}' is empty in {counts[f'empty:{k}']} rows of {where}", Location(g.paths[0]))
            )
    for name, bad in bads.items():
        if counts[f"bad:{name}"]:
            problems.append(_cells(engine, raw, keys, name, bad, "has text where a number is expected", Code.NOT_NUMERIC, where, g))
    for name, value in values.items():
        if counts[f"odd:{name}"]:
            odd = exp.not_(_finite(value.copy()))
            problems.append(_cells(engine, raw, keys, name, odd, "has NaN or infinite values", Code.NOT_FINITE, where, g))
    if problems:
        raise DataError(problems)
    cols: list[exp.Expression] = [exp.alias_(_text(column(k)), k, quoted=True) for k in keys]
    for name in text:
        s = _text(column(name))
        cols.append(exp.alias_(exp.Case(ifs=[exp.If(this=_missing(s, tokens), true=exp.Null())], default=s.copy()), name, quoted=True))
    cols += [exp.alias_(v, n, quoted=True) for n, v in values.items()]
    select = exp.select(*cols).from_(raw.table.copy())
    integer = {k: bool(counts[f"int:{k}"]) for k in keys}
    duplicated = bool(counts["most"] and counts["most"] > 1)
    return _Typed(g, select, tuple([*keys, *text, *values]), integer, duplicated)


def _finite(value: exp.Expression) -> exp.Expression:
    # NaN sorts above +inf in every engine, so it fails `x < inf`; missing stays missing
    from engine.backends.sql.dialects import double

    inside = exp.and_(
        exp.GT(this=value.copy(), expression=double("-Infinity")),
        exp.LT(this=value.copy(), expression=double("Infinity")),
    )
    return exp.or_(exp.Is(this=value, expression=exp.Null()), exp.Paren(this=inside))


def _cells(
    engine: Engine, raw: Source, keys: Sequence[str], name: str, bad: exp.Expression, what: str, code: Code, where: str, g: Files
) -> Diagnostic:
    """One diagnostic for the offending cells of a column: rows by key, distinct tokens."""
    token = _text(column(name))
    rows = engine.fetch(
        exp.select(*(exp.alias_(_text(column(k)), k, quoted=True) for k in keys), exp.alias_(token, "__token"))
        .from_(raw.table.copy()).where(bad).order_by(*(column(k) for k in keys)).limit(LIMIT)
    )
    shown = ", ".join(" ".join(str(v) for v in r[:-1]) for r in rows.iter_rows())
    tokens = engine.fetch(
        exp.select(exp.alias_(token.copy(), "t"), exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(raw.table.copy()).where(bad.copy()).group_by(token.copy())
        .order_by(exp.Ordered(this=column("n"), desc=True), column("t")).limit(5)
    )
    listed = ", ".join(f"{t!r}" + (f" ×{n}" if n > 1 else "") for t, n in tokens.iter_rows())
    return Diagnostic(code, f"column '{name}' {what} in {where}, for: {shown}: {listed}", Location(g.paths[0]))


def _integer_keys(typed: list[_Typed], keys: Sequence[str]) -> set[str]:
    return {k for k in keys if all(t.integer[k] for t in typed)}


def _keyed(t: _Typed, keys: Sequence[str], integer: set[str]) -> Source:
    cols: list[exp.Expression] = [
        exp.alias_(exp.cast(column(c), BIGINT), c, quoted=True) if c in integer else column(c)
        for c in t.columns
    ]
    select = exp.select(*cols).from_(exp.Subquery(this=t.select, alias=exp.TableAlias(this=exp.to_identifier("cells"))))
    return Source(exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("typed"))), t.columns)


def _duplicates(engine: Engine, t: _Typed, src: Source, keys: Sequence[str]) -> None:
    n = exp.alias_(exp.Count(this=exp.Star()), "__n")
    query = (
        exp.select(*(column(k) for k in keys), n)
        .from_(src.table.copy())
        .group_by(*(column(k) for k in keys))
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        .order_by(*(column(k) for k in keys))
        .limit(LIMIT)
    )
    dupes = engine.fetch(query)
    if dupes.height == 0:
        return
    where = ", ".join(t.files.paths[:3]) + (f" and {len(t.files.paths) - 3} more files" if len(t.files.paths) > 3 else "")
    problems = []
    for row in dupes.iter_rows(named=True):
        ident = ", ".join(f"{k}={row[k]!r}" for k in keys)
        problems.append(
            Diagnostic(
                Code.DUPLICATE_ROW,
                f"{row['__n']} rows for {ident} in {where}",
                Location(t.files.paths[0]),
                hint="keep one row per " + " and ".join(keys),
            )
        )
    raise DataError(problems)


def read_sources(
    m: Methodology, engine: Engine, paths: Sequence[str | Path], options: ReadOptions | None = None
) -> SqlData:
    """The data a methodology needs, as typed relations of the engine (every problem in
    the files reported at once)."""
    opts = options or ReadOptions()
    tokens = opts.missing + tuple(t for t in (m.layout.missing or ()) if t not in opts.missing)
    groups, other = _group(engine, paths, opts)
    present = {n for g in groups for n in g.header}
    frames: list[pl.DataFrame] = []
    if other:  # Excel and JSON: indexlab's reader, then a table of the engine
        from engine.runner import read_data

        data = read_data(m, other, opts)
        frames = [f for f in (data.units, data.detail) if f is not None]
        present |= {n for f in frames for n in f.columns}
    absent = [i for i in m.inputs if i.optional and i.name not in present]
    notes = tuple(
        Diagnostic(
            Code.MISSING_VALUE,
            f"optional input '{i.name}' is not in the data: it is missing in every row",
            severity=Severity.WARNING,
        )
        for i in absent
    )
    skipped = {i.name for i in absent}
    detail_inputs = [i.name for i in m.inputs if i.grain == "detail" and i.name not in skipped]
    unit_inputs = [i.name for i in m.inputs if i.grain == "unit" and i.name not in skipped]
    detail_groups = (
        [g for g in groups if set(m.layout.detail) <= set(g.header)] if detail_inputs else []
    )
    unit_groups = [g for g in groups if g not in detail_groups]
    labels = m.layout.labels
    detail = units = None
    if detail_groups:
        text = labels if not unit_groups else ()
        detail = _combine(engine, m, detail_groups, m.layout.detail_keys, detail_inputs, text, opts, tokens)
    if unit_groups:
        units = _combine(engine, m, unit_groups, m.layout.keys, unit_inputs, labels, opts, tokens)
    for f in frames:  # read by indexlab's reader
        src = engine.register(f)
        if m.layout.detail and set(m.layout.detail) <= set(f.columns):
            detail = detail or src
        else:
            units = units or src
    return SqlData(units, detail, notes)


def _combine(
    engine: Engine,
    m: Methodology,
    groups: list[Files],
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    options: ReadOptions,
    tokens: tuple[str, ...],
) -> Source:
    """The groups' typed and checked rows, joined on the keys."""
    required = list(dict.fromkeys([*keys, *text, *numeric]))
    problems = []
    for g in groups:
        for k in keys:
            if k not in g.header:
                problems.append(
                    Diagnostic(
                        Code.MISSING_COLUMN,
                        f"key column '{k}' is missing (columns present: {', '.join(g.header)})",
                        Location(g.paths[0]),
                    )
                )
    everywhere = {n for g in groups for n in g.header}
    names = ", ".join(p for g in groups for p in g.paths[:3])
    for name in required:
        if name not in keys and name not in everywhere:
            problems.append(
                Diagnostic(Code.MISSING_COLUMN, f"column '{name}' is missing from {names}", Location(groups[0].paths[0]))
            )
    if problems:
        raise DataError(problems)
    typed = [
        _typed(engine, m, g, keys, [c for c in numeric if c in g.header], [c for c in text if c in g.header], options, tokens)
        for g in groups
    ]
    integer = _integer_keys(typed, keys)
    parts = [_keyed(t, keys, integer) for t in typed]
    for t, part in zip(typed, parts):
        if t.duplicated:
            _duplicates(engine, t, part, keys)
    joined = parts[0]
    for part in parts[1:]:
        on = functools.reduce(exp.and_, [_q(k, "a").eq(_q(k, "b")) for k in keys])
        cols: list[exp.Expression] = [
            exp.alias_(exp.Coalesce(this=_q(k, "a"), expressions=[_q(k, "b")]), k, quoted=True)
            for k in keys
        ]
        cols += [_q(c, "a") for c in joined.columns if c not in keys]
        cols += [_q(c, "b") for c in part.columns if c not in keys and c not in joined.columns]
        select = (
            exp.select(*cols)
            .from_(exp.alias_(joined.table.copy(), "a", table=True))
            .join(exp.alias_(part.table.copy(), "b", table=True), on=on, join_type="full")
        )
        joined = Source(
            exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("joined"))),
            tuple(dict.fromkeys([*joined.columns, *part.columns])),
        )
    return joined


def _q(name: str, alias: str) -> exp.Column:
    return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(alias, quoted=True))
