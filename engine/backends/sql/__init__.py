"""The SQL backend: the plan printed as SQL through sqlglot, run on DuckDB or Spark.

One IR, several printers: :mod:`.printer` has one rule per IR node (as the polars
compiler has), :mod:`.dialects` what differs per engine, :mod:`.lower` and
:mod:`.statements` lay the plan out as common table expressions, :mod:`.run` runs it
(with the input checks of :mod:`.datachecks`, the summary of :mod:`.summary` and the
audit of :mod:`.audit`) and :mod:`.sources` reads data in the engine (:mod:`.files`
finds the files, :mod:`.cells` checks their cells); :mod:`.functions` has the building
blocks that pin a convention;
:mod:`.support` refuses what an engine cannot compute. The engine is chosen in
:mod:`engine.engines`; ``indexlab sql`` prints the query (:mod:`.query`).
"""
