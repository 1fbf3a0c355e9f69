"""How ``round()`` reads a float as a decimal: the convention every backend shares.

A float is read as the decimal a person sees: 15 significant digits (every double has
them), at most 12 decimal places, and never fewer than the digits asked for. The polars
backend, the SQL printer and the JavaScript runtime compute ``round_half_even(x * 10**P)``
with the places P these functions give, round that integer in integer arithmetic, and
read the decimal back as the nearest float, so that all of them give the same bits.
"""

from __future__ import annotations

__all__ = ["PLACES", "SIGNIFICANT", "round_limit", "round_places"]

#: a decimal keeps at most this many significant digits of a float
SIGNIFICANT = 15
#: and at most this many decimal places
PLACES = 12


def round_places(digits: int) -> list[tuple[float, int]]:
    """(bound, places), smallest bound first: a value with ``|x| < bound`` is read with
    `places` decimals (the first bound that holds); beyond the last bound, with `digits`.

    >>> round_places(10)
    [(1000.0, 12), (10000.0, 11)]
    """
    return [(10.0 ** (SIGNIFICANT - p), p) for p in range(PLACES, digits, -1)]


def round_limit(digits: int) -> float:
    """From this magnitude on a float is coarser than `digits` decimals: it stays as it is.

    >>> round_limit(0) == 2.0**53
    True
    """
    return 2.0**53 / float(10**digits)
