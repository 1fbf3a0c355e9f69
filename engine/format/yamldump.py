"""Writing a methodology back as YAML that the strict reader reads as the same data.

Used by ``indexlab show`` (a merged methodology, optionally with where each value came
from) and ``indexlab init``. PyYAML's ``SafeDumper`` emits block style; its resolvers
are widened with the strict reader's own scalar rules
(:mod:`engine.format.yamlsource_nodes`), so text that either would read as a number,
true/false or null (``1e3``, ``010``, ``no``, ``~``) is quoted. Lines are never wrapped,
and text with a line break is a literal block (``|``), so every value starts on its own
line and a comment can follow it: with ``origins``, each plain value gets
``# file:line`` of the place it was written. :func:`dump_yaml` reads its own output back
to place those comments, which also proves that the text reads as the same data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from engine.diagnostics import Location
from engine.format.yamlsource import PathKey, load_yaml

__all__ = ["dump_yaml", "flow_yaml"]


class _Dumper(yaml.SafeDumper):
    """SafeDumper quoting whatever the strict reader would not read back as text."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # the reader rejects anchors and aliases: repeat values instead


for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"(?i:true|false)\Z", "tTfF"),
    ("tag:yaml.org,2002:null", r"(?:~|null|Null|NULL|)\Z", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+\Z", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z"
        r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z",
        "-+0123456789.",
    ),
):
    _Dumper.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None  # never a quoted scalar over several lines
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_yaml(
    data: dict[str, Any],
    origin: Callable[[PathKey], Location | None] | None = None,
    header: str = "",
) -> str:
    """`data` as block-style YAML; with `origin`, each plain value gets ``# file:line``.

    >>> print(dump_yaml({"id": "no", "weight": 1.5, "members": ["a", "1e3"]}), end="")
    id: 'no'
    weight: 1.5
    members:
    - a
    - '1e3'
    """
    text = _dump(data, flow=False)
    back = load_yaml("<dumped>", text=text)
    if back.data != data:  # a bug here, never a user's mistake
        raise ValueError("the YAML written does not read back as the same data")
    if origin is not None:
        lines = text.split("\n")
        for path in _leaves(data, ()):
            where = origin(path)
            if where is None or where.line is None:
                continue
            n = back.locate(path).line
            if n is not None:
                lines[n - 1] += f"  # {where.file}:{where.line}"
        text = "\n".join(lines)
        if load_yaml("<dumped>", text=text).data != data:
            raise ValueError("the comments changed the data")
    return header + text


def _leaves(value: Any, path: PathKey) -> Iterator[PathKey]:
    """Paths of the plain values (and empty collections), in document order."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path


def flow_yaml(value: Any) -> str:
    """One value on one line, quoted where the strict reader needs it.

    >>> flow_yaml({"label": "GDP, total", "unit": "?"}), flow_yaml("ВРП"), flow_yaml("010")
    ("{label: 'GDP, total', unit: '?'}", 'ВРП', "'010'")
    """
    text = _dump(value, flow=True).removesuffix("\n").removesuffix("\n...")
    if "\n" in text:  # text with a line break: escaped in double quotes, on one line
        text = _dump(value, flow=True, style='"').removesuffix("\n")
    return text


def _dump(value: Any, *, flow: bool, style: str | None = None) -> str:
    """PyYAML's text for `value`: our quoting, keys in order, never a wrapped line."""
    return yaml.dump(
        value,
        Dumper=_Dumper,
        default_style=style,
        default_flow_style=flow,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,
    )
