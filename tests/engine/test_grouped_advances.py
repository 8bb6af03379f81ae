"""On SQLite, advances that arrive together are committed together (`GroupCommit`): each is judged as if alone, a
refused one is recorded in its enrollment's history, and the history verifies."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from practice import seed_practice
from sqlalchemy import select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment, EnrollmentAdvanced
from engine.enrollments.start import StartEnrollment
from engine.errors import Conflict
from engine.storage.tables import audit_events

ANA = ActorRef("ana", "staff", Actor.STAFF)
ONBOARDING = "portal-invitation-reset-onboarding"
ENABLE = {"enable_access": "onboarding_tool"}
PATIENTS = ("p-jane", "p-noemail", "c-ava", "c-ben", "c-cal")


def test_advances_arriving_together_share_commits_and_each_is_judged_and_recorded(
        tmp_path: Path, clock: Any, workflows_dir: Path) -> None:
    flow = build(f"sqlite:///{tmp_path / 'portalflow.db'}", workflows_dir, clock=clock, hash_cost=TEST_COST,
                 secret_key=b"q" * 43 + b"=")
    try:
        seed_practice(flow.db)
        started = [flow.start(StartEnrollment(ONBOARDING, ANA, patient_id=p)).enrollment_id for p in PATIENTS]
        commands = [AdvanceEnrollment(e, "enable_portal_access", ANA, inputs=ENABLE) for e in started]
        commands.append(AdvanceEnrollment(started[0], "enable_portal_access", ANA, inputs=ENABLE,
                                          expected_version=99))  # stale: refused as a conflict
        group = flow.advancer.group
        before, first_commit = group.groups, group._commit

        first_led = threading.Event()

        def slow_first_group(works: list[Any]) -> None:  # the others arrive while the first group is written
            group._commit = first_commit
            first_led.set()
            time.sleep(0.3)
            first_commit(works)

        group._commit = slow_first_group
        results: list[object] = [None] * len(commands)

        def run(n: int) -> None:
            if n:  # the first command leads alone; the stale one comes among the others
                first_led.wait(60)
            try:
                results[n] = flow.advance(commands[n])
            except Conflict as conflict:
                results[n] = conflict

        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(commands))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        moved = [r for r in results if isinstance(r, EnrollmentAdvanced)]
        assert sorted(r.enrollment_id for r in moved) == sorted(started)
        assert {r.to_state for r in moved} == {"access_enabled"}
        assert sum(isinstance(r, Conflict) for r in results) == 1
        assert group.groups - before == 2  # the first arrival alone, then everyone who came while it committed
        with flow.db.connect() as conn:
            refused = conn.execute(select(audit_events.c.outcome).where(
                (audit_events.c.enrollment_id == started[0]) & (audit_events.c.outcome == "refused"))).all()
            report = verify(conn)
        assert len(refused) == 1
        assert report.ok, report
    finally:
        flow.close()


def test_postgresql_has_no_group_commit_its_writers_run_side_by_side(flow: Any, database_url: str) -> None:
    assert (flow.advancer.group is None) == database_url.startswith("postgresql")


def test_a_refused_advance_alone_in_its_group_is_rolled_back_recorded_and_leaves_the_writer_usable(
        tmp_path: Path, clock: Any, workflows_dir: Path) -> None:
    flow = build(f"sqlite:///{tmp_path / 'portalflow.db'}", workflows_dir, clock=clock, hash_cost=TEST_COST,
                 secret_key=b"q" * 43 + b"=")
    try:
        seed_practice(flow.db)
        enrollment = flow.start(StartEnrollment(ONBOARDING, ANA, patient_id="p-jane")).enrollment_id
        with pytest.raises(Conflict):
            flow.advance(AdvanceEnrollment(enrollment, "enable_portal_access", ANA, inputs=ENABLE,
                                           expected_version=99))
        moved = flow.advance(AdvanceEnrollment(enrollment, "enable_portal_access", ANA, inputs=ENABLE,
                                               expected_version=1))
        assert (moved.to_state, moved.version) == ("access_enabled", 2)
        with flow.db.connect() as conn:
            outcomes = conn.execute(select(audit_events.c.outcome, audit_events.c.to_state).where(
                audit_events.c.enrollment_id == enrollment).order_by(audit_events.c.seq)).all()
            report = verify(conn)
        assert [tuple(o) for o in outcomes] == [("ok", "access_disabled"), ("refused", None),
                                                ("ok", "access_enabled")]
        assert report.ok, report
    finally:
        flow.close()
