"""What the Python API accepts as a methodology and as data, turned into one form each.

A **methodology** is a path (``str`` or ``Path``), YAML text (a ``str`` with a line
break, or starting with ``{``), a ``dict`` (as ``yaml.safe_load`` would give), a
:class:`~engine.format.model.Methodology` or an already validated
:class:`~engine.api.Validated`. Text and dicts go through exactly the checks a file does
(strict YAML, JSON Schema, semantic rules); a dict is written out as YAML first, so its
messages quote the line they are about (file ``<dict>``).

**Data** is one item or a list of items, each a path (``str`` or ``Path``; a single
string is one path, never a sequence of characters), a polars ``DataFrame`` or
``LazyFrame``, a pandas ``DataFrame`` or a pyarrow ``Table``. Frames are read by the same
reader as files (the same typing, checks and messages; a frame is named ``<DataFrame 1>``
and so on). pandas and pyarrow are recognised by their type's module and never imported
here.

Anything else raises :class:`~engine.diagnostics.UsageError` saying what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError
from engine.format.given import bad_methodology, is_yaml_text, methodology_text
from engine.io.read import InMemory, ReadOptions

__all__ = [
    "DataLike",
    "bad_methodology",
    "checked_options",
    "data_sources",
    "is_yaml_text",
    "methodology_text",
]

#: what the API accepts as data: one item or a sequence of them (see the module docstring)
DataLike = Any

_DATA_EXPECTED = (
    "a path (str or Path), a polars DataFrame or LazyFrame, a pandas DataFrame, "
    "a pyarrow Table, or a list of these"
)


def checked_options(options: object, verb: str) -> ReadOptions | None:
    """`options` if it is reading options (or None); a usage error otherwise, which is most
    often a second data file given after the first instead of in a list."""
    if options is None or isinstance(options, ReadOptions):
        return options
    hint = None
    if isinstance(options, (str, Path)) or _is_frame(options):
        hint = f"give several data files as one list: {verb}(methodology, [data, more])"
        if verb == "compare":
            hint = "give several data files as one list: compare([m1, m2], [data, more])"
    raise UsageError(
        [
            Diagnostic(
                Code.USAGE,
                f"options must be a ReadOptions, not a {type(options).__name__}",
                expected="engine.io.read.ReadOptions(...) or None",
                hint=hint,
            )
        ]
    )


def _kind(value: object) -> str | None:
    """'pandas' or 'arrow' for a pandas DataFrame or pyarrow Table, by the type's module."""
    kind = type(value)
    root = kind.__module__.split(".")[0]
    if root == "pandas" and kind.__name__ == "DataFrame":
        return "pandas"
    if root == "pyarrow" and kind.__name__ in ("Table", "RecordBatch"):
        return "arrow"
    return None


def _is_frame(value: object) -> bool:
    return isinstance(value, (pl.DataFrame, pl.LazyFrame)) or _kind(value) is not None


def _as_polars(value: Any) -> pl.DataFrame:
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, pl.DataFrame):
        return value
    frame: pl.DataFrame | pl.Series
    if _kind(value) == "pandas":
        frame = pl.from_pandas(value, include_index=False)
    else:
        frame = pl.from_arrow(value)
    assert isinstance(frame, pl.DataFrame)
    return frame


def data_sources(data: DataLike) -> list[str | Path | InMemory]:
    """The reader's sources for `data` (see the module docstring).

    >>> data_sources("examples/kazakhstan/regions.csv")
    ['examples/kazakhstan/regions.csv']
    >>> [str(s) for s in data_sources([pl.DataFrame({"a": [1]}), Path("b.csv")])]
    ['<DataFrame 1>', 'b.csv']
    """
    items: Sequence[Any]
    if isinstance(data, (str, Path, InMemory)) or _is_frame(data):
        items = [data]
    elif isinstance(data, (Mapping, bytes, bytearray)):
        items = [data]  # reported below as a wrong item, not taken apart
    elif isinstance(data, Sequence):
        items = data
    elif isinstance(data, (set, frozenset, tuple)) or hasattr(data, "__iter__"):
        items = list(data)
    else:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"data cannot be a {type(data).__name__}",
                    expected=_DATA_EXPECTED,
                )
            ]
        )
    if not items:
        raise UsageError([Diagnostic(Code.USAGE, "no data given", expected=_DATA_EXPECTED)])
    out: list[str | Path | InMemory] = []
    problems = []
    frames = 0
    for k, item in enumerate(items, start=1):
        if isinstance(item, (str, Path, InMemory)):
            out.append(item)
        elif _is_frame(item):
            frames += 1
            out.append(InMemory(f"<DataFrame {frames}>", _as_polars(item)))
        else:
            problems.append(
                Diagnostic(
                    Code.USAGE,
                    f"data item {k} is a {type(item).__name__}",
                    expected=_DATA_EXPECTED,
                )
            )
    if problems:
        raise UsageError(problems)
    return out
