"""A refused attempt recorded between an advance's read and its move grows the enrollment's history without
changing its version. The advance must then not write a stale position in the history (PostgreSQL answered
500, UniqueViolation on the chain's seq) nor report a conflict that is not one: it judges again and succeeds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.enrollments import advance as advance_module
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.errors import Conflict
from engine.fsm.rows import EnrollmentRow
from engine.storage.tables import audit_events

ANA = ActorRef("ana", "staff", Actor.STAFF)


def test_an_advance_after_a_refusal_recorded_meanwhile_succeeds_on_a_whole_history(
        flow: Any, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite lets one writer at a time in: the refusal cannot be recorded between read and move")
    enrollment = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane")).enrollment_id
    read = advance_module.read_enrollment
    raced: list[str] = []

    def read_then_another_request_is_refused(conn: Connection, enrollment_id: str) -> EnrollmentRow:
        row = read(conn, enrollment_id)
        if not raced:  # once: another request, acting on a page drawn long ago, is refused and recorded now
            raced.append(enrollment_id)
            with pytest.raises(Conflict):
                flow.advance(AdvanceEnrollment(enrollment_id, "generate_pin", ANA, expected_version=9))
        return row

    monkeypatch.setattr(advance_module, "read_enrollment", read_then_another_request_is_refused)
    done = flow.advance(AdvanceEnrollment(enrollment, "generate_pin", ANA, expected_version=1))

    assert (raced, done.to_state, done.version) == ([enrollment], "pending_registration", 2)
    with flow.db.connect() as conn:
        history = conn.execute(select(audit_events.c.seq, audit_events.c.action, audit_events.c.outcome)
                               .where(audit_events.c.enrollment_id == enrollment)
                               .order_by(audit_events.c.seq)).all()
        checked = verify(conn)
    assert [(h.action, h.outcome) for h in history] == [("enrollment_started", "ok"), ("transition", "refused"),
                                                        ("transition", "ok")]
    assert [h.seq for h in history] == list(range(history[0].seq, history[0].seq + 3))
    assert (checked.ok, checked.first_problem) == (True, None)
