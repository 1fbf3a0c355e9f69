"""A streamed run: scan the data, compute in passes, sink the results; memory stays flat.

``indexlab run M DATA -o OUT`` takes this path (``--stream on``, or ``auto`` for data
an in-memory run would not fit in: see :func:`wanted`) when everything it needs streams:
Parquet or IPC data (:mod:`engine.io.read.scan`), a plan without the features that hold the data
(:func:`engine.backends.polars.stream.unsupported`, and weights or imputations estimated
from the data), and a Parquet, CSV or IPC output. Otherwise :func:`prepare` says why and
the run reads the data into memory as always. Detail data (region × industry × year
rows) streams one period at a time (:mod:`engine.streamdetail`).

The report is the in-memory run's: the audit of undefined values, the checks (tested and
failing rows, both sides of a failing comparison), units without an index and values
outside every class band. They are aggregates over the streamed query; where one is not
zero, the few rows it names are found by streamed filters (:mod:`.audit` and
:mod:`engine.report.summary` accept a lazy frame; diagnosing an undefined value collects
the result). The results are written only when no
error-severity check fails, atomically (:func:`engine.io.write.sink_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.backends.polars import ENGINE
from engine.diagnostics import Code, Diagnostic, Severity

if TYPE_CHECKING:
    import sympy

    from engine.api import Validated
    from engine.backends.polars.stream import Pass
    from engine.format.model import Methodology
    from engine.io.read import ReadOptions
    from engine.report.summary import CheckResult

__all__ = ["AUTO_BYTES", "StreamedRun", "absent_notes", "available_memory", "prepare", "wanted"]

#: ``--stream auto`` streams from this size of the data files on where the memory available
#: cannot be read (not Linux)
AUTO_BYTES = 256 * 2**20
#: the peak memory of an in-memory run per byte of its data file, by format, rounded up
#: from bench/generate.py panels of the paper's methodology (10M unit-years: 4.1 GB from
#: a 504 MiB Parquet file, 8.1x; 4.3 GB from a 1.3 GB CSV file, 3.3x)
GROWTH = {".parquet": 10.0}
GROWTH_OTHER = 4.0
#: ``--stream auto`` streams when an in-memory run would take more than this share of
#: the memory available
SHARE = 0.5
#: output formats a streamed run sinks to
SINKS = (".parquet", ".csv", ".arrow", ".ipc", ".feather")
#: rows of a morsel (polars' ``streaming_chunk_size``, 100,000 by default) while the
#: results are sunk: the last query computes faster than the file is encoded and
#: written, and its morsels wait ahead of the writer. With the default that held 0.5 to
#: 2.1 GB more at 30M unit-years, varying from run to run (the 100M run peaked at 2.8 or
#: 4.3 GB); with 20,000 rows, 0.2-0.3 GB at the same speed (bench/README.md, round eight)
SINK_MORSEL_ROWS = 20_000


def wanted(mode: str, paths: Sequence[Path], output: Path | None) -> bool:
    """Whether to try streaming: ``on``; ``auto`` when an in-memory run would take more
    than :data:`SHARE` of the memory available (its peak estimated from the data files'
    sizes by :data:`GROWTH`), or, where that memory cannot be read, for data files from
    :data:`AUTO_BYTES` on; ``off``: never. In memory is several times faster (the passes
    read the data again): it is kept while the data fits."""
    if mode == "off" or output is None or output.suffix.lower() not in SINKS:
        return False
    if mode == "on":
        return True
    files = [p for p in paths if p.is_file()]
    available = available_memory()
    if available is None:
        return sum(p.stat().st_size for p in files) >= AUTO_BYTES
    need = sum(p.stat().st_size * GROWTH.get(p.suffix.lower(), GROWTH_OTHER) for p in files)
    return need > SHARE * available


def available_memory() -> int | None:
    """Bytes of memory available to this process: the kernel's MemAvailable, lowered to
    what its cgroup (a container's limit) has left; None where neither can be read."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            used = Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii").strip()
            found.append(max(int(limit) - int(used), 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


@dataclass(frozen=True)
class StreamedRun:
    """A streamed run, computed up to its last pass: the report, and the query to sink."""

    methodology: Methodology
    checks: tuple[CheckResult, ...]
    warnings: tuple[Diagnostic, ...]
    rows: int
    passes: tuple[Pass, ...]
    query: pl.LazyFrame
    streamed: bool = True

    @property
    def failed_errors(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.check.severity == "error")

    def write(self, path: Path, *, protect: Sequence[Path] = ()) -> Path:
        """Sink the results to `path` (Parquet, CSV or IPC by its extension), atomically,
        in morsels of :data:`SINK_MORSEL_ROWS` rows (the caller's setting is restored)."""
        from engine.io.write import sink_table

        with pl.Config(streaming_chunk_size=SINK_MORSEL_ROWS):
            return sink_table(self.query, path, protect=protect)


def _estimated(m: Methodology) -> str | None:
    if m.availability is not None:
        return "availability screening"
    if any(g.weighting in ("pca", "pca_rotated", "optimised") for g in m.groups):
        return "weights estimated from the data"
    if any(dict(i.imputation).get("method") == "em" for i in m.indicators):
        return "EM imputation"
    from engine.methods.aggregate_bod import uses_bod

    return "benefit of the doubt" if uses_bod(m) else None


def prepare(validated: Validated, paths: Sequence[Path], options: ReadOptions) -> StreamedRun | str:
    """The streamed run of `validated` on `paths`, or why it does not stream."""
    from engine.backends.polars.stream import build_streamed, unsupported
    from engine.io.read.scan import scan_data

    plan = validated.plan
    m = validated.methodology
    if plan.has_detail:  # one period at a time (engine.streamdetail)
        from engine.streamdetail import prepare_detail

        return prepare_detail(validated, paths, options)
    why = unsupported(plan) or _estimated(m)
    if why is not None:
        return why
    if m.layout.columns:
        return "columns renamed by data.columns"
    absent, inputs = _inputs(m, paths, options)
    scanned = scan_data(
        paths,
        keys=list(m.layout.keys),
        numeric=inputs,
        text=list(m.layout.labels),
        period=m.layout.period,
        options=options,
    )
    if isinstance(scanned, str):
        return scanned
    frame = scanned.frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(n) for n in absent)
    why = _inputs_defined(m, frame, inputs)
    if why is not None:
        return why
    built = build_streamed(plan, frame, periods=scanned.periods)
    checks, warnings = _report(validated, built.query, built.hoisted)
    notes = absent_notes(absent)
    return StreamedRun(
        m,
        checks,
        notes + warnings,
        scanned.rows,
        built.passes,
        built.query.select(plan.output),
    )


def _inputs(
    m: Methodology, paths: Sequence[Path], options: ReadOptions
) -> tuple[list[str], list[str]]:
    """The optional inputs no file has, and the inputs to read."""
    from engine.io import read

    present = {n for p in paths for n in read.header_of(p, options)}
    absent = [i.name for i in m.inputs if i.optional and i.name not in present]
    return absent, [i.name for i in m.inputs if i.name not in absent]


def _inputs_defined(m: Methodology, frame: pl.LazyFrame, names: list[str]) -> str | None:
    """Why the reader's input checks must run in memory: an input without a value in a
    period, or outside its declared range (they name the rows)."""
    required = [i.name for i in m.inputs if i.name in names and not i.optional]
    bounds = [
        (pl.col(i.name) < i.minimum).any().alias(f"low:{i.name}")
        for i in m.inputs
        if i.name in names and i.minimum is not None
    ] + [
        (pl.col(i.name) > i.maximum).any().alias(f"high:{i.name}")
        for i in m.inputs
        if i.name in names and i.maximum is not None
    ]
    by = [m.layout.period] if m.layout.period else []
    counts = pl.col(required).count() if required else pl.len()
    got = pl.collect_all(
        [
            frame.group_by(by).agg(counts) if by else frame.select(counts),
            frame.select(bounds) if bounds else frame.select(pl.len()),
        ],
        engine=ENGINE,
    )
    if any(v == 0 for row in got[0].select(required).iter_rows() for v in row):
        return "an input has no value in a period"
    if bounds and any(got[1].row(0)):
        return "an input is outside its declared range"
    return None


def _report(
    validated: Validated, query: pl.LazyFrame, hoisted: Mapping[sympy.Basic, str]
) -> tuple[tuple[CheckResult, ...], tuple[Diagnostic, ...]]:
    """The audit, the checks and the warnings of the run, from streamed aggregates (a
    failing check's sides read the statistics the passes computed, `hoisted`)."""
    from engine.backends.polars.execute import audit, audit_exprs
    from engine.report.summary import (
        check_count_exprs,
        evaluate_checks,
        missing_index_warnings,
        warning_count_exprs,
    )

    plan = validated.plan
    exprs = audit_exprs(plan, query.collect_schema(), False) + check_count_exprs(plan)
    exprs += warning_count_exprs(plan)
    exprs.append(pl.len().alias("rows"))
    summary = query.select(exprs).collect(engine=ENGINE).row(0, named=True)
    undefined = audit(plan, query, None, summary)
    checks = evaluate_checks(plan, query, summary, hoisted)
    return checks, undefined + missing_index_warnings(plan, query, summary)


def absent_notes(absent: Sequence[str]) -> tuple[Diagnostic, ...]:
    """A warning per optional input that no data file has."""
    return tuple(
        Diagnostic(
            Code.MISSING_VALUE,
            f"optional input '{n}' is not in the data: it is missing in every row",
            severity=Severity.WARNING,
        )
        for n in absent
    )
