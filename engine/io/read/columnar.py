"""Parquet and Arrow IPC (Feather) files: typed columns, header from the file's metadata.

Only the columns the methodology needs are read (the schema comes from the metadata,
without reading any data). Records are numbered from 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import Diagnostic
from engine.io.read.options import IPC_SUFFIXES, ReadOptions
from engine.io.read.source import Source, offset_locator

__all__ = ["columnar_header", "read_columnar", "scan_columnar"]


def scan_columnar(path: Path) -> pl.LazyFrame:
    if path.suffix.lower() in IPC_SUFFIXES:
        return pl.scan_ipc(path)
    return pl.scan_parquet(path)


def columnar_header(path: Path) -> tuple[str, ...]:
    return tuple(scan_columnar(path).collect_schema().names())


def read_columnar(
    path: Path,
    file: str,
    numeric: Sequence[str],
    options: ReadOptions,
    problems: list[Diagnostic],
    wanted: Sequence[str] = (),
) -> Source:
    """The file's wanted columns (all when `wanted` is empty) as stored."""
    lf = scan_columnar(path)
    header = tuple(lf.collect_schema().names())
    if wanted and len(set(header)) == len(header):
        keep = [n for n in header if n in set(wanted)]
        lf = lf.select(keep)
    frame = lf.collect()
    return Source(file, "record", header, frame, offset_locator(1))
