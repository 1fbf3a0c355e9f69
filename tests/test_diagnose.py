"""`indexlab diagnose` against COINr 1.1.14 on its ASEM example, and against independent
computations (plain Python, numpy, scipy) written from the definitions.

COINr's values are in tests/data/coinr_asem/ (how they were produced: its README).
examples/coinr-asem/asem.yaml runs COINr's default pipeline (Treat, Normalise, Aggregate);
our indicator values are COINr's "Raw" data set, our normalised values its "Normalised"
one and our group scores its "Aggregated" one. Indicator names are COINr's iCodes in
lower case.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.stats
from typer.testing import CliRunner

from engine import api
from engine.analysis import diagnose_availability, diagnose_correlations, diagnose_cronbach
from engine.analysis.diagnose import Stage, diagnose_result, framework, write_diagnosis
from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent
COINR = ROOT / "tests" / "data" / "coinr_asem"
ASEM = ROOT / "examples" / "coinr-asem" / "asem.yaml"
ASEM_DATA = ROOT / "examples" / "coinr-asem" / "asem.csv"
HDI = ROOT / "methodologies" / "undp-hdi.yaml"
HDI_DATA = ROOT / "examples" / "undp-hdi" / "input.csv"
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
KZ_DATA = ROOT / "examples" / "kazakhstan" / "regions.csv"

TIGHT = 1e-12


def _close(a: object, b: object, tol: float = TIGHT) -> bool:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(np.isnan(x) == np.isnan(y))) and bool(
        np.nanmax(np.abs(x - y) / np.maximum(1.0, np.abs(y)), initial=0.0) <= tol
    )


@pytest.fixture(scope="module")
def asem() -> tuple[api.RunResult, pl.DataFrame]:
    validated = api.validate(ASEM)
    data = api.read_data(validated.methodology, [ASEM_DATA])
    assert data.units is not None
    return api.execute(validated, data), data.units


@pytest.fixture(scope="module")
def asem_stages(asem: tuple[api.RunResult, pl.DataFrame]) -> dict[Stage, object]:
    result, units = asem
    return {s: diagnose_result(result, s, units) for s in Stage}


def _coinr(name: str) -> pl.DataFrame:
    """A COINr table with its codes as ours: indicators in lower case, "Index" as SustConn."""
    frame = pl.read_csv(COINR / name, infer_schema_length=None)
    for c in ("iCode", "Var1", "Var2"):
        if c in frame.columns:
            code = pl.col(c).replace({"Index": "SustConn"})
            frame = frame.with_columns(
                pl.when(code.is_in(_GROUPS)).then(code).otherwise(code.str.to_lowercase()).alias(c)
            )
    return frame


_GROUPS = [
    "Physical", "ConEcFin", "Political", "Instit", "P2P", "Environ", "Social", "SusEcFin",
    "Conn", "Sust", "SustConn",
]  # fmt: skip


# -- the example reproduces COINr's index -------------------------------------------------


def test_asem_example_reproduces_coinr_aggregate(asem: tuple[api.RunResult, pl.DataFrame]) -> None:
    result, _ = asem
    ref = pl.read_csv(COINR / "aggregated.csv").rename({"Index": "SustConn"})
    joined = result.frame.join(ref, on="uCode", suffix="_coinr")
    assert joined.height == 51
    for g in _GROUPS:
        assert _close(joined[g], joined[g + "_coinr"], 1e-13), g


# -- statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "file"),
    [(Stage.INDICATORS, "stats_Raw.csv"), (Stage.NORMALISED, "stats_Normalised.csv")],
)
def test_statistics_match_coinr_get_stats(asem_stages: dict, stage: Stage, file: str) -> None:
    ours = asem_stages[stage].statistics
    ref = _coinr(file).rename({"iCode": "name"})
    joined = ours.join(ref, on="name")
    assert joined.height == ours.height == 49
    pairs = {
        "min": "Min", "max": "Max", "mean": "Mean", "median": "Median", "sd": "Std",
        "skewness": "Skew", "kurtosis": "Kurt", "available": "Frc.Avail",
    }  # fmt: skip
    for a, b in pairs.items():
        assert _close(joined[a], joined[b]), a
    assert (joined["n"] == joined["N.Avail"]).all()
    assert (joined["unique"] == joined["N.Unique"]).all()
    assert (joined["n"] - joined["zeros"] == joined["N.NonZero"]).all()
    assert (joined["outlier"] == (joined["Flag.SkewKurt"] == "OUT")).all()
    assert joined["outlier"].any() == (stage == Stage.INDICATORS)  # treatment removes them


def test_statistics_match_numpy_and_scipy_per_period() -> None:
    validated = api.validate(HDI)
    data = api.read_data(validated.methodology, [HDI_DATA])
    result = api.execute(validated, data)
    stats = diagnose_result(result, Stage.INPUTS, data.units).statistics
    frame = data.units
    assert frame is not None
    rng = random.Random(7)
    for year in rng.sample(sorted(set(frame["year"].to_list())), 5):
        for name in ("le", "eys", "mys", "gnipc"):
            x = frame.filter(pl.col("year") == year)[name].drop_nulls().to_numpy()
            row = stats.filter((pl.col("name") == name) & (pl.col("year") == year)).row(
                0, named=True
            )
            assert row["n"] == len(x)
            assert math.isclose(row["sd"], float(np.std(x, ddof=1)), rel_tol=1e-12)
            assert math.isclose(row["mean"], float(np.mean(x)), rel_tol=1e-12)
            assert math.isclose(row["median"], float(np.median(x)), rel_tol=1e-12)
            skew = float(scipy.stats.skew(x, bias=False))
            kurt = float(scipy.stats.kurtosis(x, bias=False))
            assert math.isclose(row["skewness"], skew, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(row["kurtosis"], kurt, rel_tol=1e-9, abs_tol=1e-12)
            assert row["outlier"] == (abs(skew) > 2 and kurt > 3.5)
            assert row["unique"] == len(set(x.tolist()))


def test_statistics_need_three_and_four_values() -> None:
    from engine.analysis.diagnose_statistics import statistics

    frame = pl.DataFrame({"a": [1.0, 2.0, 4.0, None], "b": [1.0, None, None, 3.0]})
    got = statistics(frame, ("a", "b"), None)
    a, b = got.row(0, named=True), got.row(1, named=True)
    assert a["skewness"] is not None and a["kurtosis"] is None and a["available"] == 0.75
    assert b["skewness"] is None and b["n"] == 2


# -- availability -------------------------------------------------------------------------


def test_availability_matches_coinr_get_data_avail(asem_stages: dict) -> None:
    ours = asem_stages[Stage.INDICATORS].availability
    summary = pl.read_csv(COINR / "data_avail_summary.csv")
    groups = pl.read_csv(COINR / "data_avail_bygroup.csv").rename({"Index": "SustConn"})
    joined = ours.join(summary, on="uCode").join(groups, on="uCode", suffix="_coinr")
    assert joined.height == 51
    assert (joined["n_missing"] == joined["N_missing"]).all()
    assert (joined["n_zero"] == joined["N_zero"]).all()
    assert _close(joined["available"], joined["Dat_Avail"])
    assert _close(joined["non_zero"], joined["Non_Zero"])
    for g in _GROUPS:
        assert _close(joined[g], joined[g + "_coinr"]), g


def test_availability_from_the_definition() -> None:
    rng = random.Random(3)
    cols = {c: [rng.choice([None, 0.0, 1.5, 2.0]) for _ in range(40)] for c in "abcd"}
    frame = pl.DataFrame({"u": [f"u{i:02d}" for i in range(40)], **cols})
    below = {"g": ("a", "b"), "top": ("a", "b", "c", "d")}
    got = diagnose_availability.availability(frame, ("a", "b", "c", "d"), below, ("u",))
    for i, row in enumerate(got.iter_rows(named=True)):
        values = [cols[c][i] for c in "abcd"]
        missing = sum(v is None for v in values)
        zeros = sum(v == 0 for v in values)
        assert row["n_missing"] == missing and row["n_zero"] == zeros
        assert row["available"] == pytest.approx(1 - missing / 4, abs=1e-15)
        assert row["non_zero"] == (
            None if missing == 4 else pytest.approx(1 - zeros / (4 - missing))
        )
        assert row["g"] == pytest.approx(sum(cols[c][i] is not None for c in "ab") / 2)


# -- correlations -------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [Stage.INDICATORS, Stage.NORMALISED])
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_correlations_within_pillars_match_coinr(
    asem_stages: dict, stage: Stage, method: str
) -> None:
    tag = "Raw" if stage == Stage.INDICATORS else "Normalised"
    ref = _coinr(f"corr_within_{tag}_{method}.csv")
    ours = asem_stages[stage].correlations.filter(
        (pl.col("relation") == "within") & (pl.col("method") == method)
    )
    joined = ours.join(ref, left_on=["x", "y"], right_on=["Var1", "Var2"])
    assert joined.height == ours.height == 140  # every pair of distinct members, once
    assert _close(joined["r"], joined["Correlation"])
    assert (joined["n"] == joined["n_pairwise"]).all()
    if method == "pearson":  # R's cor.test: the same t test
        assert _close(joined["p_value"], joined["pvalue"])
    else:  # R's exact test without ties, the t approximation with them: within 1e-3
        assert _close(joined["p_value"], joined["pvalue"], 1e-3)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_indicator_parent_correlations_match_coinr(asem_stages: dict, method: str) -> None:
    ref = _coinr(f"corr_ind_vs_pillar_{method}.csv")
    ours = asem_stages[Stage.NORMALISED].correlations.filter(
        (pl.col("relation") == "parent") & (pl.col("method") == method)
    )
    joined = ours.join(ref, left_on=["y", "x"], right_on=["Var1", "Var2"])
    assert joined.height == ours.height == 49
    assert _close(joined["r"], joined["Correlation"])


def test_correlations_match_scipy_with_missing_values() -> None:
    rng = np.random.default_rng(11)
    n = 60
    a = rng.normal(size=n)
    b = a * 0.4 + rng.normal(size=n)
    c = rng.lognormal(size=n)
    frame = pl.DataFrame({"a": a, "b": b, "c": c}).with_columns(
        pl.when(pl.int_range(n) % 7 == 0).then(None).otherwise(pl.col("b")).alias("b"),
        pl.when(pl.int_range(n) % 5 == 1).then(None).otherwise(pl.col("c")).alias("c"),
    )
    got = diagnose_correlations.correlations(
        frame, ("a", "b", "c"), {"g": ("a", "b", "c")}, {"g": ("a", "b", "c")}, (), None
    )
    for row in got.iter_rows(named=True):
        both = frame.select(row["x"], row["y"]).drop_nulls()
        x, y = both[row["x"]].to_numpy(), both[row["y"]].to_numpy()
        test = scipy.stats.pearsonr if row["method"] == "pearson" else scipy.stats.spearmanr
        r, p = test(x, y)
        assert row["n"] == len(x)
        assert row["r"] == pytest.approx(float(r), rel=1e-12, abs=1e-15)
        assert row["p_value"] == pytest.approx(float(p), rel=1e-9, abs=1e-15)


def test_relations_name_parent_ancestor_other_and_within() -> None:
    result = api.run(KIREEVA, [KZ_DATA])
    got = diagnose_result(result).correlations.filter(
        (pl.col("method") == "pearson") & (pl.col("year") == 2014)
    )
    relation = {(x, y): r for x, y, r in got.select("x", "y", "relation").iter_rows()}
    assert relation[("SD", "RIS")] == "parent"
    assert relation[("SD", "index")] == "ancestor"
    assert relation[("SD", "RIA")] == "other"
    assert relation[("SD", "SE")] == "within"
    assert len(relation) == 6 * 3 + 2 * 3  # each indicator x 3 aggregates; 3 pairs per group
    groups = diagnose_result(result, Stage.GROUPS).correlations
    assert set(groups.filter(pl.col("method") == "pearson")["relation"]) == {"parent", "within"}


# -- Cronbach's alpha ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "dset"),
    [(Stage.INDICATORS, "Raw"), (Stage.NORMALISED, "Normalised"), (Stage.GROUPS, "Aggregated")],
)
def test_cronbach_matches_coinr(asem_stages: dict, stage: Stage, dset: str) -> None:
    ref = pl.read_csv(COINR / "cronbach.csv").filter(pl.col("dset") == dset)
    ours = asem_stages[stage].cronbach
    joined = ours.join(ref, on="group", suffix="_coinr")
    assert joined.height == ref.height
    assert (joined["k"] == joined["k_coinr"]).all()
    assert _close(joined["alpha"], joined["alpha_coinr"])
    assert _close(joined["alpha_complete"], joined["alpha_complete_coinr"])


def _pairwise_cov(x: list[float | None], y: list[float | None]) -> float:
    pairs = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
    ma = sum(a for a, _ in pairs) / len(pairs)
    mb = sum(b for _, b in pairs) / len(pairs)
    return sum((a - ma) * (b - mb) for a, b in pairs) / (len(pairs) - 1)


def test_cronbach_from_the_definition_with_missing_values() -> None:
    rng = random.Random(5)
    base = [rng.gauss(0, 1) for _ in range(30)]
    cols = {
        c: [None if rng.random() < 0.15 else b + rng.gauss(0, s) for b in base]
        for c, s in zip("abc", (0.5, 1.0, 2.0))
    }
    got = diagnose_cronbach.cronbach(pl.DataFrame(cols), {"g": ("a", "b", "c")}, None).row(
        0, named=True
    )
    cov = [[_pairwise_cov(cols[p], cols[q]) for q in "abc"] for p in "abc"]
    total = sum(map(sum, cov))
    alpha = 3 / 2 * (1 - sum(cov[i][i] for i in range(3)) / total)
    assert got["alpha"] == pytest.approx(alpha, rel=1e-12)
    assert got["k"] == 3
    assert got["n_complete"] == sum(all(cols[c][i] is not None for c in "abc") for i in range(30))


# -- principal components -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "tag"),
    [
        (Stage.INDICATORS, "Raw_L1"),
        (Stage.NORMALISED, "Normalised_L1"),
        (Stage.GROUPS, "Aggregated_L2"),
    ],
)
def test_pca_matches_coinr_get_pca(asem_stages: dict, stage: Stage, tag: str) -> None:
    variance = pl.read_csv(COINR / f"pca_{tag}_variance.csv")
    # COINr's level 2 is the pillars within the sub-indices; ours also has the index's
    ours = asem_stages[stage].pca.filter(pl.col("group").is_in(variance["group"].to_list()))
    shares = ours.unique(["group", "component"]).join(
        variance, left_on=["group", "component"], right_on=["group", "PC"]
    )
    assert shares.height == variance.height
    assert _close(shares["variance_share"], shares["var_share"])
    assert (shares["n"] == shares["n_rows_used"]).all()
    loadings = _coinr(f"pca_{tag}_loadings.csv")
    joined = ours.join(
        loadings, left_on=["group", "member", "component"], right_on=["group", "iCode", "PC"]
    )
    assert joined.height == ours.height == loadings.height
    # an eigenvector's sign is arbitrary: compare up to one sign per group and component
    for (g, c), part in joined.group_by(["group", "component"]):
        sign = np.sign(np.dot(part["loading"].to_numpy(), part["loading_right"].to_numpy()))
        assert _close(part["loading"] * sign, part["loading_right"], 1e-10), (g, c)


def test_pca_from_an_svd_of_the_standardised_complete_cases(
    asem: tuple[api.RunResult, pl.DataFrame], asem_stages: dict
) -> None:
    result, _ = asem
    fw = framework(result.methodology, Stage.NORMALISED)
    pca = asem_stages[Stage.NORMALISED].pca
    for group, members in fw.members:
        x = result.frame.select([m + ".norm" for m in members]).drop_nulls().to_numpy()
        z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        share = s**2 / np.sum(s**2)
        ours = pca.filter(pl.col("group") == group)
        first = ours.filter(pl.col("component") == 1)
        assert first["variance_share"][0] == pytest.approx(share[0], rel=1e-12)
        assert first["weight"].sum() == pytest.approx(1.0, rel=1e-12)
        assert np.allclose(first["weight"].to_numpy(), vt[0] ** 2, rtol=1e-10, atol=1e-14)
        assert first["loading"].sum() > 0  # the sign convention


# -- stages, files, command line ----------------------------------------------------------


def test_stages_name_their_variables(asem_stages: dict) -> None:
    assert asem_stages[Stage.INPUTS].statistics["name"][0] == "LPI"
    assert asem_stages[Stage.INDICATORS].statistics["name"][0] == "lpi"
    groups = asem_stages[Stage.GROUPS].statistics["name"].to_list()
    assert groups[:3] == ["Physical", "ConEcFin", "Political"] and "SustConn" in groups


def test_groups_stage_takes_indicators_that_sit_beside_groups() -> None:
    m = api.validate(HDI).methodology
    fw = framework(m, Stage.GROUPS)
    assert dict(fw.members) == {"hdi": ("health", "education", "income")}
    assert fw.column("health") == "health.norm" and fw.column("education") == "education"


def test_write_diagnosis_writes_every_table(asem_stages: dict, tmp_path: Path) -> None:
    written = write_diagnosis(asem_stages[Stage.NORMALISED], tmp_path / "out", excel=True)
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "statistics.csv",
            "availability.csv",
            "correlations.csv",
            "cronbach.csv",
            "pca.csv",
            "diagnostics.xlsx",
        ]
    )
    back = pl.read_csv(tmp_path / "out" / "statistics.csv")
    assert back.columns[0] == "name" and back.height == 49
    assert pl.read_csv(tmp_path / "out" / "cronbach.csv").columns[0] == "group"


def test_cli_diagnose_writes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "diag"
    run = CliRunner().invoke(
        app, ["diagnose", str(KIREEVA), str(KZ_DATA), "-o", str(out), "--stage", "groups"]
    )
    assert run.exit_code == 0, run.output
    assert (out / "pca.csv").exists() and not (out / "diagnostics.xlsx").exists()
    stats = pl.read_csv(out / "statistics.csv")
    assert set(stats["name"]) == {"RIS", "RIA", "index"}


def test_cli_diagnose_summary_and_errors() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["diagnose", str(KIREEVA), str(KZ_DATA)])
    assert shown.exit_code == 0, shown.output
    assert "Diagnostics at the normalised stage — year 2014" in shown.output
    assert "outliers (|skewness| > 2 and kurtosis > 3.5): SE, SA" in shown.output
    bad_stage = runner.invoke(app, ["diagnose", str(KIREEVA), str(KZ_DATA), "--stage", "raw"])
    assert bad_stage.exit_code == 2
    missing = runner.invoke(app, ["diagnose", str(KIREEVA), "no-such-file.csv"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_the_python_api_diagnoses_and_writes_the_report(tmp_path: Path) -> None:
    """`api.diagnose` returns the tables `indexlab diagnose` writes, as polars frames, and
    `api.write_report` writes the page `indexlab report` writes."""
    d = api.diagnose(KIREEVA, KZ_DATA, "indicators")
    assert isinstance(d.statistics, pl.DataFrame) and isinstance(d.pca, pl.DataFrame)
    runner = CliRunner()
    done = runner.invoke(
        app, ["diagnose", str(KIREEVA), str(KZ_DATA), "--stage", "indicators", "-o", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    for name, table in d.tables().items():
        written = pl.read_csv(tmp_path / f"{name}.csv")
        assert written.columns == table.columns, name
        assert written.height == table.height, name
    sd = d.statistics.filter(pl.col("name") == "SD")["sd"].to_list()
    assert sd == pytest.approx(
        pl.read_csv(tmp_path / "statistics.csv").filter(pl.col("name") == "SD")["sd"].to_list(),
        rel=1e-15,
    )
    page, notes = api.write_report(KIREEVA, [KZ_DATA], tmp_path / "report.html")
    assert notes == () and page.read_text(encoding="utf-8").startswith("<!doctype html>")
