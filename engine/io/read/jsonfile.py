"""JSON data: a list of records, an object of column lists, or one record per line.

Python's parser checks the text first, for what polars lets through: duplicate keys in
an object (polars keeps one silently), NaN/Infinity (not JSON) and true/false in a
numeric column (polars turns ``true`` into 1 next to numbers). Then polars reads it.
Records are numbered from 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import Code, Diagnostic, truncate
from engine.io.read.options import ReadOptions
from engine.io.read.source import Source, frame_names, offset_locator, problem

__all__ = ["read_json"]


def read_json(
    path: Path, file: str, numeric: Sequence[str], options: ReadOptions, problems: list[Diagnostic]
) -> Source | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(problem(Code.DATA_FILE, file, f"not valid utf-8 text: byte on line {line}"))
        return None
    booleans: set[str] = set()
    per_line = path.suffix.lower() in (".ndjson", ".jsonl")
    chunks = [c for c in text.splitlines() if c.strip()] if per_line else [text]
    try:
        hook = _json_object(booleans)
        docs = [json.loads(c, object_pairs_hook=hook, parse_constant=_no_nan) for c in chunks]
    except ValueError as exc:
        problems.append(problem(Code.DATA_FILE, file, f"not valid JSON: {truncate(str(exc))}"))
        return None
    raw = text.encode("utf-8")
    top = docs[0] if docs else None
    if per_line:
        frame = pl.read_ndjson(raw, infer_schema_length=None)
    elif isinstance(top, list) and all(isinstance(r, dict) for r in top):
        frame = pl.read_json(raw, infer_schema_length=None)
    elif isinstance(top, dict) and all(isinstance(v, list) for v in top.values()):
        frame = pl.read_json(raw, infer_schema_length=None).explode(pl.all())  # type: ignore[arg-type]
    else:
        what = "must be a list of records or an object of equal-length column lists"
        problems.append(problem(Code.DATA_FILE, file, what))
        return None
    for name in sorted(booleans & set(numeric) & set(frame.columns)):
        problems.append(problem(Code.NOT_NUMERIC, file, f"column '{name}' holds true/false"))
    for name, dtype in frame.schema.items():
        if dtype.is_nested():
            problems.append(problem(Code.DATA_FILE, file, f"column '{name}' holds nested values"))
    header = tuple(frame.columns)
    frame = frame.rename(dict(zip(frame.columns, frame_names(header))))
    return Source(file, "record", header, frame, offset_locator(1))


def _json_object(booleans: set[str]) -> Callable[[list[tuple[str, object]]], dict[str, object]]:
    def build(pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {truncate(key)!r} in an object")
            if isinstance(value, bool):
                booleans.add(key)
            seen[key] = value
        return seen

    return build


def _no_nan(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")
