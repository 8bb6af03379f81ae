"""`make bench`: engine transitions per second against a raw-SQL baseline, memory, and optionally a profile.

    python -m bench [--n 5000] [--rounds 3] [--guard] [--profile] [--no-tracemalloc] [--check]

Each round builds fresh SQLite files (untimed): N patients, N enrollments started through the engine (their
start rate is shown for information). The timed part fires one transition per enrollment, one commit each.
Engine and baseline alternate (E B C, C B E, ...) so a noisy neighbour hurts both alike; the best round of each
is compared (the least disturbed), and the median is shown beside it. A third, informational side (C) does
the baseline's writes through SQLAlchemy Core with statements built once: the cost floor of Core itself.
Memory: RSS sampled after 1/4 and after all of N in every timed pass, the process's peak RSS, and a separate
untimed pass under tracemalloc. `--profile` adds one more pass under cProfile.
The issue's target: engine >= 0.7x baseline.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import tracemalloc
from pathlib import Path

from bench.baseline import BaselineSetup
from bench.engine_run import EngineSetup, Pass
from bench.memory import mib, peak_rss_bytes, rss_bytes, traced_bytes
from bench.workflow import write_workflow_folder

TARGET = 0.7


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="enrollments per pass (default 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes of each side (default 3, best kept)")
    parser.add_argument("--guard", action="store_true", help="give the transition one cheap guard (email_on_file)")
    parser.add_argument("--profile", action="store_true", help="profile one engine pass (top 15 by cumulative time)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--check", action="store_true", help="exit 1 when the engine is below the target ratio")
    args = parser.parse_args(argv)
    if args.n < 4 or args.rounds < 1:
        parser.error("--n must be at least 4 and --rounds at least 1")
    return args


def _line(label: str, run: Pass) -> str:
    return (f"  {label:<9} {run.rate:8.0f} commits/s  ({run.commits} in {run.seconds:6.2f} s)  "
            f"RSS after 1/4 {mib(run.memory.quarter)}, after all {mib(run.memory.full)}")


def _engine_pass(folder: Path, workflows: Path, n: int) -> tuple[Pass, str, float]:
    setup = EngineSetup.create(folder, workflows, n)
    try:
        run = setup.advance_all(rss_bytes)
        return run, setup.check(), n / setup.start_seconds
    finally:
        setup.close()


def _baseline_pass(folder: Path, n: int, *, core: bool = False) -> Pass:
    setup = BaselineSetup.create(folder, n)
    try:
        return setup.advance_all_core(rss_bytes) if core else setup.advance_all(rss_bytes)
    finally:
        setup.close()


def _traced(folder: Path, workflows: Path, n: int) -> None:
    setup = EngineSetup.create(folder, workflows, n)
    try:
        tracemalloc.start()
        before = traced_bytes()
        run = setup.advance_all(traced_bytes)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        setup.close()
    quarter = n // 4
    per = run.memory.growth / (n - quarter)
    print(f"tracemalloc (engine, allocations made while advancing, after gc): start {mib(before)}, "
          f"after 1/4 {mib(run.memory.quarter)}, after all {mib(run.memory.full)}, "
          f"growth 1/4->all {run.memory.growth / 1024:+.1f} KiB ({per:+.1f} B per enrollment), "
          f"traced peak {mib(peak)}")


def _profile(folder: Path, workflows: Path, n: int) -> None:
    setup = EngineSetup.create(folder, workflows, n)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        run = setup.advance_all()
        profiler.disable()
    finally:
        setup.close()
    print(f"\ncProfile of one engine pass ({n} transitions, {run.rate:.0f} commits/s under the profiler):")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    _own_time_by_area(stats, n)
    stats.strip_dirs().sort_stats(pstats.SortKey.CUMULATIVE).print_stats(15)
    print("Same pass, top 15 by own (total) time:")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(15)


_AREAS = (("sqlite3 (C: execute, commit)", ("sqlite3.",)), ("sqlalchemy", ("/sqlalchemy/",)),
          ("transitions (state machine)", ("/transitions/",)), ("engine/", ("/engine/",)),
          ("definitions/", ("/definitions/",)), ("json/hashlib/uuid/datetime", ("/json/", "hashlib", "datetime")))


def _own_time_by_area(stats: pstats.Stats, n: int) -> None:
    """Own time grouped by where the code lives, so the per-transition cost reads as a budget."""
    totals: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        where = f"{filename}:{function}"
        area = next((name for name, marks in _AREAS if any(m in where for m in marks)), "other (builtins, bench)")
        totals[area] = totals.get(area, 0.0) + own
    whole = sum(totals.values())
    print("Own time by area (under the profiler, which inflates Python-heavy areas):")
    for area, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {area:<30} {own:6.2f} s  {100 * own / whole:5.1f} %  {1e6 * own / n:7.0f} us per transition")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    n = args.n
    print(f"PortalFlow bench: {n} enrollments per pass, {args.rounds} rounds, transition a->b "
          f"({'one guard: email_on_file' if args.guard else 'no guard, no effect'}); "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    engine_runs: list[Pass] = []
    baseline_runs: list[Pass] = []
    core_runs: list[Pass] = []
    with tempfile.TemporaryDirectory(prefix="portalflow-bench-") as tmp:
        root = Path(tmp)
        workflows = write_workflow_folder(root / "workflows", guard=args.guard)
        for r in range(args.rounds):
            order = ("engine", "baseline", "core") if r % 2 == 0 else ("core", "baseline", "engine")
            print(f"round {r + 1}:")
            for side in order:
                folder = root / f"round{r}-{side}"
                if side == "engine":
                    run, checked, start_rate = _engine_pass(folder, workflows, n)
                    engine_runs.append(run)
                    print(_line("engine", run) + f"  [starts {start_rate:.0f}/s; {checked}]")
                elif side == "baseline":
                    run = _baseline_pass(folder, n)
                    baseline_runs.append(run)
                    print(_line("baseline", run))
                else:
                    run = _baseline_pass(folder, n, core=True)
                    core_runs.append(run)
                    print(_line("core", run) + "  [informational: same writes, SQLAlchemy Core, prebuilt statements]")
        best_engine = max(r.rate for r in engine_runs)
        best_baseline = max(r.rate for r in baseline_runs)
        median_engine = statistics.median(r.rate for r in engine_runs)
        median_baseline = statistics.median(r.rate for r in baseline_runs)
        best_core = max(r.rate for r in core_runs)
        ratio = best_engine / best_baseline
        print(f"\nengine   best {best_engine:.0f} commits/s, median {median_engine:.0f}")
        print(f"baseline best {best_baseline:.0f} commits/s, median {median_baseline:.0f}")
        median_core = statistics.median(r.rate for r in core_runs)
        print(f"core     best {best_core:.0f} commits/s, median {median_core:.0f} "
              f"(informational: {best_core / best_baseline:.2f}x baseline; engine {best_engine / best_core:.2f}x it)")
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(f"ratio engine/baseline: best/best {ratio:.2f}x, median/median "
              f"{median_engine / median_baseline:.2f}x (target >= {TARGET}x: {verdict})")
        print(f"engine cost per transition ~{1e6 / best_engine:.0f} us vs baseline ~{1e6 / best_baseline:.0f} us "
              f"(engine overhead ~{1e6 / best_engine - 1e6 / best_baseline:.0f} us)")
        growth = [r.memory.growth for r in engine_runs]
        print(f"RSS growth after 1/4 -> after all, engine passes: {', '.join(f'{g / 1024:+.0f} KiB' for g in growth)}; "
              f"peak RSS of the process {mib(peak_rss_bytes())}")
        if not args.no_tracemalloc:
            _traced(root / "traced", workflows, n)
        if args.profile:
            _profile(root / "profiled", workflows, n)
    return 1 if args.check and ratio < TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
