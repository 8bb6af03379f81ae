"""`make bench-sweep`: the sweep firing due expiries through the engine, beside a set-based SQL baseline.

    python -m bench.sweep [--stored 1000000] [--due 100000] [--batch 1000] [--processes 4] [--repeat 1]
                          [--layouts realistic scattered] [--postgres URL] [--no-postgres] [--no-sqlite]

For each database (a SQLite file; PostgreSQL at PORTALFLOW_TEST_DATABASE_URL or --postgres) and each layout of the
rows (`bench.sweep_data`: `realistic`, due rows together in time with time-ordered keys, as the engine now stores
them; `scattered`, random keys with every (stored/due)-th due), untimed: fresh tables, `--stored` enrollments of a
PIN-expiry workflow each with a pending expiry timer, `--due` of them due. Timed:
- engine: `portalflow`'s own sweep (`engine.background.sweep.Sweeper.sweep`) in 1 process (SQLite) or in each of
  `--processes` processes at once (PostgreSQL), every expiry through the state machine with its audit row;
- baseline: the same writes set-based, one INSERT .. SELECT and UPDATEs in one transaction (`bench.sweep_data`).
Each run prints expiries/s and what it left: duplicates, misses and early firings (all must be 0) and, for the
engine, whether `audit verify` accepts every chain. The issue's targets, on the realistic layout: SQLite >= 20,000
expiries/s through the engine; PostgreSQL with 4 processes >= 10,000/s. With `--repeat N` every run is made N times
(SQLite: each on a fresh copy of one seeded file; PostgreSQL: each on freshly seeded tables) and the summary gives the
best of them, every one of which must have done the work exactly once. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.engine_run import SECRET_KEY
from bench.memory import peak_rss_bytes
from bench.summary import print_summary
from bench.sweep_data import LAYOUTS, Outcome, baseline, outcome, seed
from bench.workflow import write_expiry_workflow_folder
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.storage.database import make_engine

POSTGRES_ENV = "PORTALFLOW_TEST_DATABASE_URL"
TARGETS = {"sqlite realistic": 20_000.0, "postgresql x4 realistic": 10_000.0}


@dataclass(frozen=True)
class Run:
    label: str  # "sqlite realistic", "postgresql x4 scattered", "sqlite realistic baseline", ...
    seconds: float
    result: Outcome
    detail: str = ""
    verifies: bool | None = None  # None: not checked (a baseline's hashes are constants)
    rss_mib: float = 0.0  # the largest sweeping process's peak
    cpu_seconds: float = 0.0  # the sweeping processes' own CPU time, together (not the database server's)

    def rate(self, due: int) -> float:
        return due / self.seconds if self.seconds else 0.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=1_000_000, help="enrollments stored (default 1,000,000)")
    parser.add_argument("--due", type=int, default=100_000, help="expiries due among them (default 100,000)")
    parser.add_argument("--batch", type=int, default=1000, help="timers per sweep transaction (default 1000)")
    parser.add_argument("--processes", type=int, nargs="+", default=[4], help="PostgreSQL sweepers (default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind, the best reported (default 1)")
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS), help="row layouts")
    parser.add_argument("--postgres", default=os.environ.get(POSTGRES_ENV), help=f"URL (default ${POSTGRES_ENV})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    if args.due < 1 or args.stored < args.due or args.batch < 1 or min(args.processes) < 1 or args.repeat < 1:
        parser.error("need 1 <= --due <= --stored, --batch >= 1, --processes >= 1 and --repeat >= 1")
    return args


def _sweeper(url: str, workflows: str, mail: str, batch: int, barrier: Barrier, results: Any) -> None:
    """One sweeping process: built as the service builds itself, then one full sweep once all are ready."""
    flow = build(url, Path(workflows), hash_cost=TEST_COST, secret_key=SECRET_KEY, mail_folder=Path(mail))
    flow.sweeper.batch = batch
    try:
        barrier.wait()
        cpu = time.process_time()
        report = flow.sweeper.sweep()
        cpu = time.process_time() - cpu
        results.put((dict(report.counts), report.problems[:3], peak_rss_bytes() / 2**20, cpu))
    finally:
        flow.db.dispose()


def _engine_run(url: str, workflows: Path, batch: int, processes: int) -> tuple[float, str, float, float]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes + 1), context.Queue()
    workers = [context.Process(target=_sweeper, args=(url, str(workflows), str(workflows / "mail"), batch,
                                                     barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=600)
    began = time.perf_counter()
    reports = [results.get(timeout=3600) for _ in workers]
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    fired = [counts.get("fired", 0) for counts, _, _, _ in reports]
    problems = [p for _, found, _, _ in reports for p in found]
    detail = f"fired per process {fired}" + (f"; problems: {problems}" if problems else "")
    return seconds, detail, max(rss for _, _, rss, _ in reports), sum(cpu for _, _, _, cpu in reports)


def _baseline_run(url: str, now: datetime) -> float:
    db = make_engine(url)
    try:
        began = time.perf_counter()
        with db.begin() as conn:
            baseline(conn, now)
        return time.perf_counter() - began
    finally:
        db.dispose()


def _prepare(url: str, workflows: Path, stored: int, due: int, layout: str) -> tuple[datetime, float]:
    """Schema, the published workflow, and the seeded rows; returns the seeding's 'now' and how long it took."""
    flow = build(url, workflows, hash_cost=TEST_COST, secret_key=SECRET_KEY, mail_folder=workflows / "mail")
    try:
        began = time.perf_counter()
        now = datetime.now(UTC)
        seed(flow.db, stored, due, now, layout)
        seconds = time.perf_counter() - began
    finally:
        flow.db.dispose()
    if url.startswith("sqlite:///"):  # fold the WAL into the file, so that a copy of the file is the whole database
        raw = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return now, seconds


def _check(label: str, url: str, now: datetime, seconds: float, detail: str = "", *, engine: bool = False,
           rss_mib: float = 0.0, cpu_seconds: float = 0.0) -> Run:
    """What the run left; for the engine's runs also whether the audit verifier accepts every chain (untimed)."""
    db = make_engine(url)
    try:
        verifies = None
        if engine:
            with db.connect() as conn:
                verifies = verify(conn).ok
        return Run(label, seconds, outcome(db, now), detail, verifies, rss_mib, cpu_seconds)
    finally:
        db.dispose()


def _sqlite_runs(root: Path, workflows: Path, args: argparse.Namespace, layout: str) -> list[Run]:
    template = root / "template.db"
    now, seeding = _prepare(f"sqlite:///{template}", workflows, args.stored, args.due, layout)
    print(f"sqlite {layout}: seeded {args.stored:,} enrollments ({args.due:,} due) in {seeding:.1f} s "
          f"({template.stat().st_size / 2**20:.0f} MiB), untimed")
    runs = []
    for label in [f"sqlite {layout} baseline", f"sqlite {layout}"] * args.repeat:  # alternately
        copy = root / f"{label.replace(' ', '-')}.db"
        shutil.copyfile(template, copy)
        url = f"sqlite:///{copy}"
        if label.endswith("baseline"):
            runs.append(_check(label, url, now, _baseline_run(url, now), "one transaction, set-based"))
        else:
            seconds, detail, rss, cpu = _engine_run(url, workflows, args.batch, 1)
            runs.append(_check(label, url, now, seconds, detail, engine=True, rss_mib=rss, cpu_seconds=cpu))
        _print(runs[-1], args.due)
        copy.unlink()
    template.unlink()
    return runs


@contextmanager
def _schema(url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one run, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def _postgres_runs(url: str, workflows: Path, args: argparse.Namespace, layout: str) -> list[Run]:
    runs = []
    plan = [(f"postgresql {layout} baseline", 0), *((f"postgresql x{n} {layout}", n) for n in args.processes)]
    plan *= args.repeat  # alternately
    for label, processes in plan:
        with _schema(url) as scoped:
            now, seeding = _prepare(scoped, workflows, args.stored, args.due, layout)
            print(f"{label}: seeded {args.stored:,} enrollments ({args.due:,} due) in {seeding:.1f} s, untimed")
            if processes:
                seconds, detail, rss, cpu = _engine_run(scoped, workflows, args.batch, processes)
                runs.append(_check(label, scoped, now, seconds, detail, engine=True, rss_mib=rss, cpu_seconds=cpu))
            else:
                runs.append(_check(label, scoped, now, _baseline_run(scoped, now), "one transaction, set-based"))
            _print(runs[-1], args.due)
    return runs


def _print(run: Run, due: int) -> None:
    verified = "" if run.verifies is None else (f", audit verifies: {'yes' if run.verifies else 'NO'}, sweeper CPU "
                                                f"{1e6 * run.cpu_seconds / due:.0f} us per expiry")
    print(f"  {run.label:<30} {run.rate(due):9.0f} expiries/s  ({due:,} in {run.seconds:7.2f} s)  {run.result}"
          f"{verified}" + (f"  [{run.detail}]" if run.detail else "") + f"  (load {os.getloadavg()[0]:.1f})")


def _summary(runs: list[Run], due: int) -> tuple[bool, dict[str, Any]]:
    """Print the comparison, the best run of each kind; True when every run did exactly the work once and every
    engine run's audit verifies."""
    by_label: dict[str, Run] = {}
    for run in runs:  # the fastest of each label
        if run.label not in by_label or run.seconds < by_label[run.label].seconds:
            by_label[run.label] = run
    exact = all(run.result.exact(due) and run.verifies is not False for run in runs)
    figures: dict[str, Any] = {}
    repeats = max((sum(r.label == label for r in runs) for label in by_label), default=0)
    print(f"\nsummary{f' (best of {repeats})' if repeats > 1 else ''}:")
    for run in by_label.values():
        if run.label.endswith("baseline"):
            continue
        database, *rest = run.label.split(" ")
        base = by_label.get(f"{database} {rest[-1]} baseline")  # "postgresql x4 realistic": "postgresql realistic .."
        ratio = run.rate(due) / base.rate(due) if base else 0.0
        target = TARGETS.get(run.label)
        verdict = "" if target is None else (f"; target >= {target:,.0f}/s: "
                                             f"{'met' if run.rate(due) >= target else 'NOT met'}")
        print(f"  {run.label:<26} {run.rate(due):9.0f} expiries/s, {ratio:.3f}x its set-based baseline "
              f"({base.rate(due) if base else 0:,.0f}/s); duplicates {run.result.duplicates}, "
              f"missed {run.result.missed}, early {run.result.early}{verdict}")
        key = "_".join([database.replace("postgresql", "postgres"), *rest[:-1]])  # sqlite, postgres_x4
        figures.setdefault(rest[-1], {})[key] = {"expiries_per_s": run.rate(due),
                                                 "baseline_per_s": base.rate(due) if base else None,
                                                 "sweeper_cpu_us_per_expiry": 1e6 * run.cpu_seconds / due}
    print(f"  exactly once, and every chain verifies, in every run: {'yes' if exact else 'NO'}")
    figures = {**figures.get("realistic", {}), "scattered": figures.get("scattered", {}),
               "duplicates": sum(r.result.duplicates for r in runs), "missed": sum(r.result.missed for r in runs),
               "early": sum(r.result.early for r in runs),
               "audit_verifies": all(r.verifies is not False for r in runs),
               "rss_mib": max((r.rss_mib for r in runs), default=0.0)}
    return exact, figures


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    print(f"PortalFlow sweep bench: {args.stored:,} stored, {args.due:,} due, batch {args.batch}; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="portalflow-sweep-bench-") as tmp:
        root = Path(tmp)
        workflows = write_expiry_workflow_folder(root / "workflows")
        for layout in [] if args.no_sqlite else args.layouts:
            runs += _sqlite_runs(root, workflows, args, layout)
        if args.postgres and not args.no_postgres:
            for layout in args.layouts:
                runs += _postgres_runs(args.postgres, workflows, args, layout)
        elif not args.no_postgres:
            print(f"postgresql: skipped (set {POSTGRES_ENV} or pass --postgres URL)")
    exact, figures = _summary(runs, args.due)
    print_summary("sweep", {**figures, "stored": args.stored, "due": args.due, "batch": args.batch,
                            "repeat": args.repeat})
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
