"""Append to an enrollment's audit chain outside a transition: steps, refusals, timers, deliveries, intake.

A transition moves the enrollment and its chain head in one optimistic UPDATE. Everything else that is recorded
about an enrollment (a step completed ahead of the trigger, a refused attempt, a timer skipped, a message sent)
appends without moving it: the head update below is guarded by the head's current seq, so two concurrent appends
can never both claim the same position; the loser gets `ChainMoved` and its transaction is retried or rolled back.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, update

from engine import audit
from engine.context import EnrollmentRow
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments

_CLAIM = DirectStatement(update(enrollments).where(
    (enrollments.c.id == bindparam("b_id")) & (enrollments.c.audit_seq == bindparam("b_seq"))).values(
    audit_seq=bindparam("b_next"), audit_head=bindparam("b_head")))


class ChainMoved(Exception):
    """Another transaction appended to the same chain first."""


def append_to_enrollment(conn: Connection, row: EnrollmentRow, entry: audit.AuditEntry) -> None:
    """Append `entry` after the head read in `row`, in the caller's transaction."""
    rows, head = audit.prepare([entry], audit.ChainHead(row.audit_seq, row.audit_head))
    if _CLAIM.execute(conn, {"b_id": row.id, "b_seq": row.audit_seq, "b_next": head.seq,
                             "b_head": head.hash}) != 1:
        raise ChainMoved(row.id)
    audit.insert_rows(conn, rows)


def subject_of(row: EnrollmentRow) -> tuple[str, str | None]:
    """The (subject_type, subject_id) an enrollment's audit rows name."""
    return ("household", row.household_id) if row.household_id else ("patient", row.patient_id)
