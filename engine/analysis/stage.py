"""The stages diagnostics look at, on their own so that the command line can offer them as
choices without importing the diagnostics (and the compiler) at start-up."""

from __future__ import annotations

import enum

__all__ = ["Stage"]


class Stage(enum.StrEnum):
    """The columns diagnostics look at."""

    INPUTS = "inputs"
    INDICATORS = "indicators"
    NORMALISED = "normalised"
    GROUPS = "groups"
