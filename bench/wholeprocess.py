"""One whole process timed from outside: wall seconds, its own peak RSS and CPU seconds.

Linux counts into a process's peak RSS the memory it had before ``exec``, and a child
started straight from the bench begins as a copy of the bench (polars loaded: about
100 MiB), so a small command would look as large as the bench. Each command is
therefore started by a small launcher (plain Python, no imports beyond ``os`` and
``time``), which forks, execs the command, waits for it and reports the command's wall
time and ``ru_maxrss``: the floor is the launcher's own size (about 10 MiB).

Commands run with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE`` removed from
their environment), as an installed package runs: pip compiles a wheel's modules when it
installs it, while an editable checkout in an environment that sets the variable (this
machine's does) would compile indexlab's own modules from source in every process
(about 0.07 CPU-s, a fifth of the 32-row run). The warm-up run of each bench writes them.
"""

from __future__ import annotations

import json
import subprocess
import sys

__all__ = ["measure", "measure_usage"]

_LAUNCHER = r"""
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps([os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss, cpu]), file=sys.stderr)
"""


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of `cmd` as a whole process (its stdout is
    discarded); stops the bench with the command's own messages when it fails."""
    wall, rss, _ = measure_usage(cmd, env)
    return wall, rss


def measure_usage(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """:func:`measure` and the process's CPU seconds (user + system, all its threads),
    which grow far less than wall time when other work shares the cores."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        check=False,
        text=True,
    )
    *messages, last = done.stderr.rstrip("\n").split("\n") or [""]
    try:
        code, wall, rss, cpu = json.loads(last)
    except ValueError:
        raise SystemExit(f"could not time: {' '.join(cmd)}\n{done.stderr[-2000:]}") from None
    if code != 0:
        err = "\n".join(messages)
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err[-2000:]}")
    return wall, int(rss) // 1024, cpu
