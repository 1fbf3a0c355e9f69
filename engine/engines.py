"""Where a methodology runs: polars (the default), DuckDB or Spark. The one place that
chooses the engine.

polars runs the plan as one lazy query (:mod:`engine.runner`). DuckDB and Spark run the
same plan printed as SQL (:mod:`engine.backends.sql`), reading CSV and Parquet files,
folders and globs themselves, and give the same result: the same columns and rows, the
same checks, warnings and audit. The SQL engines are imported only when chosen, so the
polars path starts as fast as before.

Data for a SQL engine is paths (read by the engine), in-memory tables (handed to it), a
DuckDB relation (DuckDB runs on the relation's own connection) or a Spark DataFrame
(Spark runs on its session).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.diagnostics import Code, Diagnostic, UsageError

if TYPE_CHECKING:
    from engine.backends.sql.engines import EngineOptions
    from engine.io.read import ReadOptions
    from engine.plan import Plan
    from engine.runner import Computed

__all__ = ["Engine", "Outcome", "engine_of", "run_on"]


class Engine(enum.StrEnum):
    POLARS = "polars"
    DUCKDB = "duckdb"
    SPARK = "spark"


def _kind(data: object) -> Engine | None:
    """The engine a table object belongs to (a DuckDB relation, a Spark DataFrame)."""
    module = type(data).__module__.split(".")[0]
    name = type(data).__name__
    if module in ("duckdb", "_duckdb") and name == "DuckDBPyRelation":
        return Engine.DUCKDB
    if module == "pyspark" and name == "DataFrame":
        return Engine.SPARK
    return None


def engine_of(data: object, engine: str | Engine | None) -> Engine:
    """The engine to run on: the one named, or the one the data belongs to, or polars."""
    native = _kind(data)
    if engine is None:
        return native or Engine.POLARS
    try:
        chosen = Engine(engine)
    except ValueError:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"unknown engine '{engine}'",
                    expected=", ".join(e.value for e in Engine),
                )
            ]
        ) from None
    if native is not None and native != chosen:
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"a {native.value} table cannot run on the {chosen.value} engine",
                    expected=f"engine='{native.value}' (or paths or polars frames as data)",
                )
            ]
        )
    return chosen


@dataclass(frozen=True)
class Outcome:
    """A run's computed result and the warnings found while reading its data."""

    computed: Computed
    data_warnings: tuple[Diagnostic, ...]


def run_on(
    engine: Engine,
    plan: Plan,
    data: Any,
    options: ReadOptions | None = None,
    *,
    keep_detail: bool = False,
    engine_options: EngineOptions | None = None,
) -> Outcome:
    """Run `plan` on a SQL engine: refuse what it cannot compute (before reading any
    data), read the data, compute, audit and report."""
    from engine.backends.sql.dialects import dialect
    from engine.backends.sql.engines import EngineOptions, open_engine
    from engine.backends.sql.run import SqlData, execute
    from engine.backends.sql.sources import read_sources, table_source
    from engine.backends.sql.support import require_support

    require_support(plan, dialect(engine.value))
    native = data if _kind(data) is not None else None
    sql_engine = open_engine(engine.value, engine_options or EngineOptions(), native)
    try:
        if native is not None:
            sql_data: SqlData = table_source(plan.methodology, sql_engine, native)
        else:
            sql_data = read_sources(plan.methodology, sql_engine, _items(data), options)
        done = execute(plan, sql_engine, sql_data, keep_detail=keep_detail)
    finally:
        sql_engine.close()
    return Outcome(done, sql_data.warnings)


def _items(data: Any) -> Sequence[Any]:
    """Paths and in-memory tables, as the API's data argument allows."""
    if isinstance(data, str | Path):
        return [data]
    from engine.inputs import data_sources

    return data_sources(data)
