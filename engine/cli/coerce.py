"""Command-line values that are plainly valid, converted without pydantic.

typer (0.2x) converts every option value through a pydantic ``TypeAdapter`` it builds on
first use; importing pydantic and building the adapters costs about 0.1 s of CPU on every
command, a quarter of a 32-row run. indexlab's options are paths, words, flags, whole
numbers and choices, which need no pydantic when the value is well formed. :func:`install` puts
a converter in front of typer's: a value it recognises (a path, a string, a whole number
within the option's bounds, one of the choices exactly as typer would match it) is
converted here, with typer's own path and choice checks; anything else (a malformed
number, an unknown choice, a type this module does not know) goes to typer's own
converter, so every message about a bad value is typer's, word for word.

Nothing happens with a typer that has no such converter (older or newer versions): they
keep their own behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

__all__ = ["install"]

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_UNSET = object()


def install() -> None:
    """Route typer's parameter conversion through :func:`_convert` first (idempotent)."""
    try:
        from typer import _coercion, _param_types, core
    except ImportError:  # another typer: its own conversion
        return
    original: Any = getattr(core, "build_runtime_param", None)
    base: Any = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_indexlab", False):
        return

    @dataclass(frozen=True)
    class Plain(base):  # type: ignore[misc]
        """typer's runtime parameter, tried here first; typer's own on anything unusual."""

        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            got = _convert(self.annotation, self.parameter_info, value, param, ctx, _param_types)
            if got is not _UNSET:
                return got
            return original(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        if descriptor.file_annotation is not None or not _known(descriptor.annotation):
            return original(descriptor)
        return Plain(descriptor.parameter_info, descriptor.annotation, descriptor)

    build._indexlab = True  # type: ignore[attr-defined]
    setattr(core, "build_runtime_param", build)  # noqa: B010  (not in typer's public API)


def _known(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return len(args) == 1 and _known(args[0])
    if get_origin(annotation) is not None:
        return False
    return annotation in (str, int, bool) or (
        isinstance(annotation, type) and issubclass(annotation, (Path, Enum))
    )


def _convert(annotation: Any, info: Any, value: Any, param: Any, ctx: Any, types: Any) -> Any:
    """`value` converted as typer would, or _UNSET when typer's own converter must decide."""
    if getattr(info, "parser", None) is not None:
        return _UNSET
    if get_origin(annotation) is list:
        items = value if isinstance(value, (list, tuple)) else [value]
        (inner,) = get_args(annotation)
        out = [_convert(inner, info, v, param, ctx, types) for v in items]
        return _UNSET if any(v is _UNSET for v in out) else out
    if annotation is str:
        return value if isinstance(value, str) else _UNSET
    if annotation is bool:  # a flag: typer hands over True or False
        return value if isinstance(value, bool) else _UNSET
    if annotation is int:
        return _whole(value, info)
    if issubclass(annotation, Enum):
        try:
            choices = list(annotation)
            return types.coerce_cli_choice(
                value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
            )
        except ValueError:
            return _UNSET
    return _path(annotation, info, value, param, ctx, types)


def _whole(value: Any, info: Any) -> Any:
    if isinstance(value, bool) or getattr(info, "clamp", False):
        return _UNSET
    if isinstance(value, str) and _INT.fullmatch(value):
        value = int(value)
    if not isinstance(value, int):
        return _UNSET
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if (low is not None and value < low) or (high is not None and value > high):
        return _UNSET  # typer's message names the range
    return value


def _path(annotation: Any, info: Any, value: Any, param: Any, ctx: Any, types: Any) -> Any:
    path_type = getattr(info, "path_type", None) or annotation
    if not (isinstance(path_type, type) and issubclass(path_type, Path)):
        return _UNSET
    if isinstance(value, str):
        value = path_type(value)
    if not isinstance(value, path_type):
        return _UNSET
    # typer's own checks (exists, file or directory, readable...) and messages
    return types.coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)
