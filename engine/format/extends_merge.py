"""The merge rules of ``extends``: an extending file's values laid over its base's.

Rules (documented for users in docs/format.md, *Extending a methodology*):

==================  ===========  ==========  ===========  ================================
base has \\ file    ``~`` (null)  plain value  list         mapping
==================  ===========  ==========  ===========  ================================
nothing             error        added       added        added
a plain value       deleted      replaced    replaced     replaced
a list              deleted      replaced    replaced     ``{add, remove}``: edited;
                                                          any other mapping: error
a mapping           deleted      replaced    error        merged key by key
==================  ===========  ==========  ===========  ================================

* **Mappings merge by key**, recursively: keys of the base keep their order, new keys
  follow in the order written. One exception: a mapping with a ``method`` key whose
  method differs from the inherited one's **replaces** it, since a method's parameters
  belong to that method (``{method: min_max}`` over ``{method: leader_share, scale:
  100}`` does not keep ``scale``).
* **Lists replace** the inherited list, unless written as an edit ``{add: [...],
  remove: [...]}``: ``remove`` takes out items the base has (compared by value; an error
  if one is not there), then ``add`` appends items the list does not have yet (an error
  if one is).
* ``~`` (null, or an empty value) **deletes** the inherited entry; deleting something
  the base does not have is an error (a typo would otherwise go unnoticed).

Every value of the merged data keeps its :class:`Origin`: the single file and path where
it was written and the files that inherit it, so a later diagnostic can point at the
right line of the right file. A mapping or list that both files state is placed in the
extending file (it is where the change was made).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics import Code, Diagnostic, Location, did_you_mean, truncate
from engine.format.yamlsource import LoadedYaml, PathKey

__all__ = ["EDIT_KEYS", "Merged", "Origin", "is_edit", "location_of", "merge", "origins_of"]

EDIT_KEYS = frozenset({"add", "remove"})
"""The keys of a list edit: ``{add: [...], remove: [...]}``."""


@dataclass(frozen=True)
class Origin:
    """Where a merged value was written: a single file, its path there, and the files
    that inherit it through ``extends`` (nearest first; empty for the file itself)."""

    doc: LoadedYaml
    path: PathKey
    via: tuple[str, ...] = ()

    def inherited_by(self, file: str) -> Origin:
        return Origin(self.doc, self.path, (*self.via, file))

    def at(self, *rest: str | int) -> Origin:
        return Origin(self.doc, (*self.path, *rest), self.via)


@dataclass(frozen=True)
class Merged:
    """Merged data, the origin of each of its paths, and the problems found merging."""

    data: dict[str, Any]
    origins: Mapping[PathKey, Origin]
    problems: tuple[Diagnostic, ...]


def origins_of(doc: LoadedYaml) -> dict[PathKey, Origin]:
    """Every path of a single file's data, as written in that file."""
    return {path: Origin(doc, path) for path, _ in _walk(doc.data, ())}


def is_edit(value: object) -> bool:
    """True for a list edit: a non-empty mapping whose keys are only ``add``/``remove``."""
    return isinstance(value, dict) and bool(value) and set(value) <= EDIT_KEYS


def merge(base: dict[str, Any], base_origins: Mapping[PathKey, Origin], ext: LoadedYaml) -> Merged:
    """`ext`'s data laid over `base` by the rules of the module docstring.

    >>> from engine.format.yamlsource import load_yaml
    >>> b = load_yaml("b.yaml", text="g: {members: [a, b], label: x}\\nn: {method: m1, k: 1}\\n")
    >>> e = load_yaml("e.yaml", text="g: {members: {add: [c]}, label: ~}\\nn: {method: m2}\\n")
    >>> merge(b.data, origins_of(b), e).data
    {'g': {'members': ['a', 'b', 'c']}, 'n': {'method': 'm2'}}
    """
    merger = _Merger(base_origins, ext)
    data = merger.mapping(base, ext.data, (), ())
    return Merged(data, merger.origins, tuple(merger.problems))


class _Merger:
    def __init__(self, base_origins: Mapping[PathKey, Origin], ext: LoadedYaml):
        self.base_origins = base_origins
        self.ext = ext
        self.file = ext.source.path
        self.origins: dict[PathKey, Origin] = {}
        self.problems: list[Diagnostic] = []

    # -- origins ---------------------------------------------------------------------
    def inherit(self, value: Any, base_path: PathKey, path: PathKey) -> None:
        """`value` (at `base_path` in the base) is kept at `path`."""
        for rest, _ in _walk(value, ()):
            origin = self.base_origins.get((*base_path, *rest))
            if origin is not None:
                self.origins[(*path, *rest)] = origin.inherited_by(self.file)

    def state(self, value: Any, ext_path: PathKey, path: PathKey) -> None:
        """`value`, written at `ext_path` in the extending file, lands at `path`."""
        for rest, _ in _walk(value, ()):
            self.origins[(*path, *rest)] = Origin(self.ext, (*ext_path, *rest))

    def base_location(self, path: PathKey) -> str:
        origin = self.base_origins.get(path)
        return str(origin.doc.locate(origin.path)) if origin else "the base"

    def error(self, message: str, ext_path: PathKey, hint: str | None = None) -> None:
        where = self.ext.locate(ext_path)
        self.problems.append(Diagnostic(Code.EXTENDS, message, where, hint=hint))

    # -- values ----------------------------------------------------------------------
    def mapping(
        self, base: dict[str, Any], over: dict[str, Any], ext_path: PathKey, path: PathKey
    ) -> dict[str, Any]:
        self.origins[path] = Origin(self.ext, ext_path)
        out: dict[str, Any] = {}
        for key, value in base.items():
            if key not in over:
                out[key] = value
                self.inherit(value, (*path, key), (*path, key))
                continue
            written = over[key]
            if written is None:
                continue  # deleted
            merged = self.value(value, written, (*ext_path, key), (*path, key))
            if merged is not _CLASH:
                out[key] = merged
        for key, written in over.items():
            if key in base:
                continue
            if written is None:
                self.error(
                    f"'{_dotted((*path, key))}' cannot be deleted: the base has no such entry",
                    (*ext_path, key),
                    hint=_did_you_mean_key(key, base),
                )
                continue
            out[key] = written
            self.state(written, (*ext_path, key), (*path, key))
        return out

    def value(self, base: Any, written: Any, ext_path: PathKey, path: PathKey) -> Any:
        if isinstance(base, dict) and isinstance(written, dict):
            if "method" in written and "method" in base and written["method"] != base["method"]:
                self.state(written, ext_path, path)  # another method: its own parameters
                return written
            return self.mapping(base, written, ext_path, path)
        if isinstance(base, list) and isinstance(written, dict):
            if is_edit(written):
                return self.edit(base, written, ext_path, path)
            self.error(
                f"'{_dotted(path)}' is a list in the base ({self.base_location(path)}); "
                "here it is a mapping",
                ext_path,
                hint="write a list to replace it, or {add: [...], remove: [...]} to change it",
            )
            return _CLASH
        if isinstance(base, dict) and isinstance(written, list):
            self.error(
                f"'{_dotted(path)}' is a mapping in the base ({self.base_location(path)}); "
                "here it is a list",
                ext_path,
                hint="write a mapping: its keys change the inherited ones, '~' deletes one",
            )
            return _CLASH
        self.state(written, ext_path, path)
        return written

    def edit(
        self, base: list[Any], written: dict[str, Any], ext_path: PathKey, path: PathKey
    ) -> list[Any]:
        self.origins[path] = Origin(self.ext, ext_path)
        where = self.base_location(path)
        kept = list(range(len(base)))
        for i, item in enumerate(_items(written.get("remove"))):
            found = [k for k in kept if _same(base[k], item)]
            if not found:
                self.error(
                    f"cannot remove {_shown(item)} from '{_dotted(path)}': the inherited "
                    f"list ({where}) does not have it",
                    (*ext_path, "remove", i),
                )
            kept = [k for k in kept if k not in found]
        out: list[Any] = []
        for k in kept:
            self.inherit(base[k], (*path, k), (*path, len(out)))
            out.append(base[k])
        for i, item in enumerate(_items(written.get("add"))):
            if any(_same(x, item) for x in out):
                self.error(
                    f"cannot add {_shown(item)} to '{_dotted(path)}': the list "
                    f"({where}) already has it",
                    (*ext_path, "add", i),
                )
                continue
            self.state(item, (*ext_path, "add", i), (*path, len(out)))
            out.append(item)
        return out


class _Clash:
    """Marks a value that could not be merged (already reported)."""


_CLASH: Any = _Clash()


def _walk(value: Any, path: PathKey) -> Iterator[tuple[PathKey, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kinds (``1``, ``1.0`` and ``true`` are three values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return truncate(text, 80)


def _shown(item: Any) -> str:
    return f"'{truncate(item, 60)}'" if isinstance(item, str) else truncate(item, 60)


def _did_you_mean_key(key: str, base: Mapping[str, Any]) -> str | None:
    return did_you_mean(key, list(base))


def location_of(origin: Origin, key: bool = False) -> Location:
    """Where `origin` was written, noting the files that inherit it."""
    loc = origin.doc.locate_key(origin.path) if key else origin.doc.locate(origin.path)
    return loc.inherited(origin.via) if origin.via else loc
