"""Two processes acting on one enrollment at once: one succeeds, the other gets a conflict; nothing is lost."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from practice import seed_practice
from sqlalchemy import func, select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.errors import Conflict
from engine.storage.tables import audit_events, credentials, enrollments

ROOT = Path(__file__).resolve().parents[2]
KEY = b"q" * 43 + b"="
ANA = ActorRef("ana", "staff", Actor.STAFF)


def _advance_in_another_process(url: str, enrollment_id: str, barrier: Any, results: Any) -> None:
    flow = build(url, ROOT / "workflows", hash_cost=TEST_COST, secret_key=KEY)
    barrier.wait(timeout=60)
    try:
        done = flow.advance(AdvanceEnrollment(enrollment_id, "generate_pin", ANA, expected_version=1))
        results.put(("ok", done.version))
    except Conflict as conflict:
        results.put(("conflict", conflict.current))
    finally:
        flow.db.dispose()


def test_two_processes_advancing_one_enrollment_yield_one_success_and_one_conflict(database_url: str) -> None:
    flow = build(database_url, ROOT / "workflows", hash_cost=TEST_COST, secret_key=KEY)
    seed_practice(flow.db)
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_advance_in_another_process,
                               args=(database_url, started.enrollment_id, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert [o[0] for o in outcomes] == ["conflict", "ok"]
    with flow.db.connect() as conn:
        version = conn.execute(select(enrollments.c.version)).scalar_one()
        pins = conn.execute(select(func.count()).select_from(credentials)).scalar_one()
        moves = conn.execute(select(func.count()).select_from(audit_events).where(
            (audit_events.c.action == "transition") & (audit_events.c.outcome == "ok"))).scalar_one()
    flow.db.dispose()
    assert (version, pins, moves) == (2, 1, 1)
