"""Undefined markers a run's query leaves out: counted from the step's value instead.

A step's marker (:func:`engine.backends.polars.steps.undefined_column`) is true in the
rows where one of its operations gave no finite number or its declared domain does not
hold. Computed in every row it costs about a sixth of the paper's query: every guarded
part of the formula is evaluated again for it.

Most steps need no marker in the query. Take a step built only of operations whose
result is missing when an operand is missing (arithmetic, powers, logarithms,
comparisons, ``abs``, and statistics of a column that the row itself reads, so that its
group has a present value). An operation with no finite result gives a missing value,
which then makes the step's value missing; and a value that is missing where every
column the step reads is present can only come from such an operation. So in the rows
where those columns are present, "undefined" is "missing". The run counts those rows
from the value (``undefined:<column>``, with the rows where the domain does not hold),
and the rows where the value is missing and a column it reads is missing too
(``unsure:<column>``: an undefined part may be hidden there by the missing input).
Only when one of these counts is not zero is the marker computed, on the result, by
the audit (:func:`engine.backends.polars.audit.audit_frame`): the rare path, data with
missing values or undefined results.
"""

from __future__ import annotations

import sympy

from engine.backends.polars.compile_base import keys_of
from engine.backends.polars.memo import plan_memo
from engine.formula import ir
from engine.plan import Phase, Plan, Step

__all__ = ["may_be_undefined", "present_inputs"]

#: statistics that have a value in every row whose own operand is present (the row is
#: in its group): max, min, mean, sum and median of a column the step also reads
_PRESENT_WITH_OPERAND = (ir.ColMax, ir.ColMin, ir.ColMean, ir.ColSum, ir.ColMedian)

#: the operations of those steps that can give no finite number (see compile_base._finite)
_GUARDED = (
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.log,
    sympy.exp,
    ir.ColSum,
    ir.ColMean,
    ir.ColMedian,
)

#: operations whose result is missing exactly when an operand is (undefined results
#: aside, which are missing too)
_PROPAGATING = (
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.log,
    sympy.exp,
    sympy.Abs,
    sympy.core.relational.Relational,
)


def _reads(expr: sympy.Basic, direct: set[str], operands: set[str], keys: set[str]) -> bool:
    """Collect the columns `expr` reads in its own row (`direct`), the columns its
    statistics take (`operands`) and their grouping keys; False when a part of `expr`
    is not one of the operations named in the module's docstring."""
    if isinstance(expr, sympy.Symbol):
        direct.add(expr.name)
        return True
    if isinstance(expr, sympy.Number):
        return True
    if isinstance(expr, ir.Stat):
        if type(expr) not in _PRESENT_WITH_OPERAND or not isinstance(expr.operand, sympy.Symbol):
            return False
        operands.add(expr.operand.name)
        keys.update(keys_of(expr))
        return True
    if isinstance(expr, _PROPAGATING):
        return all(_reads(a, direct, operands, keys) for a in expr.args)
    return False


def _compares_columns(expr: sympy.Basic, columns: set[str]) -> bool:
    """Whether `expr` is a comparison of columns and numbers (a domain such as x >= 0,
    tested on the result as the query tests it); collects the columns."""
    if not isinstance(expr, sympy.core.relational.Relational):
        return False
    for a in expr.args:
        if isinstance(a, sympy.Symbol):
            columns.add(a.name)
        elif not isinstance(a, sympy.Number):
            return False
    return True


def may_be_undefined(step: Step) -> bool:
    """Whether a step :func:`present_inputs` accepts has a marker: an operation that can
    give no finite number (guarded by the compiler: every sum, product other than a
    negation, power, logarithm, exponential, and sum, mean or median), or a declared
    domain. A step without one has nothing to count."""
    return step.requires is not None or _guarded(step.expr)


def _guarded(expr: sympy.Basic) -> bool:
    if isinstance(expr, sympy.Mul) and len(expr.args) == 2 and expr.args[0] == sympy.Integer(-1):
        return _guarded(expr.args[1])  # a negation (compiled as -x, no guard)
    if isinstance(expr, _GUARDED):
        return True
    return any(_guarded(a) for a in expr.args if isinstance(a, sympy.Basic))


def present_inputs(plan: Plan, step: Step) -> tuple[str, ...] | None:
    """The columns that, when present in a row, make `step`'s value there missing
    exactly where it is undefined (see :func:`_present_inputs`), worked out once per
    plan and step (the query, the audit's counts and the audit each ask)."""
    known = plan_memo(plan, "present_inputs")
    if step not in known:
        known[step] = _present_inputs(plan, step)
    result: tuple[str, ...] | None = known[step]
    return result


def _present_inputs(plan: Plan, step: Step) -> tuple[str, ...] | None:
    """The columns that, when present in a row, make `step`'s value there missing
    exactly where it is undefined; None when the step needs its marker in the query
    (a part that is not one of the propagating operations, at(), a statistic of a column
    the row does not read, a step on detail rows, or a column the run changes after
    computing it, so that the audit could not recompute the marker on the result)."""
    if step.phase == Phase.DETAIL:
        return None
    direct: set[str] = set()
    operands: set[str] = set()
    keys: set[str] = set()
    if not _reads(step.expr, direct, operands, keys) or not operands <= direct:
        return None
    domain: set[str] = set()
    if step.requires is not None and not _compares_columns(step.requires, domain):
        return None
    m = plan.methodology
    changed = {"rank", *(name for name, _ in m.ranking.within)}
    changed |= {d.name for d in m.derived}  # whole-number outputs are rounded at the end
    if (direct | domain | keys) & changed:
        return None
    layout = set(m.layout.detail_keys)
    return tuple(sorted(direct | (keys - layout)))
