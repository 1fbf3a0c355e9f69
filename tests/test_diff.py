"""The semantic diff: small methodology pairs in tests/data/compare/diff/ with the exact changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from engine import api
from engine.analysis.diff import Change, canonical, diff, render, render_changes

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "data" / "compare" / "diff"


def load(name: str):
    return api.load_methodology(CASES / f"{name}.yaml")


def test_a_methodology_equals_itself() -> None:
    assert diff(load("base"), load("base")) == []
    kireeva = api.load_methodology(ROOT / "methodologies" / "kireeva.yaml")
    assert diff(kireeva, kireeva) == []


def test_spelling_is_not_a_difference() -> None:
    """Reordered inputs and members, parentheses, whitespace, commuted sums, a >= b as
    b <= a, scaled weights, default parameters spelt out, bands in another order."""
    assert diff(load("base"), load("reformatted")) == []
    assert diff(load("reformatted"), load("base")) == []


def test_every_section_changed() -> None:
    changes = diff(load("base"), load("changed"))
    assert [render(c) for c in changes if c.section != "normalisation"] == [
        "input c: removed (was tonnes)",
        "input d: added (hectares)",
        "indicator Z: removed (was c)",
        "indicator W: added (d)",
        "indicator X: formula a * 1000 / b → a / b",
        "indicator Y: formula (a + c) / 2 → (a + d) / 2",
        "indicator Y: direction higher → lower",
        "group G: weights X: 1/2, Y: 1/2 → X: 2/3, Y: 1/3",
        "group G: aggregation arithmetic → geometric",
        "group H: members Z → W",
        "index: rounding none → 2 digits, half_up",
        "ranking: ties min → dense",
        "classes: closed lower → upper",
        "class high: band [50, 100] → (40, 100]",
        "class low: band [0, 50) → [0, 40]",
        "check small: added (b <= 1000000)",
        "check positive: severity warning → error",
    ]
    norm = [c for c in changes if c.section == "normalisation"]
    assert norm[0] == Change(
        "normalisation", "Y", "method", "leader_share(scale=100)", "min_max(range=[1, 100])"
    )
    assert norm[1].what == "formula" and norm[1].name == "Y"
    assert "max(x, by=[year])" in norm[1].before and "min(x, by=[year])" in norm[1].after


def test_kireeva_against_the_alternative() -> None:
    a = api.load_methodology(ROOT / "methodologies" / "kireeva.yaml")
    b = api.load_methodology(ROOT / "tests" / "data" / "compare" / "kireeva_minmax_geometric.yaml")
    lines = render_changes(diff(a, b))
    # one line for the six indicators whose (default) normalisation changed
    assert (
        "normalisation SD, SF, SE, SA, SB, SC: method leader_share(scale=100) → min_max(range=[1, 100])"
        in lines
    )
    assert "group RIS: weights SD: 1/3, SE: 1/3, SF: 1/3 → SD: 1/2, SE: 1/4, SF: 1/4" in lines
    assert "group ALL: added (geometric of RIS: 1/2, RIA: 1/2)" in lines
    assert "index: definition (RIS + RIA) / 2 → group ALL" in lines
    assert not [line for line in lines if line.startswith("indicator ")]  # same indicator formulas


@pytest.mark.parametrize(
    ("x", "y", "equal"),
    [
        ("a*1000/b", "(a*1000)/(b)", True),
        ("a*1000/b", "1000*a/b", True),
        ("a*1000/b", "a*(1000/b)", True),
        ("(a + b)/2", "(b+a)/2", True),
        ("a - b", "-b + a", True),
        ("a/b/2", "a/(b*2)", True),
        ("a*2", "a*2.0", True),
        ("(a + b)/2", "a/2 + b/2", True),  # sympy distributes a number over a sum
        ("exp(log(a))", "a", False),  # differ where a <= 0
        ("a/b", "b/a", False),
    ],
)
def test_canonical_form(x: str, y: str, equal: bool) -> None:
    from engine.formula.parser import Formula, Scope, parse_formula

    scope = Scope({"a": "input", "b": "input"}, ("year",))
    ex, problems_x = parse_formula(Formula(x), scope, want=None)
    ey, problems_y = parse_formula(Formula(y), scope, want=None)
    assert not problems_x and not problems_y
    assert (canonical(ex) == canonical(ey)) is equal


def test_canonical_keeps_statistics() -> None:
    from engine.formula import ir

    x = sympy.Symbol("x")
    e = ir.stat(ir.ColMax, sympy.Add(x, 1, evaluate=False), ("year",))
    assert canonical(e) == ir.stat(ir.ColMax, sympy.Add(1, x), ("year",))


def _with(tmp_path: Path, name: str, extra: str, aggregation: str = "") -> object:
    """base.yaml with extra sections and group G's aggregation replaced."""
    text = (CASES / "base.yaml").read_text(encoding="utf-8")
    if aggregation:
        text = text.replace(
            "G: {members: [X, Y]}", f"G: {{members: [X, Y], aggregation: {aggregation}}}"
        )
    path = tmp_path / f"{name}.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return api.load_methodology(path)


def test_methods_are_described_by_their_declarations(tmp_path: Path) -> None:
    """A method's parameters are shown as written; left to their default or spelt out at
    it, they are the same setting."""
    a = _with(
        tmp_path, "a", "treatment: {default: {method: winsorise_log}}\n", "{method: power, p: 2}"
    )
    same = _with(
        tmp_path,
        "same",
        "treatment: {default: {method: winsorise_log, skew: 2, max_points: 5}}\n",
        "{method: power, p: 2.0}",
    )
    assert diff(a, same) == []
    b = _with(
        tmp_path,
        "b",
        "treatment: {default: {method: winsorise_log, skew: 1.5}}\n"
        "imputation: {default: {method: median}}\n",
        "{method: power, p: 3}",
    )
    assert render_changes(diff(a, b)) == [
        "imputation X, Y, Z: method none → median",
        "treatment X, Y, Z: method winsorise_log → winsorise_log(skew=1.5)",
        "group G: aggregation power(p=2) → power(p=3)",
    ]
