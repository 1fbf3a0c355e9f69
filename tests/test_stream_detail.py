"""A streamed run of detail data (engine.streamdetail), one period at a time, computes and
reports what the in-memory run does: every column bit for bit (a period's detail rows
are the same rows, in the same order, as in the whole table), the checks, the audit's
warnings with their counts and the rows they name, the missing detail cells.

The in-memory run is the reference; it is itself tested against loops elsewhere
(tests/test_detail_grain.py, tests/test_specialisation.py).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from engine import api, streamrun
from engine.backends.polars.stream import PassKind
from engine.cli import app
from engine.diagnostics import DataError
from engine.io.read import ReadOptions
from engine.streamdetail import refusal

ROOT = Path(__file__).resolve().parent.parent
GERMANY = ROOT / "examples/germany-specialisation"
DETAIL = Path(__file__).resolve().parent / "data" / "detail"

#: the specialisation methodology with unit-level stages across periods after the
#: collapse (at() of the first year, ranks by year), a detail value undefined where a
#: land has no employment in a year, and a check that fails in some rows
EXTRA = """
  ksi_change: {label: Change since 2000, formula: "ksi - at(ksi, 2000)"}
  ksi_rank: {label: Rank by year, formula: "rank(ksi, ties='min')"}
  log_lq: {label: log of the LQ, formula: "log(lq)"}
  log_lq_mean: {label: Mean log LQ, formula: "mean(log_lq, by=[land, year])"}
"""


def _specialisation(tmp_path: Path, *, undefined: str = "report") -> Path:
    text = (GERMANY / "specialisation.yaml").read_text(encoding="utf-8")
    text = text.replace("\nchecks:", EXTRA + "\nchecks:")
    text = text.replace("severity: error", "severity: warning")
    text = text.rstrip() + "\n  lq_j_moderate: {assert: lq_J < 1.2}\n"
    text = text.replace("\ninputs:", f"\nundefined: {undefined}\n\ninputs:")
    path = tmp_path / "specialisation.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _generated(seed: int) -> pl.DataFrame:
    """12 lands x 8 sections x 5 years: missing cells, zeros (log of 0: undefined), a
    land without employment in a year (its shares divide by zero), a land without any
    value in a year (its sums are over no present value), section J missing for a land
    in a year (at() finds no value). Rows are shuffled within each year."""
    rnd = random.Random(seed)
    sections = ["WZ08-J"] + [f"WZ08-{c}" for c in "BCDEFGH"]
    rows = []
    for year in range(2000, 2005):
        block = []
        for land in range(12):
            for k, section in enumerate(sections):
                value: float | None = float(rnd.randint(0, 5000))
                if (land, year) == (3, 2002):
                    value = 0.0  # x_r = 0: division by zero
                elif (land, year) == (7, 2001) or ((land, k) == (5, 0) and year == 2003):
                    value = None  # sums over no present value; at() of a missing value
                elif rnd.random() < 0.03:
                    value = None
                elif rnd.random() < 0.05:
                    value = 0.0
                block.append(
                    {
                        "land": f"L{land:02d}",
                        "land_code": f"C{land:02d}",
                        "industry": section,
                        "year": year,
                        "employment": value,
                    }
                )
        rnd.shuffle(block)
        rows += block
    return pl.DataFrame(rows, schema_overrides={"employment": pl.Float64})


def _streamed(methodology: Path, data: list[Path]) -> streamrun.StreamedRun:
    got = streamrun.prepare(api.validate(methodology), data, ReadOptions())
    assert not isinstance(got, str), got
    return got


def _same(streamed: streamrun.StreamedRun, memory: api.RunResult) -> None:
    assert_frame_equal(streamed.query.collect(), memory.frame, check_exact=True)
    assert [str(w) for w in streamed.warnings] == [str(w) for w in memory.warnings]
    assert [(c.check.name, c.tested, c.passed) for c in streamed.checks] == [
        (c.check.name, c.tested, c.passed) for c in memory.checks
    ]
    for s, m in zip(streamed.checks, memory.checks):
        assert_frame_equal(s.failures, m.failures)


@pytest.mark.parametrize("name", ["specialisation", "concentration"])
def test_german_example_streams_to_the_in_memory_results(tmp_path: Path, name: str) -> None:
    data = tmp_path / "employment.parquet"
    pl.read_csv(GERMANY / "data/employment_2015.csv").write_parquet(data)
    methodology = GERMANY / f"{name}.yaml"
    streamed = _streamed(methodology, [data])
    _same(streamed, api.run(methodology, data))
    assert [(p.kind, p.keys, p.rows) for p in streamed.passes] == [
        (PassKind.PERIOD, ("year",), 272)
    ]


def test_generated_years_with_missing_and_undefined_values(tmp_path: Path) -> None:
    """One file per year, as a dataset partitioned by year."""
    frame = _generated(1)
    files = []
    for (year,), part in frame.group_by("year", maintain_order=True):
        files.append(tmp_path / f"year-{year}.parquet")
        part.write_parquet(files[-1])
    m = _specialisation(tmp_path)
    streamed = _streamed(m, files)
    memory = api.run(m, files)
    _same(streamed, memory)
    text = "\n".join(str(w) for w in memory.warnings)
    # what the data was made to contain is reported (and the streamed run says the same)
    assert "division by zero" in text and "L03 2002" in text
    assert "logarithm of a value <= 0" in text
    assert "sum() over no present value" in text and "L07 2001" in text
    assert "detail input 'employment' is missing for" in text and " more;" in text
    assert any(not c.passed for c in memory.checks)
    assert [p.rows for p in streamed.passes] == [96] * 5
    assert memory.frame["ksi_change"].null_count() < memory.frame.height


def test_one_file_for_every_year(tmp_path: Path) -> None:
    data = tmp_path / "all.parquet"
    _generated(2).write_parquet(data, row_group_size=40)
    m = _specialisation(tmp_path)
    _same(_streamed(m, [data]), api.run(m, data))


def test_undefined_error_raises_the_same_diagnostics(tmp_path: Path) -> None:
    data = tmp_path / "all.parquet"
    _generated(3).write_parquet(data)
    m = _specialisation(tmp_path, undefined="error")
    with pytest.raises(DataError) as memory:
        api.run(m, data)
    with pytest.raises(DataError) as streamed:
        streamrun.prepare(api.validate(m), [data], ReadOptions())
    assert [str(d) for d in streamed.value.diagnostics] == [
        str(d) for d in memory.value.diagnostics
    ]


def test_unit_file_joined_in_period_by_period(tmp_path: Path) -> None:
    files = []
    for name in ("employment", "population"):
        files.append(tmp_path / f"{name}.parquet")
        pl.read_csv(DETAIL / f"{name}.csv").write_parquet(files[-1])
    m = DETAIL / "structure_population.yaml"
    streamed = _streamed(m, files)
    _same(streamed, api.run(m, files))
    assert len(streamed.passes) == 2


def test_cli_writes_the_in_memory_results(tmp_path: Path) -> None:
    data = tmp_path / "employment.parquet"
    _generated(4).write_parquet(data)
    m = str(_specialisation(tmp_path))
    outputs = []
    for mode in ("on", "off"):
        outputs.append(tmp_path / f"{mode}.parquet")
        result = CliRunner().invoke(
            app, ["run", m, str(data), "-o", str(outputs[-1]), "--stream", mode, "-q"]
        )
        assert result.exit_code == 0, result.output
        assert ("(streamed, 5 passes)" in result.output) == (mode == "on"), result.output
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


@pytest.mark.parametrize(
    ("formula", "what"),
    [
        ("employment / sum(employment, by=[industry])", "sum() by industry"),
        ("employment / max(employment, by=[])", "max() over all rows"),
        ("at(employment, year=2015)", "at() of another period"),
        ("rank(employment, by=[land])", "rank() by land"),
    ],
)
def test_a_detail_statistic_across_periods_is_refused_by_name(
    tmp_path: Path, formula: str, what: str
) -> None:
    text = (GERMANY / "specialisation.yaml").read_text(encoding="utf-8")
    text = text.replace("\nchecks:", f'\n  across: {{formula: "{formula}"}}\n\nchecks:')
    m = tmp_path / "m.yaml"
    m.write_text(text, encoding="utf-8")
    reason = refusal(api.validate(m).plan)
    assert reason is not None and reason.startswith("'across' reads detail rows of several periods")
    assert what in reason
    data = tmp_path / "employment.parquet"
    pl.read_csv(GERMANY / "data/employment_2015.csv").write_parquet(data)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["run", str(m), str(data), "-o", str(out), "--stream", "on"])
    assert result.exit_code == 0, result.output
    assert f"not streamed ({reason})" in " ".join(result.output.split())


def test_the_shipped_detail_methodologies_are_period_partitioned() -> None:
    for name in ("specialisation", "concentration"):
        assert refusal(api.validate(GERMANY / f"{name}.yaml").plan) is None


def test_duplicate_detail_rows_are_left_to_the_reader(tmp_path: Path) -> None:
    """Duplicate keys are counted period by period; the in-memory reader names them."""
    frame = _generated(5)
    data = tmp_path / "employment.parquet"
    pl.concat([frame, frame.filter(pl.col("year") == 2003).head(1)]).write_parquet(data)
    got = streamrun.prepare(api.validate(_specialisation(tmp_path)), [data], ReadOptions())
    assert got == "duplicate keys"
