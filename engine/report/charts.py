"""Charts as matplotlib Figures: rank (bump) charts of a run or a comparison, sensitivity.

Every function returns a :class:`matplotlib.figure.Figure` built directly (never through
``pyplot``), so nothing changes the user's backend or keeps a figure alive in pyplot's
registry; it has a ``_repr_png_`` so a notebook shows it; :func:`save_figure` writes one
with the Agg canvas.

Bump charts stay legible and fast at any size:

* the lines of all units are drawn as one grey ``LineCollection`` (one artist, not one
  per unit); only the **highlighted** units get a coloured line, markers and a name;
* highlighted are, by default, every unit when there are at most :data:`ALL_UNITS`,
  otherwise the top and bottom :attr:`Highlight.top`/:attr:`Highlight.bottom` units by
  their last rank, plus the units named in :attr:`Highlight.units`;
* highlighted units never share a colour (tab10, then hues a golden angle apart);
* the figure is at most :data:`MAX_PIXELS` pixels a side at :data:`DPI` (rank charts of
  thousands of units shrink their label font, never grow past the bound), and a
  comparison over many periods shows at most :data:`MAX_PANELS` of them (the last ones,
  or those asked for).

Ranks are ``1 = best`` at the top. A unit without a rank somewhere has a gap there.
SVG output is deterministic (fixed ``svg.hashsalt``, no date), so reruns give identical
bytes. Files are written atomically and never over an input file.
"""

from __future__ import annotations

import colorsys
import functools
import io
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.diagnostics import Code, Diagnostic, UsageError
from engine.extras import Extra, require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from engine.analysis.compare import Comparison
    from engine.analysis.sensitivity import Sensitivity
    from engine.format.model import Methodology

__all__ = [
    "CHART_SUFFIXES",
    "DPI",
    "MAX_PIXELS",
    "Highlight",
    "bump_chart",
    "chart_targets",
    "rank_chart",
    "save_figure",
    "sensitivity_chart",
    "write_bump_chart",
]

CHART_SUFFIXES = (".png", ".svg")
DPI = 150  # the default resolution of saved charts
MAX_PIXELS = 4000  # the largest side of a saved chart at DPI
MAX_INCHES = MAX_PIXELS / DPI
MAX_PANELS = 4  # periods side by side in a comparison's bump chart
ALL_UNITS = 20  # up to this many units, every unit is highlighted
GREY = "0.78"


@dataclass(frozen=True)
class Highlight:
    """Which units a bump chart colours and names: the top and bottom `top`/`bottom` by
    their last rank, and `units` (ids or labels as in the data), each in its own colour."""

    top: int = 5
    bottom: int = 5
    units: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, top: object, units: str | Sequence[str] = ()) -> Highlight:
        """The top and bottom `top` units and `units` (one name or several), checked: a
        usage error for a `top` that is not a whole number >= 0."""
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        f"top must be a whole number >= 0, not {top!r}",
                        expected="how many of the best and of the worst units to colour",
                    )
                ]
            )
        names = (units,) if isinstance(units, str) else tuple(str(u) for u in units)
        return cls(top, top, names)


@functools.cache
def _figure_class() -> type[Figure]:
    """matplotlib's Figure, plus ``_repr_png_`` so that Jupyter shows it even though no
    pyplot backend (the inline one) was ever activated."""
    figure = require("matplotlib.figure", Extra.CHARTS, "drawing a chart")

    class Chart(figure.Figure):  # type: ignore[misc, name-defined]
        def _repr_png_(self) -> bytes:
            return render(self, "png")

    return Chart


def _colours(n: int) -> list[Any]:
    """`n` distinct colours: tab10 up to 10; beyond, hues stepped by the golden ratio, so
    no two are equal and units next to each other in rank get far-apart hues."""
    if n <= 10:
        colormaps = require("matplotlib", Extra.CHARTS, "drawing a chart").colormaps
        return [colormaps["tab10"](i) for i in range(n)]
    return [colorsys.hsv_to_rgb((0.61803398875 * i) % 1.0, 0.8, 0.85) for i in range(n)]


def _text_colour(colour: Any) -> tuple[float, float, float]:
    """A darker shade of a line's colour, readable as text on white."""
    r, g, b = colour[:3]
    return (0.7 * r, 0.7 * g, 0.7 * b)


def _chosen(last: pl.DataFrame, unit: str, rank: str, h: Highlight) -> list[str]:
    """The highlighted units, best last rank first. `last`: one row per unit."""
    ranked = last.filter(pl.col(rank).is_not_null()).sort(rank, unit)
    names = [str(u) for u in ranked[unit]]
    if last.height <= ALL_UNITS and not h.units:
        chosen = names + [str(u) for u in last[unit] if str(u) not in names]
    else:
        chosen = names[: h.top] + names[max(h.top, len(names) - h.bottom) :]
    chosen += [u for u in h.units if u not in chosen]
    return chosen


def _unknown_units(h: Highlight, known: Sequence[object]) -> None:
    present = {str(k) for k in known}
    missing = [u for u in h.units if u not in present]
    if missing:
        from engine.diagnostics import did_you_mean

        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"cannot highlight '{u}': no such unit",
                    hint=did_you_mean(u, sorted(present)),
                )
                for u in missing
            ]
        )


def _draw_bumps(
    ax: Axes,
    ranks: pl.DataFrame,
    unit: str,
    columns: Sequence[str],
    chosen: Sequence[str],
    colours: dict[str, Any],
    font: float,
) -> None:
    """One bump panel: grey lines of every unit, coloured lines and names of the chosen."""
    collections = require("matplotlib.collections", Extra.CHARTS, "drawing a chart")
    xs = list(range(len(columns)))
    segments = []
    names = [str(u) for u in ranks[unit]]
    matrix = ranks.select([pl.col(c).cast(pl.Float64) for c in columns]).rows()
    for name, values in zip(names, matrix):
        if name in colours:
            continue
        run: list[tuple[float, float]] = []
        for x, v in zip(xs, values):
            if v is None:
                if len(run) > 1:
                    segments.append(run)
                run = []
            else:
                run.append((x, v))
        if len(run) > 1:
            segments.append(run)
    ax.add_collection(collections.LineCollection(segments, colors=GREY, linewidths=0.6, zorder=1))
    highest = max((v for row in matrix for v in row if v is not None), default=1.0)
    left: dict[float, list[str]] = {}
    right: dict[float, list[str]] = {}
    by_name = dict(zip(names, matrix))
    for name in chosen:
        found = by_name.get(name)
        if found is None:
            continue
        values = found
        ys = [float("nan") if v is None else v for v in values]
        ax.plot(xs, ys, color=colours[name], linewidth=1.8, marker="o", markersize=3, zorder=3)
        present = [(x, v) for x, v in zip(xs, values) if v is not None]
        if present:
            left.setdefault(present[0][1], []).append(name)
            right.setdefault(present[-1][1], []).append(name)
    # many units: rank ticks for the unnamed grey lines, names set further out past them
    ticks = len(names) > ALL_UNITS
    gap = 26 if ticks else 4
    for labels, x, dx, align in ((left, 0, -gap, "right"), (right, len(xs) - 1, gap, "left")):
        for y, group in labels.items():
            colour = _text_colour(colours[group[0]]) if len(group) == 1 else "0.2"
            ax.annotate(
                f"{', '.join(group)} ({y:g})",
                (x, y),
                xytext=(dx, 0),
                textcoords="offset points",
                ha=align,
                va="center",
                fontsize=font,
                color=colour,
            )
    if ticks:
        ax.tick_params(axis="y", labelsize=7, left=False, right=False, labelright=True)
    else:
        ax.set_yticks([])  # the names carry their rank
    ax.set_ylim(highest + 0.5, 0.5)
    ax.set_xlim(-0.02 * len(xs), len(xs) - 1 + 0.02 * len(xs))
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    ax.grid(axis="x", color="0.9", linewidth=0.8)


def _size(width: float, rows: int) -> tuple[tuple[float, float], float]:
    """Figure size (inches, within MAX_INCHES) and label font for `rows` ranks."""
    height = min(MAX_INCHES, max(4.0, 1.4 + 0.12 * rows))
    font = max(4.0, min(8.0, 72 * (height - 1.4) / max(rows, 1) * 0.9))
    return (min(MAX_INCHES, width), height), font


def rank_chart(
    frame: pl.DataFrame,
    unit: str,
    period: str,
    *,
    rank: str = "rank",
    title: str = "",
    highlight: Highlight = Highlight(),
) -> Figure:
    """Rank over the periods, one line per unit (a run's bump chart); returns a Figure.

    >>> import polars as pl
    >>> f = pl.DataFrame({"u": ["a", "b"] * 2, "t": [1, 1, 2, 2], "rank": [1, 2, 2, 1]})
    >>> fig = rank_chart(f, "u", "t")
    >>> [round(v) for v in fig.get_size_inches()]
    [4, 4]
    """
    _unknown_units(highlight, frame[unit].unique().to_list())
    periods = frame[period].unique().sort().to_list()
    wide = frame.select(unit, period, rank).pivot(on=period, index=unit, values=rank)
    columns = [str(p) for p in periods]
    wide = wide.rename({str(c): str(c) for c in wide.columns}).select(unit, *columns)
    last = wide.select(unit, pl.coalesce([pl.col(c) for c in reversed(columns)]).alias("last"))
    chosen = _chosen(last, unit, "last", highlight)
    colours = dict(zip(chosen, _colours(len(chosen))))
    (w, h), font = _size(3.0 + 0.35 * len(columns), wide.height)
    fig = _figure_class()(figsize=(w, h), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    _draw_bumps(ax, wide, unit, columns, chosen, colours, font)
    step = max(1, len(columns) // 12)
    ax.set_xticks(range(0, len(columns), step), columns[::step], fontsize=7)
    ax.set_xlabel(period)
    ax.set_ylabel("rank (1 = best)")
    ax.set_title(title or f"Rank by {period}", fontsize=9)
    return fig


def bump_chart(
    comparison: Comparison,
    *,
    periods: object = None,
    highlight: Highlight = Highlight(),
) -> Figure:
    """Rank under each methodology (the reference first), one panel per period.

    At most :data:`MAX_PANELS` periods are drawn: the last ones unless `periods` names them
    (one period or a sequence of them).
    """
    c = comparison
    table, unit, period = c.table, c.unit, c.period
    _unknown_units(highlight, table[unit].unique().to_list())
    available = table[period].unique(maintain_order=True).to_list() if period else [None]
    if periods is not None and (isinstance(periods, str) or not isinstance(periods, Sequence)):
        periods = [periods]  # one period
    if periods is None:
        shown = available[-MAX_PANELS:]
    else:
        unknown = [p for p in periods if p not in available]
        if unknown:
            raise UsageError(
                [
                    Diagnostic(
                        Code.USAGE,
                        f"no period {p} in the comparison",
                        expected=", ".join(str(a) for a in available),
                    )
                    for p in unknown
                ]
            )
        shown = list(periods)[:MAX_PANELS]
    columns = [f"rank_{i}" for i in c.ids]
    parts = [table if period is None else table.filter(pl.col(period) == p) for p in shown]
    rows = max(part.height for part in parts)
    last_part = parts[-1].select(unit, pl.col(columns[-1]).alias("last"))
    chosen = _chosen(last_part, unit, "last", highlight)
    colours = dict(zip(chosen, _colours(len(chosen))))
    (w, h), font = _size((2.6 + 1.2 * len(c.ids)) * len(shown), rows)
    fig = _figure_class()(figsize=(w, h), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    for ax, p, part in zip(axes, shown, parts):
        _draw_bumps(ax, part.select(unit, *columns), unit, columns, chosen, colours, font)
        ax.set_xticks(range(len(c.ids)), [_wrap(i) for i in c.ids], fontsize=7)
        ax.set_title(f"{period} {p}" if p is not None else "rank by methodology", fontsize=9)
    note = "" if len(shown) == len(available) else f" ({len(shown)} of {len(available)} periods)"
    fig.suptitle(f"Rank under each methodology (1 = best){note}", fontsize=9)
    return fig


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
    return "\n".join([*out, line])


def sensitivity_chart(result: Sensitivity, m: Methodology) -> Figure:
    """Rank intervals per unit (one panel per period, at most MAX_PANELS: the last) and the
    Sobol indices of the last period."""
    period = m.layout.period
    periods = result.ranks[period].unique().sort().to_list() if period else [None]
    periods = periods[-MAX_PANELS:]
    rows = result.ranks.height // max(1, len(periods))
    (w, h), font = _size(5.0 * (len(periods) + 1), rows)
    fig = _figure_class()(figsize=(w, h), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(periods) + 1, squeeze=False)[0]
    for ax, p in zip(axes, periods):
        part = result.ranks.filter(pl.col(period) == p) if period else result.ranks
        part = part.sort("nominal_rank", descending=True)
        y = list(range(part.height))
        ax.hlines(
            y, part["p05_rank"], part["p95_rank"], color="#4477aa", lw=3, label="5-95 % of ranks"
        )
        ax.plot(part["median_rank"], y, "o", color="#4477aa", label="median rank", markersize=3)
        ax.plot(part["nominal_rank"], y, "x", color="#cc3311", label="nominal rank", markersize=4)
        ax.set_yticks(y, [str(u) for u in part[m.layout.unit]], fontsize=font)
        ax.invert_xaxis()
        ax.set_xlabel("rank")
        ax.set_title(f"Rank intervals {p if p is not None else ''}", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    ax = axes[-1]
    if result.sobol.height:
        last = result.sobol.filter(pl.col(period) == periods[-1]) if period else result.sobol
        x = list(range(last.height))
        ax.bar([i - 0.2 for i in x], last["S1"].fill_null(0), width=0.4, label="first order S1")
        ax.bar([i + 0.2 for i in x], last["ST"].fill_null(0), width=0.4, label="total ST")
        ax.set_xticks(x, last["factor"].to_list(), fontsize=7)
        ax.set_title(
            f"Sobol indices of the mean rank shift {periods[-1] if period else ''}", fontsize=9
        )
        ax.legend(fontsize=7)
    else:
        ax.set_axis_off()
    return fig


# --------------------------------------------------------------------------- files


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


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes, drawn with the Agg canvas (the global backend is
    not touched); SVG is deterministic."""
    backend_agg = require("matplotlib.backends.backend_agg", Extra.CHARTS, "drawing a chart")
    matplotlib = require("matplotlib", Extra.CHARTS, "drawing a chart")
    backend_agg.FigureCanvasAgg(fig)  # attaches itself to the figure
    if fig.get_layout_engine() is not None:
        # lay out once and freeze, so PNG and SVG (in any order, any number of saves) agree
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "indexlab", "svg.fonttype": "path"}):
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata={"Date": None} if fmt == "svg" else {})
    return buffer.getvalue()


def save_figure(
    fig: Figure, path: str | Path, *, protect: Sequence[str | Path] = ()
) -> tuple[Path, ...]:
    """Write `fig` to PATH (.png or .svg), or to PATH.png and PATH.svg; return the files."""
    written = []
    for target in chart_targets(path, protect=protect):
        _write_atomic(target, render(fig, target.suffix.lower().lstrip(".")))
        written.append(target)
    return tuple(written)


def write_bump_chart(
    comparison: Comparison,
    path: str | Path,
    *,
    protect: Sequence[str | Path] = (),
    highlight: Highlight = Highlight(),
) -> tuple[Path, ...]:
    """Write the comparison's bump chart to PATH (.png or .svg) or PATH.png and PATH.svg."""
    return save_figure(bump_chart(comparison, highlight=highlight), path, protect=protect)


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
