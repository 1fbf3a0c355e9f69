"""Charts: Figures without touching the user's backend; large charts fast, bounded, legible."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import UsageError
from engine.report import charts

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies/kireeva.yaml"
TOPSIS = ROOT / "methodologies/kireeva-topsis.yaml"
KZ = ROOT / "examples/kazakhstan/regions.csv"
HDI = ROOT / "methodologies/undp-hdi.yaml"
HDI_DATA = ROOT / "examples/undp-hdi/input.csv"


@pytest.fixture(scope="module")
def hdi() -> api.RunResult:
    return api.run(HDI, HDI_DATA)


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR), read independently of matplotlib."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _highlighted_colours(fig: object) -> list[tuple[float, ...]]:
    return [
        tuple(round(c, 6) for c in line.get_color())  # type: ignore[attr-defined]
        for ax in fig.axes  # type: ignore[attr-defined]
        for line in ax.get_lines()
    ]


def test_charts_never_change_the_backend_or_use_pyplot() -> None:
    code = (
        "import matplotlib; matplotlib.use('svg'); import sys\n"
        "from engine import api\n"
        f"c = api.compare([{str(KIREEVA)!r}, {str(TOPSIS)!r}], {str(KZ)!r})\n"
        "from engine.report.charts import save_figure\n"
        "fig = c.chart(); import tempfile, os\n"
        "save_figure(fig, os.path.join(tempfile.mkdtemp(), 'c.png'))\n"
        "from matplotlib.figure import Figure\n"
        "pyplot = 'matplotlib.pyplot' in sys.modules\n"
        "print(matplotlib.get_backend(), pyplot, isinstance(fig, Figure))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "False", "True"]


def test_hdi_rank_chart_is_fast_bounded_and_distinct(hdi: api.RunResult) -> None:
    """193 countries over 33 years: under 10 s, at most 4,000 px a side, no colour reused.

    Timed in this process's CPU seconds, not wall-clock ones, so that a busy machine (CI
    runners, other jobs) cannot fail it: 11 s of wall time were measured for 3 s of work."""
    assert hdi.frame["iso3"].n_unique() == 193 and hdi.frame["year"].n_unique() == 33
    start = time.process_time()
    fig = hdi.chart(top=8, highlight=["KAZ", "IND"])
    png = charts.render(fig, "png")
    seconds = time.process_time() - start
    assert seconds < 10, seconds
    width, height = _png_size(png)
    assert max(width, height) <= charts.MAX_PIXELS and min(width, height) >= 600
    colours = _highlighted_colours(fig)
    assert len(colours) == 8 + 8 + 2 and len(set(colours)) == len(colours)
    names = {t.get_text().split(" (")[0] for t in fig.axes[0].texts}
    assert {"KAZ", "IND", "CHE", "SOM"} <= {n for label in names for n in label.split(", ")}


def test_hdi_comparison_bump_chart_shows_at_most_four_periods(
    hdi: api.RunResult, tmp_path: Path
) -> None:
    variant = HDI.read_text(encoding="utf-8").replace("id: undp-hdi", "id: undp-hdi-variant", 1)
    assert variant != HDI.read_text(encoding="utf-8")
    c = api.compare([HDI, variant], HDI_DATA)
    start = time.process_time()  # CPU seconds, as above
    written = charts.write_bump_chart(c, tmp_path / "bump.png")
    seconds = time.process_time() - start
    assert seconds < 10, seconds
    width, height = _png_size(written[0].read_bytes())
    assert max(width, height) <= charts.MAX_PIXELS
    fig = c.chart(periods=[1990, 2022])
    assert [ax.get_title() for ax in fig.axes] == ["year 1990", "year 2022"]
    with pytest.raises(UsageError, match="no period 1900"):
        c.chart(periods=[1900])


def test_every_unit_is_coloured_in_a_small_comparison() -> None:
    c = api.compare([KIREEVA, TOPSIS], KZ)
    fig = c.chart()
    colours = _highlighted_colours(fig)
    assert len(colours) == 2 * 16  # both periods, every region its own colour
    assert len(set(colours[:16])) == 16


def test_unknown_highlighted_unit() -> None:
    c = api.compare([KIREEVA, TOPSIS], KZ)
    with pytest.raises(UsageError) as err:
        c.chart(highlight=["Almty"])
    assert err.value.diagnostics[0].hint == "did you mean 'Almaty'?"


def test_svg_is_deterministic_and_png_size_matches_the_figure() -> None:
    frame = pl.DataFrame(
        {"u": ["a", "b", "c"] * 2, "t": [1, 1, 1, 2, 2, 2], "rank": [1, 2, 3, 2, 1, 3]}
    )
    fig = charts.rank_chart(frame, "u", "t")
    first = charts.render(fig, "svg")
    assert charts.render(charts.rank_chart(frame, "u", "t"), "svg") == first
    w, h = fig.get_size_inches()
    assert _png_size(charts.render(fig, "png")) == (round(w * charts.DPI), round(h * charts.DPI))


def test_chart_arguments_are_checked() -> None:
    """One unit given as a string is one unit, not its characters; a negative `top` is a
    usage error (it highlighted all but the last unit); a single period is one period."""
    run = api.run(KIREEVA, KZ)
    one = run.chart(highlight="Almaty")
    assert _highlighted_colours(one) == _highlighted_colours(run.chart(highlight=["Almaty"]))
    c = api.compare([KIREEVA, TOPSIS], KZ)
    assert c.chart(highlight="Almaty").axes[0].texts
    for chart in (run.chart, c.chart):
        with pytest.raises(UsageError, match="top must be a whole number >= 0, not -1"):
            chart(top=-1)
    assert [ax.get_title() for ax in c.chart(periods=2014).axes] == ["year 2014"]
