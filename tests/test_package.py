"""The package as a user installs it: the wheel, its dependencies, extras, version, start-up.

The wheel test builds the wheel from this checkout, installs it (without dependencies:
they are this venv's) into a folder of its own and runs ``indexlab validate/run/schema``
from a temporary folder, checking that the engine imported is the installed one. CI
(.ci/run) also installs the wheel with its dependencies into a fresh venv.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions, requires, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import docs_examples  # noqa: E402

PAPER = [
    str(ROOT / "methodologies/kireeva.yaml"),
    str(ROOT / "examples/kazakhstan/regions.csv"),
    str(ROOT / "examples/kazakhstan/it_share_table7.csv"),
]

# Blocks imports of the given top-level packages, as if they were not installed.
BLOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named '{{name}}'", name=name)
sys.meta_path.insert(0, _Block())
"""


def _python(code: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def _cli(blocked: set[str], *args: str, cwd: Path | None = None):
    code = (
        BLOCKER.format(blocked=blocked)
        + "from engine.cli import main\nsys.argv=['indexlab',*sys.argv[1:]]\nmain()"
    )
    return _python(code, *args, cwd=cwd)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (found,) = out.glob("indexlab-*.whl")
    return found


def test_wheel_carries_the_schema_source_and_type_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "engine/py.typed" in names
    # the schema is generated from the method declarations and this file at run time
    source = zipfile.ZipFile(wheel).read("engine/format/schema_format.json")
    assert source == (ROOT / "engine/format/schema_format.json").read_bytes()
    # the published schemas, for an editor pointed at the installed package
    for name in ("methodology.schema.json", "extension.schema.json"):
        shipped = zipfile.ZipFile(wheel).read(f"engine/schema/{name}")
        assert shipped == (ROOT / "schema" / name).read_bytes()
    entry = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith("entry_points.txt")))
        .decode()
    )
    assert "indexlab = engine.cli:entry" in entry


def test_installed_wheel_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = _python("import engine; print(engine.__file__)", cwd=work, env=env)
    assert where.stdout.strip() == str(target / "engine" / "__init__.py")
    main = "import sys; from engine.cli import main; sys.argv=['indexlab', *sys.argv[1:]]; main()"
    schema = _python(main, "schema", cwd=work, env=env)
    assert schema.returncode == 0, schema.stderr
    assert schema.stdout == (ROOT / "schema/methodology.schema.json").read_text(encoding="utf-8")
    valid = _python(main, "validate", PAPER[0], cwd=work, env=env)
    assert valid.returncode == 0 and ": ok: " in valid.stdout, valid.stderr
    ran = _python(main, "run", *PAPER, "-o", "out.csv", "-q", cwd=work, env=env)
    assert ran.returncode == 0, ran.stderr
    assert (work / "out.csv").read_text().count("\n") == 33  # header + 16 regions x 2 years


def test_version_is_the_installed_distributions() -> None:
    done = _cli(set(), "--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"indexlab {version('indexlab')}"


def test_import_engine_is_lazy() -> None:
    done = _python(
        "import sys, engine\n"
        "heavy = {'polars', 'sympy', 'numpy', 'rich', 'engine.api'} & set(sys.modules)\n"
        "print(sorted(heavy)); print(engine.run.__module__)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "engine.api"]


EXTRA_PACKAGES = {"matplotlib", "fastexcel", "xlsxwriter", "pandas", "pyarrow", "scipy"}


def test_the_core_runs_without_any_extra(tmp_path: Path) -> None:
    """The paper's example, compare, explain and sensitivity with every extra unimportable."""
    for args in (
        ("run", *PAPER, "-o", "out.csv"),
        ("compare", PAPER[0], str(ROOT / "methodologies/kireeva-minmax.yaml"), PAPER[1]),
        ("explain", *PAPER[:2], "--unit", "Almaty", "--period", "2014"),
        ("sensitivity", *PAPER[:2], "--replications", "10", "-o", "sa.json"),
    ):
        done = _cli(EXTRA_PACKAGES, *args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr[-2000:])


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("run", *PAPER[:2], "-o", "out.xlsx"), "excel"),
        (
            (
                "compare",
                PAPER[0],
                str(ROOT / "methodologies/kireeva-minmax.yaml"),
                PAPER[1],
                "--chart",
                "c.png",
            ),
            "charts",
        ),
    ],
)
def test_a_missing_extra_is_one_line_with_its_install_command(
    args: tuple[str, ...], extra: str, tmp_path: Path
) -> None:
    done = _cli(EXTRA_PACKAGES, *args, "-q", cwd=tmp_path)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(f"pip install 'indexlab[{extra}]'")
    assert not list(tmp_path.iterdir())  # nothing half-written


def _imported_packages() -> set[str]:
    """Top-level third-party packages that engine/ imports anywhere."""
    names: set[str] = set()
    for path in (ROOT / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif (  # require("module", Extra.X, ...)
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "require"
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value).split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "engine"}


def test_every_imported_package_is_declared() -> None:
    declared: dict[str, str | None] = {}  # distribution -> extra (None: core)
    for line in requires("indexlab") or []:
        name = re.split(r"[\s<>=!;\[]", line, maxsplit=1)[0].lower()
        extra = re.search(r"extra == \"(\w+)\"", line)
        declared.setdefault(name, extra.group(1) if extra else None)
        if not extra:
            declared[name] = None
    distributions = packages_distributions()
    for package in sorted(_imported_packages()):
        dists = {d.lower() for d in distributions.get(package, [package])}
        assert dists & set(declared), (
            f"engine imports '{package}' but pyproject declares none of {dists}"
        )
    core = {d for d, extra in declared.items() if extra is None}
    assert core == {"pyyaml", "jsonschema", "sympy", "polars", "typer", "rich", "numpy"}


def test_every_readme_and_docs_example_runs() -> None:
    indexlab = str(Path(sys.executable).parent / "indexlab")
    failures = docs_examples.run_all(indexlab, sys.executable, verbose=False)
    assert not failures, "\n\n".join(failures)


def test_only_the_readers_own_files_are_placeholders(tmp_path: Path) -> None:
    """A docs command naming ``my-*.yaml`` is the reader's file and is not run; one naming
    a file that is simply missing (renamed, deleted) runs and fails, never skipped."""

    def example(command: str) -> docs_examples.Example:
        return docs_examples.Example("docs/x.md", "sh", command)

    assert docs_examples.placeholder(example("indexlab validate my-index.yaml"), tmp_path) == (
        "my-index.yaml"
    )
    gone = example("indexlab run methodologies/renamed.yaml examples/x.csv -o out.csv")
    assert docs_examples.placeholder(gone, tmp_path) is None
    assert docs_examples.examples(), "no examples found in the documents"
