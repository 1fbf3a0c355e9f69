"""The method registry: every method declared once, and everything derived from it in sync.

* the declarations are complete and well-formed (every one listed, names unique, every
  parameter described, defaults that the generated schema accepts);
* the schema's method parts accept exactly the declared parameters;
* ``docs/methods.md``'s generated blocks equal the declarations' tables
  (``INDEXLAB_REGEN=1 python -m pytest tests/test_registry.py`` rewrites them);
* ``indexlab methods`` lists every method, as text, JSON and Markdown;
* a backend that lacks a procedure says so.

The numbers each method computes are tested against independent computations in
test_methods.py, test_library.py, test_ampi.py and test_treatment.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app
from engine.format.schema import methodology_schema
from engine.format.schema_methods import param_schema
from engine.methods import (
    aggregate,
    aggregate_mcda,
    aggregate_ordered,
    aggregate_outranking,
    aggregate_ratio,
    catalogue,
    impute,
    impute_group,
    listing,
    normalise,
    normalise_rank,
    transform,
    treat,
    weights,
)
from engine.methods.registry import Kind, Method, Param, ParamType, Stage

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "methods.md"
MODULES = (
    aggregate,
    aggregate_mcda,
    aggregate_outranking,
    aggregate_ratio,
    aggregate_ordered,
    impute,
    impute_group,
    normalise,
    normalise_rank,
    transform,
    treat,
    weights,
)
EVERY = catalogue.methods()


def test_every_declaration_is_listed_in_its_module() -> None:
    def declared(module: ModuleType) -> set[str]:
        return {v.name for v in vars(module).values() if isinstance(v, Method)}

    for module in MODULES:
        listed = {m.name for m in module.METHODS}
        assert declared(module) == listed, module.__name__


def test_names_are_unique_within_a_stage() -> None:
    for stage in Stage:
        names = [m.name for m in catalogue.methods(stage)]
        assert len(names) == len(set(names)), stage
        assert all(m.stage is stage for m in catalogue.methods(stage))


@pytest.mark.parametrize("method", EVERY, ids=lambda m: f"{m.stage}.{m.name}")
def test_declaration_is_complete(method: Method) -> None:
    assert method.title and method.formula, "title and formula are needed for the docs"
    assert method.description or method.name == "none", "the schema's description"
    for p in method.params:
        assert p.description, f"{p.name} has no description"
        assert p.type is not ParamType.SHARED or p.ref in methodology_schema()["$defs"]
        assert not (p.required and p.default is not None), f"{p.name}: required with a default"
    if method.kind is Kind.TEMPLATE and method.stage not in (Stage.IMPUTE, Stage.TREAT):
        assert getattr(method, "template", None) is not None
    if method.kind is Kind.PROCEDURE:
        assert method.backends, "a procedure names the backends that run it"


def _example(p: Param) -> Any:
    """A valid value of a parameter, for the schema round trip."""
    if p.default is not None:
        return list(p.default) if isinstance(p.default, tuple) else p.default
    if p.choices:
        return p.choices[0]
    return {
        ParamType.NUMBER: 0.5,
        ParamType.INTEGER: 1,
        ParamType.BOOLEAN: True,
        ParamType.PERIOD: 2010,
        ParamType.UNIT: "North",
        ParamType.COLUMNS: ["macro"],
        ParamType.FORMULA: "x",
        ParamType.NUMBERS: [1, 2],
        ParamType.NAME: "G",
    }[p.type]


OBJECT_STAGES = (Stage.NORMALISE, Stage.AGGREGATE, Stage.IMPUTE, Stage.TREAT)
OBJECT_METHODS = [m for m in EVERY if m.stage in OBJECT_STAGES]


@pytest.mark.parametrize("method", OBJECT_METHODS, ids=lambda m: f"{m.stage}.{m.name}")
def test_schema_accepts_the_declared_parameters_and_nothing_else(method: Method) -> None:
    schema = methodology_schema()
    stage_def = {"$defs": schema["$defs"], **schema["$defs"][method.stage.value]}
    validator = jsonschema.Draft202012Validator(stage_def)
    minimal = {"method": method.name}
    minimal |= {p.name: _example(p) for p in method.params if p.required}
    assert list(validator.iter_errors(minimal)) == []
    every = {"method": method.name}
    every |= {p.name: _example(p) for p in method.params if p.type is not ParamType.SHARED}
    assert list(validator.iter_errors(every)) == []
    assert list(validator.iter_errors({**minimal, "no_such_parameter": 1})) != []
    for p in method.params:
        if p.required:
            without = {k: v for k, v in minimal.items() if k != p.name}
            assert list(validator.iter_errors(without)) != [], p.name


@pytest.mark.parametrize(
    "param",
    [p for m in EVERY for p in m.params if p.default is not None],
    ids=lambda p: p.name,
)
def test_defaults_meet_their_own_constraints(param: Param) -> None:
    schema = {"$defs": methodology_schema()["$defs"], **param_schema(param)}
    value = list(param.default) if isinstance(param.default, tuple) else param.default
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(value)) == []


def test_stage_enums_list_every_method() -> None:
    defs = methodology_schema()["$defs"]
    for stage in OBJECT_STAGES:
        assert defs[stage.value]["properties"]["method"]["enum"] == [
            m.name for m in catalogue.methods(stage)
        ]
    assert defs["weighting"]["enum"] == [m.name for m in catalogue.methods(Stage.WEIGHT)]
    assert defs["aggregation.alternative"]["enum"] == list(catalogue.sampleable(Stage.AGGREGATE))


def test_docs_tables_are_generated_from_the_declarations() -> None:
    text = DOCS.read_text(encoding="utf-8")
    generated = listing.update_docs(text)
    if os.environ.get("INDEXLAB_REGEN") == "1":
        DOCS.write_text(generated, encoding="utf-8")
        text = generated
    for stage in Stage:
        assert f"<!-- methods:{stage.value} -->" in text, f"docs/methods.md has no {stage} block"
    assert text == generated, (
        "docs/methods.md is out of date: INDEXLAB_REGEN=1 python -m pytest tests/test_registry.py"
    )


# -- indexlab methods ---------------------------------------------------------------------


def _methods(*args: str) -> str:
    result = CliRunner().invoke(app, ["methods", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_listing_names_every_method_with_its_parameters() -> None:
    text = _methods()
    for m in EVERY:
        assert f"  {m.name} " in text
    assert "range: 2 numbers = [0, 100]" in text
    assert "p: number (required)" in text
    assert "cost: min_over_x | one_minus_share" in text


def test_listing_of_one_stage() -> None:
    text = _methods("--stage", "imputation")
    assert text.splitlines()[0] == "imputation"
    assert "locf" in text and "leader_share" not in text


def test_listing_as_json() -> None:
    records = json.loads(_methods("--format", "json"))
    assert [(r["stage"], r["name"]) for r in records] == [(m.stage.value, m.name) for m in EVERY]
    z = next(r for r in records if r["name"] == "z_score")
    ddof = next(p for p in z["parameters"] if p["name"] == "ddof")
    assert ddof == {
        "name": "ddof",
        "type": "0 | 1",
        "default": 1,
        "required": False,
        "description": catalogue.normalisation("z_score").param("ddof").description,
    }
    pca = next(r for r in records if r["name"] == "pca")
    assert (pca["kind"], pca["backends"]) == ("procedure", ["polars"])


def test_listing_as_markdown_is_the_docs_table() -> None:
    text = _methods("--stage", "aggregation", "--format", "markdown")
    assert listing.as_markdown(Stage.AGGREGATE) in DOCS.read_text(encoding="utf-8")
    assert text == f"## aggregation\n\n{listing.as_markdown(Stage.AGGREGATE)}\n"


def test_listing_as_a_process() -> None:
    script = Path(sys.executable).parent / "indexlab"
    assert script.exists(), f"console script not installed next to {sys.executable}"
    out = subprocess.run(
        [str(script), "methods", "--stage", "weighting"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "weighting"


def test_unknown_stage_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["methods", "--stage", "scoring"])
    assert result.exit_code == 2


# -- backends ------------------------------------------------------------------------------


def test_a_backend_without_a_procedure_says_so(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "indexlab: 1\nid: t\ntitle: T\ndata: {unit: region, period: year}\n"
        "inputs: {a: {}, b: {}}\n"
        "indicators: {A: {formula: a}, B: {formula: b}}\n"
        "normalisation: {default: {method: min_max}}\n"
        "groups: {G: {members: [A, B], weighting: pca}}\n"
        "index: {group: G}\n",
        encoding="utf-8",
    )
    m = api.load_methodology(path)
    assert catalogue.backend_problems(m, "polars") == []
    (problem,) = catalogue.backend_problems(m, "sql")
    assert problem.message == ("group 'G': the weighting method 'pca' cannot run on the sql engine")
    assert problem.expected == "an engine that implements it: polars"
