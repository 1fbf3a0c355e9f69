"""Imputation and treatment as uncertain choices: a replication equals a plain run of
the methodology with that choice declared."""

import random
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.analysis import sensitivity as sa

BASE = """\
indexlab: 1
id: choices
title: choices
data: {{unit: region, period: year}}
inputs: {{a: {{}}, b: {{}}}}
indicators: {{A: {{formula: a}}, B: {{formula: b}}}}
{prepare}
normalisation: {{default: {{method: min_max}}}}
groups: {{G: {{members: [A, B]}}}}
index: {{group: G}}
"""
DESIGN = """\
uncertainty:
  replications: 40
  seed: 3
  imputation: {alternatives: [{method: mean}, {method: median}]}
  treatment: {alternatives: [{method: none}, {method: winsorise_log}]}
"""
IMPUTATION = ["mean", "median"]
TREATMENT = ["none", "winsorise_log"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(11)
    rows = []
    for year in (2010, 2014):
        for i in range(24):
            a = rng.lognormvariate(0, 1) if i != 5 else 400.0  # an outlier that fails COINr's test
            b = (
                None if (i == 3 and year == 2014) else rng.uniform(1, 10)
            )  # a missing value to impute
            rows.append((f"R{i:02d}", year, a, b))
    path = tmp_path_factory.mktemp("choices") / "d.csv"
    pl.DataFrame(rows, schema=["region", "year", "a", "b"], orient="row").write_csv(path)
    return path


def _variant(tmp: Path, imputation: str, treatment: str) -> Path:
    prepare = (
        f"imputation: {{default: {{method: {imputation}}}}}\n"
        f"treatment: {{default: {{method: {treatment}}}}}"
    )
    path = tmp / f"{imputation}-{treatment}.yaml"
    path.write_text(BASE.format(prepare=prepare), encoding="utf-8")
    return path


def test_every_choice_equals_the_declared_variant(tmp_path: Path, data: Path) -> None:
    design = tmp_path / "design.yaml"
    design.write_text(BASE.format(prepare="") + DESIGN, encoding="utf-8")
    validated = api.validate(design)
    units = api.read_data(validated.methodology, [data]).units
    params, factors = sa.design_table(
        validated.methodology, validated.methodology.uncertainty, 40, 3, False
    )
    assert factors == ["imputation", "treatment"]
    runs = sa.run_replications(validated.methodology, units, params)
    seen = set()
    for row in params.iter_rows(named=True):
        combo = (IMPUTATION[row[sa.IMP_CHOICE]], TREATMENT[row[sa.TREAT_CHOICE]])
        if combo in seen:
            continue
        seen.add(combo)
        expected = api.run(_variant(tmp_path, *combo), [data]).frame.sort("region", "year")
        got = runs.filter(pl.col(sa.REP) == row[sa.REP]).sort("region", "year")
        assert got["index"].to_list() == pytest.approx(expected["index"].to_list(), rel=1e-12), (
            combo
        )
        assert got["rank"].cast(pl.Int64).to_list() == expected["rank"].to_list(), combo
    assert seen == {(i, t) for i in IMPUTATION for t in TREATMENT}


NESTED = """\
indexlab: 1
id: nested
title: nested
data: {{unit: region, period: year}}
inputs: {{a: {{}}, b: {{}}, c: {{}}}}
indicators: {{A: {{formula: a}}, B: {{formula: b}}, C: {{formula: c}}}}
normalisation: {{default: {{method: min_max}}}}
groups:
  P: {{members: [A, B]}}
  Q: {{members: [C]}}
  TOP: {{members: [{top}]}}
index: {{group: TOP}}
"""


def test_dropping_a_group_equals_the_index_without_it(tmp_path: Path, data: Path) -> None:
    rng = random.Random(5)
    rows = [
        (f"R{i}", y, rng.uniform(1, 9), rng.uniform(1, 9), rng.uniform(1, 9))
        for y in (2010, 2014)
        for i in range(9)
    ]
    csv = tmp_path / "n.csv"
    pl.DataFrame(rows, schema=["region", "year", "a", "b", "c"], orient="row").write_csv(csv)
    design = tmp_path / "design.yaml"
    design.write_text(
        NESTED.format(top="P, Q") + "uncertainty: {replications: 30, seed: 1, drop: groups}\n",
        encoding="utf-8",
    )
    validated = api.validate(design)
    units = api.read_data(validated.methodology, [csv]).units
    params, factors = sa.design_table(
        validated.methodology, validated.methodology.uncertainty, 30, 1, False
    )
    assert factors == ["drop"]
    runs = sa.run_replications(validated.methodology, units, params)
    for dropped, kept in (("P", "Q"), ("Q", "P")):
        column = sa.factor_column("TOP", dropped)
        rep = params.filter(pl.col(column) == 0.0)[sa.REP][0]  # a replication that drops it
        variant = tmp_path / f"without-{dropped}.yaml"
        variant.write_text(NESTED.format(top=kept), encoding="utf-8")
        expected = api.run(variant, [csv]).frame.sort("region", "year")["index"].to_list()
        got = runs.filter(pl.col(sa.REP) == rep).sort("region", "year")["index"].to_list()
        assert got == pytest.approx(expected, rel=1e-12), dropped


ONE_CHOICE = """\
uncertainty:
  replications: 40
  seed: 3
  {stage}: {{alternatives: [{alternatives}]}}
"""


@pytest.mark.parametrize(
    ("declared", "stage", "choices"),
    [
        # treatment alternatives only: the declared imputation stays in every replication
        ({"imputation": "mean"}, "treatment", TREATMENT),
        # imputation alternatives only: the declared treatment stays in every replication
        ({"treatment": "winsorise_log"}, "imputation", IMPUTATION),
    ],
)
def test_alternatives_of_one_stage_keep_the_other_declared(
    tmp_path: Path, data: Path, declared: dict[str, str], stage: str, choices: list[str]
) -> None:
    """Listing alternatives for one stage replaces that stage only (issue 14: treatment
    alternatives used to drop the declared imputation, leaving units unranked)."""
    prepare = "\n".join(f"{k}: {{default: {{method: {v}}}}}" for k, v in declared.items())
    alternatives = ", ".join(f"{{method: {c}}}" for c in choices)
    design = tmp_path / "design.yaml"
    design.write_text(
        BASE.format(prepare=prepare) + ONE_CHOICE.format(stage=stage, alternatives=alternatives),
        encoding="utf-8",
    )
    validated = api.validate(design)
    units = api.read_data(validated.methodology, [data]).units
    params, factors = sa.design_table(
        validated.methodology, validated.methodology.uncertainty, 40, 3, False
    )
    assert factors == [stage]
    runs = sa.run_replications(validated.methodology, units, params)
    column = sa.TREAT_CHOICE if stage == "treatment" else sa.IMP_CHOICE
    seen = set()
    for row in params.iter_rows(named=True):
        choice = choices[row[column]]
        if choice in seen:
            continue
        seen.add(choice)
        combo = {**declared, stage: choice}
        expected = api.run(
            _variant(tmp_path, combo.get("imputation", "none"), combo.get("treatment", "none")),
            [data],
        ).frame.sort("region", "year")
        got = runs.filter(pl.col(sa.REP) == row[sa.REP]).sort("region", "year")
        assert got["index"].null_count() == 0, combo  # every unit keeps its index
        assert got["index"].to_list() == pytest.approx(expected["index"].to_list(), rel=1e-12), (
            combo
        )
    assert seen == set(choices)
