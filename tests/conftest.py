"""Shared test set-up: the plan cache lives in a temporary folder, never the user's; one
local Spark session serves every test that runs the Spark engine (starting one takes
7-20 s)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

# set before any test imports the engine: every CLI run in the suite uses this cache
os.environ.setdefault("INDEXLAB_PLAN_CACHE", tempfile.mkdtemp(prefix="indexlab-plans-"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session the Spark engine finds (``getOrCreate``), configured for tiny data."""
    from engine.backends.sql.engines import EngineOptions, _session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    options = EngineOptions(
        master="local[2]",
        spark_config=(
            ("spark.sql.shuffle.partitions", "2"),
            ("spark.default.parallelism", "2"),
            ("spark.driver.memory", "1g"),
            ("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse"))),
        ),
    )
    session = _session(options)
    yield session
    session.stop()
