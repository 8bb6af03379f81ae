"""A limit's count of messages sent (engine.fsm.send_counts), on a real SQLite file and PostgreSQL.

The guard `within_limit` asks how many of a limit's messages went out in its window: per patient (every enrollment
of the patients it is for, and its own), or per recipient address. The count runs one prebuilt statement per
shape; here each shape is checked against rows written by hand, including the ones it must leave out: a message
not named by the limit, failed, held, printed or suppressed ones, ones older than the window, other patients' and
other addresses'.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from engine.fsm.send_counts import sends_counted
from engine.storage.tables import enrollments, outbox, patients

NOW = datetime.fromisoformat("2026-03-02T14:00:00+00:00")
SINCE = NOW - timedelta(days=30)
INVITES = ("invite", "invite_reminder")


def _practice(flow: Any) -> tuple[str, str]:
    with flow.db.begin() as conn:
        ann, bob = conn.execute(select(patients.c.id).order_by(patients.c.id).limit(2)).scalars()
        conn.execute(insert(enrollments), [
            {"id": eid, "workflow_id": "wf", "workflow_version": 1, "content_hash": "h" * 64, "patient_id": who,
             "site_id": "main", "state": "invited", "version": 1, "audit_seq": 0, "audit_head": "0" * 64,
             "started_at": NOW - timedelta(days=60), "updated_at": NOW}
            for eid, who in (("e-ann", ann), ("e-ann-2", ann), ("e-bob", bob), ("e-none", None))])
        rows = [
            ("e-ann", "invite", "ann@example.org", "sent", 1),  # counted for ann
            ("e-ann", "invite_reminder", "ann@example.org", "queued", 2),  # counted
            ("e-ann-2", "invite", "ann@example.org", "review", 3),  # counted: her other enrollment
            ("e-ann", "invite", "ann@example.org", "failed", 4),  # never counted: failed
            ("e-ann", "invite", "ann@example.org", "held", 5),  # nor held
            ("e-ann", "invite", "ann@example.org", "printed", 5),  # nor printed
            ("e-ann", "invite", "ann@example.org", "suppressed", 5),  # nor suppressed
            ("e-ann", "invite", "ann@example.org", "sent", 31),  # nor older than the window
            ("e-ann", "welcome", "ann@example.org", "sent", 1),  # nor a message the limit does not name
            ("e-bob", "invite", "shared@example.org", "sending", 1),  # bob's
            ("e-none", "invite", "shared@example.org", "sent", 1),  # no patient: counted for its enrollment only
            ("e-none", "invite", None, "queued", 1),  # no address yet
        ]
        conn.execute(insert(outbox), [
            {"enrollment_id": e, "message_id": m, "channel": "email", "recipient": r, "body": "", "status": s,
             "created_at": NOW - timedelta(days=age)} for e, m, r, s, age in rows])
    return ann, bob


def test_a_count_per_patient_takes_every_enrollment_of_the_patient_and_only_open_messages_in_the_window(
        flow: Any) -> None:
    ann, bob = _practice(flow)
    with flow.db.connect() as conn:
        def per_patient(people: list[str], enrollment: str, messages: tuple[str, ...] = INVITES) -> int:
            return sends_counted(conn, messages, SINCE, per_recipient=False, people=people, enrollment_id=enrollment)

        assert per_patient([ann], "e-ann") == 3
        assert per_patient([ann], "e-ann", ("invite",)) == 2
        assert per_patient([bob], "e-bob") == 1
        assert per_patient([ann, bob], "e-bob") == 4  # a household's children
        assert per_patient([], "e-none") == 2
        assert per_patient([ann], "e-ann", ()) == 0


def test_a_count_per_recipient_takes_every_message_to_that_address_and_a_missing_address_counts_with_the_missing(
        flow: Any) -> None:
    _practice(flow)
    with flow.db.connect() as conn:
        def per_recipient(address: str | None) -> int:
            return sends_counted(conn, INVITES, SINCE, per_recipient=True, recipient=address)

        assert per_recipient("ann@example.org") == 3
        assert per_recipient("shared@example.org") == 2
        assert per_recipient("nobody@example.org") == 0
        assert per_recipient(None) == 1
