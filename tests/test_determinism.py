"""Reruns are bit-identical, also for detail data and sums over many groups.

polars' default ("auto") engine can choose a different strategy from one collect to the
next, and float sums over groups then differ in the last bit; the engine collects with
one fixed engine (engine.backends.polars.execute.ENGINE). These tests fail if that ever regresses.
"""

from pathlib import Path

from engine import api

ROOT = Path(__file__).resolve().parents[1]


def _reruns(methodology: Path, data: list[Path], times: int = 15) -> set[tuple]:
    validated = api.validate(methodology)
    typed = api.read_data(validated.methodology, data)
    return {tuple(map(tuple, api.execute(validated, typed).frame.rows())) for _ in range(times)}


def test_detail_sums_are_bit_identical_across_reruns() -> None:
    example = ROOT / "examples" / "germany-specialisation"
    assert (
        len(_reruns(example / "specialisation.yaml", [example / "data" / "employment_2015.csv"]))
        == 1
    )


def test_paper_run_is_bit_identical_across_reruns() -> None:
    kz = ROOT / "examples" / "kazakhstan"
    runs = _reruns(
        ROOT / "methodologies" / "kireeva.yaml", [kz / "regions.csv", kz / "it_share_table7.csv"]
    )
    assert len(runs) == 1
