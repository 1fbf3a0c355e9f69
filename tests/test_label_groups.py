"""Statistics, ranks and normalisation within groups of a label column, and classes cut on
an expression (issue 14).

Every expected value is recomputed here in plain Python from the definition (loops over
the rows of each group), never taken from the engine's own output.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from engine import api
from engine.diagnostics import Code, MethodologyError

HEAD = """\
indexlab: 1
id: by-label
title: by label
data: {unit: c, period: year, labels: [region, income]}
inputs: {a: {}, b: {}}
indicators: {A: {formula: a}, B: {formula: b, direction: lower}}
"""

REGIONS = ["Africa", "Americas", "Asia", "Europe"]
INCOMES = ["low", "high"]


def _rows(seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for year in (2020, 2021):
        for i in range(22):
            region = None if i == 21 else REGIONS[i % 4]  # one unit without a region
            rows.append(
                {
                    "c": f"U{i:02d}",
                    "year": year,
                    "region": region,
                    "income": INCOMES[(i // 3) % 2],
                    "a": round(rng.uniform(0, 100), 3),
                    "b": round(rng.uniform(1, 50), 3),
                }
            )
    # a tie inside a region, to check the rule for ties
    rows[8]["a"], rows[12]["a"], rows[8]["b"], rows[12]["b"] = 50.0, 50.0, 10.0, 10.0
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bylabel") / "d.csv"
    pl.DataFrame(_rows()).write_csv(path)
    return path


def _run(tmp_path: Path, body: str, data: Path) -> pl.DataFrame:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return api.run(path, [data]).frame


def _groups(rows: list[dict[str, object]], *labels: str) -> dict[tuple[object, ...], list[dict]]:
    out: dict[tuple[object, ...], list[dict]] = defaultdict(list)
    for r in rows:
        if all(r[k] is not None for k in labels):
            out[(r["year"], *(r[k] for k in labels))].append(r)
    return out


def _rank_min(values: list[float], value: float, descending: bool = True) -> int:
    """Competition rank ('min'): 1 + the number of values strictly better."""
    return 1 + sum(1 for v in values if (v > value if descending else v < value))


def test_rank_mean_and_normalisation_within_label_groups(tmp_path: Path, data: Path) -> None:
    frame = _run(
        tmp_path,
        """\
normalisation:
  default: {method: min_max, scope: {by: [income]}}
groups: {G: {members: [A, B]}}
index: {group: G}
ranking:
  within: {region_rank: [region]}
derived:
  region_mean: {formula: "mean(index, by=[region, year])"}
  income_max_a: {formula: "max(a, by=[income, year])"}
""",
        data,
    )
    rows = _rows()
    # min-max within (year, income): A higher is better, B lower is better
    for members in _groups(rows, "income").values():
        amin, amax = min(r["a"] for r in members), max(r["a"] for r in members)
        bmin, bmax = min(r["b"] for r in members), max(r["b"] for r in members)
        for r in members:
            r["A.norm"] = (r["a"] - amin) / (amax - amin) * 100
            r["B.norm"] = (bmax - r["b"]) / (bmax - bmin) * 100
            r["index"] = (r["A.norm"] + r["B.norm"]) / 2
            r["income_max_a"] = amax
    by_region = _groups(rows, "region")
    for members in by_region.values():
        mean = sum(r["index"] for r in members) / len(members)
        for r in members:
            r["region_mean"] = mean
            r["region_rank"] = _rank_min([m["index"] for m in members], r["index"])
    got = {(r["c"], r["year"]): r for r in frame.iter_rows(named=True)}
    for r in rows:
        g = got[(r["c"], r["year"])]
        for col in ("A.norm", "B.norm", "index", "income_max_a"):
            assert g[col] == pytest.approx(r[col], rel=1e-12, abs=1e-12), (r["c"], col)
        if r["region"] is None:  # no region: no rank and no mean within a region
            assert g["region_rank"] is None and g["region_mean"] is None
        else:
            assert g["region_rank"] == r["region_rank"], r["c"]
            assert g["region_mean"] == pytest.approx(r["region_mean"], rel=1e-12)
    assert frame.schema["region_rank"] == pl.Int64  # a rank is a whole number, as 'rank'
    # the tie: U08 and U12 are both low-income African units with equal values
    assert got[("U08", 2020)]["region_rank"] == got[("U12", 2020)]["region_rank"]
    # the world rank is untouched: over every unit of the year
    for year in (2020, 2021):
        values = [r["index"] for r in rows if r["year"] == year]
        for r in rows:
            if r["year"] == year:
                assert got[(r["c"], year)]["rank"] == _rank_min(values, r["index"])


def test_rank_within_groups_follows_the_declared_order_and_ties(tmp_path: Path, data: Path) -> None:
    frame = _run(
        tmp_path,
        """\
normalisation: {default: {method: min_max}}
groups: {G: {members: [A, B]}}
index: {group: G}
ranking: {order: ascending, ties: dense, within: {low_first: [region, income]}}
""",
        data,
    )
    for (year, region, income), part in frame.group_by("year", "region", "income"):
        if region is None:
            assert part["low_first"].null_count() == part.height
            continue
        distinct = sorted(set(part["index"].to_list()))
        want = [distinct.index(v) + 1 for v in part["index"].to_list()]
        assert part["low_first"].to_list() == want, (year, region, income)


def test_missing_label_leaves_group_imputation_alone(tmp_path: Path) -> None:
    """COINr's i_mean_grp: a unit whose group is NA is left as it is."""
    rows = [
        ("p", "N", 1.0),
        ("q", "N", 3.0),
        ("r", "N", None),
        ("s", None, None),
        ("t", None, 9.0),
    ]
    path = tmp_path / "d.csv"
    pl.DataFrame(rows, schema=["c", "region", "a"], orient="row").write_csv(path)
    methodology = tmp_path / "m.yaml"
    methodology.write_text(
        """\
indexlab: 1
id: imp
title: imp
data: {unit: c, labels: [region]}
inputs: {a: {}}
indicators: {A: {formula: a}}
imputation: {default: {method: mean, by: [region]}}
normalisation: {default: {method: min_max}}
""",
        encoding="utf-8",
    )
    got = dict(api.run(methodology, [path]).frame.select("c", "A.imputed").iter_rows())
    assert got == {"p": 1.0, "q": 3.0, "r": 2.0, "s": None, "t": 9.0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('derived: {x: {formula: "mean(a, by=[continent, year])"}}', "'continent' is not a key"),
        (
            "normalisation: {default: {method: min_max, scope: {by: [continent]}}}",
            "groups by 'continent', which is not a label column",
        ),
        (
            "groups: {G: {members: [A]}}\nindex: {group: G}\nranking: {within: {r2: [year]}}",
            "rank 'r2' groups by 'year', which is not a label column",
        ),
        (
            "groups: {G: {members: [A]}}\nindex: {group: G}\nranking: {within: {A: [region]}}",
            "'A' is already defined",
        ),
    ],
)
def test_grouping_by_something_that_is_not_a_label_is_refused(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + body + "\n", encoding="utf-8")
    with pytest.raises(MethodologyError) as err:
        api.validate(path)
    assert any(message in d.message for d in err.value.diagnostics), err.value.render()


# -- classes on an expression -----------------------------------------------------------------

GDI = """\
indexlab: 1
id: gdi-bands
title: GDI groups
data: {unit: c}
inputs: {f: {}, m: {}}
indicators: {F: {formula: f}, M: {formula: m}}
index: {formula: F / M, round: {digits: 3}}
classes:
  of: abs(index - 1)
  closed: upper
  bands:
    - {label: "1", min: 0, max: 0.025}
    - {label: "2", min: 0.025, max: 0.05}
    - {label: "3", min: 0.05, max: 0.075}
    - {label: "4", min: 0.075, max: 0.1}
    - {label: "5", min: 0.1, max: 10}
"""


def _gdi_group(gdi: float) -> str:
    """Bands of the absolute deviation from parity closed above (``closed: upper``): group 1
    up to and including 2.5 %, 2 up to 5 %, 3 up to 7.5 %, 4 up to 10 %, 5 above. (UNDP's
    own groups are closed below; examples/undp-gdi and tests/test_gdi.py use those.)"""
    d = abs(round(gdi * 1000) / 1000 - 1)
    for label, upper in (("1", 0.025), ("2", 0.05), ("3", 0.075), ("4", 0.1)):
        if d <= upper + 1e-9:
            return label
    return "5"


def test_classes_cut_on_an_expression(tmp_path: Path) -> None:
    # ratios on both sides of parity, and on the band bounds (1.025, 0.95 and 0.9 exactly)
    pairs = [(0.7, 0.7), (0.8, 0.75), (0.5, 0.9), (0.95, 0.9), (0.69, 0.7), (1.025, 1.0),
             (0.95, 1.0), (0.9, 1.0), (1.1, 1.0), (0.8, 1.0)]  # fmt: skip
    rows = [(f"u{i}", f, m) for i, (f, m) in enumerate(pairs)]
    data = tmp_path / "d.csv"
    pl.DataFrame(rows, schema=["c", "f", "m"], orient="row").write_csv(data)
    methodology = tmp_path / "gdi.yaml"
    methodology.write_text(GDI, encoding="utf-8")
    result = api.run(methodology, [data])
    got = dict(result.frame.select("c", "class").iter_rows())
    want = {c: _gdi_group(f / m) for c, f, m in rows}
    assert got == want
    assert got["u5"] == "1" and got["u6"] == "2" and got["u7"] == "4"  # bounds: upper closed
    assert "__class_value" not in result.frame.columns  # the value is not an output column


def test_classes_on_an_expression_are_explained_and_listed_in_a_diff(tmp_path: Path) -> None:
    from engine.analysis.diff import diff
    from engine.analysis.explain import explain

    data = tmp_path / "d.csv"
    data.write_text("c,f,m\nu1,0.8,0.75\nu2,0.7,0.7\n", encoding="utf-8")
    methodology = tmp_path / "gdi.yaml"
    methodology.write_text(GDI, encoding="utf-8")
    explained = explain(str(methodology), [data], "u1")
    note = explained.step("class").note
    assert note.startswith("3 because 0.05 < 0.06699999"), note  # |1.067 - 1|
    assert note.endswith("<= 0.075 (bands include their upper bound)"), note
    other = tmp_path / "other.yaml"
    other.write_text(GDI.replace("abs(index - 1)", "1 - index"), encoding="utf-8")
    changes = diff(api.validate(methodology).methodology, api.validate(other).methodology)
    assert any(c.what == "of" and c.after == "1 - index" for c in changes), changes


def test_classes_on_need_a_number_with_one_value_per_unit(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GDI.replace("abs(index - 1)", "index > 1"), encoding="utf-8")
    with pytest.raises(MethodologyError) as err:
        api.validate(path)
    assert err.value.diagnostics[0].code == Code.TYPE, err.value.render()


def test_a_diff_names_ranks_within_groups_and_output_types(tmp_path: Path) -> None:
    from engine.analysis.diff import diff, render

    base = HEAD + "groups: {G: {members: [A, B]}}\nindex: {group: G}\n"
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(base + 'derived: {n: {formula: "count(a)"}}\n', encoding="utf-8")
    b.write_text(
        base
        + "ranking: {within: {region_rank: [region]}}\n"
        + 'derived: {n: {formula: "count(a)", type: integer}}\n'
        + "availability: {minimum: 0.5}\n",
        encoding="utf-8",
    )
    lines = [render(c) for c in diff(api.validate(a).methodology, api.validate(b).methodology)]
    assert "availability: added (minimum 0.5)" in lines
    assert "rank within region_rank: added (region)" in lines
    assert "derived n: type number → integer" in lines
