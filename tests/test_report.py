"""`indexlab report`: one self-contained HTML file, checked as text and in Chromium.

In the browser (one Chromium for the session, see conftest.py): the HDI report, written
by the real ``indexlab`` process, loads with no console error and no request but its
own file, reproduces the engine's numbers at the methodology's weights, and after a
weight slider is moved shows exactly the ranks ``indexlab run`` gives with that weight
in the file; a screenshot is written to the test's temporary folder; the ranking table
searches and sorts; the page fits a phone's width.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.dom import minidom

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.format.yamldump import dump_yaml
from engine.format.yamlsource import load_yaml
from engine.report.html.mathml import equation, to_mathml
from engine.report.html.page import build_report

ROOT = Path(__file__).resolve().parent.parent
HDI = ROOT / "methodologies" / "undp-hdi.yaml"
HDI_DATA = ROOT / "examples" / "undp-hdi" / "input.csv"
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
KZ = [
    ROOT / "examples" / "kazakhstan" / "regions.csv",
    ROOT / "examples" / "kazakhstan" / "it_share_table7.csv",
]
OTHER = ROOT / "tests" / "data" / "compare" / "kireeva_minmax_geometric.yaml"


def page_data(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert found
    return json.loads(found.group(1))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def kireeva_html() -> str:
    return build_report(KIREEVA, KZ, compare=[OTHER]).html


@pytest.fixture(scope="module")
def hdi_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HDI report, written by the installed console script (a real process)."""
    out = tmp_path_factory.mktemp("hdi") / "hdi-report.html"
    script = Path(sys.executable).parent / "indexlab"
    proc = subprocess.run(
        [str(script), "report", str(HDI), str(HDI_DATA), "-o", str(out)],
        capture_output=True, text=True, encoding="utf-8", timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"wrote the report to {out}" in proc.stderr
    return out


# -- the file -------------------------------------------------------------------------------


def test_the_page_is_self_contained(kireeva_html: str) -> None:
    assert "default-src 'none'" in kireeva_html  # the page may not fetch anything
    markup = re.sub(r"<script[^>]*>.*?</script>", "", kireeva_html, flags=re.S)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", markup)
    assert not re.search(r"<script[^>]*\bsrc=", kireeva_html)
    assert kireeva_html.count("<script") == 5  # data, ECharts, runtime, program, page
    assert "Apache ECharts 6.1.0" in kireeva_html


def test_the_page_data(kireeva_html: str) -> None:
    data = page_data(kireeva_html)
    assert data["n"] == 32 and data["periods"] == [2010, 2014]
    assert [s["group"] for s in data["sliders"]] == ["RIS", "RIA"]
    assert [s["label"] for s in data["switches"]] == ["normalisation", "aggregation"]
    assert [c["id"] for c in data["compared"]] == ["kireeva-minmax-geometric"]
    assert len(data["columns"]["rank@kireeva-minmax-geometric"]) == 32
    assert data["nominal"]["rank"] == data["columns"]["rank"]
    assert {c["name"] for c in data["checks"]} >= {"printed_labour_productivity"}
    assert data["tree"]["name"] == "index" and [c["name"] for c in data["tree"]["children"]] == [
        "RIA",
        "RIS",
    ]
    assert data["diagnostics"]["stage"] == "normalised"
    # rows sorted by unit and period: the order in which the engine adds within a group
    units = list(zip(data["columns"]["region"], data["columns"]["year"], strict=True))
    assert units == sorted(units)


def test_every_formula_is_mathml_from_the_ir(kireeva_html: str) -> None:
    formulas = page_data(kireeva_html)["formulas"]
    names = {f["name"] for f in formulas}
    assert {
        "SD",
        "SD.norm",
        "RIS",
        "RIA",
        "index",
        "change_2014_vs_2010_pct",
        "promising_zone",
    } <= names
    for f in formulas:
        minidom.parseString(f["mathml"])  # well-formed
        assert f["mathml"].startswith("<math")


def test_mathml_of_the_hdi(tmp_path: Path) -> None:
    from engine import api

    m = api.validate(HDI).methodology
    health = to_mathml(m.indicator("health").normalisation.expr)
    assert health == (
        '<math display="block"><mfrac><mrow><mrow><mo>min</mo><mrow><mo>(</mo><mn>85</mn><mo>,</mo>'
        "<mi>x</mi><mo>)</mo></mrow></mrow><mo>&#8722;</mo><mn>20</mn></mrow><mrow><mn>85</mn>"
        "<mo>&#8722;</mo><mn>20</mn></mrow></mfrac></math>"
    )
    hdi = equation("hdi", m.group("hdi").expr)
    assert "<msup><mi>e</mi><mfrac>" in hdi and "<mi>education</mi>" in hdi
    stat = to_mathml(api.validate(KIREEVA).plan.steps["SD.norm"].expr)
    assert "<msub><mi>max</mi><mtext>year</mtext></msub>" in stat


def test_cli_report_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    not_html = runner.invoke(
        app, ["report", str(KIREEVA), str(KZ[0]), "-o", str(tmp_path / "r.txt")]
    )
    assert not_html.exit_code == 2 and "an .html file" in not_html.output
    no_output = runner.invoke(app, ["report", str(KIREEVA), str(KZ[0])])
    assert no_output.exit_code == 2
    no_index = runner.invoke(
        app,
        [
            "report",
            str(ROOT / "examples" / "germany-specialisation" / "concentration.yaml"),
            str(ROOT / "examples" / "germany-specialisation" / "data" / "employment.csv"),
            "-o",
            str(tmp_path / "g.html"),
        ],
    )
    assert no_index.exit_code in (1, 2) and "Traceback" not in no_index.output
    assert not (tmp_path / "g.html").exists()


# -- in the browser ------------------------------------------------------------------------


def open_page(
    browser: Any, path: Path, width: int = 1280, height: int = 900
) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_function("window.indexlab && window.indexlab.ready", timeout=60_000)
    return page, problems, requests


def hdi_variant(tmp_path: Path, weights: dict[str, str]) -> Path:
    doc = load_yaml(HDI).data
    doc["groups"]["hdi"]["weights"] = {
        m: float(t) if "." in t else int(t) for m, t in weights.items()
    }
    out = tmp_path / "hdi-variant.yaml"
    out.write_text(dump_yaml(doc), encoding="utf-8")
    return out


def test_hdi_report_in_chromium(browser: Any, hdi_report: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    page, problems, requests = open_page(browser, hdi_report)
    loaded = time.perf_counter() - started
    assert page.evaluate("window.indexlab.agreement.differ") == 0
    assert "reproduces indexlab run" in page.text_content("#status")
    shot = tmp_path / "hdi-report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    assert page.locator("#formulas math").count() >= 8  # rendered MathML
    assert page.locator("#ranking-table tbody tr").count() == 193  # 2022

    # move the health weight: 30 steps of 0.1 on its slider
    page.fill('input[type=range][data-group="hdi"][data-member="health"]', "30")
    assert page.input_value('input.weight-text[data-group="hdi"][data-member="health"]') == "3.0"
    got = page.evaluate(
        "(({rank, index, class: cls}) => ({rank, index, cls}))(window.indexlab.columns)"
    )
    assert page.locator("#ranking-table tbody tr.changed").count() > 0

    out = tmp_path / "hdi-variant.csv"
    run = CliRunner().invoke(
        app,
        [
            "run",
            str(hdi_variant(tmp_path, {"health": "3.0", "education": "1", "income": "1"})),
            str(HDI_DATA),
            "-o",
            str(out),
            "-q",
        ],
    )
    assert run.exit_code == 0, run.output
    want = pl.read_csv(out).sort(["iso3", "year"])
    assert [None if r is None else int(r) for r in got["rank"]] == want["rank"].to_list()
    assert got["cls"] == want["class"].to_list()
    assert got["index"] == want["index"].to_list()
    assert got["rank"] != page.evaluate("window.indexlab.data.nominal.rank")

    page.click("#reset")
    assert page.evaluate("window.indexlab.columns.rank") == page.evaluate(
        "window.indexlab.data.nominal.rank"
    )
    assert problems == []
    assert requests == [hdi_report.as_uri()]
    print(f"\nHDI report: {hdi_report.stat().st_size / 1e6:.2f} MB, loaded in {loaded:.2f} s")
    page.close()


def test_ranking_table_searches_and_sorts(browser: Any, hdi_report: Path) -> None:
    page, problems, _ = open_page(browser, hdi_report)
    page.fill("#search", "land")  # Switzerland, Iceland, Ireland, ...
    shown = page.locator("#ranking-table tbody tr").count()
    assert 0 < shown < 193 and page.text_content("#count") == f"{shown} of 193 units"
    page.fill("#search", "")
    page.click('#ranking-table th[data-key="index"]')
    first = page.locator("#ranking-table tbody tr").first.get_attribute("data-unit")
    page.click('#ranking-table th[data-key="index"]')
    top = page.locator("#ranking-table tbody tr").first.get_attribute("data-unit")
    assert (first, top) == ("SOM", "CHE")  # lowest, then highest HDI in 2022
    page.select_option("#period", "1990")
    assert page.locator("#ranking-table tbody tr").count() < 193
    assert problems == []
    page.close()


def test_the_page_fits_a_phone(browser: Any, hdi_report: Path, tmp_path: Path) -> None:
    page, problems, _ = open_page(browser, hdi_report, width=390, height=844)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(tmp_path / "hdi-phone.png"))
    assert problems == []
    page.close()


def test_switches_recompute_in_the_page(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "kireeva.html"
    run = CliRunner().invoke(
        app, ["report", str(KIREEVA), *map(str, KZ), "-o", str(out), "--compare", str(OTHER)]
    )
    assert run.exit_code == 0, run.output
    page, problems, requests = open_page(browser, out)
    before = page.evaluate("window.indexlab.columns.rank")
    page.select_option('select[data-parameter="__agg"]', "2")  # geometric
    page.select_option('select[data-parameter="__norm"]', "2")  # min-max 1-100
    after = page.evaluate(
        "({rank: window.indexlab.columns.rank, index: window.indexlab.columns.index})"
    )
    assert after["rank"] != before

    doc = load_yaml(KIREEVA).data
    doc["normalisation"] = {"default": {"method": "min_max", "range": [1, 100]}}
    for g in doc["groups"].values():
        g["aggregation"] = {"method": "geometric"}
    variant = tmp_path / "kireeva-variant.yaml"
    variant.write_text(dump_yaml(doc), encoding="utf-8")
    csv = tmp_path / "variant.csv"
    ran = CliRunner().invoke(app, ["run", str(variant), *map(str, KZ), "-o", str(csv), "-q"])
    assert ran.exit_code == 0, ran.output
    want = pl.read_csv(csv).sort(["region", "year"])
    assert after["rank"] == want["rank"].to_list()
    # a geometric mean goes through log and exp, whose last bit is the maths library's
    # (Chromium's against the C library polars calls): 1e-13 relative, as docs/report.md says
    assert after["index"] == pytest.approx(want["index"].to_list(), rel=1e-13, abs=0)
    assert problems == [] and requests == [out.as_uri()]
    page.close()


def _shift_chart(page: Any) -> dict[str, Any]:
    option: dict[str, Any] = page.evaluate(
        "(() => { const o = echarts.getInstanceByDom(document.getElementById('shift-chart'))"
        ".getOption(); return {x: o.xAxis[0].data, series: o.series.map((s) => ({name: s.name,"
        " data: s.data}))}; })()"
    )
    return option


def test_rank_shift_chart_across_periods(browser: Any, hdi_report: Path) -> None:
    """Without compared methodologies the chart follows the leaders' ranks over the periods,
    each point the rank `indexlab run` gives the unit in that period."""
    from engine import api

    page, problems, _ = open_page(browser, hdi_report)
    chart = _shift_chart(page)
    run = api.run(HDI, [HDI_DATA]).frame
    periods = sorted(run["year"].unique().to_list())
    assert chart["x"] == [str(p) for p in periods]
    assert len(chart["series"]) == 12  # the leaders of the latest period
    ranks = {(u, y): r for u, y, r in run.select("iso3", "year", "rank").iter_rows()}
    for series in chart["series"]:
        assert series["data"] == [ranks.get((series["name"], p)) for p in periods]
    latest = [s["data"][-1] for s in chart["series"]]
    assert sorted(latest) == latest and latest[0] == 1
    assert problems == []
    page.close()


def test_rank_shift_chart_across_compared_methodologies(browser: Any, tmp_path: Path) -> None:
    """With --compare the chart puts each unit's rank under every methodology side by side:
    the ranks `indexlab run` gives under each file."""
    from engine import api

    out = tmp_path / "kireeva.html"
    done = CliRunner().invoke(
        app, ["report", str(KIREEVA), *map(str, KZ), "-o", str(out), "--compare", str(OTHER)]
    )
    assert done.exit_code == 0, done.output
    page, problems, _ = open_page(browser, out)
    chart = _shift_chart(page)
    assert chart["x"] == ["kireeva-innovation", "kireeva-minmax-geometric"]

    def ranks(methodology: Path) -> dict[str, int]:
        frame = api.run(methodology, KZ).frame.filter(pl.col("year") == 2014)
        return dict(frame.select("region", "rank").iter_rows())

    ours, other = ranks(KIREEVA), ranks(OTHER)
    assert len(chart["series"]) == 12
    for series in chart["series"]:
        assert series["data"] == [ours[series["name"]], other[series["name"]]]
    assert any(a != b for a, b in (s["data"] for s in chart["series"]))  # a shift to see
    assert problems == []
    page.close()


def test_the_heatmap_is_pearson_over_the_latest_period(kireeva_html: str) -> None:
    """Each cell is scipy's Pearson r of the two normalised indicators or groups over the
    units of the latest period, to the 4 decimals the page shows."""
    import scipy.stats

    from engine import api

    heatmap = page_data(kireeva_html)["diagnostics"]["heatmap"]
    frame = api.run(KIREEVA, KZ).frame.filter(pl.col("year") == 2014)
    names = heatmap["names"]
    assert names[:2] == ["SD", "SF"] and names[-1] == "index"
    columns = {n: f"{n}.norm" if f"{n}.norm" in frame.columns else n for n in names}
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            x, y = frame[columns[a]].to_numpy(), frame[columns[b]].to_numpy()
            want = 1.0 if i == j else round(float(scipy.stats.pearsonr(x, y).statistic), 4)
            assert heatmap["r"][i][j] == pytest.approx(want, abs=1e-12), (a, b)


def test_the_unit_profile_in_chromium(browser: Any, hdi_report: Path) -> None:
    """A unit's profile lists its indicators' raw values and scores and its groups' scores,
    each with its rank among the units of the period (ties share the best place), and the
    summary gives its index, rank and class: as `indexlab run` gives them."""
    from engine import api

    page, problems, _ = open_page(browser, hdi_report)
    page.select_option("#unit", "IND")
    rows = page.evaluate(
        "[...document.querySelectorAll('#profile-table tbody tr')].map((tr) =>"
        " [...tr.querySelectorAll('td')].map((td) => td.textContent))"
    )
    summary = page.text_content("#unit-summary")
    run = api.run(HDI, [HDI_DATA]).frame.filter(pl.col("year") == 2022)
    me = run.filter(pl.col("iso3") == "IND").row(0, named=True)
    assert f"rank {me['rank']} of {run['rank'].drop_nulls().len()}" in summary
    assert f"class {me['class']}" in summary
    shown = {r[1].split(" — ")[0]: r for r in rows}
    for kind, name, column in [
        ("indicator", "health", "health.norm"),
        ("group", "education", "education"),
        ("group", "hdi", "hdi"),
    ]:
        row = shown[name]
        assert row[0] == kind
        values = run[column]
        better = int((values > me[column]).sum())
        assert row[4] == f"{better + 1} / {values.drop_nulls().len()}", name
        assert float(row[3].replace(",", "")) == pytest.approx(me[column], rel=1e-3)
    assert problems == []
    page.close()
