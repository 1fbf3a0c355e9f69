"""The peer reference cases (tests/data/peers/mcda): data sets, recorded values, methodologies.

Shared by the ``test_peers_*.py`` files. A data set is a decision matrix (``data/<name>.csv``,
one row per unit) with its criteria, weights, directions (+1 benefit, -1 cost), PROMETHEE
thresholds and coordinates (``data/<name>.json``); ``results/<method>__<name>.csv`` holds
the values of a plain-numpy re-derivation of the method from its paper (``score``) beside
each peer's (see the folder's README). :func:`methodology` writes the indexlab methodology
that puts the matrix through one group, so a test compares one output column with one
recorded column.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import api

PEERS = Path(__file__).resolve().parent / "data" / "peers" / "mcda"


@dataclass(frozen=True)
class DataSet:
    name: str
    criteria: tuple[str, ...]
    weights: tuple[float, ...]
    directions: tuple[int, ...]
    units: tuple[str, ...]
    matrix: np.ndarray  # units × criteria, NaN for a missing cell
    thresholds: Mapping[str, tuple[float, ...]]  # PROMETHEE q, p, s per criterion
    coords: tuple[tuple[float, float], ...] = ()

    @property
    def path(self) -> Path:
        return PEERS / "data" / f"{self.name}.csv"

    def indicator(self, criterion: str) -> str:
        return "I_" + criterion


def data_set(name: str, meta: str | None = None) -> DataSet:
    """The matrix `name` with the criteria, weights and directions of `meta` (default the
    same name; T3_float_trap has no JSON of its own)."""
    with (PEERS / "data" / f"{name}.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    units = tuple(r[0] for r in body)
    matrix = np.array([[float(v) if v else math.nan for v in r[1:]] for r in body])
    info: dict[str, Any] = {}
    json_path = PEERS / "data" / f"{meta or name}.json"
    if json_path.exists():
        info = json.loads(json_path.read_text(encoding="utf-8"))
    criteria = tuple(info.get("criteria", header[1:]))
    assert criteria == tuple(header[1:]), (criteria, header)
    prom = info.get("promethee", {})
    return DataSet(
        name,
        criteria,
        tuple(float(w) for w in info.get("weights", [1.0] * len(criteria))),
        tuple(int(d) for d in info.get("directions", [1] * len(criteria))),
        units,
        matrix,
        {k: tuple(float(v) for v in prom[k]) for k in ("q", "p", "s") if k in prom},
        tuple(tuple(c) for c in info.get("coords", ())),
    )


def recorded(method: str, name: str) -> dict[str, dict[str, str]]:
    """``results/<method>__<name>.csv`` as {unit: {column: text}}."""
    with (PEERS / "results" / f"{method}__{name}.csv").open(encoding="utf-8") as fh:
        return {row["unit"]: row for row in csv.DictReader(fh)}


def column(method: str, name: str, col: str = "score") -> dict[str, float]:
    """One recorded column as numbers (NaN for an empty cell)."""
    return {u: float(r[col]) if r[col] else math.nan for u, r in recorded(method, name).items()}


def methodology(
    ds: DataSet,
    aggregation: Mapping[str, Any],
    normalisation: Mapping[str, Any] | None = None,
    *,
    weighted: bool = True,
    coverage: float | None = None,
    inputs: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One group G of the data set's criteria, aggregated by `aggregation` (the index is G).

    Each criterion becomes an indicator ``I_<criterion>`` with its direction, normalised by
    `normalisation` (default ``none``: the raw values); `inputs` are further data columns.
    """
    members = [ds.indicator(c) for c in ds.criteria]
    group: dict[str, Any] = {"members": members, "aggregation": dict(aggregation)}
    if weighted:
        group["weights"] = {m: w for m, w in zip(members, ds.weights)}
    if coverage is not None:
        group["coverage"] = coverage
    return {
        "indexlab": 1,
        "id": "peer-case",
        "title": f"{ds.name}: {aggregation.get('method')}",
        "data": {"unit": "unit"},
        "inputs": {c: {} for c in (*ds.criteria, *inputs)},
        "indicators": {
            ds.indicator(c): {"formula": c, "direction": "higher" if d > 0 else "lower"}
            for c, d in zip(ds.criteria, ds.directions)
        },
        "normalisation": {"default": dict(normalisation or {"method": "none"})},
        "groups": {"G": group},
        "index": {"group": "G"},
    }


def run(
    ds: DataSet, m: Mapping[str, Any], data: Path | None = None, out: str = "G"
) -> dict[str, float]:
    """Run `m` on the data set's matrix (or `data`): {unit: value of `out`} (NaN if missing)."""
    frame = api.run(m, data or ds.path).frame
    return {u: math.nan if v is None else v for u, v in zip(frame["unit"], frame[out])}


def max_difference(got: Mapping[str, float], want: Mapping[str, float]) -> float:
    """The largest |got − want| over the units (both NaN counts as equal; one NaN as inf)."""
    assert set(got) == set(want), (sorted(got), sorted(want))
    worst = 0.0
    for unit, w in want.items():
        g = got[unit]
        if math.isnan(g) and math.isnan(w):
            continue
        worst = max(worst, abs(g - w) if not (math.isnan(g) or math.isnan(w)) else math.inf)
    return worst
