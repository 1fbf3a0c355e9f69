"""Tables given from Python (the API's polars, pandas or Arrow frames), read like files.

A frame goes through the same checks and typing as a Parquet file (its columns keep
their types; text cells are parsed like a CSV's). `name` stands for the file in
messages (``<DataFrame 1>``); rows are numbered from 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from engine.io.read.source import Source, frame_names, offset_locator

__all__ = ["InMemory", "read_memory"]


@dataclass(frozen=True, eq=False)  # equal only to itself: frames do not compare to a bool
class InMemory:
    """A polars DataFrame standing in for a data file."""

    name: str
    frame: pl.DataFrame

    def __str__(self) -> str:
        return self.name


def read_memory(source: InMemory, wanted: Sequence[str] = ()) -> Source:
    """The frame's wanted columns (all when `wanted` is empty), as they are."""
    header = tuple(source.frame.columns)
    frame = source.frame
    if wanted and len(set(header)) == len(header):
        frame = frame.select([n for n in header if n in set(wanted)])
    names = dict(zip(frame.columns, frame_names(tuple(frame.columns))))
    return Source(source.name, "row", header, frame.rename(names), offset_locator(1))
