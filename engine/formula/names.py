"""Helping with a name that is not known: look-alike letters, mixed scripts, typos.

A Cyrillic ``а`` (U+0430) in ``grаp`` looks exactly like a Latin ``a``; the name is then
unknown although it reads right. When an unknown name mixes scripts, the message
shows the code points of the letters from the other script, and the hint names the
known name it looks like (its *skeleton*, with look-alikes mapped to Latin letters,
after Unicode TR39, for the letters that commonly slip in from Cyrillic and Greek
keyboards).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from engine.diagnostics import did_you_mean

#: Cyrillic and Greek letters that look like Latin ones (a subset of TR39 confusables)
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁһӏԛԝАВЕКМНОРСТХІЈЅУ"  # Cyrillic
    "αοριτυνκχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",  # Greek
    "aeopcyxijsdhlqwABEKMHOPCTXIJSYaopitvnkxABEZHIKMNOPTYX",
)


def script(ch: str) -> str:
    """The script of a letter (``LATIN``, ``CYRILLIC``, ...); '' for digits and marks."""
    if not ch.isalpha():
        return ""
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else ""


def skeleton(name: str) -> str:
    """`name` with look-alike letters mapped to Latin ones."""
    return name.translate(_LOOKALIKES)


def foreign_letters(name: str) -> list[str]:
    """The letters of `name` not in its main script, as ``'а' U+0430 CYRILLIC SMALL LETTER A``."""
    scripts = [script(ch) for ch in name if script(ch)]
    if len(set(scripts)) < 2:
        return []
    main = max(set(scripts), key=lambda s: (scripts.count(s), s == "LATIN"))
    return [
        f"'{ch}' U+{ord(ch):04X} {unicodedata.name(ch, '?')}"
        for ch in dict.fromkeys(name)
        if script(ch) and script(ch) != main
    ]


def unknown_name(name: str, known: Iterable[str]) -> tuple[str, str | None]:
    """The message for an unknown `name` and a hint, from the `known` names."""
    known = list(known)
    foreign = foreign_letters(name)
    message = f"unknown name '{name}'"
    if foreign:
        message += " (it mixes scripts: " + ", ".join(foreign) + ")"
    look = skeleton(name)
    twins = [k for k in known if k != name and skeleton(k) == look]
    if twins:
        return message, f"it looks like '{twins[0]}', written with other letters"
    return message, did_you_mean(name, known)
