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
* ``hang``: the case took longer than ``--timeout`` seconds twice (the worker is killed
  and the case run once more on a fresh one: a stall of a shared machine can stop every
  worker at once, a formula that hangs hangs again; such cases are listed);
* ``blow-up``: the worker ran out of its ``--memory`` (RLIMIT_AS) address space.

Cases run in worker processes (``--workers``), each under ``RLIMIT_AS``; the parent
gives each case ``--timeout`` seconds and replaces a worker that hangs or dies. Cases are
reproducible: case i uses ``random.Random(seed * 1_000_003 + i)``; ``--first`` and
``--cases`` pick a range of them, so a long run can be split in chunks.

Each phase of a case (validation; the run with its comparison) is timed, and its peak
resident memory measured: the worker's high-water mark (``VmHWM``) is reset before the
phase (``/proc/self/clear_refs``) and read after it; the growth is that peak minus the
resident memory before the phase. The summary gives the slowest and largest case of each
phase, how many cases validated in more than ``--budget-seconds`` or grew by more than
``--budget-mib`` (the issue's bound for validation: about a second and 200 MB), and the
outcomes by phase.

    nice .venv/bin/python bench/fuzz_formulas.py                   # 100,000 cases
    nice .venv/bin/python bench/fuzz_formulas.py --cases 2000 --workers 2
    nice .venv/bin/python bench/fuzz_formulas.py --first 50000 --cases 50000   # a chunk
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import random
import re
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("rejected", "equal", "mismatch", "crash", "hang", "blow-up")


@dataclass
class Phase:
    """How long a phase of a case took and how far it grew the worker's memory."""

    seconds: float = 0.0
    peak_kib: int = 0  # the worker's peak resident memory during the phase
    growth_kib: int = 0  # that peak minus the resident memory before the phase


def _status(field_name: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


class Meter:
    """Times a phase and measures its peak memory (Linux: VmHWM reset per phase)."""

    def __init__(self) -> None:
        self.resettable = True

    def __enter__(self) -> Phase:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS
        except OSError:
            self.resettable = False
        self.phase = Phase()
        self.before = _status("VmRSS")
        self.start = time.perf_counter()
        return self.phase

    def __exit__(self, *exc: object) -> None:
        self.phase.seconds = time.perf_counter() - self.start
        self.phase.peak_kib = _status("VmHWM")
        self.phase.growth_kib = max(0, self.phase.peak_kib - self.before)


@dataclass
class Outcome:
    """What a case gave: the outcome, the phase it ended in, a note, and its phases."""

    kind: str
    phase: str  # "validation" or "run"
    note: str = ""
    phases: dict[str, Phase] = field(default_factory=dict)


def run_case(index: int, seed: int, tmp: Path) -> Outcome:
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
    out = Outcome("crash", "validation")
    try:
        with Meter() as out.phases["validation"]:
            validated = api.validate(m)
    except MethodologyError as err:
        unplaced = [x for x in err.diagnostics if x.location is None or x.location.column is None]
        if unplaced:
            out.kind, out.note = "mismatch", f"{text}: unlocated {unplaced[0].render()}"
        else:
            out.kind = "rejected"
        return out
    out.phase = "run"
    with Meter() as out.phases["run"]:
        try:
            result = api.run(validated, [d])
        except IndexlabError as err:
            out.kind, out.note = "mismatch", f"{text}: run refused: {err.render()[:300]}"
            return out
        out.kind, out.note = compare(gen, node, placed, keys, rows, result, text)
    return out


def compare(gen, node, placed, keys, rows, result, text) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The run's values against the reference evaluator's: ("equal" or "mismatch", note)."""
    expected = gen.reference(node, placed, keys, rows)
    if placed.output.startswith("check:"):
        (check,) = result.checks
        failing = {(r["unit"], r["year"]) for r in check.failures.iter_rows(named=True)}
        if failing != {k for k, v in zip(keys, expected) if v is False}:
            return "mismatch", f"{text}: failing rows {sorted(failing)}"
        if check.tested != sum(v is not None for v in expected):
            return "mismatch", f"{text}: {check.tested} rows tested"
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
    # imported before the first case, so that its time is the case's own
    import engine.api  # noqa: F401
    import tests.formulagen  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        while True:
            index = tasks.get()
            if index is None:
                return
            results.put(("start", index, None, os.getpid()))
            try:
                outcome = run_case(index, seed, Path(tmp))
            except MemoryError:
                outcome = Outcome("blow-up", "?", "MemoryError")
            except Exception:  # the point of the bench: anything escaping is a crash
                outcome = Outcome("crash", "?", traceback.format_exc(limit=-4))
            results.put(("done", index, outcome, os.getpid()))


@dataclass
class Tally:
    """Outcomes by phase, and the slowest and largest case of each phase."""

    counts: Counter[str] = field(default_factory=Counter)
    by_phase: Counter[tuple[str, str]] = field(default_factory=Counter)
    slowest: dict[str, tuple[float, int]] = field(default_factory=dict)
    largest: dict[str, tuple[int, int]] = field(default_factory=dict)
    growth: dict[str, tuple[int, int]] = field(default_factory=dict)
    over_budget: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def add(self, index: int, o: Outcome, budget_s: float, budget_kib: int) -> None:
        self.counts[o.kind] += 1
        self.by_phase[(o.phase, o.kind)] += 1
        for name, p in o.phases.items():
            self.slowest[name] = max(self.slowest.get(name, (0.0, -1)), (p.seconds, index))
            self.largest[name] = max(self.largest.get(name, (0, -1)), (p.peak_kib, index))
            self.growth[name] = max(self.growth.get(name, (0, -1)), (p.growth_kib, index))
            if name == "validation" and p.seconds > budget_s:
                self.over_budget["validation seconds"] += 1
            if name == "validation" and p.growth_kib > budget_kib:
                self.over_budget["validation memory"] += 1
        if o.kind not in ("rejected", "equal"):
            self.problems.append(f"[{o.kind}] case {index} ({o.phase}): {o.note}")
            print(self.problems[-1][:300], flush=True)  # as it happens, for long runs

    def report(self) -> list[str]:
        lines = []
        for name in ("validation", "run"):
            if name not in self.slowest:
                continue
            t, ti = self.slowest[name]
            peak, pi = self.largest[name]
            grow, gi = self.growth[name]
            lines.append(
                f"  {name:<10} slowest case {ti}: {t:.2f} s; largest peak RSS case {pi}: "
                f"{peak / 1024:.0f} MiB; largest growth case {gi}: {grow / 1024:.0f} MiB"
            )
        phases = sorted({p for p, _ in self.by_phase})
        for phase in phases:
            kinds = {k: n for (p, k), n in sorted(self.by_phase.items()) if p == phase}
            lines.append(f"  ended in {phase}: " + ", ".join(f"{k} {n}" for k, n in kinds.items()))
        over = ", ".join(f"{k}: {n}" for k, n in self.over_budget.items()) or "none"
        lines.append(f"  over the validation budget: {over}")
        return lines


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--first", type=int, default=0, help="index of the first case")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case")
    ap.add_argument("--memory", type=int, default=2048, help="MiB of address space per worker")
    ap.add_argument("--budget-seconds", type=float, default=1.0, help="validation time bound")
    ap.add_argument("--budget-mib", type=int, default=200, help="validation memory growth bound")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=20, help="problems to print")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    tasks: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    for i in range(args.first, args.first + args.cases):
        tasks.put(i)
    memory = args.memory * 1024 * 1024

    def spawn() -> mp.Process:
        p = ctx.Process(target=worker, args=(tasks, results, memory, args.seed), daemon=True)
        p.start()
        return p

    procs = {p.pid: p for p in (spawn() for _ in range(args.workers))}
    running: dict[int, tuple[int, float]] = {}  # pid -> (case, start)
    tally = Tally()
    retried: set[int] = set()  # cases that timed out once (see below)
    done = 0
    start = time.monotonic()
    while done < args.cases:
        try:
            kind, index, outcome, pid = results.get(timeout=1.0)
        except queue.Empty:
            kind = ""
        now = time.monotonic()
        if kind == "start":
            running[pid] = (index, now)
        elif kind == "done":
            running.pop(pid, None)
            tally.add(index, outcome, args.budget_seconds, args.budget_mib * 1024)
            done += 1
            if done % 5000 == 0:
                rate = done / (now - start)
                print(f"  {done} cases, {rate:.1f}/s: {dict(tally.counts)}", flush=True)
        for pid, (case, began) in list(running.items()):
            p = procs[pid]
            hung = now - began > args.timeout
            if hung or not p.is_alive():
                if p.is_alive():
                    p.kill()
                p.join()
                del running[pid], procs[pid]
                if hung and case not in retried:
                    # once more on a fresh worker: on a shared machine a stall can stop
                    # every worker at once; a formula that hangs hangs again
                    retried.add(case)
                    tasks.put(case)
                else:
                    lost = Outcome("hang" if hung else "blow-up", "?", f"exit code {p.exitcode}")
                    tally.add(case, lost, args.budget_seconds, args.budget_mib * 1024)
                    done += 1
                fresh = spawn()
                procs[fresh.pid] = fresh  # type: ignore[index]
    for _ in procs:
        tasks.put(None)
    elapsed = time.monotonic() - start
    if tally.problems:
        print(f"first {min(args.show, len(tally.problems))} problems in full:")
    for line in tally.problems[: args.show]:
        print(line)
    print(
        f"{done} formulas (cases {args.first}-{args.first + args.cases - 1}, seed {args.seed}) "
        f"in {elapsed:.0f} s ({done / elapsed:.1f}/s, {args.workers} workers, "
        f"{args.timeout:g} s and {args.memory} MiB per case)"
    )
    print("  ".join(f"{k}: {tally.counts.get(k, 0)}" for k in OUTCOMES))
    if retried:
        print(f"  timed out once and run again on a fresh worker: {sorted(retried)}")
    print("\n".join(tally.report()))


if __name__ == "__main__":
    main()
