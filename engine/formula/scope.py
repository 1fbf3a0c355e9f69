"""What a formula is (its text and place) and what it may refer to (its scope)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.diagnostics import Location


@dataclass(frozen=True)
class Formula:
    """A formula as the author wrote it, and where."""

    text: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Scope:
    """What a formula may refer to.

    `names` maps each allowed name to what it is ("input", "indicator", ...), for
    messages; `default_keys` are the columns a statistic groups by when the formula
    gives no ``by=``; `key_columns` are the columns ``by=[...]`` may name.
    """

    names: Mapping[str, str]
    default_keys: tuple[str, ...]
    key_columns: frozenset[str] = frozenset()
    expected: str = "a name defined in the methodology"
    #: the period column, which at(x, 2010) fixes
    period: str | None = None
    #: class labels from the highest; None where class_at_least() is not allowed
    class_labels: tuple[str, ...] | None = None
    #: label columns a formula may read as text (``region == 'Asia'``, text outputs)
    text_names: frozenset[str] = frozenset()
