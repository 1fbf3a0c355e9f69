"""Explain one unit's result: every step from its raw inputs to its class, with the numbers.

The plan's query (:func:`engine.backends.polars.execute.build_query`) is run keeping every intermediate
column, not only the output ones, on a copy of the plan in which the outermost cross-unit
statistics and ``at()`` references of each step's expression are extra columns, computed in
the same stage as the step. So a ``max(SD)`` shown for Almaty in 2014 is the query's own
2014 leader value, never a number recomputed in Python by another method. The step's IR
is then printed twice by :class:`SubstitutionPrinter` (a :class:`~engine.formula.render.FormulaPrinter`):
over column names, and with every column and every statistic replaced by its value for
the unit and period::

    SD.norm    SD / max(SD, by=[year]) * 100           (Almaty, 2014)
               10665.8 / 13915.5 * 100 = 76.6467

Products and quotients are printed in the order the engine evaluates them (see
``engine/backends/polars/compile.py``: factors left to right, a factor ``Pow(b, -1)`` divides the running
product), and sums left to right, so evaluating the substituted text as ordinary
arithmetic reproduces the step's value. That order can differ from the author's text,
which is shown next to it.

Order of the steps: inputs (raw values and their units), indicators, normalised values,
groups (children first), the index (and its rounding), the rank (with the tie rule), the
class (with its band), derived outputs, screening rules, and the checks that failed for
the unit. With detail data (``data.detail``) the unit-level steps are explained; a
step computed on each detail row shows its formula, and its values row by row only when
asked (``detail=True``).

>>> from engine.analysis.explain import explain
>>> e = explain("methodologies/kireeva.yaml", ["examples/kazakhstan/regions.csv"], "Almaty", 2014)
>>> e.step("class").note
'B++ because 60 <= 65.67236082605127 < 70 (bands include their lower bound); class group: average (B)'
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import sympy
from rich.console import Console
from rich.markup import escape

from engine import api
from engine.backends.polars.compile import to_polars
from engine.backends.polars.execute import _context, audit, build_query, collect
from engine.diagnostics import Code, DataError, Diagnostic, UsageError
from engine.format.model import Band, ClassScheme, Methodology
from engine.formula import grain, ir
from engine.formula.render import FormulaPrinter
from engine.io import read
from engine.plan import Phase, Plan, Step

# -- the explanation -------------------------------------------------------------------


@dataclass(frozen=True)
class DetailValue:
    """One detail row of a step computed on detail rows: its detail keys, formula and value."""

    keys: tuple[tuple[str, object], ...]
    substituted: str | None
    value: object

    def as_dict(self) -> dict[str, object]:
        return {"keys": dict(self.keys), "substituted": self.substituted, "value": self.value}


@dataclass(frozen=True)
class ExplainedStep:
    """One step for one unit and period.

    `formula_text` is the formula as the author wrote it (or the method's name);
    `symbolic` the step's expression over columns, as the engine evaluates it;
    `substituted` the same expression with every column and statistic replaced by its
    value (None when the step has no single value for the unit, e.g. a step computed on
    each detail row, or a derived output outside its periods).
    """

    column: str
    kind: str  # input | indicator | normalised | group | index | rank | class | derived | screen | check
    name: str
    label: str | None
    formula_text: str | None
    symbolic: str
    substituted: str | None
    value: object
    measured_in: str | None = None  # the unit of measurement declared in the methodology
    note: str = ""
    grain: str = grain.UNIT
    detail: tuple[DetailValue, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "column": self.column,
            "kind": self.kind,
            "name": self.name,
            "label": self.label,
            "formula": self.formula_text,
            "symbolic": self.symbolic,
            "substituted": self.substituted,
            "value": self.value,
            "unit": self.measured_in,
            "note": self.note or None,
            "grain": self.grain,
        }
        if self.detail:
            out["detail"] = [d.as_dict() for d in self.detail]
        return out


@dataclass(frozen=True)
class Explanation:
    """Every step of one unit's result in one period, in the order they are computed."""

    methodology: str
    unit: str
    period: object
    steps: tuple[ExplainedStep, ...]

    def step(self, column: str) -> ExplainedStep:
        """The step that computes `column` (``SD``, ``SD.norm``, ``index``, ``class``, ...)."""
        for s in self.steps:
            if s.column == column:
                return s
        raise KeyError(column)

    @property
    def failed_checks(self) -> tuple[ExplainedStep, ...]:
        return tuple(s for s in self.steps if s.kind == "check")

    def as_dict(self) -> dict[str, object]:
        return {
            "methodology": self.methodology,
            "unit": self.unit,
            "period": self.period,
            "steps": [s.as_dict() for s in self.steps],
        }


# -- printing an expression with its numbers ----------------------------------------------

ATOM, POW, UNARY, MUL, ADD, CMP, NOT, AND, OR = 9, 8, 7, 6, 5, 4, 3, 2, 1
#: nodes replaced by their value: statistics across units, other periods' values, and
#: the row-wise nodes that read the class or every unit
VALUE_NODES = (ir.Stat, ir.At, ir.ClassAtLeast, ir.Copeland)
_RELATIONS = {
    sympy.StrictLessThan: "<",
    sympy.LessThan: "<=",
    sympy.StrictGreaterThan: ">",
    sympy.GreaterThan: ">=",
    sympy.Equality: "==",
    sympy.Unequality: "!=",
}


def number(value: object, digits: int | None = None) -> str:
    """A value as formula text: ``repr`` precision by default, or `digits` significant digits.

    >>> number(1417.7712023228648), number(1417.7712023228648, 6), number(413300.0)
    ('1417.7712023228648', '1417.77', '413300')
    """
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)) if value or math.copysign(1, value) > 0 else "-0.0"
        if digits is None:
            return repr(value)
        return f"{value:.0f}" if abs(value) >= 10**digits else f"{value:.{digits}g}"
    return repr(str(value))


class SubstitutionPrinter(FormulaPrinter):
    """Print an IR expression over column names, or with the numbers of one row.

    With `columns` (column name → value) every Symbol prints as its value; with `nodes`
    (IR node → value) every statistic, ``at()``, ``class_at_least()`` and Copeland score
    prints as its value. Operators are printed in the engine's evaluation order and
    parenthesised by precedence, so the text re-evaluates to the computed value.
    """

    def __init__(
        self,
        columns: Mapping[str, object] | None = None,
        nodes: Mapping[sympy.Basic, object] | None = None,
        digits: int | None = None,
    ):
        super().__init__({"order": "none"})
        self.columns = columns
        self.nodes = nodes or {}
        self.digits = digits

    # values
    def _value_of(self, expr: sympy.Basic) -> tuple[bool, object]:
        if isinstance(expr, sympy.Symbol) and self.columns is not None:
            return True, self.columns.get(expr.name)
        if isinstance(expr, VALUE_NODES) and expr in self.nodes:
            return True, self.nodes[expr]
        return False, None

    def _print(self, expr: sympy.Basic, **kwargs: object) -> str:
        found, value = self._value_of(expr)
        if found:
            return number(value, self.digits)
        return super()._print(expr, **kwargs)

    def precedence(self, expr: sympy.Basic) -> int:
        found, value = self._value_of(expr)
        if found:
            return UNARY if number(value, self.digits).startswith("-") else ATOM
        if isinstance(expr, sympy.Number):
            if expr.is_Rational and not expr.is_Integer:
                return ATOM  # printed in parentheses
            return UNARY if expr < 0 else ATOM
        if isinstance(expr, sympy.Add):
            return ADD
        if isinstance(expr, sympy.Mul):
            return UNARY if _is_negation(expr) else MUL
        if isinstance(expr, sympy.Pow):
            if expr.exp == -1:
                return MUL
            return ATOM if expr.exp == sympy.Rational(1, 2) else POW
        if isinstance(expr, sympy.core.relational.Relational):
            return CMP
        if isinstance(expr, sympy.Not):
            return NOT
        if isinstance(expr, sympy.And):
            return AND
        if isinstance(expr, sympy.Or):
            return OR
        return ATOM

    def _wrap(self, expr: sympy.Basic, below: int) -> str:
        """`expr`, in parentheses when it binds no tighter than `below`."""
        text = self._print(expr)
        return f"({text})" if self.precedence(expr) <= below else text

    # arithmetic, in the order of engine/backends/polars/compile.py
    def _print_Add(self, expr: sympy.Add, order: object = None) -> str:
        first, *rest = expr.args
        out = self._wrap(first, ADD - 1)
        for term in rest:
            if _is_negation(term):  # a + (-b) is a - b, exactly
                out += f" - {self._wrap(term.args[1], ADD)}"
                continue
            text = self._wrap(term, ADD)
            out += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
        return out

    def _print_Mul(self, expr: sympy.Mul) -> str:
        if _is_negation(expr):
            return "-" + self._wrap(expr.args[1], UNARY)
        out: str | None = None
        for factor in expr.args:
            if isinstance(factor, sympy.Pow) and factor.exp == -1:
                out = f"{out if out is not None else '1'} / {self._wrap(factor.base, UNARY)}"
            elif out is None:
                out = self._wrap(factor, ADD)
            else:
                out = f"{out} * {self._wrap(factor, UNARY)}"
        assert out is not None
        return out

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        base, exp = expr.args
        if exp == -1:
            return f"1 / {self._wrap(base, UNARY)}"
        if exp == sympy.Rational(1, 2):
            return f"sqrt({self._print(base)})"
        return f"{self._wrap(base, POW)} ** {self._wrap(exp, UNARY - 1)}"

    def _print_Integer(self, expr: sympy.Integer) -> str:
        return str(int(expr))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return str(int(expr)) if expr.is_Integer else f"({expr.p} / {expr.q})"

    _print_One = _print_Zero = _print_NegativeOne = _print_Half = _print_Rational

    # logic
    def _print_Relational(self, expr: sympy.core.relational.Relational) -> str:
        op = _RELATIONS.get(type(expr), expr.rel_op)
        return f"{self._wrap(expr.lhs, CMP)} {op} {self._wrap(expr.rhs, CMP)}"

    def _print_And(self, expr: sympy.And) -> str:
        return " and ".join(self._wrap(a, AND) for a in expr.args)

    def _print_Or(self, expr: sympy.Or) -> str:
        return " or ".join(self._wrap(a, OR) for a in expr.args)

    def _print_Not(self, expr: sympy.Not) -> str:
        return "not " + self._wrap(expr.args[0], NOT - 1)

    def _print_BooleanTrue(self, expr: sympy.Basic) -> str:
        return "true"

    def _print_BooleanFalse(self, expr: sympy.Basic) -> str:
        return "false"


def _is_negation(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Mul) and len(expr.args) == 2 and expr.args[0] == sympy.Integer(-1)


def value_nodes(expr: sympy.Basic) -> list[sympy.Basic]:
    """The outermost statistics and at() references of `expr` (replaced by their values)."""
    if isinstance(expr, VALUE_NODES):
        return [expr]
    found: list[sympy.Basic] = []
    for a in expr.args:
        if isinstance(a, sympy.Basic):
            found += [n for n in value_nodes(a) if n not in found]
    return found


# -- computing every column --------------------------------------------------------------


@dataclass(frozen=True)
class _Computed:
    """The query's result with every intermediate column (api.run keeps only the outputs),
    and the columns holding the value of each substituted node, per step."""

    plan: Plan
    frame: pl.DataFrame
    detail: pl.DataFrame | None
    nodes: Mapping[str, Mapping[sympy.Basic, str]]


def _explained_nodes(plan: Plan, step: Step) -> list[sympy.Basic]:
    """What the explanation of `step` prints as values: its statistics and at() references,
    and, for a reduction over the unit's own detail rows, the reduced operand and its nodes."""
    nodes = value_nodes(step.expr)
    if step.phase == Phase.DETAIL and step.grain == grain.UNIT:
        unit_keys = set(plan.methodology.layout.keys)
        own = [
            n
            for n in nodes
            if isinstance(n, ir.Stat)
            and not isinstance(n, ir.ROW_WISE)
            and set(n.keys) == unit_keys
        ]
        if len(own) == 1:
            nodes += [own[0].operand] + [n for n in value_nodes(own[0].operand) if n not in nodes]
    return nodes


def _with_node_columns(plan: Plan) -> tuple[Plan, dict[str, dict[sympy.Basic, str]]]:
    """A copy of `plan` in which each node an explanation prints is one more column, computed
    in the same stage as its step, so that its value is the query's own."""
    names: dict[str, dict[sympy.Basic, str]] = {}

    def extend(stage: tuple[Step, ...]) -> tuple[Step, ...]:
        extra = []
        for s in stage:
            names[s.column] = {}
            for i, node in enumerate(_explained_nodes(plan, s)):
                column = f"__explain__{s.column}__{i}"
                names[s.column][node] = column
                extra.append(
                    dataclasses.replace(s, column=column, expr=node, periods=(), requires=None)
                )
        return stage + tuple(extra)

    copy = dataclasses.replace(
        plan,
        first=tuple(extend(st) for st in plan.first),
        detail=tuple(extend(st) for st in plan.detail),
        after=tuple(extend(st) for st in plan.after),
        screening=extend(plan.screening),
    )
    return copy, names


def _compute(validated: api.Validated, data: api.Data) -> _Computed:
    """What :func:`engine.api.execute` does, keeping the intermediate columns and computing the
    explained nodes as extra columns of the same query."""
    plan = validated.plan
    api._no_empty_inputs(validated.methodology, data)
    units = data.units.lazy() if data.units is not None else None
    detail = data.detail.lazy() if data.detail is not None else None
    extended, names = _with_node_columns(plan)
    unit_lf, detail_lf = build_query(
        extended, units, detail, periods=api.count_periods(validated.methodology, data)
    )
    if detail_lf is not None:
        frame, detail_frame = collect(unit_lf, detail_lf)
    else:
        (frame,), detail_frame = collect(unit_lf), None
    audit(plan, frame, detail_frame)
    return _Computed(plan, frame, detail_frame, names)


def _key(column: str, value: object) -> pl.Expr:
    return pl.col(column).cast(pl.String) == str(value)


# -- finding the unit and its periods ------------------------------------------------------


def _find_unit(m: Methodology, frame: pl.DataFrame, unit: str) -> str:
    units = [str(u) for u in frame[m.layout.unit].unique(maintain_order=True).to_list()]
    if unit in units:
        return unit
    for (
        label
    ) in m.layout.labels:  # a label naming exactly one unit (a country's name for its ISO code)
        hits = frame.filter(pl.col(label).cast(pl.String) == unit)[m.layout.unit].unique().to_list()
        if len(hits) == 1:
            return str(hits[0])
    close = difflib.get_close_matches(unit, units, n=3, cutoff=0.6)
    close += [u for u in units if u.lower() == unit.lower() or unit.lower() in u.lower()]
    close = list(dict.fromkeys(close))[:5]
    hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else None
    shown = ", ".join(sorted(units)[:12]) + (
        f" and {len(units) - 12} more" if len(units) > 12 else ""
    )
    raise DataError(
        [
            Diagnostic(
                Code.UNKNOWN_KEY,
                f"unit '{unit}' is not in the data (column '{m.layout.unit}')",
                expected=f"one of: {shown}",
                hint=hint,
            )
        ]
    )


def _find_periods(m: Methodology, frame: pl.DataFrame, unit: str, period: object) -> list[object]:
    if m.layout.period is None:
        if period is not None:
            raise DataError(
                [
                    Diagnostic(
                        Code.UNKNOWN_KEY,
                        f"period '{period}' given, but the methodology has no period column",
                        expected="no --period",
                    )
                ]
            )
        return [None]
    rows = frame.filter(_key(m.layout.unit, unit))
    available = sorted(rows[m.layout.period].unique().to_list())
    if period is None:
        return available
    for p in available:
        if str(p) == str(period):
            return [p]
    text = [str(p) for p in available]
    close = difflib.get_close_matches(str(period), text, n=1, cutoff=0.6)
    raise DataError(
        [
            Diagnostic(
                Code.UNKNOWN_KEY,
                f"{m.layout.period} '{period}' is not in the data for '{unit}'",
                expected="one of the periods available: " + ", ".join(text),
                hint=f"did you mean '{close[0]}'?" if close else None,
            )
        ]
    )


# -- explaining ----------------------------------------------------------------------------

_TIES = {
    "min": "equal values share the smallest rank (1, 1, 3)",
    "max": "equal values share the largest rank (2, 2, 3)",
    "dense": "equal values share a rank and the next rank follows (1, 1, 2)",
    "average": "equal values share the mean of their ranks (1.5, 1.5, 3)",
}


class _Explainer:
    """Explains the steps of one unit and period from the computed frames."""

    def __init__(
        self, computed: _Computed, unit: str, period: object, *, detail: bool, digits: int | None
    ):
        self.plan = computed.plan
        self.m = computed.plan.methodology
        self.digits = digits
        self.want_detail = detail
        self.unit, self.period = unit, period
        self.frame = computed.frame
        self.nodes = computed.nodes
        self.detail_frame = computed.detail
        self.row = self._rows(computed.frame).row(0, named=True)
        self.detail_rows = self._rows(computed.detail) if computed.detail is not None else None

    def _rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The unit's rows of `frame` (one, or one per detail key, in key order)."""
        lay = self.m.layout
        cond = _key(lay.unit, self.unit)
        if lay.period:
            cond = cond & _key(lay.period, self.period)
        detail = [k for k in lay.detail if k in frame.columns]
        return frame.filter(cond).sort(detail) if detail else frame.filter(cond)

    def num(self, value: object) -> str:
        return number(value, self.digits)

    def print(
        self,
        expr: sympy.Basic,
        columns: Mapping[str, object] | None = None,
        nodes: Mapping[sympy.Basic, object] | None = None,
    ) -> str:
        return SubstitutionPrinter(columns, nodes, self.digits).doprint(expr)

    def node_values(self, step: Step, frame: pl.DataFrame) -> list[dict[sympy.Basic, object]]:
        """The value of each node printed for `step` (see :func:`_explained_nodes`) in each of
        the unit's rows of `frame`, from the columns the query computed for them."""
        columns = self.nodes.get(step.column, {})
        picked = self._rows(frame)
        return (
            [
                {n: r[c] for n, c in columns.items()}
                for r in picked.select(list(columns.values())).iter_rows(named=True)
            ]
            if columns
            else [{} for _ in range(picked.height)]
        )

    # steps
    def steps(self) -> tuple[ExplainedStep, ...]:
        out = list(self.inputs())
        checks = []
        for column, step in self.plan.steps.items():
            if step.kind == "check":
                checks.append(step)
                continue
            out.append(self.explain_step(step))
            if column == "rank" and self.plan.classes is not None:
                out.append(self.classification())
        if "rank" not in self.plan.steps and self.plan.classes is not None:
            out.append(self.classification())
        for step in checks:
            if self._check_failed(step):
                out.append(self.explain_step(step))
        return tuple(out)

    def inputs(self) -> list[ExplainedStep]:
        out = []
        for i in self.m.inputs:
            if i.grain == grain.DETAIL:
                rows = self.detail_rows
                n = rows.height if rows is not None else 0
                details = (
                    self._detail_values(lambda r, i=i: (self.num(r.get(i.name)), r.get(i.name)))
                    if self.want_detail
                    else ()
                )
                out.append(
                    ExplainedStep(
                        i.name,
                        "input",
                        i.name,
                        i.label,
                        None,
                        i.name,
                        None,
                        None,
                        i.unit,
                        f"detail input: one value per detail row ({n} rows)",
                        grain.DETAIL,
                        details,
                    )
                )
                continue
            value = self.row.get(i.name)
            note = "" if value is not None else "missing in the data"
            # raw data is shown as it is, in full, whatever the digits of computed values
            out.append(
                ExplainedStep(
                    i.name,
                    "input",
                    i.name,
                    i.label,
                    None,
                    i.name,
                    number(value),
                    value,
                    i.unit,
                    note,
                )
            )
        return out

    def _detail_values(self, each) -> tuple[DetailValue, ...]:  # type: ignore[no-untyped-def]
        assert self.detail_rows is not None
        out = []
        for r in self.detail_rows.iter_rows(named=True):
            text, value = each(r)
            out.append(DetailValue(tuple((k, r[k]) for k in self.m.layout.detail), text, value))
        return tuple(out)

    def _describe(self, step: Step) -> tuple[str | None, str | None, str]:
        """label, unit of measurement and the formula as written, by the kind of step."""
        m = self.m
        if step.kind in ("indicator", "normalised"):
            ind = m.indicator(step.name)
            if step.kind == "indicator":
                return ind.label, ind.unit, step.formula or ""
            norm = ind.normalisation
            if norm.formula is not None:
                text = norm.formula.text
            else:
                params = ", ".join(
                    f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in norm.params
                )
                text = f"{norm.method}({params})" if params else norm.method
            label = f"{ind.label or ind.name}, normalised"
            if not any(isinstance(n, ir.Stat) for n in value_nodes(norm.expr)):
                return label, None, text
            scope = (
                "within each period"
                if norm.scope == "period" and m.layout.period
                else "over all rows"
            )
            return label, None, f"{text}, statistics {scope}"
        if step.kind == "group":
            return m.group(step.name).label, None, step.formula or ""
        if step.kind == "index" and m.index is not None:
            label = m.index.label if step.column == "index" else "index before rounding"
            return label, None, step.formula or ""
        if step.kind == "derived":
            return next(d.label for d in m.derived if d.name == step.name), None, step.formula or ""
        if step.kind == "screen":
            return (
                next(s.label for s in m.screening if s.name == step.name),
                None,
                step.formula or "",
            )
        if step.kind == "check":
            return next(c.label for c in m.checks if c.name == step.name), None, step.formula or ""
        return None, None, step.formula or ""

    def explain_step(self, step: Step) -> ExplainedStep:
        label, measured, text = self._describe(step)
        symbolic = self.print(step.expr)
        value = self.row.get(step.column)
        if step.phase == Phase.DETAIL and self.detail_rows is not None:
            return self._explain_on_detail(step, label, measured, text, symbolic)
        if step.periods and self.period not in step.periods:
            shown = ", ".join(str(p) for p in step.periods)
            return ExplainedStep(
                step.column,
                step.kind,
                step.name,
                label,
                text,
                symbolic,
                None,
                value,
                measured,
                f"computed for {self.m.layout.period} {shown} only",
            )
        nodes = (self.node_values(step, self.frame) or [{}])[0]
        substituted = self.print(step.expr, self.row, nodes)
        note = ""
        if step.kind == "rank":
            note = self._rank_note(value)
        elif step.kind == "check":
            note = self._check_note(step)
        return ExplainedStep(
            step.column,
            step.kind,
            step.name,
            label,
            text,
            symbolic,
            substituted,
            value,
            measured,
            note,
        )

    def _explain_on_detail(
        self, step: Step, label: str | None, measured: str | None, text: str, symbolic: str
    ) -> ExplainedStep:
        """A step computed on the detail rows: one value per row (detail grain), or a
        reduction to one value for the unit, whose operands are listed row by row on request."""
        rows, frame = self.detail_rows, self.detail_frame
        assert rows is not None and frame is not None
        keys = ", ".join(self.m.layout.detail)
        if step.grain == grain.DETAIL:
            details: tuple[DetailValue, ...] = ()
            if self.want_detail:
                per_row = self.node_values(step, frame)
                details = tuple(
                    DetailValue(
                        self._detail_key(r), self.print(step.expr, r, nodes), r.get(step.column)
                    )
                    for r, nodes in zip(rows.iter_rows(named=True), per_row)
                )
            note = f"computed on each of the unit's {rows.height} detail rows ({keys})" + (
                "" if self.want_detail else "; --detail lists them"
            )
            return ExplainedStep(
                step.column,
                step.kind,
                step.name,
                label,
                text,
                symbolic,
                None,
                None,
                measured,
                note,
                grain.DETAIL,
                details,
            )
        # the unit's columns are the same in each of its detail rows (collapsed with first())
        columns = rows.row(0, named=True) if rows.height else {}
        nodes = (self.node_values(step, frame) or [{}])[0]
        note = f"reduces the unit's {rows.height} detail rows ({keys})"
        details = ()
        if self.want_detail:
            details = self._reduced_rows(step, frame)
            if details:
                note += "; the rows list the terms of the reduction"
        if step.kind == "check":
            note = self._check_note(step) + "; " + note
        return ExplainedStep(
            step.column,
            step.kind,
            step.name,
            label,
            text,
            symbolic,
            self.print(step.expr, columns, nodes),
            self.row.get(step.column),
            measured,
            note,
            grain.UNIT,
            details,
        )

    def _detail_key(self, row: Mapping[str, object]) -> tuple[tuple[str, object], ...]:
        return tuple((k, row[k]) for k in self.m.layout.detail)

    def _reduced_rows(self, step: Step, frame: pl.DataFrame) -> tuple[DetailValue, ...]:
        """Row by row, the operand of the one statistic of `step` taken over the unit's own
        detail rows (``sum(abs(s_rk - s_k), by=[land, year])``): each term of the reduction."""
        unit_keys = set(self.m.layout.keys)
        own = [
            n
            for n in value_nodes(step.expr)
            if isinstance(n, ir.Stat)
            and not isinstance(n, ir.ROW_WISE)
            and set(n.keys) == unit_keys
        ]
        if len(own) != 1:
            return ()
        operand = own[0].operand
        per_row = self.node_values(step, frame)
        assert self.detail_rows is not None
        return tuple(
            DetailValue(self._detail_key(r), self.print(operand, r, nodes), nodes.get(operand))
            for r, nodes in zip(self.detail_rows.iter_rows(named=True), per_row)
        )

    def _period_frame(self) -> pl.DataFrame:
        lay = self.m.layout
        return self.frame.filter(_key(lay.period, self.period)) if lay.period else self.frame

    def _rank_note(self, rank: object) -> str:
        r = self.m.ranking
        order = (
            "descending: the highest index is rank 1"
            if r.descending
            else "ascending: the lowest index is rank 1"
        )
        where = f" in {self.m.layout.period} {self.period}" if self.m.layout.period else ""
        part = self._period_frame().filter(pl.col("rank").is_not_null())
        note = f"{order}; ties '{r.ties}': {_TIES.get(r.ties, r.ties)}; {part.height} ranked units{where}"
        if rank is None:
            return note + "; no rank: the index is missing"
        unit = self.m.layout.unit

        def who(rows: pl.DataFrame) -> str:
            return ", ".join(
                f"{row[unit]} (index {self.num(row['index'])}, rank {self.num(row['rank'])})"
                for row in rows.iter_rows(named=True)
            )

        others = part.filter(~_key(unit, self.unit))
        tied = others.filter(pl.col("rank") == rank)
        above = others.filter(pl.col("rank") < rank)
        below = others.filter(pl.col("rank") > rank)
        if tied.height:
            note += "; tied with " + who(tied)
        if above.height:
            note += "; next above: " + who(above.filter(pl.col("rank") == above["rank"].max()))
        if below.height:
            note += "; next below: " + who(below.filter(pl.col("rank") == below["rank"].min()))
        return note

    def _check_failed(self, step: Step) -> bool:
        if step.phase == Phase.DETAIL and self.detail_rows is not None:
            values = (
                self.detail_rows[step.column].to_list()
                if step.column in self.detail_rows.columns
                else []
            )
        else:
            values = [self.row.get(step.column)]
        return any(v is False for v in values)

    def _check_note(self, step: Step) -> str:
        check = next(c for c in self.m.checks if c.name == step.name)
        parts = [f"{check.severity} check fails"]
        tolerance = [
            f"{kind} {self.num(t)}"
            for kind, t in (("absolute", check.atol), ("relative", check.rtol))
            if t
        ]
        if tolerance:
            parts.append("tolerance: " + ", ".join(tolerance))
        return "; ".join(parts)

    def classification(self) -> ExplainedStep:
        scheme = self.plan.classes
        assert scheme is not None
        value = self.row.get("index")
        label = self.row.get("class")
        group = self.row.get("class_group")
        if getattr(scheme, "quantiles", ()):
            return self._quantile_class(scheme, value, label)
        band = next((b for b in scheme.bands if b.label == label), None)
        lower_closed = scheme.closed == "lower"
        bound = "lower" if lower_closed else "upper"
        if band is None:
            why = (
                "no class: the index is missing"
                if value is None
                else f"no class: the index {self.num(value)} is outside every band"
            )
            return ExplainedStep(
                "class", "class", "class", "class", None, "class(index)", None, None, None, why
            )
        symbolic = _band_text(scheme, band, "index", self.num)
        substituted = _band_text(scheme, band, self.num(value), self.num)
        note = f"{label} because {substituted} (bands include their {bound} bound)"
        if not _inside(scheme, band, value):
            note += f", within the tolerance {scheme.tolerance:g} of the bound"
        if group is not None:
            key = band.group
            note += f"; class group: {group}" + (f" ({key})" if key and key != group else "")
        return ExplainedStep(
            "class", "class", "class", "class", None, symbolic, substituted, label, None, note
        )

    def _quantile_class(self, scheme: ClassScheme, value: object, label: object) -> ExplainedStep:
        labels = scheme.quantiles
        k = len(labels)
        keys = (self.m.layout.period,) if self.m.layout.period else ()
        cuts = {}
        ctx = _context(self.plan)
        for j in range(k - 1, 0, -1):  # the cuts classify_quantiles uses, evaluated the same way
            node = ir.stat(ir.ColQuantile, sympy.Symbol("index"), keys, sympy.Float(j / k))
            cuts[j] = self._rows(
                self.frame.select(
                    [pl.col(c) for c in self.m.layout.keys] + [to_polars(node, ctx).alias("cut")]
                )
            )["cut"][0]
        if label is None:
            return ExplainedStep(
                "class",
                "class",
                "class",
                "class",
                None,
                "class(index)",
                None,
                None,
                None,
                "no class: the index is missing",
            )
        pos = labels.index(label)  # label i lies between cut k-1-i (below) and cut k-i (above)
        lo, hi = k - 1 - pos, k - pos
        parts_sym, parts_val = ["index"], [self.num(value)]
        if lo >= 1:
            parts_sym.insert(0, f"q{lo}/{k} <=")
            parts_val.insert(0, f"{self.num(cuts[lo])} <=")
        if hi <= k - 1:
            parts_sym.append(f"< q{hi}/{k}")
            parts_val.append(f"< {self.num(cuts[hi])}")
        symbolic, substituted = " ".join(parts_sym), " ".join(parts_val)
        where = f" in {self.m.layout.period} {self.period}" if self.m.layout.period else ""
        note = (
            f"{label} because {substituted}: the {k} classes are cut at the quantiles of the index{where} "
            "(linear interpolation); a value on a cut goes to the upper class"
        )
        return ExplainedStep(
            "class", "class", "class", "class", None, symbolic, substituted, label, None, note
        )


def _band_text(scheme: ClassScheme, band: Band, value: str, num) -> str:  # type: ignore[no-untyped-def]
    i = scheme.bands.index(band)
    top, bottom = i == 0, i == len(scheme.bands) - 1
    lo, hi = num(band.lower), num(band.upper)
    if scheme.closed == "lower":
        return f"{lo} <= {value} {'<=' if top else '<'} {hi}"
    return f"{lo} {'<=' if bottom else '<'} {value} <= {hi}"


def _inside(scheme: ClassScheme, band: Band, value: object) -> bool:
    assert isinstance(value, (int, float))
    i = scheme.bands.index(band)
    top, bottom = i == 0, i == len(scheme.bands) - 1
    if scheme.closed == "lower":
        return band.lower <= value and (value <= band.upper if top else value < band.upper)
    return (band.lower <= value if bottom else band.lower < value) and value <= band.upper


# -- the API ---------------------------------------------------------------------------------

Source = Sequence[str | Path] | api.Data | pl.DataFrame


def _prepare(
    methodology: str | Path | api.Validated, data: Source, options: read.ReadOptions | None
) -> _Computed:
    validated = methodology if isinstance(methodology, api.Validated) else api.validate(methodology)
    if isinstance(data, pl.DataFrame):
        typed = api.Data(data)
    elif isinstance(data, api.Data):
        typed = data
    else:
        typed = api.read_data(validated.methodology, list(data), options)
    return _compute(validated, typed)


def explain_all(
    methodology: str | Path | api.Validated,
    data: Source,
    unit: str,
    period: object = None,
    *,
    options: read.ReadOptions | None = None,
    detail: bool = False,
    digits: int | None = None,
) -> tuple[Explanation, ...]:
    """Explain `unit` in `period`, or in every period it has data for when `period` is None.

    `detail` also gives the values of the steps computed on each detail row; `digits`
    prints numbers with that many significant digits instead of full precision.
    Raises :class:`DataError` (code ``unknown-key``) for a unit or period not in the data.

    >>> [e.period for e in explain_all("methodologies/kireeva.yaml",
    ...                                ["examples/kazakhstan/regions.csv"], "Almaty")]
    [2010, 2014]
    """
    computed = _prepare(methodology, data, options)
    m = computed.plan.methodology
    found = _find_unit(m, computed.frame, str(unit))
    out = []
    for p in _find_periods(m, computed.frame, found, period):
        ex = _Explainer(computed, found, p, detail=detail, digits=digits)
        out.append(Explanation(m.meta.id, found, p, ex.steps()))
    return tuple(out)


def explain(
    methodology: str | Path | api.Validated,
    data: Source,
    unit: str,
    period: object = None,
    *,
    options: read.ReadOptions | None = None,
    detail: bool = False,
    digits: int | None = None,
) -> Explanation:
    """Every step of `unit`'s result in `period`, from raw inputs to class, with its numbers.

    `period` may be omitted when the unit has data for one period only.

    >>> e = explain("methodologies/kireeva.yaml", ["examples/kazakhstan/regions.csv"], "Almaty", 2014)
    >>> e.step("SD.norm").symbolic
    'SD / max(SD, by=[year]) * 100'
    """
    found = explain_all(
        methodology, data, unit, period, options=options, detail=detail, digits=digits
    )
    if len(found) > 1:
        periods = ", ".join(str(e.period) for e in found)
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"'{unit}' has data for several periods ({periods})",
                    expected="a period",
                    hint="give one, or use explain_all for every period",
                )
            ]
        )
    return found[0]


# -- the terminal --------------------------------------------------------------------------

_SECTIONS = {
    "input": "inputs",
    "indicator": "indicators",
    "normalised": "normalised values",
    "group": "groups",
    "index": "index",
    "rank": "rank",
    "class": "class",
    "derived": "derived outputs",
    "screen": "screening",
    "check": "failed checks",
}


def print_explanation(
    explanation: Explanation, title: str = "", console: Console | None = None
) -> None:
    """One block per step: name and label, formula, the formula with its numbers, ``= value``."""
    console = console or Console(soft_wrap=True, highlight=False)
    e = explanation
    when = f" — {e.period}" if e.period is not None else ""
    console.rule(
        f"[bold]{escape(e.unit)}{escape(when)}[/bold]" + (f"  {escape(title)}" if title else ""),
        align="left",
    )
    section = None
    for s in e.steps:
        if _SECTIONS[s.kind] != section:
            section = _SECTIONS[s.kind]
            console.print(f"\n[bold underline]{section}[/bold underline]")
        label = f"  [dim]{escape(s.label)}[/dim]" if s.label and s.label != s.name else ""
        if s.kind == "input":
            measured = f" {escape(s.measured_in)}" if s.measured_in else ""
            if s.grain == grain.DETAIL:
                unit = f" [dim]\\[{escape(s.measured_in)}][/dim]" if s.measured_in else ""
                console.print(f"  [bold]{escape(s.name)}[/bold]{label}{unit}")
                console.print(f"      [dim]{escape(s.note)}[/dim]")
            else:
                console.print(
                    f"  [bold]{escape(s.name)}[/bold] = {escape(str(s.substituted))}{measured}{label}"
                )
                if s.note:
                    console.print(f"      [yellow]{escape(s.note)}[/yellow]")
            for d in s.detail:
                console.print(f"      {escape(_keys_text(d))}: {escape(str(d.substituted))}")
            continue
        head = (
            s.column if s.column == s.name or s.kind == "normalised" else f"{s.column} ({s.name})"
        )
        measured = f" [dim]\\[{escape(s.measured_in)}][/dim]" if s.measured_in else ""
        console.print(f"  [bold]{escape(head)}[/bold]{label}{measured}")
        if s.formula_text and s.formula_text != s.symbolic:
            console.print(f"      formula      {escape(s.formula_text)}")
        console.print(f"      computed as  {escape(s.symbolic)}")
        if s.substituted is not None:
            console.print(f"      with values  {escape(s.substituted)}")
        if s.value is not None or s.substituted is not None:
            console.print(f"      = [bold]{escape(_value_text(s.value))}[/bold]")
        if s.note:
            console.print(f"      [dim]{escape(s.note)}[/dim]")
        for d in s.detail:
            value = _value_text(d.value)
            shown = value if d.substituted in (None, value) else f"{d.substituted} = {value}"
            console.print(f"        {escape(_keys_text(d))}: {escape(shown)}")
    console.print()


def _keys_text(d: DetailValue) -> str:
    return ", ".join(str(v) for _, v in d.keys)


def _value_text(value: object) -> str:
    return value if isinstance(value, str) else number(value, 6)


__all__ = [
    "DetailValue",
    "ExplainedStep",
    "Explanation",
    "SubstitutionPrinter",
    "explain",
    "explain_all",
    "number",
    "print_explanation",
    "value_nodes",
]
