"""The plan as one SQL query: a common table expression per layer, phase by phase.

The query has the shape of the polars one (:func:`engine.backends.polars.execute.build_query`)::

    units     the unit-level input rows (numbers cast to DOUBLE)
    u1..un    the unit-level steps that need no detail rows, layer by layer
    detail    the detail input rows, with the unit-level columns joined on (unit, period)
    d1..dn    the steps on the detail rows, layer by layer
    collapsed one row per unit and period: the reductions (and the detail rows' audit
              aggregates, see :mod:`engine.backends.sql.summary`)
    joined    every unit, from either side (a full join on unit and period)
    a1..an    the remaining unit-level steps
    classes   the class label (and class group) of the index
    s1..sn    screening rules

Each layer is ``SELECT *, <new columns> FROM <previous>`` (see :mod:`.lower`); only the
joins list their columns. Rows are not ordered until the final ``SELECT``, which sorts
by the keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from engine.backends.sql.dialects import QuantileCont
from engine.backends.sql.lower import HELPER_PREFIX, Definition, layer
from engine.backends.sql.printer import (
    BIGINT,
    DOUBLE,
    Context,
    column,
    condition_columns,
    key_literal,
    literal,
    marker,
    ordered,
    paren,
    to_sql,
    to_sql_step,
    window,
)
from engine.format.model import ClassScheme, Methodology
from engine.formula import grain
from engine.plan import Phase, Plan, Step, StepKind

__all__ = [
    "HIDDEN",
    "Chain",
    "Relation",
    "Source",
    "Statement",
    "base_relation",
    "build_statement",
    "plan_conditions",
    "step_context",
    "table",
]

#: columns of our own (helpers, audit aggregates) start with this; never in the output
HIDDEN = "__sql_"


def table(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _qualified(name: str, alias: str) -> exp.Column:
    return exp.Column(
        this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(alias, quoted=True)
    )


def _alias(e: exp.Expr, name: str) -> exp.Expr:
    return exp.alias_(e, exp.to_identifier(name, quoted=True))


@dataclass(frozen=True)
class Source:
    """An input relation: a table reference (or subquery) and the columns it has."""

    table: exp.Expr
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Relation:
    """A common table expression of the query and its columns."""

    name: str
    columns: tuple[str, ...]

    @property
    def visible(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if not c.startswith(HIDDEN))


@dataclass
class Chain:
    """Common table expressions, in order, built one after another."""

    ctes: list[tuple[str, exp.Expr]] = field(default_factory=list)
    helpers: int = 0

    def add(self, name: str, select: exp.Expr, columns: Sequence[str]) -> Relation:
        self.ctes.append((name, select))
        return Relation(name, tuple(columns))

    def define(self, rel: Relation, defs: Sequence[Definition], prefix: str) -> Relation:
        """New columns over `rel`, layer after layer (helpers first)."""
        layers, self.helpers = layer(defs, set(rel.columns), start=self.helpers)
        for i, group in enumerate(layers):
            columns = [c for d in group for c in _define(d)]
            select = exp.select(exp.Star(), *(_alias(e, n) for n, e in columns)).from_(
                table(rel.name)
            )
            rel = self.add(f"{prefix}{i + 1}", select, rel.columns + tuple(n for n, _ in columns))
        return rel

    def select(
        self,
        rel: Relation | str,
        columns: Sequence[exp.Expr],
        *,
        order: Sequence[str] = (),
        where: exp.Expr | None = None,
    ) -> exp.Select:
        """``WITH <every CTE up to rel> SELECT columns FROM rel``."""
        name = rel if isinstance(rel, str) else rel.name
        upto = next(i for i, (n, _) in enumerate(self.ctes) if n == name)
        query = exp.select(*columns).from_(table(name))
        if where is not None:
            query = query.where(where)
        if order:
            query = query.order_by(*(ordered(column(k)) for k in order))
        for n, cte in self.ctes[: upto + 1]:
            query = query.with_(exp.to_identifier(n, quoted=True), as_=cte)
        return query

    def copy(self) -> Chain:
        return Chain(list(self.ctes), self.helpers)


def _define(d: Definition) -> list[tuple[str, exp.Expr]]:
    """The column of a definition and, for a run's column, its marker (as polars'
    ``step_columns``: missing and marked where the declared domain does not hold;
    missing, and not marked, outside its periods)."""
    if not d.guarded:
        value = to_sql(d.expr, d.ctx)
        flag = None
    else:
        printed = to_sql_step(d.expr, d.ctx)
        value, flag = printed.value, printed.undefined
    if d.requires is not None:
        holds = exp.Coalesce(this=paren(to_sql(d.requires, d.ctx)), expressions=[exp.true()])
        value = exp.Case(ifs=[exp.If(this=holds, true=value)])
        broken = exp.not_(holds.copy())
        flag = broken if flag is None else exp.or_(paren(flag), broken)
    if d.periods:
        period = d.ctx.period
        assert period is not None
        inside = exp.In(this=column(period), expressions=[key_literal(p) for p in d.periods])
        value = exp.Case(ifs=[exp.If(this=inside, true=value)])
        flag = exp.and_(paren(flag), inside.copy()) if flag is not None else None
    out = [(d.name, value)]
    if d.guarded:
        out.append((marker(d.name), flag if flag is not None else exp.false()))
    return out


@dataclass(frozen=True)
class Statement:
    """The query of a plan: its CTEs and the relations a run reads."""

    chain: Chain
    #: one row per unit and period, every computed column (helpers excluded)
    result: Relation
    #: the detail rows after the detail steps (None without detail data)
    detail: Relation | None
    #: the typed detail input rows (None without detail data)
    detail_input: Relation | None = None

    def output(self, plan: Plan, *, checks: bool = True) -> exp.Select:
        """The result query a user runs: the output columns (and the checks), by key."""
        names = list(plan.output) + (
            ["check." + c.name for c in plan.methodology.checks] if checks else []
        )
        return self.chain.select(
            self.result, [output_column(plan, n) for n in names], order=plan.methodology.layout.keys
        )


def output_column(plan: Plan, name: str) -> exp.Expr:
    """A result column as written out (the rank is an integer unless ties are averaged)."""
    if name in integer_ranks(plan):
        return _alias(exp.cast(column(name), BIGINT), name)
    return column(name)


def integer_ranks(plan: Plan) -> tuple[str, ...]:
    """The rank columns written as integers (all unless ties are averaged)."""
    m = plan.methodology
    if m.index is None or m.ranking.ties == "average":
        return ()
    return ("rank", *(name for name, _ in m.ranking.within))


def step_context(plan: Plan, step: Step | None = None) -> Context:
    """The printing context of a step (as polars' ``_context``)."""
    m = plan.methodology
    atol = rtol = 0.0
    if step is not None and step.kind == StepKind.CHECK:
        check = next(c for c in m.checks if c.name == step.name)
        atol, rtol = check.atol, check.rtol
    on_detail = step is not None and step.phase == Phase.DETAIL
    labels = m.classes.labels if m.classes else ()
    return Context(
        m.layout.unit,
        m.layout.period,
        m.layout.detail if on_detail else (),
        m.layout.detail_keys if on_detail else m.layout.keys,
        atol,
        rtol,
        labels,
    )


def _definitions(plan: Plan, stages: Sequence[Sequence[Step]]) -> list[Definition]:
    return [
        Definition(s.column, s.expr, step_context(plan, s), s.periods, True, s.requires)
        for stage in stages
        for s in stage
    ]


def _base(m: Methodology, source: Source, grain_name: str) -> tuple[exp.Select, list[str]]:
    """Keys, labels and inputs of one grain; numbers as DOUBLE, absent optional inputs NULL."""
    keys = m.layout.detail_keys if grain_name == grain.DETAIL else m.layout.keys

    def read(name: str) -> exp.Expr | None:
        """The source's column holding `name`: the name, or its header (data.columns)."""
        for candidate in (name, m.layout.header(name)):
            if candidate in source.columns:
                return column(candidate)
        return None

    labels = [lab for lab in m.layout.labels if read(lab) is not None]
    columns: list[exp.Expr] = [_alias(c, n) for n in [*keys, *labels] if (c := read(n)) is not None]
    names = list(keys) + labels
    for i in m.inputs:
        if i.grain != grain_name:
            continue
        columns.append(_alias(exp.cast(read(i.name) or exp.Null(), DOUBLE), i.name))
        names.append(i.name)
    return exp.select(*columns).from_(source.table), names


def base_relation(m: Methodology, source: Source, grain_name: str) -> tuple[Chain, Relation]:
    """A chain holding only the typed input rows of one grain."""
    chain = Chain()
    select, names = _base(m, source, grain_name)
    name = "units" if grain_name == grain.UNIT else "detail_input"
    return chain, chain.add(name, select, names)


def build_statement(
    plan: Plan,
    units: Source | None,
    detail: Source | None = None,
    *,
    partials: Sequence[tuple[str, exp.Expr]] = (),
) -> Statement:
    """The query computing every column of `plan` from the input relations.

    `units` has one row per unit and period (None when every input is detail-level and
    there are no labels), `detail` the detail rows. `partials` are aggregates over the
    detail rows per unit and period (the audit's, see
    :mod:`engine.backends.sql.summary`).
    """
    m = plan.methodology
    keys = list(m.layout.keys)
    chain = Chain()
    rel: Relation | None = None
    detail_input: Relation | None = None
    if units is not None:
        select, names = _base(m, units, grain.UNIT)
        rel = chain.add("units", select, names)
    drel: Relation | None = None
    if detail is not None:
        select, names = _base(m, detail, grain.DETAIL)
        drel = detail_input = chain.add("detail_input", select, names)
    if rel is None and drel is not None and any(lab in drel.columns for lab in m.layout.labels):
        labels = [lab for lab in m.layout.labels if lab in drel.columns]
        select = (
            exp.select(
                *(column(k) for k in keys),
                *(_alias(exp.Min(this=column(lab)), lab) for lab in labels),
            )
            .from_(table(drel.name))
            .group_by(*(column(k) for k in keys))
        )
        rel = chain.add("units", select, keys + labels)
    if rel is not None:
        rel = chain.define(rel, _definitions(plan, plan.first), "u")
    detail_rel = None
    if drel is not None:
        if rel is not None:
            extra = [c for c in rel.columns if c not in drel.columns]
            on = exp.and_(*(_qualified(k, "d").eq(_qualified(k, "u")) for k in keys))
            joined = (
                exp.select(_star("d"), *(_qualified(c, "u") for c in extra))
                .from_(
                    exp.alias_(table(drel.name), exp.to_identifier("d", quoted=True), table=True)
                )
                .join(
                    exp.alias_(table(rel.name), exp.to_identifier("u", quoted=True), table=True),
                    on=on,
                    join_type="left",
                )
            )
            drel = chain.add("detail", joined, drel.columns + tuple(extra))
        detail_rel = chain.define(drel, _definitions(plan, plan.detail), "d")
        conditions = plan_conditions(plan)
        collapse = [_alias(_collapse(c in conditions, c), c) for c in plan.collapse] + [
            _alias(agg, name) for name, agg in partials
        ]
        names = keys + list(plan.collapse) + [name for name, _ in partials]
        grouped = (
            exp.select(*(column(k) for k in keys), *collapse)
            .from_(table(detail_rel.name))
            .group_by(*(column(k) for k in keys))
        )
        crel = chain.add("collapsed", grouped, names)
        if rel is None:
            rel = crel
        else:
            on = exp.and_(*(_qualified(k, "u").eq(_qualified(k, "c")) for k in keys))
            merged: list[exp.Expr] = [
                _alias(exp.Coalesce(this=_qualified(k, "u"), expressions=[_qualified(k, "c")]), k)
                for k in keys
            ]
            merged += [_qualified(c, "u") for c in rel.columns if c not in keys]
            merged += [_qualified(c, "c") for c in crel.columns if c not in keys]
            full = (
                exp.select(*merged)
                .from_(exp.alias_(table(rel.name), exp.to_identifier("u", quoted=True), table=True))
                .join(
                    exp.alias_(table(crel.name), exp.to_identifier("c", quoted=True), table=True),
                    on=on,
                    join_type="full",
                )
            )
            rel = chain.add(
                "joined", full, rel.columns + tuple(c for c in crel.columns if c not in keys)
            )
    assert rel is not None, "a plan needs unit-level or detail data"
    rel = chain.define(rel, _definitions(plan, plan.after), "a")
    if plan.classes is not None:
        cols = _classes(plan.classes, m)
        select = exp.select(exp.Star(), *(_alias(e, n) for n, e in cols)).from_(table(rel.name))
        rel = chain.add("classes", select, rel.columns + tuple(n for n, _ in cols))
    if plan.screening:
        screens = [
            Definition(s.column, s.expr, step_context(plan, s), s.periods, True, s.requires)
            for s in plan.screening
        ]
        rel = chain.define(rel, screens, "s")
    return Statement(chain, rel, detail_rel, detail_input)


def _star(alias: str) -> exp.Column:
    return exp.Column(this=exp.Star(), table=exp.to_identifier(alias, quoted=True))


def plan_conditions(plan: Plan) -> frozenset[str]:
    """The plan's columns that hold conditions (checks, screening rules, ...)."""
    return condition_columns((s.column, s.expr) for s in plan.steps.values())


def _collapse(condition: bool, name: str) -> exp.Expr:
    """The one value of a unit-level column over the unit's detail rows (all equal)."""
    if not condition:
        return exp.Max(this=column(name))
    as_number = exp.Case(
        ifs=[
            exp.If(this=column(name), true=exp.Literal.number(1)),
            exp.If(this=exp.not_(column(name)), true=exp.Literal.number(0)),
        ]
    )
    return exp.EQ(this=exp.Max(this=as_number), expression=exp.Literal.number(1))


def _classes(scheme: ClassScheme, m: Methodology) -> list[tuple[str, exp.Expr]]:
    value = column(scheme.column)
    if scheme.quantiles:
        return [("class", _quantile_classes(scheme, m))]
    tol = scheme.tolerance
    ascending = list(reversed(scheme.bands))
    inside = exp.and_(
        exp.GTE(this=value.copy(), expression=literal(ascending[0].lower - tol)),
        exp.LTE(this=value.copy(), expression=literal(ascending[-1].upper + tol)),
    )
    # a value on a break belongs to the band it opens (closed lower) or closes (upper)
    if scheme.closed == "lower":
        breaks = [b.lower - tol for b in ascending[1:]]
        above: list[exp.Expr] = [exp.GTE(this=value.copy(), expression=literal(b)) for b in breaks]
    else:
        breaks = [b.upper + tol for b in ascending[:-1]]
        above = [exp.GT(this=value.copy(), expression=literal(b)) for b in breaks]

    def pick(values: list[str | None]) -> exp.Expr:
        def lit(v: str | None) -> exp.Expr:
            return exp.Null() if v is None else exp.Literal.string(v)

        ifs = [exp.If(this=exp.not_(exp.Paren(this=inside.copy())), true=exp.Null())]
        ifs += [
            exp.If(this=cond.copy(), true=lit(values[i + 1]))
            for i, cond in reversed(list(enumerate(above)))
        ]
        return exp.Case(ifs=ifs, default=lit(values[0]))

    out = [("class", pick([b.label for b in ascending]))]
    if scheme.groups:
        names = dict(scheme.groups)
        out.append(
            ("class_group", pick([names.get(b.group) if b.group else None for b in ascending]))
        )
    return out


def _quantile_classes(scheme: ClassScheme, m: Methodology) -> exp.Expr:
    """k labels from the top: the j/k quantiles of the index within the period cut the
    classes; a value on a cut goes to the upper class."""
    labels = scheme.quantiles
    k = len(labels)
    keys = (m.layout.period,) if m.layout.period else ()
    value = column(scheme.column)
    ifs = [exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null())]
    for label, j in zip(labels, range(k - 1, 0, -1)):
        cut = window(QuantileCont(this=value.copy(), quantile=literal(j / k)), keys)
        ifs.append(
            exp.If(this=exp.GTE(this=value.copy(), expression=cut), true=exp.Literal.string(label))
        )
    return exp.Case(ifs=ifs, default=exp.Literal.string(labels[-1]))


def hidden(name: str) -> bool:
    return name.startswith(HIDDEN) or name.startswith(HELPER_PREFIX)
