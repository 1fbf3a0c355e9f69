"""Data read by the SQL engine itself, checked and typed in SQL.

DuckDB and Spark read CSV and Parquet without indexlab holding the rows: files, folders
(a partitioned Parquet dataset: ``year=2020/part-0.parquet``) and globs; a DuckDB
relation or a Spark DataFrame is read the same way. What indexlab's reader
(:mod:`engine.io.read`) guarantees holds here too, checked by one grouped query per
group of files (failures are then looked up):

* every key and required column is there (by the files' headers);
* keys: spaces around them trimmed (a warning names them), never empty, no control
  characters; a key whose every value is a plain integer (``2020``, not ``01``) is an
  integer column, else text; a period written as a whole float (``2010.0``) is an
  integer;
* numbers: spaces ignored, the declared missing tokens missing, the declared thousands
  separator (in groups of three digits) dropped and a decimal comma read, U+2212 read as
  a minus when a number convention is declared; any other text is an error
  (``not-numeric``), NaN and infinities too (``not-finite``); the engines number no
  lines, so errors name the rows by their keys;
* one row per key: duplicates are an error.

Files whose header has the detail keys hold detail rows, the others one row per unit
and period (as :func:`engine.runner.read_data` decides); files with the same columns are
read together (stacked), groups with different columns joined on the keys.

Everything else goes through indexlab's own reader and is handed to the engine as
tables: Excel, JSON and in-memory frames, CSV in an encoding the engine cannot decode,
and reading options the engines do not have (``skip_rows``, ``id_spaces='keep'``,
``unicode_minus``; Unicode normalisation of keys is left to the data: DuckDB and Spark
compare keys as written).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import glob
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot import exp

from engine.backends.sql.dialects import double
from engine.backends.sql.engines import Engine
from engine.backends.sql.printer import BIGINT, DOUBLE, column
from engine.backends.sql.run import SqlData
from engine.backends.sql.statements import Source
from engine.diagnostics import Code, DataError, Diagnostic, Location, Severity
from engine.format.model import Methodology
from engine.io.read import IdSpaces, InMemory, ReadOptions
from engine.io.read.options import DELIMITERS, SPACES

__all__ = ["NATIVE", "read_sources", "table_source"]

CSV = (".csv", ".tsv", ".txt")
PARQUET = (".parquet",)
#: the files the engines read themselves
NATIVE = CSV + PARQUET
LIMIT = 10
VARCHAR = exp.DataType.build("VARCHAR")
INTEGER = r"^-?(?:0|[1-9][0-9]{0,17})$"
WHOLE = r"^-?[0-9]+\.0*$"
CONTROL = "[\\x00-\\x1f\\x7f]"


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

    @property
    def where(self) -> str:
        more = f" and {len(self.paths) - 3} more files" if len(self.paths) > 3 else ""
        return ", ".join(self.paths[:3]) + more


# -- finding and grouping files --------------------------------------------------------


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


def _parquet_header(path: str, root: str | None) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    names = tuple(pq.read_schema(path).names)
    if root is None:
        return names
    rel = Path(os.path.relpath(os.path.dirname(path), root))
    parts = tuple(p.split("=", 1)[0] for p in rel.parts if "=" in p)
    return names + tuple(p for p in parts if p not in names)


def _native(engine: Engine, items: Sequence[Any], options: ReadOptions) -> bool:
    """Whether the engine reads all of `items` itself (else indexlab's reader does)."""
    if options.skip_rows or options.id_spaces != IdSpaces.TRIM or options.unicode_minus is not None:
        return False
    for item in items:
        if isinstance(item, InMemory):
            return False
        if _remote(str(item)):
            continue
        for f in _expand(str(item)):
            if not f.lower().endswith(NATIVE):
                return False
            csv_file = f.lower().endswith(CSV) and os.path.isfile(f)
            if csv_file and not engine.reads_encoding(_csv_header(f, options)[2]):
                return False
    return True


def _remote(path: str) -> bool:
    """A URL (s3://, hdfs://, https://...): read by the engine, not looked at here."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path) is not None


def _group(paths: Sequence[str], options: ReadOptions) -> list[Files]:
    """Files grouped by kind and header; a URL is a group of its own, its header read by
    the engine (a URL without a data file's extension is a Parquet dataset)."""
    groups: dict[tuple[str, tuple[str, ...], str | None, str, str], list[str]] = {}
    problems = []
    remote = []
    for given in paths:
        if _remote(given):
            csv_url = given.lower().endswith(CSV)
            remote.append(
                Files(
                    "csv" if csv_url else "parquet",
                    (given,),
                    (),
                    None if given.lower().endswith(NATIVE) else given,
                    options.delimiter or ",",
                    options.encoding if csv_url else "",
                )
            )
            continue
        files = _expand(given)
        if not files:
            problems.append(Diagnostic(Code.DATA_FILE, "no data files match", Location(given)))
        root = given if os.path.isdir(given) else None
        for f in files:
            if not os.path.isfile(f):
                problems.append(Diagnostic(Code.DATA_FILE, "data file not found", Location(f)))
            elif f.lower().endswith(CSV):
                header, delimiter, encoding = _csv_header(f, options)
                groups.setdefault(("csv", header, None, delimiter, encoding), []).append(f)
            else:
                header = _parquet_header(f, root)
                groups.setdefault(("parquet", header, root, ",", ""), []).append(f)
    if problems:
        raise DataError(problems)
    return [Files(k, tuple(v), h, r, d, e) for (k, h, r, d, e), v in groups.items()] + remote


# -- cells -------------------------------------------------------------------------------


def _text(e: exp.Expr) -> exp.Expr:
    return exp.Trim(this=exp.cast(e, VARCHAR))


def _flag(cond: exp.Expr) -> exp.Expr:
    return exp.Case(
        ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)
    )


def _absent(s: exp.Expr, tokens: tuple[str, ...]) -> exp.Expr:
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
    missing = _absent(s, tokens)
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
class _Typed:
    """One group's rows: keys as text (typed once every group is seen), labels, numbers."""

    where: str
    location: str
    select: exp.Select
    columns: tuple[str, ...]
    #: per key: every value a plain integer; a whole float; duplicates present
    integer: dict[str, bool]
    whole: dict[str, bool]
    duplicated: bool


def _typed(
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
) -> tuple[_Typed, list[Diagnostic]]:
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
            ifs=[exp.If(this=_absent(cell, tokens), true=exp.Null())], default=cell.copy()
        )
        cols.append(exp.alias_(kept, name, quoted=True))
    cols += [exp.alias_(v, n, quoted=True) for n, v in values.items()]
    typed = _Typed(
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


# -- combining -----------------------------------------------------------------------------


def _keyed(t: _Typed, keys: Sequence[str], integer: set[str], whole: set[str]) -> Source:
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


def _duplicates(engine: Engine, t: _Typed, src: Source, keys: Sequence[str]) -> list[Diagnostic]:
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


def _q(name: str, alias: str) -> exp.Column:
    return exp.Column(
        this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(alias, quoted=True)
    )


def _join(parts: list[Source], keys: Sequence[str]) -> Source:
    """Sources with different columns, full-joined on the keys."""
    joined = parts[0]
    for part in parts[1:]:
        on = exp.and_(*(_q(k, "a").eq(_q(k, "b")) for k in keys))
        cols: list[exp.Expr] = [
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


def _combine(
    engine: Engine,
    m: Methodology,
    pieces: list[Piece],
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    options: ReadOptions,
    tokens: tuple[str, ...],
) -> tuple[Source, list[Diagnostic]]:
    """Raw relations (source, numeric columns, where, location, header): checked, typed,
    joined on the keys; and the warnings."""
    problems = []
    for _, _, where, location, header in pieces:
        for k in keys:
            if k not in header:
                problems.append(
                    Diagnostic(
                        Code.MISSING_COLUMN,
                        f"key column '{k}' is missing from {where} "
                        f"(columns present: {', '.join(header)})",
                        Location(location),
                    )
                )
    everywhere = {n for *_, header in pieces for n in header}
    for name in dict.fromkeys([*text, *numeric]):
        if name not in everywhere:
            names = ", ".join(p[2] for p in pieces)
            problems.append(
                Diagnostic(
                    Code.MISSING_COLUMN,
                    f"column '{name}' is missing from {names}",
                    Location(pieces[0][3]),
                )
            )
    if problems:
        raise DataError(problems)
    typed, warnings = [], []
    for raw, numbers, where, location, header in pieces:
        t, w = _typed(
            engine,
            raw,
            numbers,
            where,
            location,
            keys,
            [c for c in numeric if c in header],
            [c for c in text if c in header],
            options,
            tokens,
        )
        typed.append(t)
        warnings += w
    integer = {k for k in keys if all(t.integer[k] for t in typed)}
    period = m.layout.period
    whole = {
        k
        for k in keys
        if k == period and k not in integer and all(t.whole[k] or t.integer[k] for t in typed)
    }
    parts = [_keyed(t, keys, integer, whole) for t in typed]
    dupes = [
        d
        for t, part in zip(typed, parts)
        if t.duplicated
        for d in _duplicates(engine, t, part, keys)
    ]
    if dupes:
        raise DataError(dupes)
    return _join(parts, keys), warnings


# -- entry points ----------------------------------------------------------------------------


Piece = tuple[Source, frozenset[str], str, str, tuple[str, ...]]


def _renamed(m: Methodology, piece: Piece) -> Piece:
    """A raw relation with the data's headers (``data.columns``) renamed to the
    methodology's names, as indexlab's reader renames them."""
    names = {header: name for name, header in m.layout.columns}
    raw, numbers, where, location, header = piece
    if not names.keys() & set(header):
        return piece
    cols = [
        exp.alias_(column(h), names[h], quoted=True) if h in names else column(h) for h in header
    ]
    sub = exp.Subquery(
        this=exp.select(*cols).from_(raw.table.copy()),
        alias=exp.TableAlias(this=exp.to_identifier("named")),
    )
    renamed = tuple(names.get(h, h) for h in header)
    return (
        Source(sub, renamed),
        frozenset(names.get(h, h) for h in numbers),
        where,
        location,
        renamed,
    )


def _tokens(m: Methodology, options: ReadOptions) -> tuple[str, ...]:
    return options.missing + tuple(t for t in (m.layout.missing or ()) if t not in options.missing)


def _absent_optional(m: Methodology, present: set[str]) -> tuple[set[str], tuple[Diagnostic, ...]]:
    absent = [i for i in m.inputs if i.optional and i.name not in present]
    notes = tuple(
        Diagnostic(
            Code.MISSING_VALUE,
            f"optional input '{i.name}' is not in the data: it is missing in every row",
            severity=Severity.WARNING,
        )
        for i in absent
    )
    return {i.name for i in absent}, notes


def read_sources(
    m: Methodology, engine: Engine, items: Sequence[Any], options: ReadOptions | None = None
) -> SqlData:
    """The data a methodology needs as typed relations of the engine (every problem in
    the files reported at once)."""
    opts = options or ReadOptions()
    if not _native(engine, items, opts):
        from engine.runner import read_data

        data = read_data(m, list(items), opts)
        units = engine.register(data.units) if data.units is not None else None
        detail = engine.register(data.detail) if data.detail is not None else None
        return SqlData(units, detail, data.warnings)
    tokens = _tokens(m, opts)
    found = _group([str(i) for i in items], opts)
    scanned = {}
    groups = []
    for g in found:  # the engine reads each group once; a URL's header comes from it
        raw, numbers = engine.scan(
            g.kind, g.paths, delimiter=g.delimiter, encoding=g.encoding, root=g.root
        )
        g = dataclasses.replace(g, header=g.header or raw.columns)
        scanned[g] = (raw, numbers)
        groups.append(g)
    names = {header: name for name, header in m.layout.columns}
    skipped, notes = _absent_optional(m, {names.get(n, n) for g in groups for n in g.header})
    detail_inputs = [i.name for i in m.inputs if i.grain == "detail" and i.name not in skipped]
    unit_inputs = [i.name for i in m.inputs if i.grain == "unit" and i.name not in skipped]
    detail_groups = (
        [g for g in groups if {m.layout.header(k) for k in m.layout.detail} <= set(g.header)]
        if detail_inputs
        else []
    )
    unit_groups = [g for g in groups if g not in detail_groups]
    if detail_inputs and not detail_groups:
        detail_groups, unit_groups = groups, []  # the check names the missing detail keys

    def pieces(gs: list[Files]) -> list[Piece]:
        out = []
        for g in gs:
            raw, numbers = scanned[g]
            out.append(_renamed(m, (raw, numbers, g.where, g.paths[0], g.header)))
        return out

    warnings: list[Diagnostic] = []
    detail = units = None
    labels = m.layout.labels
    if detail_groups:
        detail, w = _combine(
            engine,
            m,
            pieces(detail_groups),
            m.layout.detail_keys,
            detail_inputs,
            labels if not unit_groups else (),
            opts,
            tokens,
        )
        warnings += w
    if unit_groups:
        units, w = _combine(
            engine, m, pieces(unit_groups), m.layout.keys, unit_inputs, labels, opts, tokens
        )
        warnings += w
    return SqlData(units, detail, tuple(warnings) + notes)


def table_source(m: Methodology, engine: Engine, table: Any) -> SqlData:
    """A DuckDB relation or a Spark DataFrame as the data, checked and typed like a file."""
    raw, numbers = engine.native(table)
    name = f"<{type(table).__name__}>"
    piece = _renamed(m, (raw, numbers, name, name, raw.columns))
    header = piece[4]
    skipped, notes = _absent_optional(m, set(header))
    on_detail = bool(m.layout.detail) and set(m.layout.detail) <= set(header)
    grain_name = "detail" if on_detail else "unit"
    numeric = [i.name for i in m.inputs if i.grain == grain_name and i.name not in skipped]
    keys = m.layout.detail_keys if on_detail else m.layout.keys
    tokens = _tokens(m, ReadOptions())
    source, warnings = _combine(
        engine, m, [piece], keys, numeric, m.layout.labels, ReadOptions(), tokens
    )
    if on_detail:
        return SqlData(None, source, tuple(warnings) + notes)
    return SqlData(source, None, tuple(warnings) + notes)
