"""Timer rows: armed when an enrollment enters a state, cancelled when it leaves.

A timer is a row with a `due_at`, never an in-process thread: a sweep (the next issue's) fires due rows through
the engine, so time that passes while everything is down is simply still due. `at` timers fall due at the next
local wall-clock time of the site, computed with zoneinfo so a DST change does not shift them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, update

from definitions.model import Timer, WorkflowDefinition
from engine.storage.tables import timers


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
    names = [t.id for t in definition.timers if t.state == state]
    if names:
        conn.execute(update(timers).where(
            (timers.c.enrollment_id == enrollment_id) & (timers.c.status == "pending")
            & timers.c.timer_id.in_(names)).values(status="cancelled", settled_at=now))


def arm_state_timers(conn: Connection, definition: WorkflowDefinition, enrollment_id: str, state: str,
                     now: datetime, zone: Callable[[], str]) -> None:
    """Insert the state's timers; `zone` is asked for the site's time zone only when an `at` timer needs it."""
    armed = [t for t in definition.timers if t.state == state]
    if not armed:
        return
    site_zone = zone() if any(t.at for t in armed) else None
    conn.execute(insert(timers), [
        {"enrollment_id": enrollment_id, "timer_id": t.id, "trigger": t.fire, "status": "pending",
         "armed_at": now, "due_at": due_at(now, t, site_zone)} for t in armed])
