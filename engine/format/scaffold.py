"""``indexlab init``: a first methodology written from a data file, valid at once.

:func:`start_methodology` finds the columns' roles (:mod:`engine.format.scaffold_detect`),
reads the data for real with :func:`engine.io.read.load_data` (so a bad cell is reported
as ``run`` would report it), and writes a methodology with every section a default to
edit: each numeric column an input (its header as label, a unit placeholder ``'?'``),
one indicator per input (``ind_<input>``, its raw value), min-max to [0, 100] within
each period, one group of all indicators with equal weights, the index, ranks, quintile
classes, and two checks per input (a value is present; it is positive). Comments point
to the docs for each section.

An input that cannot be normalised in some period (no value, or the same value for
every unit, so max - min is 0) stays an input but gets no indicator; a comment says why.
Headers that are not valid names (``ВРП, млн тенге``) get a name (transliterated,
``vrp_mln_tenge``) and a ``data.columns`` entry. Before anything is written the
methodology is run on the data; the file is created only if that run succeeds, and an
existing file is never replaced.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError
from engine.format.scaffold_detect import Columns, detect_columns, read_text
from engine.format.yamldump import flow_yaml
from engine.io import read
from engine.io.read.options import CSV_SUFFIXES

__all__ = ["Started", "name_for", "start_methodology"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"index", "index_unrounded", "rank", "class", "class_group", "x"}
_CYRILLIC = {  # Russian and Kazakh letters, a simple transliteration for names
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    "ә": "a",
    "ғ": "g",
    "қ": "q",
    "ң": "ng",
    "ө": "o",
    "ұ": "u",
    "ү": "u",
    "һ": "h",
    "і": "i",
}
_QUINTILES = ["Q1", "Q2", "Q3", "Q4", "Q5"]


@dataclass(frozen=True)
class Started:
    """A methodology written by :func:`start_methodology`."""

    path: Path
    text: str
    #: the options the data needs, e.g. ("--decimal", ",")
    run_options: tuple[str, ...]
    #: inputs left out of the index, with the reason
    left_out: tuple[tuple[str, str], ...]


def name_for(header: str, taken: set[str]) -> str:
    """A valid, unused name for a column header (Cyrillic transliterated).

    >>> name_for("ВРП, млн тенге", set()), name_for("2010", set()), name_for("rank", set())
    ('vrp_mln_tenge', 'c_2010', 'rank_')
    """
    text = "".join(_CYRILLIC.get(ch, ch) for ch in header.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    name = re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "column"
    if not _NAME.match(name):
        name = "c_" + name
    if name in _RESERVED:
        name += "_"
    base, n = name[:60], 2
    name = base
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def start_methodology(
    data: Sequence[Path],
    target: Path,
    options: read.ReadOptions,
    *,
    numbers_fixed: bool = False,
    unit: str | None = None,
    period: str | None = None,
) -> Started:
    """Write a first methodology for `data` to `target` (never replacing a file).

    `unit`/`period` are headers as written; `numbers_fixed` means the decimal mark and
    thousands separator in `options` were chosen by the user and are not to be guessed.
    Raises :class:`~engine.diagnostics.UsageError` (ambiguous or unsuitable columns, an
    existing target) or :class:`~engine.diagnostics.DataError` (unreadable data).
    """
    if target.exists():
        raise _exists(target)
    options = _with_delimiter(data, options)
    frames = [read_text(p, options) for p in data]
    cols = detect_columns(frames[0], options, numbers_fixed=numbers_fixed, unit=unit, period=period)
    inputs, labels = list(cols.inputs), list(cols.labels)
    for frame in frames[1:]:
        more = detect_columns(
            frame,
            cols.options,
            numbers_fixed=True,
            unit=cols.unit,
            period=cols.period if cols.period in frame.columns else None,
        )
        inputs += [c for c in more.inputs if c not in inputs]
        labels += [c for c in more.labels if c not in labels]
    keys = [cols.unit] + ([cols.period] if cols.period else [])
    loaded = read.load_data(data, keys=keys, numeric=inputs, text=labels, options=cols.options)
    text, left_out = _render(data, cols, labels, inputs, loaded.frame)
    _verify(text, data, cols.options)
    with target.open("x", encoding="utf-8") as fh:  # "x": never replace a file
        fh.write(text)
    return Started(target, text, _run_options(data, cols.options), tuple(left_out))


def _exists(target: Path) -> UsageError:
    return UsageError(
        [
            Diagnostic(
                Code.USAGE,
                f"'{target}' exists: nothing written",
                expected="a new file name with -o",
            )
        ]
    )


def _left_out(frame: pl.DataFrame, column: str, period: str | None) -> str | None:
    """Why `column` cannot be min-max normalised, or None."""
    x = pl.col(column)
    stats = frame.group_by(period or pl.lit(0)).agg(
        x.count().alias("n"), (x.max() - x.min()).alias("range")
    )
    for row in stats.sort(stats.columns[0]).iter_rows(named=True):
        where = f" in {period} {row[stats.columns[0]]}" if period else ""
        if row["n"] == 0:
            return f"no value{where}"
        if row["range"] == 0:
            return f"the same value for every unit{where}"
    return None


def _render(
    data: Sequence[Path],
    cols: Columns,
    labels: Sequence[str],
    inputs: Sequence[str],
    frame: pl.DataFrame,
) -> tuple[str, list[tuple[str, str]]]:
    taken: set[str] = set()
    names = {h: name_for(h, taken) for h in [cols.unit, cols.period, *labels, *inputs] if h}
    mapped = {names[h]: h for h in names if names[h] != h}
    why_not = {c: why for c in inputs if (why := _left_out(frame, c, cols.period))}
    left_out = [(names[c], why) for c, why in why_not.items()]
    # an input needs a value in every period (else `run` stops): an empty one is only named
    empty = [c for c, why in why_not.items() if why.startswith("no value")]
    inputs = [c for c in inputs if c not in empty]
    used = [c for c in inputs if c not in why_not]
    if not used:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    "no numeric column varies between units in every period: there is "
                    "nothing to build an index from",
                    hint="; ".join(f"{n}: {why}" for n, why in left_out) or None,
                )
            ]
        )
    ind = {c: name_for("ind_" + names[c], taken) for c in used}
    files = ", ".join(p.name for p in data)
    stem = name_for(data[0].stem, set()).replace("_", "-")
    fewest = frame.group_by(cols.period or pl.lit(0)).len().get_column("len").min()
    quantiles = _QUINTILES[: min(5, fewest if isinstance(fewest, int) else 0)]
    out: list[str] = [
        f"# Started by `indexlab init` from {files}: every section is a default to edit.",
        "# Check it with `indexlab validate`, run it with `indexlab run`. For completion in",
        "# an editor: `indexlab schema > methodology.schema.json`, then put this first:",
        "#   # yaml-language-server: $schema=methodology.schema.json",
        "indexlab: 1",
        f"id: {flow_yaml(stem + '-index')}",
        f"title: {flow_yaml('Composite index from ' + files)}",
        'version: "0.1"',
        f"description: {flow_yaml('What the index measures and why these indicators.')}",
        "",
        '# One row per unit and period (docs/format.md, "data: the layout of the data").',
        "data:",
        f"  unit: {names[cols.unit]}",
    ]
    if cols.period:
        out.append(f"  period: {names[cols.period]}")
    if labels:
        out.append(f"  labels: {flow_yaml([names[c] for c in labels])}  # carried through")
    if mapped:
        out.append("  columns:  # name: the column's header in the data, where they differ")
        out += [f"    {n}: {flow_yaml(h)}" for n, h in mapped.items()]
    out += [
        "",
        "# Raw columns (docs/format.md, \"inputs: raw columns\"): replace each unit '?'",
        "# with the unit of measurement, e.g. 'million tenge' or 'persons'.",
        "inputs:",
    ]
    out += [f"  {names[c]}: {flow_yaml({'label': c, 'unit': '?'})}" for c in inputs]
    for c in empty:
        out.append(
            f"  # not an input: {flow_yaml(c)}, {why_not[c]} (an input needs one per period)"
        )
    out += [
        "",
        "# One indicator per input, its raw value; write ratios such as gdp / population",
        "# here, and add direction: lower for 'lower is better' (docs/formulas.md and",
        '# docs/format.md, "indicators").',
        "indicators:",
    ]
    out += [f"  {ind[c]}: {flow_yaml({'label': c, 'formula': names[c]})}" for c in used]
    for c, why in why_not.items():
        if c not in empty:
            out.append(f"  # no indicator for {names[c]}: {why} (min-max needs max > min)")
    out += [
        "",
        "# Min-max to [0, 100] within each period; docs/methods.md lists every method.",
        "normalisation:",
        "  default: {method: min_max, range: [0, 100]}",
        "",
        '# One group, equal weights, arithmetic mean (docs/format.md, "groups: pillars,',
        '# weights and aggregation"); add pillars and weights: {a: 2, b: 1} here.',
        "groups:",
        "  all:",
        "    label: All indicators",
        "    members:",
        *(f"      - {ind[c]}" for c in used),
        "",
        '# The index and its rank (docs/format.md, "index" and "ranking").',
        "index: {label: Composite index, group: all}",
        "ranking: {order: descending, ties: min}   # rank 1 = highest index",
    ]
    if len(quantiles) >= 2:
        out += [
            "",
            "# Classes: quintiles of the index within each period, Q1 the top fifth; or",
            '# bands: [{label: high, min: 75, max: 100}, ...] (docs/format.md, "classes").',
            "classes:",
            f"  quantiles: {flow_yaml(quantiles)}",
        ]
    out += [
        "",
        "# Data checks, reported by `indexlab run`, which goes on (severity: warning);",
        '# docs/format.md, "checks: conditions on data and results".',
        "checks:",
    ]
    for c in inputs:
        n = names[c]
        out.append(f"  {n}_present: " + flow_yaml(_check(f"{c} has a value", f"present({n})")))
        out.append(f"  {n}_positive: " + flow_yaml(_check(f"{c} is positive", f"{n} > 0")))
    return "\n".join(out) + "\n", left_out


def _check(label: str, condition: str) -> dict[str, Any]:
    return {"label": label, "assert": condition}


def _verify(text: str, data: Sequence[Path], options: read.ReadOptions) -> None:
    """Run the methodology on the data before writing it: init must never write a file
    that does not run (a failure here is a bug in init, reported as such)."""
    from engine import api

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "methodology.yaml"
        path.write_text(text, encoding="utf-8")
        api.run(path, list(data), options)


def _with_delimiter(data: Sequence[Path], options: read.ReadOptions) -> read.ReadOptions:
    """`options`, naming the CSV delimiter when the reader could not sniff it itself
    (e.g. ';' with a comma inside a header)."""
    csv = [p for p in data if p.suffix.lower() in CSV_SUFFIXES]
    if options.delimiter is not None or all(read.header_of(p, options) for p in csv):
        return options
    found = set()
    for p in csv:
        first = p.read_bytes().split(b"\n", 1)[0].decode(options.encoding, "replace")
        found.add(max((",", ";", "\t", "|"), key=first.count))
    if len(found) != 1:
        return options  # the reader reports the file it cannot read
    return dataclasses.replace(options, delimiter=found.pop())


def _run_options(data: Sequence[Path], options: read.ReadOptions) -> tuple[str, ...]:
    """The reading options `indexlab run` needs for this data."""
    out: list[str] = []
    if options.delimiter is not None and any(p.suffix.lower() in CSV_SUFFIXES for p in data):
        out += ["--delimiter", options.delimiter]
    if options.decimal != ".":
        out += ["--decimal", options.decimal]
    if options.thousands is not None:
        out += ["--thousands", options.thousands]
    if options.encoding != "utf-8":
        out += ["--encoding", options.encoding]
    if isinstance(options.sheet, str):
        out += ["--sheet", options.sheet]
    elif options.sheet is not None:
        out += ["--sheet-index", str(options.sheet)]
    if options.skip_rows:
        out += ["--skip-rows", str(options.skip_rows)]
    defaults = read.ReadOptions().missing
    for token in options.missing:
        if token not in defaults:
            out += ["--missing", token]
    if options.id_spaces != read.IdSpaces.TRIM:
        out += ["--id-spaces", str(options.id_spaces)]
    if options.unicode_minus is not None:
        out += ["--unicode-minus" if options.unicode_minus else "--no-unicode-minus"]
    return tuple(out)
