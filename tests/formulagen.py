"""Formulas generated from the grammar, placed in a methodology, and an independent
plain-Python evaluator of the same formulas.

Used by ``tests/test_generated_formulas.py`` (hypothesis, seconds) and by
``bench/fuzz_formulas.py`` (100,000 formulas with time and memory limits).

A formula is generated as a small tree (:class:`Node`), well or ill typed, nested, with
extreme constants, by :func:`generate` from a :class:`random.Random`. It is printed fully
parenthesised (:func:`render`), so its meaning never depends on precedence, and
evaluated by :func:`evaluate` on rows of data, from the definitions in docs/formulas.md
and nothing of the engine: a value is a float, a bool (conditions) or None, which is
missing *or undefined* (a division by zero, the logarithm of a value <= 0, an overflow,
a statistic over no value). Undefined values are missing from where they arise:
arithmetic with one is missing, statistics skip it, ``where`` takes only its branch,
``and``/``or`` are Kleene's three-valued connectives.

:func:`place` puts a formula where formulas go (indicator, normalisation formula,
aggregation formula, index, derived output, check, screening rule) and says which
output holds its value. Its inputs are ``optional``, so that data in which an input has
no value in a whole period (a statistic over no value) reaches the formula instead of
being refused before it (that rule of the reader has tests of its own).
"""

from __future__ import annotations

import math
import random
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

Value = float | bool | None
Row = dict[str, float | None]

UNITS = ("a", "b", "c", "d")
PERIODS = (2010, 2014)
#: the spots a formula can take: (name, kind it must have)
SPOTS = (
    ("indicator", "number"),
    ("normalisation", "number"),
    ("aggregation", "number"),
    ("index", "number"),
    ("derived", "number"),
    ("check", "condition"),
    ("screening", "condition"),
)

# -- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One node: `op` and its children; `value` for constants and names."""

    op: str
    children: tuple[Node, ...] = ()
    value: object = None
    #: options of a call (digits of round, ddof of std, q of quantile, period of at)
    option: object = None


NUMBER_CONSTANTS = (
    0.0, 1.0, 2.0, -1.0, 0.5, 3.0, 10.0, 1e-300, 1e300, 1e308, 9.0, 1e16, 123456789.0,
    0.1, 2.5, 1e-7, 1000.0,
)  # fmt: skip
BINARY = ("+", "-", "*", "/", "**")
COMPARE = ("<", "<=", ">", ">=", "==", "!=")
UNARY_FUNCTIONS = ("log", "log10", "exp", "sqrt", "abs")
STATISTICS = ("mean", "sum", "max", "min", "count", "std", "median", "rank", "quantile")


def kind(node: Node) -> str | None:
    """The kind of a well-typed node ("number" or "condition"), None if ill typed."""
    op, ch = node.op, node.children
    kinds = [kind(c) for c in ch]
    if None in kinds:
        return None
    if op in ("num", "name", "stat", "at", "unary_fn", "round", "minmax"):
        want = "number"
        ok = all(k == "number" for k in kinds)
        return want if ok else None
    if op == "bool":
        return "condition"
    if op == "neg" or op in BINARY:
        return "number" if all(k == "number" for k in kinds) else None
    if op == "not":
        return "condition" if kinds == ["condition"] else None
    if op == "compare":
        return "condition" if all(k == "number" for k in kinds) else None
    if op in ("and", "or"):
        return "condition" if all(k == "condition" for k in kinds) else None
    if op in ("where", "ifexp"):
        ok = kinds[0] == "condition" and kinds[1] == kinds[2] == "number"
        return "number" if ok else None
    raise ValueError(op)


def depth(node: Node) -> int:
    return 1 + max((depth(c) for c in node.children), default=0)


def statistics_depth(node: Node) -> int:
    inner = max((statistics_depth(c) for c in node.children), default=0)
    return inner + (node.op == "stat")


def has_constant_part(node: Node) -> bool:
    """Whether an operation has only constants below it (the checker works those out)."""
    if node.op in ("num", "bool", "name"):
        return False
    if not node.children:
        return False
    if all(_constant(c) for c in node.children):
        return True
    return any(has_constant_part(c) for c in node.children)


def _constant(node: Node) -> bool:
    if node.op in ("num", "bool"):
        return True
    if node.op in ("name", "stat", "at"):
        return False
    return all(_constant(c) for c in node.children)


# -- generating ---------------------------------------------------------------------------------


def generate(rng: random.Random, want: str = "number", budget: int = 6, typo: float = 0.1) -> Node:
    """A random formula tree of kind `want`, up to `budget` levels deep; with
    probability `typo` per node, a child of the wrong kind (an ill-typed formula)."""
    if rng.random() < typo:
        want = "condition" if want == "number" else "number"
    if budget <= 1 or rng.random() < 0.25:
        return _leaf(rng, want)
    if want == "condition":
        choice = rng.choice(("compare", "compare", "and", "or", "not", "bool"))
        if choice == "compare":
            n = rng.choice((2, 2, 2, 3))
            ops = tuple(rng.choice(COMPARE) for _ in range(n - 1))
            kids = tuple(generate(rng, "number", budget - 1, typo) for _ in range(n))
            return Node("compare", kids, ops)
        if choice in ("and", "or"):
            kids = tuple(
                generate(rng, "condition", budget - 1, typo) for _ in range(rng.choice((2, 3)))
            )
            return Node(choice, kids)
        if choice == "not":
            return Node("not", (generate(rng, "condition", budget - 1, typo),))
        return _leaf(rng, "condition")
    choice = rng.choice(
        ("bin", "bin", "bin", "neg", "unary_fn", "minmax", "where", "ifexp", "stat", "stat",
         "round", "at")
    )  # fmt: skip
    sub = budget - 1
    if choice == "bin":
        return Node(
            rng.choice(BINARY),
            (generate(rng, "number", sub, typo), generate(rng, "number", sub, typo)),
        )
    if choice == "neg":
        return Node("neg", (generate(rng, "number", sub, typo),))
    if choice == "unary_fn":
        return Node("unary_fn", (generate(rng, "number", sub, typo),), rng.choice(UNARY_FUNCTIONS))
    if choice == "minmax":
        kids = tuple(generate(rng, "number", sub, typo) for _ in range(rng.choice((2, 3))))
        return Node("minmax", kids, rng.choice(("min", "max")))
    if choice in ("where", "ifexp"):
        return Node(
            choice,
            (generate(rng, "condition", sub, typo), generate(rng, "number", sub, typo),
             generate(rng, "number", sub, typo)),
        )  # fmt: skip
    if choice == "stat":
        fn = rng.choice(STATISTICS)
        option: object = None
        if fn == "std":
            option = rng.choice((0, 1))
        elif fn == "quantile":
            option = rng.choice((0.0, 0.25, 0.5, 0.9, 1.0))
        return Node("stat", (generate(rng, "number", sub, typo),), fn, option)
    if choice == "round":
        return Node(
            "round", (generate(rng, "number", sub, typo),), None, rng.choice((0, 1, 2, 3, 6))
        )
    period = rng.choice((2010, 2014, 2012))  # 2012: no such row
    return Node("at", (generate(rng, "number", sub, typo),), None, period)


def _leaf(rng: random.Random, want: str) -> Node:
    if want == "condition":
        return Node("bool", (), rng.random() < 0.5)
    if rng.random() < 0.6:
        return Node("name", (), rng.choice(("v0", "v1", "v2")))
    return Node("num", (), rng.choice(NUMBER_CONSTANTS))


# -- printing -------------------------------------------------------------------------------------


def _number(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def render(node: Node, names: Sequence[str] = ("v0", "v1", "v2")) -> str:
    """The formula text, fully parenthesised; `names` replace v0, v1, v2."""
    op, ch = node.op, node.children

    def r(n: Node) -> str:
        return render(n, names)

    if op == "num":
        text = _number(node.value)
        return f"({text})" if text.startswith("-") else text
    if op == "name":
        return names[int(str(node.value)[1:])]
    if op == "bool":
        return "true" if node.value else "false"
    if op in BINARY:
        return f"({r(ch[0])} {op} {r(ch[1])})"
    if op == "neg":
        return f"(-{r(ch[0])})"
    if op == "not":
        return f"(not {r(ch[0])})"
    if op == "compare":
        parts = [r(ch[0])]
        for o, c in zip(node.value, ch[1:]):  # type: ignore[call-overload]
            parts += [o, r(c)]
        return "(" + " ".join(parts) + ")"
    if op in ("and", "or"):
        return "(" + f" {op} ".join(r(c) for c in ch) + ")"
    if op == "where":
        return f"where({r(ch[0])}, {r(ch[1])}, {r(ch[2])})"
    if op == "ifexp":
        return f"({r(ch[1])} if {r(ch[0])} else {r(ch[2])})"
    if op == "unary_fn":
        return f"{node.value}({r(ch[0])})"
    if op == "minmax":
        return f"{node.value}(" + ", ".join(r(c) for c in ch) + ")"
    if op == "round":
        return f"round({r(ch[0])}, {node.option})"
    if op == "at":
        return f"at({r(ch[0])}, {node.option})"
    if op == "stat":
        fn = str(node.value)
        extra = {"std": f", ddof={node.option}", "quantile": f", q={node.option}"}.get(fn, "")
        return f"{fn}({r(ch[0])}{extra})"
    raise ValueError(op)


# -- the reference evaluator ---------------------------------------------------------------------


def _finite(v: float | None) -> float | None:
    if v is None or isinstance(v, complex) or not math.isfinite(v):
        return None
    return v


def _arith(op: str, a: float, b: float) -> float | None:
    try:
        if op == "+":
            return _finite(a + b)
        if op == "-":
            return _finite(a - b)
        if op == "*":
            return _finite(a * b)
        if op == "/":
            return _finite(a / b)
        if a < 0 and not float(b).is_integer():
            return None
        if b == 0.5:  # the engine takes a power 1/2 as a square root
            return _finite(math.sqrt(a))
        return _finite(a**b)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None


def _round(x: float, digits: int) -> float:
    """docs/formulas.md: the float read as a decimal of 15 significant digits and at most
    12 places (never fewer than `digits`), rounded half up; a float coarser than the
    rounding (from 2**53 / 10**digits on) stays as it is."""
    if abs(x) >= 2.0**53 / 10**digits:
        return x
    exact = Decimal(x)  # the binary value, exactly
    whole_digits = exact.adjusted() + 1 if x else 1  # digits before the point
    places = max(digits, min(12, 15 - max(whole_digits, 0)))
    read = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
    return float(read.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def _unary(fn: str, x: float) -> float | None:
    try:
        if fn == "log":
            return math.log(x) if x > 0 else None
        if fn == "log10":
            return _finite(math.log(x) / math.log(10)) if x > 0 else None
        if fn == "exp":
            return _finite(math.exp(x))
        if fn == "sqrt":
            return math.sqrt(x) if x >= 0 else None
        return abs(x)
    except OverflowError:
        return None


def _ordered_sum(values: Sequence[float]) -> float | None:
    total = 0.0
    for v in values:
        total += v
    return _finite(total)


def _statistic(fn: str, option: object, values: list[float | None]) -> list[float | None]:
    """The statistic of one group's values (in key order), for each row of the group."""
    present = [v for v in values if v is not None]
    n = len(present)
    if fn == "count":
        return [float(n)] * len(values)
    if fn == "rank":
        return [None if v is None else float(1 + sum(1 for p in present if p < v)) for v in values]
    if n == 0:
        return [None] * len(values)
    out: float | None
    if fn == "sum":
        out = _ordered_sum(present)
    elif fn == "mean":
        s = _ordered_sum(present)
        out = None if s is None else _finite(s / n)
    elif fn == "max":
        out = max(present)
    elif fn == "min":
        out = min(present)
    elif fn == "std":
        ddof = int(str(option))
        s = _ordered_sum(present)
        if s is None or n <= ddof:
            out = None
        else:
            mean = s / n
            try:
                squares = [(v - mean) ** 2 for v in present]
            except OverflowError:
                squares = [math.inf]
            ss = _ordered_sum(squares)
            out = None if ss is None else _finite(math.sqrt(ss / (n - ddof)))
    elif fn in ("median", "quantile"):
        q = 0.5 if fn == "median" else float(str(option))
        ordered = sorted(present)
        pos = q * (n - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        if lo == hi:
            out = ordered[lo]
        else:
            out = _finite(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
    else:
        raise ValueError(fn)
    return [out] * len(values)


def evaluate(node: Node, rows: Sequence[Row], keys: Sequence[tuple[str, int]]) -> list[Value]:
    """The value of `node` in every row (rows in key order: `keys` are (unit, period))."""
    op, ch = node.op, node.children
    n = len(rows)
    if op == "num":
        return [float(node.value)] * n  # type: ignore[arg-type]
    if op == "bool":
        return [bool(node.value)] * n
    if op == "name":
        return [r[str(node.value)] for r in rows]
    args = [evaluate(c, rows, keys) for c in ch]
    if op in BINARY:
        return [
            None if a is None or b is None else _arith(op, float(a), float(b))
            for a, b in zip(args[0], args[1])
        ]
    if op == "neg":
        return [None if a is None else -float(a) for a in args[0]]
    if op == "not":
        return [None if a is None else not a for a in args[0]]
    if op == "compare":
        out: list[Value] = []
        for i in range(n):
            parts = [_compare(o, args[k][i], args[k + 1][i]) for k, o in enumerate(node.value)]  # type: ignore[arg-type]
            out.append(_kleene_and(parts))
        return out
    if op == "and":
        return [_kleene_and([a[i] for a in args]) for i in range(n)]
    if op == "or":
        return [_kleene_or([a[i] for a in args]) for i in range(n)]
    if op in ("where", "ifexp"):
        return [None if c is None else (a if c else b) for c, a, b in zip(*args)]
    if op == "unary_fn":
        return [None if a is None else _unary(str(node.value), float(a)) for a in args[0]]
    if op == "minmax":
        pick = min if node.value == "min" else max
        return [
            None if any(a[i] is None for a in args) else pick(float(a[i]) for a in args)  # type: ignore[arg-type]
            for i in range(n)
        ]
    if op == "round":
        return [None if a is None else _round(float(a), int(str(node.option))) for a in args[0]]
    if op == "at":
        where = {k: i for i, k in enumerate(keys)}
        return [
            args[0][where[(u, int(str(node.option)))]]
            if (u, int(str(node.option))) in where
            else None
            for u, _ in keys
        ]
    if op == "stat":
        out = [None] * n
        for period in {p for _, p in keys}:
            idx = [i for i, (_, p) in enumerate(keys) if p == period]
            values = [args[0][i] for i in idx]
            for i, v in zip(idx, _statistic(str(node.value), node.option, values)):  # type: ignore[arg-type]
                out[i] = v
        return out
    raise ValueError(op)


def _compare(op: str, a: Value, b: Value) -> bool | None:
    if a is None or b is None:
        return None
    x, y = float(a), float(b)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y}[op]


def _kleene_and(values: Sequence[Value]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _kleene_or(values: Sequence[Value]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


# -- data and placement -----------------------------------------------------------------------

DATA_VALUES = (
    0.0, 0.0, 1.0, -1.0, 2.0, 2.0, -3.5, 0.25, 1e100, -1e100, 1e-100, 7.0, 7.0, 100.0, None, None,
    1e-7, 123.456,
)  # fmt: skip


def data(rng: random.Random) -> tuple[list[tuple[str, int]], list[Row]]:
    """Rows of the three inputs x, y, z (with zeros, negatives, missing values, ties,
    large and tiny magnitudes), in key order."""
    keys = [(u, p) for u in UNITS for p in PERIODS]
    rows: list[Row] = [{name: rng.choice(DATA_VALUES) for name in ("x", "y", "z")} for _ in keys]
    return keys, rows


def csv_text(keys: Sequence[tuple[str, int]], rows: Sequence[Row]) -> str:
    lines = ["unit,year,x,y,z"]
    for (u, p), r in zip(keys, rows):
        cells = ["" if r[k] is None else repr(r[k]) for k in ("x", "y", "z")]
        lines.append(",".join([u, str(p), *cells]))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Placed:
    """A formula in a methodology: the YAML, where the value is read, the names used."""

    spot: str
    yaml: str
    output: str  # the output column, or "check:<name>"
    names: tuple[str, str, str]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def place(node_text: Callable[[Sequence[str]], str], spot: str) -> Placed:
    """A methodology with the formula (printed with the spot's names) in `spot`."""
    head = textwrap.dedent(
        """\
        indexlab: 1
        id: generated
        title: generated formula
        data: {unit: unit, period: year}
        inputs: {x: {optional: true}, y: {optional: true}, z: {optional: true}}
        """
    )
    identity = "indicators: {A: {formula: x}, B: {formula: y}, C: {formula: z}}\n"
    none = "normalisation: {default: {method: none}}\n"
    if spot == "indicator":
        f = node_text(("x", "y", "z"))
        return Placed(
            spot, head + f"indicators: {{F: {{formula: {_quoted(f)}}}}}\n", "F", ("x", "y", "z")
        )
    if spot == "normalisation":
        f = node_text(("x", "x", "x"))
        body = (
            "indicators: {A: {formula: x}}\n"
            f"normalisation: {{default: {{method: formula, formula: {_quoted(f)}}}}}\n"
            "groups: {G: {members: [A]}}\nindex: {group: G}\n"
        )
        return Placed(spot, head + body, "A.norm", ("x", "x", "x"))
    if spot == "aggregation":
        f = node_text(("A", "B", "C"))
        body = (
            identity + none + "groups: {G: {members: [A, B, C], aggregation: "
            f"{{method: formula, formula: {_quoted(f)}}}}}}}\nindex: {{group: G}}\n"
        )
        return Placed(spot, head + body, "G", ("x", "y", "z"))
    if spot == "index":
        f = node_text(("A", "B", "C"))
        body = identity + none + f"index: {{formula: {_quoted(f)}}}\n"
        return Placed(spot, head + body, "index", ("x", "y", "z"))
    if spot == "derived":
        f = node_text(("x", "y", "z"))
        body = identity + f"derived: {{F: {{formula: {_quoted(f)}}}}}\n"
        return Placed(spot, head + body, "F", ("x", "y", "z"))
    if spot == "check":
        f = node_text(("x", "y", "z"))
        body = identity + f"checks: {{C: {{assert: {_quoted(f)}}}}}\n"
        return Placed(spot, head + body, "check:C", ("x", "y", "z"))
    f = node_text(("x", "y", "z"))
    body = identity + f"screening: {{S: {{rule: {_quoted(f)}}}}}\n"
    return Placed(spot, head + body, "S", ("x", "y", "z"))


def reference(
    node: Node, placed: Placed, keys: Sequence[tuple[str, int]], rows: Sequence[Row]
) -> list[Value]:
    """The plain-Python value of `node` in each row, with the spot's names bound."""
    bound = [{f"v{i}": r[placed.names[i]] for i in range(3)} for r in rows]
    return evaluate(node, bound, keys)


def close(got: object, want: Value, rel: float = 1e-12) -> bool:
    """Equal within `rel` (relative), or both missing; conditions exactly."""
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(got) == bool(want) and isinstance(got, bool) == isinstance(want, bool)
    g, w = float(got), float(want)  # type: ignore[arg-type]
    return g == w or abs(g - w) <= rel * max(abs(g), abs(w))
