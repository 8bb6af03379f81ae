"""The untimed extra passes of `python -m bench`: one under tracemalloc (memory kept per enrollment) and one under
cProfile (where the time of a transition goes, as a budget per area and as the usual top-15 tables)."""

from __future__ import annotations

import cProfile
import pstats
import sys
import tracemalloc
from pathlib import Path

from bench.engine_run import EngineSetup
from bench.memory import mib, traced_bytes


def traced(folder: Path, workflows: Path, n: int) -> dict[str, float]:
    """Allocations still alive while advancing; printed, and the growth per enrollment returned."""
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
    return {"traced_growth_b_per_enrollment": per, "traced_peak_mib": peak / 2**20}


def profile(folder: Path, workflows: Path, n: int) -> dict[str, float]:
    """One engine pass under cProfile; printed, and the own time per transition of each area returned (us)."""
    setup = EngineSetup.create(folder, workflows, n)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        run = setup.advance_all()
        profiler.disable()
    finally:
        setup.close()
    print(f"\ncProfile of one engine pass in {folder.parent} ({n} transitions, {run.rate:.0f} commits/s under the "
          "profiler):")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    areas = _own_time_by_area(stats, n)
    stats.strip_dirs().sort_stats(pstats.SortKey.CUMULATIVE).print_stats(15)
    print("Same pass, top 15 by own (total) time:")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(15)
    return areas


# The engine's connection class wraps pysqlite's commit (engine/storage/write_queue.py): its commit is the driver's.
_AREAS = (("sqlite3 (C: execute, commit)", ("sqlite3.", "QueuedConnection.commit")), ("sqlalchemy", ("/sqlalchemy/",)),
          ("transitions (state machine)", ("/transitions/",)), ("engine/", ("/engine/",)),
          ("definitions/", ("/definitions/",)), ("json/hashlib/uuid/datetime", ("/json/", "hashlib", "datetime")))


Areas = tuple[tuple[str, tuple[str, ...]], ...]  # (name, marks): the first name with a mark in "file:function"


def own_seconds_by_area(stats: pstats.Stats, areas: Areas, other: str) -> dict[str, float]:
    """Own time in seconds grouped by where the code lives (`areas`; `other` for the rest): a budget to read."""
    totals: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in raw.items():
        where = f"{filename}:{function}"
        area = next((name for name, marks in areas if any(m in where for m in marks)), other)
        totals[area] = totals.get(area, 0.0) + own
    return totals


def _own_time_by_area(stats: pstats.Stats, n: int) -> dict[str, float]:
    """Own time grouped by where the code lives, so the per-transition cost reads as a budget."""
    totals = own_seconds_by_area(stats, _AREAS, "other (builtins, bench)")
    whole = sum(totals.values())
    print("Own time by area (under the profiler, which inflates Python-heavy areas):")
    for area, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {area:<30} {own:6.2f} s  {100 * own / whole:5.1f} %  {1e6 * own / n:7.0f} us per transition")
    return {area: 1e6 * own / n for area, own in totals.items()}
