"""Diagnostics of a methodology's data at one stage: statistics, availability,
correlations, Cronbach's alpha and principal components (COINr's ``get_stats``,
``get_data_avail``, ``get_corr``, ``get_cronbach`` and ``get_PCA``).

A run computes every column; the diagnostics look at the columns of one *stage*:

* ``inputs``: the raw input columns the framework's indicators read;
* ``indicators``: each indicator's value before treatment and normalisation;
* ``normalised`` (the default): each indicator's normalised value ``X.norm``;
* ``groups``: every group's score, and the normalised value of an indicator that is a
  direct member of a group beside other groups (so that each group's members are there).

The :class:`Framework` says which columns are the stage's variables and which of them
each group holds: its direct members at the stage (for Cronbach's alpha, PCA and the
correlations within a group) and every variable below it (for availability). Every
statistic is taken within each period (one row per variable and period), over the units
present, in :mod:`engine.analysis.diagnose_statistics`,
:mod:`~engine.analysis.diagnose_availability`, :mod:`~engine.analysis.diagnose_correlations`,
:mod:`~engine.analysis.diagnose_cronbach` and :mod:`~engine.analysis.diagnose_pca`; this
module ties them together and writes them.

>>> from engine import api
>>> result = api.run("methodologies/kireeva.yaml", ["examples/kazakhstan/regions.csv"])
>>> d = diagnose_result(result)
>>> d.statistics.columns[:3]
['name', 'year', 'n']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.analysis import (
    diagnose_availability,
    diagnose_correlations,
    diagnose_cronbach,
    diagnose_pca,
    diagnose_statistics,
)
from engine.analysis.stage import Stage
from engine.format.model import Methodology
from engine.formula import grain, ir
from engine.plan import norm_column, normalised

if TYPE_CHECKING:
    from engine.api_results import RunResult
    from engine.inputs import DataLike
    from engine.io.read import ReadOptions
    from engine.validation import MethodologyLike

#: the aggregate a formula index stands for (its members are the names it reads)
INDEX = "index"


@dataclass(frozen=True)
class Framework:
    """The variables of one stage and the groups over them.

    `columns` maps each variable (as the methodology names it) to its column in a run's
    frame. `members` gives each group its direct members at the stage, `below` every
    variable under it; `aggregates` are the group score columns (and ``index`` when the
    index is a formula), each with the members it reads.
    """

    stage: Stage
    variables: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    members: tuple[tuple[str, tuple[str, ...]], ...]
    below: tuple[tuple[str, tuple[str, ...]], ...]
    aggregates: tuple[str, ...]
    keys: tuple[str, ...]
    period: str | None

    def column(self, variable: str) -> str:
        return dict(self.columns)[variable]


@dataclass(frozen=True)
class Diagnosis:
    """Every diagnostic table of one stage (polars frames, one row per period where the
    methodology has periods)."""

    stage: Stage
    statistics: pl.DataFrame
    availability: pl.DataFrame
    correlations: pl.DataFrame
    cronbach: pl.DataFrame
    pca: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables by file name (without extension)."""
        return {
            "statistics": self.statistics,
            "availability": self.availability,
            "correlations": self.correlations,
            "cronbach": self.cronbach,
            "pca": self.pca,
        }


def tree(m: Methodology) -> dict[str, tuple[str, ...]]:
    """Each aggregate's direct members: every group, and ``index`` for a formula index."""
    out = {g.name: g.members for g in m.groups}
    if m.index is not None and m.index.group is None:
        known = set(out) | {i.name for i in m.indicators}
        out[INDEX] = tuple(sorted(ir.free_names(m.index.expr) & known))
    return out


def _inputs_of(m: Methodology, indicator: str) -> tuple[str, ...]:
    """The unit-level inputs an indicator reads, through other indicators too."""
    inputs = {i.name for i in m.inputs if i.grain == grain.UNIT}
    formulas = {i.name: i.expr for i in m.indicators}
    seen: list[str] = []
    todo = [indicator]
    while todo:
        name = todo.pop()
        for read in sorted(ir.free_names(formulas[name])):
            if read in inputs and read not in seen:
                seen.append(read)
            elif read in formulas and read != name:
                todo.append(read)
    return tuple(seen)


def framework(m: Methodology, stage: Stage = Stage.NORMALISED) -> Framework:
    """The variables of `stage` and the groups over them."""
    direct = tree(m)
    used = [i.name for i in normalised(m)]
    leaves = [n for n in used if any(n in mem for mem in direct.values())] or used
    members: dict[str, tuple[str, ...]] = {}
    columns: dict[str, str] = {}
    if stage == Stage.GROUPS:
        for g, mem in direct.items():
            if any(x in direct for x in mem):
                members[g] = mem
        variables = list(direct) + [
            x for mem in members.values() for x in mem if x not in direct and x in leaves
        ]
        variables = list(dict.fromkeys(variables))
        for v in variables:
            columns[v] = v if v in direct else norm_column(v)
    else:
        per_indicator: dict[str, tuple[str, ...]] = {}
        for name in leaves:
            if stage == Stage.INPUTS:
                per_indicator[name] = _inputs_of(m, name)
                for x in per_indicator[name]:
                    columns[x] = x
            else:
                per_indicator[name] = (name,)
                columns[name] = name if stage == Stage.INDICATORS else norm_column(name)
        for g, mem in direct.items():
            here = [x for n in mem if n in per_indicator for x in per_indicator[n]]
            if here:
                members[g] = tuple(dict.fromkeys(here))
        variables = list(columns)

    def under(g: str) -> tuple[str, ...]:
        out: list[str] = list(members.get(g, ()))
        for x in direct[g]:
            if x in direct and x != g:
                out += under(x)
        return tuple(v for v in dict.fromkeys(out) if v in columns)

    return Framework(
        stage,
        tuple(variables),
        tuple(columns.items()),
        tuple(members.items()),
        tuple((g, under(g)) for g in direct),
        tuple(direct),
        m.layout.keys,
        m.layout.period,
    )


def stage_frame(fw: Framework, frame: pl.DataFrame) -> pl.DataFrame:
    """The keys, the stage's variables (named as the methodology names them) and the
    aggregates, from a run's frame, in key order."""
    agg_cols = [a for a in fw.aggregates if a in frame.columns and a not in fw.variables]
    return frame.select(
        *fw.keys,
        *(pl.col(c).cast(pl.Float64).alias(v) for v, c in fw.columns),
        *(pl.col(a).cast(pl.Float64) for a in agg_cols),
    ).sort(list(fw.keys))


def diagnose_frame(fw: Framework, frame: pl.DataFrame) -> Diagnosis:
    """Every diagnostic of `fw`'s stage, on a run's frame (one row per unit and period)."""
    data = stage_frame(fw, frame)
    return Diagnosis(
        fw.stage,
        diagnose_statistics.statistics(data, fw.variables, fw.period),
        diagnose_availability.availability(data, fw.variables, dict(fw.below), fw.keys),
        diagnose_correlations.correlations(
            data, fw.variables, dict(fw.members), dict(fw.below), fw.aggregates, fw.period
        ),
        diagnose_cronbach.cronbach(data, dict(fw.members), fw.period),
        diagnose_pca.pca(data, dict(fw.members), fw.period),
    )


def diagnose_result(
    result: RunResult, stage: Stage = Stage.NORMALISED, inputs: pl.DataFrame | None = None
) -> Diagnosis:
    """The diagnostics of a run (an :class:`engine.api.RunResult`) at `stage`; the
    ``inputs`` stage needs the input data (`inputs`, one row per unit and period)."""
    m = result.methodology
    frame = result.frame
    fw = framework(m, stage)
    wanted = [c for _, c in fw.columns if c not in frame.columns]
    if wanted:
        if inputs is None:
            raise ValueError(f"the {stage} stage needs the input data: {', '.join(wanted)}")
        keys = list(m.layout.keys)
        frame = frame.join(inputs.select(*keys, *wanted), on=keys, how="left")
    return diagnose_frame(fw, frame)


def diagnose(
    methodology: MethodologyLike,
    data: DataLike,
    stage: Stage | str = Stage.NORMALISED,
    options: ReadOptions | None = None,
) -> Diagnosis:
    """Run `methodology` on `data` and diagnose it at `stage` (polars frames).

    `methodology` and `data` are what :func:`engine.run` takes (paths, YAML text, dicts,
    in-memory tables).

    >>> d = diagnose("methodologies/undp-hdi.yaml", "examples/undp-hdi/input.csv")
    >>> d.cronbach.columns[:2]
    ['group', 'year']
    """
    from engine import api
    from engine.inputs import data_sources

    validated = api.validate(methodology)
    typed = api.read_data(validated.methodology, data_sources(data), options)
    return diagnose_result(api.execute(validated, typed), Stage(stage), typed.units)


def write_diagnosis(
    d: Diagnosis, directory: str | Path, *, excel: bool = False, protect: Sequence[Path] = ()
) -> list[Path]:
    """Write each table as ``<name>.csv`` in `directory` (created if needed), and all of
    them as sheets of ``diagnostics.xlsx`` with `excel`; return the paths written."""
    from engine.io import write

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write.write_table(t, folder / f"{name}.csv", protect=protect)
        for name, t in d.tables().items()
    ]
    if excel:
        written.append(
            write.write_workbook(d.tables(), folder / "diagnostics.xlsx", protect=protect)
        )
    return written
