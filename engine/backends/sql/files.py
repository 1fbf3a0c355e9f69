"""Finding and grouping the data files a SQL engine reads itself.

A path is a file, a folder (every CSV and Parquet file under it; a partitioned Parquet
dataset such as ``year=2020/part-0.parquet``) or a glob; a URL (``hdfs://``, ``s3://``)
is read by the engine, never looked at here. Files of one kind with the same header
are read together; a CSV's header is its first line (the delimiter given, or the one
that line has; a byte-order mark decides the encoding).
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backends.sql.engines import Engine
from engine.diagnostics import Code, DataError, Diagnostic, Location
from engine.io.read import IdSpaces, InMemory, ReadOptions
from engine.io.read.options import DELIMITERS

__all__ = ["CSV", "NATIVE", "PARQUET", "Files", "group", "native"]

CSV = (".csv", ".tsv", ".txt")
PARQUET = (".parquet",)
#: the files the engines read themselves
NATIVE = CSV + PARQUET


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


def native(engine: Engine, items: Sequence[Any], options: ReadOptions) -> bool:
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


def group(paths: Sequence[str], options: ReadOptions) -> list[Files]:
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
