"""What a method declaration is: the one place a method is described.

A method (a normalisation, an aggregation, a weighting, an imputation, a treatment or a
transform) is declared once, as a frozen :class:`Method` in the module of its stage
(:mod:`engine.methods.normalise`, ``aggregate``, ``weights``, ``impute``, ``treat``,
``transform``). The declaration holds

* its name, stage, title and schema description (the editor hint);
* its parameters (:class:`Param`: type, default, description, bounds);
* its rules (:data:`Rule`: functions from a :class:`Usage` to :class:`Problem` s, e.g.
  "upper must be above lower"), run by the semantic rules with the problem placed at the
  method's YAML;
* its implementation: how it is computed (:class:`Kind`): a sympy IR template that every
  backend prints, the methodology's own formula, or a backend-specific procedure with the
  backends that have it;
* its documentation: the formula, how "lower is better" is handled, conventions,
  deviations from packages, the packages' equivalent functions and references.

Everything else is derived from the declarations: the JSON Schema's method parts
(:mod:`engine.format.schema_methods`), the tables of ``docs/methods.md`` and
``indexlab methods`` (:mod:`engine.methods.listing`), the semantic rules
(:mod:`engine.format.build_normalisation`, ``build_groups``, ``build_indicators``) and the
description of methods in a diff. :mod:`engine.methods.catalogue` looks them up.

This module imports nothing heavy: declarations can be listed and turned into a schema
without building a single expression.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.diagnostics import Code

__all__ = [
    "NAME_PATTERN",
    "Kind",
    "Listing",
    "Method",
    "Param",
    "ParamType",
    "Problem",
    "Rule",
    "Stage",
    "StageText",
    "Usage",
    "literal",
]

#: a name in the methodology (an indicator, a column)
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"


class Stage(enum.StrEnum):
    """Where in the pipeline a method acts; the value is its YAML section or key."""

    IMPUTE = "imputation"
    TREAT = "treatment"
    TRANSFORM = "transform"
    NORMALISE = "normalisation"
    WEIGHT = "weighting"
    AGGREGATE = "aggregation"


class Kind(enum.StrEnum):
    """How a method is computed, which decides where it can run."""

    #: a sympy IR template: every backend that prints the IR runs it
    TEMPLATE = "template"
    #: the methodology's own formula, parsed into the IR (runs wherever templates run)
    FORMULA = "formula"
    #: a backend-specific procedure outside the IR (an estimation pass, a linear program per
    #: unit, a vectorised pass): only the backends in ``Method.backends`` run it
    PROCEDURE = "procedure"


class ParamType(enum.StrEnum):
    """The type of a parameter's value, which gives its JSON Schema and its listing."""

    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"  # one of `choices` (text)
    NUMBERS = "numbers"  # a list of numbers; bounds apply to each item
    PERIOD = "period"  # a value of the period column
    UNIT = "unit"  # a value of the unit column
    COLUMNS = "columns"  # a list of column names
    NAME = "name"  # a name defined in the methodology (a group)
    FORMULA = "formula"  # a formula in the formula language
    SHARED = "shared"  # a part of the format defined once (`ref`: its name in $defs)


@dataclass(frozen=True)
class Param:
    """One parameter of a method, as written in the YAML under the method's name.

    `default` is ``None`` when there is none (the parameter is then optional unless
    `required`). Bounds apply to the value (to each item for ``NUMBERS``).
    """

    name: str
    type: ParamType
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_items: int | None = None
    max_items: int | None = None
    ref: str | None = None  # for SHARED: the $defs entry


@dataclass(frozen=True)
class Problem:
    """What a rule found wrong, placed at the method's YAML (or at the key `at` in it)."""

    code: Code
    message: str
    expected: str | None = None
    hint: str | None = None
    at: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Usage:
    """One use of a method, as much of its surroundings as a rule may look at.

    `params` are the parameters as written with the declared defaults filled in;
    `given` the names actually written.
    """

    subject: str  # the indicator or group the method applies to
    params: Mapping[str, Any]
    given: frozenset[str] = frozenset()
    lower_is_better: bool = False
    period: str | None = None  # the data's period column, if it has one
    labels: tuple[str, ...] = ()  # the data's label columns
    keys: tuple[str, ...] = ()  # the data's key columns (unit, period)
    equal_weights: bool = True  # the group's weights are all equal (aggregation)
    coverage: bool = False  # the group aggregates over the present members (aggregation)
    #: every group's members as written (imputation from the unit's group)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    members: tuple[str, ...] = ()  # the group's members (aggregation)
    inputs: tuple[str, ...] = ()  # the methodology's input columns


#: a rule of a method: every problem of one use
Rule = Callable[[Usage], Iterable[Problem]]


@dataclass(frozen=True, kw_only=True)
class Method:
    """One method, declared once; stage modules subclass it with their template's type.

    Documentation fields are Markdown for ``docs/methods.md`` (`formula`, `lower`,
    `conventions`, `notes`, `equivalents`); `description` is plain text for the schema.
    """

    name: str
    stage: Stage
    title: str  # a few words: "Min-max to a range"
    description: str  # the schema's description (editor hint)
    params: tuple[Param, ...] = ()
    rules: tuple[Rule, ...] = ()
    kind: Kind = Kind.TEMPLATE
    #: for ``Kind.PROCEDURE``: the backends that implement it
    backends: frozenset[str] = frozenset()
    #: may be an alternative of the uncertainty analysis (``uncertainty.<stage>``)
    sampleable: bool = True
    formula: str = ""
    lower: str = ""  # how "lower is better" is handled
    conventions: str = ""
    notes: str = ""  # conventions and deviations, a paragraph under the table
    equivalents: tuple[str, ...] = ()  # package functions it corresponds to
    references: tuple[str, ...] = ()

    def param(self, name: str) -> Param:
        """The declared parameter `name` (KeyError if it has none)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.stage} {self.name} has no parameter {name!r}")

    def with_defaults(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters as written, with the declared defaults for those left out."""
        out = {p.name: p.default for p in self.params if p.default is not None}
        out.update({k: v for k, v in given.items() if k != "method"})
        return out

    def check(self, usage: Usage) -> list[Problem]:
        """Every problem this use of the method has, by its rules."""
        return [problem for rule in self.rules for problem in rule(usage)]

    def call(self, given: Iterable[tuple[str, Any]], hide: Iterable[str] = ()) -> str:
        """The method with its parameters as written, in declaration order:
        ``min_max(range=[1, 100])``; ``arithmetic`` when none is written. Formulas are
        left out (they are shown on their own).

        >>> Method(name="m", stage=Stage.NORMALISE, title="", description="",
        ...        params=(Param("a", ParamType.NUMBER, ""),)).call([("a", 2.0)])
        'm(a=2)'
        """
        written, hidden = dict(given), set(hide)
        order = [p.name for p in self.params if p.type is not ParamType.FORMULA]
        order += [k for k in written if k not in order and k != "method"]
        shown = [
            f"{k}={literal(written[k])}"
            for k in order
            if k in written and k not in hidden and self._shown(k)
        ]
        return f"{self.name}({', '.join(shown)})" if shown else self.name

    def _shown(self, name: str) -> bool:
        return all(p.type is not ParamType.FORMULA for p in self.params if p.name == name)

    def runs_on(self, backend: str) -> bool:
        """Whether `backend` can compute this method (templates and formulas run anywhere)."""
        return self.kind is not Kind.PROCEDURE or backend in self.backends


class Listing(enum.Enum):
    """Where a stage's schema lists its methods with their descriptions."""

    NONE = "none"  # each method's description only in its own $defs entry
    IN_OBJECT = "object"  # appended to the description of the method's mapping
    IN_METHOD = "method"  # appended to the description of its `method` key


@dataclass(frozen=True)
class StageText:
    """What the schema says about a stage as a whole.

    `description` is the description of the method's mapping (``{method: ..., ...}``) and
    `method` that of its ``method`` key; `listing` says where each method's
    ``'name': description`` is appended, followed by `outro`. `default` is the method
    used when none is given.
    """

    description: str
    method: str
    listing: Listing = Listing.NONE
    outro: str = ""
    default: str | None = None


def literal(value: object) -> str:
    """A parameter's value as YAML would show it: ``[1, 100]``, ``true``, ``2`` for 2.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    return str(value)
