"""The ``indexlab`` command: validate, run, schema.

Results go to stdout (or the file given with ``-o``), diagnostics to stderr. Exit codes:
0 ok, 1 bad methodology or data (or a failing error-severity check), 2 usage. A
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from engine.diagnostics import Code, Diagnostic, IndexlabError, UsageError

app = typer.Typer(
    name="indexlab",
    help="Composite indices from YAML methodologies: validate, run and inspect them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback on errors.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Diagnostics as text or JSON.")]


def _err(text: str) -> None:
    sys.stderr.write(text + ("\n" if not text.endswith("\n") else ""))


def _report(diags: tuple[Diagnostic, ...] | list[Diagnostic], fmt: OutputFormat) -> None:
    if not diags:
        return
    if fmt == OutputFormat.json:
        _err(json.dumps([d.as_dict() for d in diags], ensure_ascii=False, indent=2))
    else:
        _err("\n".join(d.render() for d in diags))


def _guard(fmt: OutputFormat, debug: bool, action: Callable[[], T]) -> T:
    """Run `action`; turn our errors into messages and exit codes."""
    try:
        return action()
    except UsageError as err:
        _report(err.diagnostics, fmt)
        raise typer.Exit(2) from None
    except IndexlabError as err:
        if debug:
            raise
        _report(err.diagnostics, fmt)
        if fmt == OutputFormat.text:
            n = err.total
            _err(f"{n} problem{'s' if n != 1 else ''} found.")
        raise typer.Exit(1) from None
    except OSError as err:
        if debug:
            raise
        _err(f"error[{Code.DATA_FILE}]: {err}")
        raise typer.Exit(1) from None
    except Exception as err:  # an engine bug: say so, without a traceback unless asked
        if debug:
            raise
        _err(f"internal error: {type(err).__name__}: {err}\n"
             "This is a bug in indexlab; run again with --debug for the traceback and report it.")
        raise typer.Exit(1) from None


@app.command()
def validate(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Check a methodology completely, before any data is read."""
    from engine import api

    validated = _guard(fmt, debug, lambda: api.validate(methodology))
    _report(validated.warnings, fmt)
    m = validated.methodology
    print(f"{methodology}: ok: '{m.meta.title}': {len(m.inputs)} inputs, {len(m.indicators)} indicators, "
          f"{len(m.groups)} groups, {len(m.checks)} checks")


@app.command()
def run(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Write results here; format by extension: "
                                                     ".csv, .parquet, .xlsx, .json.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
    decimal: Annotated[str, typer.Option(help="Decimal mark in CSV: '.' or ','.")] = ".",
    thousands: Annotated[str | None, typer.Option(help="Thousands separator in CSV, e.g. ' '.")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: the first).")] = None,
    detail_output: Annotated[Path | None, typer.Option(
        "--detail-output", help="Also write the detail rows (long form: one row per unit, period and "
                                "detail key, with the detail inputs and indicators); format by extension.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the result table.")] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Run a methodology on data: scores, ranks, classes, and the checks' report."""
    from engine import api
    from engine.io import read, write
    from engine.report.terminal import print_checks, print_result

    def go() -> api.RunResult:
        try:
            options = read.ReadOptions(delimiter=delimiter, decimal=decimal, thousands=thousands,
                                       encoding=encoding, sheet=sheet)
        except ValueError as err:
            raise UsageError([Diagnostic(Code.USAGE, str(err))]) from None
        for target in (output, detail_output):
            if target is not None:
                write.check_target(target, protect=[methodology, *data])
        return api.run(methodology, data, options, keep_detail=detail_output is not None)

    def report(result: api.RunResult) -> bool:
        _report(result.warnings, fmt)
        print_checks(result, json_format=fmt == OutputFormat.json)
        if result.failed_errors:
            _err("error-severity checks failed: nothing written.")
            return False
        if output is not None:
            write.write_table(result.frame, output, protect=[methodology, *data])
            _err(f"wrote {result.frame.height} rows to {output}")
        if detail_output is not None:
            if result.detail is None:
                raise UsageError([Diagnostic(Code.USAGE, "--detail-output: this methodology has no detail data",
                                             expected="data.detail and inputs with grain: detail")])
            write.write_table(result.detail, detail_output, protect=[methodology, *data])
            _err(f"wrote {result.detail.height} detail rows to {detail_output}")
        if not quiet:
            print_result(result)
        return True

    result = _guard(fmt, debug, go)
    if not _guard(fmt, debug, lambda: report(result)):
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the methodology format."""
    from engine import api

    print(json.dumps(api.schema(), indent=2, ensure_ascii=False))


@app.command()
def compare(
    files: Annotated[list[Path], typer.Argument(
        help="Two or more methodology files (.yaml, .yml), then the data files (CSV, Parquet, XLSX, JSON); "
             "told apart by extension. The first methodology is the reference.")],
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Write the side-by-side table here (unit, period, then per "
                                                     "methodology index_<id>, rank_<id>, class_<id>, and "
                                                     "shift_<id>); format by extension: .csv, .parquet, "
                                                     ".xlsx, .json.")] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Write the rank-shift (bump) chart: to PATH if it ends with .png or .svg, "
                        "otherwise to both PATH.png and PATH.svg.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
    decimal: Annotated[str, typer.Option(help="Decimal mark in CSV: '.' or ','.")] = ".",
    thousands: Annotated[str | None, typer.Option(help="Thousands separator in CSV, e.g. ' '.")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: the first).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the comparison tables.")] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Compare methodologies on the same data: scores, ranks and classes side by side, rank
    shifts, class transitions, Spearman and Kendall agreement, and what differs between them."""
    from engine.analysis.compare import Comparison, print_comparison
    from engine.analysis.compare import compare as compare_methodologies
    from engine.io import read, write
    from engine.report.charts import chart_targets, write_bump_chart

    methodologies = [f for f in files if f.suffix.lower() in (".yaml", ".yml")]
    data = [f for f in files if f not in methodologies]

    def go() -> Comparison:
        unknown = [f for f in data if f.suffix.lower() not in read.SUFFIXES]
        if unknown:
            raise UsageError([Diagnostic(Code.USAGE, f"'{f}' is neither a methodology nor a data file",
                                         expected=".yaml or .yml (methodology); " + ", ".join(read.SUFFIXES)
                                         + " (data)") for f in unknown])
        if len(methodologies) < 2 or not data:
            raise UsageError([Diagnostic(Code.USAGE, f"compare needs two or more methodologies and at least one "
                                         f"data file; got {len(methodologies)} and {len(data)}",
                                         expected="indexlab compare M1.yaml M2.yaml [M3.yaml ...] DATA...")])
        try:
            options = read.ReadOptions(delimiter=delimiter, decimal=decimal, thousands=thousands,
                                       encoding=encoding, sheet=sheet)
        except ValueError as err:
            raise UsageError([Diagnostic(Code.USAGE, str(err))]) from None
        protect = [*methodologies, *data]
        if output is not None:
            write.check_target(output, protect=protect)
        if chart is not None:
            chart_targets(chart, protect=protect)
        return compare_methodologies(methodologies, data, options)

    def report(c: Comparison) -> None:
        _report(c.warnings, fmt)
        if fmt == OutputFormat.text:
            for r in c.results:
                failed = [x for x in r.checks if not x.passed]
                if failed:
                    _err(f"{r.methodology.meta.id}: {len(failed)} of {len(r.checks)} warning checks fail "
                         "(see `indexlab run` for the rows)")
        protect = [*methodologies, *data]
        if output is not None:
            write.write_table(c.table, output, protect=protect)
            _err(f"wrote {c.table.height} rows to {output}")
        if chart is not None:
            for path in write_bump_chart(c, chart, protect=protect):
                _err(f"wrote the rank-shift chart to {path}")
        if not quiet:
            print_comparison(c)

    result = _guard(fmt, debug, go)
    _guard(fmt, debug, lambda: report(result))


@app.command()
def explain(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    unit: Annotated[str, typer.Option("--unit", help="The unit to explain, as written in the data's unit column "
                                                     "(or a label naming one unit).")],
    period: Annotated[str | None, typer.Option("--period", help="The period to explain (default: every period "
                                                                "of the unit, one section each).")] = None,
    detail: Annotated[bool, typer.Option("--detail", help="Also list, row by row, the values of the steps computed "
                                                          "on detail rows (methodologies with data.detail).")] = False,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
    decimal: Annotated[str, typer.Option(help="Decimal mark in CSV: '.' or ','.")] = ".",
    thousands: Annotated[str | None, typer.Option(help="Thousands separator in CSV, e.g. ' '.")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: the first).")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="The explanation (stdout) and diagnostics "
                                                               "(stderr) as text or JSON.")] = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Explain one unit's result: every step from raw inputs to class, each formula with its numbers."""
    from engine import api
    from engine.analysis.explain import Explanation, explain_all, print_explanation
    from engine.io import read

    def go() -> tuple[api.Validated, tuple[Explanation, ...]]:
        try:
            options = read.ReadOptions(delimiter=delimiter, decimal=decimal, thousands=thousands,
                                       encoding=encoding, sheet=sheet)
        except ValueError as err:
            raise UsageError([Diagnostic(Code.USAGE, str(err))]) from None
        validated = api.validate(methodology)
        if detail and not validated.plan.has_detail:
            raise UsageError([Diagnostic(Code.USAGE, "--detail: this methodology has no detail data",
                                         expected="data.detail and inputs with grain: detail")])
        digits = 6 if fmt == OutputFormat.text else None  # JSON keeps full precision
        return validated, explain_all(validated, data, unit, period, options=options, detail=detail,
                                      digits=digits)

    validated, explanations = _guard(fmt, debug, go)
    _report(validated.warnings, fmt)
    if fmt == OutputFormat.json:
        print(json.dumps([e.as_dict() for e in explanations], ensure_ascii=False, indent=2, default=str))
        return
    for e in explanations:
        print_explanation(e, validated.methodology.meta.title)


@app.command()
def sensitivity(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file with an 'uncertainty' section.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the results: OUT.json holds every table; with .csv, .parquet or .xlsx "
                               "the tables go to OUT.ranks.csv, OUT.classes.csv, OUT.sobol.csv, "
                               "OUT.derivatives.csv and OUT.tipping.csv.")] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Rank intervals and Sobol indices: PATH.png or PATH.svg, or both when PATH has "
                        "another extension.")] = None,
    replications: Annotated[int | None, typer.Option(help="N (overrides the design).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the design).")] = None,
    sobol: Annotated[bool, typer.Option("--sobol/--no-sobol", help="Sobol indices (N (d + 2) runs) or "
                                                                  "only the rank distribution (N runs).")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the tables.")] = False,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Monte Carlo uncertainty analysis, Sobol indices and analytic sensitivities."""
    from rich.progress import Progress

    from engine import api
    from engine.analysis import derivatives
    from engine.analysis import sensitivity as sa
    from engine.io import write
    from engine.report.terminal import print_sensitivity

    def go() -> tuple[sa.Sensitivity, derivatives.Analytic, api.RunResult]:
        for target in (output, chart):
            if target is not None and target.suffix.lower() not in (".png", ".svg") or target == output:
                if target is not None:
                    write.check_target(target if target.suffix else target.with_suffix(".json"),
                                       protect=[methodology, *data])
        validated = api.validate(methodology)
        typed = api.read_data(validated.methodology, data)
        nominal = api.execute(validated, typed)
        with Progress(transient=True, disable=quiet or fmt == OutputFormat.json) as progress:
            task = progress.add_task("replications", total=None)
            result = sa.analyse(validated.methodology, typed.units, nominal.frame, replications=replications,
                                seed=seed, sobol=sobol,
                                progress=lambda done, total: progress.update(task, completed=done, total=total))
        analytic = derivatives.analyse(validated.methodology, nominal.frame)
        return result, analytic, nominal

    result, analytic, nominal = _guard(fmt, debug, go)
    _report(nominal.warnings, fmt)
    tables = {"ranks": result.ranks, "classes": result.classes, "sobol": result.sobol,
              "derivatives": analytic.derivatives, "tipping": analytic.tipping}

    def save() -> None:
        protect = [methodology, *data]
        if output is not None:
            if output.suffix.lower() == ".json":
                payload = {k: v.to_dicts() for k, v in tables.items()} | {
                    "factors": list(result.factors), "replications": result.replications, "runs": result.runs,
                    "note": analytic.note}
                target = write.check_target(output, protect=protect)
                target.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
            else:
                for name, table in tables.items():
                    if table.height:
                        write.write_table(table, output.with_name(f"{output.stem}.{name}{output.suffix}"),
                                          protect=protect)
        if chart is not None:
            for path in sa.write_charts(result, nominal.methodology, chart):
                _err(f"wrote {path}")

    _guard(fmt, debug, save)
    if not quiet:
        print_sensitivity(result, analytic, nominal.methodology)


def main() -> None:
    app()
