"""Start-up: what a command imports, and that the lighter conversion of option values
(engine/cli/coerce.py) leaves every value and message as typer's own gives them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIREEVA = ROOT / "methodologies" / "kireeva.yaml"
REGIONS = ROOT / "examples" / "kazakhstan" / "regions.csv"

#: runs the CLI in this process (typer's own conversion when TYPER_OWN is set) and prints
#: the modules of interest that were imported
PROBE = (
    "import os, sys\n"
    "import typer.core\n"
    "own = typer.core.build_runtime_param\n"
    "import engine.cli.common\n"  # installs indexlab's converter, undone below if asked
    "if os.environ.get('TYPER_OWN'):\n"
    "    typer.core.build_runtime_param = own\n"
    "code = 0\n"
    "try:\n"
    "    engine.cli.main()\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "print('IMPORTED', sorted(m for m in ('numpy', 'pydantic', 'rich.console', 'rich.progress', 'sympy')"
    " if m in sys.modules), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def cli(
    *args: str, own: bool = False, cache: Path | str = "off", probe: str = PROBE
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INDEXLAB_PLAN_CACHE": str(cache), "COLUMNS": "100"}
    env.pop("TYPER_OWN", None)
    if own:
        env["TYPER_OWN"] = "1"
    return subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_a_cached_quiet_run_imports_neither_pydantic_nor_sympy_nor_rich(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    args = ("run", str(KIREEVA), str(REGIONS), "-q", "-o", str(tmp_path / "out.csv"))
    first = cli(*args, cache=cache)
    again = cli(*args, cache=cache)
    assert first.returncode == again.returncode == 0, first.stderr
    assert again.stderr.rstrip().endswith("IMPORTED []")
    assert "pydantic" not in first.stderr.splitlines()[-1]
    # the paper's printed ratios fail their warning checks: one plain line each
    assert "warning[check-failed]: check 'printed_ecology'" in again.stderr


def test_a_first_run_without_estimation_imports_no_numpy(tmp_path: Path) -> None:
    """numpy (about 0.1 CPU-s) serves estimation (benefit of the doubt, PCA, EM, COINr's
    winsorisation), not a plain run: the question "is there a BoD group?" must not import it."""
    args = ("run", str(KIREEVA), str(REGIONS), "-q", "-o", str(tmp_path / "out.csv"))
    first = cli(*args)  # the plan cache off: validation, planning and compilation
    assert first.returncode == 0, first.stderr
    assert first.stderr.rstrip().endswith("IMPORTED ['sympy']")


@pytest.mark.parametrize(
    "args",
    [
        ("run", str(KIREEVA), str(REGIONS), "--top", "abc"),  # not a whole number
        ("run", str(KIREEVA), str(REGIONS), "--top", "-1"),  # below the option's minimum
        ("run", str(KIREEVA), str(REGIONS), "--top", " 7"),  # spaces: typer decides
        ("run", str(KIREEVA), str(REGIONS), "--format", "xml"),  # not a choice
        ("validate", str(KIREEVA), "--engine", "oracle"),
        ("validate", str(ROOT / "no-such.yaml")),  # a path that does not exist
        ("run", str(KIREEVA), str(REGIONS), "-q", "--format", "json", "--top", "3"),
        ("validate", str(KIREEVA), "--format", "json"),
    ],
)
def test_option_values_and_messages_are_typers_own(args: tuple[str, ...]) -> None:
    ours, own = cli(*args), cli(*args, own=True)
    assert ours.returncode == own.returncode
    assert ours.stdout == own.stdout
    strip = [line for line in ours.stderr.splitlines() if not line.startswith("IMPORTED")]
    want = [line for line in own.stderr.splitlines() if not line.startswith("IMPORTED")]
    assert strip == want
    assert "pydantic" in own.stderr.splitlines()[-1]  # the comparison is with typer's path


def test_every_command_is_found_by_the_module_that_registers_it() -> None:
    """`indexlab NAME` imports only COMMANDS[NAME]'s module: the map must name every
    registered command and the module whose import registers it (a command missing from
    it would still run, after importing every module)."""
    import engine.cli
    from engine.cli import COMMANDS, MODULES

    app = engine.cli.app
    registered = {
        (info.name or info.callback.__name__.replace("_", "-")): info.callback.__module__
        for info in app.registered_commands
        if info.callback is not None
    }
    assert set(COMMANDS) == set(registered)
    for name, module in COMMANDS.items():
        assert registered[name] == f"engine.cli.{module}", name
    assert set(COMMANDS.values()) <= set(MODULES)


#: the console script's entry with an atexit handler and a temporary folder (a weakref
#: finalizer) registered first: both must still run when it skips the teardown
ENTRY = (
    "import atexit, sys, tempfile\n"
    "from pathlib import Path\n"
    "marker = Path(sys.argv.pop(1))\n"
    "folder = tempfile.TemporaryDirectory()\n"
    "Path(folder.name, 'x').write_text('x')\n"
    "marker.with_suffix('.tmp').write_text(folder.name)\n"
    "atexit.register(lambda: marker.write_text('ran'))\n"
    "sys.argv[0] = 'indexlab'\n"
    "import engine.cli\n"
    "engine.cli.entry()\n"
    "print('NOT REACHED')\n"
)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--version",), 0),
        (("run", str(KIREEVA), str(REGIONS)), 0),
        (("run", str(KIREEVA), str(ROOT / "no-such.csv")), 1),
        (("run", str(KIREEVA), str(REGIONS), "--top", "abc"), 2),
    ],
)
def test_the_console_script_exits_without_teardown_but_with_everything_done(
    tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    """`entry` ends the process with os._exit (no interpreter teardown) after main():
    the exit code is main's, the output is flushed (all of it, even piped), the atexit
    handlers ran and a temporary folder was removed; nothing after it runs."""
    marker = tmp_path / "marker"
    env = {**os.environ, "INDEXLAB_PLAN_CACHE": "off", "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, str(marker), *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert marker.read_text() == "ran"
    assert not Path(marker.with_suffix(".tmp").read_text()).exists()
    assert "NOT REACHED" not in done.stdout
    if args == ("--version",):
        assert done.stdout.startswith("indexlab ")
    elif code == 0:  # the whole report, as the ordinary exit gives it
        plain = subprocess.run(
            [sys.executable, "-c", "import engine.cli; engine.cli.main()", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert plain.returncode == 0 and len(plain.stdout) > 1000
        assert (done.stdout, done.stderr) == (plain.stdout, plain.stderr)


FROZEN = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print('FROZEN', gc.get_freeze_count() > 0, file=sys.stderr))\n"
    "import engine.cli\n"
    "engine.cli.entry()\n"
)


def frozen(*args: str, probe: str = FROZEN) -> str:
    """The last line a process running `probe` with `args` prints to stderr."""
    done = cli(*args, probe=probe)
    assert done.returncode == 0, done.stderr
    return done.stderr.rstrip().splitlines()[-1]


@pytest.mark.parametrize("command", ["run", "validate"])
def test_the_console_freezes_a_first_runs_imports_out_of_the_collectors_reach(
    tmp_path: Path, command: str
) -> None:
    """After sympy, polars and the engine are imported, the console script's ``run`` and
    ``validate`` freeze them (``engine.cli.common.imported``): a full pass of the collector
    over the imports cost ASEM's first run 0.03 s."""
    args = [command, str(KIREEVA)]
    if command == "run":
        args += [str(REGIONS), "-q", "-o", str(tmp_path / "out.csv")]
    assert frozen(*args) == "FROZEN True"


def test_neither_the_library_nor_an_in_process_command_freezes_the_collector(
    tmp_path: Path,
) -> None:
    """Freezing is the console script's choice for its own process: not the library's,
    nor ``engine.cli.main``'s (typer's CliRunner, a notebook)."""
    library = (
        "import gc, sys\n"
        "from engine import api\n"
        "api.validate(sys.argv[1])\n"
        "print('FROZEN', gc.get_freeze_count() > 0, file=sys.stderr)\n"
    )
    assert frozen(str(KIREEVA), probe=library) == "FROZEN False"
    in_process = (
        "import gc, sys\n"
        "import engine.cli\n"
        "try:\n"
        "    engine.cli.main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('FROZEN', gc.get_freeze_count() > 0, file=sys.stderr)\n"
    )
    args = ("run", str(KIREEVA), str(REGIONS), "-q", "-o", str(tmp_path / "out.csv"))
    assert frozen(*args, probe=in_process) == "FROZEN False"
