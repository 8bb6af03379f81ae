"""The engine side: a fresh SQLite file, N patients with an enrollment each, then one `advance` per enrollment.

Everything runs through `engine.bootstrap.build` exactly as the service wires it (system clock, WAL,
synchronous=FULL, BEGIN IMMEDIATE), with the cheap test hash cost, though the benchmark transition hashes no PIN.
Each advance is one database transaction: read, optimistic version check, machine fire, audit row with its hash
chain, version-checked UPDATE, commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from bench.memory import Samples
from bench.workflow import TRIGGER, WORKFLOW_ID
from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.storage.tables import enrollments, patients, sites, staff_users

STAFF = ActorRef("bench", "staff", Actor.STAFF)
SECRET_KEY = b"q" * 43 + b"="

Probe = Callable[[], int]


@dataclass
class Pass:
    """One timed pass over N enrollments."""

    commits: int
    seconds: float
    memory: Samples = field(default_factory=Samples)

    @property
    def rate(self) -> float:
        return self.commits / self.seconds


def seed(db: Engine, n: int) -> list[str]:
    """One site, one staff user, N patients (each with a personal email, so `email_on_file` passes)."""
    ids = [f"p{i:07d}" for i in range(n)]
    with db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Bench Practice", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
        conn.execute(insert(staff_users).values(id=STAFF.id, name="Bench Staff", role="staff",
                                                linked_to_staff_record=True, active=True))
        conn.execute(insert(patients), [
            {"id": pid, "site_id": "main", "given_name": "Pat", "family_name": f"Bench{i}",
             "birth_date": date(1980, 1, 1), "email": f"{pid}@example.test", "email_confirmed_personal": True,
             "name_is_placeholder": False, "portal_access_enabled": False} for i, pid in enumerate(ids)])
    return ids


@dataclass
class EngineSetup:
    flow: PortalFlow
    enrollment_ids: list[str]
    start_seconds: float

    @classmethod
    def create(cls, folder: Path, workflows: Path, n: int) -> EngineSetup:
        folder.mkdir(parents=True, exist_ok=True)
        flow = build(f"sqlite:///{folder / 'engine.db'}", workflows, hash_cost=TEST_COST, secret_key=SECRET_KEY)
        patient_ids = seed(flow.db, n)
        began = time.perf_counter()
        ids = [flow.start(StartEnrollment(WORKFLOW_ID, STAFF, patient_id=pid)).enrollment_id for pid in patient_ids]
        return cls(flow, ids, time.perf_counter() - began)

    def advance_all(self, probe: Probe | None = None) -> Pass:
        """Fire the trigger once on every enrollment; `probe` is read after 1/4 and after all (not timed)."""
        flow, ids = self.flow, self.enrollment_ids
        quarter = max(1, len(ids) // 4)
        samples = Samples()
        paused = 0.0
        began = time.perf_counter()
        for done, enrollment_id in enumerate(ids, 1):
            flow.advance(AdvanceEnrollment(enrollment_id, TRIGGER, STAFF, expected_version=1))
            if probe is not None and done == quarter:
                mark = time.perf_counter()
                samples.quarter = probe()
                paused += time.perf_counter() - mark
        elapsed = time.perf_counter() - began - paused
        if probe is not None:
            samples.full = probe()
        return Pass(len(ids), elapsed, samples)

    def check(self) -> str:
        """Every enrollment moved, and the audit chains verify: the engine did all its work, not a shortcut."""
        with self.flow.db.connect() as conn:
            moved = conn.execute(select(func.count()).select_from(enrollments).where(
                enrollments.c.state == "b")).scalar_one()
            report = verify(conn)
        if moved != len(self.enrollment_ids) or not report.ok:
            raise SystemExit(f"engine run is wrong: {moved} of {len(self.enrollment_ids)} moved; "
                             f"audit verify: {report.first_problem}")
        return f"{moved} enrollments in 'b'; audit verified: {report.events_checked} events in {report.chains} chains"

    def close(self) -> None:
        self.flow.db.dispose()
