"""The sweep's batched writes keep every guarantee: one failing timer costs no other, each timer fires once with
two sweepers at once, every chain verifies, and a guard-free trigger's choice is the machine's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from sqlalchemy import func, insert, select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.background.quiet_firing import QuietFirings
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.fsm import firing
from engine.storage.tables import audit_events, enrollments, patients, sites, timers

KEY = b"k" * 43 + b"="
ANA = ActorRef("ana", "staff", Actor.STAFF)

TIMED = """\
id: timed
version: 1
title: Timed procedure
source: handout.txt
subject: patient
initial: waiting
states:
  waiting:
    status: Waiting
    description: Waiting for the timer.
  done:
    status: Done
    description: The timer fired.
    final: true
transitions:
  - trigger: time_up
    from: waiting
    to: done
    by: system
timers:
  countdown:
    in: waiting
    after: 1d
    fire: time_up
    late: fire
"""


def _room(folder: Path) -> Path:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "unused.j2").write_text("{% block body %}x{% endblock %}\n", encoding="utf-8")
    (folder / "handout.txt").write_text("A handout.\n", encoding="utf-8")
    (folder / "timed.yaml").write_text(TIMED, encoding="utf-8")
    return folder


def _build(folder: Path, url: str, clock: FakeClock) -> PortalFlow:
    return build(url, folder, clock=clock, hash_cost=TEST_COST, secret_key=KEY, mail_folder=folder / "mail")


@pytest.fixture
def timed(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[PortalFlow]:
    flow = _build(_room(tmp_path / "room"), database_url, clock)
    yield flow
    flow.db.dispose()


def _started(flow: PortalFlow, n: int) -> list[str]:
    ids = [f"p{i:04d}" for i in range(n)]
    with flow.db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Main", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
        conn.execute(insert(patients), [{"id": pid, "site_id": "main", "given_name": "Pat", "family_name": pid,
                                         "name_is_placeholder": False, "email_confirmed_personal": False,
                                         "portal_access_enabled": False} for pid in ids])
    return [flow.start(StartEnrollment("timed", ANA, patient_id=pid)).enrollment_id for pid in ids]


def _firings(flow: PortalFlow) -> dict[str, int]:
    with flow.db.connect() as conn:
        found = conn.execute(select(audit_events.c.enrollment_id, func.count()).where(
            (audit_events.c.action == "transition") & (audit_events.c.trigger == "time_up")
            & (audit_events.c.outcome == "ok")).group_by(audit_events.c.enrollment_id)).all()
    return {eid: n for eid, n in found}


def _statuses(flow: PortalFlow) -> dict[str, int]:
    with flow.db.connect() as conn:
        return {s: n for s, n in conn.execute(select(timers.c.status, func.count()).group_by(timers.c.status))}


def test_one_failing_timer_in_a_batch_of_fifty_leaves_the_other_forty_nine_fired_once(
        timed: PortalFlow, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _started(timed, 50)
    bad = ids[23]
    real = timed.advancer.advance_in

    def breaking(conn: Any, command: AdvanceEnrollment, **options: Any) -> Any:
        if command.enrollment_id == bad:
            raise RuntimeError("template server unreachable")
        return real(conn, command, **options)

    real_quiet = QuietFirings.fire

    def breaking_quiet(fast: QuietFirings, conn: Any, row: Any, *rest: Any) -> bool:  # the sweep's fast path
        if row.id == bad:
            raise RuntimeError("template server unreachable")
        return real_quiet(fast, conn, row, *rest)

    monkeypatch.setattr(timed.advancer, "advance_in", breaking)
    monkeypatch.setattr(QuietFirings, "fire", breaking_quiet)
    clock.set(clock.now() + timedelta(days=1))
    outcomes = timed.sweeper.fire_batch(50)
    assert outcomes.count("fired") == 49
    assert outcomes[ids.index(bad)] == "failed"
    assert _firings(timed) == {eid: 1 for eid in ids if eid != bad}
    with timed.db.connect() as conn:
        status, attempts, detail = conn.execute(select(timers.c.status, timers.c.attempts, timers.c.detail).where(
            timers.c.enrollment_id == bad)).one()
    assert (status, attempts) == ("pending", 1)
    assert detail == "attempt 1 failed: RuntimeError: template server unreachable"


def test_every_chain_verifies_after_a_batched_sweep_and_each_head_is_its_newest_row(
        timed: PortalFlow, clock: FakeClock) -> None:
    ids = _started(timed, 60)
    clock.set(clock.now() + timedelta(days=1))
    timed.sweeper.batch = 25
    assert timed.sweeper.sweep().counts["fired"] == 60
    with timed.db.connect() as conn:
        assert verify(conn).ok
        heads = dict(conn.execute(select(enrollments.c.id, enrollments.c.audit_head)).all())
        newest = {chain: row_hash for chain, _, row_hash in sorted(conn.execute(select(
            audit_events.c.chain, audit_events.c.seq, audit_events.c.hash)).all())}
    assert {eid: heads[eid] for eid in ids} == {eid: newest[eid] for eid in ids}


def test_two_due_timers_of_one_enrollment_in_one_batch_fire_once_and_cancel_once(
        timed: PortalFlow, clock: FakeClock) -> None:
    ids = _started(timed, 3)
    with timed.db.begin() as conn:  # a second pending timer of the same state, as an older version might leave
        conn.execute(insert(timers).values(enrollment_id=ids[1], timer_id="countdown", trigger="time_up",
                                           status="pending", armed_at=clock.now(), due_at=clock.now(), attempts=0))
    clock.set(clock.now() + timedelta(days=1))
    outcomes = timed.sweeper.fire_batch(10)
    assert sorted(outcomes) == ["fired", "fired", "fired", "refused"]
    assert _firings(timed) == dict.fromkeys(ids, 1)
    assert _statuses(timed) == {"fired": 3, "cancelled": 1}


def test_a_guard_free_trigger_asks_the_machine_once_and_reuses_its_choice(
        timed: PortalFlow, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    _started(timed, 5)
    asked = []
    real = firing.fire

    def counting(machine: Any, model: Any, trigger: str) -> bool:
        asked.append(trigger)
        return real(machine, model, trigger)

    monkeypatch.setattr(firing, "fire", counting)
    clock.set(clock.now() + timedelta(days=1))
    assert timed.sweeper.sweep().counts["fired"] == 5
    assert asked == ["time_up"]


@pytest.mark.postgres
def test_two_sweepers_at_once_on_postgresql_fire_every_timer_exactly_once(
        tmp_path: Path, postgres_schema_url: str, clock: FakeClock) -> None:
    room = _room(tmp_path / "room")
    first = _build(room, postgres_schema_url, clock)
    second = _build(room, postgres_schema_url, clock)
    try:
        ids = _started(first, 300)
        clock.set(clock.now() + timedelta(days=1))
        first.sweeper.batch = second.sweeper.batch = 20
        fired: list[int] = []
        gate = threading.Barrier(2)

        def run(flow: PortalFlow) -> None:
            gate.wait()
            fired.append(flow.sweeper.sweep().counts["fired"])

        threads = [threading.Thread(target=run, args=(flow,)) for flow in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sum(fired) == 300
        assert _firings(first) == dict.fromkeys(ids, 1)
        assert _statuses(first) == {"fired": 300}
        with first.db.connect() as conn:
            assert verify(conn).ok
    finally:
        first.db.dispose()
        second.db.dispose()
