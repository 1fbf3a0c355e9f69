"""Shared test set-up.

* The plan cache lives in a temporary folder, never the user's.
* One local Spark session serves every test that runs the Spark engine (starting one
  takes 7-20 s).
* One headless Chromium for the whole session (the browser tests): Debian's ``chromium``
  (``/usr/bin/chromium``, or ``$CHROMIUM``) driven by Playwright from PyPI with
  ``executable_path``; Playwright never downloads a browser. CI installs chromium and sets
  ``INDEXLAB_BROWSER_TESTS=required`` (.ci/run), so there the browser tests always run (a
  missing browser fails them); on a machine without chromium they are skipped with that
  reason. Every DNS lookup is refused, so a page that tried to reach the network would
  fail visibly.
* Hypothesis draws new examples on every run on a developer's machine (and the long runs
  in bench/ explore further); CI sets ``HYPOTHESIS_PROFILE=ci``: the same examples on
  every run (derandomised), so that a CI verdict does not depend on luck. A failure found
  anywhere is kept as an explicit ``@example``.
* ``winsorise_path`` runs a test on both implementations of COINr's winsorisation bounds
  (plain Python and numpy, which engine/backends/polars/winsorise.py chooses between by
  the frame's size and whether numpy is imported; they must give the same bits).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# set before any test imports the engine: every CLI run in the suite uses this cache
os.environ.setdefault("INDEXLAB_PLAN_CACHE", tempfile.mkdtemp(prefix="indexlab-plans-"))


@pytest.fixture(params=["python", "numpy"])
def winsorise_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The implementation of the winsorisation bounds every estimation in the test uses."""
    from engine.backends.polars import winsorise

    monkeypatch.setattr(winsorise, "_plain", lambda cells: request.param == "python")
    return str(request.param)


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


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium, launched once per session."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("INDEXLAB_BROWSER_TESTS") == "required":
            pytest.fail(f"CI needs chromium at {CHROMIUM} (.ci/run installs it)")
        pytest.skip(f"chromium is not installed at {CHROMIUM} (CI installs it: .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def js_page(browser: Any) -> Iterator[Any]:
    """A blank page with the formula printer's JavaScript runtime loaded (as ``R``)."""
    from engine.backends.js.program import runtime

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content("<!doctype html><title>js</title>")
    page.add_script_tag(content=runtime() + "\nwindow.R = R;")
    yield page
    page.close()
    assert not errors, errors


@pytest.fixture(scope="session")
def run_js(js_page: Any) -> Any:
    """Run a printed program (``function (C, n, P, R)``) in the blank page on some columns;
    return every column afterwards."""

    def run(
        source: str, columns: dict[str, list[object]], n: int, params: dict[str, object]
    ) -> dict[str, list[object]]:
        return js_page.evaluate(  # type: ignore[no-any-return]
            "([C, n, P]) => { const f = " + source + "; f(C, n, P, window.R); return C; }",
            [columns, n, params],
        )

    return run
