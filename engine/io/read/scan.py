"""Reading for a streamed run: Parquet and IPC files as a lazy scan, checked by aggregates.

The reader (:func:`engine.io.read.load_data`) holds every cell in memory. A streamed run
(:mod:`engine.streamrun`) scans the files instead and makes the reader's checks as a few
streamed aggregates: key columns not empty and without control characters or spaces
around them, Unicode-normalised (on their distinct non-ASCII values), plain-integer ids
as integers, periods whole numbers, numbers finite, no duplicate keys (rows in
strictly increasing key order, each compared with the row before; otherwise a 64-bit
hash of the keys counted, a repeated hash checked exactly), at least one row. As in the
reader, one screen clears clean columns cheaply (a key by one regex, a number by a
finite sum, :func:`engine.io.read.cells.clean_columns`); the key tests run one by one
only on a key it does not clear. Text labels are stripped and missing markers become
null, row by row.

Where a check finds anything to report (or the files need what only the reader does:
CSV, Excel or JSON files, numbers stored as text, files with different columns to join),
:func:`scan_data` says why and the caller reads with the full reader, which locates and
reports every problem exactly as it always does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.backends.polars import ENGINE
from engine.io.read.cells import CHECKED_KEY, CONTROL, PLAIN_INT, SCRIPTS
from engine.io.read.columnar import scan_columnar
from engine.io.read.combine import not_after
from engine.io.read.options import IPC_SUFFIXES, IdSpaces, ReadOptions

__all__ = ["Scanned", "scan_data"]


@dataclass(frozen=True)
class Scanned:
    """The data as a lazy frame (keys, labels, Float64 inputs), its rows and periods."""

    frame: pl.LazyFrame
    rows: int
    periods: int


def _columnar(paths: Sequence[object]) -> list[Path] | None:
    out = []
    for p in paths:
        if not isinstance(p, str | Path):
            return None
        path = Path(p)
        if not (path.suffix.lower() == ".parquet" or path.suffix.lower() in IPC_SUFFIXES):
            return None
        if not path.is_file():
            return None
        out.append(path)
    return out


def scan_data(
    paths: Sequence[object],
    *,
    keys: Sequence[str],
    numeric: Sequence[str],
    text: Sequence[str],
    period: str | None,
    options: ReadOptions,
    duplicates: bool = True,
) -> Scanned | str:
    """The files as one checked lazy frame (columns: keys, text, numeric), or why the
    full reader must read them. `duplicates=False` leaves the duplicate keys to the
    caller (a streamed run of detail data counts them period by period: a hash per row
    of every period would grow with the rows)."""
    files = _columnar(paths)
    if files is None:
        return "only Parquet and IPC files are scanned"
    required = list(dict.fromkeys([*keys, *text, *numeric]))
    try:
        scans = [scan_columnar(f) for f in files]
        schemas = [s.collect_schema() for s in scans]
    except (OSError, pl.exceptions.PolarsError):
        return "a file cannot be scanned"
    for schema in schemas:
        names = schema.names()
        if len(set(names)) != len(names) or not set(required) <= set(names):
            return "the files' columns differ or repeat"
    dtypes = {n: schemas[0][n] for n in required}
    if any(s[n] != dtypes[n] for s in schemas for n in required):
        return "the files' column types differ"
    # the reader reports a file without rows (the count comes from the file's metadata)
    if len(scans) > 1 and not all(s.select(pl.len()).collect().item() for s in scans):
        return "a file has no data rows"
    if any(not dtypes[n].is_numeric() for n in numeric if n not in keys and n not in text):
        return "numbers stored as text"
    frame = pl.concat([s.select(required) for s in scans], how="vertical")
    typed: list[pl.Expr] = []
    checks: list[pl.Expr] = [pl.len().alias("rows")]
    trim = options.id_spaces == IdSpaces.TRIM
    text_keys = []
    for k in keys:
        c, dtype = pl.col(k), dtypes[k]
        checks.append(c.null_count().alias(f"nulls:{k}"))
        if dtype.is_integer():
            typed.append(c.cast(pl.Int64))
        elif dtype.is_float():
            checks.append((c.is_finite() & (c == c.round(0))).not_().any().alias(f"bad:{k}"))
            typed.append(c.cast(pl.Int64))
        elif dtype == pl.String:
            # one regex clears a plain key of every test (cells.clean_columns)
            checks.append(c.str.contains(CHECKED_KEY).any().alias(f"unscreened:{k}"))
            text_keys.append(k)
        else:
            return f"key column '{k}' of type {dtype}"
    for n in text:
        if dtypes[n] != pl.String:
            return f"label column '{n}' of type {dtypes[n]}"
    finite = [n for n in numeric if n not in keys and n not in text]
    # a finite sum proves every value finite (cells.clean_columns)
    checks += [pl.col(n).cast(pl.Float64).sum().is_finite().alias(f"sum:{n}") for n in finite]
    # a key is only tested for plain integers when its first value is one
    if text_keys:
        head = frame.select(pl.col(text_keys).first()).collect(engine=ENGINE).row(0, named=True)
        checks += [
            pl.col(k).str.contains(PLAIN_INT).all().alias(f"ints:{k}")
            for k in text_keys
            if isinstance(head[k], str) and re.match(PLAIN_INT, head[k])
        ]
    if period is not None:
        checks.append(pl.col(period).n_unique().alias("periods"))
    found = frame.select(checks).collect(engine=ENGINE).row(0, named=True)
    found.update(_key_tests(frame, [k for k in text_keys if found[f"unscreened:{k}"]], trim))
    if not found["rows"]:
        return "no data rows"
    if any(found.get(f"nulls:{k}") for k in keys) or any(
        found.get(f"{t}:{k}") for k in keys for t in ("bad", "empty", "control", "spaced")
    ):
        return "a key column needs the reader's messages"
    unsure = [n for n in finite if not found[f"sum:{n}"]]  # or a sum that overflowed
    if unsure and not _finite(frame, unsure):
        return "a number is not finite"
    for k in text_keys:
        ints = found.get(f"ints:{k}", False)
        if k == period and not ints:
            return "periods written as text"
        if found.get(f"wide:{k}"):
            replaced = _normalised(frame, k)
            if replaced is None:
                return f"key column '{k}' mixes scripts"
            typed.append(replaced)
        elif ints:
            typed.append(pl.col(k).cast(pl.Int64))
    for n in text:
        value = pl.col(n).str.strip_chars()
        typed.append(pl.when(~value.is_in(list(options.missing))).then(value).alias(n))
    typed += [pl.col(n).cast(pl.Float64) for n in finite]
    frame = frame.with_columns(typed)
    # keys in order are distinct as read; NFC can make two of them one
    wide = any(found.get(f"wide:{k}") for k in keys)
    if (
        duplicates
        and (wide or not _in_order(frame, list(keys)))
        and _duplicates(frame, list(keys), int(found["rows"]))
    ):
        return "duplicate keys"
    return Scanned(frame, int(found["rows"]), int(found.get("periods") or 1))


def _key_tests(frame: pl.LazyFrame, keys: list[str], trim: bool) -> dict[str, bool]:
    """The key tests of the reader, one by one, for the keys the screen did not clear:
    empty, control characters, spaces around, non-ASCII (to be normalised)."""
    if not keys:
        return {}
    tests = []
    for k in keys:
        c = pl.col(k)
        stripped = c.str.strip_chars()
        kept = stripped if trim else c
        tests += [
            (kept == "").any().alias(f"empty:{k}"),
            kept.str.contains_any(CONTROL).any().alias(f"control:{k}"),
            (c != stripped).any().alias(f"spaced:{k}"),
            (c.str.len_bytes() != c.str.len_chars()).any().alias(f"wide:{k}"),
        ]
    return dict(frame.select(tests).collect(engine=ENGINE).row(0, named=True))


def _finite(frame: pl.LazyFrame, names: list[str]) -> bool:
    """Every present value of the columns finite, value by value."""
    finite = pl.col(names).cast(pl.Float64).is_finite().fill_null(True).all()
    return all(frame.select(finite).collect(engine=ENGINE).row(0))


def _normalised(frame: pl.LazyFrame, key: str) -> pl.Expr | None:
    """The key's non-ASCII values in NFC (checked on the distinct values); None when a
    value mixes Latin, Cyrillic or Greek letters (the reader's warning names it)."""
    c = pl.col(key)
    table = (
        frame.select(c.filter(c.str.len_bytes() != c.str.len_chars()).unique().alias("raw"))
        .with_columns(
            pl.col("raw").str.normalize("NFC").alias("nfc"),
            (
                pl.sum_horizontal(
                    pl.col("raw").str.contains(rf"\p{{{s}}}").cast(pl.Int8) for s in SCRIPTS
                )
                > 1
            ).alias("mixed"),
        )
        .collect(engine=ENGINE)
    )
    if table.get_column("mixed").any():
        return None
    changed = table.filter(pl.col("raw") != pl.col("nfc"))
    if changed.height == 0:
        return c
    return c.replace(changed.get_column("raw"), changed.get_column("nfc"))


def _in_order(frame: pl.LazyFrame, keys: list[str]) -> bool:
    """Whether the rows are in strictly increasing order of the keys, unit first or
    period first (then no two have the same keys): each row compared with the one
    before as they stream, in a pass of its own over the keys (beside the checks'
    aggregates the comparison with the row before would hold every column in memory)."""
    orders = list(dict.fromkeys([tuple(keys), (keys[-1], *keys[:-1])]))
    tests = [not_after(o).any().alias(str(i)) for i, o in enumerate(orders)]
    return not all(frame.select(tests).collect(engine=ENGINE).row(0))


#: the rows whose key hashes are counted in one pass (a set of their hashes is held)
HASHED_ROWS = 5_000_000


def _duplicates(frame: pl.LazyFrame, keys: list[str], rows: int) -> bool:
    """Whether two rows may have the same keys: their hashes are counted, in passes over
    the rows whose hash falls in a part of the hashes (equal keys hash alike, so a
    repeat is within one part), about :data:`HASHED_ROWS` rows each, so that the set of
    distinct hashes held stays small; only when two hashes are equal are the keys
    themselves counted."""
    hashed = pl.struct(keys).hash()
    parts = max(1, -(-rows // HASHED_ROWS))
    for j in range(parts):
        part = frame if parts == 1 else frame.filter(hashed % parts == j)
        got = part.select(hashed.n_unique().alias("n"), pl.len().alias("rows"))
        row = got.collect(engine=ENGINE).row(0, named=True)
        if row["n"] != row["rows"]:
            break
    else:
        return False
    counted = frame.group_by(keys).len().select((pl.col("len") > 1).any())
    return bool(counted.collect(engine=ENGINE).item())
