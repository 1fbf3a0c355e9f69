"""The invalid-methodology corpus: every file in tests/invalid/ must be rejected exactly.

Each case is two files side by side:

* ``tests/invalid/<case>.yaml``: a small methodology with one thing wrong (its first line
  says what), or several things wrong for ``many_problems``;
* ``tests/invalid/<case>.expected``: the exact text ``indexlab validate
  tests/invalid/<case>.yaml`` prints on stderr (every diagnostic, then "N problems
  found."), run from the project root so that paths read ``tests/invalid/<case>.yaml``.

Adding a case is adding these two files; no Python changes.

Regenerating: ``INDEXLAB_REGEN=1 python -m pytest tests/test_invalid.py`` rewrites every
``.expected`` from the engine's current output (the tests then pass trivially). Review
each changed file by eye before keeping it (``git diff tests/invalid``): the text must
name file:line:column, show the source line with the caret under the offending token,
say what was expected and give a hint where one exists. Some ``.expected`` files hold
what the engine *should* print rather than what it printed when they were written
(``yaml_alias_bomb``: the problem count); regenerating would overwrite that, so check
the diff. Without the variable a missing ``.expected`` is a failure, never created.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).resolve().parents[1]
CASES_DIR = ROOT / "tests" / "invalid"
CASES = sorted(CASES_DIR.glob("*.yaml"))
REGEN = os.environ.get("INDEXLAB_REGEN") == "1"
#: formulas and tags in the corpus try to create this file; it must never appear
MARKER = CASES_DIR / "pwned.marker"


def _relative(case: Path) -> str:
    return case.relative_to(ROOT).as_posix()


def _json_diagnostics(stderr: str) -> list[dict]:
    """The JSON list on stderr, with or without a trailing "N problems found." line."""
    try:
        return json.loads(stderr)
    except json.JSONDecodeError:
        body, _, summary = stderr.rstrip("\n").rpartition("\n")
        assert summary.endswith("found."), stderr
        return json.loads(body)


def _validate(case: Path, *extra: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    return CliRunner().invoke(app, ["validate", _relative(case), *extra])


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_rejected_with_expected_diagnostics(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _validate(case, monkeypatch=monkeypatch)
    assert not MARKER.exists(), "a formula or tag in the corpus was executed"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "ok:" not in result.stdout
    expected_file = case.with_suffix(".expected")
    if REGEN:
        expected_file.write_text(result.stderr, encoding="utf-8")
    assert expected_file.exists(), (
        f"{_relative(expected_file)} is missing; create it with INDEXLAB_REGEN=1 and review it"
    )
    assert result.stderr == expected_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_every_diagnostic_is_placed(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--format json: each diagnostic names this file, a line and a column (the only
    unplaced entry allowed is a "not shown" summary), and the JSON agrees with the text."""
    result = _validate(case, "--format", "json", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    diags = _json_diagnostics(result.stderr)
    assert diags
    for d in diags:
        assert d["severity"] == "error"
        assert d["file"] == _relative(case), d
        if d["line"] is None:
            assert "not shown" in d["message"], d
            continue
        assert isinstance(d["line"], int) and d["line"] >= 1, d
        assert isinstance(d["column"], int) and d["column"] >= 1, d
        assert f"{d['file']}:{d['line']}:{d['column']}: error[{d['code']}]: {d['message']}" in (
            case.with_suffix(".expected").read_text(encoding="utf-8")
        )


def test_many_problems_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _validate(
        CASES_DIR / "many_problems.yaml", "--format", "json", monkeypatch=monkeypatch
    )
    codes = {d["code"] for d in _json_diagnostics(result.stderr)}
    assert codes >= {
        "unknown-name",
        "unknown-function",
        "formula-syntax",
        "cycle",
        "unknown-method",
        "unknown-member",
        "member-twice",
        "weights",
        "bad-arguments",
        "type",
        "class-bands",
    }


def test_corpus_is_complete() -> None:
    """Every case has its expected output and nothing else lies in the folder."""
    assert len(CASES) >= 30
    stray = [
        p.name
        for p in CASES_DIR.iterdir()
        if p.suffix not in (".yaml", ".expected") or not p.with_suffix(".yaml").exists()
    ]
    assert not stray
