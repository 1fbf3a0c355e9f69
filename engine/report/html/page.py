"""``indexlab report``: one self-contained HTML file.

The page is assembled from package data (``assets/``): the template, its style sheet
and script, Apache ECharts for the charts, the JavaScript runtime of the formula
printer, the methodology's live program (:mod:`engine.report.html.live`) and the page's
data (:mod:`engine.report.html.data`) as JSON, all inlined. A Content-Security-Policy
forbids the page any request, so opening it from disk needs no network and sends
nothing anywhere.

>>> from engine import api
>>> path = write_report("methodologies/kireeva.yaml", ["examples/kazakhstan/regions.csv"],
...                     "/tmp/kireeva-report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from engine.analysis.diagnose import diagnose_result
from engine.analysis.stage import Stage
from engine.backends.js.program import runtime
from engine.diagnostics import Code, Diagnostic, UsageError

if TYPE_CHECKING:
    from engine.io.read import ReadOptions

ECHARTS_VERSION = "6.1.0"


def asset(name: str) -> str:
    """A file of ``engine/report/html/assets`` as text."""
    return resources.files("engine.report.html").joinpath("assets", name).read_text("utf-8")


def _script(text: str, what: str) -> str:
    # an inlined script ends at the first "</script": nothing we inline may contain one
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError(f"{what} cannot be inlined: it contains '</script' or '<!--'")
    return text


def _json(value: object) -> str:
    # "<" as \u003c: the JSON can never close its <script> element
    return json.dumps(value, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def render(data: dict[str, object], program: str) -> str:
    """The page's HTML for `data` (from :func:`engine.report.html.data.page_data`) and the
    live `program` (printed JavaScript)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        made_by = f"indexlab {version('indexlab')}"
    except PackageNotFoundError:
        made_by = "indexlab"
    title = str(data.get("title") or "indexlab report")
    template = asset("report.html")
    parts = {
        "{{title}}": _escape(title),
        "{{generator}}": _escape(made_by),
        "{{echarts_version}}": ECHARTS_VERSION,
        "{{style}}": asset("report.css"),
        "{{data}}": _json(data),
        "{{echarts}}": _script(asset("echarts.min.js"), "ECharts"),
        "{{runtime}}": _script(runtime(), "the runtime"),
        "{{program}}": _script(
            "const PROGRAM = " + program.replace("<", "\\u003c") + ";", "the program"
        ),
        "{{app}}": _script(asset("report.js"), "the page script"),
    }
    out = template
    for key, value in parts.items():
        out = out.replace(key, value)
    return out


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@dataclass(frozen=True)
class Report:
    """A report's page, and what the command should tell the user about it."""

    html: str
    notes: tuple[str, ...] = ()


def build_report(
    methodology: str | Path,
    data: Sequence[str | Path],
    *,
    compare: Sequence[str | Path] = (),
    options: ReadOptions | None = None,
) -> Report:
    """Run `methodology` on `data` (and each of `compare` for the rank-shift chart) and
    return the report.

    When a part that depends on the weights cannot be recomputed in the browser (see
    :func:`engine.report.html.live.live`) the page is written without live controls and
    the note says why.
    """
    from engine import api
    from engine.backends.js.printer import JsPrintError
    from engine.report.html.data import page_data
    from engine.report.html.live import live, static
    from engine.runner import count_periods

    validated = api.validate(methodology)
    typed = api.read_data(validated.methodology, data, options)
    if typed.units is None:
        raise UsageError(
            [Diagnostic(Code.USAGE, "the report needs data with one row per unit and period")]
        )
    result = api.execute(validated, typed)
    if result.methodology.index is None:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"{methodology}: the methodology has no index; the report ranks units by it",
                    expected="a methodology with an `index` section",
                )
            ]
        )
    notes: tuple[str, ...] = ()
    try:
        program = live(result.methodology, count_periods(result.methodology, typed))
    except JsPrintError as err:
        program = static(result.methodology)
        notes = (f"the page has no live weights: {err}",)
    diagnosis = diagnose_result(result, Stage.NORMALISED, typed.units)
    others = [api.run(other, data, options) for other in compare]
    content = page_data(result, typed, program, diagnosis, others)
    content["static"] = notes[0] if notes else None
    return Report(render(content, program.program.source), notes)


def write_report(
    methodology: str | Path,
    data: Sequence[str | Path],
    output: str | Path,
    *,
    compare: Sequence[str | Path] = (),
    options: ReadOptions | None = None,
) -> tuple[Path, tuple[str, ...]]:
    """Write the report to `output` (an ``.html`` file) atomically; return its path and
    the notes for the user."""
    target = Path(output)
    protect = [Path(methodology), *map(Path, data), *map(Path, compare)]
    if target.suffix.lower() not in (".html", ".htm"):
        raise UsageError(
            [Diagnostic(Code.USAGE, f"cannot write '{target}': a report is an .html file")]
        )
    if any(target.resolve() == p.resolve() for p in protect):
        raise UsageError(
            [Diagnostic(Code.USAGE, f"refusing to overwrite the input file '{target}'")]
        )
    report = build_report(methodology, data, compare=compare, options=options)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        temporary.write_text(report.html, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        raise UsageError(
            [Diagnostic(Code.USAGE, f"cannot write '{target}': {exc.strerror or exc}")]
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    return target, report.notes
