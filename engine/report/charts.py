"""Charts of a comparison: the rank-shift (bump) chart, as PNG and SVG.

One panel per period. The methodologies stand side by side along the x axis (the
reference first); each unit is a line from its rank under one methodology to its rank
under the next, rank 1 at the top. Units are named on the left at their reference rank
and on the right at their rank under the last methodology (units tied on a rank share
one label). Units whose rank changes somewhere are coloured; the others are grey. A
unit without a rank under a methodology has a gap there.

matplotlib is imported inside :func:`render_bump_chart` with the Agg backend (no
display needed). The SVG is deterministic: a fixed ``svg.hashsalt`` and no date in
the metadata, so a rerun writes identical bytes. Files are written atomically and
never over an input file.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError

__all__ = ["CHART_SUFFIXES", "chart_targets", "render_bump_chart", "write_bump_chart"]

CHART_SUFFIXES = (".png", ".svg")


def chart_targets(path: str | Path, *, protect: Sequence[str | Path] = ()) -> tuple[Path, ...]:
    """The files ``--chart PATH`` writes: PATH itself if it ends with .png or .svg,
    otherwise PATH.png and PATH.svg. Refuses an input file or a directory."""
    target = Path(path)
    targets = (
        (target,)
        if target.suffix.lower() in CHART_SUFFIXES
        else tuple(target.with_name(target.name + s) for s in CHART_SUFFIXES)
    )
    for t in targets:
        if any(t.resolve() == Path(p).resolve() for p in protect):
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        f"refusing to overwrite the input file '{t}'",
                        hint="choose another chart path",
                    )
                ]
            )
        if t.is_dir():
            raise UsageError([Diagnostic(Code.USAGE, f"'{t}' is a directory")])
    return targets


def render_bump_chart(comparison: object, fmt: str) -> bytes:
    """The bump chart of a :class:`engine.analysis.compare.Comparison` as PNG or SVG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    c = comparison
    ids: tuple[str, ...] = c.ids  # type: ignore[attr-defined]
    table: pl.DataFrame = c.table  # type: ignore[attr-defined]
    unit: str = c.unit  # type: ignore[attr-defined]
    period: str | None = c.period  # type: ignore[attr-defined]
    periods = table[period].unique(maintain_order=True).to_list() if period else [None]
    n_units = max(
        table.filter(pl.col(period) == p).height if period else table.height for p in periods
    )
    width = 3.2 + 1.3 * len(ids)
    height = 1.2 + 0.28 * max(n_units, 4)
    palette = matplotlib.colormaps["tab10"]

    with matplotlib.rc_context(
        {"svg.hashsalt": "indexlab", "svg.fonttype": "path", "font.size": 8}
    ):
        fig = Figure(figsize=(width * len(periods), height), layout="constrained")
        axes = fig.subplots(1, len(periods), squeeze=False)[0]
        for ax, p in zip(axes, periods):
            part = table if p is None else table.filter(pl.col(period) == p)
            ranks = part.select(unit, *(f"rank_{i}" for i in ids)).sort(
                f"rank_{ids[0]}", unit, nulls_last=True
            )
            moved = 0
            for row in ranks.iter_rows():
                values = [float("nan") if v is None else float(v) for v in row[1:]]
                present = [v for v in values if v == v]
                changes = len(set(present)) > 1
                style = (
                    {"color": palette(moved % 10), "linewidth": 1.8, "zorder": 3}
                    if changes
                    else {"color": "0.65", "linewidth": 1.0, "zorder": 2}
                )
                moved += changes
                ax.plot(range(len(ids)), values, marker="o", markersize=4, **style)
            max_rank = max(
                (v for col in ranks.columns[1:] for v in ranks[col].to_list() if v is not None),
                default=1,
            )
            ax.set_ylim(max_rank + 0.5, 0.5)
            ax.set_xlim(-0.15, len(ids) - 0.85)
            ax.set_xticks(range(len(ids)), [_wrap(i) for i in ids])
            for side, col in (("left", f"rank_{ids[0]}"), ("right", f"rank_{ids[-1]}")):
                labels = _labels(ranks, unit, col)
                target = ax if side == "left" else ax.twinx()
                if side == "right":
                    target.set_ylim(ax.get_ylim())
                target.set_yticks(list(labels), list(labels.values()))
                target.tick_params(axis="y", length=0)
                for spine in target.spines.values():
                    spine.set_visible(False)
            ax.grid(axis="x", color="0.85", linewidth=0.8)
            ax.set_title(f"{period} {p}" if p is not None else "rank by methodology")
        fig.suptitle("Rank under each methodology (1 = best); coloured: units whose rank changes")
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {}
        fig.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
    return buffer.getvalue()


def _wrap(text: str, width: int = 14) -> str:
    """Break a long methodology id at '-', '_' or '.' so the x labels do not collide."""
    out, line = [], ""
    for part in (
        text.replace("_", "_\u0000").replace("-", "-\u0000").replace(".", ".\u0000").split("\u0000")
    ):
        if line and len(line) + len(part) > width:
            out.append(line)
            line = ""
        line += part
    return "\n".join(out + [line])


def _labels(ranks: pl.DataFrame, unit: str, col: str) -> dict[float, str]:
    """Tick labels by rank: the units at that rank, joined (ties share a tick)."""
    labels: dict[float, list[str]] = {}
    for name, r in ranks.select(unit, col).iter_rows():
        if r is not None:
            labels.setdefault(float(r), []).append(str(name))
    return {r: ", ".join(names) + f" ({r:g})" for r, names in sorted(labels.items())}


def write_bump_chart(
    comparison: object, path: str | Path, *, protect: Sequence[str | Path] = ()
) -> tuple[Path, ...]:
    """Write the bump chart to PATH (.png or .svg) or to PATH.png and PATH.svg; return the files."""
    written = []
    for target in chart_targets(path, protect=protect):
        data = render_bump_chart(comparison, target.suffix.lower().lstrip("."))
        _write_atomic(target, data)
        written.append(target)
    return tuple(written)


def _write_atomic(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        raise UsageError(
            [Diagnostic(Code.USAGE, f"cannot write '{target}': {exc.strerror or exc}")]
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
