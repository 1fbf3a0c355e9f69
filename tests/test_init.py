"""indexlab init: a first methodology from data, valid and running at once.

On the shipped examples' data and on awkward files (decimal comma with ';', Cyrillic
headers, a year stored as text, a constant column, an empty period): the file written
validates without warnings and `indexlab run` works with the options init prints; the
index of the guide's towns is recomputed in plain Python (mean of min-max scores).
"""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app
from engine.format.scaffold import name_for

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


def _init(tmp_path: Path, *args: str, name: str = "m.yaml", input: str | None = None):
    target = tmp_path / name
    result = CliRunner().invoke(app, ["init", *args, "-o", str(target)], input=input)
    return result, target


def _next_command(stderr: str) -> list[str]:
    line = next(x for x in stderr.splitlines() if x.startswith("next: "))
    return shlex.split(line.removeprefix("next: "))


def _runs(stderr: str) -> api.RunResult:
    """Run what init says to run, through the CLI, and then through the API."""
    argv = _next_command(stderr)
    assert argv[:2] == ["indexlab", "run"]
    result = CliRunner().invoke(app, [*argv[1:], "-q"])
    assert result.exit_code == 0, result.stderr
    data = [a for a in argv[3:] if not a.startswith("--") and Path(a).exists()]
    options = {argv[i][2:]: argv[i + 1] for i in range(3, len(argv)) if argv[i].startswith("--")}
    from engine.cli.common import read_options

    opts = read_options(
        options.get("delimiter"),
        options.get("decimal", "."),
        options.get("thousands"),
        options.get("encoding", "utf-8"),
        options.get("sheet"),
    )
    return api.run(argv[2], data, opts)


@pytest.mark.parametrize(
    "files",
    [
        ["kazakhstan/regions.csv"],
        ["kazakhstan/regions.csv", "kazakhstan/it_share_table7.csv"],
        ["undp-hdi/input.csv"],
        ["undp-hdi/published.csv"],
        ["guide/towns.csv"],
    ],
    ids=lambda f: "+".join(Path(x).stem for x in f),
)
def test_init_on_the_shipped_examples(files: list[str], tmp_path: Path) -> None:
    result, target = _init(tmp_path, *(str(EX / f) for f in files))
    assert result.exit_code == 0, result.stderr
    validated = api.validate(target)
    assert validated.warnings == ()
    m = validated.methodology
    assert m.index is not None and m.groups[0].name == "all"
    assert m.classes is not None and m.classes.quantiles == ("Q1", "Q2", "Q3", "Q4", "Q5")
    assert {c.name for c in m.checks} == {
        f"{i.name}_{kind}" for i in m.inputs for kind in ("present", "positive")
    }
    assert all(i.unit == "?" for i in m.inputs)
    text = target.read_text("utf-8")
    assert text.count("docs/format.md") >= 6 and "docs/methods.md" in text
    run = _runs(result.stderr)
    assert run.frame.height > 0 and run.frame["rank"].null_count() < run.frame.height


def test_kazakhstan_layout(tmp_path: Path) -> None:
    _, target = _init(tmp_path, str(EX / "kazakhstan" / "regions.csv"))
    m = api.load_methodology(target)
    assert (m.layout.unit, m.layout.period, m.layout.labels) == ("region", "year", ("region_ru",))
    assert [i.name for i in m.inputs][:2] == ["grp", "employed"] and len(m.inputs) == 13
    assert [i.name for i in m.indicators][:1] == ["ind_grp"]
    assert {i.normalisation.method for i in m.indicators} == {"min_max"}


def test_the_guide_index_is_the_mean_of_min_max_scores(tmp_path: Path) -> None:
    result, target = _init(tmp_path, str(EX / "guide" / "towns.csv"))
    assert result.exit_code == 0, result.stderr
    frame = api.run(target, [EX / "guide" / "towns.csv"]).frame
    with (EX / "guide" / "towns.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    columns = ["income", "households", "broadband_households", "commute_minutes"]
    for year in {r["year"] for r in rows}:
        ys = [r for r in rows if r["year"] == year]
        lo = {c: min(float(r[c]) for r in ys) for c in columns}
        hi = {c: max(float(r[c]) for r in ys) for c in columns}
        for r in ys:
            scores = [(float(r[c]) - lo[c]) / (hi[c] - lo[c]) * 100 for c in columns]
            expected = sum(scores) / len(scores)
            got = frame.filter((frame["town"] == r["town"]) & (frame["year"] == int(year)))[
                "index"
            ].item()
            assert abs(got - expected) <= 1e-9


def test_long_form_data_is_refused_with_a_reason(tmp_path: Path) -> None:
    files = sorted((EX / "germany-specialisation" / "data").glob("*.csv"))
    result, target = _init(tmp_path, *map(str, files))
    assert result.exit_code == 2 and not target.exists()
    assert "no column identifies the rows within a 'year'" in result.stderr
    assert "data.detail" in result.stderr and "Traceback" not in result.stderr


def test_an_ambiguous_unit_is_a_usage_error_naming_the_choices(tmp_path: Path) -> None:
    table = str(EX / "kazakhstan" / "published_table6.csv")
    result, target = _init(tmp_path, table)
    assert result.exit_code == 2 and not target.exists()
    assert "which column is the unit?" in result.stderr
    assert "'region', 'region_ru'" in result.stderr and "--unit" in result.stderr
    chosen, target = _init(tmp_path, table, "--unit", "region")
    assert chosen.exit_code == 0, chosen.stderr
    m = api.load_methodology(target)
    assert m.layout.unit == "region" and m.layout.period is None
    assert "row" not in {i.name for i in m.inputs}  # row numbers are not an input
    _runs(chosen.stderr)


def test_an_ambiguous_unit_is_asked_for_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.cli.init as init_command

    monkeypatch.setattr(init_command, "_interactive", lambda: True)
    table = str(EX / "kazakhstan" / "published_table6.csv")
    result, target = _init(tmp_path, table, input="nonsense\nregion_ru\n")
    assert result.exit_code == 0, result.stderr
    assert api.load_methodology(target).layout.unit == "region_ru"


def test_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "m.yaml"
    target.write_text("mine\n", encoding="utf-8")
    result, _ = _init(tmp_path, str(EX / "guide" / "towns.csv"))
    assert result.exit_code == 2 and "exists: nothing written" in result.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_decimal_comma_semicolon_and_cyrillic_headers(tmp_path: Path) -> None:
    data = tmp_path / "регионы.csv"
    data.write_text(
        "Регион;Год;ВРП, млн тенге;Занятые, чел.;Выбросы\n"
        "Акмолинская;2010;1 234,5;100;0,5\n"
        "Актюбинская;2010;2 000,0;120;1,25\n"
        "Алматинская;2010;3 000,5;150;2\n"
        "Акмолинская;2014;1 300,5;101;0,75\n"
        "Актюбинская;2014;2 100,0;125;1,5\n"
        "Алматинская;2014;3 200,5;155;1\n",
        encoding="utf-8",
    )
    result, target = _init(tmp_path, str(data))
    assert result.exit_code == 0, result.stderr
    assert _next_command(result.stderr)[-6:] == [
        "--delimiter", ";", "--decimal", ",", "--thousands", " ",
    ]  # fmt: skip
    m = api.load_methodology(target)
    assert (m.layout.unit, m.layout.period) == ("region", "god")
    assert dict(m.layout.columns)["vrp_mln_tenge"] == "ВРП, млн тенге"
    assert [i.label for i in m.inputs] == ["ВРП, млн тенге", "Занятые, чел.", "Выбросы"]
    run = _runs(result.stderr)
    first = run.frame.filter(run.frame["god"] == 2010)
    values = dict(zip(first["region"].to_list(), first["ind_vrp_mln_tenge"].to_list()))
    assert values == {"Акмолинская": 1234.5, "Актюбинская": 2000.0, "Алматинская": 3000.5}
    emissions = dict(zip(first["region"].to_list(), first["ind_vybrosy"].to_list()))
    assert emissions == {"Акмолинская": 0.5, "Актюбинская": 1.25, "Алматинская": 2.0}


def test_a_year_stored_as_text(tmp_path: Path) -> None:
    rows = [
        {"country": c, "year": y, "gdp": g, "life": life}
        for c, y, g, life in [
            ("A", "2019", 1.0, 70.0), ("B", "2019", 2.0, 72.5), ("C", "2019", 3.0, 68.0),
            ("A", "2020", 1.5, 70.5), ("B", "2020", 2.5, 71.0), ("C", "2020", 2.0, 69.0),
        ]
    ]  # fmt: skip
    data = tmp_path / "countries.json"
    data.write_text(json.dumps(rows), encoding="utf-8")
    result, target = _init(tmp_path, str(data))
    assert result.exit_code == 0, result.stderr
    m = api.load_methodology(target)
    assert (m.layout.unit, m.layout.period) == ("country", "year")
    assert [i.name for i in m.inputs] == ["gdp", "life"]
    run = _runs(result.stderr)
    assert sorted(set(run.frame["year"].to_list())) == [2019, 2020]


def test_columns_that_cannot_be_normalised_are_left_out(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(
        "town,year,flat,sparse,good\n"
        "a,2020,5,,1\nb,2020,5,,2\nc,2020,5,,3\n"
        "a,2021,5,1,2\nb,2021,5,2,3\nc,2021,6,3,1\n",
        encoding="utf-8",
    )
    result, target = _init(tmp_path, str(data))
    assert result.exit_code == 0, result.stderr
    assert "not in the index: flat (the same value for every unit in year 2020)" in result.stderr
    m = api.validate(target)
    assert [i.name for i in m.methodology.inputs] == ["flat", "good"]  # sparse: none in 2020
    assert m.methodology.groups[0].members == ("ind_good",)
    assert "# not an input: sparse, no value in year 2020" in target.read_text("utf-8")
    _runs(result.stderr)


def test_names_for_headers() -> None:
    taken: set[str] = set()
    assert [name_for(h, taken) for h in ["GDP per capita", "gdp_per_capita", "Год", "№"]] == [
        "gdp_per_capita",
        "gdp_per_capita_2",
        "god",
        "no",
    ]
    assert name_for("", set()) == "column" and name_for("2010", set()) == "c_2010"
    assert name_for("Café ÄÖ", set()) == "cafe_ao"


def test_init_then_run_in_real_processes(tmp_path: Path) -> None:
    exe = [sys.executable, "-c", "from engine.cli import main; main()"]
    target = tmp_path / "towns.yaml"
    made = subprocess.run(
        [*exe, "init", str(EX / "guide" / "towns.csv"), "-o", str(target)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    argv = _next_command(made.stderr)
    ran = subprocess.run(
        [*exe, *argv[1:], "-q"], capture_output=True, text=True, check=False, timeout=120
    )
    assert ran.returncode == 0, ran.stderr


def test_renamed_columns_on_the_plan_cache_fast_path(tmp_path: Path) -> None:
    """A second run replays the cached plan; data.columns must hold there too."""
    import os

    data = tmp_path / "d.csv"
    data.write_text(
        "Регион,Год,ВРП\nA,2010,1\nB,2010,2\nC,2010,4\nA,2011,2\nB,2011,3\nC,2011,1\n",
        encoding="utf-8",
    )
    result, target = _init(tmp_path, str(data))
    assert result.exit_code == 0, result.stderr
    env = {**os.environ, "INDEXLAB_PLAN_CACHE": str(tmp_path / "cache")}
    exe = [sys.executable, "-c", "from engine.cli import main; main()"]
    outputs = []
    for n in (1, 2):
        out = tmp_path / f"o{n}.csv"
        done = subprocess.run(
            [*exe, "run", str(target), str(data), "-q", "-o", str(out)],
            capture_output=True, text=True, check=False, timeout=120, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert any((tmp_path / "cache").iterdir())
    assert outputs[0] == outputs[1] and b"vrp" in outputs[0]
