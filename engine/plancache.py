"""A cache of compiled run plans: a repeated run of an unchanged methodology skips sympy.

Validating a methodology and compiling its plan needs sympy, whose import alone costs
about a third of a second. What a run needs afterwards is plain data and polars
expressions, so after a run the compiled form is written down as JSON:

* the data's shape (unit, period, keys, labels, missing tokens, inputs and their
  bounds) that reading and the input checks use;
* the query, recorded while :func:`engine.backends.polars.execute.build_query` builds
  it (every ``with_columns``, join, group-by and sort, in order, with its expressions
  in polars' JSON serialisation), once per shape of data (one period or several; unit
  rows, detail rows or both), with the audit and check aggregates collected with it;
* what the report needs: the checks (name, severity, formula, the expressions of both
  sides), constant effective weights, the validation warnings and summary line.

:mod:`engine.fastrun` replays it. Whatever the fast path cannot settle on its own (an
audit flag, a value missing although its inputs are present, a unit without an index,
data-driven weights, a failing error check) sends the run down the full path, which
names the cause as before: the cache only ever serves clean runs.

**Never stale.** The key is a SHA-256 of the methodology file's bytes, polars' version,
the format of this file and a fingerprint of the engine (path, size and modification
time of every source file of the ``engine`` package and of the schema). A methodology
that reads other files (``extends``) is not cached.

**Never executed.** Entries are JSON, never pickle. polars deserialises a Python
function inside an expression with pickle, so an entry is rejected unless its
expressions consist only of the node types this engine writes (no Python UDFs). The
directory is private to the user (``0700``); entries are written atomically.

Disable it with ``INDEXLAB_PLAN_CACHE=off`` (or ``--no-plan-cache``); set
``INDEXLAB_PLAN_CACHE=/some/dir`` to move it (default: ``$XDG_CACHE_HOME/indexlab/plans``
or ``~/.cache/indexlab/plans``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.diagnostics import Code, Diagnostic, Location, Severity

if TYPE_CHECKING:  # polars is imported when an expression is (de)serialised, not to validate
    import polars as pl

__all__ = [
    "ENV",
    "FORMAT",
    "Entry",
    "Recorder",
    "cache_dir",
    "entry_path",
    "expr_from_json",
    "expr_to_json",
    "load",
    "record_validation",
    "replay",
    "validate_summary",
    "write_entry",
]

ENV = "INDEXLAB_PLAN_CACHE"
FORMAT = 1
_OFF = {"0", "off", "no", "false", "disable", "disabled"}
#: node names that carry Python objects in polars' serialisation (deserialised by pickle)
#: words of a serialised expression holding a Python object (looked for in the lowered
#: text: a case-insensitive regex alternation took 8 ms on a 100 kB entry)
_FORBIDDEN = ("python", "pickle", "udf", "anonymous", "opaque", "plugin")
_ENGINE_ROOT = Path(__file__).resolve().parent


# -- where entries live --------------------------------------------------------------------


def cache_dir() -> Path | None:
    """The cache directory, or None when the cache is disabled."""
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() in _OFF:
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "indexlab" / "plans"


def _engine_fingerprint() -> str:
    """Every source file of the engine and the schema: path, size, modification time."""
    h = hashlib.sha256()
    stack = [_ENGINE_ROOT]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for e in sorted(entries, key=lambda e: e.name):
                if e.is_dir() and e.name != "__pycache__":
                    stack.append(Path(e.path))
                elif e.name.endswith((".py", ".json")):
                    st = e.stat()
                    h.update(f"{e.path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _polars_version() -> str:
    """polars' version without importing polars (``indexlab validate`` does not need it):
    the names of its distributions' metadata folders (``polars-2.1.0.dist-info`` and its
    compiled runtime's), found beside the package; importlib.metadata when they are not."""
    from importlib.util import find_spec

    spec = find_spec("polars")
    if spec is not None and spec.origin is not None:
        site = Path(spec.origin).parent.parent
        try:
            with os.scandir(site) as entries:
                found = sorted(
                    e.name
                    for e in entries
                    if e.name.startswith(("polars-", "polars_runtime"))
                    and e.name.endswith(".dist-info")
                )
        except OSError:
            found = []
        if found:
            return ",".join(found)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("polars")
    except PackageNotFoundError:
        import polars

        return polars.__version__


def entry_path(methodology: Path) -> tuple[Path, str] | None:
    """Where the entry of `methodology` lives and its key; None when not cacheable."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        content = methodology.read_bytes()
    except OSError:
        return None
    if re.search(rb"^\s*extends\s*:", content, re.MULTILINE):
        return None  # reads other files: their changes would not change the key
    h = hashlib.sha256()
    for part in (content, _polars_version().encode(), str(FORMAT).encode()):
        h.update(part + b"\0")
    h.update(_engine_fingerprint().encode())
    key = h.hexdigest()
    return folder / f"{key}.json", key


# -- the entry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One methodology's compiled form (see the module docstring); ``data`` is the JSON."""

    path: Path
    key: str
    data: dict[str, Any]

    def variant(self, name: str) -> dict[str, Any] | None:
        found = self.data.get("variants", {}).get(name)
        return found if isinstance(found, dict) else None


def _unsafe(text: str) -> bool:
    """Whether `text` may hold a serialised Python object (see _FORBIDDEN)."""
    lowered = text.lower()
    return any(word in lowered for word in _FORBIDDEN)


def load(methodology: Path) -> Entry | None:
    """The entry of `methodology`, or None (no entry, disabled, unreadable, or unsafe)."""
    where = entry_path(methodology)
    if where is None:
        return None
    path, key = where
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    if _unsafe(text):
        return None  # an expression with a Python object: never deserialised
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    return Entry(path, key, data)


def write_entry(methodology: Path, update: dict[str, Any]) -> None:
    """Merge `update` into the entry of `methodology` (variants are merged one by one)."""
    where = entry_path(methodology)
    if where is None:
        return
    path, key = where
    current = load(methodology)
    data: dict[str, Any] = dict(current.data) if current is not None else {}
    variants = dict(data.get("variants", {}))
    variants.update(update.pop("variants", {}))
    data.update(update)
    data.update({"format": FORMAT, "key": key, "variants": variants})
    text = json.dumps(data, ensure_ascii=False)
    if _unsafe(text):
        return  # never write what load() would refuse
    import tempfile  # only when an entry is written

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError:
        return  # a cache that cannot be written is no cache, not an error


# -- expressions and diagnostics as JSON ----------------------------------------------------


#: a float literal in polars' JSON; polars 2.1 parses such numbers back up to 1 ULP off
#: (11.225243392518447 reads as 11.225243392518449), so they are written as text cast to
#: Float64, which polars parses exactly (and folds to the same literal before running)
_FLOAT_LITERAL = re.compile(
    r'\{"Literal":\{(?:"Scalar":\{"Float64"|"Dyn":\{"Float"):(-?[0-9][0-9.eE+-]*)\}\}\}'
)


def _exact_float(match: re.Match[str]) -> str:
    number = match.group(1)
    return (
        '{"Cast":{"expr":{"Literal":{"Scalar":{"String":"' + number + '"}}},'
        '"dtype":{"Literal":"Float64"},"options":"Strict"}}'
    )


def expr_to_json(expr: pl.Expr) -> str:
    """polars' JSON serialisation of `expr`, with float literals kept exact."""
    return _FLOAT_LITERAL.sub(_exact_float, expr.meta.serialize(format="json"))


def expr_from_json(text: str) -> pl.Expr:
    import polars as pl

    return pl.Expr.deserialize(io.StringIO(text), format="json")


def diagnostic_to_json(d: Diagnostic) -> dict[str, Any]:
    loc = d.location
    return {
        "code": str(d.code),
        "message": d.message,
        "location": None
        if loc is None
        else [loc.file, loc.line, loc.column, loc.source_line, loc.length],
        "expected": d.expected,
        "hint": d.hint,
        "severity": str(d.severity),
    }


def diagnostic_from_json(data: dict[str, Any]) -> Diagnostic:
    loc = data.get("location")
    location = None
    if loc is not None:
        file, line, column, source, length = loc
        location = Location(file, line, column, source, length)
    return Diagnostic(
        Code(data["code"]),
        str(data["message"]),
        location,
        data.get("expected"),
        data.get("hint"),
        Severity(data["severity"]),
    )


# -- recording the query ---------------------------------------------------------------------


class Recorder:
    """Stands in for a LazyFrame while the query is built, writing down every call.

    Supports what :func:`engine.backends.polars.execute.build_query` calls:
    ``with_columns``, ``join``, ``group_by(...).agg``, ``sort`` and ``pipe`` of a
    procedure call (:mod:`engine.backends.polars.procedures`, recorded as its data). Each
    call becomes an operation on numbered registers; :func:`replay` performs them on real
    frames.
    """

    def __init__(self, ops: list[dict[str, Any]], register: int, counter: list[int]) -> None:
        self._ops, self.register, self._counter = ops, register, counter

    def _next(self, op: dict[str, Any]) -> Recorder:
        self._counter[0] += 1
        out = self._counter[0]
        self._ops.append({**op, "in": self.register, "out": out})
        return Recorder(self._ops, out, self._counter)

    def with_columns(self, *exprs: pl.Expr | Sequence[pl.Expr]) -> Recorder:
        import polars as pl

        flat: list[pl.Expr] = []
        for e in exprs:
            flat.extend([e] if isinstance(e, pl.Expr) else e)
        return self._next({"op": "with_columns", "exprs": [expr_to_json(e) for e in flat]})

    def join(self, other: Recorder, on: Sequence[str], how: str, **options: Any) -> Recorder:
        return self._next(
            {"op": "join", "other": other.register, "on": list(on), "how": how, "options": options}
        )

    def sort(self, by: Sequence[str]) -> Recorder:
        return self._next({"op": "sort", "by": list(by)})

    def group_by(self, keys: Sequence[str]) -> _GroupRecorder:
        return _GroupRecorder(self, list(keys))

    def pipe(self, function: Callable[..., Any], call: Any) -> Recorder:
        from engine.backends.polars import procedures

        if function is not procedures.apply:
            raise TypeError(f"only procedure calls are recorded, not {function!r}")
        return self._next({"op": "procedure", "call": call.to_json()})


class _GroupRecorder:
    def __init__(self, frame: Recorder, keys: list[str]) -> None:
        self._frame, self._keys = frame, keys

    def agg(self, exprs: Sequence[pl.Expr]) -> Recorder:
        return self._frame._next(
            {"op": "group_agg", "keys": self._keys, "exprs": [expr_to_json(e) for e in exprs]}
        )


def replay(
    ops: Sequence[dict[str, Any]], inputs: dict[int, pl.LazyFrame]
) -> dict[int, pl.LazyFrame]:
    """Perform recorded operations; registers 0 and 1 are the unit and detail inputs."""

    regs = dict(inputs)
    for op in ops:
        lf = regs[int(op["in"])]
        kind = op["op"]
        if kind == "with_columns":
            lf = lf.with_columns([expr_from_json(e) for e in op["exprs"]])
        elif kind == "join":
            lf = lf.join(regs[int(op["other"])], on=op["on"], how=op["how"], **op["options"])
        elif kind == "sort":
            lf = lf.sort(op["by"])
        elif kind == "group_agg":
            lf = lf.group_by(op["keys"]).agg([expr_from_json(e) for e in op["exprs"]])
        elif kind == "procedure":
            from engine.backends.polars import procedures

            lf = procedures.apply(lf, procedures.Call.from_json(op["call"]))
        else:
            raise ValueError(f"unknown recorded operation {kind!r}")
        regs[int(op["out"])] = lf
    return regs


# -- what `indexlab validate` prints -------------------------------------------------------


def validate_summary(methodology: Path) -> tuple[str, tuple[Diagnostic, ...]] | None:
    """The line and warnings ``indexlab validate`` printed for this unchanged methodology
    with this engine, or None."""
    entry = load(methodology)
    found = entry.data.get("validate") if entry is not None else None
    if not isinstance(found, list) or len(found) != 2:
        return None
    line, warnings = found
    return str(line), tuple(diagnostic_from_json(w) for w in warnings)


def record_validation(methodology: Path, line: str, warnings: Sequence[Diagnostic]) -> None:
    """Write down what ``indexlab validate`` prints for this methodology."""
    write_entry(methodology, {"validate": [line, [diagnostic_to_json(w) for w in warnings]]})
