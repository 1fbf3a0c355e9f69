"""Comparing methodologies on the same data: scores, ranks, classes, agreement, diff.

Every methodology is run on the same data files (each reads the columns it needs).
The first methodology is the **reference**: rank shifts, class transitions and the
semantic diff are taken against it. Results are joined on the unit and period columns,
which every methodology must name alike.

Agreement between two methodologies is measured per period on the units that have a
rank under both (a unit with a missing index has no rank and is left out of that pair):

* Spearman's ρ: the Pearson correlation of the two rankings after re-ranking the
  common units with average ranks for ties (as ``scipy.stats.spearmanr``);
* Kendall's τ-b: ``(concordant - discordant) / sqrt((n0 - t_a) (n0 - t_b))`` over all
  ``n0 = n (n - 1) / 2`` pairs, ``t_a``/``t_b`` the pairs tied in one ranking (as
  ``scipy.stats.kendalltau``). The pairs are formed in polars, so the cost is O(n²)
  per period: instant for hundreds of units, seconds for a few thousand.

Either is ``None`` (undefined) when fewer than two units are common or one ranking
ties every unit.

>>> from engine.analysis.compare import compare
>>> c = compare(["methodologies/kireeva.yaml", "tests/data/compare/kireeva_minmax_geometric.yaml"],
...             ["examples/kazakhstan/regions.csv"])
>>> c.ids
('kireeva-innovation', 'kireeva-minmax-geometric')
>>> c.table.columns[:4]
['region', 'year', 'index_kireeva-innovation', 'rank_kireeva-innovation']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine import api
from engine.analysis.diff import Change, diff
from engine.diagnostics import Code, DataError, Diagnostic, Location, MethodologyError, UsageError
from engine.format.model import ClassScheme
from engine.io import read
from engine.report.results import TableResult

__all__ = ["Comparison", "Transition", "compare", "kendall_tau_b", "spearman_rho"]

NO_CLASS = "—"  # the row/column of units without a class (missing index, outside every band)


@dataclass(frozen=True)
class Transition:
    """Class transitions from the reference to `other` in one period (``None``: all periods).

    `matrix` has one row per reference class (first column ``class_<reference>``) and one
    column per class of `other`, in band order from the top; each cell counts the units
    (unit-periods when pooled). Units without a class are the row/column ``—``, shown only
    when there are any, so the counts add up to the number of units compared.
    """

    reference: str
    other: str
    period: object | None
    matrix: pl.DataFrame

    @property
    def total(self) -> int:
        return int(self.matrix.drop(self.matrix.columns[0]).sum().sum_horizontal().item())


@dataclass(frozen=True, repr=False)
class Comparison(TableResult):
    """What :func:`compare` found. Columns are named by methodology id.

    * `table`: unit, period, then per methodology ``index_<id>``, ``rank_<id>``,
      ``class_<id>``; then per other methodology ``shift_<id> = rank_<id> - rank_<ref>``
      (negative: the unit moves up). Sorted by period, reference rank, unit.
    * `transitions`: per other methodology, one :class:`Transition` per period, then the
      pooled one (``period=None``).
    * `agreement`: one row per period and pair ``a``, ``b``: ``n`` common units,
      ``spearman``, ``kendall_tau_b``.
    * `diff`: per other methodology id, its changes from the reference
      (:func:`engine.analysis.diff.diff`).
    """

    ids: tuple[str, ...]
    paths: tuple[str | None, ...]
    unit: str
    period: str | None
    table: pl.DataFrame
    transitions: tuple[Transition, ...]
    agreement: pl.DataFrame
    diff: dict[str, tuple[Change, ...]]
    results: tuple[api.RunResult, ...]

    @property
    def reference(self) -> str:
        return self.ids[0]

    def source_files(self) -> tuple[Path, ...]:
        """Every methodology's file and the data files: ``write`` never overwrites them."""
        return tuple(dict.fromkeys(f for r in self.results for f in r.source_files()))

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit, self.period) if self.period else (self.unit,)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """Every methodology's warnings, each once."""
        seen: dict[str, Diagnostic] = {}
        for r in self.results:
            for w in r.warnings:
                seen.setdefault(w.render(), w)
        return tuple(seen.values())

    # -- as an API result (engine.report.results.TableResult) ------------------------------

    def to_polars(self) -> pl.DataFrame:
        """The side-by-side table (see the class docstring)."""
        return self.table

    def sheets(self) -> dict[str, pl.DataFrame]:
        from engine.report.results import comparison_sheets

        return comparison_sheets(self)

    def __repr__(self) -> str:
        units = self.table[self.unit].n_unique()
        periods = f", {self.table[self.period].n_unique()} periods" if self.period else ""
        return f"Comparison({', '.join(map(repr, self.ids))}: {units} units{periods})"

    def _repr_html_(self) -> str:
        from engine.report.notebook import comparison_html

        return comparison_html(self)

    def chart(
        self,
        *,
        periods: object = None,
        top: int = 5,
        highlight: str | Sequence[str] = (),
    ) -> object:
        """The bump chart (rank under each methodology, per period: one period or several)
        as a matplotlib Figure; `highlight` names one unit or several."""
        from engine.report.charts import Highlight, bump_chart

        return bump_chart(self, periods=periods, highlight=Highlight.of(top, highlight))


# --------------------------------------------------------------------------- rank statistics


def _pairs(a: Sequence[float | None], b: Sequence[float | None]) -> pl.DataFrame:
    frame = pl.DataFrame({"a": a, "b": b}, schema={"a": pl.Float64, "b": pl.Float64})
    return frame.drop_nulls()


def spearman_rho(a: Sequence[float | None], b: Sequence[float | None]) -> float | None:
    """Spearman's ρ of two paired samples (pairs with a missing value are dropped).

    Ties get average ranks; ρ is then the Pearson correlation of the ranks.

    >>> spearman_rho([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
    0.8207826816681233
    """
    frame = _pairs(a, b)
    if frame.height < 2:
        return None
    ranked = frame.select(pl.col("a").rank("average"), pl.col("b").rank("average"))
    sa, sb = ranked.select(pl.col("a").std(), pl.col("b").std()).row(0)
    if not sa or not sb:
        return None
    return float(ranked.select(pl.corr("a", "b")).item())


def kendall_tau_b(a: Sequence[float | None], b: Sequence[float | None]) -> float | None:
    """Kendall's τ-b of two paired samples (pairs with a missing value are dropped).

    τ-b = (C - D) / sqrt((n0 - n1) (n0 - n2)), n0 = n (n - 1) / 2, n1 and n2 the pairs
    tied in `a` and in `b`; a pair tied in both counts in neither C nor D.

    >>> kendall_tau_b([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
    0.7378647873726218
    """
    frame = _pairs(a, b).with_row_index("i")
    n = frame.height
    if n < 2:
        return None
    pairs = (
        frame.join(frame, how="cross", suffix="_2")
        .filter(pl.col("i") < pl.col("i_2"))
        .select(
            ((pl.col("a") - pl.col("a_2")).sign() * (pl.col("b") - pl.col("b_2")).sign()).alias(
                "s"
            ),
            (pl.col("a") == pl.col("a_2")).alias("ta"),
            (pl.col("b") == pl.col("b_2")).alias("tb"),
        )
    )
    s, tied_a, tied_b = pairs.select(pl.col("s").sum(), pl.col("ta").sum(), pl.col("tb").sum()).row(
        0
    )
    n0 = n * (n - 1) // 2
    denominator = math.sqrt((n0 - tied_a) * (n0 - tied_b))
    return None if denominator == 0 else float(s) / denominator


# --------------------------------------------------------------------------- compare


def _layout_error(first: api.Validated, other: api.Validated, what: str) -> MethodologyError:
    a, b = first.methodology, other.methodology
    x, y = getattr(a.layout, what), getattr(b.layout, what)
    return MethodologyError(
        [
            Diagnostic(
                Code.INCOMPARABLE,
                f"methodologies name the {what} column differently: "
                f"'{x}' in {a.path or a.meta.id}, '{y}' in {b.path or b.meta.id}",
                Location(b.path) if b.path else None,
                expected=f"the same data.{what} in every methodology compared",
            )
        ]
    )


def _check(validated: Sequence[api.Validated]) -> None:
    problems: list[Diagnostic] = []
    first = validated[0]
    for v in validated[1:]:
        for what in ("unit", "period"):
            if getattr(v.methodology.layout, what) != getattr(first.methodology.layout, what):
                problems += _layout_error(first, v, what).diagnostics
    ids: dict[str, api.Validated] = {}
    for v in validated:
        m = v.methodology
        if m.meta.id in ids:
            other = ids[m.meta.id].methodology
            problems.append(
                Diagnostic(
                    Code.DUPLICATE_NAME,
                    f"two methodologies have the id '{m.meta.id}': "
                    f"{other.path or '?'} and {m.path or '?'}",
                    Location(m.path) if m.path else None,
                    expected="a different id in each methodology compared "
                    "(columns are named by id)",
                )
            )
        ids.setdefault(m.meta.id, v)
        if m.index is None:
            problems.append(
                Diagnostic(
                    Code.INCOMPARABLE,
                    f"methodology '{m.meta.id}' has no index to compare",
                    Location(m.path) if m.path else None,
                    expected="an index section",
                )
            )
    if problems:
        raise MethodologyError(problems)


def _failed_checks(results: Sequence[api.RunResult]) -> None:
    problems = [
        Diagnostic(Code.CHECK_FAILED, f"methodology '{r.methodology.meta.id}': {c.describe()}")
        for r in results
        for c in r.failed_errors
    ]
    if problems:
        raise DataError(problems)


def _class_order(m_classes: ClassScheme | None, present: Sequence[str | None]) -> list[str]:
    # the declared order (bands from the top, or quantile classes as listed): Q2 before Q10
    labels = list(m_classes.labels) if m_classes is not None else []
    extra = sorted({p for p in present if p is not None and p not in labels})
    out = labels + extra
    if any(p is None for p in present):
        out.append(NO_CLASS)
    return out


def _transition(
    table: pl.DataFrame, ref: api.RunResult, other: api.RunResult, period: object | None
) -> Transition:
    a, b = ref.methodology, other.methodology
    ca, cb = f"class_{a.meta.id}", f"class_{b.meta.id}"
    rows = table.select(ca, cb).to_dicts()
    row_labels = _class_order(a.classes, [r[ca] for r in rows])
    col_labels = _class_order(b.classes, [r[cb] for r in rows])
    counts = {(r, c): 0 for r in row_labels for c in col_labels}
    for r in rows:
        counts[(r[ca] or NO_CLASS, r[cb] or NO_CLASS)] += 1
    first = f"class_{a.meta.id}"
    data: dict[str, list[str] | list[int]] = {first: row_labels}
    for c in col_labels:
        data[c] = [counts[(r, c)] for r in row_labels]
    schema = {first: pl.String, **{c: pl.Int64 for c in col_labels}}
    return Transition(a.meta.id, b.meta.id, period, pl.DataFrame(data, schema=schema))


def compare(
    methodologies: Sequence[str | Path | api.Validated],
    data: Sequence[str | Path | read.InMemory],
    options: read.ReadOptions | None = None,
) -> Comparison:
    """Run every methodology on `data` and compare them with the first (the reference).

    Raises :class:`UsageError` for fewer than two methodologies, :class:`MethodologyError`
    when a methodology is invalid, two share an id, or they name the unit or period column
    differently; :class:`DataError` when the data does not fit one of them or an
    error-severity check fails.
    """
    if len(methodologies) < 2:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    "compare needs at least two methodologies",
                    expected="two or more methodology files",
                )
            ]
        )
    validated = []
    errors: list[Diagnostic] = []
    for m in methodologies:
        if isinstance(m, api.Validated):
            validated.append(m)
            continue
        try:
            validated.append(api.validate(m))
        except MethodologyError as err:  # report every invalid methodology at once
            errors += err.diagnostics
    if errors:
        raise MethodologyError(errors)
    _check(validated)
    results = tuple(api.run(v, data, options) for v in validated)
    _failed_checks(results)

    layout = validated[0].methodology.layout
    keys = list(layout.keys)
    ids = tuple(v.methodology.meta.id for v in validated)
    table: pl.DataFrame | None = None
    for r, id_ in zip(results, ids):
        part = r.frame.select(
            *keys,
            pl.col("index").alias(f"index_{id_}"),
            pl.col("rank").alias(f"rank_{id_}"),
            (pl.col("class") if "class" in r.frame.columns else pl.lit(None, pl.String)).alias(
                f"class_{id_}"
            ),
        )
        table = part if table is None else table.join(part, on=keys, how="full", coalesce=True)
    assert table is not None
    ref = ids[0]
    table = table.with_columns(
        (pl.col(f"rank_{i}") - pl.col(f"rank_{ref}")).alias(f"shift_{i}") for i in ids[1:]
    )
    order = ([layout.period] if layout.period else []) + [f"rank_{ref}", layout.unit]
    table = table.sort(order, nulls_last=True)

    period = layout.period
    parts: list[tuple[object | None, pl.DataFrame]] = (
        [(None, table)]
        if period is None
        else [
            (p, table if p is None else table.filter(pl.col(period) == p))
            for p in table[period].unique(maintain_order=True).to_list()
        ]
    )

    transitions = []
    for r in results[1:]:
        for p, part in parts:
            transitions.append(_transition(part, results[0], r, p))
        if layout.period:
            transitions.append(_transition(table, results[0], r, None))

    rows = []
    for p, part in parts:
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                both = part.select(f"rank_{a}", f"rank_{b}").drop_nulls()
                ra, rb = both[f"rank_{a}"].to_list(), both[f"rank_{b}"].to_list()
                rows.append(
                    {
                        "period": p,
                        "a": a,
                        "b": b,
                        "n": both.height,
                        "spearman": spearman_rho(ra, rb),
                        "kendall_tau_b": kendall_tau_b(ra, rb),
                    }
                )
    period_type = table.schema[layout.period] if layout.period else pl.Null
    agreement = pl.DataFrame(
        rows,
        schema={
            "period": period_type,
            "a": pl.String,
            "b": pl.String,
            "n": pl.Int64,
            "spearman": pl.Float64,
            "kendall_tau_b": pl.Float64,
        },
    )
    if layout.period:
        agreement = agreement.rename({"period": layout.period})

    first = validated[0].methodology
    diffs = {v.methodology.meta.id: tuple(diff(first, v.methodology)) for v in validated[1:]}
    paths = tuple(v.methodology.path for v in validated)
    return Comparison(
        ids, paths, layout.unit, layout.period, table, tuple(transitions), agreement, diffs, results
    )
