"""The polars backend: the IR compiled to polars, run as one lazy query, then audited."""

from typing import Final, Literal

#: polars' "auto" engine may pick a different strategy from one run to the next, and
#: float sums then differ in the last bit; one fixed engine keeps reruns bit-identical.
#: (Here, not in execute, so that a cached run can use it without importing the compiler.)
ENGINE: Final[Literal["streaming"]] = "streaming"
