"""The conventions the method catalogue states, each with its COINr/Compind equivalent
(issue 17 items 4 and 8): the behaviour, and the sentence in docs/methods.md that states it
(generated from the declarations, so ``indexlab methods`` and the schema say the same).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from engine import api

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "methods.md").read_text(encoding="utf-8")


def _one(
    normalisation: dict, direction: str = "higher", data: pl.DataFrame | None = None
) -> pl.DataFrame:
    m = {
        "indexlab": 1,
        "id": "t",
        "title": "t",
        "data": {"unit": "u"},
        "inputs": {"a": {}},
        "indicators": {"A": {"formula": "a", "direction": direction}},
        "normalisation": {"default": normalisation},
        "groups": {"G": {"members": ["A"]}},
    }
    if data is None:
        data = pl.DataFrame({"u": ["p", "q", "r"], "a": [1.0, 2.0, 4.0]})
    return api.run(m, data).frame


def test_distance_to_reference_endpoints_are_exact() -> None:
    # issue 17 item 4: 1 - (x_r - x)/(x_r - min) gave the worst unit 1.1e-16 (a scalar
    # denominator divides by multiplying with its reciprocal); 32 of 244 random cases
    rng = random.Random(5)
    checked = 0
    for direction in ("higher", "lower"):
        for _ in range(150):
            values = [rng.uniform(0, 10) for _ in range(6)]
            data = pl.DataFrame({"u": ["U0", "U1", "U2", "U3", "U4", "R"], "a": values})
            frame = _one({"method": "distance_to_reference", "unit": "R"}, direction, data)
            if frame["A.norm"].null_count():  # the reference is the worst unit: 0 / 0,
                continue  # undefined (missing, and reported)
            y = dict(zip(frame["u"], frame["A.norm"]))
            assert y["R"] == 1.0
            worst = min(values) if direction == "higher" else max(values)
            assert y[frame["u"][values.index(worst)]] == 0.0
            checked += 1
    assert checked > 200
    assert "the worst unit exactly 0" in DOCS


def test_none_leaves_a_lower_is_better_indicator_as_it_is() -> None:
    frame = _one({"method": "none"}, "lower")
    assert frame["A.norm"].to_list() == [1.0, 2.0, 4.0]  # COINr's f_n = 'none' gives -x
    assert "its `f_n = 'none'` returns `−x`" in DOCS


def test_leader_share_on_a_cost_indicator_is_min_over_x() -> None:
    frame = _one({"method": "leader_share", "scale": 1, "cost": "min_over_x"}, "lower")
    assert frame["A.norm"].to_list() == [1.0, 0.5, 0.25]  # COINr n_fracmax: 1, 2, 4
    assert (
        "`cost: min_over_x` gives `min x / x` where COINr's `n_fracmax` gives `x / min x`" in DOCS
    )


def test_distance_to_target_caps_at_one_unless_told() -> None:
    capped = _one({"method": "distance_to_target", "target": 3})
    assert capped["A.norm"].to_list() == [0.0, 0.5, 1.0]
    uncapped = _one({"method": "distance_to_target", "target": 3, "cap": False})
    assert uncapped["A.norm"].to_list() == [0.0, 0.5, 1.5]  # COINr n_dist2targ's default
    assert "units past the target are capped at 1 by default" in DOCS


def test_goalposts_and_coinr_n_scaled() -> None:
    frame = _one({"method": "goalposts", "lower": 0, "upper": 10, "truncate": False}, "lower")
    assert frame["A.norm"].to_list() == pytest.approx([0.9, 0.8, 0.6])  # COINr: -0.1, -0.2, -0.4
    assert "COINr's `Normalise()` negates x first" in DOCS


def _group(aggregation: dict, coverage: object = "all") -> dict:
    return {
        "indexlab": 1,
        "id": "t",
        "title": "t",
        "data": {"unit": "u"},
        "inputs": {"a": {}, "b": {}},
        "indicators": {"A": {"formula": "a"}, "B": {"formula": "b"}},
        "groups": {"G": {"members": ["A", "B"], "aggregation": aggregation, "coverage": coverage}},
        "index": {"group": "G"},
    }


def test_power_mean_accepts_coverage() -> None:
    data = pl.DataFrame({"u": ["p", "q"], "a": [1.0, 3.0], "b": [4.0, None]})
    frame = api.run(_group({"method": "power", "p": 2}, 0.5), data).frame
    assert frame["G"].to_list() == pytest.approx([(17 / 2) ** 0.5, 3.0])
    assert (
        "over the present members (`coverage`): `arithmetic`, `geometric`, `harmonic`, `power`"
        in DOCS
    )


def test_median_is_the_lower_weighted_median() -> None:
    data = pl.DataFrame({"u": ["p"], "a": [1.0], "b": [2.0]})
    assert api.run(_group({"method": "median"}), data).frame["G"].to_list() == [1.0]
    assert "COINr 1.1.14 has no weighted-median function" in DOCS


def test_ampi_can_be_an_override() -> None:
    m = {
        "indexlab": 1,
        "id": "t",
        "title": "t",
        "data": {"unit": "u", "period": "t"},
        "inputs": {"a": {}, "b": {}},
        "indicators": {"A": {"formula": "a"}, "B": {"formula": "b"}},
        "normalisation": {
            "default": {"method": "min_max"},
            "overrides": {"A": {"method": "ampi", "base": 1}},
        },
    }
    api.validate(m)


def test_compind_defects_are_stated_where_compind_is_cited() -> None:
    for sentence in (
        "**Compind 3.4's `ci_generalized_mean` is wrong**",
        "**rounds the index to 3 decimals** and **ignores its `penalty` argument**",
        "**Compind's `ci_mpi` uses R's `var`, the sample variance**",
        "To reproduce Compind, write the group as a formula",
        "**Compind ignores its `bw` argument**",
        "**pymcdm 1.4's `COPRAS` is wrong**",
    ):
        assert sentence in DOCS, sentence


def test_the_schema_states_each_convention_with_its_peer() -> None:
    """The schema's method descriptions (what an editor shows beside the YAML) carry the
    item 8 conventions too, not only docs/methods.md."""
    import json

    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "schema" / "methodology.schema.json").read_text(
            encoding="utf-8"
        )
    )
    described = {k: v.get("description", "") for k, v in schema["$defs"].items()}
    for method, phrases in {
        "normalisation.none": ("direction is not applied", "COINr's Normalise()", "negates"),
        "normalisation.leader_share": ("min(x) / x", "n_fracmax", "x / min(x)"),
        "normalisation.distance_to_target": ("capped at 1", "COINr does not cap"),
        "aggregation.mpi": ("population SD", "Compind's ci_mpi uses the sample variance"),
        "aggregation.ampi": ("rounds to 3 decimals", "ignores its penalty argument"),
        "aggregation.power": ("with coverage", "ci_generalized_mean", "mean(x^p) / p"),
        "aggregation.median": ("COINr 1.1.14 has no weighted-median function",),
    }.items():
        for phrase in phrases:
            assert phrase in described[method], (method, phrase)
    overrides = schema["$defs"]["normalisation"]["properties"]["method"]["enum"]
    assert "ampi" in overrides
