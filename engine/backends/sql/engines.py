"""The SQL engines a methodology runs on: DuckDB (embedded) and Spark (local or a cluster).

An :class:`Engine` runs the printed queries and hands rows back as polars frames; the
run itself (:mod:`.run`) is the same for both. Each engine is imported only when chosen
(the polars path never imports them), through the ``duckdb`` and ``spark`` extras.

DuckDB runs in process. Its memory limit and spill directory make it work on data
larger than memory (``memory_limit``, ``temp_directory``); a DuckDB relation given as
data runs on its own connection. Spark runs on ``master`` (``local[2]`` by default, or
any master URL); a Spark DataFrame given as data runs on its own session.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl
from sqlglot import exp

from engine.backends.sql.dialects import SqlDialect, dialect
from engine.backends.sql.functions import column
from engine.backends.sql.statements import Source, table
from engine.diagnostics import Code, Diagnostic, UsageError
from engine.extras import Extra, require

__all__ = ["DuckDBEngine", "Engine", "EngineOptions", "SparkEngine", "open_engine"]

ENGINES = ("polars", "duckdb", "spark")
_counter = itertools.count(1)


def _name(kind: str) -> str:
    """A name for a table of ours that no user table has."""
    return f"__indexlab_{kind}_{next(_counter)}_{uuid.uuid4().hex[:8]}"


class Engine(Protocol):
    """What a run needs from a SQL engine."""

    dialect: SqlDialect

    def fetch(self, query: exp.Expr) -> pl.DataFrame: ...

    def register(self, frame: pl.DataFrame) -> Source: ...

    def scan(
        self, kind: str, paths: Sequence[str], *, delimiter: str, encoding: str, root: str | None
    ) -> tuple[Source, frozenset[str]]:
        """CSV (every cell as text) or Parquet files read by the engine, and the columns
        the files type as numbers."""
        ...

    def reads_encoding(self, encoding: str) -> bool:
        """Whether the engine decodes CSV in this encoding itself."""
        ...

    def native(self, table: Any) -> tuple[Source, frozenset[str]]:
        """The engine's own table (a DuckDB relation, a Spark DataFrame) as an input
        relation, and its numeric columns."""
        ...

    def materialize(
        self, query: exp.Expr, columns: Sequence[str], order: Sequence[str]
    ) -> tuple[Source, pl.DataFrame]:
        """Keep the rows of `query` as a table of the engine (to query it again), and
        return them sorted by `order`."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class EngineOptions:
    """How to start an engine (each option applies to one engine only)."""

    #: DuckDB: e.g. "4GB"; beyond it DuckDB spills to `temp_directory`
    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: int | None = None
    #: Spark: master URL ("local[2]", "spark://host:7077", "yarn", ...)
    master: str = "local[2]"
    #: Spark: further configuration ("spark.executor.memory" -> "8g", ...)
    spark_config: tuple[tuple[str, str], ...] = ()


class DuckDBEngine:
    """DuckDB in this process: a fresh in-memory database, or the connection of a relation."""

    def __init__(self, options: EngineOptions = EngineOptions(), relation: Any = None) -> None:
        self.duckdb = require("duckdb", Extra.DUCKDB, "the DuckDB engine")
        require("pyarrow", Extra.DUCKDB, "the DuckDB engine")
        self.dialect = dialect("duckdb")
        self.relation = relation
        self.input_name = _name("input")
        self.temporary: list[str] = []
        self.con = None
        if relation is None:
            config: dict[str, Any] = {}
            if options.memory_limit:
                config["memory_limit"] = options.memory_limit
            if options.temp_directory:
                config["temp_directory"] = options.temp_directory
            if options.threads:
                config["threads"] = options.threads
            # the order of rows is ours to set (ORDER BY); not keeping it saves memory
            config["preserve_insertion_order"] = False
            self.con = self.duckdb.connect(config=config)

    def native(self, relation: Any) -> tuple[Source, frozenset[str]]:
        """The relation given as data, under its name in every query."""
        assert relation is self.relation, "a DuckDB engine reads the relation it was opened on"
        numbers = frozenset(
            c
            for c, t in zip(relation.columns, relation.types)
            if str(t).split("(")[0] in _DUCKDB_NUMBERS
        )
        return Source(table(self.input_name), tuple(relation.columns)), numbers

    def _run(self, sql: str) -> Any:
        if self.con is not None:
            return self.con.sql(sql)
        return self.relation.query(self.input_name, sql)

    def execute(self, sql: str) -> None:
        self._run(sql)

    def fetch(self, query: exp.Expr) -> pl.DataFrame:
        result = self._run(self.dialect.sql(query, pretty=False))
        return result.pl()  # type: ignore[no-any-return]

    def register(self, frame: pl.DataFrame) -> Source:
        assert self.con is not None, "a DuckDB relation's engine reads only that relation"
        name = _name("data")
        self.con.register(name, frame)
        self.temporary.append(name)
        return Source(table(name), tuple(frame.columns))

    def scan(
        self, kind: str, paths: Sequence[str], *, delimiter: str, encoding: str, root: str | None
    ) -> tuple[Source, frozenset[str]]:
        options: dict[str, object]
        if kind == "csv":
            function = "read_csv"
            options = {
                "all_varchar": True,
                "header": True,
                "delim": delimiter,
                "quote": '"',
                "escape": '"',
                "encoding": _DUCKDB_ENCODINGS[codecs.lookup(encoding).name],
                "union_by_name": True,
            }
        else:
            function = "read_parquet"
            options = {"union_by_name": True, "hive_partitioning": root is not None}
        args: list[exp.Expr] = [exp.Array(expressions=[exp.Literal.string(p) for p in paths])]
        for key, value in options.items():
            args.append(exp.EQ(this=exp.to_identifier(key), expression=_value(value)))
        src = exp.Table(this=exp.Anonymous(this=function, expressions=args))
        empty = self.fetch(exp.select(exp.Star()).from_(src.copy()).limit(0))
        numbers = frozenset(c for c, t in empty.schema.items() if t.is_numeric())
        return Source(src, tuple(empty.columns)), numbers

    def reads_encoding(self, encoding: str) -> bool:
        try:
            return codecs.lookup(encoding).name in _DUCKDB_ENCODINGS
        except LookupError:
            return False

    def materialize(
        self, query: exp.Expr, columns: Sequence[str], order: Sequence[str]
    ) -> tuple[Source, pl.DataFrame]:
        name = _name("result")
        create = exp.Create(
            this=table(name),
            kind="TABLE",
            expression=query,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
        self.execute(self.dialect.sql(create, pretty=False))
        self.temporary.append(name)
        rows = exp.select(exp.Star()).from_(table(name)).order_by(*(column(k) for k in order))
        return Source(table(name), tuple(columns)), self.fetch(rows)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
            return
        for name in self.temporary:
            drop = exp.Drop(tables=[table(name)], kind="TABLE", exists=True)
            self.execute(self.dialect.sql(drop, pretty=False))
        self.temporary = []


_DUCKDB_NUMBERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
}
#: Python's codec names of the encodings DuckDB's CSV reader decodes, and DuckDB's names
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1"}


def _value(value: object) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_value(v) for v in value])
    if isinstance(value, dict):
        return exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.Literal.string(k), expression=_value(v))
                for k, v in value.items()
            ]
        )
    return exp.Literal.string(str(value))


class SparkEngine:
    """Spark through pyspark: our own session on `options.master`, or a DataFrame's session."""

    def __init__(self, options: EngineOptions = EngineOptions(), session: Any = None) -> None:
        require("pyspark", Extra.SPARK, "the Spark engine")
        require("pyarrow", Extra.SPARK, "the Spark engine")
        self.dialect = dialect("spark")
        self.views: list[str] = []
        self.spark = session if session is not None else _session(options)

    def fetch(self, query: exp.Expr) -> pl.DataFrame:
        arrow = self.spark.sql(self.dialect.sql(query, pretty=False)).toArrow()
        return pl.from_arrow(arrow)  # type: ignore[return-value]

    def frame(self, df: Any) -> Source:
        """A Spark DataFrame as an input relation (a temporary view)."""
        name = _name("data")
        df.createOrReplaceTempView(name)
        self.views.append(name)
        return Source(table(name), tuple(df.columns))

    def register(self, frame: pl.DataFrame) -> Source:
        return self.frame(self.spark.createDataFrame(frame.to_arrow()))

    def scan(
        self, kind: str, paths: Sequence[str], *, delimiter: str, encoding: str, root: str | None
    ) -> tuple[Source, frozenset[str]]:
        reader = self.spark.read
        if kind == "csv":
            reader = reader.options(
                header=True,
                sep=delimiter,
                quote='"',
                escape='"',
                encoding=encoding,
                mode="FAILFAST",
            )
            df = reader.csv(list(paths))
        else:
            if root is not None:  # the partition columns come from the folder names
                reader = reader.option("basePath", root)
            df = reader.parquet(*paths)
        return self.frame(df), frozenset(c for c, t in df.dtypes if _spark_number(t))

    def reads_encoding(self, encoding: str) -> bool:
        return True

    def native(self, df: Any) -> tuple[Source, frozenset[str]]:
        return self.frame(df), frozenset(c for c, t in df.dtypes if _spark_number(t))

    def materialize(
        self, query: exp.Expr, columns: Sequence[str], order: Sequence[str]
    ) -> tuple[Source, pl.DataFrame]:
        # the rows come to the driver once and go back as a local relation: a cached
        # view of the whole query would be matched against the query plan on every use
        rows = self.fetch(query).select(columns).sort(order)
        return self.register(rows), rows

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        self.views = []


def _spark_number(type_name: str) -> bool:
    return type_name in ("double", "float", "int", "bigint", "smallint", "tinyint") or (
        type_name.startswith("decimal")
    )


def _session(options: EngineOptions) -> Any:
    """Our Spark session (one per process: getOrCreate returns it again)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(options.master)
        .appName("indexlab")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.log.structuredLogging.enabled", "false")
        # methodology names are case-sensitive (checked before running, too)
        .config("spark.sql.caseSensitive", "true")
        # Spark would leave an empty spark-warehouse/ in the working directory
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="indexlab-spark-"))
    )
    if options.master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    for key, value in options.spark_config:
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # no Java, or a master that cannot be reached
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(
            [
                Diagnostic(
                    Code.USAGE,
                    f"cannot start Spark on {options.master}: {first}",
                    hint="Spark needs Java 17 or later (java on PATH or JAVA_HOME)",
                )
            ]
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    # PySpark logs every failed query as one JSON line with the whole Java stack
    for logger in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)
    return spark


def open_engine(name: str, options: EngineOptions = EngineOptions(), data: Any = None) -> Engine:
    """The engine called `name`; `data`, a DuckDB relation or a Spark DataFrame, brings
    its own connection or session."""
    if name == "duckdb":
        return DuckDBEngine(options, relation=data)
    if name == "spark":
        return SparkEngine(options, session=data.sparkSession if data is not None else None)
    raise UsageError(
        [Diagnostic(Code.USAGE, f"unknown engine '{name}'", expected=", ".join(ENGINES))]
    )
