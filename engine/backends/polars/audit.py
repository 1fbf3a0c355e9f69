"""Auditing a result: nothing undefined passes silently.

An operation that gives no finite number (a division by zero, the logarithm of a value
<= 0, a fractional power of a negative value, an overflow) gives a missing value where
it arises, and the step marks those rows in a column of its own
(:func:`engine.backends.polars.steps.undefined_column`); so does a row where a step's
declared domain (``requires``, e.g. x >= 0 for a leader share) does not hold. A value
is also undefined when it is missing although everything its step reads is present: a
statistic over a group with no present value.

A run counts, on its collected result, the rows of each marked step and the nulls of
each step (:func:`audit_exprs`); on the success path nothing else is looked at. A run's
query marks only the steps whose undefined rows cannot be counted from their values
(:mod:`engine.backends.polars.markers`); the others' markers are computed on the result
when a count says they may have undefined rows. Where a count is not zero, the step is
taken apart (:func:`diagnose`) to name each cause with the units and periods affected
and how many rows. What happens then is the
methodology's choice (``undefined``): ``report`` returns the diagnostics as warnings
(the values stay missing), ``error`` raises them as a :class:`DataError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl
import sympy

from engine.backends.polars import ENGINE
from engine.backends.polars.compile import Temps, to_polars
from engine.backends.polars.compile_base import keys_of, with_changes
from engine.backends.polars.markers import may_be_undefined, present_inputs
from engine.backends.polars.steps import (
    StepColumns,
    step_columns,
    step_context,
    undefined_column,
    with_columns_of,
)
from engine.diagnostics import Code, DataError, Diagnostic, Severity
from engine.format.model import UndefinedPolicy
from engine.formula import ir
from engine.formula.render import show
from engine.plan import Phase, Plan, Step, StepKind

#: rows listed in a message (the count says how many there are in all)
SHOWN_ROWS = 10


def audited_steps(plan: Plan, schema: pl.Schema, phase_detail: bool) -> list[Step]:
    """The steps of one phase that are in the frame, in plan order."""
    steps = [s for stage in plan.stages for s in stage] + list(plan.screening)
    return [s for s in steps if (s.phase == Phase.DETAIL) == phase_detail and s.column in schema]


def _numeric(step: Step, schema: pl.Schema) -> bool:
    return schema[step.column].is_numeric()  # conditions and texts are never undefined


def audit_exprs(plan: Plan, schema: pl.Schema, phase_detail: bool) -> list[pl.Expr]:
    """Aggregates of the results (a run takes them on its collected frame) that tell whether any
    computed value is undefined: ``undefined:<column>``, the number of rows a step
    marked, and ``nulls:<column>``, its missing values (a statistic over no value shows
    as a missing value although everything the step reads is present; that is looked
    into, on the result, only for columns with nulls). A step without its marker in
    the frame is counted from its value (:mod:`engine.backends.polars.markers`):
    ``undefined:<column>``, the rows it surely marks, and ``unsure:<column>``, the rows
    where a missing input may hide an undefined part."""
    out = []
    for s in audited_steps(plan, schema, phase_detail):
        marker = undefined_column(s.column)
        present = present_inputs(plan, s)
        if marker in schema:
            out.append(pl.col(marker).sum().alias("undefined:" + s.column))
        elif present is not None and may_be_undefined(s):
            out += _counted(plan, s, present)
        if _numeric(s, schema):
            out.append(pl.col(s.column).null_count().alias("nulls:" + s.column))
    return out


def _counted(plan: Plan, step: Step, present: Sequence[str]) -> list[pl.Expr]:
    """The counts that stand for `step`'s marker (see :mod:`.markers`): the rows where
    its value is missing although the columns `present` are, or its domain does not
    hold, and the rows where the value and one of those columns are missing."""
    missing = pl.col(step.column).is_null()
    inputs = pl.all_horizontal([pl.col(c).is_not_null() for c in present]) if present else None
    fails = (
        ~to_polars(step.requires, step_context(plan, step)).fill_null(True)
        if step.requires is not None
        else pl.lit(False)
    )
    surely = (missing & inputs if inputs is not None else missing) | fails
    maybe = missing & ~inputs & ~fails if inputs is not None else pl.lit(False)
    period = plan.methodology.layout.period
    if step.periods and period is not None:
        inside = pl.col(period).is_in(list(step.periods))
        surely, maybe = surely & inside, maybe & inside
    return [
        surely.sum().alias("undefined:" + step.column),
        maybe.sum().alias("unsure:" + step.column),
    ]


def with_markers(
    plan: Plan, frame: pl.DataFrame, steps: Sequence[Step], summary: Mapping[str, object]
) -> tuple[pl.DataFrame, dict[str, object]]:
    """`frame` (a run's unit-level result) with the markers of `steps` computed on it
    as the query would have, and `summary` with their counts: the rare path of
    :mod:`.markers`, taken when a count says a step may have undefined rows."""
    period = plan.methodology.layout.period
    single = period is None or frame.get_column(period).n_unique() <= 1
    parts = []
    for s in steps:
        compiled = step_columns(plan, s, single)
        if len(compiled.columns) > 1:  # its marker (no value: the frame has it)
            parts.append(StepColumns(compiled.temps, compiled.columns[1:]))
    # computed on the columns they read (and the keys, which every frame has), and only
    # the markers put beside the frame's columns (their temporaries serve this query
    # alone): a query over every column of a wide result costs its planning
    exprs = [e for p in parts for level in (*p.temps, p.columns) for e in level]
    made = {e.meta.output_name() for e in exprs}
    read = [*plan.methodology.layout.keys, *(c for e in exprs for c in e.meta.root_names())]
    narrow = pl.DataFrame([frame.get_column(c) for c in dict.fromkeys(read) if c not in made])
    computed = with_columns_of(narrow.lazy(), parts).collect(engine=ENGINE)
    markers = [e.meta.output_name() for p in parts for e in p.columns]
    marked = frame.hstack([computed.get_column(c) for c in markers])
    counts = dict(summary)
    for s in steps:
        marker = undefined_column(s.column)
        counts["undefined:" + s.column] = (
            int(marked.get_column(marker).sum()) if marker in markers else 0
        )
    return marked, counts


def audit(
    plan: Plan,
    frame: pl.DataFrame | pl.LazyFrame,
    detail: pl.DataFrame | None = None,
    summary: Mapping[str, object] | None = None,
    detail_summary: Mapping[str, object] | None = None,
) -> tuple[Diagnostic, ...]:
    """Every undefined value of the computed columns, as warnings (``undefined:
    report``), or raised as a :class:`DataError` (``undefined: error``).

    `summary` holds the aggregates of :func:`audit_exprs` when the query computed them;
    otherwise they are computed here. Steps computed on detail rows are audited on the
    detail rows.
    """
    found: list[Diagnostic] = []
    tainted: set[str] = set()
    if detail is not None:
        found += audit_frame(plan, detail, True, detail_summary, tainted)
    found += audit_frame(plan, frame, False, summary, tainted)
    return apply_policy(plan, found)


def apply_policy(plan: Plan, found: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """The undefined values found, as the methodology's ``undefined`` says: warnings
    (``report``), or raised as a :class:`DataError` (``error``). Shared by every engine."""
    if not found:
        return ()
    if plan.methodology.undefined is UndefinedPolicy.ERROR:
        raise DataError(found)
    hint = "these values are missing in the result; `undefined: error` stops the run instead"
    return tuple(
        dataclasses.replace(d, severity=Severity.WARNING, hint=d.hint or hint) for d in found
    )


def audit_frame(
    plan: Plan,
    frame: pl.DataFrame | pl.LazyFrame,
    phase_detail: bool,
    summary: Mapping[str, object] | None,
    tainted: set[str],
) -> list[Diagnostic]:
    """The undefined values of one phase; `tainted` collects the columns with undefined
    values and those missing because of them (a statistic over values that are all
    missing because they were undefined is their consequence, not reported again)."""
    schema = frame.collect_schema()
    steps = audited_steps(plan, schema, phase_detail)
    if not steps:
        return []
    if summary is None:
        exprs = audit_exprs(plan, schema, phase_detail)
        summary = frame.lazy().select(exprs).collect().row(0, named=True) if exprs else {}
    rare = [
        s
        for s in steps
        if undefined_column(s.column) not in schema
        and (summary.get("undefined:" + s.column) or summary.get("unsure:" + s.column))
    ]
    if rare:
        whole = frame.collect(engine=ENGINE) if isinstance(frame, pl.LazyFrame) else frame
        frame, summary = with_markers(plan, whole, rare, summary)
    return audit_with(
        plan,
        steps,
        summary,
        lambda chosen: empty_statistics(plan, chosen, frame),
        lambda step, rows: causes(plan, frame, step, rows),
        tainted,
    )


def audit_with(
    plan: Plan,
    steps: Sequence[Step],
    summary: Mapping[str, object],
    empty_of: Callable[[Sequence[Step]], set[str]],
    causes_of: Callable[[Step, pl.Expr], Causes],
    tainted: set[str],
) -> list[Diagnostic]:
    """:func:`audit_frame`'s decisions from the counts in `summary`, with the rows looked
    at through `empty_of` (the steps with a statistic over no present value, as
    :func:`empty_statistics`) and `causes_of` (as :func:`causes`): a streamed run of
    detail data answers them period by period (:mod:`engine.streamdetail`)."""
    found: list[Diagnostic] = []
    unmarked = [s for s in steps if not summary.get("undefined:" + s.column)]
    # an imputation part's empty statistic is explained in the steps that read it
    with_nulls = [
        s for s in unmarked if summary.get("nulls:" + s.column) and s.kind != StepKind.PART
    ]
    empty = empty_of(with_nulls) if with_nulls else set()
    for s in steps:
        count = summary.get("undefined:" + s.column)
        marked = count if isinstance(count, int) else 0
        upstream = bool(tainted) and bool(ir.free_names(s.expr) & tainted)
        if marked:
            found += describe(plan, s, causes_of(s, pl.col(undefined_column(s.column))), marked)
            tainted.add(s.column)
        elif s.column in empty:
            if not upstream:
                found += describe(plan, s, causes_of(s, pl.col(s.column).is_null()), None)
            tainted.add(s.column)
        elif upstream:
            tainted.add(s.column)
    return found


def _may_be_missing(expr: sympy.Basic) -> bool:
    """Whether `expr` can be missing with every input present (at() of an absent row)."""
    return isinstance(expr, ir.At) or any(
        _may_be_missing(a) for a in expr.args if isinstance(a, sympy.Basic)
    )


def _grouping_keys(expr: sympy.Basic) -> set[str]:
    """The columns the statistics in `expr` group by (count() included)."""
    keys = set(expr.keys) if isinstance(expr, ir.Stat) else set()
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            keys |= _grouping_keys(a)
    return keys


def _statistics(expr: sympy.Basic) -> list[ir.Stat]:
    found = [expr] if isinstance(expr, ir.Stat) and not isinstance(expr, ir.ColCount) else []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += _statistics(a)
    return found


def empty_statistics(
    plan: Plan, steps: Sequence[Step], frame: pl.DataFrame | pl.LazyFrame
) -> set[str]:
    """The steps (columns) in which a statistic is taken over a group with no present
    value. Every statistic of every step is counted in one pass: one query for those over
    all rows, one group-by per set of keys (rows without a label are in no group); the
    large repeated parts of the statistics' operands are columns computed first."""
    ctx = step_context(plan)
    levels: list[list[pl.Expr]] = []
    scalar: list[pl.Expr] = []
    grouped: dict[tuple[str, ...], list[pl.Expr]] = {}
    # each distinct statistic (operand and keys) is counted once, however many steps
    # take it (a min-max scaling takes the min of its column three times): (its keys, its
    # place among the counts of those keys)
    counted: dict[tuple[sympy.Basic, tuple[str, ...]], tuple[tuple[str, ...], int]] = {}
    owners: list[tuple[str, tuple[tuple[str, ...], int]]] = []
    for s in steps:
        for st in _statistics(plan.written_out(s.expr)):
            keys = keys_of(st)
            if (st.operand, keys) not in counted:
                temps = Temps(f"__audit:empty:{len(counted)}:")  # large repeated parts first
                n = to_polars(st.operand, with_changes(ctx, temps=temps)).count()
                for i, level in enumerate(temps.levels):
                    if len(levels) <= i:
                        levels.append([])
                    levels[i].extend(level)
                target = grouped.setdefault(keys, []) if keys else scalar
                counted[st.operand, keys] = (keys, len(target))
                target.append(n.alias(f"n{len(target)}"))
            owners.append((s.column, counted[st.operand, keys]))
    lf = frame.lazy()
    for level in levels:
        lf = lf.with_columns(level)
    queries: list[tuple[tuple[str, ...], pl.LazyFrame]] = []
    if scalar:
        queries.append(((), lf.select(scalar)))
    for keys, counts in grouped.items():
        by = list(keys)
        queries.append((keys, lf.drop_nulls(by).group_by(by).agg(counts)))
    if not queries:
        return set()
    results = pl.collect_all([q for _, q in queries], engine=ENGINE)
    empty = {
        (keys, i)
        for (keys, _), got in zip(queries, results)
        for i in range(got.width - len(keys))
        if (got.get_column(f"n{i}") == 0).any()
    }
    return {column for column, where in owners if where in empty}


@dataclass(frozen=True)
class Hit:
    """Rows a cause affects: how many, and the first :data:`SHOWN_ROWS` named by their
    keys (in the frame's order)."""

    rows: int
    names: tuple[str, ...]

    def __add__(self, other: Hit) -> Hit:
        """The rows of two frames, this one's first (periods of a streamed run)."""
        return Hit(self.rows + other.rows, (self.names + other.names)[:SHOWN_ROWS])

    def describe(self) -> str:
        more = f" and {self.rows - SHOWN_ROWS} more" if self.rows > SHOWN_ROWS else ""
        return f"{_plural(self.rows)}: " + ", ".join(self.names) + more


def _rows(plan: Plan, frame: pl.DataFrame, mask: pl.Expr) -> Hit:
    """How many rows `mask` selects, and the first ones named by their keys."""
    keys = [k for k in plan.methodology.layout.detail_keys if k in frame.columns]
    hit = frame.lazy().filter(mask).select(keys).collect()
    names = [" ".join(str(v) for v in row) for row in hit.head(SHOWN_ROWS).iter_rows()]
    return Hit(hit.height, tuple(names))


def _unexplained(missing: bool) -> str:
    """What an undefined value no cause was found for is: a missing value (`missing`),
    or a number that is not finite."""
    if missing:
        return "a value is missing although everything it reads is present"
    return "the result is not a finite number (an overflow: beyond ±1.8e308)"


def _what(step: Step) -> str:
    kinds = {
        "indicator": "indicator",
        "normalised": "normalisation of",
        "group": "group",
        "derived": "derived output",
        "check": "check",
        "screen": "screening rule",
        "imputed": "imputation of",
        "treated": "treatment of",
    }
    prefix = kinds.get(step.kind, "")
    return f"{prefix} '{step.name}'" if prefix else f"'{step.name}'"


def _plural(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


@dataclass(frozen=True)
class Causes:
    """What takes a step's undefined rows apart: the rows where its declared domain does
    not hold (None without one), the rows left once those are set aside, and every
    cause tested on them that has rows, as (its place among the tests, reason code,
    text, rows). The tests and their texts depend on the formula only, so the causes of
    two frames add up (:meth:`__add__`) to those of the two frames together."""

    domain: Hit | None
    rest: Hit
    found: tuple[tuple[int, Code, str, Hit], ...]

    def __add__(self, other: Causes) -> Causes:
        domain = None if self.domain is None or other.domain is None else self.domain + other.domain
        mine = {order: (code, text, hit) for order, code, text, hit in self.found}
        for order, code, text, hit in other.found:
            mine[order] = (code, text, mine[order][2] + hit) if order in mine else (code, text, hit)
        found = tuple((order, *mine[order]) for order in sorted(mine))
        return Causes(domain, self.rest + other.rest, found)


def diagnose(
    plan: Plan, frame: pl.DataFrame | pl.LazyFrame, step: Step, rows: pl.Expr, marked: int | None
) -> list[Diagnostic]:
    """Why `step` has undefined values in `rows` (`marked` of them, when counted): each
    cause with the rows it affects, or one diagnostic for what no cause explains."""
    return describe(plan, step, causes(plan, frame, step, rows), marked)


def describe(plan: Plan, step: Step, found: Causes, marked: int | None) -> list[Diagnostic]:
    """The diagnostics of the causes found for `step` (see :func:`diagnose`)."""
    where = f"in the {_what(step)} ({step.formula})" if step.formula else f"in the {_what(step)}"
    expected = "data on which the formula is defined"
    problems: list[Diagnostic] = []
    if found.domain is not None and found.domain.rows:  # the declared domain names it best
        assert step.requires is not None
        text = f"{step.requirement}: {show(step.requires)} does not hold"
        problems.append(
            Diagnostic(Code.DOMAIN, f"{text} {where}, {found.domain.describe()}", expected=expected)
        )
        if not found.rest.rows:  # the other rows may have another cause
            return problems
    for _, code, text, hit in found.found:
        problems.append(Diagnostic(code, f"{text} {where}, {hit.describe()}", expected=expected))
    if not problems:
        what = _unexplained(marked is None)
        problems.append(
            Diagnostic(
                Code.NOT_FINITE,
                f"{what} {where}, {found.rest.describe()}",
                expected="finite values",
            )
        )
    return problems


def causes(plan: Plan, frame: pl.DataFrame | pl.LazyFrame, step: Step, rows: pl.Expr) -> Causes:
    """Every cause of an undefined value of `step` tested on the rows `rows` of `frame`."""
    ctx = step_context(plan, step)
    if isinstance(frame, pl.LazyFrame):  # a streamed run: its result, to take apart
        frame = frame.collect(engine=ENGINE)
    rows = rows.fill_null(False)
    found: list[tuple[int, Code, str, Hit]] = []
    tests = [0]  # the tests made so far: a cause's place among them

    def test(mask: pl.Expr, code: Code, text: str) -> None:
        hit = rows & mask.fill_null(False)
        tests[0] += 1
        if shared[0].select(hit.any()).item():
            found.append((tests[0], code, text, _rows(plan, shared[0], hit)))

    # the frame with the columns the parts tested so far compute first: large repeated
    # parts become columns (see compile.Temps), so nested rounds stay small to plan
    shared, parts = [frame], [0]

    def number(node: sympy.Basic) -> pl.Expr:
        parts[0] += 1
        temps = Temps(f"__audit:{parts[0]}:")
        value = to_polars(node, dataclasses.replace(ctx, temps=temps))
        for level in temps.levels:
            shared[0] = shared[0].with_columns(level)
        return value

    def walk(node: sympy.Basic) -> None:
        # a pairwise node's terms are written in the difference Δ, not in columns
        args = node.args[:3] if isinstance(node, ir.PAIRWISE) else node.args
        for a in args:
            if isinstance(a, sympy.Basic):
                walk(a)
        if isinstance(node, sympy.Pow):
            base, exp = node.args
            if isinstance(exp, sympy.Number):
                if exp < 0:
                    test(number(base) == 0, Code.DIVISION_BY_ZERO,
                         f"division by zero: {show(base)} is 0")  # fmt: skip
                if not exp.is_integer:
                    test(number(base) < 0, Code.DOMAIN,
                         f"power {show(exp)} of a negative value: {show(base)} < 0")  # fmt: skip
            else:
                b, e = number(base), number(exp)
                test(((b == 0) & (e < 0)) | ((b < 0) & (e.round(0) != e)), Code.DOMAIN,
                     f"power {show(exp)} of {show(base)} is undefined")  # fmt: skip
        elif isinstance(node, sympy.log):
            test(number(node.args[0]) <= 0, Code.DOMAIN,
                 f"logarithm of a value <= 0: {show(node.args[0])}")  # fmt: skip
        elif isinstance(node, ir.Stat) and not isinstance(node, ir.ColCount):
            empty = number(node.operand).count() == 0
            test(empty.over(list(node.keys)) if node.keys else empty, Code.ALL_MISSING,
                 f"{node.label}() over no present value: {show(node.operand)} is missing "
                 "for every unit")  # fmt: skip

    domain = None
    if step.requires is not None:
        holds = to_polars(step.requires, ctx).fill_null(True)
        domain = _rows(plan, frame, rows & ~holds)
        rows = rows & holds
    walk(plan.written_out(step.expr))  # the parts it reads as the method wrote them
    return Causes(domain, _rows(plan, shared[0], rows), tuple(found))
