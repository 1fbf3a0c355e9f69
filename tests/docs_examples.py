"""Run every command and Python example of the README and the docs, as a reader would.

The ``sh`` blocks' ``indexlab ...`` lines (continuations joined, comments dropped) and
the ``python`` blocks that use the engine are run in a fresh copy of ``methodologies/``
and ``examples/`` (outside the checkout), with the ``indexlab`` and ``python`` given, so
the same runner checks an editable install (tests/test_package.py) and a wheel installed
into a fresh venv (.ci/run). A command naming a file the docs leave to the reader (a
``my-*`` name such as ``my-index.yaml``) is listed as a placeholder, not run; any other
missing file is a failure. Exit code 1 if any example fails. This file imports nothing
from the engine.

    python tests/docs_examples.py --indexlab VENV/bin/indexlab --python VENV/bin/python
"""

from __future__ import annotations

import argparse
import glob
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/*.md", "examples/*/README.md")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Example:
    source: str  # the document it comes from
    kind: str  # "sh" or "python"
    text: str


def examples(root: Path = ROOT) -> list[Example]:
    """Every indexlab command and engine-using Python block of the documents, in order."""
    out = []
    for pattern in DOCUMENTS:
        for path in sorted(root.glob(pattern)):
            name = str(path.relative_to(root))
            for kind, body in BLOCK.findall(path.read_text(encoding="utf-8")):
                if kind in ("sh", "bash", "shell"):
                    joined = re.sub(r"\\\n\s*", " ", body)
                    for line in joined.splitlines():
                        command = line.split(" #", 1)[0].strip()
                        if command.startswith("indexlab "):
                            out.append(Example(name, "sh", command))
                elif kind == "python" and re.search(r"^(from|import) engine", body, re.M):
                    out.append(Example(name, "python", body))
    return out


def placeholder(example: Example, workdir: Path) -> str | None:
    """The file a command names that the reader is meant to write, if any: by the docs'
    convention a ``my-*`` file that is not in the examples. Any other missing file is a
    broken example and runs (and fails), so a renamed file is never passed over."""
    if example.kind != "sh":
        return None
    for word in shlex.split(example.text.split(">", 1)[0]):
        if Path(word).name.startswith("my-") and not glob.glob(str(workdir / word)):
            return word
    return None


def run_all(indexlab: str, python: str, *, verbose: bool = True) -> list[str]:
    """Run every example; return the failures (empty when all pass)."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="indexlab-docs-") as tmp:
        workdir = Path(tmp)
        for folder in ("methodologies", "examples", "schema"):
            shutil.copytree(ROOT / folder, workdir / folder, symlinks=False)
        for example in examples():
            missing = placeholder(example, workdir)
            head = example.text.splitlines()[0]
            if missing:
                if verbose:
                    print(
                        f"placeholder ({missing}, the reader's own file): {example.source}: {head}"
                    )
                continue
            if example.kind == "sh":
                command = [
                    "bash",
                    "-c",
                    f"set -o pipefail; {shlex.quote(indexlab)} {example.text[len('indexlab ') :]}",
                ]
            else:
                command = [python, "-c", example.text]
            start = time.perf_counter()
            done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - start
            status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
            if verbose:
                print(f"{status} {seconds:5.1f}s {example.source}: {head}")
            if done.returncode != 0:
                failures.append(f"{example.source}: {head}\n{done.stderr[-2000:]}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexlab", default=shutil.which("indexlab") or "indexlab")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    failures = run_all(args.indexlab, args.python)
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
