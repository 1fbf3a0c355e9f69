"""The extends corpus: every case in tests/invalid_extends/ must be rejected exactly.

Each case is a folder: ``m.yaml`` (the file validated, which extends a base), its bases,
and ``expected``: the exact text ``indexlab validate tests/invalid_extends/<case>/m.yaml``
prints on stderr, run from the project root. Adding a case is adding a folder.

Regenerating: ``INDEXLAB_REGEN=1 python -m pytest tests/test_extends_corpus.py``; review
every changed ``expected`` by eye (file:line:column of the value, the caret, "inherited
by" naming the extending files when the value was written in a base).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(p for p in (ROOT / "tests" / "invalid_extends").iterdir() if p.is_dir())
REGEN = os.environ.get("INDEXLAB_REGEN") == "1"


def _validate(case: Path, *extra: str) -> object:
    return CliRunner().invoke(
        app, ["validate", (case / "m.yaml").relative_to(ROOT).as_posix(), *extra]
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rejected_with_expected_diagnostics(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = _validate(case)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    expected = case / "expected"
    if REGEN:
        expected.write_text(result.stderr, encoding="utf-8")
    assert expected.exists(), f"{expected} is missing; create it with INDEXLAB_REGEN=1"
    assert result.stderr == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_diagnostic_is_placed(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each diagnostic names a file of the case, a line and a column; one written in a
    base names the files that inherit it, ending with the file validated."""
    monkeypatch.chdir(ROOT)
    result = _validate(case, "--format", "json")
    body = result.stderr.rstrip("\n")
    diagnostics = json.loads(body if body.startswith("[") and body.endswith("]") else "[]")
    assert diagnostics, result.stderr
    top = (case / "m.yaml").relative_to(ROOT).as_posix()
    for d in diagnostics:
        assert d["file"] and Path(ROOT / d["file"]).parent == case, d
        assert d["line"] and d["column"], d
        if d["file"] != top and d["code"] != "extends":
            assert d["inherited_by"] and d["inherited_by"][-1] == top, d
