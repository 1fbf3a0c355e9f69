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
read together (stacked), groups with different columns joined on the keys. Finding the
files is :mod:`.files`; checking their cells, :mod:`.cells`.

Everything else goes through indexlab's own reader and is handed to the engine as
tables: Excel, JSON and in-memory frames, CSV in an encoding the engine cannot decode,
and reading options the engines do not have (``skip_rows``, ``id_spaces='keep'``,
``unicode_minus``; Unicode normalisation of keys is left to the data: DuckDB and Spark
compare keys as written).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from engine.backends.sql.cells import duplicates, keyed, typed
from engine.backends.sql.engines import Engine
from engine.backends.sql.files import Files, group, native
from engine.backends.sql.functions import column
from engine.backends.sql.run import SqlData
from engine.backends.sql.statements import Source
from engine.diagnostics import Code, DataError, Diagnostic, Location, Severity
from engine.format.model import Methodology
from engine.io.read import ReadOptions

__all__ = ["read_sources", "table_source"]

LIMIT = 10


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
    checked, warnings = [], []
    for raw, numbers, where, location, header in pieces:
        t, w = typed(
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
        checked.append(t)
        warnings += w
    integer = {k for k in keys if all(t.integer[k] for t in checked)}
    period = m.layout.period
    whole = {
        k
        for k in keys
        if k == period and k not in integer and all(t.whole[k] or t.integer[k] for t in checked)
    }
    parts = [keyed(t, keys, integer, whole) for t in checked]
    dupes = [
        d
        for t, part in zip(checked, parts)
        if t.duplicated
        for d in duplicates(engine, t, part, keys)
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
    if not native(engine, items, opts):
        from engine.runner import read_data

        data = read_data(m, list(items), opts)
        units = engine.register(data.units) if data.units is not None else None
        detail = engine.register(data.detail) if data.detail is not None else None
        return SqlData(units, detail, data.warnings)
    tokens = _tokens(m, opts)
    found = group([str(i) for i in items], opts)
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
