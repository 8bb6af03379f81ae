"""Timer rows: every statement on the `timers` table is here — arm, cancel, claim, settle, defer, retry, list.

A timer is a row with a `due_at`, never an in-process thread: the sweep (`engine.background.sweep`) fires due rows
through the engine, so time that passes while everything is down is simply still due. Arming, cancelling and
settling run on every transition and every firing, so they are built once and run on the driver's cursor, like
the transition's own statements. The sweep writes a whole batch's at once: arms as rows for one executemany
(`state_arms`), cancellations and settlements as one statement per kind (`cancel_together`, `settle_together`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from definitions.model import Timer, WorkflowDefinition
from engine.calendars.site_calendar import SiteCalendar
from engine.clock import as_utc
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, timers
from engine.timers.plan import plan

_CANCEL = DirectStatement(update(timers).where(
    (timers.c.enrollment_id == bindparam("b_enrollment")) & (timers.c.status == bindparam("b_pending"))
    & (timers.c.timer_id == bindparam("b_timer"))).values(status=bindparam("b_cancelled"),
                                                          settled_at=bindparam("b_now")))
_ARM = DirectStatement(insert(timers), columns=[
    "enrollment_id", "timer_id", "trigger", "status", "armed_at", "due_at", "attempts", "detail"])
_SETTLE = DirectStatement(update(timers).where(timers.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), detail=bindparam("b_detail"), settled_at=bindparam("b_now")))

_STATUS = DirectStatement(select(timers.c.status).where(timers.c.id == bindparam("b_id")))


@dataclass(frozen=True, slots=True)
class Claim:
    """A due pending timer, claimed by one sweep for the length of its transaction."""

    id: int
    enrollment_id: str
    timer_id: str
    trigger: str
    due_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class PendingTimer:
    id: int
    timer_id: str
    trigger: str
    status: str
    armed_at: datetime
    due_at: datetime
    attempts: int
    detail: str | None


def arm_timer(conn: Connection, enrollment_id: str, timer: Timer, now: datetime,
              calendar: Callable[[], SiteCalendar], *, earliest: datetime | None = None) -> None:
    """Arm `timer` counting from `now`; never due before `earliest` (a re-armed timer that the new rules make
    overdue is due at once, not late)."""
    _ARM.execute(conn, _armed(enrollment_id, timer, now, calendar, earliest))


def _armed(enrollment_id: str, timer: Timer, now: datetime, calendar: Callable[[], SiteCalendar],
           earliest: datetime | None = None) -> dict[str, Any]:
    due, why = plan(now, timer, calendar)
    if earliest is not None and due < earliest:
        due, why = earliest, None
    return {"enrollment_id": enrollment_id, "timer_id": timer.id, "trigger": timer.fire, "status": "pending",
            "armed_at": now, "due_at": due, "attempts": 0, "detail": why}


def arm_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                     now: datetime, calendar: Callable[[], SiteCalendar]) -> None:
    """Insert the state's timers; `calendar` is asked for the site's calendar only when a timer needs it."""
    arm_many(conn, state_arms(definition, enrollment_id, state, now, calendar))


def state_arms(definition: WorkflowDefinition, enrollment_id: str, state: str, now: datetime,
               calendar: Callable[[], SiteCalendar]) -> list[dict[str, Any]]:
    """The rows `arm_state_timers` inserts, for a caller that writes many enrollments' rows together."""
    return [_armed(enrollment_id, timer, now, calendar) for timer in definition.timers if timer.state == state]


def arm_many(conn: Connection, armed: list[dict[str, Any]]) -> None:
    _ARM.execute_many(conn, armed)


def cancel_named(conn: Connection, enrollment_id: str, timer_id: str, now: datetime) -> None:
    _CANCEL.execute(conn, {"b_enrollment": enrollment_id, "b_timer": timer_id, "b_now": now,
                           "b_pending": "pending", "b_cancelled": "cancelled"})


def cancel_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                        now: datetime) -> None:
    for timer in definition.timers:
        if timer.state == state:
            cancel_named(conn, enrollment_id, timer.id, now)


def state_timer_ids(definition: WorkflowDefinition, state: str) -> frozenset[str]:
    """The timers `cancel_state_timers` cancels on leaving `state`, for a caller that cancels many together."""
    return frozenset(timer.id for timer in definition.timers if timer.state == state)


def cancel_together(conn: Connection, enrollment_ids: Collection[str], timer_ids: Collection[str],
                    now: datetime) -> None:
    """`cancel_named` for every (enrollment, timer) pair of the two sets, in one statement."""
    if enrollment_ids and timer_ids:
        conn.execute(update(timers).where(
            timers.c.enrollment_id.in_(list(enrollment_ids)) & timers.c.timer_id.in_(sorted(timer_ids))
            & (timers.c.status == "pending")).values(status="cancelled", settled_at=now))


def claim_due(conn: Connection, now: datetime, size: int) -> list[Claim]:
    """Up to `size` due pending timers, oldest first. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several sweepers
    take different rows, then their enrollments are locked (in id order: no deadlock) so staff acting on one finish
    first. SQLite: the transaction's `BEGIN IMMEDIATE` already admits one writer at a time."""
    query = (select(timers.c.id, timers.c.enrollment_id, timers.c.timer_id, timers.c.trigger, timers.c.due_at,
                    timers.c.attempts)
             .where((timers.c.status == "pending") & (timers.c.due_at <= now))
             .order_by(timers.c.due_at, timers.c.id).limit(size))
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    if postgres and rows:
        conn.execute(select(enrollments.c.id).where(enrollments.c.id.in_({r.enrollment_id for r in rows}))
                     .order_by(enrollments.c.id).with_for_update())
    return [Claim(r.id, r.enrollment_id, r.timer_id, r.trigger, as_utc(r.due_at), r.attempts) for r in rows]


def still_pending(conn: Connection, timer_row: int) -> bool:
    """Whether a claimed timer is still pending: a firing earlier in the same transaction (of another timer of its
    enrollment) may have cancelled it on leaving its state, and a cancelled timer must not fire."""
    return _STATUS.first(conn, {"b_id": timer_row}) == ("pending",)


def settle(conn: Connection, timer_row: int, status: str, detail: str | None, now: datetime) -> None:
    _SETTLE.execute(conn, {"b_id": timer_row, "b_status": status, "b_detail": detail, "b_now": now})


def settle_together(conn: Connection, timer_rows: Collection[int], status: str, detail: str | None,
                    now: datetime) -> None:
    """`settle` for many timers that end alike, in one statement."""
    if timer_rows:
        conn.execute(update(timers).where(timers.c.id.in_(list(timer_rows))).values(
            status=status, detail=detail, settled_at=now))


def defer(conn: Connection, timer_row: int, until: datetime, why: str) -> None:
    conn.execute(update(timers).where(timers.c.id == timer_row).values(due_at=until, detail=why))


def record_failure(conn: Connection, timer_row: int, attempts: int, detail: str, *, retry_at: datetime | None,
                   now: datetime) -> None:
    """After a failed firing: due again at `retry_at`, or (None) failed for good, for an operator."""
    values: dict[str, Any] = {"attempts": attempts, "detail": detail}
    if retry_at is not None:
        values.update(due_at=retry_at)
    else:
        values.update(status="failed", settled_at=now)
    conn.execute(update(timers).where((timers.c.id == timer_row) & (timers.c.status == "pending")).values(**values))


def next_due(conn: Connection, enrollment_ids: list[str]) -> dict[str, datetime]:
    """Per enrollment, when its soonest pending timer falls due (enrollments with none are left out)."""
    if not enrollment_ids:
        return {}
    found = conn.execute(select(timers.c.enrollment_id, func.min(timers.c.due_at)).where(
        (timers.c.status == "pending") & timers.c.enrollment_id.in_(enrollment_ids)).group_by(timers.c.enrollment_id))
    return {enrollment_id: as_utc(due) for enrollment_id, due in found if due is not None}


def pending_of(conn: Connection, enrollment_id: str) -> list[PendingTimer]:
    found = conn.execute(select(timers).where((timers.c.enrollment_id == enrollment_id)
                                              & (timers.c.status == "pending")).order_by(timers.c.due_at, timers.c.id))
    return [PendingTimer(r.id, r.timer_id, r.trigger, r.status, as_utc(r.armed_at), as_utc(r.due_at), r.attempts,
                         r.detail) for r in found]
