"""Where a sweep's time goes: one SQLite sweep timed plainly, then the same sweep on a copy under cProfile.

    python -m bench.sweep_profile [--stored 100000] [--due 10000] [--batch 1000] [--top 25]

Seeds the realistic layout (`bench.sweep_data`) once, untimed, into a SQLite file; sweeps one copy in this process
without a profiler (its CPU time per expiry is the figure to compare between changes) and another under cProfile
counting CPU time (on a shared machine, wall time is mostly waiting for a core), which prints own time per expiry
grouped by where the code lives, then the top functions by own time. The profiler inflates Python-heavy areas, so
its figures are shares, not speeds. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.engine_run import SECRET_KEY
from bench.profiling import own_seconds_by_area
from bench.summary import print_summary
from bench.sweep_data import outcome, seed
from bench.workflow import write_expiry_workflow_folder
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST

# Checked in order: the first mark found in "file:function" names the area.
_AREAS = (
    ("sqlite3 (C: execute, commit)", ("sqlite3.",)),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("transitions (state machine)", ("/transitions/",)),
    ("engine/audit", ("/engine/audit/",)),
    ("engine/timers", ("/engine/timers/",)),
    ("engine/fsm", ("/engine/fsm/",)),
    ("engine/background", ("/engine/background/",)),
    ("engine/ (other)", ("/engine/",)),
    ("definitions/", ("/definitions/",)),
    ("json/hashlib/datetime", ("/json/", "hashlib", "datetime", "fromisoformat", "isoformat")),
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=100_000, help="enrollments stored (default 100,000)")
    parser.add_argument("--due", type=int, default=10_000, help="expiries due among them (default 10,000)")
    parser.add_argument("--batch", type=int, default=1000, help="timers per sweep transaction (default 1000)")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time (default 25)")
    args = parser.parse_args(argv)
    if args.due < 1 or args.stored < args.due or args.batch < 1:
        parser.error("need 1 <= --due <= --stored and --batch >= 1")
    return args


def _sweep(database: Path, workflows: Path, batch: int, profiler: cProfile.Profile | None) -> tuple[float, float]:
    """One full sweep of `database` in this process: (wall seconds, CPU seconds)."""
    flow = build(f"sqlite:///{database}", workflows, hash_cost=TEST_COST, secret_key=SECRET_KEY,
                 mail_folder=workflows / "mail")
    flow.sweeper.batch = batch
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        flow.sweeper.sweep()
        if profiler is not None:
            profiler.disable()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        flow.db.dispose()


def own_time_by_area(stats: pstats.Stats, n: int) -> dict[str, float]:
    """Own time per expiry (us) grouped by where the code lives, printed as a budget."""
    totals = own_seconds_by_area(stats, _AREAS, "other (builtins)")
    whole = sum(totals.values())
    print("Own time by area, under the profiler:")
    for area, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {area:<30} {1e6 * own / n:7.1f} us per expiry  {100 * own / whole:5.1f} %")
    return {area: 1e6 * own / n for area, own in totals.items()}


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="portalflow-sweep-profile-") as tmp:
        root = Path(tmp)
        workflows = write_expiry_workflow_folder(root / "workflows")
        template = root / "template.db"
        flow = build(f"sqlite:///{template}", workflows, hash_cost=TEST_COST, secret_key=SECRET_KEY,
                     mail_folder=workflows / "mail")
        now = datetime.now(UTC)
        try:
            seed(flow.db, args.stored, args.due, now)
        finally:
            flow.db.dispose()
        raw = sqlite3.connect(template)
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        plain, profiled = root / "plain.db", root / "profiled.db"
        shutil.copyfile(template, plain)
        shutil.copyfile(template, profiled)
        wall, cpu = _sweep(plain, workflows, args.batch, None)
        flow = build(f"sqlite:///{plain}", workflows, hash_cost=TEST_COST, secret_key=SECRET_KEY,
                     mail_folder=workflows / "mail")
        try:
            left = outcome(flow.db, now)
        finally:
            flow.db.dispose()
        print(f"sweep of {args.due:,} due among {args.stored:,} (batch {args.batch}), no profiler: "
              f"{args.due / wall:,.0f} expiries/s, CPU {1e6 * cpu / args.due:.1f} us per expiry, "
              f"wall {1e6 * wall / args.due:.1f} us; {left}")
        profiler = cProfile.Profile(time.process_time)  # CPU time: waiting for a shared core or the disk is not work
        _sweep(profiled, workflows, args.batch, profiler)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    areas = own_time_by_area(stats, args.due)
    print(f"Top {args.top} by own time:")
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(args.top)
    print_summary("sweep_profile", {"expiries_per_s": args.due / wall, "cpu_us_per_expiry": 1e6 * cpu / args.due,
                                    "exact": left.exact(args.due), "profiled_us_per_expiry": areas})
    return 0 if left.exact(args.due) else 1


if __name__ == "__main__":
    raise SystemExit(main())
