"""``extends:``: a methodology that names a base and states only what it changes.

:func:`load_document` is the first step of every command: it reads a methodology file,
resolves its chain of bases, merges them and checks the result against the JSON Schema,
raising one :class:`~engine.diagnostics.MethodologyError` with every problem found, all
before any data is read. A file without ``extends`` is read and checked as it always was.

Resolution
----------
``extends`` names one base: a path relative to the extending file when it ends in
``.yaml``/``.yml`` (or contains a ``/``), otherwise the ``id`` of a methodology shipped
with indexlab (:func:`shipped_methodologies`). A bare file name not found next to the
file is looked for among the shipped files too, so a shipped extension (``extends:
kireeva.yaml``) also resolves when copied elsewhere or passed to the API as text. A base
may extend another base; the chain is followed to a file without ``extends`` (at most
:data:`MAX_CHAIN` files). A missing base, a cycle, a base whose format version
(``indexlab:``) is not 1, or a chain too long is an ``extends`` error located at the
``extends:`` value that leads to it.

Checking
--------
1. Every extending file is checked on its own against the derived extension schema
   (:mod:`engine.format.extends_schema`): errors are in that file.
2. The files are merged from the root base up (:mod:`engine.format.extends_merge`):
   a deletion of something the base lacks, an edit that removes a missing item or adds
   a present one, a list where a mapping was (or the reverse) are errors in the file
   that says so.
3. The merged methodology is checked against the full schema; so are the semantic rules
   later (:mod:`engine.format.build`). Both locate every problem through
   :class:`MergedYaml` at the file and line where the value was written, and name the
   files that inherit it (``Location.via``; rendered as "inherited by: ...").

``id``, ``title``, ``version`` and ``description`` describe one file and are never
inherited (:data:`NOT_INHERITED`); ``id``, ``title`` and ``version`` must be stated.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from engine.diagnostics import (
    Code,
    Diagnostic,
    Location,
    MethodologyError,
    Severity,
    did_you_mean,
)
from engine.format.extends_merge import Origin, location_of, merge, origins_of
from engine.format.extends_schema import derive_extension_schema
from engine.format.model import Base
from engine.format.schemacheck import check_schema
from engine.format.yamlsource import JsonPath, LoadedYaml, PathKey, load_yaml

__all__ = [
    "MAX_CHAIN",
    "NOT_INHERITED",
    "MergedYaml",
    "extension_schema",
    "load_document",
    "resolve_chain",
    "resolve_document",
    "shipped_methodologies",
]

MAX_CHAIN = 16
"""At most this many files in a chain of ``extends`` (the extending file included)."""

FORMAT_VERSION = 1
"""The format version (``indexlab:``) this engine reads; every base must have it."""

NOT_INHERITED = ("extends", "id", "title", "version", "description")
"""Top-level keys that describe one file: a base's values are not carried over."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


# --------------------------------------------------------------------------- merged document


@dataclass(frozen=True)
class MergedYaml(LoadedYaml):
    """A methodology merged from a chain of files; every value keeps where it was written.

    ``source`` is the extending file's; ``locate*`` answer with the file and line of the
    value's origin and the files inheriting it (``Location.via``).
    """

    origins: Mapping[PathKey, Origin] = field(default_factory=dict, repr=False, compare=False)
    chain: tuple[Base, ...] = ()

    @property
    def bases(self) -> tuple[Base, ...]:
        return self.chain

    def origin(self, path: JsonPath) -> Origin:
        """The origin of the value at `path`, or of its nearest ancestor with one."""
        p = tuple(path)
        for end in range(len(p), -1, -1):
            found = self.origins.get(p[:end])
            if found is not None:
                return found.at(*p[end:])
        return Origin(LoadedYaml(self.data, self.source), p)

    def locate(self, path: JsonPath) -> Location:
        return location_of(self.origin(path))

    def locate_key(self, path: JsonPath) -> Location:
        return location_of(self.origin(path), key=True)

    def locate_text(self, path: JsonPath) -> Location:
        origin = self.origin(path)
        loc = origin.doc.locate_text(origin.path)
        return loc.inherited(origin.via) if origin.via else loc


# --------------------------------------------------------------------------- shipped bases


def shipped_directory() -> Path | None:
    """The folder of the methodologies shipped with indexlab, if there is one.

    The one place that knows where they are: ``engine/methodologies`` inside an installed
    wheel (package data mapped from the repository's ``methodologies/`` folder, see
    pyproject.toml), or ``methodologies/`` next to ``engine/`` in a source checkout
    (editable installs).
    """
    package = Path(str(resources.files("engine")))
    for path in (package / "methodologies", package.parent / "methodologies"):
        if path.is_dir() and any(path.glob("*.yaml")):
            return path
    return None


@functools.lru_cache(maxsize=4)
def _shipped(folder: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for file in sorted(Path(folder).glob("*.yaml")):
        try:
            data = load_yaml(file).data
        except MethodologyError:
            continue  # a broken shipped file is reported when it is used by its path
        if isinstance(data.get("id"), str):
            found.setdefault(data["id"], file)
    return found


def shipped_methodologies() -> dict[str, Path]:
    """The id and file of every methodology shipped with indexlab.

    >>> shipped_methodologies()["kireeva-innovation"].name  # doctest: +SKIP
    'kireeva.yaml'
    """
    folder = shipped_directory()
    return dict(_shipped(str(folder))) if folder is not None else {}


# --------------------------------------------------------------------------- resolution


def _is_path(ref: str) -> bool:
    return ref.lower().endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref


def _problem(
    doc: LoadedYaml, message: str, hint: str | None = None, via: tuple[str, ...] = ()
) -> MethodologyError:
    where = doc.locate(("extends",))
    where = where.inherited(via) if via else where
    return MethodologyError([Diagnostic(Code.EXTENDS, message, where, hint=hint)])


def _base_path(doc: LoadedYaml, ref: str, via: tuple[str, ...]) -> Path:
    if _is_path(ref):
        path = Path(doc.source.path).parent / ref
        if path.is_file():
            return path
        shipped_dir = shipped_directory()
        if shipped_dir is not None and Path(ref).name == ref and (shipped_dir / ref).is_file():
            return shipped_dir / ref  # a shipped extension read from elsewhere (or as text)
        raise _problem(
            doc,
            f"the base '{ref}' does not exist (looked for {path})",
            hint="a path is relative to this file (a bare file name is also looked for "
            "among the shipped methodologies); a shipped methodology can be named by its "
            "id, without .yaml",
            via=via,
        )
    if not _ID.match(ref):
        raise _problem(doc, f"'{ref}' is neither a .yaml path nor a methodology id", via=via)
    shipped = shipped_methodologies()
    if ref not in shipped:
        close = did_you_mean(ref, shipped)
        listed = "" if close else f" (shipped: {', '.join(sorted(shipped)) or 'none'})"
        raise _problem(
            doc,
            f"no methodology with id '{ref}' is shipped with indexlab{listed}",
            hint=close or "a relative path must end in .yaml or .yml",
            via=via,
        )
    return shipped[ref]


def _version(doc: LoadedYaml) -> object:
    value = doc.data.get("indexlab")
    return None if isinstance(value, bool) else value


def resolve_chain(doc: LoadedYaml) -> tuple[LoadedYaml, ...]:
    """`doc` and its bases, nearest first, down to a file without ``extends``.

    Raises :class:`MethodologyError` for a missing base, a cycle, a format version that
    differs, a chain longer than :data:`MAX_CHAIN`, or a base that is not valid YAML.
    """
    chain = [doc]
    seen = {Path(doc.source.path).resolve(): doc.source.path}
    while "extends" in chain[-1].data:
        current = chain[-1]
        via = tuple(d.source.path for d in reversed(chain[:-1]))  # files inheriting `current`
        ref = current.data["extends"]
        if not isinstance(ref, str) or not ref:
            raise _problem(current, "'extends' must name a base: a .yaml path or an id", via=via)
        path = _base_path(current, ref, via)
        key = path.resolve()
        if key in seen:
            loop = " → ".join([*(d.source.path for d in chain), str(path)])
            raise _problem(
                current, f"extends cycle: {loop}", hint="a base cannot extend itself", via=via
            )
        if len(chain) >= MAX_CHAIN:
            raise _problem(
                current, f"more than {MAX_CHAIN} files in this chain of extends", via=via
            )
        try:
            base = load_yaml(path)
        except MethodologyError as err:
            raise _noted(err, tuple(d.source.path for d in reversed(chain))) from None
        if _version(base) != FORMAT_VERSION:
            written = base.locate(("indexlab",))
            found = (
                "has no format version ('indexlab: 1')"
                if "indexlab" not in base.data
                else (f"is format version {_version(base)!r} ({written})")
            )
            raise _problem(
                current,
                f"the base {path} {found}; this indexlab reads version {FORMAT_VERSION}",
                hint="a methodology can only extend a base of the same format version",
                via=via,
            )
        seen[key] = str(path)
        chain.append(base)
    return tuple(chain)


def _noted(err: MethodologyError, via: tuple[str, ...]) -> MethodologyError:
    """`err` with every location noting the files that inherit from the broken base."""
    diagnostics = [
        Diagnostic(
            d.code,
            d.message,
            d.location.inherited(via) if d.location else Location(None, via=via),
            d.expected,
            d.hint,
            d.severity,
        )
        for d in err.diagnostics
    ]
    return MethodologyError(diagnostics, total=err.total)


# --------------------------------------------------------------------------- loading


_DERIVED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def extension_schema(full: dict[str, Any]) -> dict[str, Any]:
    """The schema of an extending file, derived from `full` once per schema object."""
    cached = _DERIVED.get(id(full))
    if cached is None or cached[0] is not full:
        cached = (full, derive_extension_schema(full))  # holding `full` keeps its id unique
        _DERIVED[id(full)] = cached
    return cached[1]


def _errors(found: tuple[Diagnostic, ...]) -> list[Diagnostic]:
    return [d for d in found if d.severity == Severity.ERROR]


def load_document(path: str | Path, schema: dict[str, Any]) -> LoadedYaml:
    """Read a methodology, resolve and merge its bases, and check it against `schema`.

    Returns the document the semantic rules are applied to (a :class:`MergedYaml` when
    the file extends a base). Raises :class:`MethodologyError` with every problem.
    """
    return resolve_document(load_yaml(path), schema)


def resolve_document(doc: LoadedYaml, schema: dict[str, Any]) -> LoadedYaml:
    """:func:`load_document` for a file already read: its bases (``extends:``, a path
    relative to the file) merged, and the result checked against `schema`."""
    if "extends" not in doc.data:
        errors = _errors(check_schema(doc, schema))
        if errors:
            raise MethodologyError(errors)
        return doc
    chain = resolve_chain(doc)
    partial = extension_schema(schema)
    errors = []
    for i, file in enumerate(chain[:-1]):
        via = tuple(d.source.path for d in reversed(chain[:i]))
        for d in _errors(check_schema(file, partial)):
            loc = d.location.inherited(via) if d.location and via else d.location
            errors.append(Diagnostic(d.code, d.message, loc, d.expected, d.hint, d.severity))
    if errors:
        raise MethodologyError(errors)
    merged = merge_chain(chain)
    errors = exclusive_forms(merged, schema) or _errors(check_schema(merged, schema))
    if errors:
        raise MethodologyError(errors)
    return merged


def merge_chain(chain: tuple[LoadedYaml, ...]) -> MergedYaml:
    """Merge `chain` (an extending file first, its root base last); raise on problems."""
    root = chain[-1]
    data: dict[str, Any] = dict(root.data)
    origins = origins_of(root)
    bases: list[Base] = []
    for base, ext in zip(reversed(chain[1:]), reversed(chain[:-1])):
        bases.insert(0, _describe(base, ext))
        data = {k: v for k, v in data.items() if k not in NOT_INHERITED}
        merged = merge(data, origins, ext)
        if merged.problems:
            raise MethodologyError(sorted(merged.problems, key=_position))
        data, origins = merged.data, dict(merged.origins)
    top = chain[0]
    data.pop("extends", None)
    first = [k for k in ("indexlab", *NOT_INHERITED) if k in data]  # a file names itself first
    data = {k: data[k] for k in [*first, *(k for k in data if k not in first)]}
    return MergedYaml(data, top.source, origins=origins, chain=tuple(bases))


def exclusive_forms(doc: MergedYaml, schema: dict[str, Any]) -> list[Diagnostic]:
    """Keys that exclude each other (``index.group`` and ``index.formula``, ``classes.bands``
    and ``classes.quantiles``), one stated by the extending file and one inherited.

    The schema says so with ``oneOf: [{required: [a]}, {required: [b]}]``; its own message
    ("matches more than one of the allowed forms") would not say that the base holds the
    other form, nor how to drop it.
    """
    found: list[Diagnostic] = []

    def walk(value: Any, sub: Any, path: PathKey) -> None:
        if not isinstance(value, dict) or not isinstance(sub, dict):
            return
        forms = sub.get("oneOf")
        if isinstance(forms, list) and all(
            isinstance(f, dict) and set(f) == {"required"} for f in forms
        ):
            keys = [k for f in forms for k in f["required"] if k in value]
            stated = [k for k in keys if not doc.origin((*path, k)).via]
            inherited = [k for k in keys if doc.origin((*path, k)).via]
            if stated and inherited:
                name = ".".join(str(p) for p in (*path, inherited[0]))
                found.append(
                    Diagnostic(
                        Code.EXTENDS,
                        f"'{stated[0]}' here and the inherited '{name}' "
                        f"({doc.locate_key((*path, inherited[0]))}) exclude each other",
                        doc.locate_key((*path, stated[0])),
                        hint=f"delete the inherited one in this file: '{inherited[0]}: ~'",
                    )
                )
        properties = sub.get("properties", {})
        others = sub.get("additionalProperties")
        for key, item in value.items():
            walk(item, properties.get(key, others), (*path, key))

    walk(doc.data, schema, ())
    return found


def _describe(base: LoadedYaml, ext: LoadedYaml) -> Base:
    d = base.data
    return Base(
        ref=str(ext.data.get("extends")),
        id=str(d.get("id", "")),
        title=str(d.get("title", "")),
        version=d.get("version") if isinstance(d.get("version"), str) else None,
        file=base.source.path,
    )


def _position(d: Diagnostic) -> tuple[str, int, int]:
    loc = d.location
    return (loc.file or "", loc.line or 0, loc.column or 0) if loc else ("", 0, 0)
