"""``indexlab compare`` and :func:`engine.analysis.compare.compare`: the paper's methodology against
an alternative (min-max normalisation, geometric mean) on the paper's data.

Rank agreement is checked against independent computations: textbook examples worked by
hand, a brute-force O(n^2) Kendall/Spearman written here, and scipy.stats when it is
installed.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from engine.analysis.compare import compare, kendall_tau_b, spearman_rho
from engine.cli import app

ROOT = Path(__file__).resolve().parents[1]
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
ALTERNATIVE = ROOT / "tests" / "data" / "compare" / "kireeva_minmax_geometric.yaml"
DATA = ROOT / "examples" / "kazakhstan" / "regions.csv"
REF, ALT = "kireeva-innovation", "kireeva-minmax-geometric"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_clean_failure(result: Result, code: int) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr


@pytest.fixture(scope="module")
def comparison():
    return compare([KIREEVA, ALTERNATIVE], [DATA])


def reformatted_copy(tmp_path: Path) -> Path:
    """kireeva.yaml with another id and formulas spelt differently: the same methodology."""
    text = KIREEVA.read_text(encoding="utf-8")
    for old, new in (
        ("id: kireeva-innovation", "id: kireeva-copy"),
        ("formula: grp * 1000 / employed", "formula: (grp*1000)/(employed)"),
        ("formula: (RIS + RIA) / 2", "formula: (RIA+RIS)/2"),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "kireeva_copy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- rank statistics


def brute_force(a: list[float], b: list[float]) -> tuple[float, float]:
    """Spearman (Pearson of average ranks) and Kendall tau-b, straight from the definitions."""

    def avg_ranks(v: list[float]) -> list[float]:
        return [sum(1 for w in v if w < x) + (sum(1 for w in v if w == x) + 1) / 2 for x in v]

    ra, rb = avg_ranks(a), avg_ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    rho = cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    s = ta = tb = 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            s += (da > 0) - (da < 0) if db > 0 else -((da > 0) - (da < 0)) if db < 0 else 0
            ta += da == 0
            tb += db == 0
    n0 = n * (n - 1) / 2
    return rho, s / math.sqrt((n0 - ta) * (n0 - tb))


def test_textbook_example_with_a_tie() -> None:
    # b's ranks 1, 2, 3.5, 5, 3.5: rho = 8 / sqrt(10 * 9.5); 8 concordant, 1 discordant,
    # 1 pair tied in b: tau-b = 7 / sqrt(10 * 9)
    a, b = [1, 2, 3, 4, 5], [5, 6, 7, 8, 7]
    assert spearman_rho(a, b) == pytest.approx(8 / math.sqrt(95), abs=1e-15)
    assert kendall_tau_b(a, b) == pytest.approx(7 / math.sqrt(90), abs=1e-15)


def test_perfect_and_reversed_orders() -> None:
    up = [1, 2, 3, 4]
    assert spearman_rho(up, up) == pytest.approx(1) and kendall_tau_b(up, up) == pytest.approx(1)
    assert spearman_rho(up, up[::-1]) == pytest.approx(-1) and kendall_tau_b(
        up, up[::-1]
    ) == pytest.approx(-1)


def test_undefined_cases_and_missing_pairs() -> None:
    assert spearman_rho([1], [1]) is None and kendall_tau_b([1], [1]) is None
    assert (
        spearman_rho([1, 1, 1], [1, 2, 3]) is None and kendall_tau_b([1, 1, 1], [1, 2, 3]) is None
    )
    # a pair with a missing value is dropped
    assert kendall_tau_b([1, 2, None, 4], [1, 2, 9, 4]) == pytest.approx(1)


def test_against_brute_force_with_ties() -> None:
    rng = random.Random(5)
    for _ in range(40):
        n = rng.randint(3, 30)
        a = [float(rng.randint(1, 6)) for _ in range(n)]
        b = [float(rng.randint(1, 6)) for _ in range(n)]
        if len(set(a)) < 2 or len(set(b)) < 2:
            continue
        rho, tau = brute_force(a, b)
        assert spearman_rho(a, b) == pytest.approx(rho, abs=1e-12)
        assert kendall_tau_b(a, b) == pytest.approx(tau, abs=1e-12)


def test_against_scipy_if_installed() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for _ in range(40):
        n = rng.randint(3, 30)
        a = [rng.randint(1, 8) for _ in range(n)]
        b = [rng.randint(1, 8) for _ in range(n)]
        if len(set(a)) < 2 or len(set(b)) < 2:
            continue
        assert spearman_rho(a, b) == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)
        assert kendall_tau_b(a, b) == pytest.approx(stats.kendalltau(a, b)[0], abs=1e-12)


# --------------------------------------------------------------------------- the API


def test_table_columns_and_shifts(comparison) -> None:
    t = comparison.table
    assert comparison.ids == (REF, ALT)
    assert t.columns == [
        "region",
        "year",
        f"index_{REF}",
        f"rank_{REF}",
        f"class_{REF}",
        f"index_{ALT}",
        f"rank_{ALT}",
        f"class_{ALT}",
        f"shift_{ALT}",
    ]
    assert t.height == 32
    assert (t[f"shift_{ALT}"] == t[f"rank_{ALT}"] - t[f"rank_{REF}"]).all()
    assert t.filter(pl.col(f"shift_{ALT}") != 0).height > 0  # the alternative does move ranks
    # the reference column is the plain run of kireeva.yaml
    from engine import api

    run = api.run(KIREEVA, [DATA]).frame.select("region", "year", "rank")
    joined = run.join(t, on=["region", "year"])
    assert (joined["rank"] == joined[f"rank_{REF}"]).all()


def test_transitions_add_up(comparison) -> None:
    t = comparison.table
    by_period = {tr.period: tr for tr in comparison.transitions}
    assert set(by_period) == {2010, 2014, None}
    for period, tr in by_period.items():
        assert (tr.reference, tr.other) == (REF, ALT)
        expected = t.height if period is None else t.filter(pl.col("year") == period).height
        assert tr.total == expected
        m = tr.matrix
        assert m.columns[0] == f"class_{REF}"
        # every cell equals a direct count of the table
        part = t if period is None else t.filter(pl.col("year") == period)
        for row in m.iter_rows(named=True):
            for col in m.columns[1:]:
                direct = part.filter(
                    (pl.col(f"class_{REF}") == row[m.columns[0]]) & (pl.col(f"class_{ALT}") == col)
                ).height
                assert row[col] == direct
    # rows and columns follow the bands from the top
    assert by_period[None].matrix[f"class_{REF}"].to_list()[:3] == ["A++", "A+", "A"]


def test_agreement_matches_an_independent_computation(comparison) -> None:
    ag = comparison.agreement
    assert ag.columns == ["year", "a", "b", "n", "spearman", "kendall_tau_b"]
    assert ag["year"].to_list() == [2010, 2014]
    for row in ag.iter_rows(named=True):
        part = comparison.table.filter(pl.col("year") == row["year"])
        rho, tau = brute_force(
            [float(v) for v in part[f"rank_{REF}"]], [float(v) for v in part[f"rank_{ALT}"]]
        )
        assert row["n"] == 16
        assert row["spearman"] == pytest.approx(rho, abs=1e-12)
        assert row["kendall_tau_b"] == pytest.approx(tau, abs=1e-12)
    # scipy.stats 1.17.1 on the 2010 ranks: spearmanr 0.976470588235294, kendalltau 0.9
    first = ag.row(0, named=True)
    assert first["spearman"] == pytest.approx(0.976470588235294, abs=1e-12)
    assert first["kendall_tau_b"] == pytest.approx(0.9, abs=1e-12)


def test_identical_methodologies(tmp_path: Path) -> None:
    c = compare([KIREEVA, reformatted_copy(tmp_path)], [DATA])
    assert c.diff == {"kireeva-copy": ()}
    assert (c.table["shift_kireeva-copy"] == 0).all()
    assert c.agreement["spearman"].to_list() == pytest.approx([1.0, 1.0])
    assert c.agreement["kendall_tau_b"].to_list() == pytest.approx([1.0, 1.0])
    for tr in c.transitions:  # everything on the diagonal
        m = tr.matrix
        diagonal = sum(
            row[col]
            for row in m.iter_rows(named=True)
            for col in m.columns[1:]
            if col == row[m.columns[0]]
        )
        assert diagonal == tr.total


def test_three_methodologies_every_pair(tmp_path: Path) -> None:
    c = compare([KIREEVA, ALTERNATIVE, reformatted_copy(tmp_path)], [DATA])
    assert {(r["a"], r["b"]) for r in c.agreement.iter_rows(named=True)} == {
        (REF, ALT),
        (REF, "kireeva-copy"),
        (ALT, "kireeva-copy"),
    }
    assert c.agreement.height == 6  # three pairs, two years
    assert {"shift_kireeva-copy", f"shift_{ALT}"} <= set(c.table.columns)
    assert len(c.transitions) == 6


# --------------------------------------------------------------------------- the command


def test_cli_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "side.csv"
    result = invoke("compare", KIREEVA, ALTERNATIVE, DATA, "-o", out)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "Spearman" in text and "Almaty" in text and "Class transitions" in text
    # the summary first, the side-by-side tables next, the differences last and on request
    assert text.index("Summary") < text.index("Index, rank and class") < text.index("Class trans")
    diff_line = "normalisation SD, SF, SE, SA, SB, SC: method leader_share(scale=100)"
    assert diff_line not in text and "30 differences in meaning (--diff" in text
    with_diff = invoke("compare", KIREEVA, ALTERNATIVE, DATA, "--diff").stdout
    assert diff_line in with_diff
    assert with_diff.index("Class transitions") < with_diff.index(diff_line)
    frame = pl.read_csv(out)
    assert frame.height == 32 and f"shift_{ALT}" in frame.columns
    assert (frame[f"shift_{ALT}"] == frame[f"rank_{ALT}"] - frame[f"rank_{REF}"]).all()


@pytest.mark.parametrize("suffix", [".json", ".parquet", ".xlsx"])
def test_cli_writes_other_formats(suffix: str, tmp_path: Path) -> None:
    out = tmp_path / f"side{suffix}"
    result = invoke("compare", KIREEVA, ALTERNATIVE, DATA, "-q", "-o", out)
    assert result.exit_code == 0, result.stderr
    frame = {".parquet": pl.read_parquet, ".xlsx": pl.read_excel, ".json": pl.read_json}[suffix](
        out
    )
    assert frame.height == 32 and f"rank_{ALT}" in frame.columns


def test_cli_chart_both_formats_deterministic(tmp_path: Path) -> None:
    base = tmp_path / "bump"
    result = invoke("compare", KIREEVA, ALTERNATIVE, DATA, "-q", "--chart", base)
    assert result.exit_code == 0, result.stderr
    png, svg = tmp_path / "bump.png", tmp_path / "bump.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = svg.read_bytes()
    assert first.lstrip().startswith(b"<?xml") and b"<svg" in first
    import xml.etree.ElementTree as ET

    ET.fromstring(first)  # well-formed XML
    again = tmp_path / "again.svg"
    assert invoke("compare", KIREEVA, ALTERNATIVE, DATA, "-q", "--chart", again).exit_code == 0
    assert again.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.svg", "bump.png", "bump.svg"]


def test_cli_chart_single_format(tmp_path: Path) -> None:
    result = invoke("compare", KIREEVA, ALTERNATIVE, DATA, "-q", "--chart", tmp_path / "c.png")
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


def test_same_id_is_an_error() -> None:
    result = invoke("compare", KIREEVA, KIREEVA, DATA)
    assert_clean_failure(result, 1)
    assert "kireeva-innovation" in result.stderr and "id" in result.stderr


def test_different_layout_is_an_error_naming_both_files(tmp_path: Path) -> None:
    other = tmp_path / "other_unit.yaml"
    other.write_text(
        ALTERNATIVE.read_text(encoding="utf-8").replace("unit: region", "unit: oblast"),
        encoding="utf-8",
    )
    result = invoke("compare", KIREEVA, other, DATA, "--format", "json")
    assert_clean_failure(result, 1)
    (d,) = json.loads(result.stderr)
    assert str(KIREEVA) in d["message"] and str(other) in d["message"]
    assert "'region'" in d["message"] and "'oblast'" in d["message"]


def test_usage_errors(tmp_path: Path) -> None:
    assert_clean_failure(invoke("compare", KIREEVA, DATA), 2)  # one methodology
    assert_clean_failure(invoke("compare", KIREEVA, ALTERNATIVE), 2)  # no data
    odd = tmp_path / "notes.docx"
    odd.write_text("x", encoding="utf-8")
    result = invoke("compare", KIREEVA, ALTERNATIVE, DATA, odd)
    assert_clean_failure(result, 2)
    assert "notes.docx" in result.stderr


def test_outputs_never_overwrite_inputs(tmp_path: Path) -> None:
    data = tmp_path / "regions.csv"
    data.write_bytes(DATA.read_bytes())
    assert_clean_failure(invoke("compare", KIREEVA, ALTERNATIVE, data, "-o", data), 2)
    assert data.read_bytes() == DATA.read_bytes()
    # not .png/.svg: the chart goes to regions.csv.png and regions.csv.svg, beside the data
    result = invoke("compare", KIREEVA, ALTERNATIVE, data, "-q", "--chart", data)
    assert result.exit_code == 0, result.stderr
    assert data.read_bytes() == DATA.read_bytes()
    assert {p.name for p in tmp_path.iterdir()} == {
        "regions.csv",
        "regions.csv.png",
        "regions.csv.svg",
    }


def test_invalid_methodology_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        ALTERNATIVE.read_text(encoding="utf-8").replace("grp / emissions", "grp / emission"),
        encoding="utf-8",
    )
    result = invoke("compare", KIREEVA, bad, DATA, "--format", "json")
    assert_clean_failure(result, 1)
    assert json.loads(result.stderr)[0]["code"] == "unknown-name"
