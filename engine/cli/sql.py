"""``indexlab sql``: a methodology as one SQL query; and the options that choose an engine.

``indexlab sql M --dialect duckdb|spark|postgres`` prints the query that computes every
output column (and the checks) from an input table, for a reader to read or to run
elsewhere. The engine options (``--engine``, ``--master``, ``--memory-limit``, ...) are
shared by ``indexlab run`` and ``indexlab validate``.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.common import DebugOpt, FormatOpt, OutputFormat, app, guard, say
from engine.diagnostics import Code, Diagnostic, UsageError

if TYPE_CHECKING:
    from engine.backends.sql.engines import EngineOptions

__all__ = [
    "EngineChoice",
    "EngineOpt",
    "MasterOpt",
    "MemoryLimitOpt",
    "SparkConfOpt",
    "TempDirectoryOpt",
    "ThreadsOpt",
    "engine_options",
    "sql",
]


class EngineChoice(enum.StrEnum):
    polars = "polars"
    duckdb = "duckdb"
    spark = "spark"


class DialectChoice(enum.StrEnum):
    duckdb = "duckdb"
    spark = "spark"
    postgres = "postgres"


EngineOpt = Annotated[
    EngineChoice,
    typer.Option(
        "--engine",
        help="Where to compute: polars (in memory, the default), duckdb (embedded, larger "
        "than memory) or spark (local or a cluster; see --master). Needs "
        "pip install 'indexlab[duckdb]' or 'indexlab[spark]'.",
    ),
]
MasterOpt = Annotated[
    str,
    typer.Option("--master", help="Spark master URL: local[N], spark://host:7077, yarn, ..."),
]
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option("--memory-limit", help="DuckDB: memory to use before spilling, e.g. 4GB."),
]
TempDirectoryOpt = Annotated[
    Path | None,
    typer.Option("--temp-directory", help="DuckDB: where to spill data larger than memory."),
]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="DuckDB: threads to use.")]
SparkConfOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--spark-conf",
        help="Spark configuration KEY=VALUE (repeatable), e.g. spark.executor.memory=8g.",
    ),
]


def engine_options(
    master: str = "local[2]",
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
    threads: int | None = None,
    spark_conf: list[str] | None = None,
) -> EngineOptions:
    """The engine options from the command line's (a bad one is a usage error)."""
    from engine.backends.sql.engines import EngineOptions

    pairs = []
    for item in spark_conf or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                [Diagnostic(Code.USAGE, f"--spark-conf {item!r}", expected="KEY=VALUE")]
            )
        pairs.append((key.strip(), value.strip()))
    return EngineOptions(
        memory_limit=memory_limit,
        temp_directory=str(temp_directory) if temp_directory is not None else None,
        threads=threads,
        master=master,
        spark_config=tuple(pairs),
    )


@app.command()
def sql(
    methodology: Annotated[Path, typer.Argument(help="Methodology YAML file.")],
    dialect: Annotated[
        DialectChoice, typer.Option("--dialect", help="The SQL dialect to print.")
    ] = DialectChoice.duckdb,
    table: Annotated[
        str,
        typer.Option(
            "--table",
            help="The input table with one row per unit and period (keys, labels, inputs).",
        ),
    ] = "data",
    detail_table: Annotated[
        str,
        typer.Option(
            "--detail-table",
            help="The input table of detail rows (with data.detail: one row per unit, "
            "period and detail key).",
        ),
    ] = "detail",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the query here.")
    ] = None,
    fmt: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Print a methodology as one SQL query (DuckDB, Spark or PostgreSQL)."""

    def go() -> str:
        from engine import api
        from engine.extras import Extra, require

        require("sqlglot", Extra.SQL, "indexlab sql")
        from engine.backends.sql.query import print_query

        validated = api.validate(methodology)
        return print_query(validated.plan, dialect.value, table, detail_table)

    text = guard(fmt, debug, go)
    if output is None:
        sys.stdout.write(text)
        return
    if output.resolve() == methodology.resolve() or output.is_dir():
        guard(
            fmt,
            debug,
            lambda: _refuse(f"refusing to write the query over '{output}'"),
        )
    output.write_text(text, encoding="utf-8")
    say(f"wrote the {dialect.value} query to {output}")


def _refuse(message: str) -> None:
    raise UsageError([Diagnostic(Code.USAGE, message, hint="choose another output path")])
