"""Timer rows: armed when an enrollment enters a state, cancelled when it leaves.

A timer is a row with a `due_at`, never an in-process thread: the sweep (`engine.sweep`) fires due rows through
the engine, so time that passes while everything is down is simply still due. `at` timers fall due at the next
local wall-clock time of the site, computed with zoneinfo so a DST change does not shift them. An
`opening_hours` timer that would fall due while the site is closed is armed for the site's next opening moment,
and its row says why in words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, update

from definitions.model import Timer, WorkflowDefinition
from engine.calendars import SiteCalendar
from engine.storage.direct import DirectStatement
from engine.storage.tables import timers

# Every transition cancels and arms; the sweep settles: on the driver's cursor, like the transition's own statements.
_CANCEL = DirectStatement(update(timers).where(
    (timers.c.enrollment_id == bindparam("b_enrollment")) & (timers.c.status == bindparam("b_pending"))
    & (timers.c.timer_id == bindparam("b_timer"))).values(status=bindparam("b_cancelled"),
                                                          settled_at=bindparam("b_now")))
_ARM = DirectStatement(insert(timers), columns=[
    "enrollment_id", "timer_id", "trigger", "status", "armed_at", "due_at", "attempts", "detail"])
SETTLE = DirectStatement(update(timers).where(timers.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), detail=bindparam("b_detail"), settled_at=bindparam("b_now")))


def next_local_time(now: datetime, timer: Timer, zone: str) -> datetime:
    assert timer.at is not None
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=timer.at.hour, minute=timer.at.minute, second=0, microsecond=0)
    if candidate <= local:
        day = (local + timedelta(days=1)).date()
        candidate = datetime(day.year, day.month, day.day, timer.at.hour, timer.at.minute, tzinfo=ZoneInfo(zone))
    return candidate.astimezone(now.tzinfo)


def due_at(now: datetime, timer: Timer, zone: str | None) -> datetime:
    if timer.after is not None:
        return now + timer.after.delta
    return next_local_time(now, timer, zone or "UTC")


def cancel_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                        now: datetime) -> None:
    for timer in definition.timers:
        if timer.state == state:
            _CANCEL.execute(conn, {"b_enrollment": enrollment_id, "b_timer": timer.id, "b_now": now,
                                   "b_pending": "pending", "b_cancelled": "cancelled"})


def plan(now: datetime, timer: Timer, calendar: Callable[[], SiteCalendar]) -> tuple[datetime, str | None]:
    """When `timer`, armed at `now`, falls due, and why it waits longer than declared (None when it doesn't)."""
    site = calendar() if timer.at is not None or timer.opening_hours else None
    due = due_at(now, timer, site.zone if site else None)
    if site is None or not timer.opening_hours:
        return due, None
    opening = site.next_open(due)
    if not opening.deferred:
        return due, None
    return opening.at, f"waits for opening hours: next firing {opening.explain()}"


def arm_timer(conn: Connection, enrollment_id: str, timer: Timer, now: datetime,
              calendar: Callable[[], SiteCalendar]) -> None:
    due, why = plan(now, timer, calendar)
    _ARM.execute(conn, {"enrollment_id": enrollment_id, "timer_id": timer.id, "trigger": timer.fire,
                        "status": "pending", "armed_at": now, "due_at": due, "attempts": 0, "detail": why})


def arm_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                     now: datetime, calendar: Callable[[], SiteCalendar]) -> None:
    """Insert the state's timers; `calendar` is asked for the site's calendar only when a timer needs it."""
    for timer in definition.timers:
        if timer.state == state:
            arm_timer(conn, enrollment_id, timer, now, calendar)
