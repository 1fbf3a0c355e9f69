"""The methodology as frozen dataclasses: what a YAML file means, after it is checked.

Objects are immutable (tuples, not lists). Formulas are kept both as written
(:class:`engine.formula.parser.Formula`, with its source position, outside equality) and as
parsed sympy expressions over the methodology's names. Building these objects, and
every rule that can fail, is in :mod:`engine.format.build`; nothing here can fail.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import sympy

from engine.diagnostics import Location
from engine.formula.parser import Formula


class Direction(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class UndefinedPolicy(enum.StrEnum):
    """What a run does with undefined values (a division by zero, the logarithm of a
    value <= 0, an overflow, a statistic over no value)."""

    #: the value is missing in the result and a warning names the rows (the default)
    REPORT = "report"
    #: the run stops with a data error naming the rows
    ERROR = "error"


@dataclass(frozen=True)
class Reference:
    cite: str
    url: str | None = None
    doi: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Base:
    """A methodology this one extends (``extends:``), as written and as found."""

    ref: str  # the value of `extends:` in the file that names this base
    id: str
    title: str
    version: str | None
    file: str


@dataclass(frozen=True)
class Meta:
    id: str
    title: str
    version: str | None = None
    description: str | None = None
    authors: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    #: the chain of bases (``extends:``), nearest first; empty for a self-contained file
    bases: tuple[Base, ...] = ()


@dataclass(frozen=True)
class Layout:
    """Key columns: one row per `unit` and `period`; `labels` are carried through."""

    unit: str
    period: str | None = None
    labels: tuple[str, ...] = ()
    missing: tuple[str, ...] | None = None
    #: key columns of a finer grain (long-form inputs), e.g. ("industry",)
    detail: tuple[str, ...] = ()
    #: (name, header) for columns whose header in the data is not a valid name
    columns: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str:
        """The header of the data column holding `name` (the name itself unless mapped)."""
        return dict(self.columns).get(name, name)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.unit, self.period) if self.period else (self.unit,)

    @property
    def detail_keys(self) -> tuple[str, ...]:
        return self.keys + self.detail

    @property
    def group_keys(self) -> tuple[str, ...]:
        """The columns a statistic may be grouped by (``by=[...]``): the keys, detail keys
        and labels (a region, an income group)."""
        return self.detail_keys + self.labels


@dataclass(frozen=True)
class Input:
    name: str
    label: str | None = None
    unit: str | None = None
    location: Location | None = field(default=None, compare=False)
    grain: str = "unit"  # or "detail"
    optional: bool = False  # the data may lack the column (then it is missing everywhere)
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Normalisation:
    """A named method with its parameters; `expr` is its template in the symbol ``x``."""

    method: str
    params: tuple[tuple[str, object], ...]
    scope: str  # "period" or "pooled"
    expr: sympy.Basic
    formula: Formula | None = None
    #: condition on x every row must meet (e.g. x >= 0 for a leader share), and its meaning
    requires: sympy.Basic | None = None
    requirement: str = ""

    def param(self, name: str, default: object = None) -> object:
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class Indicator:
    name: str
    formula: Formula
    expr: sympy.Basic
    normalisation: Normalisation
    direction: Direction = Direction.HIGHER
    label: str | None = None
    unit: str | None = None
    grain: str = "unit"  # inferred (engine.formula.grain); "detail" indicators are not normalised
    imputation: tuple[tuple[str, object], ...] = ()  # method and options; empty = none
    treatment: tuple[tuple[str, object], ...] = ()  # method and options; empty = none


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...]
    weights: tuple[sympy.Expr, ...]  # numbers, or expressions of statistics (data-driven)
    aggregation: str  # a method of engine.methods.AGGREGATORS, "power", "mpi", "vikor" or "formula"
    expr: sympy.Basic  # in member names
    label: str | None = None
    formula: Formula | None = None
    weighting: str | None = None  # data-driven weighting method, if any
    coverage: float | str = "all"  # or the minimum share of members present
    params: tuple[tuple[str, object], ...] = ()  # the aggregation's options (p, v, penalty)
    #: members the aggregation treats as cost criteria (raw "lower is better" indicators
    #: that a method such as VIKOR reverses by its own rule)
    cost: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rounding:
    digits: int
    mode: str = "half_up"


@dataclass(frozen=True)
class IndexSpec:
    expr: sympy.Basic  # over group and indicator names
    group: str | None = None
    formula: Formula | None = None
    label: str | None = None
    rounding: Rounding | None = None


@dataclass(frozen=True)
class Ranking:
    descending: bool = True
    ties: str = "min"
    #: further ranks of the index, each within the groups of label columns (and the period):
    #: (output column, label columns), e.g. ("region_rank", ("region",))
    within: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: values within this relative tolerance of the next one share a rank
    tolerance: float = 1e-9


@dataclass(frozen=True)
class Band:
    label: str
    lower: float
    upper: float
    group: str | None = None


#: the hidden column holding the value classes are cut on, when it is not the index
CLASS_VALUE = "__class_value"


@dataclass(frozen=True)
class ClassScheme:
    """Bands sorted from the highest to the lowest."""

    bands: tuple[Band, ...]
    closed: str = "lower"  # "lower": [min, max), top band [min, max]; "upper": (min, max]
    tolerance: float = 1e-9
    groups: tuple[tuple[str, str], ...] = ()
    #: labels from the highest: classes by quantiles of the value within each period
    quantiles: tuple[str, ...] = ()
    #: the expression classified, written as ``classes.of`` (e.g. abs(index - 1)); None: the
    #: index. (The key is not ``on``: YAML 1.1 tools read ``on:`` as true.)
    on: sympy.Basic | None = None
    formula: Formula | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.quantiles or tuple(b.label for b in self.bands)

    @property
    def column(self) -> str:
        """The column the classes are cut on: ``index``, or the value of `on` (classes.of)."""
        return "index" if self.on is None else CLASS_VALUE

    @property
    def what(self) -> str:
        """What is classified, for messages: ``the index`` or ``abs(index - 1)``."""
        return "the index" if self.formula is None else self.formula.text


class OutputType(enum.StrEnum):
    """What a derived output holds, and so its column type."""

    NUMBER = "number"  # a float
    INTEGER = "integer"  # a whole number (a count): a 64-bit integer column
    TEXT = "text"  # a label
    CONDITION = "condition"  # true/false


@dataclass(frozen=True)
class Derived:
    name: str
    formula: Formula
    expr: sympy.Basic
    periods: tuple[object, ...] = ()
    label: str | None = None
    type: OutputType = OutputType.NUMBER


@dataclass(frozen=True)
class Check:
    name: str
    formula: Formula
    expr: sympy.Basic
    atol: float = 0.0
    rtol: float = 0.0
    severity: Severity = Severity.WARNING
    label: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Screen:
    """A labelled condition per unit and period (e.g. the paper's promising zones)."""

    name: str
    formula: Formula
    expr: sympy.Basic
    label: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Uncertainty:
    """The uncertainty design (see the schema's `uncertainty`)."""

    replications: int = 1000
    seed: int = 0
    weights: tuple[str, float] | None = None  # ("perturb", e) or ("dirichlet", c)
    #: per alternative, each unit-level indicator's normalisation
    normalisations: tuple[tuple[tuple[str, Normalisation], ...], ...] = ()
    normalisation_probabilities: tuple[float, ...] = ()
    aggregations: tuple[str, ...] = ()
    aggregation_probabilities: tuple[float, ...] = ()
    drop: str | None = None  # "indicators", "groups" or "both"
    imputations: tuple[tuple[tuple[str, object], ...], ...] = ()  # imputation specs
    imputation_probabilities: tuple[float, ...] = ()
    treatments: tuple[tuple[tuple[str, object], ...], ...] = ()  # treatment specs
    treatment_probabilities: tuple[float, ...] = ()


@dataclass(frozen=True)
class Availability:
    """Unit screening by data availability (see the schema's `availability`)."""

    minimum: float | None = None  # share of the counted indicators present
    per_group: bool = False  # the share within every group too
    nonzero: float | None = None  # share of the present values that are non-zero


@dataclass(frozen=True)
class Methodology:
    meta: Meta
    layout: Layout
    inputs: tuple[Input, ...]
    indicators: tuple[Indicator, ...]  # in dependency order
    groups: tuple[Group, ...]  # children before parents
    index: IndexSpec | None  # None: a methodology of indicators only (no index, rank or class)
    ranking: Ranking = Ranking()
    classes: ClassScheme | None = None
    derived: tuple[Derived, ...] = ()
    checks: tuple[Check, ...] = ()
    screening: tuple[Screen, ...] = ()
    path: str | None = field(default=None, compare=False)
    uncertainty: Uncertainty | None = None
    undefined: UndefinedPolicy = UndefinedPolicy.REPORT
    availability: Availability | None = None

    def indicator(self, name: str) -> Indicator:
        return next(i for i in self.indicators if i.name == name)

    def group(self, name: str) -> Group:
        return next(g for g in self.groups if g.name == name)
