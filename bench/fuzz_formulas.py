"""Long-run fuzzing of the formula language: generated formulas in every spot, with
time and memory limits per case.

Each case is one formula from the grammar (tests/formulagen.py: well and ill typed,
nested, extreme constants) placed in one spot (indicator, normalisation formula,
aggregation formula, index, derived output, check, screening rule), validated and, if
accepted, run on 8 rows of data with zeros, negatives, missing values and ties, and
compared with the plain-Python reference evaluator. Outcomes:

* ``rejected``: validation refused it, every diagnostic located (file:line:column) with
  a formula code;
* ``equal``: it ran and every value equals the reference (1e-12 relative, missing where
  the reference is missing or undefined);
* ``mismatch``: it ran but a value differs from the reference, or a diagnostic was not
  located;
* ``crash``: an exception other than the engine's diagnostics escaped;
* ``hang``: the case took longer than ``--timeout`` seconds (the worker is killed);
* ``blow-up``: the worker ran out of its ``--memory`` (RLIMIT_AS) address space.

Cases run in worker processes (``--workers``), each under ``RLIMIT_AS``; the parent
gives each case ``--timeout`` seconds and replaces a worker that hangs or dies. Cases are
reproducible: case i uses ``random.Random(seed * 1_000_003 + i)``.

    nice .venv/bin/python bench/fuzz_formulas.py                   # 100,000 cases
    nice .venv/bin/python bench/fuzz_formulas.py --cases 2000 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import random
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("rejected", "equal", "mismatch", "crash", "hang", "blow-up")


def run_case(index: int, seed: int, tmp: Path) -> tuple[str, str]:
    """One case: its outcome and, unless it is fine, what happened."""
    from engine import api
    from engine.diagnostics import IndexlabError, MethodologyError
    from tests import formulagen as gen

    rng = random.Random(seed * 1_000_003 + index)
    spot, want = rng.choice(gen.SPOTS)
    node = gen.generate(rng, want, budget=rng.randint(1, 9), typo=rng.choice((0.0, 0.05, 0.3)))
    placed = gen.place(lambda names: gen.render(node, names), spot)
    keys, rows = gen.data(rng)
    text = f"{spot}: {gen.render(node)}"
    m, d = tmp / "m.yaml", tmp / "d.csv"
    m.write_text(placed.yaml, encoding="utf-8")
    d.write_text(gen.csv_text(keys, rows), encoding="utf-8")
    try:
        validated = api.validate(m)
    except MethodologyError as err:
        unplaced = [x for x in err.diagnostics if x.location is None or x.location.column is None]
        if unplaced:
            return "mismatch", f"{text}: unlocated {unplaced[0].render()}"
        return "rejected", ""
    try:
        result = api.run(validated, [d])
    except IndexlabError as err:
        return "mismatch", f"{text}: run refused: {err.render()[:300]}"
    expected = gen.reference(node, placed, keys, rows)
    if placed.output.startswith("check:"):
        (check,) = result.checks
        failing = {(r["unit"], r["year"]) for r in check.failures.iter_rows(named=True)}
        if failing != {k for k, v in zip(keys, expected) if v is False}:
            return "mismatch", f"{text}: failing rows {sorted(failing)}"
        return "equal", ""
    f = result.frame
    got = dict(zip(zip(f["unit"], f["year"]), f[placed.output]))
    for k, w in zip(keys, expected):
        if not gen.close(got[k], w):
            return "mismatch", f"{text} at {k}: engine {got[k]!r}, reference {w!r}"
    return "equal", ""


def worker(tasks: mp.Queue, results: mp.Queue, memory: int, seed: int) -> None:  # type: ignore[type-arg]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        while True:
            index = tasks.get()
            if index is None:
                return
            results.put(("start", index, "", os.getpid()))
            try:
                outcome, note = run_case(index, seed, Path(tmp))
            except MemoryError:
                outcome, note = "blow-up", "MemoryError"
            except Exception:  # the point of the bench: anything escaping is a crash
                outcome, note = "crash", traceback.format_exc(limit=-4)
            results.put((outcome, index, note, os.getpid()))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case")
    ap.add_argument("--memory", type=int, default=2048, help="MiB of address space per worker")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=20, help="problems to print")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    tasks: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    for i in range(args.cases):
        tasks.put(i)
    memory = args.memory * 1024 * 1024

    def spawn() -> mp.Process:
        p = ctx.Process(target=worker, args=(tasks, results, memory, args.seed), daemon=True)
        p.start()
        return p

    procs = {p.pid: p for p in (spawn() for _ in range(args.workers))}
    running: dict[int, tuple[int, float]] = {}  # pid -> (case, start)
    counts: Counter[str] = Counter()
    problems: list[str] = []
    slowest = (0.0, -1)
    done = 0
    start = time.monotonic()
    while done < args.cases:
        try:
            kind, index, note, pid = results.get(timeout=1.0)
        except queue.Empty:
            kind = ""
        now = time.monotonic()
        if kind == "start":
            running[pid] = (index, now)
        elif kind:
            case, began = running.pop(pid, (index, now))
            slowest = max(slowest, (now - began, case))
            counts[kind] += 1
            done += 1
            if kind not in ("rejected", "equal"):
                problems.append(f"[{kind}] case {index}: {note}")
        for pid, (case, began) in list(running.items()):
            p = procs[pid]
            hung = now - began > args.timeout
            if hung or not p.is_alive():
                if p.is_alive():
                    p.kill()
                p.join()
                del running[pid], procs[pid]
                kind = "hang" if hung else "blow-up"
                counts[kind] += 1
                done += 1
                problems.append(f"[{kind}] case {case} (exit code {p.exitcode})")
                fresh = spawn()
                procs[fresh.pid] = fresh  # type: ignore[index]
        if done and done % 5000 == 0 and kind in OUTCOMES:
            rate = done / (time.monotonic() - start)
            print(f"  {done} cases, {rate:.1f}/s: {dict(counts)}", flush=True)
    for _ in procs:
        tasks.put(None)
    elapsed = time.monotonic() - start
    for p in problems[: args.show]:
        print(p)
    print(
        f"{done} formulas in {elapsed:.0f} s ({done / elapsed:.1f}/s, {args.workers} workers, "
        f"{args.timeout:g} s and {args.memory} MiB per case); slowest case {slowest[1]}: "
        f"{slowest[0]:.2f} s"
    )
    print("  ".join(f"{k}: {counts.get(k, 0)}" for k in OUTCOMES))


if __name__ == "__main__":
    main()
