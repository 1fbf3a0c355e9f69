"""extends: the merge rules, origins across files, the shipped alternatives as extensions.

The error cases (cycle, missing base, version, deleting what is not there, adding a
member twice, a list where a mapping was, forms that exclude each other ...) are the
data-driven corpus in tests/invalid_extends/ (tests/test_extends_corpus.py). Here: what
a merge gives, checked against hand-written expectations, and the alternatives' output
compared bit for bit with the full copies they replace (tests/data/alternatives/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from engine import api
from engine.analysis.compare import compare
from engine.analysis.diff import diff, relation, render_changes
from engine.cli import app
from engine.diagnostics import MethodologyError
from engine.format.extends import NOT_INHERITED, load_document, shipped_methodologies
from engine.format.extends_merge import merge, origins_of
from engine.format.extends_schema import derive_extension_schema
from engine.format.schemacheck import check_schema
from engine.format.show import show_methodology
from engine.format.yamlsource import load_yaml
from engine.report.methods_text import render_methods

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "kazakhstan" / "regions.csv"
BASE = ROOT / "methodologies" / "kireeva.yaml"
ALTERNATIVES = ["minmax", "zscore", "geometric", "entropy", "topsis"]


def _merge(base: str, ext: str) -> dict:
    b, e = load_yaml("b.yaml", text=base), load_yaml("e.yaml", text=ext)
    merged = merge(b.data, origins_of(b), e)
    assert not merged.problems, [d.render() for d in merged.problems]
    return merged.data


# -- the rules -------------------------------------------------------------------------


def test_mappings_merge_by_key_base_order_first() -> None:
    got = _merge("a: {x: 1, y: 2}\nb: 3\n", "a: {y: 20, z: 30}\nc: 4\n")
    assert got == {"a": {"x": 1, "y": 20, "z": 30}, "b": 3, "c": 4}
    assert list(got["a"]) == ["x", "y", "z"] and list(got) == ["a", "b", "c"]


def test_null_deletes_at_any_depth() -> None:
    got = _merge("a: {x: 1, y: {p: 1, q: 2}}\nb: [1]\n", "a: {y: {p: ~}}\nb:\n")
    assert got == {"a": {"x": 1, "y": {"q": 2}}}


def test_lists_replace_unless_edited() -> None:
    assert _merge("m: [a, b]\n", "m: [c]\n") == {"m": ["c"]}
    edited = _merge("m: [a, b, c]\n", "m: {remove: [b], add: [d, e]}\n")
    assert edited == {"m": ["a", "c", "d", "e"]}  # removals first, additions appended


def test_edit_compares_values_by_kind() -> None:
    """1, 1.0 and true are three values: removing 1 does not remove true."""
    b = load_yaml("b.yaml", text="m: [1, true, 1.5]\n")
    e = load_yaml("e.yaml", text="m: {remove: [1.0]}\n")
    merged = merge(b.data, origins_of(b), e)
    assert [d.code for d in merged.problems] == ["extends"]
    assert _merge("m: [1, true, {a: 1}]\n", "m: {remove: [true, {a: 1}]}\n") == {"m": [1]}


def test_another_method_replaces_its_parameters() -> None:
    base = "n: {method: leader_share, scale: 100, cost: min_over_x}\n"
    assert _merge(base, "n: {method: min_max, range: [0, 1]}\n") == {
        "n": {"method": "min_max", "range": [0, 1]}
    }
    assert _merge(base, "n: {scale: 10}\n")["n"]["scale"] == 10  # same method: merged
    assert _merge(base, "n: {method: leader_share, cost: ~}\n") == {
        "n": {"method": "leader_share", "scale": 100}
    }


def test_a_plain_value_and_a_mapping_replace_each_other() -> None:
    """Where the format allows both (a normalisation's scope), the value is replaced."""
    assert _merge("s: {period: 2010}\n", "s: pooled\n") == {"s": "pooled"}
    assert _merge("s: pooled\n", "s: {period: 2010}\n") == {"s": {"period": 2010}}


def test_a_list_and_a_mapping_clash() -> None:
    for base, ext in (("m: [a]\n", "m: {x: 1}\n"), ("m: {x: 1}\n", "m: [a]\n")):
        b, e = load_yaml("b.yaml", text=base), load_yaml("e.yaml", text=ext)
        merged = merge(b.data, origins_of(b), e)
        assert len(merged.problems) == 1 and "b.yaml:1" in merged.problems[0].message
        assert merged.problems[0].location.file == "e.yaml"
        assert "m" not in merged.data


def test_own_keys_are_not_inherited(tmp_path: Path) -> None:
    ext = tmp_path / "e.yaml"
    ext.write_text(f"indexlab: 1\nextends: {BASE}\nid: e\ntitle: E\nversion: '1'\n")
    doc = load_document(ext, api.schema())
    assert (doc.data["id"], doc.data["title"], doc.data["version"]) == ("e", "E", "1")
    assert "description" not in doc.data and "extends" not in doc.data
    assert list(doc.data)[:4] == ["indexlab", "id", "title", "version"]
    assert doc.data["authors"] == load_yaml(BASE).data["authors"]  # metadata lists: kept
    assert set(NOT_INHERITED) >= {"id", "title", "version", "description", "extends"}


def test_an_extension_stating_nothing_runs_as_its_base(tmp_path: Path) -> None:
    ext = tmp_path / "same.yaml"
    ext.write_text(f"indexlab: 1\nextends: {BASE}\nid: same\ntitle: Same\nversion: '1'\n")
    a, b = api.run(BASE, [DATA]), api.run(ext, [DATA])
    assert_frame_equal(a.frame, b.frame)
    assert diff(a.methodology, b.methodology) == []
    assert b.methodology.meta.bases[0].id == "kireeva-innovation"


def test_a_shipped_base_is_found_by_id(tmp_path: Path) -> None:
    assert shipped_methodologies()["kireeva-innovation"].name == "kireeva.yaml"
    ext = tmp_path / "by-id.yaml"
    ext.write_text(
        "indexlab: 1\nextends: kireeva-innovation\nid: by-id\ntitle: T\nversion: '1'\n"
        "normalisation: {default: {method: min_max}}\n"
    )
    m = api.load_methodology(ext)
    assert m.meta.bases[0].file.endswith("kireeva.yaml")
    assert {i.normalisation.method for i in m.indicators} == {"min_max"}


def test_a_chain_of_three_keeps_each_value_where_it_was_written(tmp_path: Path) -> None:
    (tmp_path / "mid.yaml").write_text(
        f"indexlab: 1\nextends: {BASE}\nid: mid\ntitle: M\nversion: '1'\n"
        "groups: {RIS: {label: middle}}\n"
    )
    top = tmp_path / "top.yaml"
    top.write_text(
        "indexlab: 1\nextends: mid.yaml\nid: top\ntitle: T\nversion: '1'\n"
        "groups: {RIA: {label: top}}\n"
    )
    doc = load_document(top, api.schema())
    assert [b.id for b in doc.bases] == ["mid", "kireeva-innovation"]
    ris, ria = doc.locate(("groups", "RIS", "label")), doc.locate(("groups", "RIA", "label"))
    members = doc.locate(("groups", "RIS", "members"))
    assert (ris.file, ris.line, ris.via) == (str(tmp_path / "mid.yaml"), 6, (str(top),))
    assert (ria.file, ria.line, ria.via) == (str(top), 6, ())
    assert members.file == str(BASE) and members.via == (str(tmp_path / "mid.yaml"), str(top))
    assert members.source_line is not None and "members: [SD, SE, SF]" in members.source_line


def test_an_extension_file_passes_its_own_schema_and_not_the_full_one() -> None:
    partial = derive_extension_schema(api.schema())
    for name in ALTERNATIVES:
        doc = load_yaml(ROOT / "methodologies" / f"kireeva-{name}.yaml")
        assert check_schema(doc, partial) == ()
        assert check_schema(doc, api.schema()) != ()


def test_the_shipped_extension_schema_is_current() -> None:
    import json

    shipped = json.loads((ROOT / "schema" / "extension.schema.json").read_text("utf-8"))
    assert shipped == derive_extension_schema(api.schema()), (
        "regenerate: indexlab schema --extension > schema/extension.schema.json"
    )


# -- the shipped alternatives ------------------------------------------------------------


@pytest.mark.parametrize("name", ALTERNATIVES)
def test_alternative_output_is_bit_identical_to_the_full_copy(name: str) -> None:
    new = api.run(ROOT / "methodologies" / f"kireeva-{name}.yaml", [DATA]).frame
    old = api.run(ROOT / "tests" / "data" / "alternatives" / f"kireeva-{name}.yaml", [DATA]).frame
    assert new.columns == old.columns and new.schema == old.schema
    assert_frame_equal(new, old, check_exact=True)
    for column, dtype in new.schema.items():  # bit for bit, not only equal as floats
        if dtype == pl.Float64:
            bits = [pl.col(column).cast(pl.Float64).reinterpret(signed=True)]
            assert new.select(bits).equals(old.select(bits)), column


@pytest.mark.parametrize("name", ALTERNATIVES)
def test_alternative_is_one_screen(name: str) -> None:
    lines = (ROOT / "methodologies" / f"kireeva-{name}.yaml").read_text("utf-8").splitlines()
    assert len(lines) <= 70 and lines[2] == "extends: kireeva.yaml"


EXPECTED_CHANGES = {
    "minmax": [
        "normalisation SD, SF, SE, SA, SB, SC: method leader_share(scale=100) → "
        "min_max(range=[0, 100])",
    ],
    "zscore": [
        "normalisation SD, SF, SE, SA, SB, SC: method leader_share(scale=100) → z_score(ddof=1)",
        "classes: quantile classes none → Q1, Q2, Q3, Q4, Q5",
    ],
    "geometric": [
        "group IDI: added (geometric of RIS: 1/2, RIA: 1/2)",
        "group RIS: aggregation arithmetic → geometric",
        "group RIA: aggregation arithmetic → geometric",
        "index: definition (RIS + RIA) / 2 → group IDI",
    ],
    "entropy": [
        "group RIS: weighting fixed → entropy",
        "group RIA: weighting fixed → entropy",
    ],
    "topsis": [
        "normalisation SD, SF, SE, SA, SB, SC: method leader_share(scale=100) → vector",
        "group RIS: removed (was arithmetic of SD: 1/3, SE: 1/3, SF: 1/3)",
        "group RIA: removed (was arithmetic of SA: 1/3, SB: 1/3, SC: 1/3)",
        "group ALL: added (topsis of SD: 1/6, SE: 1/6, SF: 1/6, SA: 1/6, SB: 1/6, SC: 1/6)",
        "index: definition (RIS + RIA) / 2 → group ALL",
        "classes: quantile classes none → Q1, Q2, Q3, Q4, Q5",
    ],
}
#: what every alternative deletes: the paper's audit, the 2014/2010 change, stage 2
STAGE_2_AND_AUDIT = {
    "input labour_productivity: removed",
    "input return_on_assets: removed",
    "input ecology: removed",
    "input rd_per_employed: removed",
    "input tech_innovation_per_employed: removed",
    "input it_share: removed",
    "derived change_2014_vs_2010_pct: removed",
    "check printed_labour_productivity: removed",
    "check printed_return_on_assets: removed",
    "check printed_ecology: removed",
    "check printed_rd_per_employed: removed",
    "check printed_tech_innovation_per_employed: removed",
    "screening promising_zone: removed",
}


@pytest.mark.parametrize("name", ALTERNATIVES)
def test_diff_against_the_base_is_what_the_extension_states(name: str) -> None:
    base = api.load_methodology(BASE)
    alt = api.load_methodology(ROOT / "methodologies" / f"kireeva-{name}.yaml")
    lines = render_changes(diff(base, alt))
    deleted = {line.split(" (was")[0] for line in lines if " (was " in line}
    assert deleted >= STAGE_2_AND_AUDIT
    stated = [line for line in lines if line.split(" (was")[0] not in STAGE_2_AND_AUDIT]
    stated = [
        s
        for s in stated
        if not s.startswith(("normalisation SD, SF, SE, SA, SB, SC: formula", "class "))
    ]
    assert stated == EXPECTED_CHANGES[name]
    assert relation(base, alt) == "the second extends the first"


def test_compare_lists_the_stated_changes() -> None:
    c = compare([BASE, ROOT / "methodologies" / "kireeva-minmax.yaml"], [DATA])
    lines = render_changes(c.diff["kireeva-minmax"])
    assert EXPECTED_CHANGES["minmax"][0] in lines


def test_doc_names_the_base_and_its_changes() -> None:
    m = api.load_methodology(ROOT / "methodologies" / "kireeva-geometric.yaml")
    text = render_methods(m)
    assert "It extends *Innovation development index of Kazakhstan" in text
    assert "(`kireeva-innovation`, version 2016" in text
    assert "- group RIS: aggregation arithmetic → geometric" in text
    assert "## Indicators" in text and "`grp * 1000 / employed`" in text
    plain = render_methods(api.load_methodology(BASE))
    assert "It extends" not in plain and "## Classes" in plain


# -- show --resolved ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALTERNATIVES)
def test_resolved_text_runs_as_the_extension(name: str, tmp_path: Path) -> None:
    path = ROOT / "methodologies" / f"kireeva-{name}.yaml"
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(show_methodology(path, resolved=True, origin=True), "utf-8")
    a, b = api.run(path, [DATA]), api.run(resolved, [DATA])
    assert_frame_equal(a.frame, b.frame, check_exact=True)
    assert diff(a.methodology, b.methodology) == []


def test_origin_comments_name_where_each_value_was_written() -> None:
    text = show_methodology(ROOT / "methodologies" / "kireeva-minmax.yaml", True, True)
    lines = text.splitlines()
    method = next(line for line in lines if line.strip().startswith("method: min_max"))
    formula = next(line for line in lines if "formula: grp * 1000 / employed" in line)
    assert method.endswith("methodologies/kireeva-minmax.yaml:37"), method
    assert formula.endswith("methodologies/kireeva.yaml:56"), formula
    assert lines[0].startswith("# ") and "extends " in lines[0] and "kireeva.yaml" in lines[0]


def test_cli_show_diff_doc() -> None:
    runner = CliRunner()
    alt = str(ROOT / "methodologies" / "kireeva-topsis.yaml")
    shown = runner.invoke(app, ["show", alt, "--resolved"])
    assert shown.exit_code == 0 and "aggregation:\n      method: topsis" in shown.stdout
    assert "extends:" not in shown.stdout
    as_written = runner.invoke(app, ["show", alt])
    assert as_written.exit_code == 0 and "extends: kireeva.yaml" in as_written.stdout
    changed = runner.invoke(app, ["diff", str(BASE), alt])
    assert changed.exit_code == 0 and "index: definition (RIS + RIA) / 2 → group ALL" in (
        changed.stdout
    )
    as_json = runner.invoke(app, ["diff", str(BASE), alt, "--format", "json"])
    assert '"relation": "the second extends the first"' in as_json.stdout
    doc = runner.invoke(app, ["doc", alt])
    assert doc.exit_code == 0 and doc.stdout.startswith("# Kazakhstan innovation index")
    bad = runner.invoke(
        app, ["show", str(ROOT / "tests/invalid_extends/cycle/m.yaml"), "--resolved"]
    )
    assert bad.exit_code == 1 and "extends cycle" in bad.stderr


def test_show_resolved_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from engine.cli import main; main()", "show",
         "methodologies/kireeva-zscore.yaml", "--resolved", "--origin"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "quantiles:" in done.stdout and "# methodologies/kireeva-zscore.yaml:" in done.stdout


# -- properties --------------------------------------------------------------------------

_keys = st.sampled_from(["a", "b", "c", "members", "method"])
_plain = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y", "z"]), st.booleans())
_values = st.recursive(
    _plain,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=12,
)
_docs = st.dictionaries(_keys, _values, max_size=4)


def _text(data: dict) -> str:
    from engine.format.yamldump import dump_yaml

    return dump_yaml(data)


@settings(max_examples=150, deadline=None)
@given(base=_docs, ext=_docs)
def test_merge_never_crashes_and_every_value_has_an_origin(base: dict, ext: dict) -> None:
    b = load_yaml("b.yaml", text=_text(base) if base else "{}\n")
    e = load_yaml("e.yaml", text=_text(ext) if ext else "{}\n")
    merged = merge(b.data, origins_of(b), e)
    for key, value in merged.data.items():
        origin = merged.origins[(key,)]
        assert origin.doc.source.path in ("b.yaml", "e.yaml")
        if key not in ext:
            assert value == base[key] and origin.via == ("e.yaml",)


@settings(max_examples=100, deadline=None)
@given(base=_docs)
def test_an_empty_extension_changes_nothing(base: dict) -> None:
    b = load_yaml("b.yaml", text=_text(base) if base else "{}\n")
    merged = merge(b.data, origins_of(b), load_yaml("e.yaml", text="{}\n"))
    assert merged.data == b.data and not merged.problems


def test_errors_before_any_data_is_read(tmp_path: Path) -> None:
    """A broken chain fails in validate, before a data file is even opened."""
    with pytest.raises(MethodologyError):
        api.run(ROOT / "tests" / "invalid_extends" / "cycle" / "m.yaml", [tmp_path / "none.csv"])


def test_the_guide_variant_works_as_documented(tmp_path: Path) -> None:
    """docs/guide.md, step 10: equal weights on `wellbeing`, everything else inherited."""
    import shutil

    shutil.copy(ROOT / "examples" / "guide" / "guide.yaml", tmp_path / "guide.yaml")
    variant = tmp_path / "my-variant.yaml"
    variant.write_text(
        "indexlab: 1\nextends: guide.yaml\nid: town-wellbeing-equal\n"
        "title: Town well-being index, equal weights\nversion: '1'\n"
        "groups:\n  wellbeing:\n    weights: {economy: 1, access: 1}\n",
        encoding="utf-8",
    )
    a = api.load_methodology(tmp_path / "guide.yaml")
    b = api.load_methodology(variant)
    assert render_changes(diff(a, b)) == [
        "group wellbeing: weights economy: 3/5, access: 2/5 → economy: 1/2, access: 1/2"
    ]
    towns = ROOT / "examples" / "guide" / "towns.csv"
    base, equal = api.run(tmp_path / "guide.yaml", [towns]), api.run(variant, [towns])
    economy = base.frame["economy"].to_list()
    access = base.frame["access"].to_list()
    from decimal import ROUND_HALF_UP, Decimal

    expected = [
        float(Decimal(f"{(e + x) / 2:.12f}").quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        for e, x in zip(economy, access)
    ]
    assert equal.frame["index"].to_list() == expected
