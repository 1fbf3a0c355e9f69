"""Combining the typed frames of several files into one: stack, check keys, join.

Files with the same set of required columns are stacked; every stack must have one row
per key (a duplicate is reported with every file and line it is on); the stacks are
then full-joined on the keys. A column found in two stacks is ambiguous and reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engine.diagnostics import Code, Diagnostic, Location
from engine.io.read.source import Source, lines_text, problem

__all__ = ["combine", "in_key_order", "integer_keys", "not_after"]


def combine(
    frames: Sequence[pl.DataFrame],
    sources: Sequence[Source],
    keys: Sequence[str],
    required: Sequence[str],
    problems: list[Diagnostic],
) -> pl.DataFrame:
    """Stack files with the same columns, check duplicate keys, full-join the stacks."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, frame in enumerate(frames):
        names = tuple(c for c in required if c in frame.columns)
        groups.setdefault(names, []).append(i)
    owner: dict[str, int] = {}
    joined: pl.DataFrame | None = None
    for names, members in groups.items():
        parts = [frames[i].select(names) for i in members]
        stack = pl.concat(parts) if len(parts) > 1 else parts[0]
        _check_duplicates(stack, [sources[i] for i in members], keys, problems)
        for name in names:
            if name in keys:
                continue
            if name in owner:
                a, b = sources[owner[name]].file, sources[members[0]].file
                problems.append(
                    problem(
                        Code.DATA_FILE,
                        b,
                        f"column '{name}' is in both {a} and {b}, which have different "
                        "columns: which one counts is ambiguous",
                        hint="give the files the same columns (to stack them) or drop "
                        "the column from one of them",
                    )
                )
            owner[name] = members[0]
        joined = (
            stack
            if joined is None
            else joined.join(stack, on=list(keys), how="full", coalesce=True)
        )
    assert joined is not None
    return joined


def _check_duplicates(
    stack: pl.DataFrame, sources: Sequence[Source], keys: Sequence[str], problems: list[Diagnostic]
) -> None:
    """One diagnostic per duplicated key, naming every file and line it is on."""
    if in_key_order(stack, keys):
        return
    key = pl.struct(keys) if len(keys) > 1 else pl.col(keys[0])
    # distinct hashes prove distinct keys; equal hashes (a duplicate, or a collision)
    # are settled exactly
    if stack.select(key.hash().n_unique()).item() == stack.height:
        return
    if stack.select(key.n_unique()).item() == stack.height:
        return
    dupes = stack.select(keys).with_row_index("at").filter(key.is_duplicated())
    # positions in the stack back to (source, row of that source)
    bounds = [0]
    for s in sources:
        bounds.append(bounds[-1] + s.frame.height)
    places: list[tuple[str, str, int]] = []
    for i, s in enumerate(sources):
        mine = dupes.filter((pl.col("at") >= bounds[i]) & (pl.col("at") < bounds[i + 1]))
        if mine.height == 0:
            continue
        mask = pl.zeros(s.frame.height, pl.Boolean, eager=True).scatter(
            (mine.get_column("at") - bounds[i]).to_list(), True
        )
        lines = s.lines(mask)
        for at, line in zip(mine.get_column("at").to_list(), lines):
            places.append((str(at), s.file, line))
    where = {int(at): (file, line) for at, file, line in places}
    kinds = {s.file: s.kind for s in sources}
    grouped = dupes.group_by(keys, maintain_order=True).agg(pl.col("at"))
    for group in grouped.iter_rows(named=True):
        ident = ", ".join(f"{k}={str(group[k])!r}" for k in keys)
        found: dict[str, list[int]] = {}
        for at in group["at"]:
            file, line = where[at]
            found.setdefault(file, []).append(line)
        text = "; ".join(f"{f} {lines_text(kinds[f], ls)}" for f, ls in found.items())
        first_file = next(iter(found))
        problems.append(
            Diagnostic(
                Code.DUPLICATE_ROW,
                f"{len(group['at'])} rows for {ident}: {text}",
                Location(first_file, found[first_file][0]),
                hint="keep one row per " + " and ".join(keys),
            )
        )


def in_key_order(frame: pl.DataFrame, keys: Sequence[str]) -> bool:
    """Whether the rows are in strictly increasing order of the keys, compared in the
    order given or with the last key first (a panel sorted by unit and period, or by
    period and unit, as files usually are). Then no two rows have the same keys: proved
    by comparing each row with the one before it, which costs a fraction of a hash table
    of every key. False says nothing (the rows may be in another order); a key with a
    missing value is never taken as in order.

    >>> import polars as pl
    >>> in_key_order(pl.DataFrame({"u": ["a", "a", "b"], "t": [1, 2, 1]}), ["u", "t"])
    True
    >>> in_key_order(pl.DataFrame({"u": ["a", "b", "a"], "t": [1, 1, 2]}), ["u", "t"])
    True
    >>> in_key_order(pl.DataFrame({"u": ["a", "a"], "t": [1, 1]}), ["u", "t"])
    False
    """
    if any(frame.get_column(k).null_count() for k in keys):
        return False
    for order in dict.fromkeys([tuple(keys), (keys[-1], *keys[:-1])]):
        # the first key non-decreasing (polars stops at the first row out of order) ...
        if not frame.get_column(order[0]).is_sorted():
            continue
        # ... and where it repeats, the rest strictly increasing: a row out of order
        # has the same first key as the row before and the rest not greater
        first = pl.col(order[0])
        out = first == first.shift(1)
        if len(order) > 1:
            out = out & not_after(order[1:])
        if not frame.select(out.slice(1).any()).item():
            return True
    return False


def not_after(keys: Sequence[str]) -> pl.Expr:
    """True on a row whose keys, compared in the order given, are not greater than the
    row before's (null on the first row): when it is true on no row, the rows are in
    strictly increasing order of the keys, and no two have the same keys."""
    now, before = pl.col(keys[0]), pl.col(keys[0]).shift(1)
    if len(keys) == 1:
        return before >= now
    return (before > now) | ((before == now) & not_after(keys[1:]))


def integer_keys(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Key columns whose every value is a plain integer ('2020', not '01') become Int64."""
    plain = r"^-?(?:0|[1-9][0-9]{0,17})$"
    ints = [
        k
        for k in keys
        if frame.schema[k] == pl.String
        and frame.get_column(k).unique().drop_nulls().str.contains(plain).all()
    ]
    return frame.with_columns(pl.col(ints).cast(pl.Int64))
