"""``indexlab validate``, ``run`` and ``schema``: check a methodology, run it, print the format."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.common import (
    DebugOpt,
    DecimalOpt,
    DelimiterOpt,
    EncodingOpt,
    FormatOpt,
    IdSpacesOpt,
    MissingOpt,
    OutputFormat,
    PlanCacheOpt,
    SheetIndexOpt,
    SheetOpt,
    SkipRowsOpt,
    ThousandsOpt,
    UnicodeMinusOpt,
    app,
    guard,
    imported,
    read_options,
    say,
    show_diagnostics,
)
from engine.cli.sql import (
    EngineChoice,
    EngineOpt,
    MasterOpt,
    MemoryLimitOpt,
    SparkConfOpt,
    TempDirectoryOpt,
    ThreadsOpt,
    engine_options,
)
from engine.diagnostics import Code, Diagnostic, UsageError


class StreamMode(enum.StrEnum):
    """When ``run`` streams (engine.streamrun)."""

    auto = "auto"
    on = "on"
    off = "off"


if TYPE_CHECKING:
    from engine import api, fastrun, streamrun
    from engine.io.read import ReadOptions


@app.command()
def validate(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    plan_cache: PlanCacheOpt = True,
    engine: EngineOpt = EngineChoice.polars,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Check a methodology completely, before any data is read (and that --engine can
    compute it)."""
    from engine import plancache

    if engine != EngineChoice.polars:  # the plan itself is needed: no cached summary
        plan_cache = False
    cached = plancache.validate_summary(methodology) if plan_cache else None
    if cached is not None:  # validated before, unchanged, by this engine: no sympy needed
        line, warnings = cached
        show_diagnostics(warnings, fmt)
        print(line)
        return
    # engine.validation, not engine.api: validating imports neither polars nor the report
    from engine.validation import Validated, validated_line
    from engine.validation import validate as validate_methodology

    imported()

    def check() -> Validated:
        validated = validate_methodology(methodology)
        if engine != EngineChoice.polars:  # what the engine cannot compute, named
            from engine.backends.sql.dialects import dialect
            from engine.backends.sql.support import require_support

            require_support(validated.plan, dialect(engine.value))
        return validated

    validated = guard(fmt, debug, check)
    show_diagnostics(validated.warnings, fmt)
    line = validated_line(methodology, validated)
    print(line)
    if plan_cache:
        plancache.record_validation(methodology, line, validated.warnings)


@app.command()
def run(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    data: Annotated[list[Path], typer.Argument(help="Data files (CSV, Parquet, XLSX, JSON).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write results here; format by extension: .csv, .parquet, .arrow/.ipc/.feather, "
            ".json; .xlsx "
            "writes one workbook: results, detail, checks, warnings, weights, adjustments "
            "and the methodology.",
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Write the rank of every unit over the periods (bump chart): PATH.png or "
            "PATH.svg, or both when PATH has another extension.",
        ),
    ] = None,
    highlight: Annotated[
        list[str] | None,
        typer.Option("--highlight", help="A unit to colour and name in the chart (repeatable)."),
    ] = None,
    top: Annotated[
        int,
        typer.Option("--top", min=0, help="The chart colours the top and bottom N units."),
    ] = 5,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = ".",
    thousands: ThousandsOpt = None,
    encoding: EncodingOpt = "utf-8",
    sheet: SheetOpt = None,
    sheet_index: SheetIndexOpt = None,
    skip_rows: SkipRowsOpt = 0,
    missing: MissingOpt = None,
    id_spaces: IdSpacesOpt = "trim",
    unicode_minus: UnicodeMinusOpt = None,
    detail_output: Annotated[
        Path | None,
        typer.Option(
            "--detail-output",
            help="Also write the detail rows (long form: one row per unit, period and "
            "detail key, with the detail inputs and indicators); format by extension.",
        ),
    ] = None,
    weights_output: Annotated[
        Path | None,
        typer.Option(
            "--weights-output",
            help="Also write the weights: one row per period, group and member with the "
            "weighting, the nominal, data-driven and used weight and the effective weight in "
            "the index; format by extension.",
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print neither the result table nor the rows of failing warning checks: "
            "one line per failing check (and where its rows are), one for the checks that "
            "pass. A failing error check still shows its rows: nothing is written then.",
        ),
    ] = False,
    plan_cache: PlanCacheOpt = True,
    stream: Annotated[
        StreamMode,
        typer.Option(
            "--stream",
            help="Compute on polars' streaming engine in passes and sink the results to -o "
            "(Parquet, CSV, IPC), so memory does not grow with the rows: 'auto' when an "
            "in-memory run would take more than half the memory available, 'on' always, "
            "'off' never. A methodology or data that cannot "
            "stream (docs/engines.md) is computed in memory.",
        ),
    ] = StreamMode.auto,
    engine: EngineOpt = EngineChoice.polars,
    master: MasterOpt = "local[2]",
    memory_limit: MemoryLimitOpt = None,
    temp_directory: TempDirectoryOpt = None,
    threads: ThreadsOpt = None,
    spark_conf: SparkConfOpt = None,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Run a methodology on data: scores, ranks, classes, and the checks' report."""
    from engine import fastrun
    from engine.extras import Extra, require
    from engine.io import write

    protect = [methodology, *data]

    def go() -> api.RunResult | fastrun.CachedResult | streamrun.StreamedRun:
        options = read_options(
            delimiter,
            decimal,
            thousands,
            encoding,
            sheet,
            sheet_index=sheet_index,
            skip_rows=skip_rows,
            missing=missing,
            id_spaces=id_spaces,
            unicode_minus=unicode_minus,
        )
        for target in (output, detail_output, weights_output):
            if target is not None:
                write.check_target(target, protect=protect)
        if chart is not None:
            from engine.report.charts import chart_targets

            chart_targets(chart, protect=protect)
            require("matplotlib", Extra.CHARTS, "--chart")  # before the work, not after
        if output is not None and output.suffix.lower() == ".xlsx":
            require("xlsxwriter", Extra.EXCEL, "writing Excel files")
        if quiet or fmt == OutputFormat.json:  # no bar: rich need not be imported
            return compute(options)
        from engine.report.terminal import progress

        with progress("reading and computing"):
            return compute(options)

    def compute(
        options: ReadOptions,
    ) -> api.RunResult | fastrun.CachedResult | streamrun.StreamedRun:
        if engine != EngineChoice.polars:  # DuckDB or Spark read and compute (engine.engines)
            from engine import api

            chosen = engine_options(master, memory_limit, temp_directory, threads, spark_conf)
            return api.run(
                methodology,
                data,
                options,
                keep_detail=detail_output is not None,
                engine=engine.value,
                engine_options=chosen,
            )
        typed = None
        simple = detail_output is None and weights_output is None and chart is None
        validated = None
        from engine import streamrun

        if simple and streamrun.wanted(stream.value, data, output):
            from engine import api

            validated = api.validate(methodology)
            streamed = streamrun.prepare(validated, data, options)
            if not isinstance(streamed, str):
                return streamed
            say(f"not streamed ({streamed}): computing in memory")
        if plan_cache and simple and (output is None or output.suffix != ".xlsx"):
            # with no table to print, the results go from the query straight to the file,
            # in the pass that computes the report; written when the report allows it
            sink = write.pending_sink(output, protect=protect) if output and quiet else None
            if sink is not None:
                pending.append(sink)
            got = fastrun.run_cached(methodology, data, options, sink=sink)  # no sympy: settled
            if isinstance(got, fastrun.CachedResult):
                return got
            typed = got
            if sink is not None:
                sink.discard()
        from engine import api

        imported()
        validated = validated or api.validate(methodology)
        typed = typed or api.read_data(validated.methodology, data, options)
        result = api.execute(validated, typed, keep_detail=detail_output is not None)
        if plan_cache:
            fastrun.record(methodology, validated, typed, result)
        return result

    def report(result: api.RunResult | fastrun.CachedResult | streamrun.StreamedRun) -> bool:
        show_diagnostics(result.warnings, fmt)
        if result.checks and fmt == OutputFormat.json:
            from engine.report.check_lines import checks_json

            say(checks_json(result.checks))
        elif result.checks and quiet and not result.failed_errors:  # lines only: no rich
            from engine.report.check_lines import print_check_lines

            print_check_lines(result.checks)
        elif result.checks:  # the report prints with rich, imported only then
            from engine.report.terminal import print_checks

            print_checks(result)  # type: ignore[arg-type]
        if result.failed_errors:
            say("error-severity checks failed: nothing written.")
            return False
        from engine.streamrun import StreamedRun

        if isinstance(result, StreamedRun):
            assert output is not None  # streamed only with an output
            result.write(output, protect=protect)
            n = len(result.passes)
            passes = f"{n} pass{'es' if n != 1 else ''}"
            say(f"wrote {result.rows} rows to {output} (streamed, {passes})")
            if not quiet:  # the table of every unit is the written file
                say("a streamed run prints no result table: the results are in the output file")
            return True
        if output is not None:
            result.write(output, protect=protect)
            what = "a workbook of" if output.suffix.lower() == ".xlsx" else ""
            rows = result.rows if isinstance(result, fastrun.CachedResult) else result.frame.height
            say(f"wrote {what} {rows} rows to {output}".replace("  ", " "))
        if chart is not None:
            from engine.report.charts import save_figure

            assert not isinstance(result, fastrun.CachedResult)  # a chart takes the full path
            figure = result.chart(top=top, highlight=highlight or ())
            for path in save_figure(figure, chart, protect=protect):
                say(f"wrote the rank chart to {path}")
        if detail_output is not None:
            if result.detail is None:
                raise UsageError(
                    [
                        Diagnostic(
                            Code.USAGE,
                            "--detail-output: this methodology has no detail data",
                            expected="data.detail and inputs with grain: detail, or a "
                            "benefit-of-the-doubt group (its weights per unit)",
                        )
                    ]
                )
            write.write_table(result.detail, detail_output, protect=protect)
            say(f"wrote {result.detail.height} detail rows to {detail_output}")
        if weights_output is not None:
            import polars as pl

            weights = result.weights if result.weights is not None else pl.DataFrame()
            write.write_table(weights, weights_output, protect=protect)
            say(f"wrote {weights.height} weights to {weights_output}")
        if not quiet:
            from engine.report.terminal import ResultLayout, print_result

            layout = None
            if isinstance(result, fastrun.CachedResult):  # the layout the cache kept
                layout = ResultLayout.from_json(result.layout)
            print_result(result, layout=layout)  # type: ignore[arg-type]
        return True

    pending: list[write.PendingSink] = []  # a results file not yet committed
    try:
        result = guard(fmt, debug, go)
        if not guard(fmt, debug, lambda: report(result)):
            raise typer.Exit(1)
    finally:
        for sink in pending:
            sink.discard()  # nothing written unless the report wrote it


@app.command()
def schema(
    extension: Annotated[
        bool,
        typer.Option(
            "--extension",
            help="Print the schema of an extending file (one with 'extends:'), which "
            "states only what it changes (schema/extension.schema.json).",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of the methodology format."""
    from engine.format.schema import schema_text

    if extension:
        from engine.format.extends_schema import extension_schema_text

        sys.stdout.write(extension_schema_text())
        return
    sys.stdout.write(schema_text())
