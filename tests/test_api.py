"""The Python API: what it accepts, what its results offer, and its errors.

Every accepted form of a methodology (path, text, dict, loaded object) and of data
(paths, polars, pandas, Arrow) must give the same result as the command line's file
route; bad arguments get the same diagnostics (codes and messages) as the CLI.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

import engine
from engine import api
from engine.diagnostics import Code, DataError, MethodologyError, UsageError

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies/kireeva.yaml"
MINMAX = ROOT / "methodologies/kireeva-minmax.yaml"
KZ = ROOT / "examples/kazakhstan/regions.csv"
IT = ROOT / "examples/kazakhstan/it_share_table7.csv"


@pytest.fixture(scope="module")
def reference() -> api.RunResult:
    return api.run(KIREEVA, [KZ])


def test_engine_exposes_the_api_lazily() -> None:
    assert engine.run is api.run and engine.validate is api.validate
    assert engine.ComparisonResult.__name__ == "Comparison"
    assert engine.__version__ and "run" in dir(engine)
    with pytest.raises(AttributeError):
        _ = engine.nothing_here  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "methodology",
    [
        str(KIREEVA),
        KIREEVA,
        KIREEVA.read_text(encoding="utf-8"),
        yaml.safe_load(KIREEVA.read_text(encoding="utf-8")),
        "validated",
        "methodology",
    ],
    ids=["str", "Path", "text", "dict", "Validated", "Methodology"],
)
def test_every_methodology_form_gives_the_same_result(
    methodology: object, reference: api.RunResult
) -> None:
    if methodology == "validated":
        methodology = api.validate(KIREEVA)
    elif methodology == "methodology":
        methodology = api.validate(KIREEVA).methodology
    got = api.run(methodology, str(KZ))  # type: ignore[arg-type]
    assert got.frame.equals(reference.frame)


def _pandas(frame: pl.DataFrame) -> object:
    pytest.importorskip("pandas", reason="the test extra installs pandas")
    return frame.to_pandas()


def _arrow(frame: pl.DataFrame) -> object:
    pytest.importorskip("pyarrow", reason="the test extra installs pyarrow")
    return frame.to_arrow()


@pytest.mark.parametrize(
    "make",
    [
        lambda f: str(KZ),
        lambda f: KZ,
        lambda f: [KZ],
        lambda f: (str(KZ),),
        lambda f: f,
        lambda f: f.lazy(),
        lambda f: [f],
        _pandas,
        _arrow,
    ],
    ids=["str", "Path", "list", "tuple", "polars", "lazy", "list-of-frames", "pandas", "arrow"],
)
def test_every_data_form_gives_the_same_result(make: object, reference: api.RunResult) -> None:
    frame = pl.read_csv(KZ)
    got = api.run(KIREEVA, make(frame))  # type: ignore[operator]
    assert got.frame.equals(reference.frame)


def test_frames_and_files_mix() -> None:
    """A frame for the units and a file for stage 2, as the README's first command does."""
    files = api.run(KIREEVA, [KZ, IT]).frame
    mixed = api.run(KIREEVA, [pl.read_csv(KZ), IT]).frame
    assert mixed.equals(files)


def test_a_frame_gets_the_readers_checks() -> None:
    bad = pl.read_csv(KZ).with_columns(pl.col("grp").cast(pl.String).fill_null("n/a"))
    bad = bad.with_columns(
        pl.when(pl.col("region") == "Almaty")
        .then(pl.lit("lots"))
        .otherwise(pl.col("grp"))
        .alias("grp")
    )
    with pytest.raises(DataError) as err:
        api.run(KIREEVA, bad)
    (d,) = [d for d in err.value.diagnostics if d.code == Code.NOT_NUMERIC]
    assert "<DataFrame 1>" in str(d.location) + d.message and "'grp'" in d.message
    missing = pl.read_csv(KZ).drop("employed")
    with pytest.raises(DataError) as err:
        api.run(KIREEVA, missing)
    assert any("employed" in d.message for d in err.value.diagnostics)


def test_a_single_string_is_one_path_not_characters() -> None:
    with pytest.raises(DataError) as err:
        api.run(KIREEVA, "no-such-file.csv")
    messages = [d.render() for d in err.value.diagnostics]
    assert len(messages) == 1 and "no-such-file.csv" in messages[0], messages


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (42, "data cannot be a int"),
        ([KZ, 3.5], "data item 2 is a float"),
        ([], "no data given"),
        ({"a": 1}, "data item 1 is a dict"),
    ],
)
def test_bad_data_arguments_are_usage_errors(data: object, message: str) -> None:
    with pytest.raises(UsageError) as err:
        api.run(KIREEVA, data)
    assert message in err.value.diagnostics[0].message
    assert err.value.diagnostics[0].expected and "path" in err.value.diagnostics[0].expected


def test_a_bad_methodology_argument_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as err:
        api.run(3, KZ)  # type: ignore[arg-type]
    assert "a methodology cannot be a int" in err.value.diagnostics[0].message


def test_methodology_text_and_dict_errors_point_at_their_line() -> None:
    text = KIREEVA.read_text(encoding="utf-8").replace(
        "grp * 1000 / employed", "grp * 1000 / employd"
    )
    with pytest.raises(MethodologyError) as err:
        api.validate(text)
    d = next(d for d in err.value.diagnostics if d.code == Code.UNKNOWN_NAME)
    assert d.location is not None and d.location.file == "<string>"
    assert "employd" in (d.location.source_line or "") and d.hint == "did you mean 'employed'?"
    doc = yaml.safe_load(text)
    with pytest.raises(MethodologyError) as err:
        api.validate(doc)
    d = next(d for d in err.value.diagnostics if d.code == Code.UNKNOWN_NAME)
    assert d.location is not None and d.location.file == "<dict>"
    assert "employd" in (d.location.source_line or "")


def test_a_dict_with_a_shared_object_is_written_out_not_aliased() -> None:
    doc = yaml.safe_load(KIREEVA.read_text(encoding="utf-8"))
    shared = {"method": "leader_share", "scale": 100}
    doc["normalisation"] = {"default": shared}
    doc.setdefault("x-notes", {})["same"] = shared  # the same object twice
    with pytest.raises(MethodologyError) as err:  # x-notes is unknown; but no alias error
        api.validate(doc)
    assert all(d.code != Code.YAML_ALIAS for d in err.value.diagnostics)


def test_results_are_short_and_render_in_notebooks(reference: api.RunResult) -> None:
    text = repr(reference)
    assert (
        text == "RunResult('kireeva-innovation': 32 rows, 2 periods, 6 checks (5 fail), 1 warning)"
    )
    html = reference._repr_html_()
    assert "Almaty" in html and "<table>" in html and "year 2014" in html
    assert "1 warning(s)" in html and "fails for" not in html
    assert len(html) < 10_000
    assert reference.to_polars() is reference.frame


def test_to_pandas(reference: api.RunResult) -> None:
    pytest.importorskip("pandas", reason="the test extra installs pandas")
    frame = reference.to_pandas()
    assert list(frame.columns) == reference.frame.columns and len(frame) == 32


def test_compare_sensitivity_explain_from_the_api(tmp_path: Path) -> None:
    c = api.compare([KIREEVA, MINMAX.read_text(encoding="utf-8")], pl.read_csv(KZ))
    assert repr(c) == "Comparison('kireeva-innovation', 'kireeva-minmax': 16 units, 2 periods)"
    assert c.to_polars().height == 32 and "Rank agreement" in c._repr_html_()
    with pytest.raises(UsageError):
        api.compare(KIREEVA, KZ)  # type: ignore[arg-type]
    s = api.sensitivity(KIREEVA, KZ, replications=16, seed=1)
    assert repr(s).startswith("SensitivityResult('kireeva-innovation': 16 replications")
    assert s.to_polars().height == 32 and "Rank intervals" in s._repr_html_()
    e = api.explain(KIREEVA, KZ, "Almaty", 2014)
    assert e.step("SD.norm").symbolic == "SD / max(SD, by=[year]) * 100"
    assert repr(e) == "ExplainResult('kireeva-innovation': 'Almaty', periods 2014, 33 steps)"
    assert e.to_polars().height == 33 and "SD.norm" in e._repr_html_()
    both = api.explain(KIREEVA, KZ, "Almaty")
    assert [x.period for x in both] == [2010, 2014]


def test_write_by_extension(reference: api.RunResult, tmp_path: Path) -> None:
    assert reference.write(tmp_path / "r.csv").read_text().count("\n") == 33
    assert pl.read_parquet(reference.write(tmp_path / "r.parquet")).equals(reference.frame)
    with pytest.raises(UsageError):
        reference.write(tmp_path / "r.docx")
    with pytest.raises(UsageError):
        reference.write(KZ, protect=[KZ])


def test_a_result_never_writes_over_the_files_it_was_computed_from(tmp_path: Path) -> None:
    """A result remembers its methodology and data files; ``write`` refuses them as the
    command line does (even through another spelling of the path)."""
    methodology = tmp_path / "m.json"  # a methodology file with an output's extension
    methodology.write_text(KIREEVA.read_text(encoding="utf-8"), encoding="utf-8")
    data = tmp_path / "regions.csv"
    data.write_bytes(KZ.read_bytes())
    before = data.read_bytes(), methodology.read_bytes()
    results = (
        api.run(methodology, str(data)),
        api.explain(methodology, [data], "Almaty", 2014),
        api.sensitivity(methodology, data, replications=10, seed=1),
        api.compare([methodology, MINMAX], data),
    )
    for r in results:
        for target in (data, tmp_path / "." / "regions.csv", methodology):
            with pytest.raises(UsageError, match="refusing to overwrite the input file"):
                r.write(target)
    assert (data.read_bytes(), methodology.read_bytes()) == before
    assert results[0].write(tmp_path / "out.csv").exists()  # any other path is fine


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"replications": -3}, "replications must be at least 10, not -3"),
        ({"replications": 0}, "replications must be at least 10, not 0"),
        ({"replications": 2_000_000}, "replications must be at most 1000000, not 2000000"),
        ({"replications": "100"}, "replications must be a whole number, not '100'"),
        ({"replications": 12.5}, "replications must be a whole number, not 12.5"),
        ({"seed": -1}, "seed must be at least 0, not -1"),
    ],
)
def test_sensitivity_overrides_are_checked_like_the_design(
    arguments: dict[str, object], message: str
) -> None:
    """The bounds of ``uncertainty.replications`` and ``seed`` in the schema hold for the
    arguments that override them (0 was taken as "the design's N", -3 crashed)."""
    with pytest.raises(UsageError) as err:
        api.sensitivity(KIREEVA, KZ, **arguments)  # type: ignore[arg-type]
    (d,) = err.value.diagnostics
    assert d.message == message and d.expected


def test_a_second_data_file_in_place_of_the_options_is_a_usage_error() -> None:
    """``run(m, "a.csv", "b.csv")`` (files not in a list) ended in an AttributeError."""
    with pytest.raises(UsageError) as err:
        api.run(KIREEVA, KZ, IT)  # type: ignore[arg-type]
    (d,) = err.value.diagnostics
    assert d.message == "options must be a ReadOptions, not a PosixPath"
    assert d.hint == "give several data files as one list: run(methodology, [data, more])"
    with pytest.raises(UsageError):
        api.compare([KIREEVA, MINMAX], KZ, str(IT))  # type: ignore[arg-type]
