"""Live re-weighting: the report's program, with weights and choices as parameters, gives
for any weights what ``indexlab run`` gives with those weights written in the file.

For each methodology, random weights (exact decimal texts, as the page's weight boxes
hold them) are set as the page sets them (``R.weightSet``), the printed program runs in
Chromium on the page's inputs, and the result is compared with the engine run on a copy
of the methodology whose ``weights`` are those texts: ranks and classes identical, index
and groups bit for bit (to 1e-13 where a value goes through log or exp).
"""

from __future__ import annotations

import random
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine import api
from engine.format.yamldump import dump_yaml
from engine.format.yamlsource import load_yaml
from engine.report.html import live as live_mod
from engine.report.html.data import live_inputs
from engine.runner import count_periods

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "data" / "js"
EX = ROOT / "examples"
CASES = {
    "kireeva": (ROOT / "methodologies" / "kireeva.yaml", [EX / "kazakhstan" / "regions.csv"]),
    "hdi": (ROOT / "methodologies" / "undp-hdi.yaml", [EX / "undp-hdi" / "input.csv"]),
    "asem": (EX / "coinr-asem" / "asem.yaml", [EX / "coinr-asem" / "asem.csv"]),
    "aggregations": (JS / "aggregations.yaml", [JS / "units.csv"]),
    "missing": (JS / "missing.yaml", [JS / "units.csv"]),
    "normalisations": (JS / "normalisations.yaml", [JS / "units.csv"]),
}  # fmt: skip


def variant(
    path: Path,
    tmp: Path,
    weights: dict[str, list[str]],
    members: dict[str, list[str]],
    edit: Any = None,
) -> Path:
    """A copy of the methodology with these weights (and `edit` applied to the document)."""
    doc = load_yaml(path).data  # the engine's reader: `on:` stays a key, not true
    for g, texts in weights.items():
        doc["groups"][g]["weights"] = {
            m: (float(t) if "." in t else int(t)) for m, t in zip(members[g], texts, strict=True)
        }
    if edit is not None:
        edit(doc)
    out = tmp / f"variant-{len(list(tmp.iterdir()))}.yaml"
    out.write_text(dump_yaml(doc), encoding="utf-8")
    return out


def page_params(
    run_page: Any, live: live_mod.Live, weights: dict[str, list[str]], choices: dict[str, int]
) -> dict[str, object]:
    """The parameters exactly as the page forms them."""
    params: dict[str, object] = dict(choices)
    for s in live.sliders:
        w = run_page.evaluate("(t) => R.weightSet(t)", weights[s.group])
        for j, m in enumerate(s.members):
            params[live_mod.weight(s.group, m)] = w["weights"][j]
            params[live_mod.share(s.group, m)] = w["shares"][j]
        params[live_mod.total(s.group)] = w["total"]
    return params


def random_weights(live: live_mod.Live, rng: random.Random) -> dict[str, list[str]]:
    out = {}
    for s in live.sliders:
        texts = [
            rng.choice(["0", "1", "2", "0.5", "1.5", "3", "0.1", "0.25", "2.75", "10"])
            for _ in s.members
        ]
        if all(t == "0" for t in texts):
            texts[0] = "1"
        out[s.group] = texts
    return out


def check(got: dict[str, list[Any]], want: pl.DataFrame, columns: list[str], loose: float) -> float:
    worst = 0.0
    for c in columns:
        for k, (a, b) in enumerate(zip(got[c], want[c].to_list(), strict=True)):
            if b is None or isinstance(b, str):
                assert a == b, (c, k, a, b)
            elif c in ("rank",):
                assert float(a) == float(b), (c, k, a, b)
            else:
                assert a is not None, (c, k, b)
                rel = abs(a - b) / max(abs(b), 1e-300)
                worst = max(worst, rel)
                assert rel <= loose, (c, k, a, b)
    return worst


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = {}
    for name, (path, data) in CASES.items():
        if name == "asem":  # its outlier treatment is slow to run and moves with no weight
            doc = load_yaml(path).data
            del doc["treatment"]
            path = tmp_path_factory.mktemp("asem") / "asem-untreated.yaml"
            path.write_text(dump_yaml(doc), encoding="utf-8")
        validated = api.validate(path)
        typed = api.read_data(validated.methodology, data)
        result = api.execute(validated, typed)
        live = live_mod.live(result.methodology, count_periods(result.methodology, typed))
        inputs = live_inputs(live, typed)
        out[name] = (path, data, live, inputs)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_any_weights_give_what_run_gives(
    prepared: dict[str, Any], run_js: Any, js_page: Any, tmp_path: Path, name: str
) -> None:
    path, data, live, inputs = prepared[name]
    assert live.sliders, "every case has weights to move"
    keys = list(live.plan.methodology.layout.keys)
    members = {s.group: list(s.members) for s in live.sliders}
    rng = random.Random(zlib.crc32(name.encode()))  # hash() of a str changes per process
    columns = {c: inputs[c].to_list() for c in inputs.columns}
    shown = [
        c
        for c in live.program.writes
        if c in ("index", "rank", "class", "class_group") or c in members
    ]
    for trial in range(2):
        weights = (
            random_weights(live, rng) if trial else {s.group: list(s.nominal) for s in live.sliders}
        )
        params = page_params(js_page, live, weights, {s.parameter: 0 for s in live.switches})
        got = run_js(live.program.source, dict(columns), inputs.height, params)
        want = api.run(variant(path, tmp_path, weights, members), data).frame.sort(keys)
        check(got, want, shown, 1e-13)


def test_switches_give_the_alternatives(
    prepared: dict[str, Any], run_js: Any, js_page: Any, tmp_path: Path
) -> None:
    path, data, live, inputs = prepared["kireeva"]
    assert [s.parameter for s in live.switches] == [live_mod.NORM, live_mod.AGG]
    members = {s.group: list(s.members) for s in live.sliders}
    weights = {"RIS": ["1", "2", "0.5"], "RIA": ["1", "1", "3"]}
    params = page_params(js_page, live, weights, {live_mod.NORM: 2, live_mod.AGG: 2})
    columns = {c: inputs[c].to_list() for c in inputs.columns}
    got = run_js(live.program.source, columns, inputs.height, params)

    def alternatives(doc: dict[str, Any]) -> None:
        doc["normalisation"] = {"default": {"method": "min_max", "range": [1, 100]}}
        for g in doc["groups"].values():
            g["aggregation"] = {"method": "geometric"}

    want = api.run(variant(path, tmp_path, weights, members, alternatives), data).frame.sort(
        ["region", "year"]
    )
    check(got, want, ["RIS", "RIA", "index", "rank", "class"], 1e-13)


def test_parameters_read_by_every_live_step(prepared: dict[str, Any]) -> None:
    _, _, live, inputs = prepared["hdi"]
    assert live.program.writes == ("education", "hdi", "index_unrounded", "index", "rank", "class")
    assert set(inputs.columns) == {"iso3", "year", *live.program.reads}
    # the weights' sums and shares are exact parameters, never sums of floats in the page
    assert (
        "__wt.hdi" in live.program.source
        and "__wn.education.expected_schooling" not in live.program.source
    )


def test_nominal_parameters_are_exact() -> None:
    m = api.validate(JS / "normalisations.yaml").methodology
    live = live_mod.live(m, 3)
    from engine.report.html.data import nominal_parameters

    p = nominal_parameters(live)
    assert p["__wt.g1"] == 1.0 and p["__wn.g1.ls"] == 0.1  # 0.1 + 0.2 + 0.7 is exactly 1
    # 0.05 / 3.5 is exactly 1/70, which float division of the doubles does not give
    assert p["__wt.top"] == 3.5 and p["__wn.top.g5"] == float(Fraction(1, 70)) != 0.05 / 3.5
    assert live_mod.decimal_text(m.group("top").weights[4]) == "0.05"


def test_detail_methodologies_print_no_detail_step() -> None:
    # the page works on one row per unit and period: detail steps stay data
    path = ROOT / "examples" / "germany-specialisation" / "specialisation.yaml"
    m = api.validate(path).methodology
    live = live_mod.live(m, 2)
    detail = {s.column for stage in live.plan.detail for s in stage}
    assert detail and not detail & set(live.program.writes)


PCA_OF_GROUPS = """\
indexlab: 1
id: pca-of-groups
title: PCA weights over groups whose weights move
data: {unit: unit, period: year}
inputs: {a: {}, b: {}, c: {}, d: {}}
indicators: {x1: {formula: a}, x2: {formula: b}, x3: {formula: c}, x4: {formula: d}}
normalisation: {default: {method: min_max}}
groups:
  A: {members: [x1, x2], weights: {x1: 1, x2: 2}}
  B: {members: [x3, x4]}
  T: {members: [A, B], weighting: pca}
index: {group: T}
"""


def test_a_procedure_downstream_of_the_weights_is_refused_by_name(tmp_path: Path) -> None:
    from engine.backends.js.printer import JsPrintError
    from engine.report.html.page import build_report

    path = tmp_path / "pca.yaml"
    path.write_text(PCA_OF_GROUPS, encoding="utf-8")
    result = api.run(path, [JS / "units.csv"])
    # the PCA weights are re-estimated from the members' scores by the engine: a page that
    # moved A's weights would have to re-estimate them, which only the polars backend does
    with pytest.raises(JsPrintError, match=r"group 'T'.*weighting method 'pca'.*polars"):
        live_mod.live(result.methodology, 3)
    report = build_report(path, [JS / "units.csv"])
    assert len(report.notes) == 1 and "'pca'" in report.notes[0]
    assert '"sliders": []' in report.html and "weighting method 'pca'" in report.html


def test_pca_weights_that_do_not_move_are_constants_in_the_page() -> None:
    _, data = CASES["normalisations"]
    m = api.run(JS / "pca.yaml", data).methodology
    live = live_mod.live(m, 3)
    # no weight moves (PCA weights, then equal weights): the page has nothing to recompute
    assert live.sliders == () and live.switches == () and live.program.writes == ()
