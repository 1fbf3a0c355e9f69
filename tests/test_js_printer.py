"""The JavaScript printer against the polars backend: the same IR, the same data, the same
numbers, evaluated in Chromium (the browser the reports are for).

Every case of tests/data/js/ (with units.csv) and the project's own methodologies is run
by the engine; then every unit-level step, the classes and the screening rules are
printed as one JavaScript function and run in the browser on the engine's inputs. Each
computed column must equal the engine's bit for bit, except a column that went through
``log``, ``exp`` or a power other than a whole 1-9 (or reads one): those depend on the
maths library (V8's against the C library polars calls) and must agree to 1e-13.
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sympy

from engine import api, runner
from engine.backends.js.printer import JsContext, JsPrinter, JsPrintError
from engine.backends.js.program import print_program, unit_steps
from engine.backends.polars.compile import round_decimal
from engine.formula import ir
from engine.plan import Plan, build_plan

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "js"
EX = ROOT / "examples"
METHODOLOGIES = [
    *((p.name, p, [CASES / "units.csv"]) for p in sorted(CASES.glob("*.yaml"))),
    (
        "kireeva",
        ROOT / "methodologies" / "kireeva.yaml",
        [EX / "kazakhstan" / "regions.csv", EX / "kazakhstan" / "it_share_table7.csv"],
    ),
    ("hdi", ROOT / "methodologies" / "undp-hdi.yaml", [EX / "undp-hdi" / "input.csv"]),
    ("asem", EX / "coinr-asem" / "asem.yaml", [EX / "coinr-asem" / "asem.csv"]),
    ("guide", EX / "guide" / "guide.yaml", [EX / "guide" / "towns.csv"]),
]
LIBM_TOLERANCE = 1e-13


def _libm(expr: sympy.Basic) -> bool:
    """Whether `expr` calls the maths library (log, exp, pow other than x*x*...*x)."""
    if isinstance(expr, sympy.log | sympy.exp):
        return not expr.args[0].is_Number
    if isinstance(expr, sympy.Pow):
        e = expr.exp
        whole = e.is_Number and float(e).is_integer() and 1 <= float(e) <= 9
        if not (whole or e == sympy.Rational(1, 2) or e == -1):
            return True
    return any(_libm(a) for a in expr.args if isinstance(a, sympy.Basic))


def inexact(plan: Plan) -> set[str]:
    """Columns whose value goes through the maths library, directly or through others."""
    out: set[str] = set()
    for stage in plan.stages:
        for s in stage:
            if _libm(s.expr) or ir.free_names(s.expr) & out:
                out.add(s.column)
    for s in plan.screening:
        if ir.free_names(s.expr) & out:
            out.add(s.column)
    if "index" in out:
        out |= {"rank", "class", "class_group"}
    return out


def engine_run(path: Path, data: list[Path]) -> tuple[Plan, pl.DataFrame, pl.DataFrame, int]:
    """The plan that ran, every computed column, the inputs (both in key order), periods."""
    validated = api.validate(path)
    typed = api.read_data(validated.methodology, data)
    plan = validated.plan
    if any(g.weighting == "pca" for g in plan.methodology.groups):  # the estimated weights
        plan = build_plan(api.execute(validated, typed).methodology)
    keys = list(plan.methodology.layout.keys)
    frame = runner.compute(plan, typed)[0].sort(keys)
    assert typed.units is not None
    return plan, frame, typed.units.sort(keys), runner.count_periods(plan.methodology, typed)


def compare_columns(
    got: dict[str, list[Any]], frame: pl.DataFrame, columns: tuple[str, ...], loose: set[str]
) -> tuple[int, float]:
    """Assert every column agrees; return the values compared and the largest relative
    difference of the loose ones."""
    compared, worst = 0, 0.0
    for c in columns:
        want = frame[c].to_list()
        for k, (a, b) in enumerate(zip(got[c], want, strict=True)):
            compared += 1
            if b is None or isinstance(b, str | bool):
                assert a == b, (c, k, a, b)
                continue
            assert a is not None, (c, k, a, b)
            if c in loose:
                rel = abs(a - b) / max(abs(b), 1e-300)
                worst = max(worst, rel)
                assert rel <= LIBM_TOLERANCE, (c, k, a, b)
            else:
                assert float(a) == float(b), (c, k, a, b)
    return compared, worst


@pytest.mark.parametrize(("name", "path", "data"), METHODOLOGIES, ids=[m[0] for m in METHODOLOGIES])
def test_every_step_equals_the_polars_backend(
    run_js: Any, name: str, path: Path, data: list[Path]
) -> None:
    plan, frame, inputs, periods = engine_run(path, data)
    # a procedure (the winsorisation's bounds) is computed by the engine, never printed: the
    # page receives its values as data, as it receives the inputs
    steps = unit_steps(plan, checks=True)
    printed = [s for s in steps if not isinstance(s.expr, ir.Procedure)]
    given = {s.column for s in steps} - {s.column for s in printed}
    program = print_program(plan, printed, periods=periods)
    columns = {c: (frame if c in given else inputs)[c].to_list() for c in program.reads}
    got = run_js(program.source, columns, inputs.height, {})
    compared, _ = compare_columns(got, frame, program.writes, inexact(plan))
    assert compared == inputs.height * len(program.writes)


def test_the_cases_use_every_node_the_printer_knows() -> None:
    used: set[str] = set()
    knows = {name[len("_print_") :] for name in dir(JsPrinter) if name.startswith("_print_")}

    def walk(e: sympy.Basic) -> None:
        # the rule the printer dispatches to: the first class of the node's MRO it knows
        # (a formula's 'and' is ir.AllOf, printed by _print_And)
        names = [c.__name__ for c in type(e).__mro__]
        used.update((names[0], next((n for n in names if n in knows), names[0])))
        for a in e.args:
            if isinstance(a, sympy.Basic):
                walk(a)

    for _, path, data in METHODOLOGIES[:4]:
        validated = api.validate(path)
        plan = build_plan(
            api.execute(validated, api.read_data(validated.methodology, data)).methodology
        )
        for s in unit_steps(plan, checks=True) + list(plan.screening):
            walk(s.expr)
    statistics = {cls.__name__ for cls in ir.STATISTICS.values()}
    # abstract bases and sympy's number, relation and boolean families are matched by subclass
    expected = (knows - {"Basic", "Stat", "Number", "Relational", "BooleanFalse"}) | statistics
    assert not expected - used, expected - used


# -- the runtime against polars ----------------------------------------------------------


def test_round_matches_polars_decimal_rounding(js_page: Any) -> None:
    rng = random.Random(1)
    values = [rng.uniform(-1000, 1000) for _ in range(3000)]
    values += [k / 8 + j for k in range(-40, 40) for j in (0.0, 1e-13)]  # ties in binary
    values += [2.675, 1.005, -2.675, 0.5, 1.5, 2.5, -0.5, 1e-12, 123456.0005]
    # large values with ties (61728394.5 once rounded down), near and beyond 2**53 units
    values += [61728394.5, -123456784.5, 4503599627370495.5, 1e15 + 0.5, 2.0**52, 1e300]
    values += [rng.randint(-(10**12), 10**12) / 2 / 10 ** rng.randint(0, 6) for _ in range(2000)]
    for digits in (0, 1, 2, 3, 6, 12):
        for mode, polars_mode in (
            ("half_up", "half_away_from_zero"),
            ("half_even", "half_to_even"),
        ):
            want = (
                pl.DataFrame({"x": values})
                .select(round_decimal(pl.col("x"), digits, polars_mode))["x"]
                .to_list()
            )
            got = js_page.evaluate(
                "([xs, d, m]) => xs.map((x) => R.round(x, d, m))", [values, digits, mode]
            )
            assert got == want, (digits, mode)


def test_exact_weight_sums_and_shares(js_page: Any) -> None:
    rng = random.Random(2)
    sets = [["0.1", "0.2"], ["1", "1", "1"], ["0.333", "0.333", "0.334"], ["2.5", "0", "7"]]
    sets += [
        [f"{rng.randint(0, 500) / 10 ** rng.randint(0, 4)}" for _ in range(rng.randint(1, 6))]
        for _ in range(300)
    ]
    sets = [s for s in sets if sum(Fraction(t) for t in s) > 0]
    got = js_page.evaluate("(sets) => sets.map((s) => R.weightSet(s))", sets)
    for texts, w in zip(sets, got, strict=True):
        exact = [Fraction(t) for t in texts]
        total = sum(exact, Fraction(0))
        assert w["weights"] == [float(x) for x in exact]
        assert w["total"] == float(total)
        assert w["shares"] == [float(x / total) for x in exact]


def test_polars_fused_multiply_add_rounds_twice(js_page: Any) -> None:
    # polars' optimizer rewrites x * y + z as "fma", but its kernel rounds the product and
    # the sum apart: the page's plain arithmetic is what the engine computes
    rng = random.Random(6)
    triples = [(rng.uniform(-9, 9), rng.uniform(-9, 9), rng.uniform(-99, 99)) for _ in range(3000)]
    frame = pl.DataFrame({k: [t[j] for t in triples] for j, k in enumerate("xyz")})
    assert "fma" in frame.lazy().select(pl.col("x") * pl.col("y") + pl.col("z")).explain()
    polars = frame.select(pl.col("x") * pl.col("y") + pl.col("z"))["x"].to_list()
    page = js_page.evaluate("(ts) => ts.map(([x, y, z]) => R.add(R.mul(x, y), z))", triples)
    assert [float(v) for v in page] == polars
    assert polars != [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in triples]


def test_ratio_rounds_once_to_nearest(js_page: Any) -> None:
    rng = random.Random(3)
    pairs = [
        (rng.randint(1, 10 ** rng.randint(1, 30)), rng.randint(1, 10 ** rng.randint(1, 30)))
        for _ in range(2000)
    ]
    pairs += [(1, 3), (2, 3), (1, 10), (10**22 + 1, 3), (2**53 + 1, 1), (2**54 + 2, 4)]
    got = js_page.evaluate(
        "(ps) => ps.map(([a, b]) => R.ratio(BigInt(a), BigInt(b)))",
        [[str(a), str(b)] for a, b in pairs],
    )
    # Playwright hands whole-valued doubles back as Python ints
    assert [float(v) for v in got] == [float(Fraction(a, b)) for a, b in pairs]


@pytest.mark.parametrize("ties", ["min", "max", "dense", "average"])
@pytest.mark.parametrize("descending", [True, False])
def test_ranks_match_polars(js_page: Any, ties: str, descending: bool) -> None:
    rng = random.Random(4)
    x = [None if rng.random() < 0.1 else float(rng.randint(0, 12)) for _ in range(60)]
    want = pl.Series(x).rank(method=ties, descending=descending).cast(pl.Float64).to_list()  # type: ignore[arg-type]
    got = js_page.evaluate(
        "([x, d, t]) => R.rank(x, R.groupsOf({}, x.length, []), d, t)", [x, descending, ties]
    )
    assert got == want


def test_quantiles_and_medians_match_polars(js_page: Any) -> None:
    rng = random.Random(5)
    for _ in range(200):
        x = [rng.uniform(-5, 5) for _ in range(rng.randint(1, 15))]
        q = rng.choice([0.5, 0.15, 0.25, 1 / 3, 0.95, 0.0, 1.0])
        want = [pl.Series(x).quantile(q, interpolation="linear"), pl.Series(x).median()]
        got = js_page.evaluate(
            "([x, q]) => { const G = R.groupsOf({}, x.length, []); "
            "return [R.stat('quantile', x, G, q)[0], R.stat('median', x, G)[0]]; }",
            [x, q],
        )
        assert got == want


# -- what the printer refuses ----------------------------------------------------------


def test_a_node_without_a_rule_is_refused() -> None:
    printer = JsPrinter(JsContext("unit", "year", ("unit", "year")))
    with pytest.raises(JsPrintError, match="no JavaScript rule for sin"):
        printer.row(sympy.sin(sympy.Symbol("x")))
    with pytest.raises(JsPrintError, match="non-finite"):
        printer.row(sympy.Float("inf"))


def test_steps_on_detail_rows_are_refused_with_their_name() -> None:
    path = ROOT / "examples" / "germany-specialisation" / "specialisation.yaml"
    plan = api.validate(path).plan
    detail = [s for stage in plan.detail for s in stage]
    assert detail
    with pytest.raises(JsPrintError, match="detail rows"):
        print_program(plan, detail)


def test_unprintable_step_names_the_methodology_part() -> None:
    plan = api.validate(ROOT / "methodologies" / "kireeva.yaml").plan
    step = next(s for s in unit_steps(plan) if s.column == "RIS")
    broken = type(step)(
        step.column, sympy.sin(sympy.Symbol("SD.norm")), step.kind, step.name, step.formula
    )
    with pytest.raises(JsPrintError, match=r"group 'RIS'.*no JavaScript rule for sin"):
        print_program(plan, [broken])


def test_division_by_a_single_value_follows_polars() -> None:
    x, n = sympy.Symbol("x"), sympy.Symbol("x.n")
    expr = sympy.Mul(x, sympy.Pow(n, -1, evaluate=False), evaluate=False)
    # x.n held as one value for all rows (a count over the only period): polars divides
    # by multiplying with its reciprocal; a full column: an IEEE division
    scalar = JsContext("u", "year", ("u", "year"), uniform=frozenset({"x.n"}))
    assert JsPrinter(scalar).row(expr) == 'R.mul(C["x"][i], R.div(1.0, C["x.n"][i]))'
    assert (
        JsPrinter(JsContext("u", "year", ("u", "year"))).row(expr)
        == 'R.div(C["x"][i], C["x.n"][i])'
    )
    count = ir.stat(ir.ColCount, x, ("year",))
    one_period = JsPrinter(JsContext("u", "year", ("u", "year"), single_group=True))
    several = JsPrinter(JsContext("u", "year", ("u", "year"), single_group=False))
    assert one_period.uniform(count) and not several.uniform(count)
    assert not one_period.uniform(ir.stat(ir.ColSum, x, ("year",)))  # an ordered window


def test_division_by_a_constant_follows_polars() -> None:
    x = sympy.Symbol("x")
    expr = sympy.Mul(x, sympy.Pow(sympy.Integer(3), -1, evaluate=False), evaluate=False)
    several = JsPrinter(JsContext("u", "year", ("u", "year"), single_group=False)).row(expr)
    one = JsPrinter(JsContext("u", "year", ("u", "year"), single_group=True)).row(expr)
    # polars would multiply by the reciprocal of a scalar; the engine forces an IEEE
    # division by a constant with any number of periods (compile_arithmetic._divide)
    assert several == one == 'R.div(C["x"][i], 3.0)'
