"""`make bench-sweep`: the sweep firing due expiries through the engine, beside a set-based SQL baseline.

    python -m bench.sweep [--stored 1000000] [--due 100000] [--batch 100] [--processes 1 4] [--postgres URL]
                          [--no-postgres]

For each database (a SQLite file; PostgreSQL at PORTALFLOW_TEST_DATABASE_URL or --postgres), untimed: fresh tables,
`--stored` enrollments of a PIN-expiry workflow each with a pending expiry timer, `--due` of them due. Timed:
- engine: `portalflow`'s own sweep (`engine.background.sweep.Sweeper.sweep`) in 1 process (SQLite) or in each of
  `--processes` processes at once (PostgreSQL), every expiry through the state machine with its audit row;
- baseline: the same writes set-based, one INSERT .. SELECT and UPDATEs in one transaction (`bench.sweep_data`).
Each run prints expiries/s, the duplicates and misses it left (both must be 0), and the engine's ratio to the
baseline of the same database in the same run. The issue's targets: SQLite >= 20,000 expiries/s through the
engine; PostgreSQL with 4 processes >= 10,000/s.
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
from bench.sweep_data import Outcome, baseline, outcome, seed
from bench.workflow import write_expiry_workflow_folder
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.storage.database import make_engine

POSTGRES_ENV = "PORTALFLOW_TEST_DATABASE_URL"
TARGETS = {"sqlite": 20_000.0, "postgresql x4": 10_000.0}


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    result: Outcome
    detail: str = ""

    def rate(self, due: int) -> float:
        return due / self.seconds if self.seconds else 0.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=1_000_000, help="enrollments stored (default 1,000,000)")
    parser.add_argument("--due", type=int, default=100_000, help="expiries due among them (default 100,000)")
    parser.add_argument("--batch", type=int, default=100, help="timers per sweep transaction (default 100)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4], help="PostgreSQL sweepers (1 4)")
    parser.add_argument("--postgres", default=os.environ.get(POSTGRES_ENV), help=f"URL (default ${POSTGRES_ENV})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if args.due < 1 or args.stored < args.due or args.batch < 1 or min(args.processes) < 1:
        parser.error("need 1 <= --due <= --stored, --batch >= 1 and --processes >= 1")
    return args


def _sweeper(url: str, workflows: str, mail: str, batch: int, barrier: Barrier, results: Any) -> None:
    """One sweeping process: built as the service builds itself, then one full sweep once all are ready."""
    flow = build(url, Path(workflows), hash_cost=TEST_COST, secret_key=SECRET_KEY, mail_folder=Path(mail))
    flow.sweeper.batch = batch
    try:
        barrier.wait()
        report = flow.sweeper.sweep()
        results.put((dict(report.counts), report.problems[:3]))
    finally:
        flow.db.dispose()


def _engine_run(url: str, workflows: Path, batch: int, processes: int) -> tuple[float, str]:
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
    fired = [counts.get("fired", 0) for counts, _ in reports]
    problems = [p for _, found in reports for p in found]
    detail = f"fired per process {fired}" + (f"; problems: {problems}" if problems else "")
    return seconds, detail


def _baseline_run(url: str, now: datetime) -> float:
    db = make_engine(url)
    try:
        began = time.perf_counter()
        with db.begin() as conn:
            baseline(conn, now)
        return time.perf_counter() - began
    finally:
        db.dispose()


def _prepare(url: str, workflows: Path, stored: int, due: int) -> tuple[datetime, float]:
    """Schema, the published workflow, and the seeded rows; returns the seeding's 'now' and how long it took."""
    flow = build(url, workflows, hash_cost=TEST_COST, secret_key=SECRET_KEY, mail_folder=workflows / "mail")
    try:
        began = time.perf_counter()
        now = datetime.now(UTC)
        seed(flow.db, stored, due, now)
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


def _check(label: str, url: str, now: datetime, seconds: float, detail: str = "") -> Run:
    db = make_engine(url)
    try:
        return Run(label, seconds, outcome(db, now), detail)
    finally:
        db.dispose()


def _sqlite_runs(root: Path, workflows: Path, args: argparse.Namespace) -> list[Run]:
    template = root / "template.db"
    now, seeding = _prepare(f"sqlite:///{template}", workflows, args.stored, args.due)
    print(f"sqlite: seeded {args.stored:,} enrollments ({args.due:,} due) in {seeding:.1f} s "
          f"({template.stat().st_size / 2**20:.0f} MiB), untimed")
    runs = []
    for label in ("sqlite baseline", "sqlite"):
        copy = root / f"{label.replace(' ', '-')}.db"
        shutil.copyfile(template, copy)
        url = f"sqlite:///{copy}"
        if label == "sqlite":
            seconds, detail = _engine_run(url, workflows, args.batch, 1)
        else:
            seconds, detail = _baseline_run(url, now), "one transaction, set-based"
        runs.append(_check(label, url, now, seconds, detail))
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


def _postgres_runs(url: str, workflows: Path, args: argparse.Namespace) -> list[Run]:
    runs = []
    for label, processes in [("postgresql baseline", 0), *((f"postgresql x{n}", n) for n in args.processes)]:
        with _schema(url) as scoped:
            now, seeding = _prepare(scoped, workflows, args.stored, args.due)
            print(f"{label}: seeded {args.stored:,} enrollments ({args.due:,} due) in {seeding:.1f} s, untimed")
            if processes:
                seconds, detail = _engine_run(scoped, workflows, args.batch, processes)
            else:
                seconds, detail = _baseline_run(scoped, now), "one transaction, set-based"
            runs.append(_check(label, scoped, now, seconds, detail))
            _print(runs[-1], args.due)
    return runs


def _print(run: Run, due: int) -> None:
    print(f"  {run.label:<20} {run.rate(due):9.0f} expiries/s  ({due:,} in {run.seconds:7.2f} s)  {run.result}"
          + (f"  [{run.detail}]" if run.detail else ""))


def _summary(runs: list[Run], due: int) -> bool:
    by_label = {r.label: r for r in runs}
    exact = True
    print("\nsummary:")
    for run in runs:
        exact &= run.result.exact(due)
        if run.label.endswith("baseline"):
            continue
        base = by_label.get(f"{run.label.split(' ')[0]} baseline")
        ratio = run.rate(due) / base.rate(due) if base else 0.0
        target = TARGETS.get(run.label)
        verdict = "" if target is None else (f"; target >= {target:,.0f}/s: "
                                             f"{'met' if run.rate(due) >= target else 'NOT met'}")
        print(f"  {run.label:<16} {run.rate(due):9.0f} expiries/s, {ratio:.3f}x its set-based baseline "
              f"({base.rate(due) if base else 0:,.0f}/s); duplicates {run.result.duplicates}, "
              f"missed {run.result.missed}{verdict}")
    print(f"  exactly once in every run: {'yes' if exact else 'NO'}")
    return exact


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    print(f"PortalFlow sweep bench: {args.stored:,} stored, {args.due:,} due, batch {args.batch}; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="portalflow-sweep-bench-") as tmp:
        root = Path(tmp)
        workflows = write_expiry_workflow_folder(root / "workflows")
        runs = _sqlite_runs(root, workflows, args)
        if args.postgres and not args.no_postgres:
            runs += _postgres_runs(args.postgres, workflows, args)
        elif not args.no_postgres:
            print(f"postgresql: skipped (set {POSTGRES_ENV} or pass --postgres URL)")
    return 0 if _summary(runs, args.due) else 1


if __name__ == "__main__":
    raise SystemExit(main())
