"""What an operator watches, read from the database at the moment of asking: timers due and overdue (the sweep's
lag), the outbox's depth and failures, and the transitions recorded per workflow and outcome.

Counts only, never a row's content. Each count walks an index: `ix_timers_due` (due_at, of pending timers only)
for the timers, `ix_outbox_status` (status, created_at) for the outbox, and the audit table's primary key from a
mark onwards for the transitions. A tally reads only the audit rows added since its mark, at most `limit` row ids
at a time, so a caller can catch up on a long trail in steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from engine.clock import as_utc
from engine.storage.tables import audit_events, enrollments, outbox, timers
from engine.timers.rows import PENDING

# Messages still in the outbox's hands or a person's: sent, printed and suppressed ones are done and not counted.
OPEN_OUTBOX_STATUSES = ("queued", "sending", "held", "failed", "review")


@dataclass(frozen=True, slots=True)
class OperationCounts:
    timers_due: int  # pending timers whose moment has come
    timers_overdue: int  # of those, due for longer than `overdue_after`: the sweep should have fired them
    oldest_due_at: datetime | None  # the sweep's lag is now minus this
    outbox: dict[str, int]  # per status in OPEN_OUTBOX_STATUSES, zeros included


@dataclass
class TransitionTally:
    """Transitions recorded in the audit trail, per (workflow, outcome), up to audit row `mark` (inclusive)."""

    mark: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)


def operation_counts(conn: Connection, now: datetime, overdue_after: timedelta) -> OperationCounts:
    pending = PENDING  # as the index's condition says it
    due, oldest = conn.execute(select(func.count(), func.min(timers.c.due_at))
                               .where(pending & (timers.c.due_at <= now))).one()
    overdue = conn.execute(select(func.count()).where(pending & (timers.c.due_at <= now - overdue_after))
                           .select_from(timers)).scalar_one()
    by_status = dict.fromkeys(OPEN_OUTBOX_STATUSES, 0)
    rows = conn.execute(select(outbox.c.status, func.count()).where(outbox.c.status.in_(OPEN_OUTBOX_STATUSES))
                        .group_by(outbox.c.status))
    for status, count in rows:
        by_status[status] = count
    return OperationCounts(timers_due=due, timers_overdue=overdue,
                           oldest_due_at=as_utc(oldest) if oldest is not None else None, outbox=by_status)


def newest_audit_id(conn: Connection) -> int:
    """The newest audit row's id (0 for an empty trail): how far a tally has to go."""
    return int(conn.execute(select(func.max(audit_events.c.id))).scalar_one() or 0)


def tally_transitions(conn: Connection, tally: TransitionTally, limit: int | None = None) -> TransitionTally:
    """`tally` brought up to the newest audit row, or `limit` row ids past its mark if that is sooner: only rows
    after its mark are read.

    A transition is an audit row with action "transition" on an enrollment's chain; its outcome is "ok" (it moved)
    or "refused". On PostgreSQL a transaction that took its row id before a later one committed can become visible
    after the mark has passed it; such a row is not counted (a rare undercount, never a double count).
    """
    newest = newest_audit_id(conn)
    if limit is not None:
        newest = min(newest, tally.mark + limit)
    if newest <= tally.mark:
        return tally
    rows = conn.execute(
        select(enrollments.c.workflow_id, audit_events.c.outcome, func.count())
        .join(enrollments, enrollments.c.id == audit_events.c.enrollment_id)
        .where((audit_events.c.id > tally.mark) & (audit_events.c.id <= newest)
               & (audit_events.c.action == "transition"))
        .group_by(enrollments.c.workflow_id, audit_events.c.outcome))
    counts = dict(tally.counts)
    for workflow_id, outcome, count in rows:
        counts[(workflow_id, outcome)] = counts.get((workflow_id, outcome), 0) + count
    return TransitionTally(mark=newest, counts=counts)
